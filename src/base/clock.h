/* clock: times are int64_t microseconds. Wall clock for timestamps, monotonic for durations. */
#ifndef SEV_BASE_CLOCK_H
#define SEV_BASE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_wall_us(void);
int64_t clock_mono_us(void);

/* Writes "2026-11-22T10:00:00.123Z" (millisecond precision, UTC) into out (>= 32 bytes). */
void clock_format_rfc3339(int64_t wall_us, char *out, size_t size);

/* Parses RFC 3339 with any fractional precision (Twitch sends up to nanoseconds) and
 * 'Z' or a numeric offset. Returns 0 and sets *wall_us, or -1 if s is not a timestamp. */
int clock_parse_rfc3339(const char *s, int64_t *wall_us);

#endif
