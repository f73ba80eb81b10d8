/* map: a string-keyed hash map (open addressing, linear probing). Keys are copied and owned
 * by the map; values are borrowed pointers the caller owns. Not thread-safe. */
#ifndef SEV_BASE_MAP_H
#define SEV_BASE_MAP_H

#include <stddef.h>

struct map_slot {
    char *key; /* owned; NULL = empty */
    void *value;
    unsigned hash;
};

struct map {
    struct map_slot *slots; /* owned */
    size_t cap;             /* power of two, or 0 */
    size_t count;
};

void map_init(struct map *m);
/* Frees the keys and the table; values are the caller's. */
void map_release(struct map *m);
void *map_get(const struct map *m, const char *key);
/* Inserts or replaces. Returns 0, or -1 when out of memory. */
int map_put(struct map *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *map_remove(struct map *m, const char *key);

/* Iteration: for (size_t i = 0; map_next(m, &i, &k, &v);) ... Do not modify while iterating. */
int map_next(const struct map *m, size_t *i, const char **key, void **value);

#endif
