/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_ring.c - the ring buffer reader over memory laid out as the kernel lays out a
 * BPF ring buffer: records in order, a record that wraps around the end given whole,
 * discarded records skipped, a record still being written stopping the read until it
 * is done, and a refusing callback ending the read with the record counted as read.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/ring.h"

#define SIZE 256

struct fake_ring {
	uint64_t consumer, producer;
	uint8_t data[SIZE];
	struct ring r;
	char got[64][64]; /* the records read, as strings */
	int n_got;
	int refuse_at; /* fn fails on this record (1-based), 0 never */
};

static int take(void *ctx, void *data, size_t size)
{
	struct fake_ring *f = ctx;

	cr_assert_lt(size, sizeof(f->got[0]));
	memcpy(f->got[f->n_got], data, size);
	f->got[f->n_got][size] = '\0';
	f->n_got++;
	return f->refuse_at && f->n_got == f->refuse_at ? -EIO : 0;
}

/* Writes a record at the producer position as the kernel would; returns its header. */
static uint32_t *put(struct fake_ring *f, const char *body, uint32_t bits)
{
	size_t len = strlen(body), at = f->producer & (SIZE - 1);
	uint32_t *hdr = (uint32_t *)(f->data + at);

	hdr[0] = (uint32_t)len | bits;
	hdr[1] = 0;
	for (size_t i = 0; i < len; i++)
		f->data[(at + BPF_RINGBUF_HDR_SZ + i) & (SIZE - 1)] = (uint8_t)body[i];
	f->producer += (len + BPF_RINGBUF_HDR_SZ + 7) & ~(size_t)7;
	return hdr;
}

static void setup_ring(struct fake_ring *f, uint64_t start)
{
	memset(f, 0, sizeof(*f));
	f->consumer = f->producer = start;
	ring__init(&f->r, &f->consumer, &f->producer, f->data, SIZE, take, f);
}

Test(ring, records_in_order_and_a_wrapped_one_whole)
{
	static struct fake_ring f;
	char big[60];

	setup_ring(&f, SIZE - 40); /* the second record's body crosses the end */
	memset(big, 'w', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[0] = 'A';
	big[sizeof(big) - 2] = 'Z';
	put(&f, "one", 0);
	put(&f, big, 0);
	put(&f, "three", 0);
	cr_assert_eq(ring__consume(&f.r), 3);
	cr_assert_str_eq(f.got[0], "one");
	cr_assert_str_eq(f.got[1], big, "the wrapped record is whole");
	cr_assert_str_eq(f.got[2], "three");
	cr_assert_eq(f.consumer, f.producer, "everything read is released");
	cr_assert_eq(ring__consume(&f.r), 0, "nothing new");
	ring__close(&f.r);
}

Test(ring, discarded_records_are_skipped)
{
	static struct fake_ring f;

	setup_ring(&f, 0);
	put(&f, "kept", 0);
	put(&f, "dropped", BPF_RINGBUF_DISCARD_BIT);
	put(&f, "also kept", 0);
	cr_assert_eq(ring__consume(&f.r), 2);
	cr_assert_str_eq(f.got[0], "kept");
	cr_assert_str_eq(f.got[1], "also kept");
	cr_assert_eq(f.consumer, f.producer);
}

Test(ring, a_record_being_written_stops_the_read_until_done)
{
	static struct fake_ring f;
	uint32_t *busy;

	setup_ring(&f, 40);
	put(&f, "before", 0);
	busy = put(&f, "pending", BPF_RINGBUF_BUSY_BIT);
	put(&f, "after", 0);
	cr_assert_eq(ring__consume(&f.r), 1);
	cr_assert_str_eq(f.got[0], "before");
	cr_assert_lt(f.consumer, f.producer, "the record being written is not released");
	cr_assert_eq(ring__used(&f.r), f.producer - f.consumer, "the fill level");
	*busy &= ~(uint32_t)BPF_RINGBUF_BUSY_BIT; /* committed */
	cr_assert_eq(ring__consume(&f.r), 2);
	cr_assert_str_eq(f.got[1], "pending");
	cr_assert_str_eq(f.got[2], "after");
	cr_assert_eq(f.consumer, f.producer);
}

Test(ring, a_refusing_callback_ends_the_read)
{
	static struct fake_ring f;
	uint64_t second;

	setup_ring(&f, 0);
	f.refuse_at = 2;
	put(&f, "a", 0);
	put(&f, "b", 0);
	second = f.producer;
	put(&f, "c", 0);
	cr_assert_eq(ring__consume(&f.r), -EIO);
	cr_assert_eq(f.consumer, second, "the refused record counts as read, the next does not");
	f.refuse_at = 0;
	cr_assert_eq(ring__consume(&f.r), 1);
	cr_assert_str_eq(f.got[2], "c");
}

Test(ring, many_laps)
{
	static struct fake_ring f;
	char body[40];
	int read = 0;

	setup_ring(&f, 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(body, sizeof(body), "record %d %.*s", i, i % 23,
			 "xxxxxxxxxxxxxxxxxxxxxxx");
		put(&f, body, 0);
		if (i % 3 == 2) {
			f.n_got = 0;
			read += ring__consume(&f.r);
			cr_assert_eq(f.n_got, 3);
			cr_assert_eq(strncmp(f.got[2], body, strlen(body)), 0, "%s", f.got[2]);
		}
	}
	cr_assert_eq(read, 1998);
	ring__close(&f.r);
}
