#include "eventsub/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256, looked up once: OpenSSL 3's one-shot HMAC() fetches the algorithm by name on every
 * call, which cost more than hashing a webhook body. */
static EVP_MD *sha256;
static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

#define HMAC_BLOCK 64 /* SHA-256's block */

/* HMAC-SHA256 (RFC 2104) of the three parts, in order, without copying them together. */
static int hmac_sha256(const char *key, size_t key_len, const void *p1, size_t n1, const void *p2,
                       size_t n2, const void *p3, size_t n3, unsigned char mac[32])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sha256_fetch);
    EVP_MD_CTX *ctx = sha256 ? EVP_MD_CTX_new() : NULL;
    if (!ctx)
        return -1;
    unsigned char k[HMAC_BLOCK] = {0}, pad[HMAC_BLOCK], inner[32];
    unsigned int len = 0;
    int ok = 1;
    if (key_len > HMAC_BLOCK)
        ok = EVP_Digest(key, key_len, k, NULL, sha256, NULL);
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(ctx, sha256, NULL) && EVP_DigestUpdate(ctx, pad, HMAC_BLOCK) &&
         EVP_DigestUpdate(ctx, p1, n1) && EVP_DigestUpdate(ctx, p2, n2) &&
         (n3 == 0 || EVP_DigestUpdate(ctx, p3, n3)) && EVP_DigestFinal_ex(ctx, inner, &len) &&
         len == 32;
    for (int i = 0; i < HMAC_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(ctx, sha256, NULL) && EVP_DigestUpdate(ctx, pad, HMAC_BLOCK) &&
         EVP_DigestUpdate(ctx, inner, 32) && EVP_DigestFinal_ex(ctx, mac, &len) && len == 32;
    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok ? 0 : -1;
}

int signature_compute(const char *secret, const char *message_id, const char *timestamp,
                      const void *body, size_t body_len, char out[72])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    if (hmac_sha256(secret, strlen(secret), message_id, strlen(message_id), timestamp,
                    strlen(timestamp), body, body_len, mac) < 0)
        return -1;
    memcpy(out, "sha256=", 7);
    for (unsigned i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[71] = 0;
    return 0;
}

int signature_verify(const char *secret, const char *message_id, const char *timestamp,
                     const void *body, size_t body_len, const char *header)
{
    char expected[72];
    if (!header || strlen(header) != 71)
        return 0; /* the length is public: every valid signature has it */
    if (signature_compute(secret, message_id, timestamp, body, body_len, expected) < 0)
        return 0;
    return CRYPTO_memcmp(expected, header, 71) == 0;
}
