/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy.h - rules with actions compiled into what the kernel enforces alone. A
 * rule whose condition is a conjunction the sensors can decide (exec of an exe path
 * or name, a file call on a path or prefix with read or write access, a connect,
 * send or bind to a port, address or network, any call by a comm) becomes a bit in
 * the enforcement maps (include/vigil/events.h); any other rule with kill acts from
 * user space when it matches, and the plan says why. deny has no user-space form:
 * a deny rule the kernel cannot decide is an error at its place, file:line:col.
 *
 * Writing a plan is atomic for the kernel: the next generation's entries are
 * written beside the ones in force, one write flips the generation, and the old
 * entries are deleted after. A plan that fails to write leaves the old one in force.
 */
#ifndef VIGIL_RESPOND_POLICY_H
#define VIGIL_RESPOND_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kernel/sensors.h"
#include "respond/action.h"
#include "rules/engine.h"

enum respond_mode {
	RESPOND_ENFORCE = 1, /* act */
	RESPOND_MONITOR = 2, /* say what would have been done */
};

enum policy_where {
	POLICY_USER = 1,   /* the agent acts when the rule matches */
	POLICY_KERNEL = 2, /* the sensors (kill) or cgroup programs (deny) act at the event */
};

/* How one rule's actions are carried out. */
struct policy_rule {
	size_t rule_idx;	      /* in the engine */
	const struct rule_info *info; /* the rule */
	bool kill, deny;	      /* its actions the policy carries out */
	bool monitor;		      /* its mode (or the agent's) is monitor */
	enum policy_where where;      /* where they run */
	int bit;		      /* kernel rule bit, -1 in user space */
	const char *why_user;	      /* POLICY_USER: why the kernel cannot decide it */
	bool at_entry;		      /* POLICY_KERNEL kill: at the syscall's entry */
	bool at_lsm;		      /* POLICY_KERNEL: at a BPF-LSM hook, before the call (a
				       * kill rule there refuses the call and kills) */
	const char *deny_missing;     /* a deny this kernel cannot give (no BPF-LSM hook):
				       * why; the rule kills instead (kill is set) */
	const struct action *block;   /* its block action (carried out by user space), or NULL */
	const struct action *isolate; /* its isolate action (likewise), or NULL */
	bool quarantine;	      /* it quarantines the node (likewise) */
};

struct policy_opts {
	enum respond_mode mode;		     /* the agent's mode */
	const char *const *allow_exe;	     /* exe paths never acted on */
	size_t n_allow_exe;		     /* entries */
	const uint64_t *allow_cgroups;	     /* cgroup ids never acted on */
	size_t n_allow_cgroups;		     /* entries */
	const char *const *allow_containers; /* container short ids never acted on */
	size_t n_allow_containers;	     /* entries */
	unsigned per_sec;		     /* per-rule rate limit, 0: none */
	bool entry_kill; /* kill rules on other calls at their entry (else at their exit) */
	/* the calls (enum vg_syscall) whose BPF-LSM hook is loaded here: their deny rules,
	 * and their kill rules upgraded, are decided there */
	bool lsm_code[VG_SYS_MAX];
	const char *lsm_why; /* why a call has no hook here (e.g. "the kernel refuses BPF LSM
			      * programs (Operation not permitted)"); NULL: unknown */
};

struct policy;

/*
 * Plans the rules of e that have kill or deny. Returns NULL with errno set:
 * EINVAL when a rule cannot be carried out here (each printed to diag as
 * "file:line:col: error: rule 'x': ..."), ENOMEM.
 */
struct policy *policy__new(const struct rule_engine *e, const struct policy_opts *o, FILE *diag);
void policy__free(struct policy *p);

size_t policy__n_rules(const struct policy *p);
const struct policy_rule *policy__rule(const struct policy *p, size_t i);
/* The plan of engine rule rule_idx, or NULL when it has no action carried out. */
const struct policy_rule *policy__find(const struct policy *p, size_t rule_idx);
/* The rule at kernel bit b of the plan, or NULL. */
const struct policy_rule *policy__by_bit(const struct policy *p, int bit);

/* Calls fn(ctx, tgid, exe) for each live process (the agent's process table). */
typedef void (*policy_procs_fn)(void *arg, void (*fn)(void *ctx, uint32_t tgid, const char *exe),
				void *ctx);

/*
 * Writes the plan as generation gen (0 or 1), with the exe tests of the processes
 * procs lists (NULL: none), and makes it the one in force; then removes generation
 * !gen. 0 or -errno (the old generation stays in force).
 */
int policy__write(const struct policy *p, const struct enforce_maps *m, unsigned gen,
		  policy_procs_fn procs, void *arg);

/*
 * Writes generation gen's exe tests of the processes procs lists into enf_procs,
 * after forgetting gen's for every process (a process not listed is left to user
 * space for the rules that test the exe). 0 or the last -errno.
 */
int policy__write_procs(const struct policy *p, const struct enforce_maps *m, unsigned gen,
			policy_procs_fn procs, void *arg);

struct container_meta;

/* Whether the plan scopes rules by a container's runtime metadata (container.image*,
 * container.name, k8s.ns.name, k8s.pod.name). */
bool policy__meta_scoped(const struct policy *p);
/*
 * Puts the container (its short id, one of its cgroups) in the scope of generation
 * gen's rules whose metadata tests its metadata meets; nothing when it meets none.
 * 0 or -errno.
 */
int policy__scope_container(const struct policy *p, const struct enforce_maps *m, unsigned gen,
			    const char *short_id, uint64_t cgroup_id,
			    const struct container_meta *meta);

/* Whether exe is on an allowlist of exe paths (an entry ending in '/': anything under it). */
bool policy_exe_allowed(const char *const *list, size_t n, const char *exe);

/*
 * Marks in the kernel's safety maps vigil and its parents, the allowlisted cgroups
 * and the processes already running an allowlisted exe. 0 or the last -errno.
 */
/* Whether the container (its short id) is on the allowlist. */
bool policy_container_allowed(const struct policy_opts *o, const char *short_id);

int policy_seed_safe(const struct enforce_maps *m, const struct policy_opts *o);

/* "kernel (exec: sched_process_exec)", "user: <why>" for rules list and status. */
/* Whether the plan has kill rules decided at a syscall's entry (the entry enforcer). */
bool policy__needs_entry(const struct policy *p);
/* Whether the plan has deny rules (the deny programs), in either mode. */
bool policy__needs_deny(const struct policy *p);
/*
 * Fills o's lsm_code and lsm_why from loader_probe_lsm's answer: every call a hook of
 * vigil's covers, or none and why.
 */
void policy_opts_lsm(struct policy_opts *o, int probe);
/* Whether the plan has rules decided at BPF-LSM hooks (they are attached while it does). */
bool policy__needs_lsm(const struct policy *p);
/* Moves the plan's entry rules to the syscalls' exits (the entry enforcer is not there). */
void policy__drop_entry(struct policy *p);

/* The rule's actions the policy carries out: "kill", "deny, block", ... */
const char *policy_rule__actions(const struct policy_rule *r, char *buf, size_t len);

const char *policy_rule__where(const struct policy_rule *r, char *buf, size_t len);

#endif /* VIGIL_RESPOND_POLICY_H */
