// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ring.c - the BPF ring buffer reader (ring.h): the data area mapped once, a record
 * that wraps around its end copied whole.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "kernel/ring.h"

_Static_assert(sizeof(unsigned long) == sizeof(uint64_t),
	       "the ring's positions are unsigned long in the kernel: 64-bit only");

void ring__init(struct ring *r, uint64_t *consumer, const uint64_t *producer, const uint8_t *data,
		size_t size, ring_fn fn, void *ctx)
{
	*r = (struct ring){.consumer = consumer,
			   .producer = producer,
			   .data = data,
			   .size = size,
			   .fn = fn,
			   .ctx = ctx,
			   .fd = -1};
}

int ring__open(struct ring *r, int fd, ring_fn fn, void *ctx, char *err, size_t errlen)
{
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	long page = sysconf(_SC_PAGESIZE);
	void *c, *p;
	int ret;

	memset(r, 0, sizeof(*r));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ret = -errno;
		snprintf(err, errlen, "cannot read the ring buffer map's size: %s",
			 strerror(errno));
		return ret;
	}
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		snprintf(err, errlen, "map %d is not a ring buffer (type %u, %u bytes)", fd,
			 info.type, info.max_entries);
		return -EINVAL;
	}
	/* the consumer page is the only one a reader may write */
	c = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (c == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "cannot map the ring buffer's consumer page: %s",
			 strerror(errno));
		return ret;
	}
	/* the producer page, then the data pages once (the kernel has them twice) */
	p = mmap(NULL, (size_t)page + info.max_entries, PROT_READ, MAP_SHARED, fd, page);
	if (p == MAP_FAILED) {
		ret = -errno;
		munmap(c, (size_t)page);
		snprintf(err, errlen, "cannot map the ring buffer's data: %s", strerror(errno));
		return ret;
	}
	ring__init(r, c, p, (const uint8_t *)p + page, info.max_entries, fn, ctx);
	r->fd = fd;
	r->page = page;
	return 0;
}

/* The record at offset off of len bytes, whole: in place, or copied when it wraps. */
static void *record_at(struct ring *r, size_t off, size_t len)
{
	size_t first = r->size - off;

	if (len <= first)
		return (void *)(r->data + off);
	if (len > r->bounce_cap) {
		uint8_t *b = realloc(r->bounce, len);

		if (!b)
			return NULL;
		r->bounce = b;
		r->bounce_cap = len;
	}
	memcpy(r->bounce, r->data + off, first);
	memcpy(r->bounce + first, r->data, len - first);
	return r->bounce;
}

int ring__consume(struct ring *r)
{
	const size_t mask = r->size - 1;
	uint64_t cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	int n = 0;

	for (;;) {
		uint64_t prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		bool got = false;

		while (cons < prod) {
			/* 8-byte aligned and the size a multiple of 8: a header never wraps */
			const uint32_t *hdr = (const uint32_t *)(r->data + (cons & mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE), body;
			uint64_t next;
			int ret;

			if (len & BPF_RINGBUF_BUSY_BIT)
				return n; /* still being written: the rest waits for it */
			body = len & ~(uint32_t)(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
			next = cons + ((body + BPF_RINGBUF_HDR_SZ + 7) & ~(uint64_t)7);
			got = true;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				void *rec =
				    record_at(r, ((cons & mask) + BPF_RINGBUF_HDR_SZ) & mask, body);

				if (!rec)
					return -ENOMEM;
				ret = r->fn(r->ctx, rec, body);
				if (ret < 0) {
					__atomic_store_n(r->consumer, next, __ATOMIC_RELEASE);
					return ret;
				}
				n++;
			}
			cons = next;
			__atomic_store_n(r->consumer, cons, __ATOMIC_RELEASE);
		}
		if (!got)
			return n;
	}
}

size_t ring__used(const struct ring *r)
{
	if (!r->consumer)
		return 0;
	return __atomic_load_n(r->producer, __ATOMIC_RELAXED) -
	       __atomic_load_n(r->consumer, __ATOMIC_RELAXED);
}

void ring__close(struct ring *r)
{
	if (r->page) {
		munmap(r->consumer, (size_t)r->page);
		munmap((void *)r->producer, (size_t)r->page + r->size);
	}
	free(r->bounce);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}
