// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach_driver.c - drives the loader's steps and every attach kind with the test
 * object attach_kinds.bpf.c: attaches each program through the loader's table
 * (cgroup connect4 on --cgroup, XDP and TC on --ifname, a uprobe on this binary's
 * own probe_target()), makes calls and traffic, and prints one JSON line with the
 * program states and the counters: after the traffic, right after detach, and
 * after the same traffic again (which must not move them).
 *
 *   attach_driver --cgroup DIR --ifname IF [--lsm-required] [--refuse]
 *                 [--refuse-required]
 *
 * Run it in a network namespace of its own (the traffic is UDP to 127.0.0.1).
 * Exit 0 when the steps succeeded, 1 with the loader's error on stderr if not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "attach_kinds.skel.h"
#include "kernel/loader.h"

LOADER_SKEL_OPS(attach_kinds_bpf);

#define ROUNDS 5

struct driver_opts {
	bool refuse; /* set refuse_load: count_refusable fails verification */
};

/* The uprobe's target: not inlined, not dropped, called ROUNDS times. */
__attribute__((noinline, used)) int probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x + 1;
}

static int configure(void *skel, void *arg, char *err, size_t errlen)
{
	struct attach_kinds_bpf *obj = skel;
	const struct driver_opts *o = arg;

	obj->rodata->target_pid = getpid();
	obj->rodata->refuse_load = o->refuse;
	return 0;
}

static int join_cgroup(const char *dir)
{
	char path[PATH_MAX], pid[32];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (write(fd, pid, n) != n)
		ret = -errno;
	close(fd);
	return ret;
}

/* Calls and traffic every program counts. */
static void drive(void)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};

	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < ROUNDS; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		syscall(SYS_getppid);
		probe_target(i);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) == 0)
			(void)!send(fd, "x", 1, 0);
		close(fd);
	}
	/* let the loopback's softirq run the receive side */
	usleep(100 * 1000);
}

static void print_hits(const struct attach_kinds_bpf *s)
{
	printf("{\"tracepoint\": %llu, \"raw_tracepoint\": %llu, \"cgroup\": %llu, "
	       "\"xdp\": %llu, \"tc_ingress\": %llu, \"tc_egress\": %llu, \"lsm\": %llu, "
	       "\"uprobe\": %llu, \"refusable\": %llu}",
	       (unsigned long long)s->bss->hits_tracepoint,
	       (unsigned long long)s->bss->hits_raw_tracepoint,
	       (unsigned long long)s->bss->hits_cgroup, (unsigned long long)s->bss->hits_xdp,
	       (unsigned long long)s->bss->hits_tc_ingress,
	       (unsigned long long)s->bss->hits_tc_egress, (unsigned long long)s->bss->hits_lsm,
	       (unsigned long long)s->bss->hits_uprobe, (unsigned long long)s->bss->hits_refusable);
}

static void print_states(const struct loader *l)
{
	struct loader_prog_state st;

	printf("[");
	for (size_t i = 0; i < loader__n_progs(l); i++) {
		loader__prog_state(l, i, &st);
		printf("%s{\"name\": \"%s\", \"kind\": \"%s\", \"enabled\": %s, "
		       "\"attachments\": %d}",
		       i ? ", " : "", st.name, st.kind, st.enabled ? "true" : "false",
		       st.attachments);
	}
	printf("]");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"cgroup", required_argument, NULL, 'c'},	 {"ifname", required_argument, NULL, 'i'},
	    {"lsm-required", no_argument, NULL, 'l'},	 {"refuse", no_argument, NULL, 'r'},
	    {"refuse-required", no_argument, NULL, 'R'}, {0},
	};
	struct loader_prog progs[] = {
	    {"count_tracepoint", LOADER_TRACEPOINT, "syscalls/sys_enter_getppid", true},
	    {"count_refusable", LOADER_TRACEPOINT, NULL, false},
	    {"count_raw_tracepoint", LOADER_RAW_TRACEPOINT, "sys_enter", true},
	    {"count_cgroup", LOADER_CGROUP, NULL, true},
	    {"count_xdp", LOADER_XDP, NULL, true},
	    {"count_tc_ingress", LOADER_TC_INGRESS, NULL, true},
	    {"count_tc_egress", LOADER_TC_EGRESS, NULL, true},
	    {"count_lsm", LOADER_LSM, NULL, false},
	    {"count_uprobe", LOADER_UPROBE, NULL, true},
	};
	struct driver_opts o = {0};
	struct loader_spec spec = {
	    .skel = &attach_kinds_bpf__loader_ops,
	    .progs = progs,
	    .n_progs = sizeof(progs) / sizeof(progs[0]),
	    .configure = configure,
	    .arg = &o,
	};
	const char *cgroup = NULL, *ifname = NULL;
	char exe[PATH_MAX], uprobe[PATH_MAX + 32], err[1024];
	struct attach_kinds_bpf *skel;
	struct loader *l;
	ssize_t n;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cgroup = optarg;
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'l':
			progs[7].required = true;
			break;
		case 'R':
			progs[1].required = true;
			/* fall through */
		case 'r':
			o.refuse = true;
			break;
		default:
			return 2;
		}
	}
	if (!cgroup || !ifname) {
		fprintf(stderr, "usage: attach_driver --cgroup DIR --ifname IF [--lsm-required] "
				"[--refuse] [--refuse-required]\n");
		return 2;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return 1;
	exe[n] = 0;
	snprintf(uprobe, sizeof(uprobe), "%s:probe_target", exe);

	l = loader__new(&spec, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "attach_driver: %s\n", err);
		return 1;
	}
	loader__print_features(l, stderr);
	if (loader__set_target(l, "count_cgroup", cgroup) ||
	    loader__set_target(l, "count_xdp", ifname) ||
	    loader__set_target(l, "count_tc_ingress", ifname) ||
	    loader__set_target(l, "count_tc_egress", ifname) ||
	    loader__set_target(l, "count_uprobe", uprobe) ||
	    loader__set_target(l, "no_such_program", "x") != -ENOENT) {
		fprintf(stderr, "attach_driver: loader__set_target failed\n");
		ret = 1;
		goto out;
	}
	/* the steps one by one, as a caller with something to do between them would */
	ret = loader__open(l);
	if (!ret)
		ret = loader__configure(l);
	if (!ret)
		ret = loader__load(l);
	if (!ret)
		ret = loader__attach(l);
	if (ret) {
		fprintf(stderr, "attach_driver: %s\n", loader__error(l));
		ret = 1;
		goto out;
	}
	skel = loader__skel(l);
	ret = join_cgroup(cgroup);
	if (ret) {
		fprintf(stderr, "attach_driver: cannot join %s: %s\n", cgroup, strerror(-ret));
		ret = 1;
		goto out;
	}
	drive();
	printf("{\"states\": ");
	print_states(l);
	printf(", \"hits\": ");
	print_hits(skel);
	/* detaching makes syscalls the raw tracepoint still counts: compare after it */
	loader__detach(l);
	printf(", \"detached\": ");
	print_hits(skel);
	drive();
	printf(", \"after_detach\": ");
	print_hits(skel);
	printf("}\n");
	ret = 0;
out:
	loader__free(l);
	return ret;
}
