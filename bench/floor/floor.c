// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * floor.c - loader of the benchmarks' physical floor. It reads the list of
 * tracepoints from vigil's own BPF object (so the two never drift apart) and
 * attaches floor.bpf.o's empty programs to each of them, then waits for SIGINT
 * or SIGTERM. With --list it only prints that list, one "tp CATEGORY/NAME" or
 * "raw_tp NAME" per line, for the harness to build its bpftrace script from.
 *
 * usage: floor --list VIGIL_BPF_O
 *        floor FLOOR_BPF_O VIGIL_BPF_O
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define FLOOR_MAX_POINTS 256

struct floor_point {
	char kind[8];	/* "tp" or "raw_tp" */
	char name[128]; /* "syscalls/sys_exit_openat" or "sched_process_fork" */
};

struct floor {
	struct floor_point points[FLOOR_MAX_POINTS]; /* vigil's attach points */
	int n_points;				     /* entries used in points */
	struct bpf_object *obj;			     /* the empty programs, loaded */
	struct bpf_link *links[FLOOR_MAX_POINTS];    /* one per attached point */
	int n_links;				     /* entries used in links */
};

static int floor_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Splits a program's section name into the kind of hook and its target. */
static bool floor_parse_section(const char *sec, struct floor_point *p)
{
	static const char *const kinds[][2] = {
	    {"tp/", "tp"},
	    {"tracepoint/", "tp"},
	    {"raw_tp/", "raw_tp"},
	    {"raw_tracepoint/", "raw_tp"},
	};
	size_t i, n;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		n = strlen(kinds[i][0]);
		if (strncmp(sec, kinds[i][0], n) || !sec[n])
			continue;
		snprintf(p->kind, sizeof(p->kind), "%s", kinds[i][1]);
		snprintf(p->name, sizeof(p->name), "%s", sec + n);
		return true;
	}
	return false;
}

/* vigil's attach points, from the section names of its (unloaded) object. */
static int floor_read_points(struct floor *f, const char *vigil_obj)
{
	struct bpf_object *obj = bpf_object__open_file(vigil_obj, NULL);
	struct bpf_program *prog;
	int ret = 0;

	if (!obj) {
		ret = -errno;
		fprintf(stderr, "floor: cannot open %s: %s (run 'make build/vigil' first)\n",
			vigil_obj, strerror(errno));
		return ret;
	}
	bpf_object__for_each_program(prog, obj)
	{
		struct floor_point p;

		bool dup = false;

		if (!floor_parse_section(bpf_program__section_name(prog), &p))
			continue;
		/* several vigil programs may share a tracepoint (the io_uring ones do): the
		 * floor attaches once per point, and the kernel refuses a program twice */
		for (int i = 0; i < f->n_points && !dup; i++)
			dup = !strcmp(f->points[i].kind, p.kind) &&
			      !strcmp(f->points[i].name, p.name);
		if (dup)
			continue;
		if (f->n_points == FLOOR_MAX_POINTS) {
			fprintf(stderr, "floor: %s has more than %d tracepoints\n", vigil_obj,
				FLOOR_MAX_POINTS);
			ret = -E2BIG;
			break;
		}
		f->points[f->n_points++] = p;
	}
	bpf_object__close(obj);
	return ret;
}

/* Whether this kernel has the tracepoint at all (vigil skips the missing ones too). */
static bool floor_point_exists(const struct floor_point *p)
{
	char path[256];

	if (strcmp(p->kind, "tp"))
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s", p->name);
	return access(path, F_OK) == 0;
}

static int floor_attach(struct floor *f, const char *floor_obj)
{
	struct bpf_program *tp, *raw;
	int i, ret;

	f->obj = bpf_object__open_file(floor_obj, NULL);
	if (!f->obj) {
		ret = -errno;
		fprintf(stderr, "floor: cannot open %s: %s\n", floor_obj, strerror(errno));
		return ret;
	}
	ret = bpf_object__load(f->obj);
	if (ret) {
		fprintf(stderr, "floor: cannot load %s: %s\n", floor_obj, strerror(-ret));
		return ret;
	}
	tp = bpf_object__find_program_by_name(f->obj, "floor_tp");
	raw = bpf_object__find_program_by_name(f->obj, "floor_raw_tp");
	if (!tp || !raw) {
		fprintf(stderr, "floor: %s lacks floor_tp or floor_raw_tp\n", floor_obj);
		return -ENOENT;
	}
	for (i = 0; i < f->n_points; i++) {
		const struct floor_point *p = &f->points[i];
		char cat[128];
		struct bpf_link *l;
		char *slash;

		if (!floor_point_exists(p)) {
			fprintf(stderr, "floor: this kernel has no tracepoint %s; skipped\n",
				p->name);
			continue;
		}
		if (!strcmp(p->kind, "raw_tp")) {
			l = bpf_program__attach_raw_tracepoint(raw, p->name);
		} else {
			snprintf(cat, sizeof(cat), "%s", p->name);
			slash = strchr(cat, '/');
			if (!slash) {
				fprintf(stderr, "floor: '%s' is not CATEGORY/NAME\n", p->name);
				return -EINVAL;
			}
			*slash = 0;
			l = bpf_program__attach_tracepoint(tp, cat, slash + 1);
		}
		if (!l) {
			ret = -errno;
			fprintf(stderr, "floor: cannot attach to %s %s: %s\n", p->kind, p->name,
				strerror(errno));
			return ret;
		}
		f->links[f->n_links++] = l;
	}
	return 0;
}

static void floor_detach(struct floor *f)
{
	int i;

	for (i = 0; i < f->n_links; i++)
		bpf_link__destroy(f->links[i]);
	f->n_links = 0;
	bpf_object__close(f->obj);
	f->obj = NULL;
}

static int floor_block_signals(sigset_t *mask)
{
	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	return sigprocmask(SIG_BLOCK, mask, NULL) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static struct floor f;
	sigset_t mask;
	int i, sig, ret;

	libbpf_set_print(floor_libbpf_print);
	if (argc == 3 && !strcmp(argv[1], "--list")) {
		if (floor_read_points(&f, argv[2]))
			return 1;
		for (i = 0; i < f.n_points; i++)
			printf("%s %s\n", f.points[i].kind, f.points[i].name);
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr,
			"usage: floor --list VIGIL_BPF_O | floor FLOOR_BPF_O VIGIL_BPF_O\n");
		return 2;
	}
	/* blocked before attaching: a stop request that comes early must still detach */
	ret = floor_block_signals(&mask);
	if (!ret)
		ret = floor_read_points(&f, argv[2]);
	if (!ret)
		ret = floor_attach(&f, argv[1]);
	if (!ret) {
		fprintf(stderr, "floor: attached %d empty programs; SIGINT or SIGTERM stops\n",
			f.n_links);
		ret = sigwait(&mask, &sig) ? -EINTR : 0;
	}
	floor_detach(&f);
	return ret ? 1 : 0;
}
