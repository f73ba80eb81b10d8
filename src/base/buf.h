/* buf: a growable byte buffer with a hard cap (every buffer that grows from the network has one).
 * The buffer owns its bytes; data is always NUL-terminated for convenience (not counted in len). */
#ifndef SEV_BASE_BUF_H
#define SEV_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *data; /* owned; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* appends that would pass this fail with -1; 0 means SIZE_MAX */
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, keeps memory */
int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Appends s as the inside of a JSON string (no quotes), escaping as RFC 8259 requires. */
int buf_json_escape(struct buf *b, const char *s, size_t n);
/* Appends s percent-encoded for a query string or form value (RFC 3986: only the unreserved
 * characters A-Z a-z 0-9 - _ . ~ are kept). */
int buf_urlencode(struct buf *b, const char *s);
/* The value of one hex digit (0-9, a-f, A-F), or -1 if c is not one. */
int hex_digit_value(int c);
/* Gives the bytes to the caller (owned, free()) and leaves b empty. */
char *buf_detach(struct buf *b, size_t *len);

#endif
