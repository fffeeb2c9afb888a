/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * maps.bpf.h - every map and load-time knob that more than one BPF unit uses,
 * declared once. Each unit (a .bpf.c file in bpf/sensors/ or bpf/enforcers/) is
 * compiled on its own and `bpftool gen object` links them into one object, from
 * which one skeleton is generated.
 *
 * libbpf's static linker wants a map or global variable defined in exactly one
 * unit and declared `extern` in the others (it then checks that the declarations
 * agree: type, key and value sizes, max_entries, flags). bpf/maps.bpf.c defines
 * VG_MAPS_DEFINE before including this file and so holds the definitions; every
 * other unit gets `extern` declarations of the same text. This works with clang
 * 14 and libbpf 1.1 (bpftool 7.1); `__weak` definitions in every unit would link
 * too, but would hide a mismatch instead of reporting it.
 *
 * Helpers in bpf/core/ are static (inline or __noinline): each unit has its own
 * copy, and each program still carries only the subprograms it calls. Global
 * (non-static) BPF functions would be shared across units, but the verifier
 * checks them apart from their caller, with no knowledge of the arguments, which
 * the path walk and the sensors' argument structs do not survive.
 */
#ifndef VIGIL_MAPS_BPF_H
#define VIGIL_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "vigil/events.h"

#ifdef VG_MAPS_DEFINE
#define VG_SHARED
#else
#define VG_SHARED extern
#endif

#define SCRATCH_SIZE (VG_EVENT_MAX + VG_PATH_MAX + 64) /* slack past the last masked offset */

#define WALK_MAX_DEPTH 160 /* dentries + mount crossings per path */
#define WALK_NAME_MAX  256 /* longest component copied; longer ones truncate the path */

/*
 * Load-time knobs: set by the loader in the skeleton's rodata before load, never
 * changed after (the verifier sees them as constants).
 */
#ifdef VG_MAPS_DEFINE
const volatile struct vg_config vg_cfg = {};
#else
extern const volatile struct vg_config vg_cfg;
#endif

/* ---- the record path: ring buffer, counters, scratch ---- */

/* the ring buffer size is set by the loader before load */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VG_EV_TYPE_MAX);
	__type(key, __u32);
	__type(value, struct vg_counters);
} counters SEC(".maps");

struct scratch {
	char buf[SCRATCH_SIZE]; /* the record being built */
};

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

/* per CPU: when this CPU last forced a wakeup of the reader */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_wake SEC(".maps");

/* ---- the path walk's state (core/path.bpf.h) ---- */

struct walk {
	struct dentry *dentry;		       /* current position */
	struct vfsmount *vfsmnt;	       /* mount of the current position */
	struct mount *mnt;		       /* container_of(vfsmnt, struct mount, mnt) */
	struct dentry *root_dentry;	       /* task's root: noted on the way up */
	struct vfsmount *root_mnt;	       /* task's root mount */
	struct dentry *mnt_root;	       /* root dentry of vfsmnt, read once per mount */
	__u32 pos;			       /* path is buf[pos .. VG_PATH_MAX) */
	__u32 flags;			       /* enum walk_flags */
	__u32 root_pos;			       /* pos when the walk passed the task's root */
	__u32 pad;			       /* zero */
	char buf[VG_PATH_MAX + WALK_NAME_MAX]; /* slack after the path for masked writes */
};

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk);
} walk_map SEC(".maps");

/* ---- what a set*id or capset call replaces (priv.bpf.c, core/syscall.bpf.h) ---- */

/* a stash made at an ia32 call's exit: it stands for the next ia32 call's entry */
#define PRIV_STASH_IA32 0xffff
#define PRIV_STASH_MAX	4096

struct priv_stash {
	__u16 syscall;	/* enum vg_syscall of the native entry that stashed, or PRIV_STASH_IA32 */
	__u16 pad;	/* zero */
	__u32 uids[3];	/* real, effective, saved uid */
	__u32 gids[3];	/* real, effective, saved gid */
	__u64 caps[3];	/* effective, permitted, inheritable */
	__u64 start_ns; /* the thread's start: a reused thread id does not inherit it */
};

/* keyed by thread id; LRU so that an entry whose exit never ran ages out */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PRIV_STASH_MAX);
	__type(key, __u32);
	__type(value, struct priv_stash);
} priv_stash SEC(".maps");

/*
 * (dev, inode) -> its last writer (struct vg_writer), filled by the file sensors at
 * every open for writing of a regular file, read by the exec sensor. LRU: the
 * inodes written longest ago are forgotten; writers_made counts the entries made,
 * so user space can tell how many were pushed out.
 */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VG_WRITERS_MAX);
	__type(key, struct vg_inode_key);
	__type(value, struct vg_writer);
} exe_writers SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} writers_made SEC(".maps");

/* ---- the prefilter (core/filter.bpf.h), written by user space ---- */

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_EV_TYPE_MAX);
	__type(key, __u32);
	__type(value, struct vg_filter_type);
} filter_types SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__type(key, struct vg_path_key);
	__type(value, struct vg_path_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} filter_paths SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_comm_key);
	__type(value, __u8);
} filter_comms SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_port_key);
	__type(value, __u8);
} filter_ports SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct vg_cgroup_key);
	__type(value, __u8);
} filter_cgroups SEC(".maps");

/* per-CPU scratch for the trie key: too big for the stack next to everything else */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_path_key);
} filter_key_scratch SEC(".maps");

/* ---- enforcement (core/enforce.bpf.h, enforcers/), written by user space ---- */

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_enf_state);
} enf_state SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct vg_enf_gen);
} enf_gens SEC(".maps");

/* index gen * VG_SYS_MAX + syscall code: the rules that apply to that call */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VG_SYS_MAX);
	__type(key, __u32);
	__type(value, __u64);
} enf_codes SEC(".maps");

/* index gen * VG_ENF_RULES + bit */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VG_ENF_RULES);
	__type(key, __u32);
	__type(value, struct vg_enf_rule);
} enf_rules SEC(".maps");

/* per rule bit: the start of its current second and actions taken in it */
struct enf_rate {
	__u64 window_ns; /* start of the window */
	__u64 count;	 /* actions in it */
};

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_ENF_RULES);
	__type(key, __u32);
	__type(value, struct enf_rate);
} enf_rate SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 8192);
	__type(key, struct vg_enf_path_key);
	__type(value, struct vg_enf_path_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} enf_paths SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, struct vg_enf_comm_key);
	__type(value, struct vg_enf_bits);
} enf_comms SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2048);
	__type(key, struct vg_enf_port_key);
	__type(value, struct vg_enf_bits);
} enf_ports SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__type(key, struct vg_enf_addr_key);
	__type(value, struct vg_enf_bits);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} enf_addrs SEC(".maps");

/* tgid -> enum vg_enf_safe: processes never acted on besides pid 1 and kernel threads */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} enf_safe SEC(".maps");

/* tgid -> its exe tests (struct vg_enf_proc), set at exec, copied at fork */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct vg_enf_proc);
} enf_procs SEC(".maps");

/* (cgroup id, gen) -> the rules scoped to its container; LRU: a removed cgroup's id is
 * never reused, and its entry goes when room is needed */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct vg_enf_scope_key);
	__type(value, struct vg_enf_bits);
} enf_scopes SEC(".maps");

/* thread id -> enum vg_type: a call a BPF-LSM hook refused, whose record the hook made
 * (an open, an exec) or whose exit record must go up whatever the prefilter says */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} enf_denied SEC(".maps");

/* (gen, container short id) -> the rules scoped to that container */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct vg_enf_container_key);
	__type(value, struct vg_enf_bits);
} enf_containers SEC(".maps");

/* Isolated containers' cgroups (events.h); pinned by user space, entered by
 * enforcers/scope.bpf.c for a cgroup made below an isolated one */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct vg_isolate_val);
} net_isolated SEC(".maps");

/* container short id (12 hex digits) -> 1: allowlisted containers; their cgroups enter
 * enf_safe_cgroups (by user space at start, by enforcers/scope.bpf.c when made) */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, char[12]);
	__type(value, __u32);
} enf_safe_containers SEC(".maps");

/* cgroup id -> 1: allowlisted cgroups */
VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
} enf_safe_cgroups SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_enf_path_key);
} enf_key_scratch SEC(".maps");

VG_SHARED struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_enf_comm_key);
} enf_comm_scratch SEC(".maps");

#endif /* VIGIL_MAPS_BPF_H */
