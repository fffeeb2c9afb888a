/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loader.h - turns a generated BPF skeleton into attached programs, in steps:
 * new (checks root, BTF and tracefs, probes the kernel's features once) → open →
 * configure (the caller's rodata and map sizes) → load → attach. Each program of
 * the skeleton is described once in a table: its attach kind, its target, and
 * whether it is required. A program the kernel refuses (no such tracepoint, a
 * program type the probes found refused, a load or attach refusal) is switched
 * off with a one-line notice naming it and why; only a required one fails the
 * start. Errors name the program and, for a load refusal, the verifier's last
 * words.
 */
#ifndef VIGIL_LOADER_H
#define VIGIL_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct bpf_object;
struct bpf_object_open_opts;

/* How a program is attached, and what its target string means. */
enum loader_kind {
	LOADER_TRACEPOINT,     /* "category/name"; NULL: from the section, tp/CATEGORY/NAME */
	LOADER_RAW_TRACEPOINT, /* "name"; NULL: from the section, raw_tp/NAME */
	LOADER_CGROUP,	       /* a cgroup v2 directory, e.g. /sys/fs/cgroup */
	LOADER_XDP,	       /* interface names, comma-separated */
	LOADER_TC_INGRESS,     /* interface names: a clsact ingress filter on each */
	LOADER_TC_EGRESS,      /* interface names: a clsact egress filter on each */
	LOADER_LSM,	       /* NULL: the hook is in the section, lsm/HOOK */
	LOADER_UPROBE,	       /* "/path/to/binary:function" */
	LOADER_TAIL_CALL,      /* not attached: loaded for a program array the caller fills */
	LOADER_KIND_MAX,
};

/* One program of the skeleton, described once. */
struct loader_prog {
	const char *name;      /* the program's function name */
	enum loader_kind kind; /* how it attaches */
	const char *target;    /* see enum loader_kind; loader__set_target overrides */
	bool required;	       /* refused: the start fails instead of switching it off */
	bool on_demand;	       /* loaded, but attached only by loader__set_attached */
	bool ia32;	       /* serves ia32 syscalls: not loaded where none can happen */
};

/* A generated skeleton behind plain pointers (see LOADER_SKEL_OPS). */
struct loader_skel_ops {
	void *(*open)(const struct bpf_object_open_opts *opts); /* NAME__open_opts */
	int (*load)(void *skel);				/* NAME__load */
	void (*destroy)(void *skel);				/* NAME__destroy */
	struct bpf_object *(*object)(void *skel);		/* skel->obj */
};

/* Defines static struct loader_skel_ops NAME__loader_ops for skeleton struct NAME. */
#define LOADER_SKEL_OPS(NAME)                                                                      \
	static void *NAME##__loader_open(const struct bpf_object_open_opts *o)                     \
	{                                                                                          \
		return NAME##__open_opts(o);                                                       \
	}                                                                                          \
	static int NAME##__loader_load(void *s)                                                    \
	{                                                                                          \
		return NAME##__load(s);                                                            \
	}                                                                                          \
	static void NAME##__loader_destroy(void *s)                                                \
	{                                                                                          \
		NAME##__destroy(s);                                                                \
	}                                                                                          \
	static struct bpf_object *NAME##__loader_object(void *s)                                   \
	{                                                                                          \
		return ((struct NAME *)s)->obj;                                                    \
	}                                                                                          \
	static const struct loader_skel_ops NAME##__loader_ops = {                                 \
	    .open = NAME##__loader_open,                                                           \
	    .load = NAME##__loader_load,                                                           \
	    .destroy = NAME##__loader_destroy,                                                     \
	    .object = NAME##__loader_object,                                                       \
	}

/* Writes load-time knobs (rodata) and map sizes into a freshly opened skeleton. */
typedef int (*loader_configure_fn)(void *skel, void *arg, char *err, size_t errlen);

struct loader_spec {
	const struct loader_skel_ops *skel; /* the skeleton */
	const struct loader_prog *progs;    /* every program in it, once */
	size_t n_progs;			    /* entries in progs */
	loader_configure_fn configure;	    /* run after every open; NULL: nothing to set */
	void *arg;			    /* for configure */
	const char *btf_path; /* kernel BTF for CO-RE; NULL: /sys/kernel/btf/vmlinux */
	FILE *notices;	      /* where switched-off notices go; NULL: stderr */
};

/* What the feature probes found, each probed once by loader__new. */
struct loader_feature {
	const char *name; /* "tracepoint", "lsm", "bpf_loop", ... */
	bool available;	  /* the kernel accepted the probe */
	int error;	  /* errno of the refusal; 0 when available or merely absent */
};

/* A program's state after the steps so far. */
struct loader_prog_state {
	const char *name; /* the program */
	const char *kind; /* loader_kind_name() */
	bool enabled;	  /* loaded and (after attach) attached */
	const char *why;  /* why it is switched off, "" when enabled */
	int attachments;  /* links made (one per interface for XDP and TC) */
};

struct loader;

/*
 * Checks that we are root, that kernel BTF and tracefs are there, and probes the
 * kernel's features. NULL with errno set and a message in err on failure.
 */
struct loader *loader__new(const struct loader_spec *spec, char *err, size_t errlen);
/* Detaches and unloads everything. */
void loader__free(struct loader *l);

/* Sets a program's target before attach (a cgroup path, interfaces). 0 or -ENOENT. */
int loader__set_target(struct loader *l, const char *prog, const char *target);

/*
 * The steps. Each returns 0 or -errno with a message in loader__error(). open
 * checks the table against the skeleton and switches off what cannot run here;
 * load retries without an optional program the kernel refused; attach switches
 * off an optional program that cannot attach. loader__start runs all four.
 */
int loader__open(struct loader *l);
int loader__configure(struct loader *l);
int loader__load(struct loader *l);
int loader__attach(struct loader *l);
int loader__start(struct loader *l);
/*
 * Attaches (on) or detaches one program after loader__attach, for a program that
 * should run only while something needs it (on_demand). Idempotent. 0, -ENOENT (no
 * such program), -ENODEV (switched off: loader__prog_state says why) or the
 * attach's -errno with a message in loader__error().
 */
int loader__set_attached(struct loader *l, const char *prog, bool on);
/* Undoes attach; the maps stay readable. */
void loader__detach(struct loader *l);

const char *loader__error(const struct loader *l);
/* The skeleton (NULL before open): cast to the generated struct. */
void *loader__skel(const struct loader *l);
/* The skeleton's object (its maps, for status), NULL before open. */
struct bpf_object *loader__object(const struct loader *l);

size_t loader__n_progs(const struct loader *l);
/* State of program i of the table, i < loader__n_progs. */
void loader__prog_state(const struct loader *l, size_t i, struct loader_prog_state *out);
size_t loader__n_features(const struct loader *l);
const struct loader_feature *loader__feature(const struct loader *l, size_t i);
/*
 * Whether vigil uses feature i (a program of its kind is loaded; a helper the
 * programs call; an ABI they serve), and why not in *why.
 */
bool loader__feature_used(const struct loader *l, size_t i, const char **why);
/* "vigil: kernel features: tracepoint yes, ..., lsm no (Operation not permitted)" */
void loader__print_features(const struct loader *l, FILE *f);

const char *loader_kind_name(enum loader_kind k);
/*
 * Whether this kernel runs BPF LSM programs: one is loaded and attached at file_open
 * for a moment (it allows everything). 0, or -errno: EOPNOTSUPP when the kernel has
 * no BPF LSM hooks, EPERM when it refuses them (not in the lsm= list, or not root).
 */
int loader_probe_lsm(const char *btf_path);

#endif /* VIGIL_LOADER_H */
