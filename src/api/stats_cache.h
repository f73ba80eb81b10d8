/* stats_cache: the /api/stats answers, shared and bounded.
 *
 * A stats query scans many rows, and anyone may ask for one. So that a flood of them cannot
 * occupy the thread pool that session lookups and replays share:
 *   - each answer is kept for ttl_s seconds (0: not kept) and handed to every request that
 *     asks for the same thing meanwhile;
 *   - single flight: requests for an answer being computed wait for that one query;
 *   - at most max_queries stats queries run at once; the rest wait their turn in order;
 *   - at most STATS_CACHE_ENTRIES distinct answers are kept or waited for; beyond that, a
 *     request for a new one is refused (the caller answers 503) until one expires.
 * Errors are not kept: the next request asks the store again.
 *
 * Loop thread only.
 */
#ifndef SEV_API_STATS_CACHE_H
#define SEV_API_STATS_CACHE_H

#include <stdint.h>

#include "store/store.h"

#define STATS_CACHE_ENTRIES 4096

enum stats_kind { STATS_STREAMERS, STATS_TYPES, STATS_HOURLY };

struct stats_cache_options {
    int ttl_s;       /* seconds an answer is reused (0..3600) */
    int max_queries; /* stats queries running at once (>= 1) */
};

struct stats_cache_stats {
    uint64_t queries; /* stats queries sent to the store */
    uint64_t shared;  /* requests answered by a kept or in-flight answer */
    uint64_t refused; /* requests refused: too many distinct answers pending */
    uint64_t waiting; /* queries waiting for a free slot now */
};

/* status 0 with rows (borrowed for the call: copy what you keep), or negative (rows NULL). */
typedef void (*stats_cache_fn)(void *arg, int status, const struct stat_list *rows);

struct stats_cache;

/* store is borrowed and must outlive the cache. NULL when out of memory. */
struct stats_cache *stats_cache_new(struct store *store, const struct stats_cache_options *opt);
/* Queries still running finish into the void; waiting callers are dropped without a call
 * (free it after the HTTP server has answered or dropped every request). NULL is fine. */
void stats_cache_free(struct stats_cache *c);

/* The answer for (kind, login, hours): login is ignored for STATS_STREAMERS, hours is used by
 * STATS_HOURLY only (1..720). cb runs once: before this returns when a fresh answer is kept,
 * else later on the loop. Returns 0, or -1 (cb never called): bad arguments, out of memory,
 * or too many distinct answers pending. */
int stats_cache_get(struct stats_cache *c, enum stats_kind kind, const char *login, int hours,
                    stats_cache_fn cb, void *arg);

void stats_cache_stats_get(const struct stats_cache *c, struct stats_cache_stats *out);

#endif
