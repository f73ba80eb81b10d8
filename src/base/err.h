/* err: an error message filled in by the function that failed, read by the caller that decides.
 * Functions that can fail return int (0 ok, negative error) and take an optional struct err *. */
#ifndef SEV_BASE_ERR_H
#define SEV_BASE_ERR_H

struct err {
    char msg[256];
};

/* Formats into err->msg; err may be NULL. Always returns -1 so callers can `return err_set(...)`. */
int err_set(struct err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
