/* event_json.c: a faster parse of the JSON objects EventSub sends, the same tree as jansson's.
 *
 * json_loadb reads a body byte by byte through its stream layer; it was the largest single
 * cost of a webhook (about a sixth of the server's CPU per event). This parser reads the
 * common shapes in one pass and builds the same jansson values (objects keep their order, a
 * repeated key keeps the first place and the last value, as json_loadb does). Anything it is
 * not sure to read exactly as jansson would — a \u escape, a real number, an integer of more
 * than 18 digits, nesting deeper than JP_DEPTH_MAX, a byte that is not valid here — makes it
 * give up (NULL), and the caller asks jansson, which then also gives the error. So a result
 * is always the tree json_loadb would have built, and every error is jansson's.
 *
 * It also says whether the text of one member's value is already what
 * json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) writes, with no '<' or '>' (so it is the
 * html-safe encoding too): then that text can be stored and sent as it is, without encoding
 * the value again.
 */
#include "event/event_int.h"

#include <string.h>

#define JP_DEPTH_MAX 64
#define JP_STRING_MAX 4096 /* bytes of a string with escapes decoded on the stack */

struct jp {
    const char *p, *end;
    int depth;
    unsigned odd; /* things whose compact dump would differ from the text (spaces, …) */
};

static void skip_ws(struct jp *jp)
{
    const char *p = jp->p;
    while (p < jp->end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p != jp->p)
        jp->odd++;
    jp->p = p;
}

/* A string at jp->p (after its opening quote); *out points at its value (in the text, or in
 * scratch when it had escapes), *len its length. -1: give up. */
static int scan_string(struct jp *jp, char *scratch, const char **out, size_t *len)
{
    const unsigned char *p = (const unsigned char *)jp->p, *end = (const unsigned char *)jp->end;
    const unsigned char *start = p;
    for (;;) {
        if (p >= end)
            return -1;
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c == '\\')
            goto escapes;
        if (c < 0x20)
            return -1;
        if (c == '<' || c == '>')
            jp->odd++;
        if (c >= 0x80) {
            size_t n = utf8_seq_len(p, (size_t)(end - p));
            if (!n)
                return -1;
            p += n;
        } else {
            p++;
        }
    }
    *out = (const char *)start;
    *len = (size_t)(p - start);
    jp->p = (const char *)p + 1;
    return 0;
escapes:;
    size_t o = (size_t)(p - start);
    if (o > JP_STRING_MAX)
        return -1;
    memcpy(scratch, start, o);
    for (;;) {
        if (p >= end || o >= JP_STRING_MAX)
            return -1;
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            if (p + 1 >= end)
                return -1;
            char e = (char)p[1], v;
            switch (e) {
            case '"': v = '"'; break;
            case '\\': v = '\\'; break;
            case '/': v = '/'; jp->odd++; break; /* dumped as a plain '/' */
            case 'b': v = '\b'; break;
            case 'f': v = '\f'; break;
            case 'n': v = '\n'; break;
            case 'r': v = '\r'; break;
            case 't': v = '\t'; break;
            default: return -1; /* \u (surrogates, NUL): jansson's */
            }
            scratch[o++] = v;
            p += 2;
            continue;
        }
        if (c == '<' || c == '>')
            jp->odd++;
        size_t n = c >= 0x80 ? utf8_seq_len(p, (size_t)(end - p)) : 1;
        if (!n || o + n > JP_STRING_MAX)
            return -1;
        memcpy(scratch + o, p, n);
        o += n;
        p += n;
    }
    *out = scratch;
    *len = o;
    jp->p = (const char *)p + 1;
    return 0;
}

static json_t *parse_value(struct jp *jp, char *scratch);

static json_t *parse_number(struct jp *jp)
{
    const char *p = jp->p, *end = jp->end;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    size_t n = (size_t)(p - digits);
    if (n == 0 || n > 18 || (n > 1 && digits[0] == '0'))
        return NULL;
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E'))
        return NULL; /* a real: jansson's strtod */
    json_int_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (digits[i] - '0');
    if (neg && v == 0)
        jp->odd++; /* -0 is dumped as 0 */
    jp->p = p;
    return json_integer(neg ? -v : v);
}

static json_t *parse_literal(struct jp *jp, const char *word, size_t n, json_t *value)
{
    if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, word, n) != 0)
        return NULL;
    jp->p += n;
    return value;
}

static json_t *parse_array(struct jp *jp, char *scratch)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    skip_ws(jp);
    if (jp->p < jp->end && *jp->p == ']') {
        jp->p++;
        return arr;
    }
    for (;;) {
        skip_ws(jp);
        json_t *v = parse_value(jp, scratch);
        if (!v || json_array_append_new(arr, v) < 0)
            goto fail;
        skip_ws(jp);
        if (jp->p >= jp->end)
            goto fail;
        char c = *jp->p++;
        if (c == ']')
            return arr;
        if (c != ',')
            goto fail;
    }
fail:
    json_decref(arr);
    return NULL;
}

/* The object at jp->p (after '{'). At the top level (depth 1), the text of member `key`'s
 * value is reported in *slice (NULL when that text is not its compact dump). */
static json_t *parse_object(struct jp *jp, char *scratch, const char *key, const char **slice,
                            size_t *slice_len)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    skip_ws(jp);
    if (jp->p < jp->end && *jp->p == '}') {
        jp->p++;
        return obj;
    }
    for (;;) {
        skip_ws(jp);
        if (jp->p >= jp->end || *jp->p != '"')
            goto fail;
        jp->p++;
        const char *k;
        size_t klen;
        char kbuf[256];
        if (scan_string(jp, scratch, &k, &klen) < 0 || klen >= sizeof kbuf)
            goto fail;
        memcpy(kbuf, k, klen); /* scratch is reused by the value */
        kbuf[klen] = 0;
        skip_ws(jp);
        if (jp->p >= jp->end || *jp->p != ':')
            goto fail;
        jp->p++;
        skip_ws(jp);
        const char *start = jp->p;
        unsigned odd = jp->odd;
        size_t before = json_object_size(obj);
        json_t *v = parse_value(jp, scratch);
        if (!v || json_object_setn_new_nocheck(obj, kbuf, klen, v) < 0)
            goto fail;
        if (json_object_size(obj) == before)
            jp->odd++; /* a repeated key: the dump has it once */
        if (key && slice && strlen(key) == klen && memcmp(key, kbuf, klen) == 0) {
            *slice = jp->odd == odd ? start : NULL; /* the last one counts, as in the tree */
            *slice_len = (size_t)(jp->p - start);
        }
        skip_ws(jp);
        if (jp->p >= jp->end)
            goto fail;
        char c = *jp->p++;
        if (c == '}')
            return obj;
        if (c != ',')
            goto fail;
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_value(struct jp *jp, char *scratch)
{
    if (jp->p >= jp->end)
        return NULL;
    char c = *jp->p;
    json_t *v = NULL;
    if (c == '{' || c == '[') {
        if (++jp->depth > JP_DEPTH_MAX)
            return NULL;
        jp->p++;
        v = c == '{' ? parse_object(jp, scratch, NULL, NULL, NULL) : parse_array(jp, scratch);
        jp->depth--;
    } else if (c == '"') {
        const char *s;
        size_t len;
        jp->p++;
        if (scan_string(jp, scratch, &s, &len) == 0)
            v = json_stringn_nocheck(s, len); /* checked above: valid UTF-8, no NUL */
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v = parse_number(jp);
    } else if (c == 't') {
        v = parse_literal(jp, "true", 4, json_true());
    } else if (c == 'f') {
        v = parse_literal(jp, "false", 5, json_false());
    } else if (c == 'n') {
        v = parse_literal(jp, "null", 4, json_null());
    }
    return v;
}

json_t *event_json_parse(const char *text, size_t len, const char *key, const char **slice,
                         size_t *slice_len)
{
    char scratch[JP_STRING_MAX];
    struct jp jp = {.p = text, .end = text + len};
    if (slice) {
        *slice = NULL;
        *slice_len = 0;
    }
    skip_ws(&jp);
    if (jp.p >= jp.end || *jp.p != '{')
        return NULL;
    jp.p++;
    jp.depth = 1;
    json_t *obj = parse_object(&jp, scratch, key, slice, slice_len);
    if (!obj)
        goto fail;
    skip_ws(&jp);
    if (jp.p == jp.end)
        return obj;
    json_decref(obj);
fail:
    if (slice)
        *slice = NULL;
    return NULL;
}
