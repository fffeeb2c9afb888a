// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_http.c - the HTTP client the webhook and Alertmanager sinks share (libcurl:
 * TLS, timeouts, retries with exponential backoff, abort at the shutdown deadline),
 * and the webhook sink: a POST of the Falco-shaped alert object, so falcosidekick
 * or any HTTP collector can take it. When alerts queue up faster than the endpoint
 * answers and batch is above 1, one POST carries a JSON array of them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon/metrics.h"
#include "output/sink.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "unknown"
#endif

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

int http_client__init(struct http_client *h, struct sink *s, char *err, size_t errlen)
{
	const struct config_output *c = s->cfg;
	struct curl_slist *l;
	CURL *curl;
	char line[1024];

	memset(h, 0, sizeof(*h));
	h->s = s;
	curl = curl_easy_init();
	if (!curl) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		return -ENOMEM;
	}
	h->curl = curl;
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	l = curl_slist_append(h->headers, "User-Agent: vigil/" VIGIL_VERSION);
	for (size_t i = 0; l && i < c->n_headers; i++) {
		snprintf(line, sizeof(line), "%s: %s", c->headers[i].key, c->headers[i].value);
		l = curl_slist_append(h->headers, line);
	}
	if (!h->headers || !l) {
		snprintf(err, errlen, "out of memory");
		http_client__fini(h);
		return -ENOMEM;
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(c->timeout_ns / 1000000));
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->connect_timeout_ns / 1000000));
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, http_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, http_progress);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->tls.ca_file)
		curl_easy_setopt(curl, CURLOPT_CAINFO, c->tls.ca_file);
	if (c->tls.cert_file) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, c->tls.cert_file);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, c->tls.key_file);
	}
	if (c->tls.insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

void http_client__fini(struct http_client *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
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
		snprintf(msg, len, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
		return false; /* a certificate problem does not fix itself */
	default:
		*reason = "network";
		break;
	}
	snprintf(msg, len, "%s", h->errbuf[0] ? h->errbuf : curl_easy_strerror(res));
	return true;
}

bool http_client__post(struct http_client *h, const char *url, const char *body, size_t len,
		       size_t n_alerts)
{
	struct sink *s = h->s;
	const char *reason = "network";
	char msg[320];
	bool retry;

	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	for (unsigned attempt = 0;; attempt++) {
		long code = 0;
		CURLcode res;

		h->errbuf[0] = '\0';
		h->resp_len = 0;
		h->resp[0] = '\0';
		res = curl_easy_perform(h->curl);
		if (sink__aborting(s))
			return false; /* counted as dropped at shutdown */
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
		if (res == CURLE_OK && code >= 200 && code < 300) {
			sink__ok(s);
			return true;
		}
		retry = http_classify(h, res, code, &reason, msg, sizeof(msg));
		if (!retry || attempt >= s->cfg->retries)
			break;
		metric__inc(s->m.retries);
		if (!sink__sleep(
			s, output_backoff_ns(s->cfg->backoff_ns, s->cfg->backoff_max_ns, attempt)))
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
	struct webhook_sink *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	ret = http_client__init(&w->h, s, err, errlen);
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

static size_t webhook_deliver(struct sink *s, struct alert_rec *const *recs, size_t n)
{
	struct webhook_sink *w = s->priv;
	size_t len = 2;
	char *p;

	if (n == 1)
		return http_client__post(&w->h, s->cfg->url, recs[0]->json, recs[0]->json_len, 1);
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
	return http_client__post(&w->h, s->cfg->url, w->body, p - w->body, n) ? n : 0;
}

const struct sink_ops sink_webhook_ops = {
    .init = webhook_init,
    .deliver = webhook_deliver,
    .fini = webhook_fini,
};
