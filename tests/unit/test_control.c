/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_control.c - the control socket without the agent: the request parser, a round
 * trip between control_call (in a thread) and the server pumped here, the refusal of
 * another uid, a client that stalls, stale and live sockets at start, the socket's
 * mode, and the rendering of replies.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"
#include "util/json.h"

/* ---- the request line ---- */

Test(control, parses_the_verbs)
{
	struct control_request r;
	char err[256];

	cr_assert_eq(control_parse_request("status", 6, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.verb, CONTROL_STATUS);
	cr_assert_eq(control_parse_request("reload\r\n", 8, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.verb, CONTROL_RELOAD);
	cr_assert_eq(control_parse_request("actions\n", 8, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.verb, CONTROL_ACTIONS);
	cr_assert_eq(r.n, CONTROL_ACTIONS_DEFAULT);
	cr_assert_eq(control_parse_request(" actions\t7 ", 11, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.n, 7);
	cr_assert_str_eq(control_verb_name(CONTROL_ACTIONS), "actions");
	cr_assert_eq(control_parse_request("block add 10.0.0.0/8 600 brute force from  it", 45, &r,
					   err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(r.verb, CONTROL_BLOCK);
	cr_assert_eq(r.sub, CONTROL_SUB_ADD);
	cr_assert_str_eq(r.target, "10.0.0.0/8");
	cr_assert_eq(r.for_s, 600);
	cr_assert_str_eq(r.reason, "brute force from  it");
	cr_assert_eq(control_parse_request("block del ::1", 13, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.sub, CONTROL_SUB_DEL);
	cr_assert_str_eq(r.target, "::1");
	cr_assert_eq(control_parse_request("release all", 11, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.verb, CONTROL_RELEASE);
	cr_assert_eq(r.sub, CONTROL_SUB_ALL);
	cr_assert_eq(control_parse_request("isolate 0123456789ab miner", 26, &r, err, sizeof(err)),
		     0);
	cr_assert_eq(r.verb, CONTROL_ISOLATE);
	cr_assert_str_eq(r.target, "0123456789ab");
	cr_assert_str_eq(r.reason, "miner");
	cr_assert_eq(control_parse_request("release 0123456789ab", 20, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.sub, CONTROL_SUB_ONE);
	cr_assert_eq(control_parse_request("release node", 12, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.sub, CONTROL_SUB_NODE);
	cr_assert_eq(control_parse_request("quarantine 60 worm", 18, &r, err, sizeof(err)), 0);
	cr_assert_eq(r.verb, CONTROL_QUARANTINE);
	cr_assert_eq(r.for_s, 60);
	cr_assert_str_eq(r.reason, "worm");
	cr_assert_null(control_verb_name(0));
}

Test(control, refuses_bad_requests_saying_why)
{
	static const struct {
		const char *line, *want;
	} bad[] = {
	    {"", "empty request"},
	    {"   \n", "empty request"},
	    {"frob", "unknown request 'frob'; expected status, reload, actions [N], block "
		     "add|del|list, isolate ID, quarantine SECONDS, release all|node|ID or "
		     "traffic [N]"},
	    {"traffic 0", "traffic: N must be a number"},
	    {"traffic 5 6", "too many words; traffic takes one number"},
	    {"quarantine", "SECONDS must be a number"},
	    {"quarantine soon", "SECONDS must be a number"},
	    {"block", "block: expected add CIDR SECONDS [REASON], del CIDR or list"},
	    {"block add 10.0.0.1", "SECONDS must be a number"},
	    {"block add 10.0.0.1 soon", "SECONDS must be a number"},
	    {"block list now", "too many words for block list"},
	    {"release", "expected 'release all', 'release node' or 'release ID'"},
	    {"release all now", "expected 'release all', 'release node' or 'release ID'"},
	    {"isolate", "expected 'isolate ID [REASON]'"},
	    {"status now", "status takes no argument"},
	    {"actions 0", "N must be a number from 1 to 10000"},
	    {"actions 10001", "N must be a number from 1 to 10000"},
	    {"actions -1", "N must be a number"},
	    {"actions 5x", "N must be a number"},
	    {"actions 5 6", "too many words"},
	    {"fr\x01o", "unknown request 'fr\\x01o'"},
	};
	struct control_request r;
	char err[256], line[400];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(
		    control_parse_request(bad[i].line, strlen(bad[i].line), &r, err, sizeof(err)),
		    -EINVAL, "%s", bad[i].line);
		cr_assert_not_null(strstr(err, bad[i].want), "%s: %s", bad[i].line, err);
	}
	memset(line, 'a', sizeof(line));
	cr_assert_eq(control_parse_request(line, sizeof(line), &r, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "longer than 256 bytes"));
	/* the limit counts the newline */
	cr_assert_eq(control_parse_request(line, 255, &r, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown request"), "%s", err);
	cr_assert_eq(control_parse_request(line, 256, &r, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "longer than 256 bytes"), "%s", err);
	cr_assert_eq(control_parse_request("stat\0us", 7, &r, err, sizeof(err)), -EINVAL);
}

/* ---- server and client ---- */

struct fake {
	int status_calls, reload_calls;
	size_t actions_n;
	int reload_ret; /* what reload answers */
};

static int fake_status(void *arg, struct json_buf *out)
{
	struct fake *f = arg;

	f->status_calls++;
	json_key(out, "mode");
	json_str(out, "enforce");
	json_key(out, "programs");
	json_arr_begin(out);
	json_obj_begin(out);
	json_key(out, "name");
	json_str(out, "vg_exec");
	json_key(out, "enabled");
	json_bool(out, true);
	json_obj_end(out);
	json_arr_end(out);
	return 0;
}

static int fake_reload(void *arg, struct json_buf *out)
{
	struct fake *f = arg;

	f->reload_calls++;
	if (f->reload_ret) {
		json_key(out, "error");
		json_str(out, "r.yaml:2:3: error: bad; the running rules stay");
	}
	return f->reload_ret;
}

static int fake_actions(void *arg, size_t n, struct json_buf *out)
{
	struct fake *f = arg;

	f->actions_n = n;
	json_arr_begin(out);
	json_arr_end(out);
	return 0;
}

struct call {
	const char *path, *line;
	int ret;
	char *reply;
	char err[512];
	volatile int done;
};

static void *call_thread(void *arg)
{
	struct call *c = arg;

	c->ret = control_call(c->path, c->line, 5000, &c->reply, c->err, sizeof(c->err));
	c->done = 1;
	return NULL;
}

/* One request through the server, pumped here as the agent's loop would. */
static int round_trip(struct control *srv, const char *path, const char *line, char **reply,
		      char *err)
{
	struct call c = {.path = path, .line = line};
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, call_thread, &c), 0);
	for (int i = 0; i < 5000 && !c.done; i++) {
		if (srv)
			control__serve(srv);
		usleep(1000);
	}
	pthread_join(t, NULL);
	*reply = c.reply;
	if (err)
		strcpy(err, c.err);
	return c.ret;
}

static char *tmp_dir(void)
{
	char tmpl[] = "/tmp/vigil-control-XXXXXX";
	char *d = mkdtemp(tmpl);

	cr_assert_not_null(d);
	return strdup(d);
}

/* What the tests leave in a temporary directory, removed with it. */
static void rm_tmp(char *dir)
{
	static const char *const left[] = {"vigil.sock", "run/vigil/vigil.sock", NULL};
	static const char *const dirs[] = {"run/vigil", "run", NULL};
	char p[512];

	for (size_t i = 0; left[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, left[i]);
		unlink(p);
	}
	for (size_t i = 0; dirs[i]; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		rmdir(p);
	}
	cr_expect_eq(rmdir(dir), 0, "%s: %s", dir, strerror(errno));
	free(dir);
}

static struct control *serve(const char *path, struct fake *f, uid_t uid, char *err)
{
	struct control_opts o = {
	    .path = path,
	    .ops = {.status = fake_status,
		    .reload = fake_reload,
		    .actions = fake_actions,
		    .arg = f},
	    .peer_uid = uid,
	    .request_ms = 100,
	};

	return control__new(&o, err, 512);
}

Test(control, answers_each_verb_over_the_socket)
{
	char *dir = tmp_dir(), path[256], err[512], *reply;
	struct fake f = {0};
	struct control_stats st;
	struct control *srv;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/run/vigil/vigil.sock", dir);
	srv = serve(path, &f, getuid(), err);
	cr_assert_not_null(srv, "%s", err);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777, 0600, "socket mode %o", sb.st_mode & 0777);
	*strrchr(path, '/') = '\0';
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700, "directory mode %o", sb.st_mode & 0777);
	strcat(path, "/vigil.sock");

	cr_assert_eq(round_trip(srv, path, "status", &reply, err), 0, "%s", err);
	cr_assert_str_eq(reply, "{\"verb\":\"status\",\"mode\":\"enforce\",\"programs\":[{\"name\":"
				"\"vg_exec\",\"enabled\":true}],\"ok\":true}\n");
	cr_assert_eq(control_reply_ok(reply, err, sizeof(err)), 1);
	free(reply);

	cr_assert_eq(round_trip(srv, path, "actions 3", &reply, err), 0);
	cr_assert_str_eq(reply, "{\"verb\":\"actions\",\"actions\":[],\"ok\":true}\n");
	cr_assert_eq(f.actions_n, 3);
	free(reply);

	f.reload_ret = -EINVAL;
	cr_assert_eq(round_trip(srv, path, "reload", &reply, err), 0);
	cr_assert_eq(control_reply_ok(reply, err, sizeof(err)), 0);
	cr_assert_str_eq(err, "r.yaml:2:3: error: bad; the running rules stay");
	free(reply);

	cr_assert_eq(round_trip(srv, path, "bogus", &reply, err), 0);
	cr_assert_eq(control_reply_ok(reply, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "unknown request 'bogus'"), "%s", err);
	free(reply);

	control__stats(srv, &st);
	cr_assert_eq(st.served, 4);
	cr_assert_eq(f.status_calls, 1);
	cr_assert_eq(f.reload_calls, 1);
	control__free(srv);
	cr_assert_neq(stat(path, &sb), 0, "the socket is removed at stop");
	cr_assert_eq(round_trip(NULL, path, "status", &reply, err), -ENOENT);
	cr_assert_not_null(strstr(err, "vigil is not running (no control socket at"), "%s", err);
	rm_tmp(dir);
}

Test(control, refuses_another_uid)
{
	char *dir = tmp_dir(), path[256], err[512], *reply;
	struct fake f = {0};
	struct control_stats st;
	struct control *srv;

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	srv = serve(path, &f, getuid() + 1, err);
	cr_assert_not_null(srv, "%s", err);
	cr_assert_eq(round_trip(srv, path, "status", &reply, err), 0, "%s", err);
	cr_assert_eq(control_reply_ok(reply, err, sizeof(err)), 0);
	cr_assert_not_null(strstr(err, "serves uid"), "%s", err);
	free(reply);
	control__stats(srv, &st);
	cr_assert_eq(st.refused, 1);
	cr_assert_eq(f.status_calls, 0);
	control__free(srv);
	rm_tmp(dir);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

Test(control, drops_a_client_that_stalls)
{
	char *dir = tmp_dir(), path[256], err[512], *reply;
	struct fake f = {0};
	struct control_stats st;
	struct control *srv;
	int fd;

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	srv = serve(path, &f, getuid(), err);
	cr_assert_not_null(srv, "%s", err);
	fd = connect_to(path);
	cr_assert_eq(write(fd, "sta", 3), 3); /* and never the rest */
	for (int i = 0; i < 300; i++) {
		control__serve(srv);
		usleep(1000);
	}
	control__stats(srv, &st);
	cr_assert_eq(st.stalled, 1);
	cr_assert_not(control__busy(srv));
	cr_assert_eq(read(fd, err, sizeof(err)), 0, "dropped without a reply");
	close(fd);
	/* and the next client is served */
	cr_assert_eq(round_trip(srv, path, "status", &reply, err), 0, "%s", err);
	free(reply);
	control__free(srv);
	rm_tmp(dir);
}

Test(control, replaces_a_stale_socket_and_refuses_a_live_one)
{
	char *dir = tmp_dir(), path[256], err[512];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fake f = {0};
	struct control *srv, *two;
	int fd;

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	/* a dead agent's socket: bound, nobody listens */
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	srv = serve(path, &f, getuid(), err);
	cr_assert_not_null(srv, "%s", err);
	two = serve(path, &f, getuid(), err);
	cr_assert_null(two);
	cr_assert_eq(errno, EADDRINUSE);
	cr_assert_not_null(strstr(err, "another vigil is running on "), "%s", err);
	cr_assert_not_null(strstr(err, path));
	control__free(srv);
	rm_tmp(dir);
}

Test(control, refuses_a_file_in_the_way_and_a_long_path)
{
	char *dir = tmp_dir(), path[256], err[512];
	struct fake f = {0};
	FILE *file;

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	file = fopen(path, "w");
	cr_assert_not_null(file);
	fclose(file);
	cr_assert_null(serve(path, &f, getuid(), err));
	cr_assert_not_null(strstr(err, "not a socket is in the way"), "%s", err);
	unlink(path);
	memset(path, 'a', 200);
	path[0] = '/';
	path[200] = '\0';
	cr_assert_null(serve(path, &f, getuid(), err));
	cr_assert_not_null(strstr(err, "the path must be 1 to 107 bytes"), "%s", err);
	rm_tmp(dir);
}

/* ---- rendering ---- */

static char *render(const char *json, int *ret)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	*ret = control_render(json, f);
	fclose(f);
	return buf;
}

Test(control, renders_replies_readably)
{
	int ret;
	char *out =
	    render("{\"verb\":\"status\",\"mode\":\"enforce\",\"pid\":12,"
		   "\"rules\":{\"loaded\":3,\"active\":2},\"files\":[\"a b\",\"c\"],"
		   "\"programs\":[{\"name\":\"vg_exec\",\"why\":\"\",\"on\":true},"
		   "{\"name\":\"vg_x\",\"why\":\"not here\",\"on\":false}],"
		   "\"none\":[],\"deep\":{\"x\":{\"y\":null}},"
		   "\"s\":\"\\u00e9\\udcff\\u0001\",\"w\":\"a:1: x\\nb:2: y\",\"ok\":true}\n",
		   &ret);

	cr_assert_eq(ret, 0);
	cr_assert_str_eq(out, "mode: enforce\n"
			      "pid: 12\n"
			      "rules: loaded=3 active=2\n"
			      "files: a b,c\n"
			      "programs:\n"
			      "  - name=vg_exec why=\"\" on=true\n"
			      "  - name=vg_x why=\"not here\" on=false\n"
			      "none: (none)\n"
			      "deep:\n"
			      "  x: y=null\n"
			      "s: \xc3\xa9\xff\\x01\n"
			      "w:\n"
			      "  a:1: x\n"
			      "  b:2: y\n");
	free(out);
	out = render("{\"a\":", &ret);
	cr_assert_eq(ret, -EINVAL);
	free(out);
	out = render("[1,2]", &ret);
	cr_assert_eq(ret, -EINVAL);
	free(out);
}

Test(control, reply_ok_needs_an_object_saying_ok)
{
	char err[128];

	cr_assert_eq(control_reply_ok("{\"ok\":true}", err, sizeof(err)), 1);
	cr_assert_eq(control_reply_ok("{\"ok\":false,\"error\":\"no\"}", err, sizeof(err)), 0);
	cr_assert_str_eq(err, "no");
	cr_assert_eq(control_reply_ok("{\"ok\":false}", err, sizeof(err)), 0);
	cr_assert_eq(control_reply_ok("nope", err, sizeof(err)), -EINVAL);
}

Test(control, a_line_too_long_is_answered_not_waited_for)
{
	char *dir = tmp_dir(), path[256], err[512], line[400];
	struct fake f = {0};
	struct control *srv;
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	srv = serve(path, &f, getuid(), err);
	cr_assert_not_null(srv, "%s", err);
	fd = connect_to(path);
	memset(line, 'a', sizeof(line));
	cr_assert_eq(write(fd, line, sizeof(line)), (ssize_t)sizeof(line));
	for (int i = 0; i < 100 && n <= 0; i++) {
		control__serve(srv);
		usleep(1000);
		n = recv(fd, err, sizeof(err) - 1, MSG_DONTWAIT);
	}
	cr_assert_gt(n, 0);
	err[n] = '\0';
	cr_assert_not_null(strstr(err, "longer than 256 bytes"), "%s", err);
	close(fd);
	control__free(srv);
	rm_tmp(dir);
}

Test(control, the_client_gives_up_on_a_silent_agent)
{
	char *dir = tmp_dir(), path[256], err[512], *reply;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(path, sizeof(path), "%s/vigil.sock", dir);
	strcpy(sa.sun_path, path);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fd, 4), 0); /* listens, never answers */
	cr_assert_eq(control_call(path, "status", 200, &reply, err, sizeof(err)), -ETIMEDOUT);
	cr_assert_not_null(strstr(err, "no answer from vigil on"), "%s", err);
	cr_assert_not_null(strstr(err, "within 0.2 s"), "%s", err);
	cr_assert_null(reply);
	close(fd);
	unlink(path);
	rm_tmp(dir);
}
