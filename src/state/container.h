/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * container.h - container identity from a cgroup path. Recognises the layouts of
 * podman/libpod, docker, containerd/CRI, CRI-O and Kubernetes (kubepods, with
 * cgroupfs and systemd drivers, v1 and v2) and returns the runtime and the
 * 64-hex container id; the short id (12 hex) is what container.id shows.
 */
#ifndef VIGIL_CONTAINER_H
#define VIGIL_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

#define CONTAINER_ID_LEN       64 /* full id, hex */
#define CONTAINER_SHORT_ID_LEN 12 /* container.id, as Falco shows it */

enum container_runtime {
	CONTAINER_HOST = 0, /* not in a recognised container */
	CONTAINER_DOCKER,
	CONTAINER_PODMAN,
	CONTAINER_CONTAINERD,
	CONTAINER_CRIO,
	CONTAINER_KUBEPODS, /* kubepods path whose runtime prefix is not given */
};

struct container_ident {
	enum container_runtime runtime;		   /* CONTAINER_HOST when none */
	char id[CONTAINER_ID_LEN + 1];		   /* full id, "" for the host */
	char short_id[CONTAINER_SHORT_ID_LEN + 1]; /* first 12 hex, or "host" */
	char pod_uid[40]; /* Kubernetes pod uid when the path has one, else "" */
};

/*
 * Parses one cgroup path (e.g. "/libpod_parent/libpod-<64hex>" or
 * "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/
 * cri-containerd-<64hex>.scope", possibly only the last components of it). Returns
 * true and fills *out for a container, false (and *out set to the host) otherwise.
 */
bool container_parse_cgroup(const char *path, size_t len, struct container_ident *out);

/*
 * Reads /proc/PID/cgroup below procfs (normally "/proc") and parses each line's
 * path until one names a container. Returns 0 (host or container in *out) or -errno.
 */
int container_from_proc(const char *procfs, int pid, struct container_ident *out);

const char *container_runtime_name(enum container_runtime rt);

/*
 * Whether s (n bytes) is a container id of min to max lower-case hex digits (12 for
 * the short id container.id shows, up to 64 for a full one).
 */
bool container_id_valid(const char *s, size_t n, size_t min, size_t max);

#endif /* VIGIL_CONTAINER_H */
