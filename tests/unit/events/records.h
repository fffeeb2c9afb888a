/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * records.h - shared by the event unit tests: a file record built by hand as the
 * sensors build one, and a record decoded and rendered as JSON or as text.
 * Header-only (static functions) because all unit tests link into one binary.
 */
#ifndef VIGIL_TEST_EVENTS_RECORDS_H
#define VIGIL_TEST_EVENTS_RECORDS_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "util/json.h"

/* A file record and room for its strings. */
struct frec {
	union {
		struct vg_file f;
		char buf[4096];
	};
	size_t off; /* next free byte */
};

static inline void frec_init(struct frec *r, uint16_t type, uint16_t sys, int64_t ret)
{
	memset(r, 0, sizeof(*r));
	r->f.hdr.type = type;
	r->f.hdr.pid = 9;
	r->f.syscall = sys;
	r->f.ret = ret;
	r->f.fd = -1;
	r->f.dirfd = -100;
	r->off = sizeof(struct vg_file);
	r->f.hdr.size = r->off;
}

/* Appends bytes (NUL-terminated) as the string s of the record. */
static inline void frec_str(struct frec *r, struct vg_str *s, const char *bytes)
{
	size_t n = strlen(bytes);

	s->off = r->off;
	s->len = n;
	memcpy(r->buf + r->off, bytes, n + 1);
	r->off += n + 1;
	r->f.hdr.size = r->off;
}

/* The record in buf[0..len) decoded and rendered as JSON into j; returns j's text. */
static inline char *record_json(const char *buf, size_t len, struct json_buf *j)
{
	struct event ev;

	cr_assert_eq(event_decode(&ev, buf, len), 0);
	json_init(j);
	event_to_json(&ev, NULL, 0, false, j);
	cr_assert_eq(j->err, 0);
	return j->buf;
}

/* Checks the words text() writes for the record in buf[0..len). */
static inline void record_text_is(const char *buf, size_t len,
				  void (*text)(FILE *f, const struct event *ev), const char *want)
{
	struct event ev;
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	cr_assert_eq(event_decode(&ev, buf, len), 0);
	cr_assert_not_null(f);
	text(f, &ev);
	fclose(f);
	cr_assert_str_eq(out, want);
	free(out);
}

#endif /* VIGIL_TEST_EVENTS_RECORDS_H */
