/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * record.bpf.h - how every vigil sensor builds and sends a record: the per-type
 * counters, the per-CPU scratch record, the record header, string appends and
 * the submit with its wakeup policy. Records are built in per-CPU scratch (they
 * are larger than the 512-byte stack) and copied into the ring buffer with their
 * real length. The maps themselves are in maps.bpf.h.
 */
#ifndef VIGIL_RECORD_BPF_H
#define VIGIL_RECORD_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "maps.bpf.h"

#define EV_OFF_MASK  (VG_EVENT_MAX - 1)
#define STR_LEN_MASK (VG_PATH_MAX - 1)

enum counter_field {
	CNT_SEEN,
	CNT_FILTERED,
	CNT_SENT,
	CNT_LOST,
	CNT_READ_ERR,
};

static __always_inline void count(__u32 type, enum counter_field f)
{
	struct vg_counters *c = bpf_map_lookup_elem(&counters, &type);

	if (!c)
		return;
	switch (f) {
	case CNT_SEEN:
		c->seen++;
		break;
	case CNT_FILTERED:
		c->filtered++;
		break;
	case CNT_SENT:
		c->sent++;
		break;
	case CNT_LOST:
		c->lost++;
		break;
	case CNT_READ_ERR:
		c->read_err++;
		break;
	}
}

/*
 * Bounds an offset into the record for the verifier. The compiler often knows the
 * mask is a no-op and drops it, leaving the verifier without a bound: the barrier
 * hides what it knows.
 */
static __always_inline __u32 ev_off(__u32 off)
{
	barrier_var(off);
	return off & EV_OFF_MASK;
}

/* vigil's own syscalls are not reported: they would feed back into the stream */
static __always_inline bool is_self(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == vg_cfg.self_pid;
}

static __always_inline char *scratch_get(void)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);

	return s ? s->buf : NULL;
}

#define TS_COMPAT_ 0x0002 /* x86 thread_info.status: the current syscall is ia32 */

/*
 * Whether the current syscall came through the 32-bit (ia32) entry. The kernel
 * sets the bit at the ia32 entry and clears it on the way back to user space,
 * after the sys_exit tracepoints; exec of a 32-bit image sets it too (the new
 * image returns to user space through the ia32 path).
 */
static __always_inline bool sys_compat(void)
{
#if defined(__TARGET_ARCH_x86)
	struct task_struct *t = bpf_get_current_task_btf();

	return t->thread_info.status & TS_COMPAT_;
#else
	return false;
#endif
}

/*
 * The task's comm, all 16 bytes: the kernel keeps it NUL-padded, and the enforcement
 * and prefilter maps key on whole comms. Not bpf_get_current_comm: cgroup_skb programs
 * (the DNS sensor) may not call it (6.12 refuses it), and on 6.1 it leaves the bytes
 * after the NUL as they were, so a reused key kept an older, longer name's tail and a
 * deny rule on a shorter name missed.
 */
static __always_inline void task_comm(char *comm, struct task_struct *t)
{
	bpf_core_read(comm, sizeof(t->comm), &t->comm);
}

/* Fills the header from the current task; type and size are the caller's. */
static __always_inline void hdr_fill(struct vg_hdr *h, struct task_struct *t, __u16 type)
{
	struct task_struct *leader = BPF_CORE_READ(t, group_leader);
	const struct cred *cred = BPF_CORE_READ(t, cred);

	/* t is the current task. Its ids and cgroup are read from it rather than with
	 * bpf_get_current_pid_tgid and bpf_get_current_cgroup_id, which cgroup_skb
	 * programs (the DNS sensor) may not call on 6.1 */
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->start_ns = BPF_CORE_READ(leader, start_boottime);
	h->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	h->type = type;
	h->size = 0;
	h->flags = sys_compat() ? VG_HF_COMPAT : 0;
	h->pid = BPF_CORE_READ(t, tgid);
	h->tid = BPF_CORE_READ(t, pid);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->uid = BPF_CORE_READ(cred, uid.val);
	h->gid = BPF_CORE_READ(cred, gid.val);
	h->euid = BPF_CORE_READ(cred, euid.val);
	h->egid = BPF_CORE_READ(cred, egid.val);
	h->loginuid = (__u32)-1;
	if (bpf_core_field_exists(t->loginuid))
		h->loginuid = BPF_CORE_READ(t, loginuid.val);
	task_comm(h->comm, t);
}

/*
 * Appends up to max bytes of a NUL-terminated kernel or user string at off and
 * points *s at it. Returns the new offset; sets *trunc when the string was cut.
 */
static __always_inline __u32 str_append(char *ev, __u32 off, struct vg_str *s, const void *src,
					__u32 max, bool user, bool *trunc)
{
	long n;

	if (off >= VG_EVENT_MAX - 1)
		return off;
	if (max > VG_EVENT_MAX - off)
		max = VG_EVENT_MAX - off;
	if (max > VG_PATH_MAX - 1)
		max = VG_PATH_MAX - 1;
	/* the mask changes nothing after the clamp but lets the verifier see the bound;
	 * the barrier keeps the compiler from proving it useless and dropping it */
	barrier_var(max);
	max &= VG_PATH_MAX - 1;
	off = ev_off(off);
	if (user)
		n = bpf_probe_read_user_str(ev + off, max, src);
	else
		n = bpf_probe_read_kernel_str(ev + off, max, src);
	if (n < 0) {
		s->off = 0;
		s->len = 0;
		return off;
	}
	if (n == 0) {
		/* an empty string, as some kernels (6.12) return it: 0, and no NUL written */
		ev[off] = 0;
		n = 1;
	}
	/* n counts the NUL; a full buffer means the source may have been longer */
	if ((__u32)n == max)
		*trunc = true;
	s->off = off;
	s->len = n - 1;
	return off + n;
}

/* a forced wakeup costs the traced syscall ~10 us: at most one per CPU this often */
#define WAKE_MIN_NS 250000

/*
 * Sends the record: rare, high-value types wake the reader at once (but not more
 * often than WAKE_MIN_NS per CPU, so a storm of them batches); bulk ones wait
 * until wake_bytes are pending (the reader also polls on a short timer).
 */
static __always_inline void submit(char *ev, __u64 size, bool urgent)
{
	struct vg_hdr *h = (struct vg_hdr *)ev;
	__u32 type = h->type;
	__u64 flags = BPF_RB_FORCE_WAKEUP;

	/* after the barrier the compiler cannot merge this clamp with earlier ones, so
	 * the verifier sees it on the register passed to the helper */
	barrier_var(size);
	if (size > VG_EVENT_MAX)
		size = VG_EVENT_MAX;
	h->size = size;
	if (urgent) {
		__u32 zero = 0;
		__u64 *last = bpf_map_lookup_elem(&last_wake, &zero);
		__u64 now = bpf_ktime_get_ns();

		if (last && now - *last < WAKE_MIN_NS)
			urgent = false;
		else if (last)
			*last = now;
	}
	if (!urgent && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) < vg_cfg.wake_bytes)
		flags = BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, ev, size, flags) == 0)
		count(type, CNT_SENT);
	else
		count(type, CNT_LOST);
}

#endif /* VIGIL_RECORD_BPF_H */
