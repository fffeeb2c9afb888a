/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sensors.h - vigil's own BPF object: its program table, its load-time knobs,
 * and what the agent reads from it (the ring buffer, the per-type counters, the
 * prefilter's maps). The only user of the generated vigil skeleton; the steps
 * themselves are loader.h's.
 */
#ifndef VIGIL_SENSORS_H
#define VIGIL_SENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

struct sensors_opts {
	size_t ringbuf_bytes;	 /* ring buffer size, a power of two >= 4096 */
	uint32_t wake_bytes;	 /* bulk events wake the reader once this much is pending */
	uint32_t self_pid;	 /* vigil's own pid */
	const char *btf_path;	 /* kernel BTF for CO-RE; NULL: /sys/kernel/btf/vmlinux */
	const char *cgroup_root; /* the cgroup v2 mount the deny programs attach to; NULL or
				  * "": none, they are switched off */
	const char *pin_dir;	 /* a bpffs directory for the maps that outlive the agent
				  * (blocked addresses); NULL or "": not pinned */
};

struct sensors;
struct loader;

/*
 * Checks root and BTF, probes the kernel, opens, configures and loads; nothing is
 * attached yet, so the maps (the prefilter's) can be written before the first
 * event. Prints the features found and a notice per program switched off. On
 * failure returns NULL and writes a message naming the cause (and the program, for
 * a kernel refusal of a required one) to err.
 */
struct sensors *sensors__start(const struct sensors_opts *opts, char *err, size_t errlen);
void sensors__free(struct sensors *s);

/* Attaches the loaded sensors. 0, or -errno with the cause in err. */
int sensors__attach(struct sensors *s, char *err, size_t errlen);

/* Stops the sensors; the maps stay readable (the ring can still be drained). */
void sensors__detach(struct sensors *s);

/* Program states and feature probes, for metrics. */
const struct loader *sensors__loader(const struct sensors *s);

int sensors__ringbuf_fd(const struct sensors *s);

struct filter_maps;

/* The prefilter's map descriptors. */
void sensors__filter_maps(const struct sensors *s, struct filter_maps *out);

/* The enforcement maps' fds (bpf/maps.bpf.h), for respond/policy.h. */
struct enforce_maps {
	int state, gens, codes, rules, paths, comms, ports, addrs, safe, safe_cgroups, procs;
	int scopes, containers, safe_containers;
};

void sensors__enforce_maps(const struct sensors *s, struct enforce_maps *out);

/*
 * Attaches (on) or detaches the entry enforcer: it runs at every syscall, so only
 * while the policy in force has entry rules. 0 or -errno with a message in err
 * (-ENODEV: it did not load).
 */
int sensors__kill_at_entry(struct sensors *s, bool on, char *err, size_t errlen);
/*
 * Attaches (on) or detaches the deny programs (connect, sendmsg, bind, socket
 * creation): they run at every such call of every process, so only while the policy
 * in force has deny rules. 0 or -errno with a message in err naming the program.
 */
int sensors__deny_hooks(struct sensors *s, bool on, char *err, size_t errlen);
/*
 * The calls (enum vg_syscall) whose BPF-LSM hooks are loaded: codes[c] is true when
 * every hook of call c is. Returns why a hook is missing ("BPF program vg_lsm_open:
 * refused by this kernel: ..."), NULL when none is.
 */
const char *sensors__lsm_codes(const struct sensors *s, bool codes[VG_SYS_MAX]);
/* Attaches (on) or detaches the loaded BPF-LSM programs. 0 or -errno with err. */
int sensors__lsm_hooks(struct sensors *s, bool on, char *err, size_t errlen);

/* The fd of a loaded program of the table (an on-demand one: the caller attaches it);
 * -ENOENT: no such program, -ENODEV: switched off (loader state says why). */
int sensors__prog_fd(const struct sensors *s, const char *name);

/* The fd of a map of the object by name (net_blocks, net_isolated, ...), or -ENOENT. */
int sensors__map_fd(const struct sensors *s, const char *name);

/* Sums the per-CPU counters into out[VG_EV_TYPE_MAX]. Returns 0 or -errno. */
int sensors__counters(const struct sensors *s, struct vg_counters *out);

/* Entries made in exe_writers since load, all CPUs (the LRU of inodes opened for
 * writing holds VG_WRITERS_MAX: each one made beyond that pushed an older one out). */
int sensors__writers_made(const struct sensors *s, uint64_t *out);

#endif /* VIGIL_SENSORS_H */
