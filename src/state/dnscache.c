// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dnscache.c - the answers' LRU: a fixed array of entries, a power-of-two bucket
 * array of chains through them, and a doubly linked recency list (indices, no
 * pointers); the least recently used entry makes room for a new address. Lookups
 * drop an entry whose time ran out. The TXT counts are a direct-mapped table by pid.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "events/dns.h"
#include "dnscache.h"

#define NIL UINT32_MAX

struct entry {
	uint8_t addr[16];	     /* IPv4 mapped (::ffff:a.b.c.d) or IPv6 */
	uint64_t expires_ns;	     /* boot clock */
	uint32_t next;		     /* bucket chain */
	uint32_t prev_lru, next_lru; /* recency list, head = most recent */
	bool used;		     /* holds an address */
	char name[DNSCACHE_NAME];    /* the name that was asked */
};

struct txt_slot {
	uint32_t pid;	   /* 0: free */
	uint32_t count;	   /* TXT queries in the window */
	uint64_t start_ns; /* the window's start */
};

struct dnscache {
	struct entry *e;
	uint32_t *bucket;
	uint32_t cap, nbuckets, head, tail, free_next,
	    free_head; /* free_head: chain of
				  expired slots via next */
	struct dnscache_stats st;
	struct txt_slot txt[DNSCACHE_TXT_SLOTS];
};

static void map_addr(int family, const uint8_t *addr, uint8_t *out)
{
	if (family == 4) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, addr, 4);
	} else {
		memcpy(out, addr, 16);
	}
}

static uint32_t hash(const uint8_t *a, uint32_t nb)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h & (nb - 1);
}

struct dnscache *dnscache__new(size_t capacity)
{
	struct dnscache *c;

	if (!capacity)
		capacity = DNSCACHE_DEFAULT;
	if (capacity > DNSCACHE_MAX) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cap = (uint32_t)capacity;
	c->nbuckets = 1;
	while (c->nbuckets < 2 * c->cap)
		c->nbuckets <<= 1;
	c->e = calloc(c->cap, sizeof(*c->e));
	c->bucket = malloc(c->nbuckets * sizeof(*c->bucket));
	if (!c->e || !c->bucket) {
		dnscache__free(c);
		errno = ENOMEM;
		return NULL;
	}
	memset(c->bucket, 0xff, c->nbuckets * sizeof(*c->bucket));
	c->head = c->tail = c->free_head = NIL;
	c->st.capacity = c->cap;
	return c;
}

void dnscache__free(struct dnscache *c)
{
	if (!c)
		return;
	free(c->e);
	free(c->bucket);
	free(c);
}

static void lru_unlink(struct dnscache *c, uint32_t i)
{
	struct entry *x = &c->e[i];

	if (x->prev_lru != NIL)
		c->e[x->prev_lru].next_lru = x->next_lru;
	else
		c->head = x->next_lru;
	if (x->next_lru != NIL)
		c->e[x->next_lru].prev_lru = x->prev_lru;
	else
		c->tail = x->prev_lru;
}

static void lru_front(struct dnscache *c, uint32_t i)
{
	struct entry *x = &c->e[i];

	x->prev_lru = NIL;
	x->next_lru = c->head;
	if (c->head != NIL)
		c->e[c->head].prev_lru = i;
	c->head = i;
	if (c->tail == NIL)
		c->tail = i;
}

static uint32_t find(const struct dnscache *c, const uint8_t *a)
{
	for (uint32_t i = c->bucket[hash(a, c->nbuckets)]; i != NIL; i = c->e[i].next)
		if (!memcmp(c->e[i].addr, a, 16))
			return i;
	return NIL;
}

static void drop(struct dnscache *c, uint32_t i)
{
	uint32_t *pp = &c->bucket[hash(c->e[i].addr, c->nbuckets)];

	while (*pp != NIL && *pp != i)
		pp = &c->e[*pp].next;
	if (*pp == i)
		*pp = c->e[i].next;
	lru_unlink(c, i);
	c->e[i].used = false;
	c->st.entries--;
}

static void put(struct dnscache *c, const uint8_t *a, const char *name, uint64_t expires)
{
	uint32_t i = find(c, a), b;

	if (i != NIL) {
		lru_unlink(c, i);
	} else {
		if (c->free_head != NIL) {
			i = c->free_head;
			c->free_head = c->e[i].next;
		} else if (c->free_next < c->cap) {
			i = c->free_next++;
		} else {
			i = c->tail;
			c->st.evicted++;
			drop(c, i);
		}
		memcpy(c->e[i].addr, a, 16);
		b = hash(a, c->nbuckets);
		c->e[i].next = c->bucket[b];
		c->bucket[b] = i;
		c->e[i].used = true;
		c->st.entries++;
	}
	{
		size_t n = strnlen(name, sizeof(c->e[i].name) - 1);

		memcpy(c->e[i].name, name, n);
		c->e[i].name[n] = 0;
	}
	c->e[i].expires_ns = expires;
	lru_front(c, i);
	c->st.inserted++;
}

/* Whether name is in the set of n names. */
static bool in_set(const char *const *set, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i], name))
			return true;
	return false;
}

void dnscache__learn(struct dnscache *c, const struct dns_msg *m, uint64_t now_ns)
{
	const char *chain[DNS_ANSWERS + 1];
	size_t n = 0;
	bool grew = true;

	if (!c || !m->response || m->rcode != 0 || !m->qname[0])
		return;
	chain[n++] = m->qname;
	/* the names the question's name leads to, through CNAMEs in any order */
	while (grew) {
		grew = false;
		for (size_t i = 0; i < m->n_an && n < DNS_ANSWERS + 1; i++) {
			const struct dns_rr *r = &m->an[i];

			if (r->type == 5 && r->target[0] && in_set(chain, n, r->name) &&
			    !in_set(chain, n, r->target)) {
				chain[n++] = r->target;
				grew = true;
			}
		}
	}
	for (size_t i = 0; i < m->n_an; i++) {
		const struct dns_rr *r = &m->an[i];
		uint64_t ttl = r->ttl;
		uint8_t a[16];

		if (!r->family || !in_set(chain, n, r->name))
			continue;
		if (ttl < DNSCACHE_TTL_MIN)
			ttl = DNSCACHE_TTL_MIN;
		if (ttl > DNSCACHE_TTL_MAX)
			ttl = DNSCACHE_TTL_MAX;
		map_addr(r->family, r->addr, a);
		put(c, a, m->qname, now_ns + ttl * 1000000000ull);
	}
}

const char *dnscache__lookup(struct dnscache *c, int family, const uint8_t *addr, uint64_t now_ns)
{
	uint8_t a[16];
	uint32_t i;

	if (!c)
		return NULL;
	map_addr(family, addr, a);
	i = find(c, a);
	if (i != NIL && c->e[i].expires_ns <= now_ns) {
		c->st.expired++;
		drop(c, i);
		c->e[i].next = c->free_head;
		c->free_head = i;
		i = NIL;
	}
	if (i == NIL) {
		c->st.misses++;
		return NULL;
	}
	c->st.hits++;
	lru_unlink(c, i);
	lru_front(c, i);
	return c->e[i].name;
}

uint32_t dnscache__txt(struct dnscache *c, uint32_t pid, uint64_t now_ns)
{
	struct txt_slot *s;

	if (!c)
		return 0;
	s = &c->txt[(pid * 2654435761u) % DNSCACHE_TXT_SLOTS];
	if (s->pid != pid) {
		if (s->pid)
			c->st.txt_evicted++;
		s->pid = pid;
		s->count = 0;
		s->start_ns = now_ns;
	}
	if (now_ns - s->start_ns >= DNSCACHE_TXT_WINDOW * 1000000000ull) {
		s->count = 0;
		s->start_ns = now_ns;
	}
	return ++s->count;
}

void dnscache__stats(const struct dnscache *c, struct dnscache_stats *out)
{
	if (c)
		*out = c->st;
	else
		memset(out, 0, sizeof(*out));
}
