/* store_pg_sql.c: small libpq helpers (array literals, values out of results), used by the
 * PostgreSQL backend's files; they call nothing else of the store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

static void arr_put(struct pg_array *a, const char *s, size_t n)
{
    if (a->oom)
        return;
    if (a->len + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (cap < a->len + n + 1)
            cap *= 2;
        char *b = realloc(a->buf, cap);
        if (!b) {
            a->oom = 1;
            return;
        }
        a->buf = b;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, s, n);
    a->len += n;
    a->buf[a->len] = 0;
}

void pg_array_begin(struct pg_array *a)
{
    memset(a, 0, sizeof *a);
    arr_put(a, "{", 1);
}

/* The length of the valid UTF-8 character at p (1..4), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : p[0] >= 0xC2 ? 2 : 0;
    if (!n || p[0] > 0xF4)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) || /* overlong, surrogate */
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)) /* overlong, > U+10FFFF */
        return 0;
    return n;
}

/* PostgreSQL refuses text that is not UTF-8 (SQLite keeps the bytes): a byte that does not
 * start a valid character becomes U+FFFD. Events decoded by jansson are always valid. */
void pg_array_text(struct pg_array *a, const char *s)
{
    if (a->n++)
        arr_put(a, ",", 1);
    if (!s) {
        arr_put(a, "NULL", 4);
        return;
    }
    arr_put(a, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p++};
            arr_put(a, esc, 2);
            continue;
        }
        size_t n = utf8_len(p);
        if (!n) {
            arr_put(a, "\xEF\xBF\xBD", 3);
            p++;
            continue;
        }
        arr_put(a, (const char *)p, n);
        p += n;
    }
    arr_put(a, "\"", 1);
}

void pg_array_int(struct pg_array *a, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%s%lld", a->n++ ? "," : "", (long long)v);
    arr_put(a, num, (size_t)n);
}

const char *pg_array_end(struct pg_array *a)
{
    arr_put(a, "}", 1);
    return a->oom ? NULL : a->buf;
}

void pg_array_release(struct pg_array *a)
{
    free(a->buf);
    memset(a, 0, sizeof *a);
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

char *pg_dup(const PGresult *r, int row, int col, int *bad)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    char *s = strdup(PQgetvalue(r, row, col));
    if (!s)
        *bad = 1;
    return s;
}
