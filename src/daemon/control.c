// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * control.c - the control socket: the request parser, the server the agent's event
 * loop drives (its own epoll set, every socket non-blocking, deadlines per client),
 * the client the CLI verbs use, and the readable rendering of a reply.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "metrics.h"
#include "util/json.h"
#include "util/text.h"

#define CLIENTS_MAX	8	   /* clients served at once; more are told to retry */
#define ACCEPT_BATCH	16	   /* connections taken per serve call */
#define REPLY_MAX	(16 << 20) /* largest reply the client reads */
#define DEFAULT_REQ_MS	200
#define DEFAULT_REPL_MS 1000

static const char *const verb_names[CONTROL_VERB_MAX] = {
    [CONTROL_STATUS] = "status",	 [CONTROL_RELOAD] = "reload",
    [CONTROL_ACTIONS] = "actions",	 [CONTROL_BLOCK] = "block",
    [CONTROL_RELEASE] = "release",	 [CONTROL_ISOLATE] = "isolate",
    [CONTROL_QUARANTINE] = "quarantine", [CONTROL_TRAFFIC] = "traffic",
};

const char *control_verb_name(enum control_verb v)
{
	return v > 0 && v < CONTROL_VERB_MAX ? verb_names[v] : NULL;
}

/* ---- the request line ---- */

#define EXPECTED                                                                                   \
	"expected status, reload, actions [N], block add|del|list, isolate ID, quarantine "        \
	"SECONDS, release all|node|ID or traffic [N]"

/* The next word of *p (NUL-terminated in place), or NULL at the end. */
static char *next_word(char **p)
{
	char *w = *p + strspn(*p, " \t");

	if (!*w)
		return NULL;
	*p = w + strcspn(w, " \t");
	if (**p)
		*(*p)++ = '\0';
	return w;
}

/* A number from 1 to max (0 too when zero), or -1. */
static long long word_num(const char *w, unsigned long long max, bool zero)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(w, &end, 10);
	if (!isdigit((unsigned char)w[0]) || *end || errno || v > max || (!zero && !v))
		return -1;
	return (long long)v;
}

static int parse_block(char *rest, struct control_request *out, char *err, size_t errlen)
{
	char *w = next_word(&rest), *t, *f;
	long long v;

	if (w && !strcmp(w, "list"))
		out->sub = CONTROL_SUB_LIST;
	else if (w && !strcmp(w, "add"))
		out->sub = CONTROL_SUB_ADD;
	else if (w && !strcmp(w, "del"))
		out->sub = CONTROL_SUB_DEL;
	else {
		snprintf(err, errlen,
			 "block: expected add CIDR SECONDS [REASON], del CIDR or list");
		return -EINVAL;
	}
	if (out->sub == CONTROL_SUB_LIST)
		goto done;
	t = next_word(&rest);
	if (!t || strlen(t) >= sizeof(out->target)) {
		snprintf(err, errlen, "block %s: expected an address or prefix", w);
		return -EINVAL;
	}
	snprintf(out->target, sizeof(out->target), "%s", t);
	if (out->sub == CONTROL_SUB_DEL)
		goto done;
	f = next_word(&rest);
	if (!f || (v = word_num(f, 10ull * 365 * 86400, true)) < 0) {
		snprintf(err, errlen,
			 "block add: SECONDS must be a number from 0 (until removed) "
			 "to ten years");
		return -EINVAL;
	}
	out->for_s = (uint64_t)v;
	rest += strspn(rest, " \t");
	snprintf(out->reason, sizeof(out->reason), "%s", rest);
	return 0;
done:
	if (next_word(&rest)) {
		snprintf(err, errlen, "too many words for block %s", w);
		return -EINVAL;
	}
	return 0;
}

int control_parse_request(const char *line, size_t len, struct control_request *out, char *err,
			  size_t errlen)
{
	char buf[CONTROL_LINE_MAX + 1], *rest = buf, *w, *arg;
	long long v;

	memset(out, 0, sizeof(*out));
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len >= CONTROL_LINE_MAX) {
		snprintf(err, errlen, "request longer than %d bytes", CONTROL_LINE_MAX);
		return -EINVAL;
	}
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (strlen(buf) != len) {
		snprintf(err, errlen, "request holds a NUL byte");
		return -EINVAL;
	}
	w = next_word(&rest);
	if (!w) {
		snprintf(err, errlen, "empty request; " EXPECTED);
		return -EINVAL;
	}
	for (int k = 1; k < CONTROL_VERB_MAX; k++)
		if (!strcmp(w, verb_names[k]))
			out->verb = k;
	if (!out->verb) {
		char shown[64 * TEXT_ESC_MAX + 1];

		shown[text_escape(shown, w, strnlen(w, 64))] = '\0';
		snprintf(err, errlen, "unknown request '%s'; " EXPECTED, shown);
		return -EINVAL;
	}
	switch (out->verb) {
	case CONTROL_BLOCK:
		return parse_block(rest, out, err, errlen);
	case CONTROL_RELEASE:
	case CONTROL_ISOLATE:
		arg = next_word(&rest);
		if (!arg || strlen(arg) >= sizeof(out->target) ||
		    (out->verb == CONTROL_RELEASE && next_word(&rest))) {
			snprintf(err, errlen, "%s: expected %s", w,
				 out->verb == CONTROL_RELEASE
				     ? "'release all', 'release node' or 'release ID'"
				     : "'isolate ID [REASON]'");
			return -EINVAL;
		}
		snprintf(out->target, sizeof(out->target), "%s", arg);
		out->sub = !strcmp(arg, "all")	  ? CONTROL_SUB_ALL
			   : !strcmp(arg, "node") ? CONTROL_SUB_NODE
						  : CONTROL_SUB_ONE;
		rest += strspn(rest, " \t");
		if (out->verb == CONTROL_ISOLATE)
			snprintf(out->reason, sizeof(out->reason), "%s", rest);
		return 0;
	case CONTROL_QUARANTINE:
		arg = next_word(&rest);
		if (!arg || (v = word_num(arg, 10ull * 365 * 86400, true)) < 0) {
			snprintf(err, errlen,
				 "quarantine: SECONDS must be a number (0: "
				 "actions.quarantine_max)");
			return -EINVAL;
		}
		out->for_s = (uint64_t)v;
		rest += strspn(rest, " \t");
		snprintf(out->reason, sizeof(out->reason), "%s", rest);
		return 0;
	case CONTROL_TRAFFIC:
	case CONTROL_ACTIONS:
		out->n = CONTROL_ACTIONS_DEFAULT;
		arg = next_word(&rest);
		if (arg && next_word(&rest)) {
			snprintf(err, errlen, "too many words; %s takes one number", w);
			return -EINVAL;
		}
		if (arg) {
			v = word_num(arg, CONTROL_ACTIONS_MAX, false);
			if (v < 0) {
				snprintf(err, errlen, "%s: N must be a number from 1 to %d", w,
					 CONTROL_ACTIONS_MAX);
				return -EINVAL;
			}
			out->n = (size_t)v;
		}
		return 0;
	default:
		if (next_word(&rest)) {
			snprintf(err, errlen, "%s takes no argument", w);
			return -EINVAL;
		}
		return 0;
	}
}

/* ---- server ---- */

struct client {
	int fd;			       /* -1: slot free */
	uint64_t deadline_ns;	       /* CLOCK_MONOTONIC: dropped after this */
	const char *verb;	       /* metrics label once known */
	char in[CONTROL_LINE_MAX + 1]; /* the request so far */
	size_t in_len;		       /* bytes in in */
	char *out;		       /* the reply, NULL while reading */
	size_t out_len, out_off;       /* its size, bytes sent */
};

struct control {
	struct control_opts opts; /* settings; path copied */
	char *path;		  /* the socket file */
	dev_t dev;		  /* the file we bound: removed only if still it */
	ino_t ino;
	int lfd;			/* listening socket */
	int epfd;			/* lfd and the clients */
	struct client cl[CLIENTS_MAX];	/* clients in progress */
	size_t n_clients;		/* slots in use */
	struct json_buf reply;		/* rendering buffer, reused */
	struct control_stats stats;	/* counts */
	struct metric_family *requests; /* vigil_control_requests_total; NULL: none */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void count(struct control *c, const char *verb, const char *result)
{
	metric__inc(metric_family__series(c->requests, (const char *const[]){verb, result}));
}

/* Sends a short line without waiting: to a client that is not served. */
static void send_line(int fd, const char *fmt, ...)
{
	char buf[256];
	struct json_buf j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_init(&j);
	json_obj_begin(&j);
	json_key(&j, "ok");
	json_bool(&j, false);
	json_key(&j, "error");
	json_str(&j, buf);
	json_obj_end(&j);
	if (!j.err && snprintf(buf, sizeof(buf), "%s\n", j.buf) < (int)sizeof(buf))
		send(fd, buf, strlen(buf), MSG_DONTWAIT | MSG_NOSIGNAL); /* or the client's loss */
	json_free(&j);
}

static void client_close(struct control *c, struct client *cl)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, cl->fd, NULL);
	close(cl->fd);
	free(cl->out);
	cl->fd = -1;
	cl->out = NULL;
	c->n_clients--;
}

static void accept_clients(struct control *c)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		struct client *cl = NULL;
		int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return; /* EAGAIN: none left; anything else: the client's loss */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) ||
		    cred.uid != c->opts.peer_uid) {
			send_line(fd, "vigil's control socket serves uid %u only (uid %d refused)",
				  (unsigned)c->opts.peer_uid,
				  clen == sizeof(cred) ? (int)cred.uid : -1);
			close(fd);
			c->stats.refused++;
			count(c, "unknown", "refused");
			continue;
		}
		for (size_t s = 0; s < CLIENTS_MAX && !cl; s++)
			if (c->cl[s].fd < 0)
				cl = &c->cl[s];
		if (!cl) {
			send_line(fd, "vigil is busy with %d control clients; try again",
				  CLIENTS_MAX);
			close(fd);
			c->stats.busy++;
			count(c, "unknown", "busy");
			continue;
		}
		memset(cl, 0, sizeof(*cl));
		cl->fd = fd;
		cl->verb = "unknown";
		cl->deadline_ns = now_ns() + (uint64_t)c->opts.request_ms * 1000000ull;
		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){.events = EPOLLIN, .data.ptr = cl})) {
			close(fd);
			cl->fd = -1;
			continue;
		}
		c->n_clients++;
	}
}

/* The reply to one request line, into c->reply; the result label. */
static const char *answer(struct control *c, struct client *cl)
{
	struct json_buf *j = &c->reply;
	struct control_request req;
	const struct control_ops *ops = &c->opts.ops;
	char err[256];
	int ret;

	json_reset(j);
	json_obj_begin(j);
	if (control_parse_request(cl->in, cl->in_len, &req, err, sizeof(err))) {
		json_key(j, "ok");
		json_bool(j, false);
		json_key(j, "error");
		json_str(j, err);
		json_obj_end(j);
		return "bad";
	}
	cl->verb = control_verb_name(req.verb);
	json_key(j, "verb");
	json_str(j, cl->verb);
	ret = -EOPNOTSUPP;
	switch (req.verb) {
	case CONTROL_STATUS:
		if (ops->status)
			ret = ops->status(ops->arg, j);
		break;
	case CONTROL_RELOAD:
		if (ops->reload)
			ret = ops->reload(ops->arg, j);
		break;
	case CONTROL_ACTIONS:
		if (!ops->actions)
			break;
		json_key(j, "actions");
		ret = ops->actions(ops->arg, req.n, j);
		break;
	case CONTROL_BLOCK:
		if (ops->block)
			ret = ops->block(ops->arg, &req, j);
		break;
	case CONTROL_RELEASE:
		if (ops->release)
			ret = ops->release(ops->arg, &req, j);
		break;
	case CONTROL_ISOLATE:
		if (ops->isolate)
			ret = ops->isolate(ops->arg, &req, j);
		break;
	case CONTROL_QUARANTINE:
		if (ops->quarantine)
			ret = ops->quarantine(ops->arg, &req, j);
		break;
	case CONTROL_TRAFFIC:
		if (ops->traffic)
			ret = ops->traffic(ops->arg, &req, j);
		break;
	default:
		break;
	}
	if (j->after_key)
		json_null(j); /* an op that failed before writing its value */
	if (ret == -EOPNOTSUPP) {
		json_key(j, "error");
		json_str(j, "this agent does not support that request");
	}
	json_key(j, "ok");
	json_bool(j, !ret);
	json_obj_end(j);
	return ret ? "failed" : "ok";
}

/* Sends what the socket takes; true when the client is done with (closed). */
static bool client_write(struct control *c, struct client *cl)
{
	while (cl->out_off < cl->out_len) {
		ssize_t n = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n <= 0)
			break;
		cl->out_off += n;
	}
	client_close(c, cl);
	return true;
}

static void client_read(struct control *c, struct client *cl)
{
	const char *result;
	bool eof = false;
	ssize_t n;

	for (;;) {
		n = recv(cl->fd, cl->in + cl->in_len, sizeof(cl->in) - 1 - cl->in_len,
			 MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			eof = true;
			break;
		}
		cl->in_len += n;
		if (memchr(cl->in, '\n', cl->in_len) || cl->in_len == sizeof(cl->in) - 1)
			break;
	}
	if (!memchr(cl->in, '\n', cl->in_len) && cl->in_len < sizeof(cl->in) - 1) {
		if (!eof)
			return; /* more to come, within the deadline */
		if (!cl->in_len) {
			client_close(c, cl); /* connected and left */
			return;
		}
	}
	if (memchr(cl->in, '\n', cl->in_len))
		cl->in_len = (char *)memchr(cl->in, '\n', cl->in_len) - cl->in + 1;
	result = answer(c, cl);
	c->stats.served++;
	count(c, cl->verb, result);
	cl->out = c->reply.err ? NULL : malloc(c->reply.len + 1);
	if (!cl->out) {
		client_close(c, cl);
		return;
	}
	memcpy(cl->out, c->reply.buf, c->reply.len);
	cl->out[c->reply.len] = '\n';
	cl->out_len = c->reply.len + 1;
	cl->deadline_ns = now_ns() + (uint64_t)c->opts.reply_ms * 1000000ull;
	if (client_write(c, cl))
		return;
	epoll_ctl(c->epfd, EPOLL_CTL_MOD, cl->fd,
		  &(struct epoll_event){.events = EPOLLOUT, .data.ptr = cl});
}

void control__serve(struct control *c)
{
	struct epoll_event evs[CLIENTS_MAX + 1];
	uint64_t now;
	int n;

	n = epoll_wait(c->epfd, evs, CLIENTS_MAX + 1, 0);
	for (int i = 0; i < n; i++) {
		struct client *cl = evs[i].data.ptr;

		if (!cl)
			accept_clients(c);
		else if (cl->fd < 0)
			continue; /* closed earlier in this batch */
		else if (cl->out)
			client_write(c, cl);
		else
			client_read(c, cl);
	}
	if (!c->n_clients)
		return;
	now = now_ns();
	for (size_t s = 0; s < CLIENTS_MAX; s++) {
		struct client *cl = &c->cl[s];

		if (cl->fd < 0 || now < cl->deadline_ns)
			continue;
		c->stats.stalled++;
		count(c, cl->verb, "stalled");
		client_close(c, cl);
	}
}

bool control__busy(const struct control *c)
{
	return c && c->n_clients;
}

int control__fd(const struct control *c)
{
	return c->epfd;
}

void control__stats(const struct control *c, struct control_stats *out)
{
	*out = c->stats;
}

/* mkdir -p with mode 0700 for what is missing */
static int make_dirs(char *dir)
{
	struct stat st;

	if (!stat(dir, &st))
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
	char *slash = strrchr(dir, '/');

	if (slash && slash != dir) {
		int ret;

		*slash = '\0';
		ret = make_dirs(dir);
		*slash = '/';
		if (ret)
			return ret;
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

/* What is at path: 0 (nothing, or a stale socket now removed) or -errno with err. */
static int clear_path(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	const char *path = sa->sun_path;
	struct stat st;
	int fd, ret;

	if (lstat(path, &st))
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			 "control socket %s: a file that is not a socket is in the way; remove "
			 "it or choose another path with --control-socket",
			 path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(errno));
		return ret;
	}
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (!ret || errno == EAGAIN) {
		close(fd);
		snprintf(err, errlen,
			 "another vigil is running on %s (its control socket answers); stop it, "
			 "or give this one another --control-socket",
			 path);
		return -EADDRINUSE;
	}
	close(fd);
	if (unlink(path) && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "control socket %s: cannot remove the stale socket: %s", path,
			 strerror(errno));
		return ret;
	}
	return 0;
}

struct control *control__new(const struct control_opts *opts, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct control *c;
	struct stat st;
	char *dir = NULL, *slash;
	mode_t old;
	int ret;

	if (!opts->path || !opts->path[0] || strlen(opts->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket '%s': the path must be 1 to %zu bytes",
			 opts->path ? opts->path : "", sizeof(sa.sun_path) - 1);
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(opts->path)) || !(dir = strdup(opts->path))) {
		snprintf(err, errlen, "control socket %s: out of memory", opts->path);
		ret = -ENOMEM;
		goto err_free;
	}
	c->opts = *opts;
	c->opts.path = c->path;
	if (!c->opts.request_ms)
		c->opts.request_ms = DEFAULT_REQ_MS;
	if (!c->opts.reply_ms)
		c->opts.reply_ms = DEFAULT_REPL_MS;
	c->lfd = c->epfd = -1;
	for (size_t s = 0; s < CLIENTS_MAX; s++)
		c->cl[s].fd = -1;
	json_init(&c->reply);
	strcpy(sa.sun_path, c->path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		ret = make_dirs(dir);
		if (ret) {
			snprintf(err, errlen,
				 "control socket %s: cannot create the directory %s: %s", c->path,
				 dir, strerror(-ret));
			goto err_free;
		}
	}
	ret = clear_path(&sa, err, errlen);
	if (ret)
		goto err_free;
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0)
		goto err_errno;
	/* no moment where the socket is open to others: created 0600 */
	old = umask(077);
	ret = bind(c->lfd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (ret)
		goto err_errno;
	if (chmod(c->path, 0600) || stat(c->path, &st))
		goto err_unlink;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if (listen(c->lfd, 16))
		goto err_unlink;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->lfd,
				     &(struct epoll_event){.events = EPOLLIN, .data.ptr = NULL}))
		goto err_unlink;
	if (opts->metrics) {
		c->requests =
		    metrics__family(opts->metrics, METRIC_COUNTER, "vigil_control_requests_total",
				    "requests on the control socket, by verb and result",
				    (const char *const[]){"verb", "result", NULL});
		if (!c->requests)
			goto err_unlink;
	}
	free(dir);
	return c;

err_unlink:
	ret = -errno;
	snprintf(err, errlen, "control socket %s: %s", c->path, strerror(errno));
	unlink(c->path);
	goto err_free;
err_errno:
	ret = -errno;
	snprintf(err, errlen, "control socket %s: %s", c->path, strerror(errno));
err_free:
	if (c) {
		if (c->epfd >= 0)
			close(c->epfd);
		if (c->lfd >= 0)
			close(c->lfd);
		json_free(&c->reply);
		free(c->path);
	}
	free(c);
	free(dir);
	errno = -ret;
	return NULL;
}

void control__free(struct control *c)
{
	struct stat st;

	if (!c)
		return;
	for (size_t s = 0; s < CLIENTS_MAX; s++)
		if (c->cl[s].fd >= 0)
			client_close(c, &c->cl[s]);
	if (!stat(c->path, &st) && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	close(c->epfd);
	close(c->lfd);
	json_free(&c->reply);
	free(c->path);
	free(c);
}

/* ---- client ---- */

static int remaining_ms(uint64_t deadline)
{
	uint64_t now = now_ns();

	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

int control_call(const char *path, const char *line, int timeout_ms, char **reply, char *err,
		 size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t len = strlen(line), off = 0, cap = 0, used = 0;
	char *buf = NULL;
	int fd, ret;

	*reply = NULL;
	if (!path[0] || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "control socket '%s': the path must be 1 to %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (errno == ENOENT || errno == ENOTDIR)
			snprintf(err, errlen, "vigil is not running (no control socket at %s)",
				 path);
		else if (errno == ECONNREFUSED)
			snprintf(err, errlen,
				 "vigil is not running (nothing answers on %s, left by an agent "
				 "that stopped)",
				 path);
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen,
				 "permission denied on %s: the control socket is root's; run this "
				 "as root",
				 path);
		else if (errno == EAGAIN)
			snprintf(err, errlen, "vigil on %s is too busy to accept; try again", path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		goto out;
	}
	while (off < len + 1) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		const char *src = off < len ? line + off : "\n";
		ssize_t n = send(fd, src, off < len ? len - off : 1, MSG_NOSIGNAL);

		if (n > 0) {
			off += n;
			continue;
		}
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			break; /* refused before we spoke: its reply says why */
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			snprintf(err, errlen, "sending to vigil on %s: %s", path, strerror(errno));
			goto out;
		}
		if (poll(&p, 1, remaining_ms(deadline)) == 0)
			goto timeout;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (used + 4096 + 1 > cap) {
			char *nb = cap + 65536 > REPLY_MAX ? NULL : realloc(buf, cap + 65536);

			if (!nb) {
				ret = -E2BIG;
				snprintf(err, errlen, "the reply of vigil on %s is too large",
					 path);
				goto out;
			}
			buf = nb;
			cap += 65536;
		}
		n = recv(fd, buf + used, cap - used - 1, 0);
		if (n > 0) {
			used += n;
			continue;
		}
		/* a server that closes with our bytes unread resets: what came is all */
		if (n == 0 || errno == ECONNRESET)
			break;
		if (errno != EAGAIN && errno != EINTR) {
			ret = -errno;
			snprintf(err, errlen, "reading the reply of vigil on %s: %s", path,
				 strerror(errno));
			goto out;
		}
		if (poll(&p, 1, remaining_ms(deadline)) == 0)
			goto timeout;
	}
	if (!used) {
		ret = -EPROTO;
		snprintf(err, errlen, "vigil on %s closed the connection without a reply", path);
		goto out;
	}
	buf[used] = '\0';
	*reply = buf;
	buf = NULL;
	ret = 0;
	goto out;
timeout:
	ret = -ETIMEDOUT;
	snprintf(err, errlen, "no answer from vigil on %s within %.1f s; is the agent stuck?", path,
		 timeout_ms / 1000.0);
out:
	free(buf);
	close(fd);
	return ret;
}

/* ---- rendering: a printer over the JSON reader (util/json.h) ---- */

static bool is_flat(const struct json_value *v)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->kids[i].type == JSON_ARR || v->kids[i].type == JSON_OBJ)
			return false;
	return true;
}

static void put_scalar(const struct json_value *v, FILE *out)
{
	if (v->type == JSON_STR && !v->len)
		fputs("\"\"", out);
	else
		text_escape_write(out, v->s, v->len);
}

/* k=v k=v on one line; strings with spaces quoted */
static void put_inline(const struct json_value *v, FILE *out)
{
	for (size_t i = 0; i < v->n; i++) {
		const struct json_value *k = &v->kids[i];

		if (i)
			fputc(v->type == JSON_OBJ ? ' ' : ',', out);
		if (v->type == JSON_OBJ)
			fprintf(out, "%s=", k->key);
		if (k->type == JSON_STR && v->type == JSON_OBJ && memchr(k->s, ' ', k->len)) {
			fputc('"', out);
			text_escape_write(out, k->s, k->len);
			fputc('"', out);
		} else {
			put_scalar(k, out);
		}
	}
}

static void put_members(const struct json_value *v, int indent, FILE *out);

/* What follows "key:" (or "-") */
static void put_value(const struct json_value *v, int indent, FILE *out)
{
	if (v->type == JSON_STR && memchr(v->s, '\n', v->len)) {
		/* several lines (a reload's diagnostics): one each, indented */
		const char *p = v->s, *end = v->s + v->len;

		fputc('\n', out);
		while (p < end) {
			const char *nl = memchr(p, '\n', end - p);
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

			fprintf(out, "%*s", indent + 2, "");
			text_escape_write(out, p, n);
			fputc('\n', out);
			p += n + 1;
		}
	} else if (v->type == JSON_SCALAR || v->type == JSON_STR) {
		fputc(' ', out);
		put_scalar(v, out);
		fputc('\n', out);
	} else if (!v->n) {
		fputs(" (none)\n", out);
	} else if (is_flat(v)) {
		fputc(' ', out);
		put_inline(v, out);
		fputc('\n', out);
	} else if (v->type == JSON_OBJ) {
		fputc('\n', out);
		put_members(v, indent + 2, out);
	} else {
		fputc('\n', out);
		for (size_t i = 0; i < v->n; i++) {
			fprintf(out, "%*s-", indent + 2, "");
			put_value(&v->kids[i], indent + 2, out);
		}
	}
}

static void put_members(const struct json_value *v, int indent, FILE *out)
{
	for (size_t i = 0; i < v->n; i++) {
		fprintf(out, "%*s%s:", indent, "", v->kids[i].key);
		put_value(&v->kids[i], indent, out);
	}
}

int control_reply_ok(const char *json, char *err, size_t errlen)
{
	struct json_value v = {0};
	const struct json_value *ok, *e;
	int ret = json_parse_object(json, &v);

	if (ret) {
		snprintf(err, errlen, "the reply is not a JSON object");
		goto out;
	}
	ok = json_member(&v, "ok");
	e = json_member(&v, "error");
	ret = ok && ok->type == JSON_SCALAR && !strcmp(ok->s, "true");
	if (!ret)
		snprintf(err, errlen, "%s",
			 e && e->type == JSON_STR ? e->s : "the agent answered without saying why");
out:
	json_value_free(&v);
	return ret;
}

int control_render(const char *json, FILE *out)
{
	struct json_value v = {0};
	int ret = json_parse_object(json, &v);

	for (size_t i = 0; !ret && i < v.n; i++) {
		const char *k = v.kids[i].key;

		if (strcmp(k, "ok") && strcmp(k, "verb") && strcmp(k, "error")) {
			fprintf(out, "%s:", k);
			put_value(&v.kids[i], 0, out);
		}
	}
	json_value_free(&v);
	return ret;
}
