// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sensors.c - vigil's BPF object through the loader's steps: the table that
 * describes each program once, the configure step that writes the load-time
 * knobs (rodata) and the ring buffer size, and the readers of its maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "detect/filter.h"
#include "loader.h"
#include "sensors.h"
#include "vigil.skel.h"

LOADER_SKEL_OPS(vigil_bpf);

/*
 * Every program of bpf/sensors/, once. Tracepoint targets are left NULL: the
 * program's section (SEC("tp/syscalls/sys_exit_openat")) is the one place that
 * names its tracepoint. The lifecycle sensors are required, since the process
 * table depends on them; a refused file, network or privilege sensor is switched
 * off with a notice and vigil runs without it.
 *
 * The syscall-exit sensors come from the syscall table: each syscall vigil knows
 * (but execve, which the exec sensor covers) has a program named vg_ and its
 * Falco name. A row without its program, or a program without its row, is an
 * error at start (the loader checks both ways).
 */
#define SYSCALL_EXIT_PROG(NAME, VALUE, FALCO, KIND, NR64, NR32)                                    \
	{"vg_" FALCO, LOADER_TRACEPOINT, NULL, false},

static const struct loader_prog programs[] = {
    /* proc.bpf.c */
    {"vg_exec", LOADER_TRACEPOINT, NULL, true},
    {"vg_fork", LOADER_RAW_TRACEPOINT, NULL, true},
    {"vg_exit", LOADER_TRACEPOINT, NULL, true},
    /* priv.bpf.c: the values set*id and capset replace, read at entry */
    {"vg_setuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setgid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setreuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setregid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setresuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setresgid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_capset_enter", LOADER_TRACEPOINT, NULL, false},
    /* file.bpf.c, net.bpf.c: io_uring operations, kept at submission and sent at
     * completion; a kernel without the io_uring tracepoints switches them off */
    {"vg_uring_file_submit", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_file_complete", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_net_submit", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_net_complete", LOADER_RAW_TRACEPOINT, NULL, false},
    /* file.bpf.c, net.bpf.c, priv.bpf.c: one program per syscall at its exit */
    VG_SYSCALLS_EXIT(SYSCALL_EXIT_PROG)};

/* The ring's positions: the consumer page (read-write) and the producer page. */
struct ring_pos {
	volatile unsigned long *consumer; /* first page of the map */
	volatile unsigned long *producer; /* second page, read-only */
};

struct sensors {
	struct sensors_opts opts; /* as given */
	struct loader *loader;	  /* the steps, the skeleton */
	struct vigil_bpf *skel;	  /* loaded skeleton, owned by the loader */
	struct ring_pos pos;	  /* for the fill level; NULL pointers if unmapped */
	int ncpu;		  /* possible CPUs, for per-CPU maps */
};

/* The configure step: knobs into rodata, the ring buffer's size. */
static int configure(void *skel, void *arg, char *err, size_t errlen)
{
	struct vigil_bpf *obj = skel;
	const struct sensors_opts *o = arg;
	int ret;

	obj->rodata->vg_cfg.self_pid = o->self_pid;
	obj->rodata->vg_cfg.wake_bytes = o->wake_bytes;
	ret = bpf_map__set_max_entries(obj->maps.events, o->ringbuf_bytes);
	if (!ret && (o->ringbuf_bytes < (size_t)getpagesize() ||
		     (o->ringbuf_bytes & (o->ringbuf_bytes - 1))))
		ret = -EINVAL;
	if (ret)
		snprintf(err, errlen,
			 "ring buffer size %zu refused: %s (it must be a power of two, "
			 "at least the page size)",
			 o->ringbuf_bytes, strerror(-ret));
	return ret;
}

static void map_positions(struct sensors *s)
{
	int fd = bpf_map__fd(s->skel->maps.events);
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
	s->pos.consumer = c;
	s->pos.producer = p;
}

struct sensors *sensors__start(const struct sensors_opts *opts, char *err, size_t errlen)
{
	struct loader_spec spec = {
	    .skel = &vigil_bpf__loader_ops,
	    .progs = programs,
	    .n_progs = sizeof(programs) / sizeof(programs[0]),
	    .configure = configure,
	    .btf_path = opts->btf_path,
	};
	struct sensors *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	spec.arg = &s->opts;
	s->ncpu = libbpf_num_possible_cpus();
	s->loader = loader__new(&spec, err, errlen);
	if (!s->loader) {
		ret = -errno;
		goto err_free;
	}
	loader__print_features(s->loader, stderr);
	ret = loader__start(s->loader);
	if (ret) {
		snprintf(err, errlen, "%s", loader__error(s->loader));
		goto err_free;
	}
	s->skel = loader__skel(s->loader);
	map_positions(s);
	return s;

err_free:
	loader__free(s->loader);
	free(s);
	errno = -ret;
	return NULL;
}

void sensors__detach(struct sensors *s)
{
	if (s)
		loader__detach(s->loader);
}

void sensors__free(struct sensors *s)
{
	if (!s)
		return;
	if (s->pos.consumer) {
		munmap((void *)s->pos.consumer, sysconf(_SC_PAGESIZE));
		munmap((void *)s->pos.producer, sysconf(_SC_PAGESIZE));
	}
	loader__free(s->loader);
	free(s);
}

const struct loader *sensors__loader(const struct sensors *s)
{
	return s->loader;
}

int sensors__ringbuf_fd(const struct sensors *s)
{
	return bpf_map__fd(s->skel->maps.events);
}

size_t sensors__ringbuf_used(const struct sensors *s)
{
	if (!s || !s->pos.consumer)
		return 0;
	return *s->pos.producer - *s->pos.consumer;
}

void sensors__filter_maps(const struct sensors *s, struct filter_maps *out)
{
	out->types = bpf_map__fd(s->skel->maps.filter_types);
	out->paths = bpf_map__fd(s->skel->maps.filter_paths);
	out->comms = bpf_map__fd(s->skel->maps.filter_comms);
	out->ports = bpf_map__fd(s->skel->maps.filter_ports);
	out->cgroups = bpf_map__fd(s->skel->maps.filter_cgroups);
}

int sensors__counters(const struct sensors *s, struct vg_counters *out)
{
	int fd = bpf_map__fd(s->skel->maps.counters);
	struct vg_counters *percpu;
	__u32 type;
	int cpu;

	percpu = calloc(s->ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out) * VG_EV_TYPE_MAX);
	for (type = 0; type < VG_EV_TYPE_MAX; type++) {
		if (bpf_map_lookup_elem(fd, &type, percpu))
			continue;
		for (cpu = 0; cpu < s->ncpu; cpu++) {
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
