/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * control.h - the control socket: a unix stream socket the running agent serves
 * (root only, 0600) and the client the CLI verbs (vigil status, reload, actions) use.
 *
 * Protocol: the client sends one request line (`status`, `reload`, `actions [N]`,
 * at most CONTROL_LINE_MAX bytes) and reads one JSON object, ended by a newline and
 * the close of the connection. Every reply has "ok" (and "error" when it is false).
 *
 * The server never blocks its caller's event loop: the listening socket and every
 * client live in an epoll set of their own whose fd the agent polls; a client has
 * request_ms to send its line and reply_ms to take the reply, or it is dropped and
 * counted. What a verb answers comes from struct control_ops: this module knows
 * nothing of the agent.
 */
#ifndef VIGIL_CONTROL_H
#define VIGIL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define CONTROL_DEFAULT_PATH	"/run/vigil/vigil.sock"
#define CONTROL_LINE_MAX	256   /* request line, newline included */
#define CONTROL_ACTIONS_DEFAULT 20    /* `actions` without N */
#define CONTROL_ACTIONS_MAX	10000 /* largest N */

struct json_buf;
struct metrics;

enum control_verb {
	CONTROL_STATUS = 1,	/* the agent's state as one object */
	CONTROL_RELOAD = 2,	/* reload the rules, answer when they are in force */
	CONTROL_ACTIONS = 3,	/* the last N actions */
	CONTROL_BLOCK = 4,	/* block add CIDR FOR_S [REASON...] | block del CIDR | block list */
	CONTROL_RELEASE = 5,	/* release all | release ID: everything, or a container */
	CONTROL_ISOLATE = 6,	/* isolate ID [REASON...]: cut a container's network */
	CONTROL_QUARANTINE = 7, /* quarantine SECONDS [REASON...]: cut the node's network */
	CONTROL_TRAFFIC = 8,	/* traffic [N]: the N busiest ports and sources (vigil top) */
	CONTROL_VERB_MAX,
};

enum control_sub {
	CONTROL_SUB_NONE = 0,
	CONTROL_SUB_ADD,  /* block add */
	CONTROL_SUB_DEL,  /* block del */
	CONTROL_SUB_LIST, /* block list */
	CONTROL_SUB_ALL,  /* release all */
	CONTROL_SUB_ONE,  /* release ID */
	CONTROL_SUB_NODE, /* release node */
};

struct control_request {
	enum control_verb verb; /* what is asked */
	enum control_sub sub;	/* block, release: which */
	size_t n;		/* actions: how many, newest first; traffic: rows */
	char target[72];	/* block add, del: the address or prefix; isolate, release: the
				 * container id, as written */
	uint64_t for_s;		/* block add: seconds it holds; 0: until removed */
	char reason[128];	/* block add, isolate: the rest of the line, "" when none */
};

/*
 * Parses one request line (without or with its newline). Returns 0, or -EINVAL with
 * the problem and what is accepted in err.
 */
int control_parse_request(const char *line, size_t len, struct control_request *out, char *err,
			  size_t errlen);
/* "status", "reload", "actions"; NULL for anything else. */
const char *control_verb_name(enum control_verb v);

/*
 * What the verbs answer, filled by the agent. Each runs on the event loop's thread,
 * between two records, and writes into the reply object (already open).
 */
struct control_ops {
	/* Writes the status members. 0 or -errno. */
	int (*status)(void *arg, struct json_buf *out);
	/*
	 * Reloads the rules and returns when the new ones (and their prefilter) are in
	 * force: 0, or -errno after writing "error" (why, and that the old rules stay).
	 */
	int (*reload)(void *arg, struct json_buf *out);
	/* Writes one value: an array of the last n actions, newest first. 0 or -errno. */
	int (*actions)(void *arg, size_t n, struct json_buf *out);
	/* block and release: carries out the request; writes its members. 0 or -errno
	 * after writing "error". */
	int (*block)(void *arg, const struct control_request *req, struct json_buf *out);
	int (*release)(void *arg, const struct control_request *req, struct json_buf *out);
	int (*isolate)(void *arg, const struct control_request *req, struct json_buf *out);
	int (*quarantine)(void *arg, const struct control_request *req, struct json_buf *out);
	int (*traffic)(void *arg, const struct control_request *req, struct json_buf *out);
	void *arg; /* passed to each */
};

struct control_opts {
	const char *path;	 /* socket path (required, not empty) */
	struct control_ops ops;	 /* the verbs; a NULL op answers "not supported" */
	struct metrics *metrics; /* vigil_control_requests_total; NULL: none */
	uid_t peer_uid;		 /* the one uid served (0: root) */
	int request_ms;		 /* longest wait for the request line; 0: 200 */
	int reply_ms;		 /* longest wait for the client to take the reply; 0: 1000 */
};

struct control_stats {
	uint64_t served;  /* requests answered (ok or not) */
	uint64_t refused; /* peers of another uid, told so */
	uint64_t stalled; /* clients dropped for missing a deadline */
	uint64_t busy;	  /* clients turned away: too many at once */
};

struct control;

/*
 * Creates the socket's directory (0700) when missing, replaces a stale socket of a
 * dead agent, binds (0600) and listens. A live socket at path fails with "another
 * vigil is running on PATH". NULL with errno set and a message naming path in err.
 */
struct control *control__new(const struct control_opts *opts, char *err, size_t errlen);
/* Drops the clients, closes, and removes the socket if it is still this one's. */
void control__free(struct control *c);
/* An fd that is readable when serve has work: add it to the event loop's epoll. */
int control__fd(const struct control *c);
/* Accepts, reads, answers, and drops clients past their deadline; never blocks. */
void control__serve(struct control *c);
/* Whether clients are in progress: serve should then run on each loop tick too. */
bool control__busy(const struct control *c);
void control__stats(const struct control *c, struct control_stats *out);

/* ---- client ---- */

/*
 * Sends line to the agent at path and returns its reply (malloc'd, NUL-terminated)
 * in *reply. 0, or -errno with a message for the user in err: not running,
 * permission denied, no answer within timeout_ms.
 */
int control_call(const char *path, const char *line, int timeout_ms, char **reply, char *err,
		 size_t errlen);

/*
 * Whether a reply says "ok": true: 1, 0 with its "error" in err, -EINVAL (and a
 * message in err) when it is not a JSON object.
 */
int control_reply_ok(const char *json, char *err, size_t errlen);

/*
 * Renders a reply readably: "key: value" lines, nested objects indented, arrays of
 * small objects one line per element; ok, verb and error are left out. -EINVAL when
 * json is not a JSON object.
 */
int control_render(const char *json, FILE *out);

#endif /* VIGIL_CONTROL_H */
