#include "unit.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "auth/tokenbox.h"

static const char PLAIN[] =
    "abcdefghijklmnopqrstuvwxyz0123\neyJfMzUtNDU0OC4MWYwLTQ5MDY5ODY4NGNlMSJ9%as=";

static struct tokenbox *box_of(unsigned char fill)
{
    unsigned char key[TOKENBOX_KEY_LEN];
    memset(key, fill, sizeof key);
    struct tokenbox *b = NULL;
    CHECK(tokenbox_new_from_key(key, &b, NULL) == 0);
    CHECK(b != NULL);
    return b;
}

static void seal(const struct tokenbox *b, const char *owner, const char *plain,
                 unsigned char **blob, size_t *len)
{
    CHECK(tokenbox_seal(b, owner, plain, strlen(plain), blob, len) == 0);
    CHECK_INT(*len, strlen(plain) + TOKENBOX_OVERHEAD);
}

/* 1 when blob opens for owner with b (and then equals PLAIN). */
static int opens(const struct tokenbox *b, const char *owner, const unsigned char *blob, size_t len)
{
    char *plain = (char *)1;
    size_t n = 0;
    if (tokenbox_open(b, owner, blob, len, &plain, &n) < 0) {
        CHECK(plain == NULL);
        return 0;
    }
    CHECK_INT(n, strlen(PLAIN));
    CHECK_STR(plain, PLAIN);
    tokenbox_wipe_free(plain);
    return 1;
}

static void test_round_trip(void)
{
    struct tokenbox *b = box_of(7);
    unsigned char *x, *y;
    size_t xn, yn;
    seal(b, "123456", PLAIN, &x, &xn);
    seal(b, "123456", PLAIN, &y, &yn);
    CHECK(opens(b, "123456", x, xn));
    CHECK(opens(b, "123456", y, yn));
    CHECK_INT(x[0], 1);                   /* version */
    CHECK(memcmp(x + 1, y + 1, 12) != 0); /* a fresh nonce per seal */
    CHECK(memcmp(x, y, xn) != 0);
    CHECK(memmem(x, xn, "abcdefghij", 10) == NULL); /* not in the clear */
    free(x);
    free(y);

    /* empty and binary secrets */
    unsigned char *e;
    size_t en;
    CHECK(tokenbox_seal(b, "app", "", 0, &e, &en) == 0);
    CHECK_INT(en, TOKENBOX_OVERHEAD);
    char *plain = NULL;
    size_t pn = 99;
    CHECK(tokenbox_open(b, "app", e, en, &plain, &pn) == 0);
    CHECK_INT(pn, 0);
    CHECK_STR(plain, "");
    tokenbox_wipe_free(plain);
    free(e);
    tokenbox_free(b);
    tokenbox_free(NULL);
    tokenbox_wipe_free(NULL);
}

static void test_tamper(void)
{
    struct tokenbox *b = box_of(7);
    unsigned char *x;
    size_t n;
    seal(b, "42", PLAIN, &x, &n);
    /* every single bit flipped anywhere: version, nonce, ciphertext or tag */
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit++) {
            x[i] ^= (unsigned char)(1 << bit);
            if (opens(b, "42", x, n)) {
                fprintf(stderr, "# byte %zu bit %d flipped still opens\n", i, bit);
                exit(1);
            }
            x[i] ^= (unsigned char)(1 << bit);
        }
    }
    CHECK(opens(b, "42", x, n));
    /* cut or lengthened */
    for (size_t len = 0; len < n; len++)
        CHECK(!opens(b, "42", x, len));
    unsigned char *longer = malloc(n + 1);
    memcpy(longer, x, n);
    longer[n] = 0;
    CHECK(!opens(b, "42", longer, n + 1));
    free(longer);
    CHECK(!opens(b, "42", NULL, n));
    free(x);
    tokenbox_free(b);
}

static void test_aad_binds_owner(void)
{
    struct tokenbox *b = box_of(7);
    unsigned char *x;
    size_t n;
    seal(b, "1001", PLAIN, &x, &n);
    CHECK(opens(b, "1001", x, n));
    CHECK(!opens(b, "1002", x, n));  /* copied to another user's row */
    CHECK(!opens(b, "100", x, n));   /* a prefix */
    CHECK(!opens(b, "10010", x, n)); /* an extension */
    CHECK(!opens(b, "app", x, n));
    CHECK(!opens(b, "", x, n));
    CHECK(!opens(b, NULL, x, n));
    free(x);
    /* an owner too long to authenticate is refused, not cut */
    char owner[200];
    memset(owner, 'a', sizeof owner - 1);
    owner[sizeof owner - 1] = 0;
    unsigned char *y = NULL;
    size_t yn = 0;
    CHECK(tokenbox_seal(b, owner, PLAIN, strlen(PLAIN), &y, &yn) < 0);
    CHECK(y == NULL);
    tokenbox_free(b);
}

static void test_wrong_key(void)
{
    struct tokenbox *a = box_of(7), *b = box_of(8);
    unsigned char key[TOKENBOX_KEY_LEN];
    memset(key, 7, sizeof key);
    key[31] ^= 1; /* one bit away */
    struct tokenbox *c = NULL;
    CHECK(tokenbox_new_from_key(key, &c, NULL) == 0);
    unsigned char *x;
    size_t n;
    seal(a, "42", PLAIN, &x, &n);
    CHECK(opens(a, "42", x, n));
    CHECK(!opens(b, "42", x, n));
    CHECK(!opens(c, "42", x, n));
    free(x);
    tokenbox_free(a);
    tokenbox_free(b);
    tokenbox_free(c);
}

/* A fresh directory for key files; removed by the caller. */
static void temp_dir(char *dir, size_t size)
{
    snprintf(dir, size, "/tmp/sev-tokenbox-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void read_file(const char *path, char *out, size_t size, size_t *n)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    ssize_t r = read(fd, out, size);
    CHECK(r >= 0);
    *n = (size_t)r;
    close(fd);
}

static void test_key_file(void)
{
    char dir[64], sub[128], path[192];
    temp_dir(dir, sizeof dir);
    snprintf(sub, sizeof sub, "%s/var", dir);
    snprintf(path, sizeof path, "%s/sev.key", sub);
    mode_t old = umask(0); /* the modes must not depend on the caller's umask */
    struct err err = {{0}};
    struct tokenbox *a = NULL, *b = NULL;
    CHECK(tokenbox_new(path, &a, &err) == 0);
    umask(old);
    CHECK(a != NULL);

    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0600);
    CHECK(stat(sub, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0700);
    char data[256];
    size_t n;
    read_file(path, data, sizeof data, &n);
    CHECK_INT(n, 65);
    CHECK(data[64] == '\n');
    for (size_t i = 0; i < 64; i++)
        CHECK(strchr("0123456789abcdef", data[i]) != NULL);

    /* reused: a second load reads the same key, the file is unchanged */
    CHECK(tokenbox_new(path, &b, &err) == 0);
    unsigned char *x;
    size_t xn;
    seal(a, "42", PLAIN, &x, &xn);
    CHECK(opens(b, "42", x, xn));
    char again[256];
    size_t n2;
    read_file(path, again, sizeof again, &n2);
    CHECK(n2 == n && memcmp(data, again, n) == 0);
    CHECK(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0600);
    tokenbox_free(b);

    /* a copy of the key written as 32 raw bytes opens it too */
    unsigned char raw[TOKENBOX_KEY_LEN];
    for (size_t i = 0; i < TOKENBOX_KEY_LEN; i++) {
        unsigned v;
        CHECK(sscanf(data + 2 * i, "%2x", &v) == 1);
        raw[i] = (unsigned char)v;
    }
    char rawpath[192];
    snprintf(rawpath, sizeof rawpath, "%s/raw.key", dir);
    int fd = open(rawpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, raw, sizeof raw) == (ssize_t)sizeof raw);
    close(fd);
    struct tokenbox *c = NULL;
    CHECK(tokenbox_new(rawpath, &c, &err) == 0);
    CHECK(opens(c, "42", x, xn));
    tokenbox_free(c);
    free(x);
    tokenbox_free(a);

    unlink(rawpath);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

static void test_bad_key_files(void)
{
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/bad.key", dir);
    static const char *const bad[] = {
        "not a key\n",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",   /* 63 */
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefa\n", /* 65 */
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg\n",  /* not hex */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        CHECK(fd >= 0);
        CHECK(write(fd, bad[i], strlen(bad[i])) == (ssize_t)strlen(bad[i]));
        close(fd);
        struct err err = {{0}};
        struct tokenbox *b = (struct tokenbox *)1;
        CHECK(tokenbox_new(path, &b, &err) < 0);
        CHECK(b == NULL);
        CHECK(strstr(err.msg, "SEV_KEY_FILE") != NULL);
    }
    /* a readable-by-others key is still used (with a warning); spaces around hex are fine */
    int fd = open(path, O_WRONLY | O_TRUNC);
    const char *spaced = "  0123456789abcdef0123456789abcdef0123456789ABCDEF0123456789abcdef \r\n";
    CHECK(write(fd, spaced, strlen(spaced)) == (ssize_t)strlen(spaced));
    close(fd);
    CHECK(chmod(path, 0644) == 0);
    struct err err = {{0}};
    struct tokenbox *b = NULL;
    CHECK(tokenbox_new(path, &b, &err) == 0);
    tokenbox_free(b);
    /* a directory, or a path that cannot be created */
    CHECK(tokenbox_new(dir, &b, &err) < 0);
    CHECK(strstr(err.msg, "SEV_KEY_FILE") != NULL);
    CHECK(tokenbox_new("", &b, &err) < 0);
    char under[192];
    snprintf(under, sizeof under, "%s/sub/key", path); /* below a regular file */
    CHECK(tokenbox_new(under, &b, &err) < 0);
    CHECK(strstr(err.msg, "SEV_KEY_FILE") != NULL);
    unlink(path);
    rmdir(dir);
}

static const struct unit_test tests[] = {
    {"seal and open round trip; a fresh nonce per seal", test_round_trip},
    {"any flipped bit or changed length is refused", test_tamper},
    {"the owner is authenticated: another row's owner does not open it", test_aad_binds_owner},
    {"another key does not open it", test_wrong_key},
    {"key file created 0600 in a 0700 directory, then reused", test_key_file},
    {"malformed key files name SEV_KEY_FILE", test_bad_key_files},
    {0},
};
UNIT_MAIN(tests)
