// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sink_syslog.c - alerts as RFC 5424 syslog messages over UDP (one datagram each),
 * TCP (octet-counted framing, RFC 6587) or the local socket (/dev/log). The rule,
 * priority, tags, container and the alert's key fields travel as structured data,
 * so a collector can filter on them without parsing the text; the priority maps to
 * the syslog severity of the same name.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "output/sink.h"
#include "util/text.h"
#include "rules/engine.h"

#define SD_VALUE_MAX	   1024 /* bytes of one parameter value before it is cut */
#define MSG_MIN		   64	/* bytes kept for MSG when structured data is large */
#define NSEC		   1000000000ull
#define CONNECT_TIMEOUT_NS (2 * NSEC)  /* connecting to a udp/tcp server */
#define BACKOFF_NS	   (NSEC / 2)  /* first pause after a failed send, doubled */
#define BACKOFF_MAX_NS	   (30 * NSEC) /* ... up to this */

struct syslog_sink {
	int fd;			/* connected socket, -1 when not connected */
	int socktype;		/* SOCK_DGRAM or SOCK_STREAM */
	struct syslog_opts fmt; /* formatting */
	char *buf;		/* one message */
	size_t cap;		/* bytes in buf */
	unsigned fails;		/* failed attempts in a row, for the backoff */
};

int syslog_severity(int priority)
{
	if (priority >= RULE_PRIO_EMERGENCY && priority <= RULE_PRIO_DEBUG)
		return priority - RULE_PRIO_EMERGENCY; /* same order and names as syslog */
	return 5;				       /* notice */
}

/* ---- formatting ---- */

struct sbuf {
	char *p;    /* output */
	size_t len; /* bytes written */
	size_t cap; /* bytes available, NUL excluded */
};

static bool sb_fits(const struct sbuf *b, size_t n)
{
	return b->len + n <= b->cap;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (!sb_fits(b, n))
		n = b->cap - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t k;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		k = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		k = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k)
		return 0;
	cp = s[0] & (0x7f >> k);
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (k == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return k;
}

/*
 * An SD PARAM-VALUE: '"', '\' and ']' escaped, control bytes written as \xNN
 * (util/text.h), invalid UTF-8 replaced by U+FFFD, cut at max bytes on a
 * character boundary. Returns the escaped length; writes
 * only when out is not NULL.
 */
static size_t sd_escape(const char *s, size_t max, char *out)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), o = 0;

	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(p + i, n - i);
		const char *piece = (const char *)p + i;
		size_t plen = k;
		char esc[TEXT_ESC_MAX];

		if (!k) {
			piece = "\xef\xbf\xbd";
			plen = 3;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			plen = text_escape(esc, piece, 1);
			piece = esc;
		} else if (p[i] == '"' || p[i] == '\\' || p[i] == ']') {
			esc[0] = '\\';
			esc[1] = p[i];
			piece = esc;
			plen = 2;
		}
		if (o + plen > max)
			break;
		if (out)
			memcpy(out + o, piece, plen);
		o += plen;
		i += k ? k : 1;
	}
	return o;
}

/* An SD-NAME: printable US-ASCII without '=', ' ', ']', '"', at most 32 bytes. */
static void sd_name(const char *s, char *out)
{
	size_t i;

	for (i = 0; s[i] && i < 32; i++) {
		unsigned char c = s[i];

		out[i] = c > 32 && c < 127 && c != '=' && c != ']' && c != '"' ? c : '_';
	}
	out[i] = '\0';
}

/* A header field: printable US-ASCII, at most max bytes, "-" when empty. */
static void header_field(struct sbuf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i < max; i++) {
		unsigned char c = s[i];
		char ch = c > 32 && c < 127 ? c : '_';

		sb_put(b, &ch, 1);
	}
	if (!i)
		sb_put(b, "-", 1);
	sb_put(b, " ", 1);
}

/* Appends ' name="value"' when it fits in limit; required params are cut to fit. */
static bool sd_param(struct sbuf *b, size_t limit, const char *name, const char *value,
		     bool required)
{
	char nm[33];
	size_t room, vlen;

	sd_name(name, nm);
	if (!nm[0] || b->len + strlen(nm) + 4 > limit)
		return false;
	room = limit - b->len - strlen(nm) - 4;
	if (room > SD_VALUE_MAX)
		room = SD_VALUE_MAX;
	vlen = sd_escape(value, room, NULL);
	if (vlen < sd_escape(value, SIZE_MAX, NULL) && !required && room < SD_VALUE_MAX)
		return false; /* would be cut for lack of room: leave it out */
	sb_put(b, " ", 1);
	sb_put(b, nm, strlen(nm));
	sb_put(b, "=\"", 2);
	sd_escape(value, room, b->p + b->len);
	b->len += vlen;
	sb_put(b, "\"", 1);
	return true;
}

size_t syslog_format(const struct syslog_opts *o, const struct alert *r, char *buf, size_t cap)
{
	struct sbuf b = {.p = buf, .cap = (o->max_message < cap ? o->max_message : cap - 1)};
	const char *prio = rule_priority__name(r->priority);
	size_t limit, tags_len = 0, mlen, k;
	const char *msg = o->json ? r->json : r->output;
	char head[128], ts[48], *tags;

	output_format_time(r->time_ns, 6, ts, sizeof(ts)); /* RFC 5424 allows 6 digits */
	snprintf(head, sizeof(head), "<%d>1 %s ", o->facility * 8 + syslog_severity(r->priority),
		 ts);
	sb_put(&b, head, strlen(head));
	header_field(&b, r->hostname, 255);
	header_field(&b, o->app_name, 48);
	snprintf(head, sizeof(head), "%d alert [", o->procid);
	sb_put(&b, head, strlen(head));
	header_field(&b, o->sd_id, 32);
	b.len--; /* the SD-ID is followed by params, not a space */

	limit = b.cap > MSG_MIN + 2 ? b.cap - MSG_MIN - 2 : b.len;
	sd_param(&b, limit, "rule", r->rule, true);
	sd_param(&b, limit, "priority", prio ? prio : "Unknown", true);
	for (size_t i = 0; i < r->n_tags; i++)
		tags_len += strlen(r->tags[i]) + 1;
	tags = r->n_tags ? malloc(tags_len + 1) : NULL;
	if (tags) {
		tags[0] = '\0';
		for (size_t i = 0; i < r->n_tags; i++) {
			strcat(tags, r->tags[i]);
			if (i + 1 < r->n_tags)
				strcat(tags, ",");
		}
		sd_param(&b, limit, "tags", tags, false);
		free(tags);
	}
	if (r->container_id)
		sd_param(&b, limit, "container_id", r->container_id, false);
	if (r->ancestry_unknown)
		sd_param(&b, limit, "ancestry_unknown", "true", false);
	for (size_t i = 0; i < r->n_fields; i++) /* scalars only: no nulls, no lists */
		if (r->fields[i].type == RULE_OUT_STRING || r->fields[i].type == RULE_OUT_RAW)
			sd_param(&b, limit, r->fields[i].name, r->fields[i].value, false);
	sb_put(&b, "] ", 2);

	/* MSG: as much as fits, never splitting a UTF-8 sequence */
	mlen = strlen(msg);
	if (!sb_fits(&b, mlen)) {
		mlen = b.cap - b.len;
		while (mlen && (msg[mlen] & 0xc0) == 0x80)
			mlen--;
	}
	for (k = mlen; k > 0 && (msg[k - 1] == '\n' || msg[k - 1] == '\r'); k--)
		;
	sb_put(&b, msg, k);
	buf[b.len] = '\0';
	return b.len;
}

/* ---- transport ---- */

static void syslog_close(struct syslog_sink *y)
{
	if (y->fd >= 0)
		close(y->fd);
	y->fd = -1;
}

static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, uint64_t ns)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, sa, len)) {
		if (errno != EINPROGRESS)
			return -errno;
		if (poll(&pfd, 1, ns / 1000000) <= 0)
			return -ETIMEDOUT;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) || err)
			return -(err ? err : errno);
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

static int syslog_connect(struct sink *s, struct syslog_sink *y, char *why, size_t len)
{
	const struct syslog_settings *c = s->cfg->settings;
	struct timeval tv = {.tv_sec = c->timeout_ns / 1000000000ull,
			     .tv_usec = c->timeout_ns % 1000000000ull / 1000};
	struct addrinfo hints = {.ai_flags = AI_NUMERICSERV}, *res = NULL, *ai;
	int ret = -EINVAL;

	if (c->transport == SYSLOG_UNIX) {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		if (strlen(c->socket) >= sizeof(sun.sun_path)) {
			snprintf(why, len, "socket path %s is too long", c->socket);
			return -ENAMETOOLONG;
		}
		strcpy(sun.sun_path, c->socket);
		for (int type = SOCK_DGRAM; type; type = type == SOCK_DGRAM ? SOCK_STREAM : 0) {
			y->fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
			if (y->fd < 0)
				return -errno;
			y->socktype = type;
			if (!connect(y->fd, (struct sockaddr *)&sun, sizeof(sun)))
				goto connected;
			ret = -errno;
			syslog_close(y);
			if (ret != -EPROTOTYPE)
				break;
		}
		snprintf(why, len, "cannot connect to %s: %s", c->socket, strerror(-ret));
		return ret;
	}
	hints.ai_socktype = c->transport == SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	ret = getaddrinfo(c->host, c->port, &hints, &res);
	if (ret) {
		snprintf(why, len, "cannot resolve %s: %s", c->host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		y->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (y->fd < 0) {
			ret = -errno;
			continue;
		}
		y->socktype = ai->ai_socktype;
		ret = connect_timeout(y->fd, ai->ai_addr, ai->ai_addrlen, CONNECT_TIMEOUT_NS);
		if (!ret)
			break;
		syslog_close(y);
	}
	freeaddrinfo(res);
	if (ret) {
		snprintf(why, len, "cannot connect to %s:%s (%s): %s", c->host, c->port,
			 c->transport == SYSLOG_TCP ? "tcp" : "udp", strerror(-ret));
		return ret;
	}
connected:
	setsockopt(y->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Sends one message with the transport's framing; 0 or -errno. */
static int syslog_send(struct syslog_sink *y, const char *msg, size_t len)
{
	char prefix[24];
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	size_t total, sent = 0;

	if (y->socktype == SOCK_DGRAM)
		return send(y->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
	snprintf(prefix, sizeof(prefix), "%zu ", len); /* octet counting */
	total = strlen(prefix) + len;
	while (sent < total) {
		size_t plen = strlen(prefix), skip = sent;
		ssize_t k;

		iov[0] = (struct iovec){prefix + (skip < plen ? skip : plen),
					skip < plen ? plen - skip : 0};
		skip = skip > plen ? skip - plen : 0;
		iov[1] = (struct iovec){(char *)msg + skip, len - skip};
		k = sendmsg(y->fd, &mh, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EPIPE;
		sent += k;
	}
	return 0;
}

static int syslog_init(struct sink *s, char *err, size_t errlen)
{
	const struct syslog_settings *c = s->cfg->settings;
	struct syslog_sink *y = calloc(1, sizeof(*y));

	if (!y)
		return -ENOMEM;
	y->fd = -1;
	y->cap = c->max_message + 1;
	y->buf = malloc(y->cap);
	if (!y->buf) {
		free(y);
		return -ENOMEM;
	}
	y->fmt = (struct syslog_opts){
	    .facility = c->facility,
	    .app_name = c->app_name,
	    .sd_id = c->sd_id,
	    .procid = getpid(),
	    .json = c->format == SINK_FMT_JSON,
	    .max_message = c->max_message,
	};
	s->priv = y;
	return 0; /* connected on first use: a syslog server started later is fine */
}

static void syslog_fini(struct sink *s)
{
	struct syslog_sink *y = s->priv;

	syslog_close(y);
	free(y->buf);
	free(y);
}

static size_t syslog_deliver(struct sink *s, struct alert *const *recs, size_t n)
{
	struct syslog_sink *y = s->priv;
	char why[300];
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		size_t len = syslog_format(&y->fmt, recs[i], y->buf, y->cap);

		/* one reconnect per message: the server may have restarted */
		for (int attempt = 0; attempt < 2; attempt++) {
			if (y->fd < 0 && (ret = syslog_connect(s, y, why, sizeof(why))))
				continue;
			ret = syslog_send(y, y->buf, len);
			if (!ret)
				break;
			snprintf(why, sizeof(why), "cannot send: %s", strerror(-ret));
			syslog_close(y);
		}
		if (ret)
			break;
	}
	if (i == n) {
		y->fails = 0;
		sink__ok(s);
		return n;
	}
	sink__failed(s, n - i,
		     ret == -EAGAIN || ret == -ETIMEDOUT || ret == -EWOULDBLOCK ? "timeout"
										: "network",
		     "%s", why);
	sink__sleep(s, output_backoff_ns(BACKOFF_NS, BACKOFF_MAX_NS, y->fails++));
	return i;
}

/* ---- configuration ---- */

/* address: "host:port" or "[v6]:port" into host and port */
static int parse_address(struct opt_ctx *x, const struct opt *o, const char *s, void *base)
{
	struct syslog_settings *c = base;
	const char *colon = strrchr(s, ':'), *host = s;
	size_t hlen;
	char *h, *p;

	if (!colon || colon == s || !colon[1] ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		goto bad;
	hlen = colon - s;
	if (s[0] == '[') {
		if (hlen < 3 || s[hlen - 1] != ']')
			goto bad;
		host++;
		hlen -= 2;
	}
	h = strndup(host, hlen);
	p = strdup(colon + 1);
	if (!h || !p) {
		free(h);
		free(p);
		opt_error(x, "address: out of memory");
		return -ENOMEM;
	}
	free(c->host);
	free(c->port);
	c->host = h;
	c->port = p;
	return 0;
bad:
	opt_error(x, "address: '%s' is not HOST:PORT (e.g. 127.0.0.1:514 or [::1]:514)", s);
	return -EINVAL;
}

static void free_address(void *base)
{
	struct syslog_settings *c = base;

	free(c->host);
	free(c->port);
	c->host = c->port = NULL;
}

static void syslog_validate(struct opt_ctx *x, void *settings)
{
	const struct syslog_settings *c = settings;

	if (c->transport == SYSLOG_UNIX && (!c->socket || !*c->socket))
		opt_error(x, "a unix syslog output needs 'socket' (e.g. /dev/log)");
	if (c->app_name &&
	    (!*c->app_name || strlen(c->app_name) > 48 || strpbrk(c->app_name, " \t\r\n")))
		opt_error_key(x, "app_name",
			      "app_name: use 1 to 48 printable characters without spaces");
	if (c->sd_id && (!*c->sd_id || strlen(c->sd_id) > 32 || strpbrk(c->sd_id, " =]\"\t\r\n")))
		opt_error_key(x, "sd_id",
			      "sd_id: use 1 to 32 characters without spaces, '=', ']' or '\"' "
			      "(e.g. vigil@32473)");
}

static const char *const transports[] = {"udp", "tcp", "unix", NULL};
static const char *const formats[] = {"auto", "json", "text", NULL};
static const char *const facilities[] = {
    "kern",   "user",	  "mail",   "daemon", "auth",	"syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",	"alert",  "clock", "local0", "local1",
    "local2", "local3",	  "local4", "local5", "local6", "local7", NULL,
};

#define SYSLOG_KEY(field) .off = offsetof(struct syslog_settings, field)

static const struct opt syslog_keys[] = {
    {.key = "transport",
     .type = OPT_ENUM,
     SYSLOG_KEY(transport),
     .words = transports,
     .min = 1,
     .expected = "udp, tcp or unix",
     .def = "unix",
     .help = "`unix` (a local datagram socket), `udp` (a datagram per message) or `tcp` "
	     "(octet-counted framing, RFC 6587)"},
    {.key = "address",
     .type = OPT_CUSTOM,
     .parse = parse_address,
     .release = free_address,
     .def = "127.0.0.1:514",
     .expected = "HOST:PORT",
     .help = "udp/tcp: the server, `[v6]:port` for IPv6"},
    {.key = "socket",
     .type = OPT_STR,
     SYSLOG_KEY(socket),
     .def = "/dev/log",
     .help = "unix: the socket"},
    {.key = "facility",
     .type = OPT_ENUM,
     SYSLOG_KEY(facility),
     .words = facilities,
     .expected = "kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, "
		 "ftp, ntp, audit, alert, clock or local0..local7",
     .def = "user",
     .help = "the syslog facility"},
    {.key = "app_name",
     .type = OPT_STR,
     SYSLOG_KEY(app_name),
     .def = "vigil",
     .help = "APP-NAME: 1 to 48 characters without spaces"},
    /* 32473: the example enterprise number of RFC 5612 */
    {.key = "sd_id",
     .type = OPT_STR,
     SYSLOG_KEY(sd_id),
     .def = "vigil@32473",
     .help = "SD-ID of the structured data element"},
    {.key = "format",
     .type = OPT_ENUM,
     SYSLOG_KEY(format),
     .words = formats,
     .expected = "text or json",
     .def = "text",
     .help = "MSG: Falco's text line or the alert JSON"},
    {.key = "max_message",
     .type = OPT_BYTES,
     .size = sizeof(size_t),
     .min = 480,
     .max = 65000,
     SYSLOG_KEY(max_message),
     .def = "8192",
     .help = "longest message sent, header included; MSG is cut on a UTF-8 boundary"},
    {.key = "timeout",
     .type = OPT_DURATION,
     SYSLOG_KEY(timeout_ns),
     .def = "5s",
     .help = "one send"},
    {0},
};

static const char *const reasons[] = {"network", "timeout", NULL};

const struct sink_desc sink_syslog = {
    .name = "syslog",
    .help = "RFC 5424 messages over the local socket, UDP or TCP; rule, priority, tags, "
	    "container and the alert's fields as structured data",
    .keys = syslog_keys,
    .settings_size = sizeof(struct syslog_settings),
    .reasons = reasons,
    .validate = syslog_validate,
    .init = syslog_init,
    .deliver = syslog_deliver,
    .fini = syslog_fini,
    .batch_max = 64,
};
