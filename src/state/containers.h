/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * containers.h - the container table: what vigil knows about each cgroup a process
 * ran in, keyed by the cgroup v2 id. The identity a cgroup path gives (runtime,
 * container id, pod uid; container.c) is derived once per cgroup id and cached
 * here; what the path cannot say (name, image, start time) is metadata a
 * background worker fills later by asking the container runtime.
 *
 * Concurrency contract (one event-loop thread, one or more worker threads):
 *  - The table and its entries belong to the event loop. Only it inserts, looks up,
 *    evicts and frees, and it reads entries with no lock and no atomic access.
 *  - A worker never touches the table. Once the event loop has called
 *    containers__enable_jobs(), each container entered gets a job: the worker takes
 *    the waiting jobs with containers__take_jobs() (after poll() on the eventfd said
 *    there are some), fills job->meta, and hands each back with containers__complete().
 *  - Both hand-offs are lock-free stacks: a push is a compare-and-swap of the head
 *    with release order; the other side takes the whole stack with one atomic
 *    exchange with acquire order. Taking everything at once leaves no ABA case, and
 *    everything written to a job before its push is visible to the side that takes it.
 *  - The event loop installs completed metadata when it next looks an entry up or
 *    calls containers__poll() (a single load when nothing has completed), so the
 *    hot path takes no lock. Installed metadata never changes; the entry owns it. A
 *    job whose entry was evicted meanwhile is dropped.
 *  - Stop the workers (each having completed every job it took) before
 *    containers__free().
 */
#ifndef VIGIL_CONTAINERS_H
#define VIGIL_CONTAINERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/container.h"

/* A key and its value: a container label, a pod label. */
struct container_label {
	char *key;   /* never NULL */
	char *value; /* never NULL */
};

/* One mount of the container, as its OCI runtime spec or runtime API gives it. */
struct container_mount {
	char *source;	   /* host path or fs type ("proc"); never NULL */
	char *dest;	   /* path inside the container; never NULL */
	char *mode;	   /* the runtime's mode word ("z", "ro,rbind"...), "" none */
	char *propagation; /* "rprivate"..., "" none */
	bool rw;	   /* mounted read-write */
};

#define CONTAINER_META_LABELS 64 /* labels (and pod labels) kept per container */
#define CONTAINER_META_MOUNTS 64 /* mounts kept per container */

/* Where a container's metadata came from (container_meta.sources). */
enum container_meta_source {
	CONTAINER_META_SPEC = 1 << 0, /* the OCI runtime spec on disk */
	CONTAINER_META_API = 1 << 1,  /* the runtime's REST API */
};

/*
 * What the runtime knows of a container that its cgroup path cannot say. Every
 * string is NULL when unknown (the field shows <NA>); the struct owns them.
 */
struct container_meta {
	char *name;			    /* container.name */
	char *image;			    /* container.image, as the user named it */
	char *image_id;			    /* container.image.id: hex, no "sha256:" */
	int privileged;			    /* container.privileged: 1, 0, -1 unknown */
	uint64_t start_ns;		    /* when the runtime made it, ns since the epoch; 0 */
	char *pod_name;			    /* k8s.pod.name */
	char *pod_ns;			    /* k8s.ns.name */
	char *pod_uid;			    /* k8s.pod.uid */
	char *k8s_container;		    /* k8s.container.name */
	struct container_label *labels;	    /* container.label[...] */
	size_t n_labels;		    /* entries in labels */
	struct container_label *pod_labels; /* k8s.pod.label[...] */
	size_t n_pod_labels;		    /* entries in pod_labels */
	struct container_mount *mounts;	    /* container.mount* */
	size_t n_mounts;		    /* entries in mounts */
	uint32_t truncated;		    /* labels and mounts left out over the bounds */
	uint32_t sources;		    /* enum container_meta_source bits */
};

/* Frees what m holds and zeroes it (privileged -1). */
void container_meta_clear(struct container_meta *m);
/* The label key of n labels, or NULL. */
const char *container_label_get(const struct container_label *l, size_t n, const char *key);

struct container_entry {
	uint64_t cgroup_id;		   /* key: the cgroup v2 id */
	struct container_ident ident;	   /* from the cgroup path; runtime HOST for none */
	const struct container_meta *meta; /* NULL until a worker filled it */
};

struct container_job {
	uint64_t cgroup_id;	      /* the entry it fills */
	struct container_ident ident; /* who to ask the runtime about */
	struct container_meta meta;   /* the worker's answer */
	struct container_job *next;   /* stack link; the holder's to use */
};

struct containers_stats {
	size_t entries;	      /* cgroups in the table */
	uint64_t evicted;     /* entries dropped to make room (re-derived if seen again) */
	uint64_t filled;      /* metadata installed */
	uint64_t jobs_lost;   /* jobs not made (2 * max_entries in flight, no memory) or dropped */
	size_t jobs_inflight; /* jobs made and not yet installed or dropped */
	uint64_t pruned;      /* entries dropped because their cgroup is gone */
};

struct containers;

/* max_entries bounds the table; the oldest entry makes room for a new one. */
struct containers *containers__new(size_t max_entries);
void containers__free(struct containers *ct);

/* ---- event loop ---- */

/*
 * The entry for cgroup_id, made from the cgroup path (path, len) the first time the
 * id is seen. cgroup_id 0 (unknown) is never cached: NULL. The pointer is valid
 * until the next call that enters a cgroup.
 */
const struct container_entry *containers__resolve(struct containers *ct, uint64_t cgroup_id,
						  const char *path, size_t len);
/* The entry for cgroup_id, or NULL. */
const struct container_entry *containers__lookup(struct containers *ct, uint64_t cgroup_id);
/* Installs the metadata workers completed. Returns how many entries were filled. */
size_t containers__poll(struct containers *ct);
/*
 * From now on each container entered (not the host's cgroups) gets a job. Returns
 * an eventfd that is readable while jobs are waiting (the worker reads it to reset
 * it), or -errno.
 */
int containers__enable_jobs(struct containers *ct);
/*
 * Drops the entries whose cgroup was gone at the previous sweep too (gone(arg, id)
 * says whether it is gone now): a container that exited leaves the table within two
 * sweeps, and an event still in flight for it meanwhile keeps its metadata. Returns
 * how many were dropped.
 */
size_t containers__sweep(struct containers *ct, bool (*gone)(void *arg, uint64_t cgroup_id),
			 void *arg);
void containers__stats(const struct containers *ct, struct containers_stats *out);
/* fn(arg, entry) for each entry whose metadata is in, as it is installed (event loop). */
void containers__on_fill(struct containers *ct,
			 void (*fn)(void *arg, const struct container_entry *e), void *arg);
/* fn(arg, entry) for every entry of the table. */
void containers__foreach(struct containers *ct,
			 void (*fn)(void *arg, const struct container_entry *e), void *arg);

/* ---- worker threads ---- */

/* Takes every waiting job (a list linked by next), or NULL. */
struct container_job *containers__take_jobs(struct containers *ct);
/* Hands a job back, its meta filled as far as the worker could. */
void containers__complete(struct containers *ct, struct container_job *job);

#endif /* VIGIL_CONTAINERS_H */
