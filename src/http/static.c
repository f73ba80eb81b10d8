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
    struct map files; /* "/css/sev.css" → struct static_file * (owned) */
};

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
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)f->data, size, digest);
    int n = snprintf(f->etag, sizeof f->etag, "\"");
    for (int i = 0; i < 10; i++)
        n += snprintf(f->etag + n, sizeof f->etag - (size_t)n, "%02x", digest[i]);
    snprintf(f->etag + n, sizeof f->etag - (size_t)n, "\"");
    if (compress && size > 512 && gzip_bytes(f->data, size, &f->gz, &f->gz_len) == 0 &&
        f->gz_len > size * 9 / 10) { /* saves under 10%: not worth a second copy */
        free(f->gz);
        f->gz = NULL;
    }
    if (map_put(&sf->files, url, f) < 0) {
        file_free(f);
        return err_set(err, "out of memory");
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
    if (load_dir(sf, root, "", 0, err) < 0) {
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
    map_release(&sf->files);
    free(sf);
}

size_t static_count(const struct static_files *sf)
{
    return sf->files.count;
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
