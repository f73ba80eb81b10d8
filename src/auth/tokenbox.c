/* tokenbox.c: AES-256-GCM with a random 96-bit nonce per seal (NIST SP 800-38D's
 * recommended size; with random nonces one key is good for far more seals than SEV makes). */
#include "auth/tokenbox.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/rand.h"

#define VERSION 1
#define NONCE_LEN 12
#define TAG_LEN 16
#define AAD_PREFIX "sev-token-v1:"

struct tokenbox {
    unsigned char key[TOKENBOX_KEY_LEN];
};

void tokenbox_wipe_free(char *secret)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

int tokenbox_new_from_key(const unsigned char key[TOKENBOX_KEY_LEN], struct tokenbox **out,
                          struct err *err)
{
    *out = NULL;
    struct tokenbox *b = calloc(1, sizeof *b);
    if (!b)
        return err_set(err, "out of memory");
    memcpy(b->key, key, TOKENBOX_KEY_LEN);
    *out = b;
    return 0;
}

void tokenbox_free(struct tokenbox *b)
{
    if (!b)
        return;
    OPENSSL_cleanse(b->key, sizeof b->key);
    free(b);
}

/* 64 hex characters (surrounding whitespace allowed) or exactly 32 raw bytes. */
static int parse_key(const unsigned char *data, size_t n, unsigned char key[TOKENBOX_KEY_LEN])
{
    size_t a = 0, z = n;
    while (a < z && strchr(" \t\r\n", data[a]))
        a++;
    while (z > a && strchr(" \t\r\n", data[z - 1]))
        z--;
    if (z - a == 2 * TOKENBOX_KEY_LEN) {
        for (size_t i = 0; i < TOKENBOX_KEY_LEN; i++) {
            int hi = hex_digit_value(data[a + 2 * i]), lo = hex_digit_value(data[a + 2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            key[i] = (unsigned char)(hi << 4 | lo);
        }
        return 0;
    }
    if (n == TOKENBOX_KEY_LEN) {
        memcpy(key, data, TOKENBOX_KEY_LEN);
        return 0;
    }
    return -1;
}

static int make_dirs(const char *path)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

static int create_key_file(const char *path, unsigned char key[TOKENBOX_KEY_LEN], struct err *err)
{
    char hex[2 * TOKENBOX_KEY_LEN + 2];
    if (rand_bytes(key, TOKENBOX_KEY_LEN) < 0)
        return err_set(err, "SEV_KEY_FILE: cannot get random bytes for a new key");
    for (size_t i = 0; i < TOKENBOX_KEY_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    hex[2 * TOKENBOX_KEY_LEN] = '\n';
    hex[2 * TOKENBOX_KEY_LEN + 1] = 0;
    if (make_dirs(path) < 0)
        return err_set(err, "SEV_KEY_FILE: cannot create the directory of %s: %s", path,
                       strerror(errno));
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set(err, "SEV_KEY_FILE: cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(hex);
    int ok = write(fd, hex, len) == (ssize_t)len && fsync(fd) == 0;
    OPENSSL_cleanse(hex, sizeof hex);
    if (close(fd) != 0 || !ok) {
        unlink(path);
        return err_set(err, "SEV_KEY_FILE: cannot write %s", path);
    }
    log_info("auth.key_created", "path=%s mode=0600", path);
    return 0;
}

int tokenbox_new(const char *path, struct tokenbox **out, struct err *err)
{
    *out = NULL;
    unsigned char key[TOKENBOX_KEY_LEN];
    if (!path || !*path)
        return err_set(err, "SEV_KEY_FILE: no path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create_key_file(path, key, err) < 0)
            return -1;
    } else if (fd < 0) {
        return err_set(err, "SEV_KEY_FILE: cannot open %s: %s", path, strerror(errno));
    } else {
        struct stat st;
        unsigned char data[256];
        ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, data, sizeof data) : -1;
        close(fd);
        int bad = n < 0 || parse_key(data, (size_t)n, key) < 0;
        OPENSSL_cleanse(data, sizeof data);
        if (bad)
            return err_set(err,
                           "SEV_KEY_FILE: %s is not a key (want 64 hex characters or 32 bytes)",
                           path);
        if (st.st_mode & 077)
            log_warn("auth.key_file_mode", "path=%s mode=%04o want=0600", path,
                     (unsigned)(st.st_mode & 07777));
    }
    int rc = tokenbox_new_from_key(key, out, err);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

/* The additional authenticated data: a fixed prefix and the owner. */
static int aad_of(const char *owner, char *out, size_t size)
{
    int n = snprintf(out, size, AAD_PREFIX "%s", owner ? owner : "");
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int tokenbox_seal(const struct tokenbox *b, const char *owner, const void *plain, size_t len,
                  unsigned char **out, size_t *out_len)
{
    char aad[128];
    int alen = aad_of(owner, aad, sizeof aad);
    if (alen < 0 || len > (1u << 20))
        return -1;
    unsigned char *blob = malloc(len + TOKENBOX_OVERHEAD);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok = blob && ctx;
    if (ok) {
        blob[0] = VERSION;
        ok = rand_bytes(blob + 1, NONCE_LEN) == 0 &&
             EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_EncryptInit_ex(ctx, NULL, NULL, b->key, blob + 1) == 1 &&
             EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, alen) == 1 &&
             EVP_EncryptUpdate(ctx, blob + 1 + NONCE_LEN, &n, plain, (int)len) == 1 &&
             EVP_EncryptFinal_ex(ctx, blob + 1 + NONCE_LEN + n, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                 blob + 1 + NONCE_LEN + len) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        free(blob);
        return -1;
    }
    *out = blob;
    *out_len = len + TOKENBOX_OVERHEAD;
    return 0;
}

int tokenbox_open(const struct tokenbox *b, const char *owner, const unsigned char *blob,
                  size_t len, char **plain, size_t *plain_len)
{
    char aad[128];
    int alen = aad_of(owner, aad, sizeof aad);
    *plain = NULL;
    if (alen < 0 || !blob || len < TOKENBOX_OVERHEAD || blob[0] != VERSION || len > (1u << 20))
        return -1;
    size_t clen = len - TOKENBOX_OVERHEAD;
    char *out = malloc(clen + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0, ok = out && ctx;
    unsigned char tag[TAG_LEN];
    memcpy(tag, blob + 1 + NONCE_LEN + clen, TAG_LEN);
    if (ok)
        ok = EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
             EVP_DecryptInit_ex(ctx, NULL, NULL, b->key, blob + 1) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, alen) == 1 &&
             EVP_DecryptUpdate(ctx, (unsigned char *)out, &n, blob + 1 + NONCE_LEN,
                               (int)clen) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1 &&
             EVP_DecryptFinal_ex(ctx, (unsigned char *)out + n, &fin) == 1; /* checks the tag */
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        if (out) {
            OPENSSL_cleanse(out, clen + 1);
            free(out);
        }
        return -1;
    }
    out[clen] = 0;
    *plain = out;
    if (plain_len)
        *plain_len = clen;
    return 0;
}
