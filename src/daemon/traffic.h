/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * traffic.h - traffic monitoring in the agent: switches the kernel's counters on
 * (bpf/core/traffic.bpf.h, counted by the block programs, which it keeps attached
 * through netblock__hold), reads them once per interval, hands them to the detectors
 * (detect/traffic.h), raises their alerts through the outputs with the block they
 * took, serves `vigil top` (the control socket's `traffic`) and the per-port series
 * of /metrics.
 */
#ifndef VIGIL_DAEMON_TRAFFIC_H
#define VIGIL_DAEMON_TRAFFIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detect/traffic.h"

struct json_buf;
struct metric_family;
struct metrics;
struct metrics_writer;
struct netblock;
struct outputs;

struct traffic_mon_opts {
	int cfg_fd, ports_fd, srcs_fd, stats_fd; /* traffic_cfg, traffic_ports, traffic_srcs,
						    traffic_stats */
	struct netblock *blocks;		 /* the programs' attachments (required) */
	struct traffic_thresholds th;		 /* the detectors */
	bool block;				 /* detectors block the source they name */
	bool monitor;				 /* actions.mode monitor: say, do not block */
	uint64_t block_for_ns;			 /* how long such a block holds */
	struct outputs *outputs;		 /* where the alerts go */
	const char *hostname;			 /* for the alerts */
	struct metric_family *actions_total;	 /* vigil_actions_total; NULL: none */
};

struct traffic_mon;

/* Switches counting on and attaches the programs. NULL with a message in err. */
struct traffic_mon *traffic_mon__new(const struct traffic_mon_opts *o, char *err, size_t errlen);
/* Switches counting off and lets the programs go with the last block. */
void traffic_mon__free(struct traffic_mon *m);
/* One reading: rates, detectors, alerts, responses. Call once per interval. */
void traffic_mon__tick(struct traffic_mon *m);
/* `vigil top`'s data: the n busiest ports and sources, as members of an open object. */
int traffic_mon__json(struct traffic_mon *m, size_t n, struct json_buf *j);
/* The per-port series (a metrics collector; takes the lock the tick holds). */
void traffic_mon__collect(struct metrics_writer *w, void *arg);

#endif /* VIGIL_DAEMON_TRAFFIC_H */
