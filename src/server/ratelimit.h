/* ratelimit.h - token buckets per key (an IP address, an account), in memory.
 *
 * Each key has a bucket of `burst` tokens refilled at `per_minute` tokens a
 * minute.  The table is bounded (max_keys): when full, buckets that are full
 * again are dropped first, then the oldest.  Thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

int ratelimit_new(unsigned burst, unsigned per_minute, size_t max_keys, struct ratelimit **ret);
void ratelimit_free(struct ratelimit *rl);

/* Takes one token for key at time now_ms.  Returns 0 when allowed, else the
 * number of seconds (>= 1) until a token is available (for Retry-After). */
unsigned ratelimit_take(struct ratelimit *rl, const char *key, int64_t now_ms);
/* The seconds until key has a token again, without taking one: 0 when it
 * has one (for limits that count failures only: check, then take on failure). */
unsigned ratelimit_wait(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Forgets key (e.g. after a successful login). */
void ratelimit_reset(struct ratelimit *rl, const char *key);
/* Number of keys held (at most max_keys), for metrics and tests. */
size_t ratelimit_size(struct ratelimit *rl);
