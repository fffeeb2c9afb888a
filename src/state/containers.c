/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * containers.c - the container table (see containers.h for the concurrency
 * contract). Entries live in a ring of max_entries slots allocated once, chained
 * by cgroup id in a hash; a new cgroup takes the next slot of the ring, so when
 * the table is full the entry entered longest ago makes room (cgroup ids are not
 * reused, and an evicted cgroup seen again is simply derived again). Jobs travel
 * between the event loop and the workers on two lock-free stacks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "state/containers.h"

#define CT_HASH_MIN_BITS 4
#define CT_HASH_MAX_BITS 20

struct ct_slot {
	struct container_entry e;     /* first: callers hold &e */
	struct container_job *filled; /* the job whose meta e.meta shows; freed with it */
	uint32_t hnext;		      /* hash chain: slot index + 1, 0 at the end */
	bool used;		      /* holds an entry */
	bool gone;		      /* its cgroup was gone at the last sweep */
};

struct containers {
	struct ct_slot *slots; /* the ring */
	size_t cap;	       /* slots */
	size_t count;	       /* used slots */
	size_t next;	       /* slot the next entry takes: the oldest when full */
	uint32_t *buckets;     /* chain heads: slot index + 1, 0 for none */
	unsigned int bits;     /* log2 of the bucket count */
	bool jobs;	       /* containers__enable_jobs() was called */
	int efd;	       /* eventfd: jobs waiting; -1 until jobs are enabled */
	_Atomic(struct container_job *) pending; /* event loop -> workers */
	_Atomic(struct container_job *) done;	 /* workers -> event loop */
	size_t inflight;			 /* jobs made, not yet installed or dropped */
	uint64_t evicted;			 /* entries dropped to make room */
	uint64_t filled;			 /* metadata installed */
	uint64_t jobs_lost;			 /* jobs not made or dropped */
	uint64_t pruned;			 /* entries whose cgroup went away */
	void (*on_fill)(void *arg, const struct container_entry *e); /* or NULL */
	void *on_fill_arg;					     /* its argument */
};

/* ---- metadata ---- */

static void labels_free(struct container_label *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].value);
	}
	free(l);
}

void container_meta_clear(struct container_meta *m)
{
	free(m->name);
	free(m->image);
	free(m->image_id);
	free(m->pod_name);
	free(m->pod_ns);
	free(m->pod_uid);
	free(m->k8s_container);
	labels_free(m->labels, m->n_labels);
	labels_free(m->pod_labels, m->n_pod_labels);
	for (size_t i = 0; i < m->n_mounts; i++) {
		free(m->mounts[i].source);
		free(m->mounts[i].dest);
		free(m->mounts[i].mode);
		free(m->mounts[i].propagation);
	}
	free(m->mounts);
	memset(m, 0, sizeof(*m));
	m->privileged = -1;
}

const char *container_label_get(const struct container_label *l, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].key, key))
			return l[i].value;
	return NULL;
}

static void job_free(struct container_job *j)
{
	if (!j)
		return;
	container_meta_clear(&j->meta);
	free(j);
}

/* ---- lock-free stacks: push one, take all ---- */

static void stack_push(_Atomic(struct container_job *) *head, struct container_job *job)
{
	struct container_job *old = atomic_load_explicit(head, memory_order_relaxed);

	do {
		job->next = old;
	} while (!atomic_compare_exchange_weak_explicit(head, &old, job, memory_order_release,
							memory_order_relaxed));
}

static struct container_job *stack_take(_Atomic(struct container_job *) *head)
{
	return atomic_exchange_explicit(head, NULL, memory_order_acquire);
}

static void jobs_free(struct container_job *j)
{
	struct container_job *next;

	for (; j; j = next) {
		next = j->next;
		job_free(j);
	}
}

/* ---- hash over the ring ---- */

static uint32_t *bucket(struct containers *ct, uint64_t id)
{
	return &ct->buckets[(id * 0x9e3779b97f4a7c15ull) >> (64 - ct->bits)];
}

static struct ct_slot *find(struct containers *ct, uint64_t id)
{
	for (uint32_t i = *bucket(ct, id); i; i = ct->slots[i - 1].hnext) {
		if (ct->slots[i - 1].e.cgroup_id == id)
			return &ct->slots[i - 1];
	}
	return NULL;
}

static void slot_evict(struct containers *ct, struct ct_slot *s)
{
	uint32_t idx = (uint32_t)(s - ct->slots) + 1, *pp = bucket(ct, s->e.cgroup_id);

	while (*pp != idx)
		pp = &ct->slots[*pp - 1].hnext;
	*pp = s->hnext;
	job_free(s->filled);
	memset(s, 0, sizeof(*s));
	ct->count--;
}

/* ---- lifecycle ---- */

struct containers *containers__new(size_t max_entries)
{
	struct containers *ct;

	if (max_entries == 0 || max_entries > UINT32_MAX - 1) {
		errno = EINVAL;
		return NULL;
	}
	ct = calloc(1, sizeof(*ct));
	if (!ct)
		goto err;
	ct->efd = -1;
	ct->bits = CT_HASH_MIN_BITS;
	while (ct->bits < CT_HASH_MAX_BITS && ((size_t)1 << ct->bits) < max_entries)
		ct->bits++;
	ct->buckets = calloc((size_t)1 << ct->bits, sizeof(*ct->buckets));
	if (!ct->buckets)
		goto err_free_ct;
	ct->slots = calloc(max_entries, sizeof(*ct->slots));
	if (!ct->slots)
		goto err_free_buckets;
	ct->cap = max_entries;
	atomic_init(&ct->pending, NULL);
	atomic_init(&ct->done, NULL);
	return ct;

err_free_buckets:
	free(ct->buckets);
err_free_ct:
	free(ct);
err:
	errno = ENOMEM;
	return NULL;
}

void containers__free(struct containers *ct)
{
	if (!ct)
		return;
	for (size_t i = 0; i < ct->cap; i++)
		job_free(ct->slots[i].filled);
	jobs_free(stack_take(&ct->pending));
	jobs_free(stack_take(&ct->done));
	if (ct->efd >= 0)
		close(ct->efd);
	free(ct->slots);
	free(ct->buckets);
	free(ct);
}

int containers__enable_jobs(struct containers *ct)
{
	if (ct->efd < 0) {
		ct->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ct->efd < 0)
			return -errno;
	}
	ct->jobs = true;
	return ct->efd;
}

/* ---- event loop ---- */

size_t containers__poll(struct containers *ct)
{
	struct container_job *j, *next;
	struct ct_slot *s;
	size_t n = 0;

	/* the hot path: nothing completed */
	if (!atomic_load_explicit(&ct->done, memory_order_relaxed))
		return 0;
	for (j = stack_take(&ct->done); j; j = next) {
		next = j->next;
		ct->inflight--;
		s = find(ct, j->cgroup_id);
		if (!s || s->filled) {
			ct->jobs_lost++; /* evicted meanwhile, or filled already */
			job_free(j);
			continue;
		}
		j->next = NULL;
		s->filled = j;
		s->e.meta = &j->meta;
		ct->filled++;
		n++;
		if (ct->on_fill)
			ct->on_fill(ct->on_fill_arg, &s->e);
	}
	return n;
}

const struct container_entry *containers__lookup(struct containers *ct, uint64_t cgroup_id)
{
	struct ct_slot *s;

	containers__poll(ct);
	s = cgroup_id ? find(ct, cgroup_id) : NULL;
	return s ? &s->e : NULL;
}

static void job_make(struct containers *ct, const struct container_entry *e)
{
	struct container_job *j;
	uint64_t one = 1;

	/* entries evicted with their job in flight count too: twice the table */
	if (ct->inflight >= 2 * ct->cap) {
		ct->jobs_lost++; /* the workers are that far behind */
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		ct->jobs_lost++;
		return;
	}
	j->meta.privileged = -1;
	j->cgroup_id = e->cgroup_id;
	j->ident = e->ident;
	ct->inflight++;
	stack_push(&ct->pending, j);
	/* cannot fail short of a counter overflow, which a worker's read clears */
	if (write(ct->efd, &one, sizeof(one)) < 0)
		return;
}

const struct container_entry *containers__resolve(struct containers *ct, uint64_t cgroup_id,
						  const char *path, size_t len)
{
	struct ct_slot *s;
	uint32_t *head;

	if (!cgroup_id)
		return NULL;
	containers__poll(ct);
	s = find(ct, cgroup_id);
	if (s)
		return &s->e;
	s = &ct->slots[ct->next];
	if (s->used) {
		slot_evict(ct, s);
		ct->evicted++;
	}
	ct->next = (ct->next + 1) % ct->cap;
	s->used = true;
	s->e.cgroup_id = cgroup_id;
	container_parse_cgroup(path, len, &s->e.ident);
	head = bucket(ct, cgroup_id);
	s->hnext = *head;
	*head = (uint32_t)(s - ct->slots) + 1;
	ct->count++;
	if (ct->jobs && s->e.ident.runtime != CONTAINER_HOST)
		job_make(ct, &s->e);
	return &s->e;
}

size_t containers__sweep(struct containers *ct, bool (*gone)(void *arg, uint64_t cgroup_id),
			 void *arg)
{
	size_t n = 0;

	containers__poll(ct);
	for (size_t i = 0; i < ct->cap; i++) {
		struct ct_slot *s = &ct->slots[i];

		if (!s->used)
			continue;
		if (!gone(arg, s->e.cgroup_id)) {
			s->gone = false;
		} else if (!s->gone) {
			s->gone = true;
		} else {
			slot_evict(ct, s);
			ct->pruned++;
			n++;
		}
	}
	return n;
}

void containers__on_fill(struct containers *ct,
			 void (*fn)(void *arg, const struct container_entry *e), void *arg)
{
	ct->on_fill = fn;
	ct->on_fill_arg = arg;
}

void containers__foreach(struct containers *ct,
			 void (*fn)(void *arg, const struct container_entry *e), void *arg)
{
	for (size_t i = 0; i < ct->cap; i++)
		if (ct->slots[i].used)
			fn(arg, &ct->slots[i].e);
}

void containers__stats(const struct containers *ct, struct containers_stats *out)
{
	out->entries = ct->count;
	out->evicted = ct->evicted;
	out->filled = ct->filled;
	out->jobs_lost = ct->jobs_lost;
	out->jobs_inflight = ct->inflight;
	out->pruned = ct->pruned;
}

/* ---- workers ---- */

struct container_job *containers__take_jobs(struct containers *ct)
{
	return stack_take(&ct->pending);
}

void containers__complete(struct containers *ct, struct container_job *job)
{
	stack_push(&ct->done, job);
}
