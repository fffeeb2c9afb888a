// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_http.c - the HTTP client the webhook and Alertmanager sinks share (libcurl:
 * TLS, timeouts, retries with exponential backoff, abort at the shutdown deadline),
 * with libcurl loaded when the first HTTP sink starts: an agent without one maps no
 * TLS, Kerberos or LDAP library (about 5 MB of its resident memory),
 * and the webhook sink: a POST of the Falco-shaped alert object, so falcosidekick
 * or any HTTP collector can take it. When alerts queue up faster than the endpoint
 * answers and batch is above 1, one POST carries a JSON array of them.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon/metrics.h"
#include "output/sink.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

#define LIBCURL "libcurl.so.4"

/* The libcurl calls the client makes, from the library loaded by curl_load(). */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static char cu_err[256]; /* why libcurl cannot be used, "" when it can */

static void curl_load_once(void)
{
	static const struct {
		const char *name;
		void **fn;
	} syms[] = {
	    {"curl_global_init", (void **)&cu.global_init},
	    {"curl_easy_init", (void **)&cu.easy_init},
	    {"curl_easy_setopt", (void **)&cu.easy_setopt},
	    {"curl_easy_perform", (void **)&cu.easy_perform},
	    {"curl_easy_getinfo", (void **)&cu.easy_getinfo},
	    {"curl_easy_cleanup", (void **)&cu.easy_cleanup},
	    {"curl_easy_strerror", (void **)&cu.easy_strerror},
	    {"curl_slist_append", (void **)&cu.slist_append},
	    {"curl_slist_free_all", (void **)&cu.slist_free_all},
	};
	void *lib = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	const char *e;

	if (!lib) {
		e = dlerror();
		snprintf(cu_err, sizeof(cu_err), "cannot load " LIBCURL " (libcurl4): %s",
			 e ? e : "unknown error");
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].fn = dlsym(lib, syms[i].name);
		if (!*syms[i].fn) {
			e = dlerror();
			snprintf(cu_err, sizeof(cu_err), LIBCURL " has no %s: %s", syms[i].name,
				 e ? e : "unknown error");
			return;
		}
	}
	/* once for the process, and kept until it exits: libcurl's global state */
	if (cu.global_init(CURL_GLOBAL_DEFAULT))
		snprintf(cu_err, sizeof(cu_err), "cannot initialise libcurl");
}

/* Loads libcurl once; 0, or -ENOENT with why in err. */
static int curl_load(char *err, size_t errlen)
{
	pthread_once(&cu_once, curl_load_once);
	if (cu_err[0]) {
		snprintf(err, errlen, "%s", cu_err);
		return -ENOENT;
	}
	return 0;
}

static size_t http_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_client *h = arg;
	size_t n = size * nmemb, room = sizeof(h->resp) - 1 - h->resp_len;

	if (room) {
		memcpy(h->resp + h->resp_len, data, n < room ? n : room);
		h->resp_len += n < room ? n : room;
		h->resp[h->resp_len] = '\0';
	}
	return n;
}

/* Aborts a transfer in progress once the shutdown deadline has passed. */
static int http_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	struct http_client *h = arg;

	return sink__aborting(h->s);
}

int http_client__init(struct http_client *h, struct sink *s, const struct http_settings *c,
		      char *err, size_t errlen)
{
	struct curl_slist *l;
	CURL *curl;
	char line[1024];

	memset(h, 0, sizeof(*h));
	h->s = s;
	h->cfg = c;
	if (curl_load(err, errlen))
		return -ENOENT;
	curl = cu.easy_init();
	if (!curl) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		return -ENOMEM;
	}
	h->curl = curl;
	h->headers = cu.slist_append(NULL, "Content-Type: application/json");
	l = cu.slist_append(h->headers, "User-Agent: vigil/" VIGIL_VERSION);
	for (size_t i = 0; l && i < c->headers.n; i++) {
		snprintf(line, sizeof(line), "%s: %s", c->headers.items[i].key,
			 c->headers.items[i].value);
		l = cu.slist_append(h->headers, line);
	}
	if (!h->headers || !l) {
		snprintf(err, errlen, "out of memory");
		http_client__fini(h);
		return -ENOMEM;
	}
	cu.easy_setopt(curl, CURLOPT_HTTPHEADER, h->headers);
	cu.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(c->timeout_ns / 1000000));
	cu.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_ns / 1000000));
	cu.easy_setopt(curl, CURLOPT_ERRORBUFFER, h->errbuf);
	cu.easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body);
	cu.easy_setopt(curl, CURLOPT_WRITEDATA, h);
	cu.easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	cu.easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, http_progress);
	cu.easy_setopt(curl, CURLOPT_XFERINFODATA, h);
	cu.easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	cu.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->tls.ca_file)
		cu.easy_setopt(curl, CURLOPT_CAINFO, c->tls.ca_file);
	if (c->tls.cert_file) {
		cu.easy_setopt(curl, CURLOPT_SSLCERT, c->tls.cert_file);
		cu.easy_setopt(curl, CURLOPT_SSLKEY, c->tls.key_file);
	}
	if (c->tls.insecure) {
		cu.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		cu.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

void http_client__fini(struct http_client *h)
{
	if (h->curl)
		cu.easy_cleanup(h->curl);
	if (h->headers)
		cu.slist_free_all(h->headers);
	h->curl = NULL;
	h->headers = NULL;
}

/* What went wrong with one attempt: a metric reason, whether to retry, a message. */
static bool http_classify(struct http_client *h, CURLcode res, long code, const char **reason,
			  char *msg, size_t len)
{
	switch (res) {
	case CURLE_OK:
		*reason = "http";
		snprintf(msg, len, "HTTP %ld%s%.200s", code, h->resp_len ? ": " : "", h->resp);
		return code == 408 || code == 429 || code >= 500;
	case CURLE_OPERATION_TIMEDOUT:
		*reason = "timeout";
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		*reason = "tls";
		snprintf(msg, len, "%s", h->errbuf[0] ? h->errbuf : cu.easy_strerror(res));
		return false; /* a certificate problem does not fix itself */
	default:
		*reason = "network";
		break;
	}
	snprintf(msg, len, "%s", h->errbuf[0] ? h->errbuf : cu.easy_strerror(res));
	return true;
}

bool http_client__post(struct http_client *h, const char *url, const char *body, size_t len,
		       size_t n_alerts)
{
	struct sink *s = h->s;
	const char *reason = "network";
	char msg[320];
	bool retry;

	cu.easy_setopt(h->curl, CURLOPT_URL, url);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	cu.easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	for (unsigned attempt = 0;; attempt++) {
		long code = 0;
		CURLcode res;

		h->errbuf[0] = '\0';
		h->resp_len = 0;
		h->resp[0] = '\0';
		res = cu.easy_perform(h->curl);
		if (sink__aborting(s))
			return false; /* counted as dropped at shutdown */
		cu.easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
		if (res == CURLE_OK && code >= 200 && code < 300) {
			sink__ok(s);
			return true;
		}
		retry = http_classify(h, res, code, &reason, msg, sizeof(msg));
		if (!retry || attempt >= h->cfg->retries)
			break;
		metric__inc(s->m.retries);
		if (!sink__sleep(
			s, output_backoff_ns(h->cfg->backoff_ns, h->cfg->backoff_max_ns, attempt)))
			return false;
	}
	sink__failed(s, n_alerts, reason, "POST %s: %s", url, msg);
	return false;
}

/* ---- webhook ---- */

struct webhook_sink {
	struct http_client h; /* connection */
	char *body;	      /* batch body */
	size_t cap;	      /* bytes allocated */
};

static int webhook_init(struct sink *s, char *err, size_t errlen)
{
	const struct webhook_settings *c = s->cfg->settings;
	struct webhook_sink *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	s->batch_max = c->batch;
	ret = http_client__init(&w->h, s, &c->http, err, errlen);
	if (ret) {
		free(w);
		return ret;
	}
	s->priv = w;
	return 0;
}

static void webhook_fini(struct sink *s)
{
	struct webhook_sink *w = s->priv;

	http_client__fini(&w->h);
	free(w->body);
	free(w);
}

static size_t webhook_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	struct webhook_sink *w = s->priv;
	size_t len = 2;
	char *p;

	if (n == 1)
		return http_client__post(&w->h, w->h.cfg->url, recs[0]->json, recs[0]->json_len, 1);
	for (size_t i = 0; i < n; i++)
		len += recs[i]->json_len + 1;
	if (len > w->cap) {
		p = realloc(w->body, len);
		if (!p) {
			sink__failed(s, n, "io", "out of memory building a batch of %zu alerts", n);
			return 0;
		}
		w->body = p;
		w->cap = len;
	}
	p = w->body;
	*p++ = '[';
	for (size_t i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, recs[i]->json, recs[i]->json_len);
		p += recs[i]->json_len;
	}
	*p++ = ']';
	return http_client__post(&w->h, w->h.cfg->url, w->body, p - w->body, n) ? n : 0;
}

/* ---- configuration ---- */

static int check_header(struct opt_ctx *x, const char *key, const char *value)
{
	if (!strpbrk(key, ": \t\r\n") && !strpbrk(value, "\r\n"))
		return 0;
	opt_error(x, "header '%s' may not hold ':', spaces or line breaks", key);
	return -EINVAL;
}

#define TLS_KEY(field) .off = offsetof(struct tls_settings, field)

static const struct opt tls_keys[] = {
    {.key = "ca_file",
     .type = OPT_STR,
     TLS_KEY(ca_file),
     .help = "PEM bundle to verify the server with (default: the system's)"},
    {.key = "cert_file",
     .type = OPT_STR,
     TLS_KEY(cert_file),
     .help = "client certificate (PEM), with key_file"},
    {.key = "key_file", .type = OPT_STR, TLS_KEY(key_file), .help = "its private key (PEM)"},
    {.key = "insecure",
     .type = OPT_BOOL,
     TLS_KEY(insecure),
     .def = "false",
     .help = "skip server verification (testing only)"},
    {0},
};

#define HTTP_KEY(field) .off = offsetof(struct http_settings, field)

const struct opt http_keys[] = {
    {.key = "url", .type = OPT_STR, HTTP_KEY(url), .help = "the endpoint (required)"},
    {.key = "headers",
     .type = OPT_KV,
     HTTP_KEY(headers),
     .check_pair = check_header,
     .help = "extra HTTP headers, e.g. `Authorization: Bearer ...`"},
    {.key = "tls", .type = OPT_TABLE, HTTP_KEY(tls), .sub = tls_keys},
    {.key = "timeout",
     .type = OPT_DURATION,
     HTTP_KEY(timeout_ns),
     .def = "5s",
     .help = "one request, everything included"},
    {.key = "connect_timeout",
     .type = OPT_DURATION,
     HTTP_KEY(connect_timeout_ns),
     .def = "2s",
     .help = "connecting alone"},
    {.key = "retries",
     .type = OPT_UINT,
     .size = sizeof(unsigned),
     .max = 100,
     HTTP_KEY(retries),
     .def = "3",
     .help = "attempts after the first (timeouts, connection errors, 408, 429, 5xx)"},
    {.key = "backoff",
     .type = OPT_DURATION,
     HTTP_KEY(backoff_ns),
     .def = "500ms",
     .help = "first retry delay, doubled each time"},
    {.key = "max_backoff",
     .type = OPT_DURATION,
     HTTP_KEY(backoff_max_ns),
     .def = "30s",
     .help = "retry delay cap"},
    {0},
};

void http_validate(struct opt_ctx *x, const struct http_settings *h, const char *type,
		   const char *example)
{
	if (!h->url)
		opt_error(x, "a %s output needs 'url' (e.g. %s)", type, example);
	else if (strncmp(h->url, "http://", 7) && strncmp(h->url, "https://", 8))
		opt_error_key(x, "url", "url: '%s' must start with http:// or https://", h->url);
	if (h->backoff_max_ns < h->backoff_ns)
		opt_error_key(x, "max_backoff", "max_backoff must be at least backoff");
	if (!h->timeout_ns || !h->connect_timeout_ns)
		opt_error(x, "timeout and connect_timeout must be above 0");
	if ((h->tls.cert_file == NULL) != (h->tls.key_file == NULL))
		opt_error_key(x, "tls", "tls: give both cert_file and key_file, or neither");
}

static void webhook_validate(struct opt_ctx *x, void *settings)
{
	http_validate(x, settings, "webhook", "https://collector:2801/");
}

static const struct opt webhook_keys[] = {
    {.type = OPT_INLINE, .sub = http_keys, .off = offsetof(struct webhook_settings, http)},
    {.key = "batch",
     .type = OPT_UINT,
     .size = sizeof(size_t),
     .min = 1,
     .max = 10000,
     .off = offsetof(struct webhook_settings, batch),
     .def = "1",
     .help = "alerts per request when they queue up (a JSON array when above 1)"},
    {0},
};

const char *const http_reasons[] = {"network", "timeout", "http", "tls", NULL};

const struct sink_desc sink_webhook = {
    .name = "webhook",
    .help = "an HTTP POST of the alert JSON (falcosidekick or any collector)",
    .keys = webhook_keys,
    .settings_size = sizeof(struct webhook_settings),
    .reasons = http_reasons,
    .validate = webhook_validate,
    .init = webhook_init,
    .deliver = webhook_deliver,
    .fini = webhook_fini,
};
