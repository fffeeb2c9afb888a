/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * respond.c - the user-space side of actions: reading the kernel's reports, the
 * kill that user space carries out, its safety checks and rate limit, and the log
 * of recent actions.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "events/event.h"
#include "respond/action.h"
#include "respond/netblock.h"
#include "respond/respond.h"
#include "state/procfs.h"
#include "state/proctable.h"
#include "util/json.h"
#include "vigil/events.h"

#define REPORTS	   64 /* kernel reports awaiting their event */
#define SELF_CHAIN 32 /* vigil and its parents */
#define RATE_SLOTS 1024

struct report {
	struct vg_action a; /* as read */
	bool used;	    /* matched to an alert */
};

struct rate {
	size_t rule_idx;    /* whose window */
	uint64_t window_ns; /* start of its second */
	unsigned count;	    /* actions in it */
};

struct respond {
	struct respond_opts o;
	uint32_t self[SELF_CHAIN];
	size_t n_self;
	struct report reports[REPORTS];
	size_t next_report;
	struct rate rates[RATE_SLOTS];
	struct respond_record recent[RESPOND_RECENT];
	size_t n_recent; /* total ever written */
	struct respond_stats st;
	char target[64]; /* the address of the last block, for its alert */
};

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

struct respond *respond__new(const struct respond_opts *o)
{
	struct respond *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->o = *o;
	r->n_self = procfs_ancestry("/proc", getpid(), r->self, SELF_CHAIN);
	return r;
}

void respond__free(struct respond *r)
{
	free(r);
}

void respond__set_blocks(struct respond *r, struct netblock *nb)
{
	r->o.blocks = nb;
}

void respond__on_kernel(struct respond *r, const struct vg_action *a)
{
	struct report *slot = &r->reports[r->next_report++ % REPORTS];

	if (slot->a.hdr.ts_ns && !slot->used)
		r->st.kernel_unmatched++;
	slot->a = *a;
	slot->used = false;
	r->st.kernel_reports++;
}

static const struct vg_action *find_report(struct respond *r, const struct vg_hdr *h, int bit)
{
	for (size_t i = 0; i < REPORTS; i++) {
		struct report *x = &r->reports[i];

		if (x->a.hdr.tid != h->tid || !((x->a.matched >> bit) & 1))
			continue;
		/* a kill is reported with the event's own header; a deny (a cgroup or BPF-LSM
		 * hook) and a kill at the call's entry come before its record: the same thread,
		 * the same call, earlier */
		if (x->a.hdr.ts_ns == h->ts_ns ||
		    ((x->a.action == VG_ENF_DENY || x->a.action == VG_ENF_KILL_ENTRY ||
		      x->a.action == VG_ENF_DENY_LSM) &&
		     x->a.event_type == h->type && x->a.hdr.ts_ns <= h->ts_ns &&
		     h->ts_ns - x->a.hdr.ts_ns < 1000000000ull)) {
			x->used = true;
			return &x->a;
		}
	}
	return NULL;
}

static const char *why_name(uint32_t why)
{
	switch (why) {
	case VG_WHY_MONITOR:
		return "monitor mode";
	case VG_WHY_PID1:
		return "pid 1";
	case VG_WHY_KTHREAD:
		return "kernel thread";
	case VG_WHY_SELF:
		return "vigil or its parent";
	case VG_WHY_ALLOWLISTED:
		return "allowlisted";
	case VG_WHY_RATE:
		return "rate limit";
	case VG_WHY_ERROR:
		return "the signal could not be sent";
	default:
		return "not acted on";
	}
}

/* Why user space must not kill the event's process; NULL when it may. */
static const char *why_not(struct respond *r, const struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;

	if (h->pid == 1)
		return "pid 1";
	if (h->pid == 2 || h->ppid == 2)
		return "kernel thread";
	for (size_t i = 0; i < r->n_self; i++)
		if (r->self[i] == h->pid)
			return "vigil or its parent";
	if (ev->proc && policy_exe_allowed(r->o.allow_exe, r->o.n_allow_exe, ev->proc->exe))
		return "allowlisted";
	for (size_t i = 0; i < r->o.n_allow_cgroups; i++)
		if (r->o.allow_cgroups[i] == h->cgroup_id)
			return "allowlisted";
	if (r->o.policy && r->o.policy->n_allow_containers) {
		const struct container_ident *ci = event_container(ev);

		if (ci && ci->runtime != CONTAINER_HOST &&
		    policy_container_allowed(r->o.policy, ci->short_id))
			return "allowlisted";
	}
	return NULL;
}

static bool rate_ok(struct respond *r, size_t rule_idx)
{
	struct rate *s = &r->rates[rule_idx % RATE_SLOTS];
	uint64_t now = now_ns(CLOCK_MONOTONIC);

	if (!r->o.per_sec)
		return true;
	if (s->rule_idx != rule_idx || now - s->window_ns >= 1000000000ull) {
		s->rule_idx = rule_idx;
		s->window_ns = now;
		s->count = 0;
	}
	if (s->count >= r->o.per_sec)
		return false;
	s->count++;
	return true;
}

/*
 * SIGKILL to the event's process, through a pidfd taken after checking that the
 * pid still names the process that caused the event (same start time), so a
 * reused pid is never killed. NULL, or why it was not done.
 */
static const char *kill_process(const struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick = 1000000000ull / (hz > 0 ? (uint64_t)hz : 100), start;
	int fd = syscall(SYS_pidfd_open, (pid_t)h->pid, 0);
	const char *why = NULL;
	uint32_t ppid;

	if (fd < 0)
		return errno == ESRCH ? "the process had exited" : "pidfd_open failed";
	/* /proc has the start in clock ticks: the same process is within a tick or two */
	if (procfs_stat("/proc", h->pid, &ppid, &start) ||
	    (start > h->start_ns ? start - h->start_ns : h->start_ns - start) > 2 * tick)
		why = "the process had exited";
	else if (syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0))
		why = errno == ESRCH ? "the process had exited" : "the signal could not be sent";
	close(fd);
	return why;
}

static void log_action(struct respond *r, const struct policy_rule *pr, const struct event *ev,
		       const char *output, const struct alert_action *a)
{
	struct respond_record *x = &r->recent[r->n_recent++ % RESPOND_RECENT];
	int k = !strcmp(a->kind, "kill")      ? 0
		: !strcmp(a->kind, "deny")    ? 1
		: !strcmp(a->kind, "block")   ? 2
		: !strcmp(a->kind, "isolate") ? 3
					      : 4;
	int w = strcmp(a->where, "kernel") ? 1 : 0;

	if (a->taken)
		r->st.taken[k][w]++;
	else
		r->st.not_taken[k][w]++;
	memset(x, 0, sizeof(*x));
	x->time_ns = ev->time_ns;
	snprintf(x->rule, sizeof(x->rule), "%s", pr->info->name);
	snprintf(x->kind, sizeof(x->kind), "%s", a->kind);
	x->taken = a->taken;
	snprintf(x->where, sizeof(x->where), "%s", a->where);
	snprintf(x->reason, sizeof(x->reason), "%s", a->reason ? a->reason : "");
	x->latency_us = a->latency_us;
	x->pid = ev->hdr->pid;
	memcpy(x->comm, ev->hdr->comm, sizeof(x->comm) - 1);
	snprintf(x->output, sizeof(x->output), "%s", output ? output : "");
}

static void from_kernel(struct alert_action *a, const struct vg_action *k, int bit)
{
	uint64_t b = 1ull << bit;

	a->where = "kernel";
	a->has_latency = true;
	a->latency_us = k->latency_ns / 1000;
	/* at a BPF-LSM hook the call was refused; the kill that goes with it may have failed */
	if ((k->acted & b) && k->action == VG_ENF_DENY_LSM && !strcmp(a->kind, "kill") &&
	    k->why == VG_WHY_ERROR) {
		a->reason = why_name(k->why);
		return;
	}
	if (k->acted & b) {
		a->taken = true;
		return;
	}
	a->reason = k->monitor & b ? "monitor mode"
		    : k->rated & b ? "rate limit"
				   : why_name(k->why);
}

/*
 * The address a block of the event names (the field of the action's address, by
 * default the remote one) into c; NULL, or why there is none.
 */
static const char *block_address(const struct event *ev, const char *field, struct netblock_cidr *c)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	unsigned t = ev->hdr->type;
	bool server, local;

	if (t < VG_EV_CONNECT || t > VG_EV_SOCKET || t == VG_EV_SOCKET || ev->size < sizeof(*n) ||
	    (n->family != AF_INET && n->family != AF_INET6))
		return "the event has no IP address";
	/* connect, send, recv: the peer is the server; accept, bind, listen: we are */
	server = t != VG_EV_CONNECT && t != VG_EV_SEND && t != VG_EV_RECV;
	local = field && (!strcmp(field, "fd.lip") || (!strcmp(field, "fd.sip") && server) ||
			  (!strcmp(field, "fd.cip") && !server));
	memset(c, 0, sizeof(*c));
	if (n->family == AF_INET) {
		c->addr[10] = c->addr[11] = 0xff;
		memcpy(c->addr + 12, local ? n->laddr : n->raddr, 4);
		c->bits = 128;
	} else {
		memcpy(c->addr, local ? n->laddr : n->raddr, 16);
		c->bits = 128;
	}
	if (!memcmp(c->addr, (uint8_t[16]){0}, 16) ||
	    !memcmp(c->addr, (uint8_t[16]){[10] = 0xff, [11] = 0xff}, 16))
		return "the event has no IP address";
	return NULL;
}

/* The rule's block of the event's address; fills a. rated: the rule is over its rate. */
static void act_block(struct respond *r, const struct policy_rule *pr, const struct event *ev,
		      bool rated, struct alert_action *a)
{
	const struct action_block *b = &pr->block->block;
	uint64_t for_ns = b->for_ns ? b->for_ns : r->o.block_for_ns;
	struct netblock_cidr c;
	char err[256];
	int ret;

	*a = (struct alert_action){.kind = "block", .where = "user", .has_latency = true};
	a->reason = block_address(ev, b->address, &c);
	if (!a->reason) {
		netblock_cidr_str(&c, r->target, sizeof(r->target));
		a->target = r->target;
		a->for_s = for_ns / 1000000000ull;
		if (pr->monitor)
			a->reason = "monitor mode";
		else if (!r->o.blocks)
			a->reason = "blocking is not available (see the agent's start)";
		else if (rated)
			a->reason = "rate limit";
		else if ((ret = netblock__add(r->o.blocks, &c, for_ns, (uint32_t)pr->rule_idx + 1,
					      pr->info->name, err, sizeof(err))))
			a->reason =
			    ret == -EPERM ? "allowlisted" : "the block could not be put in place";
	}
	a->taken = !a->reason;
	a->latency_us = (now_ns(CLOCK_BOOTTIME) - ev->hdr->ts_ns) / 1000;
}

/* The rule's isolation of the event's container; fills a. rated: over its rate. */
static void act_isolate(struct respond *r, const struct policy_rule *pr, const struct event *ev,
			bool rated, struct alert_action *a)
{
	const struct container_ident *ci = event_container(ev);
	char err[256];
	int ret;

	*a = (struct alert_action){.kind = "isolate", .where = "user", .has_latency = true};
	if (!ci || ci->runtime == CONTAINER_HOST)
		a->reason = "the process is not in a container";
	else if (r->o.policy && policy_container_allowed(r->o.policy, ci->short_id))
		a->reason = "allowlisted";
	else if (pr->monitor)
		a->reason = "monitor mode";
	else if (!r->o.blocks)
		a->reason = "isolation is not available (see the agent's start)";
	else if (rated)
		a->reason = "rate limit";
	else if ((ret = netblock__isolate(r->o.blocks, ci->short_id, pr->info->name, err,
					  sizeof(err))))
		a->reason = "the container's cgroups could not be cut off";
	if (ci && ci->runtime != CONTAINER_HOST) {
		snprintf(r->target, sizeof(r->target), "%s", ci->short_id);
		a->target = r->target;
	}
	a->taken = !a->reason;
	a->latency_us = (now_ns(CLOCK_BOOTTIME) - ev->hdr->ts_ns) / 1000;
}

size_t respond__act(struct respond *r, const struct policy_rule *pr, const struct event *ev,
		    const char *output, struct alert_action *out)
{
	int rated = -1; /* the rule's rate, checked once per event: -1 not yet */
	const struct vg_action *k = NULL;
	size_t n = 0;

	if (!pr)
		return 0;
	if (pr->where == POLICY_KERNEL)
		k = find_report(r, ev->hdr, pr->bit);
	for (int i = 0; i < 2; i++) {
		struct alert_action *a = &out[n];
		const char *why;

		/* a kill rule at a BPF-LSM hook refuses the call too; a deny this kernel cannot
		 * give says so next to the kill that stood in for it */
		if (!(i == 0 ? pr->kill : pr->deny || pr->at_lsm || pr->deny_missing))
			continue;
		*a = (struct alert_action){.kind = i == 0 ? "kill" : "deny"};
		n++;
		if (i == 1 && pr->deny_missing) {
			a->where = "kernel";
			a->reason = pr->deny_missing;
		} else if (k) {
			from_kernel(a, k, pr->bit);
		} else if (i == 1) {
			/* deny happens in the kernel or not at all */
			a->where = "kernel";
			a->reason =
			    pr->monitor ? "monitor mode" : "the kernel did not match this event";
		} else {
			a->where = "user";
			if (pr->monitor)
				why = "monitor mode";
			else if (!(why = why_not(r, ev)) && !(rated = !rate_ok(r, pr->rule_idx)))
				;
			else if (!why)
				why = "rate limit";
			if (!why)
				why = kill_process(ev);
			a->taken = !why;
			a->reason = why;
			a->has_latency = true;
			a->latency_us = (now_ns(CLOCK_BOOTTIME) - ev->hdr->ts_ns) / 1000;
		}
		log_action(r, pr, ev, output, a);
	}
	if (pr->block) {
		if (rated < 0 && !pr->monitor)
			rated = !rate_ok(r, pr->rule_idx);
		act_block(r, pr, ev, rated > 0, &out[n]);
		log_action(r, pr, ev, output, &out[n]);
		n++;
	}
	if (pr->isolate) {
		if (rated < 0 && !pr->monitor)
			rated = !rate_ok(r, pr->rule_idx);
		act_isolate(r, pr, ev, rated > 0, &out[n]);
		log_action(r, pr, ev, output, &out[n]);
		n++;
	}
	if (pr->quarantine) {
		struct alert_action *a = &out[n];
		char err[256];

		if (rated < 0 && !pr->monitor)
			rated = !rate_ok(r, pr->rule_idx);
		*a = (struct alert_action){.kind = "quarantine",
					   .where = "user",
					   .has_latency = true,
					   .target = "node",
					   .for_s = r->o.quarantine_ns / 1000000000ull};
		if (pr->monitor)
			a->reason = "monitor mode";
		else if (!r->o.blocks)
			a->reason = "quarantine is not available (see the agent's start)";
		else if (rated > 0)
			a->reason = "rate limit";
		else if (netblock__quarantine(r->o.blocks, r->o.quarantine_ns, pr->info->name, err,
					      sizeof(err)))
			a->reason = "the quarantine could not be put in place";
		a->taken = !a->reason;
		a->latency_us = (now_ns(CLOCK_BOOTTIME) - ev->hdr->ts_ns) / 1000;
		log_action(r, pr, ev, output, a);
		n++;
	}
	return n;
}

void respond__recent_json(const struct respond *r, size_t n, struct json_buf *j)
{
	size_t have = r->n_recent < RESPOND_RECENT ? r->n_recent : RESPOND_RECENT;

	json_arr_begin(j);
	for (size_t i = 0; i < n && i < have; i++) {
		const struct respond_record *x = &r->recent[(r->n_recent - 1 - i) % RESPOND_RECENT];

		json_obj_begin(j);
		json_key(j, "time_ns");
		json_uint(j, x->time_ns);
		json_key(j, "rule");
		json_str(j, x->rule);
		json_key(j, "kind");
		json_str(j, x->kind);
		json_key(j, "taken");
		json_bool(j, x->taken);
		json_key(j, "where");
		json_str(j, x->where);
		if (x->reason[0]) {
			json_key(j, "reason");
			json_str(j, x->reason);
		}
		json_key(j, "latency_us");
		json_uint(j, x->latency_us);
		json_key(j, "pid");
		json_uint(j, x->pid);
		json_key(j, "comm");
		json_str(j, x->comm);
		json_key(j, "output");
		json_str(j, x->output);
		json_obj_end(j);
	}
	json_arr_end(j);
}

void respond__stats(const struct respond *r, struct respond_stats *out)
{
	*out = r->st;
}

const char *respond_result_label(const struct alert_action *a)
{
	static const struct {
		const char *reason, *label;
	} map[] = {
	    {"monitor mode", "monitor"},
	    {"pid 1", "pid1"},
	    {"kernel thread", "kernel_thread"},
	    {"vigil or its parent", "self"},
	    {"allowlisted", "allowlisted"},
	    {"rate limit", "rate_limit"},
	    {"the process had exited", "exited"},
	    {"the kernel did not match this event", "missed"},
	    {"the event has no IP address", "no_target"},
	    {"the process is not in a container", "no_target"},
	};

	if (a->taken)
		return "taken";
	if (a->reason && !strncmp(a->reason, "no BPF-LSM hook", 15))
		return "unsupported";
	for (size_t i = 0; a->reason && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(a->reason, map[i].reason))
			return map[i].label;
	return "error";
}
