/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * config.h - vigil's configuration file (YAML): rule files, minimum priority,
 * alert outputs with their options, rate limits, the metrics endpoint. Every key
 * has a default, so an empty file is a valid configuration; deploy/vigil.yaml shows
 * them all. An unknown key or a bad value is an error naming file:line:col, the key
 * and what would be accepted.
 */
#ifndef VIGIL_CONFIG_H
#define VIGIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/options.h"

struct sink_desc;

/* One configured output: the keys every sink has, and the sink's own settings. */
struct config_output {
	const struct sink_desc *sink; /* which sink (output/sinks.c) */
	char *name;		      /* unique; the metrics' sink label */
	int min_priority;	      /* enum rule_priority: less severe alerts skip this sink */
	size_t queue_size;	      /* alerts held while the sink is busy */
	int line, col;		      /* where it was defined (1-based), 0 for defaults */
	void *settings;		      /* the sink's keys, laid out as its table says */
};

struct config_rate_rule {
	char *rule;   /* rule name */
	double rate;  /* alerts per second */
	double burst; /* bucket size */
};

struct config_rate_limit {
	bool enabled;			/* per-rule token buckets on */
	double rate;			/* default alerts per second per rule */
	double burst;			/* default bucket size */
	uint64_t summary_ns;		/* how often suppressions are summarised */
	struct config_rate_rule *rules; /* per-rule overrides */
	size_t n_rules;			/* entries in rules */
};

struct config_metrics {
	bool enabled;	   /* serve /metrics */
	char *listen;	   /* HOST:PORT */
	bool health;	   /* serve /healthz and /readyz too (same server) */
	uint64_t stall_ns; /* /healthz fails after the event loop stalls this long */
};

struct config_process_table {
	size_t max_entries; /* processes known at once, live and lately exited */
};

/* Facts the rules read that depend on a setting. */
struct config_detect {
	uint64_t new_exe_age_ns; /* proc.exe_new: an exe changed within this before its exec */
};

/* DNS answers kept for fd.sip.name and its kin (state/dnscache.h). */
struct config_dns {
	size_t answer_cache; /* addresses kept at once */
};

/* Where container metadata comes from (state/runtime.h). */
struct config_containers {
	bool metadata;		     /* ask the runtimes at all */
	char *host_root;	     /* prefix of the host's paths ("" on the host) */
	struct opt_list state_dirs;  /* runtime state roots; empty: the built-in list */
	struct opt_list api_sockets; /* Docker-compatible API sockets; empty: built-in */
	uint64_t api_timeout_ns;     /* deadline of one API request */
};

/* What rules with actions may do (respond/). */
struct config_actions {
	int mode;		      /* enum respond_mode: 1 enforce, 2 monitor */
	struct opt_list allow_exe;    /* exe paths (a trailing '/': a directory) never acted on */
	struct opt_list allow_cgroup; /* cgroup v2 paths never acted on */
	struct opt_list allow_container; /* container short ids never acted on */
	unsigned per_sec;		 /* most actions a rule takes a second (0: no limit) */
	uint64_t block_for_ns;		 /* a block's duration when its rule gives none */
	struct opt_list allow_cidr;	 /* addresses and prefixes never blocked */
	struct opt_list interfaces;    /* where blocks drop incoming traffic (XDP); empty: all up */
	char *pin_dir;		       /* bpffs directory for what outlives the agent; "": none */
	struct opt_list isolate_allow; /* what an isolated container may still reach */
	uint64_t quarantine_max_ns;    /* the dead-man timer: a quarantine lifts after it */
	struct opt_list quarantine_allow; /* what a quarantined node may still reach */
	char *quarantine_cgroup;	  /* whose sockets a quarantine cuts off; "": all */
};

/* Stateful rules (detect/stateful.h): the bound of each rule's table. */
struct config_rules_state {
	size_t max_entries; /* groups, partial sequences or pending aggregates per rule */
	size_t max_values;  /* distinct values a threshold alert lists */
};

struct config_rules {
	struct config_rules_state state; /* stateful rules */
};

/* Traffic monitoring (daemon/traffic.h): counters in XDP and at egress, detectors. */
struct config_traffic {
	bool enabled;		    /* count and detect */
	struct opt_list interfaces; /* XDP interfaces besides actions.interfaces' */
	uint64_t interval_ns;	    /* how often the counters are read */
	double syn_pps;		    /* SYN flood: opening SYNs a second to one port (0: off) */
	double udp_pps;		    /* UDP flood: packets a second to one port (0: off) */
	double source_pps;	    /* one source's packets a second (0: off) */
	unsigned scan_ports;	    /* a scan: distinct ports from one source (0: off) */
	uint64_t scan_window_ns;    /* ... within this */
	uint64_t realert_ns;	    /* one alert per detector and source (or port) per this */
	unsigned metrics_ports;	    /* ports with series of their own in /metrics */
	int response;		    /* 1 alert, 2 block the source */
	uint64_t block_for_ns;	    /* such a block's duration; 0: actions.block_for */
};

struct vigil_config {
	char *path;			     /* file read, NULL for defaults only */
	struct opt_list rules_files;	     /* rule files, loaded in order */
	int min_priority;		     /* enum rule_priority; RULE_PRIO_ANY (0) keeps all */
	char *hostname;			     /* reported host name, NULL: gethostname() */
	size_t queue_size;		     /* default per-sink queue */
	uint64_t drain_ns;		     /* shutdown: longest wait for queues to drain */
	struct config_output *outputs;	     /* alert sinks */
	size_t n_outputs;		     /* entries in outputs */
	struct config_rate_limit rate_limit; /* noisy-rule protection */
	struct config_metrics metrics;	     /* HTTP endpoint */
	struct config_process_table process_table; /* bound of the process table */
	struct config_actions actions;		   /* enforcement */
	struct config_containers containers;	   /* container metadata */
	struct config_traffic traffic;		   /* traffic counters and detectors */
	struct config_rules rules;		   /* stateful rules' bounds */
	char *control_socket;			   /* the control socket's path; "": none */
	struct config_dns dns;			   /* DNS answers kept */
	struct config_detect detect;		   /* settings of rule fields */
};

/* The configuration's keys (and the flags that set the same values). */
extern const struct opt config_options[];

/* Defaults alone: one stdout output, metrics on 127.0.0.1:9376. NULL with errno. */
struct vigil_config *config__new(void);
void config__free(struct vigil_config *c);

/*
 * Reads a YAML file over the defaults (a file with `outputs` replaces the default
 * list). On error returns -EINVAL (or -errno for I/O) and writes every problem, one
 * per line, as "file:line:col: message" into err.
 */
int config__load_file(struct vigil_config *c, const char *path, char *err, size_t errlen);
int config__load_buf(struct vigil_config *c, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen);

/* The keys of the file as Markdown tables, a section per sink (docs/OUTPUTS.md). */
void config__print_markdown(FILE *out);

#endif /* VIGIL_CONFIG_H */
