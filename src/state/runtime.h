/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * runtime.h - container metadata from the container runtimes, off the event path.
 * A worker thread takes the container table's jobs (containers.h) and answers each
 * from two sources:
 *  - the OCI runtime spec on disk: every runc-based runtime (podman, docker,
 *    containerd, CRI-O) keeps a state directory per container whose state.json names
 *    the bundle; the bundle's config.json has the mounts, the capabilities and the
 *    annotations a CRI runtime writes for the pod, its namespace, the container's
 *    name and its image. No daemon needs to answer.
 *  - the Docker-compatible REST API on a unix socket (docker, and podman's service),
 *    asked only for containers of those runtimes: name, image, image id, labels,
 *    mounts, privileged. Each request has a deadline; a socket that is missing,
 *    refuses or is slow costs that container those fields (<NA>) and is counted.
 */
#ifndef VIGIL_RUNTIME_H
#define VIGIL_RUNTIME_H

#include <stdint.h>

#include "state/containers.h"

struct runtime_opts {
	const char *host_root;		/* prefix of every host path ("" or "/proc/1/root") */
	const char *const *state_dirs;	/* runtime state roots; NULL: the built-in list */
	size_t n_state_dirs;		/* entries in state_dirs */
	const char *const *api_sockets; /* Docker-compatible API sockets; NULL: built-in */
	size_t n_api_sockets;		/* entries in api_sockets */
	int timeout_ms;			/* deadline of one API request */
};

struct runtime_stats {
	uint64_t jobs;		/* containers looked up */
	uint64_t spec_read;	/* OCI runtime specs read */
	uint64_t spec_missing;	/* containers whose spec was not found or not readable */
	uint64_t api_ok;	/* API answers used */
	uint64_t api_failed;	/* API lookups no socket answered (missing, refused, slow) */
	uint64_t api_not_found; /* API sockets answered that they have no such container */
};

struct runtime;

/* Starts the worker over ct's jobs (enables them). NULL with errno. */
struct runtime *runtime__start(struct containers *ct, const struct runtime_opts *opts);
/* Stops the worker (it completes the job in hand first) and frees it. */
void runtime__stop(struct runtime *rt);
void runtime__stats(const struct runtime *rt, struct runtime_stats *out);

/* ---- the parsers, for tests ---- */

/*
 * Fills m from an OCI runtime spec (config.json text): annotations of the CRI
 * runtimes and podman, bind mounts a user asked for, privileged. 0 or -EINVAL.
 */
int runtime_parse_spec(const char *json, struct container_meta *m);
/* Fills m from a Docker-compatible "inspect" answer (GET /containers/ID/json). */
int runtime_parse_inspect(const char *json, struct container_meta *m);
/* "2026-12-05T19:10:27.647012438Z" (or +hh:mm) -> ns since the epoch; 0 when not. */
uint64_t runtime_parse_time(const char *s);
/*
 * The repository and tag of an image name: "docker.io/library/nginx:1.25" ->
 * "docker.io/library/nginx", "1.25"; a digest ("@sha256:...") is neither. *repo_len
 * bytes of image are the repository; *tag (NULL: none) runs to the digest or the end,
 * *tag_len bytes.
 */
void runtime_image_split(const char *image, size_t *repo_len, const char **tag, size_t *tag_len);

#endif /* VIGIL_RUNTIME_H */
