// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * config.c - reads vigil's YAML configuration with libyaml's document API, so every
 * node keeps its place in the file for error messages. Parsing goes on after an
 * error, so one run reports every problem; each message says what would be
 * accepted. Checks that involve several keys run once the file is read.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "metrics.h"
#include "rules/engine.h"

#define NSEC 1000000000ull

struct cfg_ctx {
	struct vigil_config *c; /* being filled */
	const char *name;	/* file name for messages */
	yaml_document_t *doc;	/* parsed document */
	char *err;		/* messages, one per line */
	size_t errlen;		/* its size */
	size_t used;		/* bytes written into err */
	int errors;		/* problems found */
};

static void __attribute__((format(printf, 3, 4)))
cfg_error(struct cfg_ctx *x, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int k;

	x->errors++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!x->err || x->used + 1 >= x->errlen)
		return;
	k = snprintf(x->err + x->used, x->errlen - x->used, "%s%s:%zu:%zu: %s", x->used ? "\n" : "",
		     x->name, n ? n->start_mark.line + 1 : 0, n ? n->start_mark.column + 1 : 0,
		     msg);
	if (k > 0)
		x->used = (size_t)k >= x->errlen - x->used ? x->errlen - 1 : x->used + k;
}

/* ---- values ---- */

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *s = scalar(n);

	if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	       !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a scalar";
	}
}

static const char *want_scalar(struct cfg_ctx *x, const yaml_node_t *n, const char *key,
			       const char *what)
{
	const char *s = scalar(n);

	if (!s)
		cfg_error(x, n, "%s: expected %s, found %s", key, what, node_kind(n));
	return s;
}

static void set_str(struct cfg_ctx *x, const yaml_node_t *n, const char *key, char **out)
{
	const char *s;
	char *dup;

	if (is_null(n))
		return;
	s = want_scalar(x, n, key, "a string");
	if (!s)
		return;
	dup = strdup(s);
	if (!dup) {
		cfg_error(x, n, "%s: out of memory", key);
		return;
	}
	free(*out);
	*out = dup;
}

static void set_bool(struct cfg_ctx *x, const yaml_node_t *n, const char *key, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On"};
	static const char *const no[] = {"false", "no", "off", "False", "FALSE", "No", "Off"};
	const char *s = want_scalar(x, n, key, "true or false");

	if (!s)
		return;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return;
		}
	}
	cfg_error(x, n, "%s: '%s' is not a boolean; use true or false", key, s);
}

static void set_uint(struct cfg_ctx *x, const yaml_node_t *n, const char *key, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	const char *s = want_scalar(x, n, key, "a whole number");
	unsigned long long v;
	char *end;

	if (!s)
		return;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max) {
		cfg_error(x, n, "%s: '%s' is not a whole number from %llu to %llu", key, s,
			  (unsigned long long)min, (unsigned long long)max);
		return;
	}
	*out = v;
}

static void set_size_t(struct cfg_ctx *x, const yaml_node_t *n, const char *key, uint64_t min,
		       uint64_t max, size_t *out)
{
	uint64_t v = *out;

	set_uint(x, n, key, min, max, &v);
	*out = v;
}

static void set_double(struct cfg_ctx *x, const yaml_node_t *n, const char *key, double min,
		       double *out)
{
	const char *s = want_scalar(x, n, key, "a number");
	char *end;
	double v;

	if (!s)
		return;
	v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < min) {
		cfg_error(x, n, "%s: '%s' is not a number of at least %g", key, s, min);
		return;
	}
	*out = v;
}

int config__parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double scale;
	} units[] = {{"ns", 1},	      {"us", 1e3},	 {"ms", 1e6}, {"s", 1e9},
		     {"m", 60 * 1e9}, {"h", 3600 * 1e9}, {"", 1e9}};
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v * units[i].scale > 1e18)
			return -EINVAL;
		*ns = (uint64_t)llround(v * units[i].scale);
		return 0;
	}
	return -EINVAL;
}

int config__parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	}
	if (shift) {
		end++;
		if (!strcmp(end, "iB") || !strcmp(end, "B"))
			end += strlen(end);
	} else if (!strcmp(end, "B")) {
		end++;
	}
	if (*end || v > (~0ull >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

static void set_duration(struct cfg_ctx *x, const yaml_node_t *n, const char *key, uint64_t *out)
{
	const char *s = want_scalar(x, n, key, "a duration");

	if (s && config__parse_duration(s, out))
		cfg_error(x, n, "%s: '%s' is not a duration; use e.g. 500ms, 5s, 2m or 1h", key, s);
}

static void set_bytes(struct cfg_ctx *x, const yaml_node_t *n, const char *key, uint64_t *out)
{
	const char *s = want_scalar(x, n, key, "a size");

	if (s && config__parse_size(s, out))
		cfg_error(x, n, "%s: '%s' is not a size; use e.g. 4096, 512K, 100M or 1G", key, s);
}

static void set_priority(struct cfg_ctx *x, const yaml_node_t *n, const char *key, int *out)
{
	const char *s = want_scalar(x, n, key, "a priority");
	enum rule_priority p;

	if (!s)
		return;
	if (rule_priority__parse(s, &p)) {
		cfg_error(x, n,
			  "%s: unknown priority '%s'; use emergency, alert, critical, error, "
			  "warning, notice, informational or debug",
			  key, s);
		return;
	}
	*out = p;
}

/* A scalar from a fixed list of words; returns its index or -1 after an error. */
static int pick(struct cfg_ctx *x, const yaml_node_t *n, const char *key, const char *const *words,
		const char *expected)
{
	const char *s = want_scalar(x, n, key, expected);

	if (!s)
		return -1;
	for (int i = 0; words[i]; i++)
		if (!strcasecmp(s, words[i]))
			return i;
	cfg_error(x, n, "%s: unknown value '%s'; use %s", key, s, expected);
	return -1;
}

/* ---- mappings ---- */

typedef void (*cfg_key_fn)(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k,
			   yaml_node_t *v);

/* Calls fn for each key of mapping n, rejecting non-scalar and duplicate keys. */
static void each_pair(struct cfg_ctx *x, yaml_node_t *n, const char *what, void *obj, cfg_key_fn fn)
{
	yaml_node_pair_t *p, *q;

	if (n->type != YAML_MAPPING_NODE) {
		if (!is_null(n))
			cfg_error(x, n, "%s: expected a mapping of keys to values, found %s", what,
				  node_kind(n));
		return;
	}
	for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		const char *key = scalar(k);
		bool dup = false;

		if (!key) {
			cfg_error(x, k, "%s: keys must be plain words, found %s", what,
				  node_kind(k));
			continue;
		}
		for (q = n->data.mapping.pairs.start; q < p && !dup; q++)
			dup = !strcmp(key, scalar(yaml_document_get_node(x->doc, q->key)) ?: "");
		if (dup) {
			cfg_error(x, k, "%s: key '%s' is given twice; keep one", what, key);
			continue;
		}
		fn(x, obj, key, k, v);
	}
}

static void unknown_key(struct cfg_ctx *x, yaml_node_t *k, const char *where, const char *key,
			const char *known)
{
	cfg_error(x, k, "unknown key '%s' in %s; known keys: %s", key, where, known);
}

/* A mapping of strings into kv pairs (headers, labels). */
struct kv_list {
	struct config_kv **items; /* array being grown */
	size_t *n;		  /* its length */
	const char *what;	  /* "headers" or "labels" */
};

static void kv_pair(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct kv_list *l = obj;
	struct config_kv *items;
	const char *val = want_scalar(x, v, key, "a string");

	if (!val)
		return;
	if (!strcmp(l->what, "labels")) {
		bool ok = isalpha((unsigned char)key[0]) || key[0] == '_';

		for (const char *p = key; *p && ok; p++)
			ok = isalnum((unsigned char)*p) || *p == '_';
		if (!ok) {
			cfg_error(x, k,
				  "label name '%s' is not valid for Alertmanager; use letters, "
				  "digits and _, not starting with a digit",
				  key);
			return;
		}
	} else if (strpbrk(key, ": \t\r\n") || strpbrk(val, "\r\n")) {
		cfg_error(x, k, "header '%s' may not hold ':', spaces or line breaks", key);
		return;
	}
	items = realloc(*l->items, (*l->n + 1) * sizeof(*items));
	if (!items) {
		cfg_error(x, k, "out of memory");
		return;
	}
	*l->items = items;
	items[*l->n].key = strdup(key);
	items[*l->n].value = strdup(val);
	if (!items[*l->n].key || !items[*l->n].value) {
		free(items[*l->n].key);
		free(items[*l->n].value);
		cfg_error(x, k, "out of memory");
		return;
	}
	(*l->n)++;
}

/* ---- outputs ---- */

static const char *const type_names[] = {
    [CONFIG_OUT_STDOUT] = "stdout",
    [CONFIG_OUT_FILE] = "file",
    [CONFIG_OUT_SYSLOG] = "syslog",
    [CONFIG_OUT_WEBHOOK] = "webhook",
    [CONFIG_OUT_ALERTMANAGER] = "alertmanager",
};

const char *config_output_type__name(enum config_output_type t)
{
	return t >= CONFIG_OUT_STDOUT && t <= CONFIG_OUT_ALERTMANAGER ? type_names[t] : "unknown";
}

static const char *const facility_names[] = {
    "kern",   "user",	  "mail",   "daemon", "auth",	"syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",	"alert",  "clock", "local0", "local1",
    "local2", "local3",	  "local4", "local5", "local6", "local7", NULL,
};

static void output_defaults(struct config_output *o, enum config_output_type type,
			    size_t queue_size)
{
	memset(o, 0, sizeof(*o));
	o->type = type;
	o->queue_size = queue_size;
	o->format = CONFIG_FMT_AUTO;
	o->max_bytes = 100ull << 20;
	o->backups = 5;
	o->transport = CONFIG_SYSLOG_UNIX;
	o->facility = 1; /* user, as syslog(3) uses by default */
	o->max_message = 8192;
	o->timeout_ns = 5 * NSEC;
	o->connect_timeout_ns = 2 * NSEC;
	o->retries = 3;
	o->backoff_ns = NSEC / 2;
	o->backoff_max_ns = 30 * NSEC;
	o->batch_max = 1;
	o->resend_ns = 60 * NSEC;
	o->resolve_ns = 5 * 60 * NSEC;
	o->max_active = 10000;
}

static bool output_str_defaults(struct config_output *o)
{
	o->app_name = strdup("vigil");
	o->sd_id = strdup("vigil@32473"); /* 32473: the example enterprise number of RFC 5612 */
	o->socket = strdup("/dev/log");
	o->host = strdup("127.0.0.1");
	o->port = strdup("514");
	return o->app_name && o->sd_id && o->socket && o->host && o->port;
}

static void output_free(struct config_output *o)
{
	free(o->name);
	free(o->path);
	free(o->host);
	free(o->port);
	free(o->socket);
	free(o->app_name);
	free(o->sd_id);
	free(o->url);
	for (size_t i = 0; i < o->n_headers; i++) {
		free(o->headers[i].key);
		free(o->headers[i].value);
	}
	free(o->headers);
	for (size_t i = 0; i < o->n_labels; i++) {
		free(o->labels[i].key);
		free(o->labels[i].value);
	}
	free(o->labels);
	free(o->tls.ca_file);
	free(o->tls.cert_file);
	free(o->tls.key_file);
}

static void tls_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct config_tls *t = obj;

	if (!strcmp(key, "ca_file"))
		set_str(x, v, "tls.ca_file", &t->ca_file);
	else if (!strcmp(key, "cert_file"))
		set_str(x, v, "tls.cert_file", &t->cert_file);
	else if (!strcmp(key, "key_file"))
		set_str(x, v, "tls.key_file", &t->key_file);
	else if (!strcmp(key, "insecure"))
		set_bool(x, v, "tls.insecure", &t->insecure);
	else
		unknown_key(x, k, "tls", key, "ca_file, cert_file, key_file, insecure");
}

/* "host:port" or "[v6]:port" into o->host and o->port. */
static void set_address(struct cfg_ctx *x, yaml_node_t *v, struct config_output *o)
{
	const char *s = want_scalar(x, v, "address", "HOST:PORT");
	const char *colon, *host;
	size_t hlen;

	if (!s)
		return;
	colon = strrchr(s, ':');
	if (!colon || colon == s || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		goto bad;
	host = s;
	hlen = colon - s;
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			goto bad;
		host++;
		hlen -= 2;
	}
	free(o->host);
	free(o->port);
	o->host = strndup(host, hlen);
	o->port = strdup(colon + 1);
	if (!o->host || !o->port)
		cfg_error(x, v, "address: out of memory");
	return;
bad:
	cfg_error(x, v, "address: '%s' is not HOST:PORT (e.g. 127.0.0.1:514 or [::1]:514)", s);
}

static const char *const common_keys = "type, name, priority, queue_size";

static const char *output_keys(enum config_output_type t)
{
	switch (t) {
	case CONFIG_OUT_STDOUT:
		return "format";
	case CONFIG_OUT_FILE:
		return "path, max_size, backups";
	case CONFIG_OUT_SYSLOG:
		return "transport, address, socket, facility, app_name, sd_id, format, "
		       "max_message, timeout";
	case CONFIG_OUT_WEBHOOK:
		return "url, headers, tls, timeout, connect_timeout, retries, backoff, "
		       "max_backoff, "
		       "batch";
	case CONFIG_OUT_ALERTMANAGER:
		return "url, labels, headers, tls, timeout, connect_timeout, retries, backoff, "
		       "max_backoff, resend_interval, resolve_after, max_active";
	}
	return "";
}

static bool http_type(enum config_output_type t)
{
	return t == CONFIG_OUT_WEBHOOK || t == CONFIG_OUT_ALERTMANAGER;
}

/* Keys every HTTP sink takes; false when key is not one of them. */
static bool http_key(struct cfg_ctx *x, struct config_output *o, const char *key, yaml_node_t *v)
{
	if (!strcmp(key, "url")) {
		set_str(x, v, key, &o->url);
	} else if (!strcmp(key, "headers")) {
		struct kv_list l = {&o->headers, &o->n_headers, "headers"};

		each_pair(x, v, "headers", &l, kv_pair);
	} else if (!strcmp(key, "tls")) {
		each_pair(x, v, "tls", &o->tls, tls_key);
	} else if (!strcmp(key, "connect_timeout")) {
		set_duration(x, v, key, &o->connect_timeout_ns);
	} else if (!strcmp(key, "retries")) {
		uint64_t r = o->retries;

		set_uint(x, v, key, 0, 100, &r);
		o->retries = r;
	} else if (!strcmp(key, "backoff")) {
		set_duration(x, v, key, &o->backoff_ns);
	} else if (!strcmp(key, "max_backoff")) {
		set_duration(x, v, key, &o->backoff_max_ns);
	} else {
		return false;
	}
	return true;
}

static bool type_key(struct cfg_ctx *x, struct config_output *o, const char *key, yaml_node_t *v)
{
	static const char *const formats[] = {"auto", "json", "text", NULL};
	static const char *const transports[] = {"udp", "tcp", "unix", NULL};
	int i;

	if (!strcmp(key, "timeout") && (http_type(o->type) || o->type == CONFIG_OUT_SYSLOG)) {
		set_duration(x, v, key, &o->timeout_ns);
		return true;
	}
	if (http_type(o->type) && http_key(x, o, key, v))
		return true;
	switch (o->type) {
	case CONFIG_OUT_STDOUT:
		if (strcmp(key, "format"))
			return false;
		if ((i = pick(x, v, key, formats, "auto, json or text")) >= 0)
			o->format = i;
		return true;
	case CONFIG_OUT_FILE:
		if (!strcmp(key, "path"))
			set_str(x, v, key, &o->path);
		else if (!strcmp(key, "max_size"))
			set_bytes(x, v, key, &o->max_bytes);
		else if (!strcmp(key, "backups")) {
			uint64_t b = o->backups;

			set_uint(x, v, key, 0, 1000, &b);
			o->backups = b;
		} else
			return false;
		return true;
	case CONFIG_OUT_SYSLOG:
		if (!strcmp(key, "transport")) {
			if ((i = pick(x, v, key, transports, "udp, tcp or unix")) >= 0)
				o->transport = i + 1;
		} else if (!strcmp(key, "address")) {
			set_address(x, v, o);
		} else if (!strcmp(key, "socket")) {
			set_str(x, v, key, &o->socket);
		} else if (!strcmp(key, "facility")) {
			if ((i = pick(x, v, key, facility_names,
				      "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, "
				      "cron, authpriv, ftp, ntp, audit, alert, clock or "
				      "local0..local7")) >= 0)
				o->facility = i;
		} else if (!strcmp(key, "app_name")) {
			set_str(x, v, key, &o->app_name);
		} else if (!strcmp(key, "sd_id")) {
			set_str(x, v, key, &o->sd_id);
		} else if (!strcmp(key, "format")) {
			if ((i = pick(x, v, key, formats, "text or json")) >= 0)
				o->format = i;
		} else if (!strcmp(key, "max_message")) {
			uint64_t b = o->max_message;

			set_bytes(x, v, key, &b);
			if (b < 480 || b > 65000)
				cfg_error(x, v, "max_message: use 480 to 65000 bytes");
			else
				o->max_message = b;
		} else {
			return false;
		}
		return true;
	case CONFIG_OUT_WEBHOOK:
		if (strcmp(key, "batch"))
			return false;
		set_size_t(x, v, key, 1, 10000, &o->batch_max);
		return true;
	case CONFIG_OUT_ALERTMANAGER:
		if (!strcmp(key, "labels")) {
			struct kv_list l = {&o->labels, &o->n_labels, "labels"};

			each_pair(x, v, "labels", &l, kv_pair);
		} else if (!strcmp(key, "resend_interval")) {
			set_duration(x, v, key, &o->resend_ns);
		} else if (!strcmp(key, "resolve_after")) {
			set_duration(x, v, key, &o->resolve_ns);
		} else if (!strcmp(key, "max_active")) {
			set_size_t(x, v, key, 1, 1000000, &o->max_active);
		} else {
			return false;
		}
		return true;
	}
	return false;
}

static void output_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	struct config_output *o = obj;
	char where[64];

	if (!strcmp(key, "type"))
		return; /* read first, by parse_output */
	if (!strcmp(key, "name")) {
		set_str(x, v, key, &o->name);
	} else if (!strcmp(key, "priority")) {
		set_priority(x, v, key, &o->min_priority);
	} else if (!strcmp(key, "queue_size")) {
		set_size_t(x, v, key, 1, 1 << 24, &o->queue_size);
	} else if (!type_key(x, o, key, v)) {
		char known[512];

		snprintf(where, sizeof(where), "a %s output", config_output_type__name(o->type));
		snprintf(known, sizeof(known), "%s, %s", common_keys, output_keys(o->type));
		unknown_key(x, k, where, key, known);
	}
}

static yaml_node_t *map_get(struct cfg_ctx *x, yaml_node_t *n, const char *key)
{
	if (n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(x->doc, p->key));

		if (k && !strcmp(k, key))
			return yaml_document_get_node(x->doc, p->value);
	}
	return NULL;
}

static void check_output(struct cfg_ctx *x, yaml_node_t *n, struct config_output *o)
{
	switch (o->type) {
	case CONFIG_OUT_FILE:
		if (!o->path || !*o->path)
			cfg_error(x, n, "a file output needs 'path': the JSON lines file to write");
		if (o->max_bytes && o->max_bytes < 4096)
			cfg_error(x, map_get(x, n, "max_size") ?: n,
				  "max_size: %llu bytes is too small; use at least 4K (or 0 for "
				  "no rotation)",
				  (unsigned long long)o->max_bytes);
		break;
	case CONFIG_OUT_SYSLOG:
		if (o->transport == CONFIG_SYSLOG_UNIX && (!o->socket || !*o->socket))
			cfg_error(x, n, "a unix syslog output needs 'socket' (e.g. /dev/log)");
		if (o->app_name &&
		    (!*o->app_name || strlen(o->app_name) > 48 || strpbrk(o->app_name, " \t\r\n")))
			cfg_error(x, map_get(x, n, "app_name") ?: n,
				  "app_name: use 1 to 48 printable characters without spaces");
		if (o->sd_id &&
		    (!*o->sd_id || strlen(o->sd_id) > 32 || strpbrk(o->sd_id, " =]\"\t\r\n")))
			cfg_error(x, map_get(x, n, "sd_id") ?: n,
				  "sd_id: use 1 to 32 characters without spaces, '=', ']' or '\"' "
				  "(e.g. vigil@32473)");
		break;
	case CONFIG_OUT_WEBHOOK:
	case CONFIG_OUT_ALERTMANAGER:
		if (!o->url)
			cfg_error(x, n, "a %s output needs 'url' (e.g. %s)",
				  config_output_type__name(o->type),
				  o->type == CONFIG_OUT_WEBHOOK ? "https://collector:2801/"
								: "http://127.0.0.1:9093");
		else if (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
			cfg_error(x, map_get(x, n, "url") ?: n,
				  "url: '%s' must start with http:// or https://", o->url);
		if (o->backoff_max_ns < o->backoff_ns)
			cfg_error(x, map_get(x, n, "max_backoff") ?: n,
				  "max_backoff must be at least backoff");
		if (!o->timeout_ns || !o->connect_timeout_ns)
			cfg_error(x, n, "timeout and connect_timeout must be above 0");
		if ((o->tls.cert_file == NULL) != (o->tls.key_file == NULL))
			cfg_error(x, map_get(x, n, "tls") ?: n,
				  "tls: give both cert_file and key_file, or neither");
		if (o->type == CONFIG_OUT_ALERTMANAGER && o->resend_ns >= o->resolve_ns)
			cfg_error(x, map_get(x, n, "resend_interval") ?: n,
				  "resend_interval must be shorter than resolve_after, or alerts "
				  "resolve between re-sends");
		if (o->type == CONFIG_OUT_ALERTMANAGER && !o->resend_ns)
			cfg_error(x, map_get(x, n, "resend_interval") ?: n,
				  "resend_interval must be above 0");
		break;
	default:
		break;
	}
}

static void parse_output(struct cfg_ctx *x, yaml_node_t *n, struct config_output *o)
{
	static const char *const types[] = {"stdout",  "file",	       "syslog",
					    "webhook", "alertmanager", NULL};
	yaml_node_t *t;
	int i;

	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(x, n, "outputs: each entry is a mapping with a 'type' key, found %s",
			  node_kind(n));
		return;
	}
	t = map_get(x, n, "type");
	if (!t) {
		cfg_error(x, n,
			  "output without 'type'; use stdout, file, syslog, webhook or "
			  "alertmanager");
		return;
	}
	i = pick(x, t, "type", types, "stdout, file, syslog, webhook or alertmanager");
	if (i < 0)
		return;
	o->type = i + 1;
	o->line = n->start_mark.line + 1;
	o->col = n->start_mark.column + 1;
	each_pair(x, n, "output", o, output_key);
	check_output(x, n, o);
}

static void parse_outputs(struct cfg_ctx *x, yaml_node_t *n)
{
	struct vigil_config *c = x->c;
	struct config_output *outs;
	size_t n_items, count[CONFIG_OUT_ALERTMANAGER + 1] = {0};

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(x, n, "outputs: expected a list of outputs, found %s", node_kind(n));
		return;
	}
	n_items = n->data.sequence.items.top - n->data.sequence.items.start;
	outs = calloc(n_items ? n_items : 1, sizeof(*outs));
	if (!outs) {
		cfg_error(x, n, "outputs: out of memory");
		return;
	}
	for (size_t i = 0; i < c->n_outputs; i++)
		output_free(&c->outputs[i]);
	free(c->outputs);
	c->outputs = outs;
	c->n_outputs = 0;
	for (size_t i = 0; i < n_items; i++) {
		yaml_node_t *item = yaml_document_get_node(x->doc, n->data.sequence.items.start[i]);
		struct config_output *o = &outs[c->n_outputs++];

		output_defaults(o, 0, c->queue_size);
		if (!output_str_defaults(o)) {
			cfg_error(x, item, "out of memory");
			continue;
		}
		parse_output(x, item, o);
		if (o->type && !o->name) {
			count[o->type]++;
			if (count[o->type] == 1)
				o->name = strdup(config_output_type__name(o->type));
			else if (asprintf(&o->name, "%s-%zu", config_output_type__name(o->type),
					  count[o->type]) < 0)
				o->name = NULL;
		}
	}
	for (size_t i = 0; i < c->n_outputs; i++)
		for (size_t j = 0; j < i; j++)
			if (outs[i].name && outs[j].name && !strcmp(outs[i].name, outs[j].name)) {
				yaml_node_t *item =
				    yaml_document_get_node(x->doc, n->data.sequence.items.start[i]);

				cfg_error(x, map_get(x, item, "name") ?: item,
					  "output name '%s' is used twice; names label the "
					  "metrics and must be unique",
					  outs[i].name);
			}
}

/* ---- rate limits, metrics ---- */

static void rate_rule_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k,
			  yaml_node_t *v)
{
	struct config_rate_rule *r = obj;

	if (!strcmp(key, "rate"))
		set_double(x, v, key, 0, &r->rate);
	else if (!strcmp(key, "burst"))
		set_double(x, v, key, 1, &r->burst);
	else
		unknown_key(x, k, "a rule's rate limit", key, "rate, burst");
}

static void rate_rules(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k,
		       yaml_node_t *v)
{
	struct config_rate_limit *rl = obj;
	struct config_rate_rule *r;

	r = realloc(rl->rules, (rl->n_rules + 1) * sizeof(*r));
	if (!r) {
		cfg_error(x, k, "out of memory");
		return;
	}
	rl->rules = r;
	r = &r[rl->n_rules];
	*r = (struct config_rate_rule){
	    .rule = strdup(key), .rate = -1, .burst = -1}; /* -1: the default */
	if (!r->rule) {
		cfg_error(x, k, "out of memory");
		return;
	}
	rl->n_rules++;
	each_pair(x, v, "rate_limit.rules", r, rate_rule_key);
}

static void rate_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct config_rate_limit *rl = obj;

	if (!strcmp(key, "enabled"))
		set_bool(x, v, key, &rl->enabled);
	else if (!strcmp(key, "rate"))
		set_double(x, v, key, 0, &rl->rate);
	else if (!strcmp(key, "burst"))
		set_double(x, v, key, 1, &rl->burst);
	else if (!strcmp(key, "summary_interval"))
		set_duration(x, v, key, &rl->summary_ns);
	else if (!strcmp(key, "rules"))
		each_pair(x, v, "rate_limit.rules", rl, rate_rules);
	else
		unknown_key(x, k, "rate_limit", key,
			    "enabled, rate, burst, summary_interval, rules");
}

static void metrics_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k,
			yaml_node_t *v)
{
	struct config_metrics *m = obj;

	if (!strcmp(key, "enabled")) {
		set_bool(x, v, key, &m->enabled);
	} else if (!strcmp(key, "listen")) {
		const char *s = want_scalar(x, v, key, "HOST:PORT");
		const char *colon = s ? strrchr(s, ':') : NULL;

		if (s && (!colon || colon == s || !colon[1] ||
			  strspn(colon + 1, "0123456789") != strlen(colon + 1)))
			cfg_error(x, v, "listen: '%s' is not HOST:PORT (e.g. %s)", s,
				  METRICS_DEFAULT_LISTEN);
		else
			set_str(x, v, key, &m->listen);
	} else if (!strcmp(key, "health")) {
		set_bool(x, v, key, &m->health);
	} else if (!strcmp(key, "stall_timeout")) {
		set_duration(x, v, key, &m->stall_ns);
	} else {
		unknown_key(x, k, "metrics", key, "enabled, listen, health, stall_timeout");
	}
}

/* ---- top level ---- */

static void rules_files(struct cfg_ctx *x, yaml_node_t *v)
{
	struct vigil_config *c = x->c;
	size_t n;

	if (v->type == YAML_SCALAR_NODE && !is_null(v)) {
		n = 1;
	} else if (v->type == YAML_SEQUENCE_NODE) {
		n = v->data.sequence.items.top - v->data.sequence.items.start;
	} else {
		cfg_error(x, v, "rules_files: expected a list of file names");
		return;
	}
	for (size_t i = 0; i < c->n_rules_files; i++)
		free(c->rules_files[i]);
	free(c->rules_files);
	c->n_rules_files = 0;
	c->rules_files = calloc(n ? n : 1, sizeof(char *));
	if (!c->rules_files) {
		cfg_error(x, v, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item =
		    v->type == YAML_SCALAR_NODE
			? v
			: yaml_document_get_node(x->doc, v->data.sequence.items.start[i]);
		char *s = NULL;

		set_str(x, item, "rules_files", &s);
		if (s)
			c->rules_files[c->n_rules_files++] = s;
	}
}

static void top_key(struct cfg_ctx *x, void *obj, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct vigil_config *c = obj;

	if (!strcmp(key, "rules_files") || !strcmp(key, "rules_file")) {
		rules_files(x, v);
	} else if (!strcmp(key, "priority")) {
		set_priority(x, v, key, &c->min_priority);
	} else if (!strcmp(key, "hostname")) {
		set_str(x, v, key, &c->hostname);
	} else if (!strcmp(key, "queue_size")) {
		set_size_t(x, v, key, 1, 1 << 24, &c->queue_size);
	} else if (!strcmp(key, "shutdown_timeout")) {
		set_duration(x, v, key, &c->drain_ns);
	} else if (!strcmp(key, "outputs")) {
		/* handled last: outputs inherit queue_size wherever it is written */
	} else if (!strcmp(key, "rate_limit")) {
		each_pair(x, v, "rate_limit", &c->rate_limit, rate_key);
	} else if (!strcmp(key, "metrics")) {
		each_pair(x, v, "metrics", &c->metrics, metrics_key);
	} else {
		unknown_key(x, k, "the configuration", key,
			    "rules_files, priority, hostname, queue_size, shutdown_timeout, "
			    "outputs, rate_limit, metrics");
	}
}

static void check_config(struct cfg_ctx *x, yaml_node_t *root)
{
	struct config_rate_limit *rl = &x->c->rate_limit;
	yaml_node_t *n = map_get(x, root, "rate_limit");

	if (rl->enabled && rl->rate <= 0)
		cfg_error(x, n ? map_get(x, n, "rate") ?: n : root,
			  "rate_limit.rate must be above 0 when rate limiting is enabled");
	if (rl->enabled && !rl->summary_ns)
		cfg_error(x, n ? map_get(x, n, "summary_interval") ?: n : root,
			  "rate_limit.summary_interval must be above 0");
	for (size_t i = 0; i < rl->n_rules; i++) {
		if (rl->rules[i].rate < 0)
			rl->rules[i].rate = rl->rate;
		if (rl->rules[i].burst < 0)
			rl->rules[i].burst = rl->burst;
	}
}

int config__load_buf(struct vigil_config *c, const char *name, const char *buf, size_t len,
		     char *err, size_t errlen)
{
	struct cfg_ctx x = {.c = c, .name = name, .err = err, .errlen = errlen};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *outs;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_node_t at = {.start_mark = parser.problem_mark};

		cfg_error(&x, &at, "YAML syntax error: %s%s%s; fix the syntax", parser.problem,
			  parser.context ? " " : "", parser.context ? parser.context : "");
		ret = -EINVAL;
		goto out_parser;
	}
	x.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root))
		goto out_doc; /* empty file: defaults */
	if (root->type != YAML_MAPPING_NODE) {
		cfg_error(&x, root, "the configuration must be a mapping of keys to values");
		goto out_doc;
	}
	each_pair(&x, root, "configuration", c, top_key);
	outs = map_get(&x, root, "outputs");
	if (outs)
		parse_outputs(&x, outs);
	check_config(&x, root);
out_doc:
	yaml_document_delete(&doc);
	if (x.errors)
		ret = -EINVAL;
out_parser:
	yaml_parser_delete(&parser);
	return ret;
}

int config__load_file(struct vigil_config *c, const char *path, char *err, size_t errlen)
{
	char *buf = NULL, *p;
	size_t len = 0, cap = 0, n;
	FILE *f;
	int ret;

	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot open the configuration: %s", path,
			 strerror(-ret));
		return ret;
	}
	do {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			p = realloc(buf, cap);
			if (!p) {
				ret = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = p;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: cannot read the configuration", path);
		goto out;
	}
	free(c->path);
	c->path = strdup(path);
	ret = config__load_buf(c, path, buf, len, err, errlen);
out:
	free(buf);
	fclose(f);
	return ret;
}

struct vigil_config *config__new(void)
{
	struct vigil_config *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->queue_size = 4096;
	c->drain_ns = 5 * NSEC;
	c->rate_limit.rate = 10;
	c->rate_limit.burst = 50;
	c->rate_limit.summary_ns = 60 * NSEC;
	c->metrics.enabled = true;
	c->metrics.health = true;
	c->metrics.stall_ns = 30 * NSEC;
	c->metrics.listen = strdup(METRICS_DEFAULT_LISTEN);
	c->outputs = calloc(1, sizeof(*c->outputs));
	if (!c->metrics.listen || !c->outputs)
		goto err_free;
	c->n_outputs = 1;
	output_defaults(&c->outputs[0], CONFIG_OUT_STDOUT, c->queue_size);
	c->outputs[0].name = strdup("stdout");
	if (!output_str_defaults(&c->outputs[0]) || !c->outputs[0].name)
		goto err_free;
	return c;

err_free:
	config__free(c);
	errno = ENOMEM;
	return NULL;
}

void config__free(struct vigil_config *c)
{
	if (!c)
		return;
	free(c->path);
	for (size_t i = 0; i < c->n_rules_files; i++)
		free(c->rules_files[i]);
	free(c->rules_files);
	free(c->hostname);
	for (size_t i = 0; i < c->n_outputs; i++)
		output_free(&c->outputs[i]);
	free(c->outputs);
	for (size_t i = 0; i < c->rate_limit.n_rules; i++)
		free(c->rate_limit.rules[i].rule);
	free(c->rate_limit.rules);
	free(c->metrics.listen);
	free(c);
}
