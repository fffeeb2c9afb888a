/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * test_container.c - unit tests for container identity: the cgroup layouts of
 * podman, docker, containerd/CRI, CRI-O and plain kubepods (cgroupfs and systemd
 * drivers, full paths and the last components the kernel sends), near misses that
 * must stay on the host, and /proc/PID/cgroup reading from a fake and the real procfs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/container.h"

#define ID	    "4F2C9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"
#define ID_LOWER    "4f2c9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f"
#define ID2	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID	    "8f1d2c3b-4a5e-6f70-8192-a3b4c5d6e7f8"
#define UID_SYSTEMD "8f1d2c3b_4a5e_6f70_8192_a3b4c5d6e7f8"

static struct container_ident ci;

/* Parses path and checks the runtime, id and pod uid it yields. */
static void expect(const char *path, enum container_runtime rt, const char *id, const char *pod)
{
	bool found = container_parse_cgroup(path, strlen(path), &ci);

	cr_assert_eq(found, rt != CONTAINER_HOST, "%s", path);
	cr_assert_eq(ci.runtime, rt, "%s: runtime %d", path, ci.runtime);
	cr_assert_str_eq(ci.id, id, "%s", path);
	if (rt == CONTAINER_HOST) {
		cr_assert_str_eq(ci.short_id, "host", "%s", path);
	} else {
		cr_assert_eq(strlen(ci.short_id), CONTAINER_SHORT_ID_LEN);
		cr_assert(strncmp(ci.short_id, id, CONTAINER_SHORT_ID_LEN) == 0, "%s", path);
	}
	cr_assert_str_eq(ci.pod_uid, pod, "%s: pod %s", path, ci.pod_uid);
}

static void expect_host(const char *path)
{
	expect(path, CONTAINER_HOST, "", "");
}

Test(container, podman_cgroupfs)
{
	expect("/libpod_parent/libpod-" ID, CONTAINER_PODMAN, ID_LOWER, "");
	expect("/libpod_parent/libpod-" ID "/ctr", CONTAINER_PODMAN, ID_LOWER, "");
}

Test(container, podman_systemd)
{
	expect("/machine.slice/libpod-" ID ".scope", CONTAINER_PODMAN, ID_LOWER, "");
	expect("/machine.slice/libpod-" ID ".scope/container", CONTAINER_PODMAN, ID_LOWER, "");
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	       CONTAINER_PODMAN, ID_LOWER, "");
}

Test(container, conmon_is_host)
{
	expect_host("/machine.slice/libpod-conmon-" ID ".scope");
	expect_host("/libpod_parent/libpod-conmon-" ID);
	expect_host("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SYSTEMD
		    ".slice/crio-conmon-" ID ".scope");
	expect_host("crio-conmon-" ID ".scope");
}

Test(container, docker)
{
	expect("/docker/" ID, CONTAINER_DOCKER, ID_LOWER, "");
	expect("/system.slice/docker-" ID ".scope", CONTAINER_DOCKER, ID_LOWER, "");
	/* docker in docker: the innermost container */
	expect("/docker/" ID "/docker/" ID2, CONTAINER_DOCKER, ID2, "");
}

Test(container, kubepods_cgroupfs)
{
	expect("/kubepods/besteffort/pod" UID "/" ID, CONTAINER_KUBEPODS, ID_LOWER, UID);
	expect("/kubepods/pod" UID "/" ID, CONTAINER_KUBEPODS, ID_LOWER, UID);
	/* static pods have a 32-hex uid */
	expect("/kubepods/burstable/pod0123456789abcdef0123456789ABCDEF/" ID, CONTAINER_KUBEPODS,
	       ID_LOWER, "0123456789abcdef0123456789abcdef");
}

Test(container, containerd_systemd)
{
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_SYSTEMD
	       ".slice/cri-containerd-" ID ".scope",
	       CONTAINER_CONTAINERD, ID_LOWER, UID);
	expect("/kubepods.slice/kubepods-pod" UID_SYSTEMD ".slice/cri-containerd-" ID ".scope",
	       CONTAINER_CONTAINERD, ID_LOWER, UID);
}

Test(container, containerd_colon_format)
{
	expect("/system.slice/containerd.service/kubepods-besteffort-pod" UID_SYSTEMD
	       ".slice:cri-containerd:" ID,
	       CONTAINER_CONTAINERD, ID_LOWER, UID);
}

Test(container, crio)
{
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SYSTEMD
	       ".slice/crio-" ID ".scope",
	       CONTAINER_CRIO, ID_LOWER, UID);
	expect("/kubepods/burstable/pod" UID "/crio-" ID, CONTAINER_CRIO, ID_LOWER, UID);
	expect("/machine.slice/crio-" ID ".scope", CONTAINER_CRIO, ID_LOWER, "");
}

Test(container, host_paths)
{
	expect_host("/");
	expect_host("");
	expect_host("/init.scope");
	expect_host("/user.slice/user-1000.slice/session-3.scope");
	expect_host("/system.slice/docker.service");
	expect_host("/system.slice/containerd.service");
	expect_host("/kubepods/besteffort/pod" UID); /* the pod, not a container */
	/* this sandbox's own memory cgroup: 32 hex, not a container */
	expect_host("/process_api/93c9cfa4bdd33e91d26986c8f5376c18");
}

Test(container, near_misses)
{
	/* 63 and 65 hex digits */
	expect_host("/docker/123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	expect_host("/docker/" ID2 "0");
	expect_host("/machine.slice/libpod-" ID2 "0.scope");
	/* a non-hex character */
	expect_host("/docker/0123456789abcdef0123456789abcdeg0123456789abcdef0123456789abcdef");
	/* the id glued to an unknown word, or followed by junk */
	expect_host("/machine.slice/libpodx" ID2 ".scope");
	expect_host("/machine.slice/libpod-" ID2 ".scopex");
	expect_host("/machine.slice/libpod-" ID2 "-x.scope");
	/* a bare id needs a telling parent */
	expect_host("/foo/" ID2);
	expect_host(ID2);
	/* an unknown runtime outside Kubernetes */
	expect_host("/machine.slice/foo-" ID2 ".scope");
}

Test(container, last_components_only)
{
	expect("libpod-" ID ".scope", CONTAINER_PODMAN, ID_LOWER, "");
	expect("libpod-" ID ".scope/container", CONTAINER_PODMAN, ID_LOWER, "");
	expect("libpod-" ID "/ctr", CONTAINER_PODMAN, ID_LOWER, "");
	expect("docker/" ID, CONTAINER_DOCKER, ID_LOWER, "");
	expect("docker-" ID ".scope", CONTAINER_DOCKER, ID_LOWER, "");
	expect("pod" UID "/" ID, CONTAINER_KUBEPODS, ID_LOWER, UID);
	expect("cri-containerd-" ID ".scope", CONTAINER_CONTAINERD, ID_LOWER, "");
	expect("kubepods-besteffort-pod" UID_SYSTEMD ".slice/cri-containerd-" ID ".scope",
	       CONTAINER_CONTAINERD, ID_LOWER, UID);
	expect("kubepods-besteffort-pod" UID_SYSTEMD ".slice:cri-containerd:" ID,
	       CONTAINER_CONTAINERD, ID_LOWER, UID);
	expect("pod" UID "/crio-" ID, CONTAINER_CRIO, ID_LOWER, UID);
	expect("crio-" ID ".scope", CONTAINER_CRIO, ID_LOWER, "");
}

Test(container, kubepods_unknown_prefix)
{
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_SYSTEMD
	       ".slice/runx-" ID ".scope",
	       CONTAINER_KUBEPODS, ID_LOWER, UID);
}

Test(container, length_bounds_the_path)
{
	const char buf[] = "/docker/" ID "/more";
	char nonul[8 + 64];

	cr_assert(container_parse_cgroup(buf, 8 + 64, &ci));
	cr_assert_str_eq(ci.id, ID_LOWER);
	/* cut inside the id: not a container */
	cr_assert_not(container_parse_cgroup(buf, 8 + 63, &ci));
	memcpy(nonul, buf, sizeof(nonul)); /* no terminating NUL */
	cr_assert(container_parse_cgroup(nonul, sizeof(nonul), &ci));
	cr_assert_eq(ci.runtime, CONTAINER_DOCKER);
	expect("/docker/" ID "\n", CONTAINER_DOCKER, ID_LOWER, "");
	expect("/docker/" ID "/", CONTAINER_DOCKER, ID_LOWER, "");
}

Test(container, null_path_is_host)
{
	ci.runtime = CONTAINER_DOCKER;
	cr_assert_not(container_parse_cgroup(NULL, 0, &ci));
	cr_assert_eq(ci.runtime, CONTAINER_HOST);
	cr_assert_str_eq(ci.short_id, "host");
}

Test(container, runtime_names)
{
	cr_assert_str_eq(container_runtime_name(CONTAINER_HOST), "host");
	cr_assert_str_eq(container_runtime_name(CONTAINER_DOCKER), "docker");
	cr_assert_str_eq(container_runtime_name(CONTAINER_PODMAN), "podman");
	cr_assert_str_eq(container_runtime_name(CONTAINER_CONTAINERD), "containerd");
	cr_assert_str_eq(container_runtime_name(CONTAINER_CRIO), "cri-o");
	cr_assert_str_eq(container_runtime_name(CONTAINER_KUBEPODS), "cri");
	cr_assert_str_eq(container_runtime_name((enum container_runtime)99), "unknown");
}

/* ---- container_from_proc ---- */

static char fake_proc[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fake_proc, rel);
	*strrchr(path, '/') = '\0';
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s", fake_proc, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void proc_setup(void)
{
	strcpy(fake_proc, "/tmp/vigil-container-XXXXXX");
	cr_assert_not_null(mkdtemp(fake_proc));
}

static void proc_teardown(void)
{
	nftw(fake_proc, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(container_proc, .init = proc_setup, .fini = proc_teardown);

Test(container_proc, v1_lines_docker)
{
	write_file("100/cgroup", "12:cpu,cpuacct:/\n"
				 "11:pids:/\n"
				 "4:memory:/docker/" ID "\n"
				 "1:name=systemd:/docker/" ID "\n"
				 "0::/\n");
	cr_assert_eq(container_from_proc(fake_proc, 100, &ci), 0);
	cr_assert_eq(ci.runtime, CONTAINER_DOCKER);
	cr_assert_str_eq(ci.id, ID_LOWER);
}

Test(container_proc, v2_podman)
{
	write_file("200/cgroup", "0::/machine.slice/libpod-" ID ".scope/container\n");
	cr_assert_eq(container_from_proc(fake_proc, 200, &ci), 0);
	cr_assert_eq(ci.runtime, CONTAINER_PODMAN);
	cr_assert_str_eq(ci.short_id, "4f2c9a0b1c2d");
}

Test(container_proc, colon_in_path)
{
	write_file("300/cgroup",
		   "0::/system.slice/containerd.service/kubepods-besteffort-pod" UID_SYSTEMD
		   ".slice:cri-containerd:" ID "\n");
	cr_assert_eq(container_from_proc(fake_proc, 300, &ci), 0);
	cr_assert_eq(ci.runtime, CONTAINER_CONTAINERD);
	cr_assert_str_eq(ci.pod_uid, UID);
}

Test(container_proc, host_and_missing)
{
	write_file("400/cgroup", "4:memory:/process_api/93c9cfa4bdd33e91d26986c8f5376c18\n0::/\n");
	cr_assert_eq(container_from_proc(fake_proc, 400, &ci), 0);
	cr_assert_eq(ci.runtime, CONTAINER_HOST);
	cr_assert_str_eq(ci.short_id, "host");
	write_file("401/cgroup", "");
	cr_assert_eq(container_from_proc(fake_proc, 401, &ci), 0);
	cr_assert_eq(ci.runtime, CONTAINER_HOST);
	cr_assert_eq(container_from_proc(fake_proc, 999, &ci), -ENOENT);
	cr_assert_eq(ci.runtime, CONTAINER_HOST);
}

Test(container_proc, real_proc_self)
{
	struct container_ident direct;
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	cr_assert_eq(container_from_proc("/proc", getpid(), &ci), 0);
	/* whatever this machine is, the answer matches parsing the lines one by one */
	f = fopen("/proc/self/cgroup", "r");
	cr_assert_not_null(f);
	memset(&direct, 0, sizeof(direct));
	direct.runtime = CONTAINER_HOST;
	while ((n = getline(&line, &cap, f)) > 0) {
		p = strchr(strchr(line, ':') + 1, ':') + 1;
		if (container_parse_cgroup(p, strlen(p), &direct))
			break;
	}
	free(line);
	fclose(f);
	cr_assert_eq(ci.runtime, direct.runtime);
	cr_assert_str_eq(ci.id, direct.id);
	if (ci.runtime == CONTAINER_HOST)
		cr_assert_str_eq(ci.short_id, "host");
}
