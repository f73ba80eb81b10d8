#include "eventsub/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

int signature_compute(const char *secret, const char *message_id, const char *timestamp,
                      const void *body, size_t body_len, char out[72])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t id_len = strlen(message_id), ts_len = strlen(timestamp);
    size_t len = id_len + ts_len + body_len;
    /* one-shot HMAC over the concatenation (the streaming HMAC_CTX API is deprecated) */
    unsigned char small[8192];
    unsigned char *msg = len <= sizeof small ? small : malloc(len);
    if (!msg)
        return -1;
    memcpy(msg, message_id, id_len);
    memcpy(msg + id_len, timestamp, ts_len);
    if (body_len)
        memcpy(msg + id_len + ts_len, body, body_len);
    unsigned char *ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, len, mac, &mac_len);
    if (msg != small)
        free(msg);
    if (!ok || mac_len != 32)
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
