#include "base/login.h"

#include <ctype.h>
#include <string.h>

int login_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 25)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

int login_lower(const char *raw, char *out, size_t size)
{
    size_t n = raw ? strlen(raw) : 0;
    if (!size)
        return 0;
    if (n >= size) {
        out[0] = 0;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)raw[i]);
    out[n] = 0;
    return login_valid(out);
}
