/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pipeline.h - what happens to one kernel record, live or replayed: validate it,
 * keep the process table current, show it, run the rules on it, in the order that
 * lets each step see the process as it was when the event happened.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

struct detect;
struct dns_msg;
struct dnscache;
struct event;
struct proctable;

#define PIPELINE_TCP_PARTS   16		   /* DNS-over-TCP streams whose message is awaited */
#define PIPELINE_TCP_PART_NS 5000000000ull /* how long the first part waits for the rest */

/* The first part of a DNS message a TCP stream has not finished sending. */
struct pipeline_tcp_part {
	uint64_t cookie;		 /* the socket's; 0: free */
	uint64_t ts_ns;			 /* when the last part came */
	uint32_t answer;		 /* VG_DF_ANSWER of its records */
	uint32_t len;			 /* bytes held, the 2-byte length included */
	uint8_t buf[VG_DNS_MSG_MAX + 2]; /* the bytes so far */
};

struct pipeline {
	struct proctable *procs;		   /* the process table */
	struct detect *detect;			   /* the rules; NULL for none */
	const char *hostname;			   /* for alerts */
	int64_t boot_to_real_ns;		   /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	void (*show)(void *arg, struct event *ev); /* prints the event; NULL for none */
	void *arg;				   /* passed to show and on_action */
	/* the kernel's report on the next record of a thread (VG_EV_ACTION); NULL: ignored */
	void (*on_action)(void *arg, const struct vg_action *a);
	bool resolve; /* live: resolve names' directories now (event_resolve_dirs) */
	uint64_t received[VG_EV_TYPE_MAX]; /* valid records, per type */
	uint64_t invalid;		   /* records that failed validation */
	/* DNS: the answers kept for fd.sip.name and its kin (NULL: none kept) */
	struct dnscache *names;
	struct dns_msg *dns_buf; /* the message being handled (allocated at the first) */
	uint64_t dns_bad[5];	 /* DNS records whose message did not parse, by enum
				    dns_error (0: the buffer could not be allocated) */
	uint64_t dns_cut;	 /* DNS messages longer than the record holds, or whose
				    answers stopped early (the part before was used) */
	uint64_t dns_tcp_joined; /* TCP messages put together from several segments */
	struct pipeline_tcp_part *tcp_parts; /* PIPELINE_TCP_PARTS (allocated at the first) */
};

/* Frees what the pipeline allocated itself (not the table, rules or names). */
void pipeline_free(struct pipeline *p);

/* Decodes one record and handles it. Returns 0, or -EINVAL when it was not a
 * valid record (counted in invalid). */
int pipeline_record(struct pipeline *p, const void *data, size_t size);

/* Handles one record already decoded by event_decode (sets its time and process). */
int pipeline_event(struct pipeline *p, struct event *ev);

#endif /* VIGIL_PIPELINE_H */
