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

enum config_output_type {
	CONFIG_OUT_STDOUT = 1,
	CONFIG_OUT_FILE = 2,
	CONFIG_OUT_SYSLOG = 3,
	CONFIG_OUT_WEBHOOK = 4,
	CONFIG_OUT_ALERTMANAGER = 5,
};

enum config_format {
	CONFIG_FMT_AUTO = 0, /* text on a terminal, else JSON */
	CONFIG_FMT_JSON = 1, /* the Falco-shaped alert object, one per line */
	CONFIG_FMT_TEXT = 2, /* Falco's text line: "<time>: <Priority> <message>" */
};

enum config_syslog_transport {
	CONFIG_SYSLOG_UDP = 1,	/* one datagram per message */
	CONFIG_SYSLOG_TCP = 2,	/* octet-counted framing (RFC 6587) */
	CONFIG_SYSLOG_UNIX = 3, /* local datagram socket, /dev/log by default */
};

struct config_kv {
	char *key;   /* header or label name */
	char *value; /* its value */
};

struct config_tls {
	char *ca_file;	 /* PEM bundle to verify the server with; NULL: system store */
	char *cert_file; /* client certificate (PEM), NULL for none */
	char *key_file;	 /* its private key (PEM) */
	bool insecure;	 /* skip server verification (testing only) */
};

struct config_output {
	enum config_output_type type; /* which sink */
	char *name;		      /* unique; the metrics' sink label */
	int min_priority;	      /* enum rule_priority: less severe alerts skip this sink */
	size_t queue_size;	      /* alerts held while the sink is busy */
	int line, col;		      /* where it was defined (1-based), 0 for defaults */

	enum config_format format; /* stdout; syslog's MSG (auto means text there) */

	char *path;	    /* file: the JSON lines file */
	uint64_t max_bytes; /* file: rotate before a write would pass this; 0: never */
	unsigned backups;   /* file: rotated files kept (path.1 newest) */

	enum config_syslog_transport transport; /* syslog */
	char *host;				/* syslog udp/tcp: server */
	char *port;				/* syslog udp/tcp: port or service */
	char *socket;				/* syslog unix: socket path */
	int facility;				/* syslog: 0..23 */
	char *app_name;				/* syslog: APP-NAME */
	char *sd_id;				/* syslog: structured data id */
	size_t max_message;			/* syslog: longest message sent (bytes) */

	char *url;		     /* webhook, alertmanager: endpoint (alertmanager: base URL) */
	struct config_kv *headers;   /* webhook, alertmanager: extra HTTP headers */
	size_t n_headers;	     /* entries in headers */
	struct config_tls tls;	     /* webhook, alertmanager */
	uint64_t timeout_ns;	     /* one request, everything included; syslog: send */
	uint64_t connect_timeout_ns; /* connecting alone */
	unsigned retries;	     /* webhook: attempts after the first */
	uint64_t backoff_ns;	     /* webhook: first retry delay, doubled each time */
	uint64_t backoff_max_ns;     /* webhook: retry delay cap */
	size_t batch_max;	     /* webhook: alerts per request (JSON array when > 1) */

	struct config_kv *labels; /* alertmanager: static labels added to every alert */
	size_t n_labels;	  /* entries in labels */
	uint64_t resend_ns;	  /* alertmanager: re-send period of firing alerts */
	uint64_t resolve_ns; /* alertmanager: an alert resolves this long after its last match */
	size_t max_active;   /* alertmanager: firing alerts tracked */
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

struct vigil_config {
	char *path;			     /* file read, NULL for defaults only */
	char **rules_files;		     /* rule files, loaded in order */
	size_t n_rules_files;		     /* entries in rules_files */
	int min_priority;		     /* enum rule_priority; RULE_PRIO_ANY (0) keeps all */
	char *hostname;			     /* reported host name, NULL: gethostname() */
	size_t queue_size;		     /* default per-sink queue */
	uint64_t drain_ns;		     /* shutdown: longest wait for queues to drain */
	struct config_output *outputs;	     /* alert sinks */
	size_t n_outputs;		     /* entries in outputs */
	struct config_rate_limit rate_limit; /* noisy-rule protection */
	struct config_metrics metrics;	     /* HTTP endpoint */
};

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

/* "stdout", "file", ... */
const char *config_output_type__name(enum config_output_type t);

/* Parsers shared with the command line. Each returns 0 or -EINVAL. */
int config__parse_duration(const char *s, uint64_t *ns); /* "1.5s", "250ms", "2m", "1h", "30" (s) */
int config__parse_size(const char *s, uint64_t *bytes);	 /* "4096", "512K", "100M", "1G" */

#endif /* VIGIL_CONFIG_H */
