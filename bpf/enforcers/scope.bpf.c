// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * scope.bpf.c - container scopes (container.id) of the rules decided in the kernel.
 * A rule scoped to a container matches only in the cgroups of enf_scopes that
 * carry its bit. User space enters the cgroups there are when it writes a plan;
 * this program enters each cgroup v2 made later, at cgroup_mkdir, before any process
 * can be in it: a container's first instruction is already under its rules.
 *
 * A new cgroup gets the bits of its parent's entry (a container's own sub-cgroups)
 * and those of the container its path names: every runtime vigil knows (podman,
 * docker, containerd, CRI-O, kubepods) puts the 64-hex container id in the name of
 * the container's cgroup, and the rules name its first 12 digits (enf_containers).
 * Both generations are entered, so a reload in progress misses nothing. Only the
 * v2 hierarchy counts (bpf_get_current_cgroup_id's); v1 hierarchies are skipped.
 */
#include "core/enforce.bpf.h"
#include "core/record.bpf.h"

#define SCOPE_PATH_MAX 256 /* bytes of the new cgroup's path looked at */
#define SCOPE_ID_LEN   64  /* hex digits of a container id */

struct scope_scan {
	const char *path; /* the path, in the per-CPU buffer */
	__u32 run;	  /* hex digits in a row so far */
	__s32 start;	  /* where the last run of SCOPE_ID_LEN digits began; -1 none */
};

/* The path bytes, per CPU (too big for the stack with the rest). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[SCOPE_PATH_MAX]);
} scope_path SEC(".maps");

static __always_inline bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static long scope_step(__u32 i, void *arg)
{
	struct scope_scan *s = arg;
	char c;

	if (i >= SCOPE_PATH_MAX)
		return 1;
	c = s->path[i];
	if (!c)
		return 1;
	if (!is_hex(c)) {
		s->run = 0;
		return 0;
	}
	if (++s->run == SCOPE_ID_LEN) /* exactly 64: a longer run is not an id */
		s->start = (__s32)i - (SCOPE_ID_LEN - 1);
	else if (s->run == SCOPE_ID_LEN + 1)
		s->start = -1;
	return 0;
}

/* The bits of generation gen for a new cgroup: its parent's and its container's. */
static __always_inline void scope_enter(__u32 gen, __u64 id, __u64 parent, const char *path,
					__s32 start)
{
	struct vg_enf_scope_key k = {.cgroup_id = parent, .gen = gen};
	struct vg_enf_container_key ck = {.gen = gen};
	struct vg_enf_bits bits = {}, *b;

	b = bpf_map_lookup_elem(&enf_scopes, &k);
	if (b) {
		bits.pos |= b->pos;
		bits.neg |= b->neg;
	}
	if (start >= 0 && start <= SCOPE_PATH_MAX - SCOPE_ID_LEN) {
		__builtin_memcpy(ck.id, path + start, sizeof(ck.id));
		b = bpf_map_lookup_elem(&enf_containers, &ck);
		if (b) {
			bits.pos |= b->pos;
			bits.neg |= b->neg;
		}
	}
	if (!bits.pos && !bits.neg)
		return;
	k.cgroup_id = id;
	bpf_map_update_elem(&enf_scopes, &k, &bits, BPF_ANY);
}

/* TP_PROTO(struct cgroup *cgrp, const char *path) */
SEC("raw_tp/cgroup_mkdir")
int vg_scope_mkdir(struct bpf_raw_tracepoint_args *ctx)
{
	struct cgroup *cg = (struct cgroup *)ctx->args[0];
	struct scope_scan s = {.start = -1};
	struct vg_isolate_val *iso;
	__u64 id, parent;
	__u32 one = 1;
	char sid[12] = {};
	__u32 zero = 0;
	char *buf;

	/* not gated on enf_state.enabled: a plan being written enters its cgroups before
	 * it is put in force. The v2 hierarchy is the default root, hierarchy 0 */
	if (BPF_CORE_READ(cg, root, hierarchy_id) != 0)
		return 0;
	buf = bpf_map_lookup_elem(&scope_path, &zero);
	if (!buf)
		return 0;
	id = BPF_CORE_READ(cg, kn, id);
	parent = BPF_CORE_READ(cg, self.parent, cgroup, kn, id);
	if (bpf_probe_read_kernel_str(buf, SCOPE_PATH_MAX, (const char *)ctx->args[1]) < 0)
		buf[0] = 0;
	s.path = buf;
	bpf_loop(SCOPE_PATH_MAX, scope_step, &s, 0);
	scope_enter(0, id, parent, buf, s.start);
	scope_enter(1, id, parent, buf, s.start);
	/* a cgroup of an allowlisted container, or made inside an allowlisted cgroup */
	if (s.start >= 0 && s.start <= SCOPE_PATH_MAX - SCOPE_ID_LEN)
		__builtin_memcpy(sid, buf + s.start, sizeof(sid));
	if (bpf_map_lookup_elem(&enf_safe_cgroups, &parent) ||
	    (s.start >= 0 && bpf_map_lookup_elem(&enf_safe_containers, sid)))
		bpf_map_update_elem(&enf_safe_cgroups, &id, &one, BPF_ANY);
	/* a cgroup made inside an isolated container is cut off as well */
	iso = bpf_map_lookup_elem(&net_isolated, &parent);
	if (iso)
		bpf_map_update_elem(&net_isolated, &id, iso, BPF_NOEXIST);
	return 0;
}
