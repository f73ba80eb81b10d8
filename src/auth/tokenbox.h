/* tokenbox: tokens at rest, sealed with AES-256-GCM (OpenSSL EVP).
 *
 * The key lives in its own file (SEV_KEY_FILE), never in the database: a copy of the database
 * alone reveals no token. On first start the file is created with 32 random bytes (64 hex
 * characters) and mode 0600; later starts read it. A key file others may read is used with a
 * warning; a malformed one is an error naming the variable.
 *
 * A sealed blob is  1 byte version (1) | 12 bytes random nonce | ciphertext | 16 bytes tag,
 * and its owner (a user id, or "app") is authenticated as additional data: a blob copied to
 * another user's row does not open.
 *
 * Loop thread or any thread: a tokenbox is immutable after tokenbox_new.
 */
#ifndef SEV_AUTH_TOKENBOX_H
#define SEV_AUTH_TOKENBOX_H

#include <stddef.h>

#include "base/err.h"

#define TOKENBOX_KEY_LEN 32
#define TOKENBOX_OVERHEAD (1 + 12 + 16)

struct tokenbox;

/* Reads the key file at path, or creates it (and its directory, 0700) when missing.
 * Blocking: start-up only. */
int tokenbox_new(const char *path, struct tokenbox **out, struct err *err);
/* A box with this key (copied; tests). */
int tokenbox_new_from_key(const unsigned char key[TOKENBOX_KEY_LEN], struct tokenbox **out,
                          struct err *err);
/* Wipes the key. NULL is fine. */
void tokenbox_free(struct tokenbox *b);

/* Seals len bytes of plain for owner: *out (owned, free()) of len + TOKENBOX_OVERHEAD bytes.
 * 0, or -1. */
int tokenbox_seal(const struct tokenbox *b, const char *owner, const void *plain, size_t len,
                  unsigned char **out, size_t *out_len);
/* Opens a blob sealed for owner: *plain (owned, NUL-terminated; wipe and free it with
 * tokenbox_wipe_free) of *plain_len bytes. 0, or -1 when the blob is damaged, was sealed for
 * another owner or with another key. */
int tokenbox_open(const struct tokenbox *b, const char *owner, const unsigned char *blob,
                  size_t len, char **plain, size_t *plain_len);
/* Overwrites a NUL-terminated secret with zeros, then frees it. NULL is fine. */
void tokenbox_wipe_free(char *secret);

#endif
