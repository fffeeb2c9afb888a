/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sink.h - internals shared by the output sinks (not part of the public API, but
 * the unit tests use it): the immutable alert record every queue holds a reference
 * to, the bounded queue, the token bucket, the worker's view of a sink and each
 * sink's operations, and the pure formatters the sinks are built from.
 */
#ifndef VIGIL_OUTPUT_SINK_H
#define VIGIL_OUTPUT_SINK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "daemon/config.h"
#include "daemon/options.h"
#include "output/output.h"

struct metric;
struct metric_family;
struct curl_slist;

/*
 * The owned, immutable copy of a (one allocation) with every form filled in:
 * hostname fills a missing a->hostname, the text line is rendered when a leaves
 * it out, and the JSON object from the parts. The copy's output and message are
 * the text forms, escaped (util/text.h: control bytes as \xNN), so a file name
 * cannot start a line or a terminal escape in any text sink; the JSON keeps the
 * exact bytes, escaped by the JSON writer. NULL on ENOMEM.
 */
struct alert *alert__dup(const struct alert *a, const char *hostname);
struct alert *alert__get(struct alert *r);
void alert__put(struct alert *r);

/* ---- bounded FIFO of records; the owner locks ---- */

struct alert_queue {
	struct alert **items; /* ring of cap slots */
	size_t cap;	      /* slots */
	size_t head;	      /* oldest */
	size_t len;	      /* records held */
};

int alert_queue__init(struct alert_queue *q, size_t cap);
void alert_queue__fini(struct alert_queue *q); /* puts what is left */
/* Appends r; when full, the oldest record is removed and returned (caller puts it). */
struct alert *alert_queue__push(struct alert_queue *q, struct alert *r);
/* Moves up to max oldest records into out; returns how many. */
size_t alert_queue__pop(struct alert_queue *q, struct alert **out, size_t max);

/* ---- token bucket ---- */

struct token_bucket {
	double rate;	  /* tokens per second */
	double burst;	  /* capacity */
	double tokens;	  /* available now */
	uint64_t last_ns; /* when tokens was computed */
};

void token_bucket__init(struct token_bucket *tb, double rate, double burst, uint64_t now_ns);
/* Takes one token if there is one. */
bool token_bucket__take(struct token_bucket *tb, uint64_t now_ns);

/* ---- the worker's view of a sink ---- */

struct sink;
struct opt_ctx;

/*
 * A sink kind: its name, its own configuration keys with their checks, and its
 * operations. Every kind is one file with one of these, listed in sinks.c.
 */
struct sink_desc {
	const char *name;	    /* the `type:` value, the metrics' type label */
	const char *help;	    /* what it sends, for the docs */
	const struct opt *keys;	    /* its keys (name, priority, queue_size are common) */
	size_t settings_size;	    /* bytes of its settings, what keys describes */
	const char *const *reasons; /* failure reasons it reports (metric labels) */
	/* Checks across keys once its mapping is read; errors with opt_error_key. */
	void (*validate)(struct opt_ctx *x, void *settings);
	/* Opens what the sink needs; 0 or -errno with a message in err. */
	int (*init)(struct sink *s, char *err, size_t errlen);
	/* Delivers recs (oldest first); returns how many were delivered (records taken
	 * with sink__take included). Failures are reported with sink__failed. May sleep
	 * with sink__sleep. */
	size_t (*deliver)(struct sink *s, struct alert *const *recs, size_t n);
	/* Periodic work (Alertmanager re-sends); returns the next time it is due
	 * (CLOCK_MONOTONIC ns), 0 for never. NULL when the sink has none. */
	uint64_t (*tick)(struct sink *s, uint64_t now_ns);
	void (*fini)(struct sink *s);
	size_t batch_max; /* records per deliver call; init may set sink.batch_max */
	bool own_latency; /* deliver observes m.latency itself (exec: per program, as its
			     calls run programs back to back) */
};

/* Every sink kind, NULL-terminated (sinks.c), and lookup by name. */
extern const struct sink_desc *const sink_table[];
const struct sink_desc *sink_desc__find(const char *name);

/* ---- settings of the sinks, as their key tables lay them out ---- */

enum sink_format {
	SINK_FMT_AUTO = 0, /* text on a terminal, else JSON (syslog: text) */
	SINK_FMT_JSON = 1, /* the Falco-shaped alert object, one per line */
	SINK_FMT_TEXT = 2, /* Falco's text line: "<time>: <Priority> <message>" */
};

struct stdout_settings {
	int format; /* enum sink_format */
};

struct file_settings {
	char *path;	    /* the JSON lines file */
	uint64_t max_bytes; /* rotate before a write would pass this; 0: never */
	unsigned backups;   /* rotated files kept (path.1 newest) */
};

enum syslog_transport {
	SYSLOG_UDP = 1,	 /* one datagram per message */
	SYSLOG_TCP = 2,	 /* octet-counted framing (RFC 6587) */
	SYSLOG_UNIX = 3, /* local datagram socket, /dev/log by default */
};

struct syslog_settings {
	int transport;	     /* enum syslog_transport */
	char *host;	     /* udp/tcp: server */
	char *port;	     /* udp/tcp: port or service */
	char *socket;	     /* unix: socket path */
	int facility;	     /* 0..23 */
	char *app_name;	     /* APP-NAME */
	char *sd_id;	     /* structured data id */
	int format;	     /* enum sink_format: MSG (auto means text) */
	size_t max_message;  /* longest message sent (bytes) */
	uint64_t timeout_ns; /* one send */
};

struct tls_settings {
	char *ca_file;	 /* PEM bundle to verify the server with; NULL: system store */
	char *cert_file; /* client certificate (PEM), NULL for none */
	char *key_file;	 /* its private key (PEM) */
	bool insecure;	 /* skip server verification (testing only) */
};

/* What every HTTP sink takes (http_keys, sink_http.c). */
struct http_settings {
	char *url;		     /* endpoint (alertmanager: base URL) */
	struct opt_kv_list headers;  /* extra HTTP headers */
	struct tls_settings tls;     /* server and client certificates */
	uint64_t timeout_ns;	     /* one request, everything included */
	uint64_t connect_timeout_ns; /* connecting alone */
	unsigned retries;	     /* attempts after the first */
	uint64_t backoff_ns;	     /* first retry delay, doubled each time */
	uint64_t backoff_max_ns;     /* retry delay cap */
};

extern const struct opt http_keys[];
extern const char *const http_reasons[]; /* failure reasons of HTTP sinks */
/* Checks of http_keys; example is a URL for the message when url is missing. */
void http_validate(struct opt_ctx *x, const struct http_settings *h, const char *type,
		   const char *example);

struct webhook_settings {
	struct http_settings http; /* url, headers, tls, timeouts, retries */
	size_t batch;		   /* alerts per request (JSON array when > 1) */
};

struct alertmanager_settings {
	struct http_settings http; /* url, headers, tls, timeouts, retries */
	struct opt_kv_list labels; /* static labels added to every alert */
	uint64_t resend_ns;	   /* re-send period of firing alerts */
	uint64_t resolve_ns;	   /* an alert resolves this long after its last match */
	size_t max_active;	   /* firing alerts tracked */
};

struct exec_settings {
	char *program;	      /* absolute path of the program run for each alert */
	struct opt_list args; /* its arguments after argv[0] */
	struct opt_list env;  /* NAME=VALUE added to its clean environment */
	uint64_t timeout_ns;  /* one run; then its process group is killed */
	unsigned concurrency; /* programs running at once */
};

struct sink_metrics {
	struct metric *delivered;	 /* vigil_output_deliveries_total */
	struct metric *dropped_full;	 /* vigil_output_drops_total{reason="queue_full"} */
	struct metric *dropped_shutdown; /* vigil_output_drops_total{reason="shutdown"} */
	struct metric *queue_len;	 /* vigil_output_queue_length */
	struct metric *up;		 /* vigil_output_up */
	struct metric *latency;		 /* vigil_output_delivery_seconds */
	struct metric *retries;		 /* vigil_output_retries_total */
	struct metric_family *failures;	 /* vigil_output_failures_total{reason} */
	struct metric *active;		 /* vigil_alertmanager_active_alerts (alertmanager) */
};

struct sink {
	struct outputs *outs;		 /* owner */
	const struct config_output *cfg; /* its configuration */
	const struct sink_desc *desc;	 /* kind */
	void *priv;			 /* the kind's state */
	size_t batch_max;		 /* records per deliver call; 0: desc->batch_max */
	pthread_t thread;		 /* worker */
	bool opened;			 /* ops->init succeeded */
	bool started;			 /* thread exists */
	pthread_mutex_t lock;		 /* queue, stopping */
	pthread_cond_t cond;		 /* work, stop, abort */
	struct alert_queue q;		 /* pending records */
	bool stopping;			 /* drain then exit */
	atomic_bool abort;		 /* give up now (deadline passed) */
	atomic_bool exited;		 /* worker returned */
	struct sink_metrics m;		 /* handles, NULL without metrics */
	_Atomic uint64_t delivered;	 /* totals for outputs__stats */
	_Atomic uint64_t failed;	 /* ... */
	_Atomic uint64_t dropped;	 /* ... */
	atomic_bool up;			 /* last attempt worked */
	uint64_t down_since;		 /* failures in a row, for the log */
	uint64_t last_log_ns;		 /* last failure log line, CLOCK_MONOTONIC */
};

/* Counts n failed alerts under reason (a metric label) and logs msg (rate-limited). */
void sink__failed(struct sink *s, size_t n, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A line on stderr naming the sink: "vigil: output NAME (TYPE): ...". */
void sink__log(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records that a delivery attempt worked (logs the recovery after failures). */
void sink__ok(struct sink *s);
/* Sleeps up to ns; false when the sink is aborting (the caller gives up). */
bool sink__sleep(struct sink *s, uint64_t ns);
/*
 * For a sink that keeps several deliveries in flight (exec): moves up to max more
 * queued records into out while its deliver runs. They are the caller's: it puts
 * them, and counts each as delivered (in deliver's return value) or failed
 * (sink__failed); what it does neither with is counted as dropped at shutdown.
 * 0 once the sink is aborting.
 */
size_t sink__take(struct sink *s, struct alert **out, size_t max);
bool sink__aborting(struct sink *s);
/* A gauge labelled with the sink (NULL without metrics), e.g. active alerts. */
struct metric *sink__gauge(struct sink *s, const char *name, const char *help);
uint64_t sink__now(void); /* CLOCK_MONOTONIC ns */

/* ---- formatters and helpers shared by sinks and tests ---- */

/* RFC 3339 UTC with digits (0..9) fraction digits into buf (>= 40 bytes). */
void output_format_time(uint64_t ns, int digits, char *buf, size_t len);

struct syslog_opts {
	int facility;	      /* 0..23 */
	const char *app_name; /* APP-NAME */
	const char *sd_id;    /* SD-ID of the structured data element */
	int procid;	      /* PROCID */
	bool json;	      /* MSG is the alert JSON, else the text line */
	size_t max_message;   /* bytes, header included */
};

/* RFC 5424 severity of a vigil priority (1..8 -> 0..7). */
int syslog_severity(int priority);
/*
 * One RFC 5424 message for r into buf (cap bytes, NUL-terminated); returns its
 * length (<= opts->max_message, truncated at a UTF-8 boundary in MSG). Structured
 * data: rule, priority, source tags, container_id and the key fields, escaped.
 */
size_t syslog_format(const struct syslog_opts *o, const struct alert *r, char *buf, size_t cap);

/* Label set of r as a JSON object text (sorted by label name), static labels merged. */
char *am_labels_json(const struct alert *r, const struct opt_kv_list *extra);

/* Annotations of r as a JSON object text: summary (message), description (text line). */
char *am_annotations_json(const struct alert *r);

/* ---- HTTP client shared by the webhook and Alertmanager sinks (libcurl) ---- */

struct http_client {
	struct sink *s;			 /* owner, for its counters */
	const struct http_settings *cfg; /* url, timeouts, retries */
	void *curl;			 /* CURL easy handle, kept for connection reuse */
	struct curl_slist *headers;	 /* Content-Type, User-Agent and configured ones */
	char errbuf[256];		 /* libcurl's message for the last failure */
	char resp[256];			 /* start of the last response body */
	size_t resp_len;		 /* bytes in resp */
};

int http_client__init(struct http_client *h, struct sink *s, const struct http_settings *c,
		      char *err, size_t errlen);
void http_client__fini(struct http_client *h);
/*
 * POSTs body to url, retrying timeouts, connection errors, 408, 429 and 5xx with
 * exponential backoff up to the configured retries. Returns true on a 2xx answer;
 * otherwise the n_alerts it carried are counted as failed, unless the sink is
 * aborting at the shutdown deadline.
 */
bool http_client__post(struct http_client *h, const char *url, const char *body, size_t len,
		       size_t n_alerts);

/* Delay before retry k (0-based): backoff * 2^k, capped. */
uint64_t output_backoff_ns(uint64_t base_ns, uint64_t max_ns, unsigned k);

#endif /* VIGIL_OUTPUT_SINK_H */
