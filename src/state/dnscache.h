/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dnscache.h - what recent DNS answers said: address -> the name that was asked
 * (a CNAME chain leads back to it), for fd.sip.name and its kin; and how many TXT
 * queries each process sent lately. Both bounded: the answers are an LRU of a
 * configured size whose evictions are counted, each entry living for its TTL
 * clamped to [DNSCACHE_TTL_MIN, DNSCACHE_TTL_MAX]; the TXT counts are a fixed
 * table where a process may take another's slot (its count starts again).
 */
#ifndef VIGIL_DNSCACHE_H
#define VIGIL_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSCACHE_DEFAULT    4096 /* entries when the configuration says nothing */
#define DNSCACHE_MAX	    (1u << 20)
#define DNSCACHE_TTL_MIN    60	  /* seconds an answer is kept at least */
#define DNSCACHE_TTL_MAX    86400 /* and at most */
#define DNSCACHE_NAME	    256	  /* name bytes kept, NUL included; longer names are cut */
#define DNSCACHE_TXT_WINDOW 60	  /* seconds of a TXT count's window */
#define DNSCACHE_TXT_SLOTS  1024  /* processes whose TXT queries are counted at once */

struct dns_msg;
struct dnscache;

struct dnscache_stats {
	uint64_t entries;     /* addresses held now */
	uint64_t capacity;    /* at most */
	uint64_t inserted;    /* answers' addresses stored (new or refreshed) */
	uint64_t evicted;     /* entries dropped for room while still valid */
	uint64_t expired;     /* entries dropped because their TTL ran out */
	uint64_t hits;	      /* lookups that found a name */
	uint64_t misses;      /* lookups that did not */
	uint64_t txt_evicted; /* TXT counts restarted because another process took the slot */
};

/* A cache of capacity entries (0: DNSCACHE_DEFAULT). NULL with errno on failure. */
struct dnscache *dnscache__new(size_t capacity);
void dnscache__free(struct dnscache *c);

/*
 * Learns the addresses of an answer (a response with NOERROR): every A and AAAA
 * record whose owner is the question's name or reached from it by the answer's
 * CNAMEs maps to the question's name, until now_ns + its TTL (clamped).
 */
void dnscache__learn(struct dnscache *c, const struct dns_msg *m, uint64_t now_ns);

/*
 * The name an address (family 4 or 6, network order) was last given for, or NULL.
 * Valid until the next call that changes the cache.
 */
const char *dnscache__lookup(struct dnscache *c, int family, const uint8_t *addr, uint64_t now_ns);

/* Counts a TXT query of process pid; returns its TXT queries in the current window. */
uint32_t dnscache__txt(struct dnscache *c, uint32_t pid, uint64_t now_ns);

void dnscache__stats(const struct dnscache *c, struct dnscache_stats *out);

#endif /* VIGIL_DNSCACHE_H */
