// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loader.c - turns the generated skeleton into running sensors. libbpf's own
 * messages go to stderr only when they are warnings; the name of a program the
 * kernel refused is picked out of them so the error can say which one failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detect/filter.h"
#include "loader.h"
#include "vigil.skel.h"

#define MAX_LINKS 128

/* The ring's positions: the consumer page (read-write) and the producer page. */
struct ring_pos {
	volatile unsigned long *consumer; /* first page of the map */
	volatile unsigned long *producer; /* second page, read-only */
};

struct loader {
	struct ring_pos pos;		   /* for the fill level; NULL pointers if unmapped */
	struct vigil_bpf *skel;		   /* generated skeleton, loaded */
	struct bpf_link *links[MAX_LINKS]; /* one per attached program */
	int nlinks;			   /* links in use */
	int ncpu;			   /* possible CPUs, for per-CPU maps */
};

static char failed_prog[64];	/* last program libbpf reported as refused */
static char verifier_tail[512]; /* the verifier's last words before a refusal */
static char failed_map[64];	/* last map libbpf could not create */

/* Keeps the last non-empty line of a verifier log that precedes its END marker. */
static void keep_verifier_tail(const char *log)
{
	const char *end = strstr(log, "-- END PROG LOAD LOG --");
	const char *p, *start;

	if (!end)
		return;
	p = end;
	for (;;) {
		while (p > log && (p[-1] == '\n' || p[-1] == ' '))
			p--;
		start = p;
		while (start > log && start[-1] != '\n')
			start--;
		/* skip the statistics lines that close every log */
		if (start == log ||
		    (strncmp(start, "processed ", 10) && strncmp(start, "verification time", 17)))
			break;
		p = start;
	}
	snprintf(verifier_tail, sizeof(verifier_tail), "%.*s", (int)(p - start), start);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char line[256 * 1024];
	const char *p;

	vsnprintf(line, sizeof(line), fmt, ap);
	p = strstr(line, "prog '");
	if (p && (strstr(line, "failed to load") || strstr(line, "load failed"))) {
		p += 6;
		snprintf(failed_prog, sizeof(failed_prog), "%.*s", (int)strcspn(p, "'"), p);
	}
	p = strstr(line, "map '");
	if (p && strstr(line, "failed to create")) {
		p += 5;
		snprintf(failed_map, sizeof(failed_map), "%.*s", (int)strcspn(p, "'"), p);
	}
	keep_verifier_tail(line);
	if (getenv("VIGIL_BPF_DEBUG"))
		return fputs(line, stderr);
	/* the verifier's whole log is noise to a user; its last words go into the error */
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO || strstr(line, "PROG LOAD LOG"))
		return 0;
	return fputs(line, stderr);
}

/* libbpf finds tracepoint ids in tracefs; mount it where a minimal system has not. */
static int ensure_tracefs(char *err, size_t errlen)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
		return 0;
	snprintf(err, errlen,
		 "tracefs is not mounted and mounting it on /sys/kernel/tracing failed: %s "
		 "(mount it with: mount -t tracefs tracefs /sys/kernel/tracing)",
		 strerror(errno));
	return -errno;
}

static int check_environment(const struct loader_opts *opts, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "vigil must run as root to load BPF programs (try: sudo vigil run)");
		return -EPERM;
	}
	if (opts->btf_path && access(opts->btf_path, R_OK) != 0) {
		snprintf(err, errlen,
			 "--btf %s: %s (give a BTF file for this kernel, e.g. from "
			 "BTFHub, or leave --btf out on a kernel with /sys/kernel/btf/vmlinux)",
			 opts->btf_path, strerror(errno));
		return -ENOENT;
	}
	if (!opts->btf_path && access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(
		    err, errlen,
		    "kernel BTF is missing (/sys/kernel/btf/vmlinux): vigil needs a kernel "
		    "built with CONFIG_DEBUG_INFO_BTF=y, or a BTF file for it given with --btf");
		return -ENOENT;
	}
	return ensure_tracefs(err, errlen);
}

/*
 * Syscalls differ between kernels (fchmodat2 is 6.6+): a program whose tracepoint
 * this kernel lacks is not loaded, and the loss is said once.
 */
static void skip_missing_tracepoints(struct bpf_object *obj)
{
	struct bpf_program *prog;
	char path[256];

	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);

		if (strncmp(sec, "tp/", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", sec + 3);
		if (access(path, F_OK) == 0)
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s/id", sec + 3);
		if (access(path, F_OK) == 0)
			continue;
		fprintf(stderr,
			"vigil: warning: this kernel has no tracepoint %s; %s is not loaded\n",
			sec + 3, bpf_program__name(prog));
		bpf_program__set_autoload(prog, false);
	}
}

static void map_positions(struct loader *l)
{
	int fd = bpf_map__fd(l->skel->maps.events);
	long page = sysconf(_SC_PAGESIZE);
	void *c = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);

	if (c == MAP_FAILED || p == MAP_FAILED) {
		if (c != MAP_FAILED)
			munmap(c, page);
		if (p != MAP_FAILED)
			munmap(p, page);
		return;
	}
	l->pos.consumer = c;
	l->pos.producer = p;
}

struct loader *loader__open(const struct loader_opts *opts, char *err, size_t errlen)
{
	struct bpf_program *prog;
	struct loader *l;
	int ret;

	ret = check_environment(opts, err, errlen);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	libbpf_set_print(libbpf_print);
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	l->ncpu = libbpf_num_possible_cpus();
	l->skel = vigil_bpf__open_opts(&(struct bpf_object_open_opts){
	    .sz = sizeof(struct bpf_object_open_opts),
	    .btf_custom_path = opts->btf_path,
	});
	if (!l->skel) {
		ret = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto err_free;
	}
	ret = bpf_map__set_max_entries(l->skel->maps.events, opts->ringbuf_bytes);
	if (!ret && (opts->ringbuf_bytes < (size_t)getpagesize() ||
		     (opts->ringbuf_bytes & (opts->ringbuf_bytes - 1))))
		ret = -EINVAL;
	if (ret) {
		snprintf(err, errlen,
			 "ring buffer size %zu refused: %s (it must be a power of two, "
			 "at least the page size)",
			 opts->ringbuf_bytes, strerror(-ret));
		goto err_destroy;
	}
	skip_missing_tracepoints(l->skel->obj);
	/* load-time knobs: rodata, frozen at load */
	l->skel->rodata->vg_cfg.self_pid = opts->self_pid;
	l->skel->rodata->vg_cfg.wake_bytes = opts->wake_bytes;
	failed_prog[0] = failed_map[0] = verifier_tail[0] = 0;
	ret = vigil_bpf__load(l->skel);
	if (ret) {
		if (failed_prog[0])
			snprintf(err, errlen,
				 "the kernel refused BPF program '%s': %s (errno %d)%s%s",
				 failed_prog, strerror(-ret), -ret,
				 verifier_tail[0] ? "; verifier: " : "", verifier_tail);
		else if (failed_map[0])
			snprintf(err, errlen,
				 "the kernel refused to create BPF map '%s': %s (errno %d)",
				 failed_map, strerror(-ret), -ret);
		else
			snprintf(err, errlen, "cannot load the BPF object: %s (errno %d)",
				 strerror(-ret), -ret);
		goto err_destroy;
	}
	bpf_object__for_each_program(prog, l->skel->obj)
	{
		struct bpf_link *link;

		if (!bpf_program__autoload(prog))
			continue;
		if (l->nlinks == MAX_LINKS) {
			ret = -E2BIG;
			snprintf(err, errlen, "too many BPF programs (%d)", MAX_LINKS);
			goto err_detach;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			ret = -errno;
			snprintf(err, errlen, "cannot attach BPF program '%s' (%s): %s (errno %d)",
				 bpf_program__name(prog), bpf_program__section_name(prog),
				 strerror(-ret), -ret);
			goto err_detach;
		}
		l->links[l->nlinks++] = link;
	}
	map_positions(l);
	return l;

err_detach:
	while (l->nlinks > 0)
		bpf_link__destroy(l->links[--l->nlinks]);
err_destroy:
	vigil_bpf__destroy(l->skel);
err_free:
	free(l);
	errno = -ret;
	return NULL;
}

void loader__detach(struct loader *l)
{
	while (l && l->nlinks > 0)
		bpf_link__destroy(l->links[--l->nlinks]);
}

void loader__free(struct loader *l)
{
	if (!l)
		return;
	if (l->pos.consumer) {
		munmap((void *)l->pos.consumer, sysconf(_SC_PAGESIZE));
		munmap((void *)l->pos.producer, sysconf(_SC_PAGESIZE));
	}
	while (l->nlinks > 0)
		bpf_link__destroy(l->links[--l->nlinks]);
	vigil_bpf__destroy(l->skel);
	free(l);
}

int loader__ringbuf_fd(const struct loader *l)
{
	return bpf_map__fd(l->skel->maps.events);
}

size_t loader__ringbuf_used(const struct loader *l)
{
	if (!l || !l->pos.consumer)
		return 0;
	return *l->pos.producer - *l->pos.consumer;
}

void loader__filter_maps(const struct loader *l, struct filter_maps *out)
{
	out->types = bpf_map__fd(l->skel->maps.filter_types);
	out->paths = bpf_map__fd(l->skel->maps.filter_paths);
	out->comms = bpf_map__fd(l->skel->maps.filter_comms);
	out->ports = bpf_map__fd(l->skel->maps.filter_ports);
	out->cgroups = bpf_map__fd(l->skel->maps.filter_cgroups);
}

int loader__counters(const struct loader *l, struct vg_counters *out)
{
	int fd = bpf_map__fd(l->skel->maps.counters);
	struct vg_counters *percpu;
	__u32 type;
	int cpu;

	percpu = calloc(l->ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out) * VG_EV_TYPE_MAX);
	for (type = 0; type < VG_EV_TYPE_MAX; type++) {
		if (bpf_map_lookup_elem(fd, &type, percpu))
			continue;
		for (cpu = 0; cpu < l->ncpu; cpu++) {
			out[type].seen += percpu[cpu].seen;
			out[type].filtered += percpu[cpu].filtered;
			out[type].sent += percpu[cpu].sent;
			out[type].lost += percpu[cpu].lost;
			out[type].read_err += percpu[cpu].read_err;
		}
	}
	free(percpu);
	return 0;
}
