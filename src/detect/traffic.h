/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * traffic.h - what the traffic counters (events.h, vg_traffic_*) say once per
 * interval: rates per port and per source, the totals the metrics export (the busiest
 * ports, the rest summed), and the detectors on them — SYN flood and UDP flood to a
 * port, one source over a packet rate, one source touching many ports (a scan). Pure:
 * it is handed the summed counters and the time, and reads no map (daemon/traffic.c
 * does), so every decision here is testable without a kernel.
 */
#ifndef VIGIL_DETECT_TRAFFIC_H
#define VIGIL_DETECT_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

/* The detectors' thresholds (config: traffic.*). A threshold of 0 turns its detector off. */
struct traffic_thresholds {
	double syn_pps;		 /* SYN flood: opening SYNs a second to one port */
	double udp_pps;		 /* UDP flood: UDP packets a second to one port */
	double src_pps;		 /* one source's packets a second, all ports together */
	unsigned scan_ports;	 /* distinct ports one source reached within scan_window_ns */
	uint64_t scan_window_ns; /* the scan's window */
	uint64_t realert_ns;  /* one alert per flood and port, or detector and source, per this */
	size_t metrics_ports; /* ports with series of their own; the rest are "other" */
};

enum traffic_kind {
	TRAFFIC_SYN_FLOOD = 0, /* "SYN flood" */
	TRAFFIC_UDP_FLOOD,     /* "UDP flood" */
	TRAFFIC_SRC_RATE,      /* "Source packet rate" */
	TRAFFIC_SCAN,	       /* "Port scan" */
	TRAFFIC_KINDS,
};

/* One key of a counter table with its counts summed over the CPUs (last_ns: the latest). */
struct traffic_entry {
	struct vg_traffic_src_key key; /* traffic_ports: addr is zero */
	struct vg_traffic_val val;     /* cumulative since the key was made */
};

/* One key's rates over the last interval. */
struct traffic_rate {
	struct vg_traffic_src_key key; /* as in the entry */
	double pps, bps, syn_pps;      /* packets, bytes (L3), opening SYNs a second */
	uint64_t packets;	       /* cumulative */
	uint64_t last_ns;	       /* boot clock of its last packet */
};

/* One other end over all its ports, one direction. */
struct traffic_source {
	uint8_t addr[16];  /* IPv4 mapped */
	uint8_t dir;	   /* enum vg_traffic_dir */
	double pps, bps;   /* over the last interval */
	unsigned ports;	   /* distinct ports within the scan window */
	uint16_t top_port; /* its busiest port in the interval */
	uint8_t top_proto; /* that port's protocol */
};

/* What a detector found. */
struct traffic_finding {
	enum traffic_kind kind;
	uint8_t addr[16]; /* the source (flood: the port's busiest one); IPv4 mapped */
	bool has_addr;	  /* a flood with no source seen has none */
	uint16_t port;	  /* floods: the port; rate: the source's busiest port */
	uint8_t proto;	  /* IPPROTO_* of port */
	double pps;	  /* floods: the port's packets a second; else the source's */
	double syn_pps;	  /* SYN flood: opening SYNs a second */
	double src_pps;	  /* floods: the source's share, packets a second */
	unsigned ports;	  /* scan: distinct ports within the window */
};

/* One exported series: a port of a protocol in a direction, or its (dir, proto) rest. */
struct traffic_series {
	uint8_t dir, proto; /* enum vg_traffic_dir, IPPROTO_* */
	int port;	    /* -1: "other", every port without a series of its own */
	uint64_t packets;   /* cumulative, monotonic */
	uint64_t bytes;	    /* likewise */
	uint64_t syn;	    /* likewise */
};

struct traffic;

/* NULL with errno set. */
struct traffic *traffic__new(const struct traffic_thresholds *t);
void traffic__free(struct traffic *t);

/*
 * One reading of both tables (the arrays are reordered) at boot clock now_ns. Rates are
 * over the time since the last reading; the first reading only sets the baseline. The
 * detectors' findings, at most cap, go into out; returns how many (or -ENOMEM).
 */
int traffic__update(struct traffic *t, struct traffic_entry *ports, size_t n_ports,
		    struct traffic_entry *srcs, size_t n_srcs, uint64_t now_ns,
		    struct traffic_finding *out, size_t cap);

/* The last interval's port rates, busiest first (packets a second). */
size_t traffic__ports(const struct traffic *t, const struct traffic_rate **out);
/* The last interval's sources (both directions), busiest first. */
size_t traffic__sources(const struct traffic *t, const struct traffic_source **out);
/* The exported series: the busiest ports first seen, then one "other" per (dir, proto). */
size_t traffic__series(const struct traffic *t, const struct traffic_series **out);
/* Seconds the last interval lasted (0 before the second reading). */
double traffic__interval(const struct traffic *t);

/* "SYN flood", "UDP flood", "Source packet rate", "Port scan". */
const char *traffic_kind_name(enum traffic_kind k);
/* "tcp", "udp", "icmp", "icmpv6", else the number in buf. */
const char *traffic_proto_name(uint8_t proto, char *buf, size_t len);

#endif /* VIGIL_DETECT_TRAFFIC_H */
