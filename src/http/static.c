#include "http/static.h"

#include <dirent.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/map.h"

#define MAX_FILE_SIZE (8u << 20)
#define MAX_FILES 2000

struct static_file {
    char *data; /* owned */
    size_t len;
    char *gz;   /* owned gzip copy, or NULL when it would not pay */
    size_t gz_len;
    const char *type;
    char etag[24]; /* "\"<20 hex>\"" */
};

struct static_files {
    struct map files;    /* "/css/sev.css" → struct static_file * (owned) */
    struct map partials; /* "_nav.html" → struct static_file * (owned; never served) */
};

#define MAX_INCLUDE_DEPTH 8

static const struct {
    const char *ext;
    const char *type;
    int compress;
} types[] = {
    {".html", "text/html; charset=utf-8", 1},
    {".css", "text/css; charset=utf-8", 1},
    {".js", "text/javascript; charset=utf-8", 1},
    {".mjs", "text/javascript; charset=utf-8", 1},
    {".json", "application/json", 1},
    {".svg", "image/svg+xml", 1},
    {".png", "image/png", 0},
    {".jpg", "image/jpeg", 0},
    {".webp", "image/webp", 0},
    {".ico", "image/x-icon", 0},
    {".txt", "text/plain; charset=utf-8", 1},
    {".woff2", "font/woff2", 0},
    {".webmanifest", "application/manifest+json", 1},
};

static int type_of(const char *name, const char **type, int *compress)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0) {
            *type = types[i].type;
            *compress = types[i].compress;
            return 0;
        }
    return -1;
}

static void file_free(struct static_file *f)
{
    if (!f)
        return;
    free(f->data);
    free(f->gz);
    free(f);
}

static int gzip_bytes(const char *in, size_t len, char **out, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&z, len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *out_len = z.total_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

static int read_file(const char *path, size_t size, char **out)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return -1;
    char *data = malloc(size + 1);
    size_t n = data ? fread(data, 1, size, fp) : 0;
    fclose(fp);
    if (!data || n != size) {
        free(data);
        return -1;
    }
    data[size] = 0;
    *out = data;
    return 0;
}

/* Files named _*.html at the root are partials: the pages' shared head, header and footer,
 * read for include directives and never served themselves. */
static int is_partial(const char *url)
{
    size_t n = strlen(url);
    return url[0] == '/' && url[1] == '_' && !strchr(url + 1, '/') && n > 6 &&
           strcmp(url + n - 5, ".html") == 0;
}

static int load_file(struct static_files *sf, const char *path, const char *url, size_t size,
                     struct err *err)
{
    const char *type;
    int compress;
    if (type_of(url, &type, &compress) < 0)
        return 0; /* not a web asset (editor backups, notes): not served */
    struct static_file *f = calloc(1, sizeof *f);
    if (!f || read_file(path, size, &f->data) < 0) {
        file_free(f);
        return err_set(err, "SEV_WEB_DIR: cannot read %s", path);
    }
    f->len = size;
    f->type = type;
    int partial = is_partial(url);
    if (map_put(partial ? &sf->partials : &sf->files, partial ? url + 1 : url, f) < 0) {
        file_free(f);
        return err_set(err, "out of memory");
    }
    return 0;
}

/* Copies text to out with every <!--#include file="_x.html"--> replaced by that partial
 * (expanded in turn). An optional current="/path" marks the partial's <a href="/path"> link
 * with aria-current="page" (the navigation's current page). stack holds the names being
 * expanded, to report a partial that includes itself. */
static int expand(struct static_files *sf, const char *page, const char *text, size_t len,
                  const char **stack, int depth, struct buf *out, struct err *err)
{
    static const char open[] = "<!--#include ";
    const char *p = text, *end = text + len;
    for (;;) {
        const char *d = memmem(p, (size_t)(end - p), open, sizeof open - 1);
        if (!d)
            return buf_append(out, p, (size_t)(end - p)) < 0 ? err_set(err, "out of memory") : 0;
        if (buf_append(out, p, (size_t)(d - p)) < 0)
            return err_set(err, "out of memory");
        const char *close = memmem(d, (size_t)(end - d), "-->", 3);
        char name[128] = "", current[128] = "";
        int used = 0;
        if (close) {
            char directive[512];
            size_t dn = (size_t)(close - d);
            if (dn < sizeof directive) {
                memcpy(directive, d, dn);
                directive[dn] = 0;
                int n = 0, m = 0;
                if (sscanf(directive, "<!--#include file=\"%127[A-Za-z0-9_.-]\"%n", name, &n) == 1 &&
                    n > 0) {
                    const char *rest = directive + n;
                    if (sscanf(rest, " current=\"%127[^\"]\"%n", current, &m) == 1 && m > 0)
                        rest += m;
                    rest += strspn(rest, " ");
                    used = *rest == 0;
                }
            }
        }
        if (!used)
            return err_set(err, "SEV_WEB_DIR: %s: malformed include (expected <!--#include "
                                "file=\"_name.html\" [current=\"/path\"]-->)", page);
        if (name[0] != '_' || !(strlen(name) > 5 && strcmp(name + strlen(name) - 5, ".html") == 0))
            return err_set(err, "SEV_WEB_DIR: %s includes %s: only _*.html partials can be "
                                "included", page, name);
        for (int i = 0; i < depth; i++)
            if (strcmp(stack[i], name) == 0)
                return err_set(err, "SEV_WEB_DIR: %s: recursive include of %s", page, name);
        if (depth >= MAX_INCLUDE_DEPTH)
            return err_set(err, "SEV_WEB_DIR: %s: includes nested deeper than %d", page,
                           MAX_INCLUDE_DEPTH);
        struct static_file *part = map_get(&sf->partials, name);
        if (!part)
            return err_set(err, "SEV_WEB_DIR: %s includes %s, which is not in the web root",
                           page, name);
        stack[depth] = name;
        struct buf inner;
        buf_init(&inner, MAX_FILE_SIZE);
        int r = expand(sf, page, part->data, part->len, stack, depth + 1, &inner, err);
        if (r == 0 && current[0]) {
            char link[160];
            snprintf(link, sizeof link, "<a href=\"%s\">", current);
            char *at = inner.data ? strstr(inner.data, link) : NULL;
            if (!at) {
                r = err_set(err, "SEV_WEB_DIR: %s: %s has no link <a href=\"%s\"> to mark current",
                            page, name, current);
            } else {
                size_t before = (size_t)(at - inner.data) + strlen(link) - 1; /* up to the '>' */
                if (buf_append(out, inner.data, before) < 0 ||
                    buf_puts(out, " aria-current=\"page\"") < 0 ||
                    buf_append(out, inner.data + before, inner.len - before) < 0)
                    r = err_set(err, "out of memory");
            }
        } else if (r == 0 && buf_append(out, inner.data ? inner.data : "", inner.len) < 0) {
            r = err_set(err, "out of memory");
        }
        int ends_line = inner.len > 0 && inner.data[inner.len - 1] == '\n';
        buf_release(&inner);
        if (r < 0)
            return r;
        p = close + 3;
        if (ends_line && p < end && *p == '\n')
            p++; /* a directive on a line of its own stands for the partial's lines */
    }
}

/* Once every file is read: pages get their includes expanded, then each file its ETag and,
 * where it pays, a gzip copy. */
static int finish_file(struct static_files *sf, const char *url, struct static_file *f,
                       struct err *err)
{
    if (strcmp(f->type, types[0].type) == 0 && memmem(f->data, f->len, "<!--#include ", 13)) {
        const char *stack[MAX_INCLUDE_DEPTH];
        struct buf out;
        buf_init(&out, MAX_FILE_SIZE);
        if (expand(sf, url, f->data, f->len, stack, 0, &out, err) < 0) {
            buf_release(&out);
            return -1;
        }
        free(f->data);
        f->len = 0;
        f->data = out.data ? buf_detach(&out, &f->len) : calloc(1, 1);
        if (!f->data)
            return err_set(err, "out of memory");
    }
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)f->data, f->len, digest);
    int n = snprintf(f->etag, sizeof f->etag, "\"");
    for (int i = 0; i < 10; i++)
        n += snprintf(f->etag + n, sizeof f->etag - (size_t)n, "%02x", digest[i]);
    snprintf(f->etag + n, sizeof f->etag - (size_t)n, "\"");
    int compress = 0;
    const char *type;
    type_of(url, &type, &compress);
    if (compress && f->len > 512 && gzip_bytes(f->data, f->len, &f->gz, &f->gz_len) == 0 &&
        f->gz_len > f->len * 9 / 10) { /* saves under 10%: not worth a second copy */
        free(f->gz);
        f->gz = NULL;
    }
    return 0;
}

static int load_dir(struct static_files *sf, const char *dir, const char *url_prefix, int depth,
                    struct err *err)
{
    if (depth > 8)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return err_set(err, "SEV_WEB_DIR: cannot open directory %s", dir);
    int r = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue; /* hidden files, ".", ".." */
        char path[1024], url[1024];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path ||
            snprintf(url, sizeof url, "%s/%s", url_prefix, e->d_name) >= (int)sizeof url)
            continue;
        if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
            continue; /* symlinks could point outside the root: never followed */
        if (S_ISDIR(st.st_mode))
            r = load_dir(sf, path, url, depth + 1, err);
        else if (S_ISREG(st.st_mode) && st.st_size <= MAX_FILE_SIZE &&
                 sf->files.count < MAX_FILES)
            r = load_file(sf, path, url, (size_t)st.st_size, err);
    }
    closedir(d);
    return r;
}

int static_load(const char *root, struct static_files **out, struct err *err)
{
    struct static_files *sf = calloc(1, sizeof *sf);
    if (!sf)
        return err_set(err, "out of memory");
    map_init(&sf->files);
    map_init(&sf->partials);
    int r = load_dir(sf, root, "", 0, err);
    const char *k;
    void *v;
    for (size_t i = 0; r == 0 && map_next(&sf->files, &i, &k, &v);)
        r = finish_file(sf, k, v, err);
    if (r < 0) {
        static_free(sf);
        return -1;
    }
    *out = sf;
    return 0;
}

void static_free(struct static_files *sf)
{
    if (!sf)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&sf->files, &i, &k, &v);)
        file_free(v);
    for (size_t i = 0; map_next(&sf->partials, &i, &k, &v);)
        file_free(v);
    map_release(&sf->files);
    map_release(&sf->partials);
    free(sf);
}

size_t static_count(const struct static_files *sf)
{
    return sf->files.count;
}

const char *static_get(const struct static_files *sf, const char *path, size_t *len)
{
    const struct static_file *f = map_get(&sf->files, path);
    if (f && len)
        *len = f->len;
    return f ? f->data : NULL;
}

static int accepts_gzip(const struct http_request *req)
{
    const char *ae = http_header(req, "Accept-Encoding");
    return ae && strstr(ae, "gzip") && !strstr(ae, "gzip;q=0");
}

int static_serve(struct static_files *sf, struct http_request *req, const char *path, int status)
{
    struct static_file *f = map_get(&sf->files, path);
    if (!f)
        return -1;
    const char *inm = http_header(req, "If-None-Match");
    http_add_header(req, "ETag", f->etag);
    http_add_header(req, "Cache-Control", "no-cache"); /* revalidate: cheap with the ETag */
    if (f->gz)
        http_add_header(req, "Vary", "Accept-Encoding");
    if (status == 200 && inm && strstr(inm, f->etag)) {
        http_respond(req, 304, NULL, "", 0);
        return 0;
    }
    if (f->gz && accepts_gzip(req)) {
        http_add_header(req, "Content-Encoding", "gzip");
        http_respond(req, status, f->type, f->gz, f->gz_len);
    } else {
        http_respond(req, status, f->type, f->data, f->len);
    }
    return 0;
}
