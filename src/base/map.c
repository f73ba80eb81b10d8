#include "base/map.h"

#include <stdlib.h>
#include <string.h>

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

void map_init(struct map *m)
{
    m->slots = NULL;
    m->cap = m->count = 0;
}

void map_release(struct map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    map_init(m);
}

static struct map_slot *find(const struct map *m, const char *key, unsigned h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct map_slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
    }
}

void *map_get(const struct map *m, const char *key)
{
    struct map_slot *s = find(m, key, hash_str(key));
    return s && s->key ? s->value : NULL;
}

static int grow(struct map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    struct map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    struct map old = *m;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old.cap; i++) {
        if (!old.slots[i].key)
            continue;
        struct map_slot *s = find(m, old.slots[i].key, old.slots[i].hash);
        *s = old.slots[i];
    }
    free(old.slots);
    return 0;
}

int map_put(struct map *m, const char *key, void *value)
{
    if ((m->count + 1) * 4 > m->cap * 3 && grow(m) < 0)
        return -1;
    unsigned h = hash_str(key);
    struct map_slot *s = find(m, key, h);
    if (s->key) {
        s->value = value;
        return 0;
    }
    s->key = strdup(key);
    if (!s->key)
        return -1;
    s->hash = h;
    s->value = value;
    m->count++;
    return 0;
}

void *map_remove(struct map *m, const char *key)
{
    struct map_slot *s = find(m, key, hash_str(key));
    if (!s || !s->key)
        return NULL;
    void *value = s->value;
    free(s->key);
    s->key = NULL;
    m->count--;
    /* re-insert the rest of the probe run so lookups do not stop at the hole */
    size_t i = (size_t)(s - m->slots);
    for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        struct map_slot moved = m->slots[j];
        m->slots[j].key = NULL;
        *find(m, moved.key, moved.hash) = moved;
    }
    return value;
}

int map_next(const struct map *m, size_t *i, const char **key, void **value)
{
    for (; *i < m->cap; (*i)++) {
        if (m->slots[*i].key) {
            *key = m->slots[*i].key;
            *value = m->slots[*i].value;
            (*i)++;
            return 1;
        }
    }
    return 0;
}
