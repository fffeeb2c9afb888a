/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * enforce.bpf.h - kill rules decided in the kernel, at the event. A sensor that has
 * built its record asks enforce_kill() before submitting it: the rules lowered by
 * user space (src/respond/policy.c) are bits of a mask, narrowed by one lookup per
 * criterion (see the formula in events.h); a rule left standing kills the task's
 * process with bpf_send_signal, unless the process is one vigil never acts on.
 * Either way a VG_EV_ACTION record goes up just before the event's own record, so
 * the alert can say what was done. The maps are in maps.bpf.h.
 */
#ifndef VIGIL_ENFORCE_BPF_H
#define VIGIL_ENFORCE_BPF_H

#include "core/record.bpf.h"

#define SIGKILL_    9
#define PF_KTHREAD_ 0x00200000

/* enforce_kill's what: the path's class, the open's access, the syscall code */
#define ENF_IN_WRITE   (1u << 8)  /* an open for writing (or creating, truncating) */
#define ENF_IN_READ    (1u << 9)  /* an open for reading */
#define ENF_IN_SYSCALL (1u << 10) /* a syscall's record (not an io_uring request's) */
#define ENF_IN_CLS(x)  ((x)&0xff)
#define ENF_IN_CODE(c) ((__u32)(c) << 16) /* enum vg_syscall */

static __always_inline struct vg_enf_state *enf_state_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&enf_state, &zero);
}

/*
 * The rules of generation gen whose tests of class cls the path meets (*pos) and
 * the ones it excludes (*neg); both 0 when no entry covers it or there is no path.
 */
static __always_inline void enf_path_bits(__u32 gen, __u32 cls, const char *path, __u32 len,
					  __u64 *pos, __u64 *neg)
{
	__u32 zero = 0;
	struct vg_enf_path_key *k = bpf_map_lookup_elem(&enf_key_scratch, &zero);
	struct vg_enf_path_val *v;
	__u64 n = len;

	*pos = *neg = 0;
	if (!path || !k)
		return;
	barrier_var(n);
	if (n > VG_ENF_PATH_MAX)
		n = VG_ENF_PATH_MAX;
	k->gen = gen;
	k->cls = cls;
	bpf_probe_read_kernel(k->path, n, path);
	k->prefixlen = 16 + n * 8;
	v = bpf_map_lookup_elem(&enf_paths, k);
	if (!v)
		return;
	*pos = v->pos;
	*neg = v->neg;
	if (v->len == len) {
		*pos |= v->exact_pos;
		*neg |= v->exact_neg;
	}
}

/* The rules of generation gen that the path satisfies: (pos | free) & ~neg. */
static __always_inline __u64 enf_path_mask(__u32 gen, __u32 cls, const char *path, __u32 len,
					   __u64 free)
{
	__u64 pos, neg;

	enf_path_bits(gen, cls, path, len, &pos, &neg);
	return (pos | free) & ~neg;
}

/*
 * The rules of exe_tested the process's exe satisfies, as worked out at its exec
 * (enf_procs); none when they are not known for generation gen: user space decides
 * those rules for it.
 */
static __always_inline __u64 enf_proc_mask(__u32 gen, __u32 tgid, const struct vg_enf_gen *g)
{
	struct vg_enf_proc *p = bpf_map_lookup_elem(&enf_procs, &tgid);

	gen &= 1;
	if (!p || !(p->known & (1u << gen)))
		return ~g->exe_tested;
	return (p->pos[gen] | g->exe_free) & ~p->neg[gen];
}

/* Whether the path is on the allowlist of exe paths (generation gen). */
static __always_inline bool enf_path_allowed(__u32 gen, const char *path, __u32 len)
{
	return enf_path_mask(gen, VG_ENF_PATH_ALLOW, path, len, 0) != 0;
}

/* The rules the task's comm satisfies. */
static __always_inline __u64 enf_comm_mask(__u32 gen, const char *comm, __u64 free)
{
	__u32 zero = 0;
	struct vg_enf_comm_key *k = bpf_map_lookup_elem(&enf_comm_scratch, &zero);
	struct vg_enf_bits *b;

	if (!k)
		return free;
	k->gen = gen;
	if (comm)
		bpf_probe_read_kernel(k->comm, sizeof(k->comm), comm);
	else
		task_comm(k->comm, (struct task_struct *)bpf_get_current_task());
	b = bpf_map_lookup_elem(&enf_comms, k);
	if (!b)
		return free;
	return (b->pos | free) & ~b->neg;
}

/* The rules of generation gen whose container scope the cgroup is in. */
static __always_inline __u64 enf_scope_mask(__u32 gen, __u64 cgroup_id, __u64 free)
{
	struct vg_enf_scope_key k = {.cgroup_id = cgroup_id, .gen = gen};
	struct vg_enf_bits *b = bpf_map_lookup_elem(&enf_scopes, &k);

	return b ? (b->pos | free) & ~b->neg : free;
}

/* Why vigil must not act on the current task's process; VG_WHY_NONE when it may. */
static __always_inline __u32 enf_why_not(__u32 tgid, __u64 cgroup_id)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u32 *safe;

	if (tgid == 1)
		return VG_WHY_PID1;
	if (BPF_CORE_READ(t, flags) & PF_KTHREAD_)
		return VG_WHY_KTHREAD;
	if (tgid == vg_cfg.self_pid)
		return VG_WHY_SELF;
	safe = bpf_map_lookup_elem(&enf_safe, &tgid);
	if (safe)
		return *safe == VG_SAFE_SELF ? VG_WHY_SELF : VG_WHY_ALLOWLISTED;
	if (bpf_map_lookup_elem(&enf_safe_cgroups, &cgroup_id))
		return VG_WHY_ALLOWLISTED;
	return VG_WHY_NONE;
}

struct enf_rate_ctx {
	__u64 want;  /* rules to act on */
	__u64 rated; /* of those, the ones over their limit */
	__u64 now;   /* bpf_ktime_get_ns() */
	__u32 gen;   /* generation */
	__u32 pad;   /* zero */
};

/* One rule of enf_rated: a loop body verified once, not once per sensor. */
static long enf_rate_step(__u32 i, void *arg)
{
	struct enf_rate_ctx *c = arg;
	__u32 ri = c->gen * VG_ENF_RULES + i, k = i;
	struct vg_enf_rule *r;
	struct enf_rate *s;

	if (i >= VG_ENF_RULES)
		return 1;
	if (!(c->want & (1ull << i)))
		return 0;
	r = bpf_map_lookup_elem(&enf_rules, &ri);
	s = bpf_map_lookup_elem(&enf_rate, &k);
	if (!r || !s || !r->per_sec)
		return 0;
	if (c->now - s->window_ns >= 1000000000ull) {
		s->window_ns = c->now;
		s->count = 0;
	}
	if (s->count >= r->per_sec)
		c->rated |= 1ull << i;
	else
		__sync_fetch_and_add(&s->count, 1);
	return 0;
}

/*
 * The rules of want held back by their rate limit (vg_enf_rule.per_sec actions a
 * second); the others are counted as acted on.
 */
static __always_inline __u64 enf_rated(__u32 gen, __u64 want)
{
	struct enf_rate_ctx c = {.want = want, .now = bpf_ktime_get_ns(), .gen = gen};

	bpf_loop(VG_ENF_RULES, enf_rate_step, &c, 0);
	return c.rated;
}

/* What the kernel made of the rules that matched one event (the VG_EV_ACTION record's body). */
struct enf_verdict {
	__u64 matched; /* rule bits that matched */
	__u64 monitor; /* of those, the ones in monitor mode */
	__u64 rated;   /* of those, the ones held back by their rate limit */
	__u64 acted;   /* of those, the ones acted on */
	__u32 why;     /* enum vg_enf_why for matched & ~acted */
	__s32 err;     /* the action's error (VG_WHY_ERROR) */
};

/*
 * The rules of v->matched vigil may act on for the current task (header h): not
 * those in monitor mode, none when the process is one vigil never acts on, not
 * those held back by their rate limit. Fills v's monitor, rated and why (left
 * VG_WHY_NONE when only monitor mode or the rate limit held rules back: the bits
 * say which); the caller acts on the result and sets v->acted.
 */
static __always_inline __u64 enf_decide(const struct vg_hdr *h, const struct vg_enf_gen *g,
					__u32 gen, struct enf_verdict *v)
{
	__u64 want;

	v->monitor = v->matched & g->monitor;
	v->rated = 0;
	v->acted = 0;
	v->err = 0;
	/* a reason the caller found already stands (the LSM exec hook's allowlisted image) */
	if (v->why == VG_WHY_NONE)
		v->why = enf_why_not(h->pid, h->cgroup_id);
	if (v->why != VG_WHY_NONE)
		return 0;
	want = v->matched & ~v->monitor;
	if (want & g->rate)
		v->rated = enf_rated(gen, want & g->rate);
	return want & ~v->rated;
}

/*
 * Sends the VG_EV_ACTION record of action (enum vg_enf_action) for the event
 * whose header is h (h->type: the event's type; h->ts_ns: when it was captured).
 */
static __always_inline void enf_report(const struct vg_hdr *h, __u32 gen, __u16 action,
				       const struct enf_verdict *v)
{
	struct vg_action *a = bpf_ringbuf_reserve(&events, sizeof(*a), 0);

	if (!a) {
		count(VG_EV_ACTION, CNT_LOST);
		return;
	}
	__builtin_memcpy(&a->hdr, h, sizeof(a->hdr));
	a->hdr.type = VG_EV_ACTION;
	a->hdr.size = sizeof(*a);
	a->matched = v->matched;
	a->acted = v->acted;
	a->latency_ns = bpf_ktime_get_boot_ns() - h->ts_ns;
	a->gen = gen;
	a->why = v->why;
	a->monitor = v->monitor;
	a->rated = v->rated;
	a->err = v->err;
	a->action = action;
	a->event_type = h->type;
	bpf_ringbuf_submit(a, BPF_RB_FORCE_WAKEUP);
	count(VG_EV_ACTION, CNT_SENT);
}

/*
 * The kill rules of mask (already narrowed by the syscall code) that the call meets:
 * what and path as for enforce_kill, comm the task's comm or NULL for the current
 * one's, tgid the process, cgroup_id its cgroup.
 */
static __always_inline __u64 enf_kill_mask(__u32 gen, const struct vg_enf_gen *g, __u64 mask,
					   const char *path, __u32 len, __u32 what,
					   const char *comm, __u32 tgid, __u64 cgroup_id)
{
	if (!(what & ENF_IN_WRITE))
		mask &= ~g->need_write;
	if (!(what & ENF_IN_READ))
		mask &= ~g->need_read;
	mask &= ~g->need_tcp & ~g->need_udp & ~g->need_raw & ~g->not_v4 & ~g->not_v6 &
		g->port_free & g->addr_free;
	if (!mask)
		return 0;
	mask &= enf_comm_mask(gen, comm, g->comm_free);
	if (!mask)
		return 0;
	mask &= ENF_IN_CLS(what) ? enf_path_mask(gen, ENF_IN_CLS(what), path, len, g->path_free)
				 : g->path_free;
	if (mask & g->exe_tested)
		mask &= enf_proc_mask(gen, tgid, g);
	if (mask & ~g->scope_free)
		mask &= enf_scope_mask(gen, cgroup_id, g->scope_free);
	return mask;
}

/*
 * Kills the current task's process for the kill rules of matched (the event's header
 * h), unless vigil may not act on it, and reports it as action (enum vg_enf_action).
 * Returns the rules acted on.
 */
static __always_inline __u64 enf_kill_act(const struct vg_hdr *h, __u32 gen,
					  const struct vg_enf_gen *g, __u64 matched, __u16 action)
{
	struct enf_verdict v = {.matched = matched};
	__u64 want = enf_decide(h, g, gen, &v);
	long err;

	if (want) {
		err = bpf_send_signal(SIGKILL_);
		if (err) {
			v.why = VG_WHY_ERROR;
			v.err = err;
		} else {
			v.acted = want;
		}
	}
	enf_report(h, gen, action, &v);
	return v.acted;
}

/*
 * The kill rules for the record whose header is h: path (len bytes, NULL when it
 * has none) is the object the rules' path tests look at, what the record's syscall
 * code, the path's class, the open's access and ENF_IN_SYSCALL (ENF_IN_*), comm the
 * task's comm when it is not the current one's (an io_uring request run by a kernel
 * io thread). Kills the process when a rule stands and vigil may act on it. Returns
 * the rules acted on. (Unused in the deny enforcer, which includes this file for the
 * rest.)
 */
static __noinline __attribute__((unused)) __u64
enforce_kill(const struct vg_hdr *h, const char *path, __u32 len, __u32 what, const char *comm)
{
	struct vg_enf_state *st = enf_state_get();
	struct vg_enf_gen *g;
	__u32 gen, i, code = what >> 16;
	__u64 *m, mask;

	if (!st || !st->enabled || !h || code >= VG_SYS_MAX)
		return 0;
	gen = st->gen & 1;
	i = gen * VG_SYS_MAX + code;
	m = bpf_map_lookup_elem(&enf_codes, &i);
	g = bpf_map_lookup_elem(&enf_gens, &gen);
	if (!m || !g)
		return 0;
	mask = *m & g->kill;
	/* a syscall's entry already had the entry rules (an io_uring request has no entry) */
	if (what & ENF_IN_SYSCALL)
		mask &= ~g->entry;
	if (!mask)
		return 0;
	mask = enf_kill_mask(gen, g, mask, path, len, what, comm, h->pid, h->cgroup_id);
	if (!mask)
		return 0;
	return enf_kill_act(h, gen, g, mask, VG_ENF_KILL);
}

/* ---- BPF-LSM hooks: deny rules, and kill rules upgraded to deny and kill ---- */

#define EPERM_ 1
#ifndef PF_IO_WORKER_
#define PF_IO_WORKER_ 0x00000010 /* task->flags: an io_uring io thread */
#endif

/*
 * The comm the rules look at for task t: an io_uring worker thread (iou-wrk-N) acts
 * for its process, so its leader's; NULL for t's own (the current task's).
 */
static __always_inline const char *enf_lsm_comm(struct task_struct *t)
{
	struct task_struct *leader;

	if (!(BPF_CORE_READ(t, flags) & PF_IO_WORKER_))
		return NULL;
	leader = BPF_CORE_READ(t, group_leader);
	return (const char *)leader->comm;
}

/* The header of a record made for an io_uring worker thread names its process's leader. */
static __always_inline void lsm_hdr_comm(struct vg_hdr *h, struct task_struct *t)
{
	const char *comm = enf_lsm_comm(t);

	if (comm)
		bpf_probe_read_kernel(h->comm, sizeof(h->comm), comm);
}

/*
 * The plan in force for a BPF-LSM hook: its generation (*gen), masks (*g) and the
 * LSM rules of the hook's syscall codes c0..c3 (one code may be given several times);
 * 0 when none.
 */
static __always_inline __u64 enf_lsm_rules(__u32 *gen, struct vg_enf_gen **g, __u32 c0, __u32 c1,
					   __u32 c2, __u32 c3)
{
	struct vg_enf_state *st = enf_state_get();
	__u32 codes[4] = {c0, c1, c2, c3};
	__u64 mask = 0;

	if (!st || !st->enabled || !st->lsm)
		return 0;
	*gen = st->gen & 1;
	*g = bpf_map_lookup_elem(&enf_gens, gen);
	if (!*g || !(*g)->lsm)
		return 0;
	for (int i = 0; i < 4; i++) {
		__u32 k = *gen * VG_SYS_MAX + codes[i];
		__u64 *m = bpf_map_lookup_elem(&enf_codes, &k);

		if (m)
			mask |= *m;
	}
	return mask & (*g)->lsm;
}

/*
 * A BPF-LSM hook's verdict on the rules of matched (the operation met them): for
 * those vigil may act on, the operation is refused, and the process is SIGKILLed
 * when one of them is a kill rule. Reports it (VG_ENF_DENY_LSM, header h); a refused
 * call of type (enum vg_type, 0: none) is noted in enf_denied for the sensor at its
 * exit. Returns the hook's answer: 0 or -EPERM.
 */
static __always_inline int enf_lsm_act(struct vg_hdr *h, __u32 gen, const struct vg_enf_gen *g,
				       __u64 matched, __u32 type, __u32 why)
{
	struct enf_verdict v = {.matched = matched, .why = why};
	__u64 want = enf_decide(h, g, gen, &v);
	__u32 tid;
	long err;

	if (want) {
		v.acted = want;
		if (want & g->lsm_kill) {
			err = bpf_send_signal(SIGKILL_);
			if (err) {
				v.why = VG_WHY_ERROR;
				v.err = err;
			}
		}
	}
	enf_report(h, gen, VG_ENF_DENY_LSM, &v);
	if (!want)
		return 0;
	if (type) {
		/* the thread in the call (h may name an io_uring worker's process instead) */
		tid = (__u32)bpf_get_current_pid_tgid();
		bpf_map_update_elem(&enf_denied, &tid, &type, BPF_ANY);
	}
	return -EPERM_;
}

/*
 * Whether a BPF-LSM hook refused the current thread's call of type (enum vg_type):
 * its mark in enf_denied is taken. Asked by the sensors of a call that failed with
 * EPERM while the plan in force has LSM rules. Not inlined: its key stays off the
 * sensors' own stack frames, which are near the verifier's limit.
 */
static __noinline __attribute__((unused)) bool enf_denied_take(__u32 type)
{
	struct vg_enf_state *st = enf_state_get();
	__u32 tid;
	__u32 *v;

	if (!st || !st->lsm)
		return false;
	tid = (__u32)bpf_get_current_pid_tgid();
	v = bpf_map_lookup_elem(&enf_denied, &tid);
	if (!v || *v != type)
		return false;
	bpf_map_delete_elem(&enf_denied, &tid);
	return true;
}

/*
 * A BPF-LSM hook on a call whose rules test only who makes it (proc.name,
 * proc.exepath, container.id): ptrace, module loads, mount, bpf. code0/code1 are
 * the calls' codes, type the record type their sensor sends at exit.
 */
static __always_inline int enforce_lsm_who(__u32 code0, __u32 code1, __u32 type)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct vg_enf_gen *g = NULL;
	struct vg_hdr h;
	__u32 gen = 0;
	__u64 mask = enf_lsm_rules(&gen, &g, code0, code1, code1, code1);

	if (!mask || !g)
		return 0;
	hdr_fill(&h, t, type);
	lsm_hdr_comm(&h, t);
	mask = enf_kill_mask(gen, g, mask, NULL, 0, 0, enf_lsm_comm(t), h.pid, h.cgroup_id);
	if (!mask)
		return 0;
	return enf_lsm_act(&h, gen, g, mask, type, VG_WHY_NONE);
}

#endif /* VIGIL_ENFORCE_BPF_H */
