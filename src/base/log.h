/* log: structured logs, one logfmt line per record on stderr:
 *   ts=2026-11-22T10:00:00.123Z level=info msg=webhook.stored id=… streamer=shroud
 * The key=value part is a printf format written by the caller; quote values that may hold
 * spaces with %s inside \"…\". Newlines in values become spaces (a value cannot forge a
 * second record); a line is cut at 2 KiB. Thread-safe: one write(2) per line.
 * Secrets never go into logs: pass token *names*, never token values. */
#ifndef SEV_BASE_LOG_H
#define SEV_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set once at start-up, before threads start. */
void log_set_level(enum log_level min);
int log_level_parse(const char *s, enum log_level *out);

void log_write(enum log_level level, const char *msg, const char *kv_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_write(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_write(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_write(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_ERROR, msg, __VA_ARGS__)

#endif
