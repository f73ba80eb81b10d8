#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "eventsub/signature.h"

/* Twitch's published vector (twitch-rs/twitch_api tests, digest section 3.3). */
static const char BODY[] =
    "{\"subscription\":{\"id\":\"ae2ff348-e102-16be-a3eb-6830c1bf38d2\",\"status\":\"enabled\","
    "\"type\":\"channel.follow\",\"version\":\"1\",\"condition\":{\"broadcaster_user_id\":"
    "\"44429626\"},\"transport\":{\"method\":\"webhook\",\"callback\":\"null\"},\"created_at\":"
    "\"2021-02-19T23:47:00.7621315Z\"},\"event\":{\"user_id\":\"28408015\",\"user_login\":"
    "\"testFromUser\",\"user_name\":\"testFromUser\",\"broadcaster_user_id\":\"44429626\","
    "\"broadcaster_user_login\":\"44429626\",\"broadcaster_user_name\":\"testBroadcaster\"}}";
static const char ID[] = "ae2ff348-e102-16be-a3eb-6830c1bf38d2";
static const char TS[] = "2021-02-19T23:47:00.8091512Z";
static const char SIG[] = "sha256=d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823";

static void test_vector(void)
{
    CHECK_INT(sizeof BODY - 1, 458);
    char out[72];
    CHECK(signature_compute("secretabcd", ID, TS, BODY, sizeof BODY - 1, out) == 0);
    CHECK_STR(out, SIG);
    CHECK(signature_verify("secretabcd", ID, TS, BODY, sizeof BODY - 1, SIG) == 1);
}

static void test_rejects(void)
{
    size_t n = sizeof BODY - 1;
    CHECK(signature_verify("secretabcE", ID, TS, BODY, n, SIG) == 0);
    CHECK(signature_verify("secretabcd", ID, "2021-02-19T23:47:00.8091513Z", BODY, n, SIG) == 0);
    CHECK(signature_verify("secretabcd", ID, TS, BODY, n - 1, SIG) == 0);
    CHECK(signature_verify("secretabcd", ID, TS, BODY, n, NULL) == 0);
    CHECK(signature_verify("secretabcd", ID, TS, BODY, n, "") == 0);
    CHECK(signature_verify("secretabcd", ID, TS, BODY, n, "sha256=00") == 0);
    char upper[sizeof SIG];
    memcpy(upper, SIG, sizeof SIG);
    upper[7] = 'D'; /* Twitch sends lower case hex: anything else is a different string */
    CHECK(signature_verify("secretabcd", ID, TS, BODY, n, upper) == 0);
}

static void test_large_body(void)
{
    size_t n = 100000;
    char *body = malloc(n);
    memset(body, 'a', n);
    char a[72], b[72];
    CHECK(signature_compute("0123456789", "id", "ts", body, n, a) == 0);
    body[n - 1] = 'b';
    CHECK(signature_compute("0123456789", "id", "ts", body, n, b) == 0);
    CHECK(strcmp(a, b) != 0);
    free(body);
}

/* The HMAC is SEV's own (RFC 2104 over OpenSSL's SHA-256): it must equal OpenSSL's HMAC() for
 * keys shorter than, equal to and longer than the 64-byte block, and any message length. */
static void test_equals_openssl_hmac(void)
{
    static const size_t key_lens[] = {0, 1, 10, 63, 64, 65, 100, 127, 200};
    static const size_t body_lens[] = {0, 1, 55, 56, 64, 119, 458, 1000, 9000};
    char key[201], body[9000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)(i * 131 + 7);
    for (size_t ki = 0; ki < sizeof key_lens / sizeof key_lens[0]; ki++) {
        size_t kl = key_lens[ki];
        for (size_t i = 0; i < kl; i++)
            key[i] = (char)('!' + (i * 37 + kl) % 90); /* printable: the secret is a C string */
        key[kl] = 0;
        for (size_t bi = 0; bi < sizeof body_lens / sizeof body_lens[0]; bi++) {
            size_t bl = body_lens[bi];
            char out[72];
            CHECK(signature_compute(key, ID, TS, body, bl, out) == 0);
            unsigned char msg[sizeof ID + sizeof TS + sizeof body], mac[32];
            size_t n = 0;
            memcpy(msg, ID, strlen(ID));
            n += strlen(ID);
            memcpy(msg + n, TS, strlen(TS));
            n += strlen(TS);
            memcpy(msg + n, body, bl);
            n += bl;
            unsigned int mac_len = 0;
            CHECK(HMAC(EVP_sha256(), key, (int)kl, msg, n, mac, &mac_len) && mac_len == 32);
            char hex[72] = "sha256=";
            for (int i = 0; i < 32; i++)
                snprintf(hex + 7 + 2 * i, 3, "%02x", mac[i]);
            CHECK_STR(out, hex);
        }
    }
}

static const struct unit_test tests[] = {
    {"Twitch's published HMAC test vector", test_vector},
    {"wrong secret, timestamp, body or header are rejected", test_rejects},
    {"bodies larger than the stack buffer", test_large_body},
    {"the HMAC equals OpenSSL's HMAC()", test_equals_openssl_hmac},
    {0},
};
UNIT_MAIN(tests)
