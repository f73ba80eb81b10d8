/* base/login: the one rule for a Twitch login, shared by every layer (hub, api, pages, auth).
 * 1..25 of [a-z0-9_], lower case: Twitch's rule for new names is 4..25, but older accounts
 * are shorter (../shared/docs/twitch-platform.md). */
#ifndef SEV_BASE_LOGIN_H
#define SEV_BASE_LOGIN_H

#include <stddef.h>

/* 1 if s is a Twitch login (lower case), else 0. */
int login_valid(const char *s);
/* Lower-cases raw into out (size bytes) and returns login_valid(out); 0 (out "" when size > 0)
 * when raw is NULL or does not fit. */
int login_lower(const char *raw, char *out, size_t size);

#endif
