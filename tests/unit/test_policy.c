// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_policy.c - rules with actions planned for the kernel or user space: which
 * conditions the kernel decides alone, what the plan says when it cannot, and a
 * deny the kernel cannot carry out refused at its place.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/fields.h"
#include "kernel/sensors.h"
#include "respond/policy.h"
#include "state/containers.h"

static struct rule_engine *engine(const char *yaml)
{
	struct rule_engine_opts o = {0};
	struct rule_engine *e;

	fields_bind(&o);
	e = rule_engine__new(&o);
	cr_assert_not_null(e);
	cr_assert_eq(rule_engine__load_buf(e, "p.yaml", yaml, strlen(yaml)), 0);
	cr_assert_eq(rule_engine__compile(e), 0, "%s", yaml);
	return e;
}

#define RULE(cond, act)                                                                            \
	"- rule: r\n  desc: d\n  condition: " cond "\n  output: o\n  priority: WARNING\n"          \
	"  actions: [" act "]\n"

static struct rule_engine *eng; /* the engine of the last plan: the plan points into it */

/* The plan of the one rule, and the diagnostics in diag (malloc'd). */
static const struct policy_rule *plan(const char *yaml, struct policy **out, char **diag)
{
	struct policy_opts po = {.mode = RESPOND_ENFORCE};
	size_t len = 0;
	FILE *f = open_memstream(diag, &len);

	rule_engine__free(eng);
	eng = engine(yaml);
	*out = policy__new(eng, &po, f);
	fclose(f);
	return *out ? policy__rule(*out, 0) : NULL;
}

static void fini(void)
{
	rule_engine__free(eng);
	eng = NULL;
}

static void kernel(const char *yaml)
{
	struct policy *p;
	char *d = NULL;
	const struct policy_rule *r = plan(yaml, &p, &d);

	cr_assert_not_null(r, "%s: %s", yaml, d);
	cr_assert_eq(r->where, POLICY_KERNEL, "%s: %s", yaml, r->why_user ? r->why_user : "");
	cr_assert_geq(r->bit, 0);
	policy__free(p);
	free(d);
}

static void user(const char *yaml, const char *why)
{
	struct policy *p;
	char *d = NULL;
	const struct policy_rule *r = plan(yaml, &p, &d);

	cr_assert_not_null(r, "%s: %s", yaml, d);
	cr_assert_eq(r->where, POLICY_USER, "%s", yaml);
	cr_assert_eq(r->bit, -1);
	cr_assert(strstr(r->why_user, why), "%s: got '%s', want '%s'", yaml, r->why_user, why);
	policy__free(p);
	free(d);
}

static void refused(const char *yaml, const char *want)
{
	struct policy *p;
	char *d = NULL;

	cr_assert_null(plan(yaml, &p, &d), "%s", yaml);
	cr_assert(strstr(d, want), "%s: got '%s', want '%s'", yaml, d, want);
	free(d);
}

Test(policy, conjunctions_the_kernel_decides, .fini = fini)
{
	kernel(RULE("evt.type = execve and proc.exepath = /tmp/x", "kill"));
	kernel(
	    RULE("evt.type = execve and proc.exepath startswith /tmp/ and proc.name = x", "kill"));
	kernel(RULE("evt.type = execve and proc.exepath pmatch (/opt/bad) and not proc.exepath in "
		    "(/opt/bad/ok)",
		    "kill"));
	kernel(RULE("evt.type in (open, openat, openat2) and fd.name = /etc/shadow and "
		    "evt.is_open_read = true",
		    "kill"));
	kernel(RULE("evt.type = openat and (fd.name startswith /srv/ or fd.name = /etc/x) and "
		    "not proc.name in (backup, rsync)",
		    "kill"));
	kernel(RULE("evt.type = ptrace and proc.name = gdb", "kill"));
	/* the exe at other calls than exec: worked out at the process's exec */
	kernel(RULE("evt.type = openat and fd.name = /etc/shadow and not proc.exepath in "
		    "(/usr/sbin/sshd, /usr/bin/passwd)",
		    "kill"));
	kernel(RULE("evt.type = connect and fd.rport = 25 and not proc.exepath startswith "
		    "/usr/sbin/",
		    "deny"));
	kernel(RULE("evt.type = connect and fd.rport = 4444", "deny"));
	kernel(RULE("evt.type in (sendto, sendmsg) and fd.rnet = 10.0.0.0/8 and fd.l4proto = udp",
		    "deny"));
	kernel(RULE("evt.type = bind and fd.sport in (23, 2323)", "deny"));
	kernel(RULE("evt.type = socket and evt.arg.domain in (AF_INET, AF_INET6) and fd.l4proto = "
		    "raw and not proc.exepath in (/usr/bin/ping)",
		    "deny"));
	kernel(RULE("evt.type = socket and proc.name = nc", "kill"));
	/* a container scope: the cgroups of those containers */
	kernel(
	    RULE("evt.type = execve and proc.name = nc and container.id = 0123456789ab", "kill"));
	kernel(RULE("evt.type = connect and fd.rport = 25 and container.id in (0123456789ab, "
		    "fedcba987654)",
		    "deny"));
	/* a scope by the runtime's metadata: the containers that meet it, as it comes in */
	kernel(RULE("evt.type = execve and proc.name = nc and container.image.repository = "
		    "docker.io/library/nginx",
		    "kill"));
	kernel(RULE("evt.type = connect and fd.rport = 25 and k8s.ns.name in (shop, web)", "deny"));
}

Test(policy, conditions_left_to_user_space_say_why, .fini = fini)
{
	user(RULE("evt.type = execve and proc.cmdline contains xmrig", "kill"),
	     "'contains' on proc.cmdline");
	user(RULE("evt.type = execve and (proc.name = a or proc.exepath = /b)", "kill"),
	     "'or' across fields");
	user(RULE("proc.name = a", "kill"), "does not name its event types");
	user(RULE("evt.type in (execve, openat) and proc.name = a", "kill"),
	     "event types of different kinds");
	user(RULE("evt.type = openat and user.name = root", "kill"),
	     "user.name is not known to the kernel at this event");
	user(RULE("evt.type = connect and fd.rport = 4444", "kill"),
	     "proc.name and proc.exepath alone");
	user(RULE("evt.type = socket and evt.arg.domain contains AF_PACKET", "kill"),
	     "'contains' on evt.arg.domain");
	user(RULE("evt.type = socket and evt.arg.domain = AF_INET", "kill"),
	     "kill on socket is decided in the kernel by proc.name");
	user(RULE("evt.type = execve and proc.name = nc and container.id != 0123456789ab", "kill"),
	     "an exclusion of containers");
	user(RULE("evt.type = execve and proc.name = nc and container.id = host", "kill"),
	     "container.id 'host' is not a container id");
	user(RULE("evt.type = execve and proc.name = nc and container.id = "
		  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		  "kill"),
	     "is not a container id");
	user(RULE("evt.type = execve and proc.name = nc and container.id startswith 01", "kill"),
	     "container.id tested other than with = or in");
	user(RULE("evt.type = execve and proc.name = nc and container.image.repository != nginx",
		  "kill"),
	     "an exclusion of containers (not container.image.repository)");
	user(RULE("evt.type = execve and proc.name = nc and container.name contains web", "kill"),
	     "'contains' on container.name");
	user(RULE("evt.type = execve and proc.name = nc and container.id = 0123456789ab and "
		  "k8s.pod.name = p",
		  "kill"),
	     "two tests of the container");
}

Test(policy, a_deny_the_kernel_cannot_do_is_refused_at_its_place, .fini = fini)
{
	/* no BPF-LSM hook covers these calls on any kernel */
	refused(RULE("evt.type = unlinkat and fd.name = /etc/shadow", "deny"),
		"p.yaml:6:13: error: rule 'r': deny is not possible for unlinkat on this kernel: "
		"use kill");
	refused(RULE("evt.type = connect and proc.cmdline contains curl", "deny"),
		"p.yaml:6:13: error: rule 'r': deny is decided in the kernel");
	refused(RULE("evt.type = setuid and proc.name = nc", "deny"),
		"deny is not possible for setuid on this kernel: use kill");
	/* the sock_create hook sees IPv4 and IPv6 sockets only */
	refused(RULE("evt.type = socket and evt.arg.domain = AF_PACKET", "deny"),
		"evt.arg.domain other than AF_INET or AF_INET6");
	refused(RULE("evt.type = socket and proc.name = nc", "deny"), "no evt.arg.domain test");
	refused(RULE("evt.type = socket and evt.arg.domain contains AF_INET", "deny"),
		"'contains' on evt.arg.domain");
}

Test(policy, monitor_mode_and_the_rule_key)
{
	struct policy_opts po = {.mode = RESPOND_MONITOR};
	struct rule_engine *e = engine(
	    RULE("evt.type = execve and proc.name = a",
		 "kill") "  mode: enforce\n"
			 "- rule: s\n  desc: d\n  condition: evt.type = execve and proc.name = b\n"
			 "  output: o\n  priority: WARNING\n  actions: [kill]\n");
	struct policy *p = policy__new(e, &po, stderr);

	cr_assert_not_null(p);
	cr_assert_eq(policy__n_rules(p), 2);
	cr_assert_not(policy__rule(p, 0)->monitor, "the rule's mode: enforce wins");
	cr_assert(policy__rule(p, 1)->monitor, "the agent's monitor mode");
	policy__free(p);
	rule_engine__free(e);
}

Test(policy, kills_on_other_calls_are_planned_at_their_entry)
{
	struct rule_engine *e = engine(RULE(
	    "evt.type = ptrace and proc.name = gdb",
	    "kill") "- rule: s\n  desc: d\n  condition: evt.type = execve and proc.name = b\n"
		    "  output: o\n  priority: WARNING\n  actions: [kill]\n"
		    "- rule: t\n  desc: d\n  condition: evt.type = connect and fd.rport = 4444\n"
		    "  output: o\n  priority: WARNING\n  actions: [deny]\n");
	struct policy_opts po = {.mode = RESPOND_ENFORCE, .entry_kill = true};
	struct policy *p = policy__new(e, &po, stderr);
	char buf[128];

	cr_assert_not_null(p);
	cr_assert(policy__rule(p, 0)->at_entry, "ptrace: at the entry");
	cr_assert_not(policy__rule(p, 1)->at_entry, "exec: at sched_process_exec");
	cr_assert_not(policy__rule(p, 2)->at_entry, "deny: the cgroup hooks");
	cr_assert(policy__needs_entry(p));
	cr_assert_str_eq(policy_rule__where(policy__rule(p, 0), buf, sizeof(buf)),
			 "kernel (at the syscall's entry)");
	/* without the entry enforcer the same rule is killed at the call's exit */
	policy__drop_entry(p);
	cr_assert_not(policy__needs_entry(p));
	cr_assert_not(policy__rule(p, 0)->at_entry);
	cr_assert_str_eq(policy_rule__where(policy__rule(p, 0), buf, sizeof(buf)),
			 "kernel (sensors)");
	policy__free(p);
	po.entry_kill = false;
	p = policy__new(e, &po, stderr);
	cr_assert_not_null(p);
	cr_assert_not(policy__needs_entry(p));
	policy__free(p);
	rule_engine__free(e);
}

/* The plan of yaml's first rule with BPF-LSM hooks for every call they cover (lsm) or
 * none; the diagnostics in *diag. */
static struct policy *plan_lsm(const char *yaml, bool lsm, char **diag)
{
	struct policy_opts po = {.mode = RESPOND_ENFORCE, .entry_kill = true};
	size_t len = 0;
	FILE *f = open_memstream(diag, &len);
	struct policy *p;

	policy_opts_lsm(&po, lsm ? 0 : -EPERM);
	rule_engine__free(eng);
	eng = engine(yaml);
	p = policy__new(eng, &po, f);
	fclose(f);
	return p;
}

/* Where the kernel runs BPF LSM: deny of opens, execs, ptrace, module loads, mount and
 * bpf() at the hooks, and kill rules of those calls upgraded to refuse and kill there. */
Test(policy, bpf_lsm_hooks_take_deny_and_kill_of_the_calls_they_cover, .fini = fini)
{
	static const char *const deny[] = {
	    "evt.type in (open, openat, openat2, creat) and fd.name = /etc/shadow",
	    ("evt.type = openat and fd.name startswith /srv/keys/ and evt.is_open_write = true "
	     "and not proc.exepath in (/usr/bin/vault)"),
	    "evt.type = execve and proc.exepath startswith /tmp/",
	    "evt.type = execve and proc.name = nc and container.id = 0123456789ab",
	    "evt.type = ptrace and proc.name = gdb",
	    "evt.type in (init_module, finit_module) and not proc.exepath = /usr/bin/kmod",
	    "evt.type = mount and proc.name = mount",
	    "evt.type = bpf and proc.name = bpftool",
	    /* the file's own name and inode: under any path to it */
	    "evt.type in (open, openat) and fd.filename in (id_rsa, id_ed25519)",
	    "evt.type = openat and fd.ino = 1234567 and not proc.name = backup",
	};
	char buf[128], *d = NULL;
	struct policy *p;

	for (size_t i = 0; i < sizeof(deny) / sizeof(deny[0]); i++) {
		char yaml[512];
		const struct policy_rule *r;

		snprintf(yaml, sizeof(yaml), RULE("%s", "deny"), deny[i]);
		p = plan_lsm(yaml, true, &d);
		cr_assert_not_null(p, "%s: %s", deny[i], d);
		r = policy__rule(p, 0);
		cr_assert_eq(r->where, POLICY_KERNEL, "%s", deny[i]);
		cr_assert(r->deny && r->at_lsm && !r->kill && !r->deny_missing, "%s", deny[i]);
		cr_assert(policy__needs_lsm(p));
		cr_assert_not(policy__needs_deny(p), "%s: no cgroup program needed", deny[i]);
		cr_assert_str_eq(policy_rule__where(r, buf, sizeof(buf)),
				 "kernel (BPF-LSM hook, before the call)");
		policy__free(p);
		free(d);
		d = NULL;
	}
	/* kill upgraded: refused at the hook and killed, never at the entry or the exits */
	p = plan_lsm(RULE("evt.type = ptrace and proc.name = gdb", "kill"), true, &d);
	cr_assert_not_null(p);
	cr_assert(policy__rule(p, 0)->kill && policy__rule(p, 0)->at_lsm);
	cr_assert_not(policy__rule(p, 0)->at_entry);
	cr_assert_not(policy__needs_entry(p));
	policy__free(p);
	free(d);
	/* a call no hook covers keeps its place: setuid at the entry, unlink at the exit */
	p = plan_lsm(RULE("evt.type = setuid and proc.name = x", "kill"), true, &d);
	cr_assert(policy__rule(p, 0)->at_entry && !policy__rule(p, 0)->at_lsm);
	policy__free(p);
	free(d);
	p = plan_lsm(RULE("evt.type in (openat, unlinkat) and fd.name = /etc/x", "kill"), true, &d);
	cr_assert_not_null(p, "%s", d);
	cr_assert_not(policy__rule(p, 0)->at_lsm, "unlinkat has no hook: the exits decide");
	policy__free(p);
	free(d);
	/* the name and inode are the hook's alone: a kill without it is the agent's */
	p = plan_lsm(RULE("evt.type = openat and fd.filename = id_rsa", "kill"), false, &d);
	cr_assert_not_null(p, "%s", d);
	cr_assert_eq(policy__rule(p, 0)->where, POLICY_USER);
	cr_assert(strstr(policy__rule(p, 0)->why_user,
			 "fd.filename is decided in the kernel only at the BPF-LSM open hook"));
	policy__free(p);
	free(d);
	p = plan_lsm(RULE("evt.type = openat and fd.filename startswith id_", "deny"), true, &d);
	cr_assert_null(p);
	cr_assert(strstr(d, "'startswith' on fd.filename"), "%s", d);
	free(d);
	/* a deny the hook cannot decide is refused, saying what it can decide */
	p = plan_lsm(RULE("evt.type = openat and proc.cmdline contains x", "deny"), true, &d);
	cr_assert_null(p);
	cr_assert(strstr(d, "deny is decided in the kernel, at a BPF-LSM hook"), "%s", d);
	free(d);
}

/* Without BPF LSM a deny of those calls kills instead, with a notice, and the plan keeps
 * why for the alert. */
Test(policy, without_bpf_lsm_a_deny_of_those_calls_kills_with_a_notice, .fini = fini)
{
	char *d = NULL;
	struct policy *p =
	    plan_lsm(RULE("evt.type = openat and fd.name = /etc/shadow", "deny"), false, &d);
	const struct policy_rule *r;

	cr_assert_not_null(p, "%s", d);
	r = policy__rule(p, 0);
	cr_assert(r->kill && !r->deny && !r->at_lsm);
	cr_assert_eq(r->where, POLICY_KERNEL);
	cr_assert(strstr(r->deny_missing, "no BPF-LSM hook here (this kernel refuses BPF LSM "
					  "programs"),
		  "%s", r->deny_missing);
	cr_assert(strstr(d, "p.yaml:6:13: notice: rule 'r': deny of openat needs a BPF-LSM "
			    "hook, and there is no BPF-LSM hook here"),
		  "%s", d);
	cr_assert_not(policy__needs_lsm(p));
	policy__free(p);
	free(d);
}

/* The scope by metadata is met by value, field by field; nothing is written for a
 * container that meets no rule's (the maps are not touched: -1 fds would fail). */
Test(policy, a_container_meets_a_metadata_scope_by_its_value, .fini = fini)
{
	struct enforce_maps m = {.containers = -1, .scopes = -1};
	struct container_meta meta = {.image = "docker.io/library/redis:7", .privileged = -1};
	struct policy *p;
	char *d = NULL;

	cr_assert_not_null(plan(RULE("evt.type = execve and proc.name = nc and "
				     "container.image.repository = docker.io/library/nginx",
				     "kill"),
				&p, &d));
	cr_assert(policy__meta_scoped(p));
	cr_assert_eq(policy__scope_container(p, &m, 0, "0123456789ab", 7, &meta), 0,
		     "another image: nothing to write");
	meta.image = "docker.io/library/nginx:1.25";
	cr_assert_neq(policy__scope_container(p, &m, 0, "0123456789ab", 7, &meta), 0,
		      "its image: written (and refused by the fake maps)");
	policy__free(p);
	free(d);
}

/* A threshold or a sequence fires on state the kernel does not have: its kill is the
 * agent's, at the match that fires it; an aggregate acts on every match as a plain rule. */
Test(policy, stateful_rules_kill_from_user_space, .fini = fini)
{
	user(RULE("evt.type = execve and proc.name = nc",
		  "kill") "  threshold: {count: 3, within: 10s, by: [proc.ppid]}\n",
	     "a threshold or sequence fires on state kept in user space");
	user("- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n  actions: [kill]\n"
	     "  sequence: {by: process, within: 10s, steps: [{condition: evt.type = execve and "
	     "proc.name = a}, {condition: evt.type = execve and proc.name = b}]}\n",
	     "a threshold or sequence fires on state kept in user space");
	kernel(RULE("evt.type = execve and proc.name = nc",
		    "kill") "  aggregate: {within: 10s, by: [proc.exepath]}\n");
}
