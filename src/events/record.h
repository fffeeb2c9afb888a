/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * record.h - recordings of the raw event stream (`vigil run --record FILE`) and
 * their replay (`vigil replay FILE`), for writing and testing rules offline and
 * without root. A recording starts with the processes vigil knew at start,
 * written as synthetic exec records, so the replayed process table matches.
 *
 * Format: the 16-byte header "VIGILREC" + u32 version + u32 record ABI size
 * check, an i64 offset from CLOCK_BOOTTIME to wall clock, then one entry per
 * record: u32 length, the record's bytes. Little-endian, host order.
 */
#ifndef VIGIL_RECORD_H
#define VIGIL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct proctable;

struct recorder;

/* Creates FILE and writes the header and the table's processes. NULL + errno. */
struct recorder *recorder__open(const char *path, struct proctable *procs, int64_t boot_to_real_ns);
/* Appends one raw record. 0 or -errno (the first error is kept and counted). */
int recorder__write(struct recorder *r, const void *rec, size_t size);
/* Flushes and closes; returns the first write error, 0 when all went to disk. */
int recorder__close(struct recorder *r);

struct replay_reader {
	FILE *f;		 /* the recording */
	int64_t boot_to_real_ns; /* from the header */
	uint8_t *buf;		 /* the current record */
	size_t cap;		 /* bytes allocated in buf */
	uint64_t offset;	 /* file offset of the current record, for errors */
};

/* Opens and checks the header; on error writes a message naming the file to err. */
int replay_reader__open(struct replay_reader *r, const char *path, char *err, size_t errlen);
/* The same over an open stream (taken over: closed on error and by close); name is for
 * messages. The fuzzer reads recordings from memory with it. */
int replay_reader__fopen(struct replay_reader *r, FILE *f, const char *name, char *err,
			 size_t errlen);
/* Next record: 1 with rec and size set, 0 at the end, -EINVAL on a torn record. */
int replay_reader__next(struct replay_reader *r, const void **rec, size_t *size);
void replay_reader__close(struct replay_reader *r);

#endif /* VIGIL_RECORD_H */
