/* rand: cryptographically strong random bytes (OpenSSL RAND_bytes). */
#ifndef SEV_BASE_RAND_H
#define SEV_BASE_RAND_H

#include <stddef.h>

int rand_bytes(void *out, size_t n);
/* Fills out with 2*n lowercase hex characters of n random bytes, NUL-terminated (size >= 2n+1). */
int rand_hex(char *out, size_t n);
/* A random RFC 4122 version 4 UUID, 37 bytes with the NUL. */
int rand_uuid(char out[37]);

#endif
