/* UTF-8 hygiene for event strings. jansson validates what it parses, but a json_t can be built
 * with the _nocheck functions, and a summary cut in the middle of a character would not be
 * UTF-8 any more: every string that leaves this module goes through here. */
#include "event/event_int.h"

#include <stdlib.h>
#include <string.h>

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */
static const char ellipsis[] = "\xe2\x80\xa6";    /* U+2026 */

static int is_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return n >= 2 && is_cont(s[1]) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if (n < 3 || !is_cont(s[1]) || !is_cont(s[2]))
            return 0;
        if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
            return 0; /* overlong, or a UTF-16 surrogate */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3]))
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
            return 0; /* overlong, or past U+10FFFF */
        return 4;
    }
    return 0;
}

char *text_clean_dup(const char *s, size_t max_bytes)
{
    if (!s)
        return NULL;
    struct buf b;
    buf_init(&b, 0);
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
        const char *piece = len ? s + i : replacement;
        size_t piece_len = len ? len : sizeof replacement - 1;
        if (b.len + piece_len > max_bytes)
            break;
        if (buf_append(&b, piece, piece_len) < 0) {
            buf_release(&b);
            return NULL;
        }
        i += len ? len : 1;
    }
    if (buf_append(&b, "", 0) < 0) { /* buf_detach of an empty buf is not NUL-terminated */
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

/* One code point of summary text: controls become a space, invalid bytes U+FFFD. */
static int clip_append_one(struct buf *out, const char *s, size_t len)
{
    if (!len)
        return buf_append(out, replacement, sizeof replacement - 1);
    unsigned char c = (unsigned char)s[0];
    if (c < 0x20 || c == 0x7f)
        return buf_append(out, " ", 1);
    return buf_append(out, s, len);
}

static void trim_trailing_spaces(struct buf *out, size_t start)
{
    while (out->len > start && out->data[out->len - 1] == ' ')
        out->data[--out->len] = 0;
}

int text_clip(struct buf *out, const char *s, size_t max_cp)
{
    size_t n = strlen(s), i = 0, start = out->len, count = 0;
    while (i < n && (s[i] == ' ' || (unsigned char)s[i] < 0x20))
        i++; /* leading blanks */
    for (; i < n; count++) {
        size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (count == max_cp) {
            trim_trailing_spaces(out, start);
            return buf_append(out, ellipsis, sizeof ellipsis - 1);
        }
        if (clip_append_one(out, s + i, len) < 0)
            return -1;
        i += len ? len : 1;
    }
    trim_trailing_spaces(out, start);
    return buf_append(out, "", 0); /* NUL-terminated, and out->data non-NULL even for "" */
}

int text_json_string(struct buf *out, const char *s)
{
    if (!s)
        return buf_append(out, "null", 4);
    if (buf_append(out, "\"", 1) < 0)
        return -1;
    size_t n = strlen(s), run = 0;
    for (size_t i = 0; i < n;) {
        size_t len = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        if (buf_json_escape(out, s + run, i - run) < 0 || buf_append(out, "\\ufffd", 6) < 0)
            return -1;
        run = ++i;
    }
    if (buf_json_escape(out, s + run, n - run) < 0)
        return -1;
    return buf_append(out, "\"", 1);
}
