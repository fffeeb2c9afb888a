/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ring.h - the reader of a BPF ring buffer map, with its data area mapped once.
 *
 * The kernel offers the data pages twice in a row so that a reader can take a
 * record that wraps around the end as one piece; libbpf maps both copies, which
 * puts the ring in the reader's resident set twice (8 MB for a 4 MB ring). This
 * reader maps them once and copies the rare record that wraps into a buffer of its
 * own. Same protocol as the kernel's producer: a record's 8-byte header holds its
 * length with a busy bit (still being written: stop there) and a discard bit
 * (skipped), records are 8-byte aligned, and the consumer position is published
 * after each record.
 */
#ifndef VIGIL_KERNEL_RING_H
#define VIGIL_KERNEL_RING_H

#include <stddef.h>
#include <stdint.h>

/* Takes one record; a negative return stops the read and is returned by it. */
typedef int (*ring_fn)(void *ctx, void *data, size_t size);

struct ring {
	uint64_t *consumer;	  /* the consumer position (the reader writes it) */
	const uint64_t *producer; /* the producer position */
	const uint8_t *data;	  /* the data area, size bytes, mapped once */
	size_t size;		  /* a power of two */
	ring_fn fn;		  /* the callback */
	void *ctx;		  /* for fn */
	int fd;			  /* the map, for epoll; -1 for a ring in plain memory */
	long page;		  /* the page size the mappings were made with; 0 for none */
	uint8_t *bounce;	  /* a wrapped record, made whole */
	size_t bounce_cap;	  /* bytes allocated */
};

/*
 * Maps ring buffer map fd for reading. 0, or -errno with a message in err. The fd
 * stays the caller's; poll it (EPOLLIN) to learn of new records.
 */
int ring__open(struct ring *r, int fd, ring_fn fn, void *ctx, char *err, size_t errlen);
/*
 * A ring over memory the caller lays out like the kernel does (the tests): positions
 * and a data area of size bytes, a power of two.
 */
void ring__init(struct ring *r, uint64_t *consumer, const uint64_t *producer, const uint8_t *data,
		size_t size, ring_fn fn, void *ctx);
/*
 * Reads every complete record up to the first one still being written. Returns the
 * records given to fn, or fn's negative return (the record it refused counts as
 * read), or -ENOMEM when a wrapped record cannot be copied (left in the ring).
 */
int ring__consume(struct ring *r);
/* Bytes written to the ring and not yet consumed (the fill level); 0 before open. */
size_t ring__used(const struct ring *r);
/* Unmaps (for ring__open) and frees the copy buffer. */
void ring__close(struct ring *r);

#endif
