/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * policy.c - from rules with kill and deny to the enforcement maps. Each rule's
 * condition is taken as a conjunction (rule_engine__conjunction); its event codes
 * must all be of one class the sensors decide with the same inputs, and each test
 * must be on a field that class gives the kernel:
 *
 *   exec:  proc.exepath (the exe path trie), proc.name (comm)
 *   file:  fd.name (the file path trie), proc.name, evt.is_open_read / _write = true
 *   net:   fd.rport, fd.rip, fd.rnet (connect, send), fd.sport, fd.sip, fd.snet
 *          (bind), fd.l4proto = tcp / udp, proc.name; a kill rule only proc.name
 *   sock:  evt.arg.domain = AF_INET / AF_INET6 (deny: required), fd.l4proto = tcp /
 *          udp / raw, proc.name; a kill rule only proc.name
 *   other: proc.name
 *   any:   container.id = / in short or full ids (a scope: enf_scopes)
 *
 * Everything else keeps kill in user space; deny has no user-space form, so a
 * deny rule outside the net class, or not decidable there, is an error.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "respond/action.h"
#include "respond/policy.h"
#include "state/cgroup.h"
#include "state/container.h"
#include "state/procfs.h"
#include "state/runtime.h"
#include "vigil/events.h"

enum pclass {
	PC_NONE = 0,
	PC_EXEC,
	PC_FILE,
	PC_NET,
	PC_SOCK, /* socket creation */
	PC_OTHER,
};

/* enum vg_type of each syscall code */
#define CODE_KIND_(name, code, falco, kind, nr64, nr32) [code] = kind,
static const uint8_t code_kind[VG_SYS_MAX] = {VG_SYSCALLS(CODE_KIND_)};
#undef CODE_KIND_
#define CODE_NAME_(name, code, falco, kind, nr64, nr32) [code] = falco,
static const char *const code_name[VG_SYS_MAX] = {VG_SYSCALLS(CODE_NAME_)};
#undef CODE_NAME_

static enum pclass class_of(uint32_t code)
{
	unsigned k = code < VG_SYS_MAX ? code_kind[code] : 0;

	if (!k)
		return PC_NONE;
	if (k == VG_EV_EXEC)
		return PC_EXEC;
	if (k >= VG_EV_OPEN && k <= VG_EV_TRUNCATE)
		return PC_FILE;
	if (k == VG_EV_CONNECT || k == VG_EV_SEND || k == VG_EV_BIND)
		return PC_NET;
	if (k == VG_EV_SOCKET)
		return PC_SOCK;
	if (k == VG_EV_FORK || k == VG_EV_EXIT)
		return PC_NONE;
	return PC_OTHER;
}

/*
 * The calls a BPF-LSM hook of vigil's sees on every way in (enforcers/lsm.bpf.c,
 * the open and exec hooks with their sensors): a deny of them is possible where
 * the hook is loaded, and their kill rules are decided there too.
 */
static bool lsm_covers(uint32_t code)
{
	switch (code) {
	case VG_SYS_OPEN:
	case VG_SYS_OPENAT:
	case VG_SYS_OPENAT2:
	case VG_SYS_CREAT:
	case VG_SYS_EXECVE:
	case VG_SYS_PTRACE:
	case VG_SYS_INIT_MODULE:
	case VG_SYS_FINIT_MODULE:
	case VG_SYS_MOUNT:
	case VG_SYS_BPF:
		return true;
	default:
		return false;
	}
}

#define PSTR_SCOPE 0xff /* struct pstr's cls of a container scope (enf_containers) */
#define PSTR_META  0xfe /* ... of a scope by the runtime's metadata (enum meta_field) */

/* The container metadata a scope may test (container.image.repository = nginx). */
enum meta_field {
	META_NONE = 0,
	META_NAME,	 /* container.name */
	META_IMAGE,	 /* container.image */
	META_REPOSITORY, /* container.image.repository */
	META_K8S_NS,	 /* k8s.ns.name */
	META_K8S_POD,	 /* k8s.pod.name */
};

static const char *const meta_fields[] = {
    [META_NAME] = "container.name",
    [META_IMAGE] = "container.image",
    [META_REPOSITORY] = "container.image.repository",
    [META_K8S_NS] = "k8s.ns.name",
    [META_K8S_POD] = "k8s.pod.name",
};

/* One string test of the plan: a trie or hash entry's part. */
struct pstr {
	uint8_t cls;   /* enum vg_enf_path_class; 0: comm */
	bool prefix;   /* a prefix test; else exact */
	bool neg;      /* an exclusion */
	int bit;       /* rule bit; -1: the allowlist */
	const char *s; /* bytes */
	size_t n;      /* length */
	uint8_t meta;  /* PSTR_META: enum meta_field */
};

struct pport {
	uint16_t port;
	bool neg;
	int bit;
};

struct paddr {
	uint8_t addr[16]; /* IPv4 mapped */
	uint8_t bits;	  /* 0..128 */
	bool neg;
	int bit;
};

struct policy {
	struct policy_rule *rules;
	size_t n_rules;
	struct policy_rule *by_bit[VG_ENF_RULES];
	struct vg_enf_gen gen;	    /* masks */
	uint64_t codes[VG_SYS_MAX]; /* per code */
	struct vg_enf_rule rule[VG_ENF_RULES];
	struct pstr *strs;
	size_t n_strs, cap_strs;
	struct pport *ports;
	size_t n_ports, cap_ports;
	struct paddr *addrs;
	size_t n_addrs, cap_addrs;
	struct rule_conj **conjs; /* kept: strs point into them */
	size_t n_conjs;
	bool enabled; /* anything for the kernel */
	char **whys;  /* owned reason strings */
	size_t n_whys;
};

static void *grow(void *v, size_t *cap, size_t n, size_t esz)
{
	void *p;

	if (n < *cap)
		return v;
	p = realloc(v, (*cap ? *cap * 2 : 16) * esz);
	if (!p)
		return NULL;
	*cap = *cap ? *cap * 2 : 16;
	return p;
}

static int add_str(struct policy *p, uint8_t cls, bool prefix, bool neg, int bit, const char *s,
		   size_t n)
{
	struct pstr *v = grow(p->strs, &p->cap_strs, p->n_strs, sizeof(*v));

	if (!v)
		return -ENOMEM;
	p->strs = v;
	v[p->n_strs++] = (struct pstr){cls, prefix, neg, bit, s, n, META_NONE};
	return 0;
}

static const char *keep_why(struct policy *p, const char *fmt, const char *a, const char *b)
{
	char buf[256], **v;

	snprintf(buf, sizeof(buf), fmt, a, b);
	v = realloc(p->whys, (p->n_whys + 1) * sizeof(*v));
	if (!v)
		return "out of memory";
	p->whys = v;
	v[p->n_whys] = strdup(buf);
	return v[p->n_whys] ? v[p->n_whys++] : "out of memory";
}

/* IPv4 as ::ffff:a.b.c.d, so one trie holds both families. */
static void mapped(const struct rule_net *n, uint8_t out[16], uint8_t *bits)
{
	memset(out, 0, 16);
	if (n->family == 4) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, n->addr, 4);
		*bits = 96 + (n->bits > 32 ? 32 : n->bits);
	} else {
		memcpy(out, n->addr, 16);
		*bits = n->bits > 128 ? 128 : n->bits;
	}
}

/* The work of one rule: its kernel form into p, or why it has none. */
struct lower {
	struct policy *p;
	enum pclass cls;
	bool bind; /* net: its codes are bind (local port and address) */
	bool kill; /* the rule's kernel action is kill (else deny) */
	int bit;
	uint64_t b; /* 1 << bit */
	bool has_comm_pos, has_path_pos, has_port_pos, has_addr_pos, has_exe_pos, has_scope;
	bool exe_tested; /* a test of the process's exe at another event than exec */
	bool lsm;	 /* decided at a BPF-LSM hook */
	bool has_leaf_pos, leaf_tested, has_ino_pos, ino_tested; /* fd.filename, fd.ino */
	bool need_write, need_read, need_tcp, need_udp, need_raw;
	bool has_domain, not_v4, not_v6; /* socket: a test of evt.arg.domain, what it leaves out */
};

static bool str_atom_ok(const struct rule_atom *a, size_t max, const char **why)
{
	if (a->n_num || a->n_net || a->bools) {
		*why = "a string field compared with a number";
		return false;
	}
	for (size_t i = 0; i < a->n_exact; i++)
		if (a->exact[i].len > max)
			return (*why = "a value too long for the kernel's tables"), false;
	for (size_t i = 0; i < a->n_prefix; i++)
		if (a->prefix[i].len > max)
			return (*why = "a prefix too long for the kernel's tables"), false;
	return true;
}

/*
 * container.id = / in: the rule's scope, the cgroups of those containers. Only a
 * positive test: a container the kernel has not entered yet must fall outside a
 * scope, never inside an exclusion. "host" is no container: user space decides it.
 */
static const char *lower_scope(struct lower *l, const struct rule_atom *a)
{
	if (a->negated)
		return "an exclusion of containers (not container.id)";
	if (a->n_prefix || a->n_num || a->n_net || a->bools || !a->n_exact)
		return "container.id tested other than with = or in";
	if (l->has_scope)
		return "two tests of container.id";
	for (size_t i = 0; i < a->n_exact; i++)
		/* container.id is the short id: a full one never equals it, never matches */
		if (!container_id_valid(a->exact[i].ptr, a->exact[i].len, CONTAINER_SHORT_ID_LEN,
					CONTAINER_SHORT_ID_LEN))
			return keep_why(l->p, "container.id '%s' is not a container id%s",
					a->exact[i].ptr, "");
	for (size_t i = 0; i < a->n_exact; i++)
		if (add_str(l->p, PSTR_SCOPE, false, false, l->bit, a->exact[i].ptr,
			    CONTAINER_SHORT_ID_LEN))
			return "out of memory";
	l->has_scope = true;
	return NULL;
}

/*
 * container.image.repository (and the other fields of meta_fields) = / in: a scope by
 * the runtime's metadata. Known in user space only, and only after the container
 * started: the agent puts each container whose metadata meets the test in the scope
 * (policy__scope_container) as that metadata comes in; until then user space decides.
 */
static const char *lower_meta(struct lower *l, const struct rule_atom *a, enum meta_field which)
{
	if (a->negated)
		return keep_why(l->p, "an exclusion of containers (not %s)%s", meta_fields[which],
				"");
	if (a->n_prefix || a->n_num || a->n_net || a->bools || !a->n_exact)
		return keep_why(l->p, "%s tested other than with = or in%s", meta_fields[which],
				"");
	if (l->has_scope)
		return "two tests of the container";
	for (size_t i = 0; i < a->n_exact; i++) {
		if (add_str(l->p, PSTR_META, false, false, l->bit, a->exact[i].ptr,
			    a->exact[i].len))
			return "out of memory";
		l->p->strs[l->p->n_strs - 1].meta = which;
	}
	l->has_scope = true;
	return NULL;
}

/*
 * socket: evt.arg.domain = / in AF_INET, AF_INET6 and fd.l4proto = / in tcp, udp, raw,
 * decided at the cgroup sock_create hook; a kill rule decides by who alone.
 */
static const char *lower_sock(struct lower *l, const struct rule_atom *a, const char *f)
{
	bool dom = !strcmp(f, "evt.arg.domain"), proto = !strcmp(f, "fd.l4proto");
	bool v4 = false, v6 = false, tcp = false, udp = false, raw = false;

	if (!dom && !proto)
		return keep_why(l->p, "%s is not known to the kernel at this event%s", f, "");
	if (l->kill)
		return "kill on socket is decided in the kernel by proc.name, proc.exepath and "
		       "container.id alone";
	if (a->negated || a->n_prefix || a->n_num || a->n_net || a->bools || !a->n_exact)
		return keep_why(l->p, "%s tested other than with = or in%s", f, "");
	if ((dom && l->has_domain) || (proto && (l->need_tcp || l->need_udp || l->need_raw)))
		return keep_why(l->p, "two tests of %s%s", f, "");
	for (size_t i = 0; i < a->n_exact; i++) {
		const char *v = a->exact[i].ptr;

		if (dom && !strcmp(v, "AF_INET"))
			v4 = true;
		else if (dom && !strcmp(v, "AF_INET6"))
			v6 = true;
		else if (proto && !strcmp(v, "tcp"))
			tcp = true;
		else if (proto && !strcmp(v, "udp"))
			udp = true;
		else if (proto && !strcmp(v, "raw"))
			raw = true;
		else if (dom)
			return "evt.arg.domain other than AF_INET or AF_INET6 (the hook sees only "
			       "those)";
		else
			return "fd.l4proto other than tcp, udp or raw";
	}
	if (dom) {
		l->has_domain = true;
		l->not_v4 = !v4;
		l->not_v6 = !v6;
		return NULL;
	}
	if (tcp + udp + raw > 1)
		return "fd.l4proto in more than one protocol";
	l->need_tcp = tcp;
	l->need_udp = udp;
	l->need_raw = raw;
	return NULL;
}

/* A copy of n bytes the plan owns (freed with it), or NULL. */
static const char *keep_bytes(struct policy *p, const void *b, size_t n)
{
	char **v = realloc(p->whys, (p->n_whys + 1) * sizeof(*v));

	if (!v)
		return NULL;
	p->whys = v;
	v[p->n_whys] = malloc(n ? n : 1);
	if (!v[p->n_whys])
		return NULL;
	memcpy(v[p->n_whys], b, n);
	return v[p->n_whys++];
}

/*
 * fd.filename (= / in) and fd.ino (= / in) of an open: the file's own name and inode,
 * which hold under any path to it (a hard link). Only the BPF-LSM open hook has the
 * file's dentry and inode before the call.
 */
static const char *lower_file_id(struct lower *l, const struct rule_atom *a, const char *f)
{
	struct policy *p = l->p;
	bool leaf = !strcmp(f, "fd.filename"), pos = !a->negated;
	const char *why = NULL;

	if (!l->lsm)
		return keep_why(p, "%s is decided in the kernel only at the BPF-LSM open hook%s", f,
				"");
	if (leaf) {
		if (!str_atom_ok(a, VG_ENF_PATH_MAX, &why))
			return why;
		if (a->n_prefix)
			return "'startswith' on fd.filename";
		if (pos && l->has_leaf_pos)
			return "two tests of fd.filename";
		l->has_leaf_pos |= pos;
		l->leaf_tested = true;
		for (size_t i = 0; i < a->n_exact; i++)
			if (add_str(p, VG_ENF_PATH_LEAF, false, a->negated, l->bit, a->exact[i].ptr,
				    a->exact[i].len))
				return "out of memory";
		return NULL;
	}
	if (a->n_exact || a->n_prefix || a->n_net || a->bools || !a->n_num)
		return "fd.ino compared with a non-number";
	if (pos && l->has_ino_pos)
		return "two tests of fd.ino";
	l->has_ino_pos |= pos;
	l->ino_tested = true;
	for (size_t i = 0; i < a->n_num; i++) {
		uint64_t ino = a->num[i];
		const char *b = keep_bytes(p, &ino, sizeof(ino));

		if (!b || add_str(p, VG_ENF_PATH_INO, false, a->negated, l->bit, b, sizeof(ino)))
			return "out of memory";
	}
	return NULL;
}

/* One test into the plan; NULL, or why it cannot be decided in the kernel. */
static const char *lower_atom(struct lower *l, const struct rule_atom *a)
{
	const char *f = a->ref->text, *why = NULL;
	struct policy *p = l->p;
	bool pos = !a->negated;

	if (!strcmp(f, "container.id"))
		return lower_scope(l, a);
	for (size_t i = 1; i < sizeof(meta_fields) / sizeof(meta_fields[0]); i++)
		if (!strcmp(f, meta_fields[i]))
			return lower_meta(l, a, (enum meta_field)i);
	/* the kernel's missing value fails a positive test and passes an exclusion */
	if (strcmp(f, "proc.name") && a->absent_ok != a->negated)
		return keep_why(p, "the test on %s treats a missing value otherwise%s", f, "");
	if (!strcmp(f, "proc.name")) {
		if (!str_atom_ok(a, VG_COMM_LEN - 1, &why))
			return why;
		if (a->n_prefix)
			return "'startswith' on proc.name";
		if (pos && l->has_comm_pos)
			return "two tests of proc.name";
		l->has_comm_pos |= pos;
		for (size_t i = 0; i < a->n_exact; i++)
			if (add_str(p, 0, false, a->negated, l->bit, a->exact[i].ptr,
				    a->exact[i].len))
				return "out of memory";
		return NULL;
	}
	if ((l->cls == PC_EXEC && !strcmp(f, "proc.exepath")) ||
	    (l->cls == PC_FILE && !strcmp(f, "fd.name"))) {
		uint8_t cls = l->cls == PC_EXEC ? VG_ENF_PATH_EXE : VG_ENF_PATH_FILE;

		if (!str_atom_ok(a, VG_ENF_PATH_MAX, &why))
			return why;
		if (pos && l->has_path_pos)
			return keep_why(p, "two tests of %s%s", f, "");
		l->has_path_pos |= pos;
		for (size_t i = 0; i < a->n_exact; i++)
			if (add_str(p, cls, false, a->negated, l->bit, a->exact[i].ptr,
				    a->exact[i].len))
				return "out of memory";
		for (size_t i = 0; i < a->n_prefix; i++)
			if (add_str(p, cls, true, a->negated, l->bit, a->prefix[i].ptr,
				    a->prefix[i].len))
				return "out of memory";
		return NULL;
	}
	if (l->cls == PC_FILE && (!strcmp(f, "fd.filename") || !strcmp(f, "fd.ino")))
		return lower_file_id(l, a, f);
	if (l->cls != PC_EXEC && !strcmp(f, "proc.exepath")) {
		/* worked out at the process's exec, looked up at its later calls */
		if (!str_atom_ok(a, VG_ENF_PATH_MAX, &why))
			return why;
		if (pos && l->has_exe_pos)
			return "two tests of proc.exepath";
		l->has_exe_pos |= pos;
		l->exe_tested = true;
		for (size_t i = 0; i < a->n_exact; i++)
			if (add_str(p, VG_ENF_PATH_PROC, false, a->negated, l->bit, a->exact[i].ptr,
				    a->exact[i].len))
				return "out of memory";
		for (size_t i = 0; i < a->n_prefix; i++)
			if (add_str(p, VG_ENF_PATH_PROC, true, a->negated, l->bit, a->prefix[i].ptr,
				    a->prefix[i].len))
				return "out of memory";
		return NULL;
	}
	if (l->cls == PC_FILE &&
	    (!strcmp(f, "evt.is_open_write") || !strcmp(f, "evt.is_open_read"))) {
		/* only "= true": the kernel asks whether the access was wanted */
		if (a->negated || a->bools != 2)
			return keep_why(p, "%s tested for false%s", f, "");
		if (f[12] == 'w')
			l->need_write = true;
		else
			l->need_read = true;
		return NULL;
	}
	if (l->cls == PC_SOCK)
		return lower_sock(l, a, f);
	if (l->cls == PC_NET) {
		bool port = !strcmp(f, l->bind ? "fd.sport" : "fd.rport");
		bool addr = !strcmp(f, l->bind ? "fd.sip" : "fd.rip") ||
			    !strcmp(f, l->bind ? "fd.snet" : "fd.rnet");

		if (l->kill && (port || addr || !strcmp(f, "fd.l4proto")))
			return "kill on a network call is decided in the kernel by proc.name and "
			       "proc.exepath alone";
		if (port) {
			if (a->n_exact || a->n_prefix || a->n_net || a->bools)
				return keep_why(p, "%s compared with a non-number%s", f, "");
			if (pos && l->has_port_pos)
				return keep_why(p, "two tests of %s%s", f, "");
			l->has_port_pos |= pos;
			for (size_t i = 0; i < a->n_num; i++) {
				struct pport *v;

				if (a->num[i] > 65535)
					continue;
				v = grow(p->ports, &p->cap_ports, p->n_ports, sizeof(*v));
				if (!v)
					return "out of memory";
				p->ports = v;
				v[p->n_ports++] =
				    (struct pport){(uint16_t)a->num[i], a->negated, l->bit};
			}
			return NULL;
		}
		if (addr) {
			if (a->n_exact || a->n_prefix || a->n_num || a->bools)
				return keep_why(p, "%s compared with a non-address%s", f, "");
			if (pos && l->has_addr_pos)
				return keep_why(p, "two tests of %s%s", f, "");
			l->has_addr_pos |= pos;
			for (size_t i = 0; i < a->n_net; i++) {
				struct paddr *v =
				    grow(p->addrs, &p->cap_addrs, p->n_addrs, sizeof(*v));

				if (!v)
					return "out of memory";
				p->addrs = v;
				mapped(&a->net[i], v[p->n_addrs].addr, &v[p->n_addrs].bits);
				v[p->n_addrs].neg = a->negated;
				v[p->n_addrs].bit = l->bit;
				p->n_addrs++;
			}
			return NULL;
		}
		if (!strcmp(f, "fd.l4proto")) {
			bool tcp = false, udp = false;

			if (a->negated || a->n_prefix)
				return "fd.l4proto tested other than with = or in";
			for (size_t i = 0; i < a->n_exact; i++) {
				tcp |= !strcmp(a->exact[i].ptr, "tcp");
				udp |= !strcmp(a->exact[i].ptr, "udp");
			}
			if (tcp == udp)
				return "fd.l4proto other than tcp or udp";
			l->need_tcp = tcp;
			l->need_udp = udp;
			return NULL;
		}
	}
	return keep_why(p, "%s is not known to the kernel at this event%s", f, "");
}

/* The class of the rule's codes, or why they are not one class. */
static const char *rule_class(const struct rule_conj *c, struct lower *l, uint32_t *bad_code)
{
	bool bind = false, other = false;

	if (c->all_evtypes || !c->n_evtypes)
		return "the condition does not name its event types (evt.type)";
	for (size_t i = 0; i < c->n_evtypes; i++) {
		enum pclass k = class_of(c->evtypes[i]);

		*bad_code = c->evtypes[i];
		if (k == PC_NONE)
			return "an event type the kernel does not act on";
		if (l->cls && k != l->cls)
			return "event types of different kinds";
		l->cls = k;
		if (code_kind[c->evtypes[i]] == VG_EV_BIND)
			bind = true;
		else
			other = true;
	}
	if (l->cls == PC_NET && bind && other)
		return "bind mixed with connect or send";
	l->bind = bind;
	return NULL;
}

static void diag_at(FILE *diag, const struct action *a, const struct rule_info *r, const char *msg,
		    const char *why)
{
	if (!diag)
		return;
	fprintf(diag, "%s:%d:%d: error: rule '%s': %s%s%s\n", a->file ? a->file : r->file,
		a->file ? a->line : r->line, a->file ? a->col : r->col, r->name, msg,
		why ? ": " : "", why ? why : "");
}

/* Whether every call of the rule has its BPF-LSM hook loaded here. */
static bool lsm_loaded(const struct rule_info *r, const struct policy_opts *o)
{
	if (r->all_evtypes || !r->n_evtypes)
		return false;
	for (size_t i = 0; i < r->n_evtypes; i++)
		if (!lsm_covers(r->evtypes[i]) || r->evtypes[i] >= VG_SYS_MAX ||
		    !o->lsm_code[r->evtypes[i]])
			return false;
	return true;
}

static void notice_at(FILE *diag, const struct action *a, const struct rule_info *r,
		      const char *msg)
{
	if (diag)
		fprintf(diag, "%s:%d:%d: notice: rule '%s': %s\n", a->file ? a->file : r->file,
			a->file ? a->line : r->line, a->file ? a->col : r->col, r->name, msg);
}

/*
 * Whether the rule's calls are decided at BPF-LSM hooks (l->lsm): a deny of calls
 * a hook covers, or a kill of them (upgraded: the call is refused and the process
 * killed), where every one of its calls has its hook loaded. A deny of such calls
 * where the kernel has no hook falls back to kill, with a notice and the reason in
 * pr->deny_missing. Otherwise the rest of plan_rule decides as before.
 */
static void lsm_plan(struct policy *p, const struct rule_conj *c, const struct policy_opts *o,
		     struct policy_rule *pr, struct lower *l, const struct rule_info *ri,
		     FILE *diag)
{
	bool covered = true;
	const struct action *deny = NULL;
	char msg[320];

	if (l->cls != PC_EXEC && l->cls != PC_FILE && l->cls != PC_OTHER)
		return;
	for (size_t i = 0; i < c->n_evtypes; i++)
		covered &= lsm_covers(c->evtypes[i]);
	if (!covered)
		return;
	if (lsm_loaded(ri, o)) {
		l->lsm = true;
		return;
	}
	if (!pr->deny)
		return;
	for (size_t i = 0; i < ri->n_actions; i++)
		if (ri->actions[i].kind == ACTION_DENY)
			deny = &ri->actions[i];
	pr->deny_missing = keep_why(p, "no BPF-LSM hook here (%s): killed instead%s",
				    o->lsm_why ? o->lsm_why : "not probed", "");
	snprintf(msg, sizeof(msg), "deny of %s needs a BPF-LSM hook, and there is %s",
		 code_name[c->evtypes[0]], pr->deny_missing);
	if (deny)
		notice_at(diag, deny, ri, msg);
	pr->deny = false;
	pr->kill = true;
	l->kill = true;
}

/* Plans one rule; 0, -EINVAL (said to diag) or -ENOMEM. */
static int plan_rule(struct policy *p, const struct rule_engine *e, size_t idx,
		     const struct policy_opts *o, FILE *diag, int *next_bit)
{
	const struct rule_info *ri = rule_engine__rule(e, idx);
	struct policy_rule *pr = &p->rules[p->n_rules];
	const struct action *deny = NULL;
	struct rule_conj *c;
	struct lower l = {.p = p};
	const char *why = NULL;
	uint32_t bad_code = 0;
	size_t save_strs = p->n_strs, save_ports = p->n_ports, save_addrs = p->n_addrs;

	*pr = (struct policy_rule){.rule_idx = idx, .info = ri, .bit = -1};
	for (size_t i = 0; i < ri->n_actions; i++) {
		if (ri->actions[i].kind == ACTION_BLOCK) {
			const char *f = ri->actions[i].block.address;

			if (f && strcmp(f, "fd.rip") && strcmp(f, "fd.lip") &&
			    strcmp(f, "fd.sip") && strcmp(f, "fd.cip")) {
				diag_at(diag, &ri->actions[i], ri,
					"block's address must be fd.rip, fd.lip, fd.sip or fd.cip",
					NULL);
				return -EINVAL;
			}
			pr->block = &ri->actions[i];
		}
		if (ri->actions[i].kind == ACTION_ISOLATE)
			pr->isolate = &ri->actions[i];
		if (ri->actions[i].kind == ACTION_QUARANTINE)
			pr->quarantine = true;
		if (ri->actions[i].kind == ACTION_KILL)
			pr->kill = true;
		if (ri->actions[i].kind == ACTION_DENY) {
			pr->deny = true;
			deny = &ri->actions[i];
		}
	}
	if (!pr->kill && !pr->deny && !pr->block && !pr->isolate && !pr->quarantine)
		return 0;
	pr->monitor = ri->mode == RULE_MODE_MONITOR ||
		      (ri->mode == RULE_MODE_DEFAULT && o->mode == RESPOND_MONITOR);
	p->n_rules++;
	if (!pr->kill && !pr->deny) {
		/* block, isolate: user space puts the address or cgroups in the kernel's maps */
		pr->where = POLICY_USER;
		pr->why_user = "put in place by the agent when the rule fires";
		return 0;
	}

	c = rule_engine__conjunction(e, idx);
	if (!c)
		return -errno;
	p->conjs[p->n_conjs++] = c;
	l.kill = !pr->deny;
	if (pr->kill && pr->deny) {
		why = "a rule with both kill and deny";
	} else if (c->why) {
		why = keep_why(p, "%s%s", c->why, "");
	} else if ((why = rule_class(c, &l, &bad_code))) {
		;
	} else if (*next_bit >= VG_ENF_RULES) {
		why = "more than 64 rules are decided in the kernel";
	} else {
		lsm_plan(p, c, o, pr, &l, ri, diag);
		/* a deny the kernel has no hook for is refused below, its atoms unread */
		if (!pr->deny || l.cls == PC_NET || l.cls == PC_SOCK || l.lsm) {
			l.bit = *next_bit;
			l.b = 1ull << l.bit;
			for (size_t i = 0; i < c->n_atoms && !why; i++)
				why = lower_atom(&l, &c->atoms[i]);
			/* the hook sees IPv4 and IPv6 sockets only: a deny must not claim the
			 * rest */
			if (!why && pr->deny && l.cls == PC_SOCK && !l.has_domain)
				why = "no evt.arg.domain test: the kernel's hook sees only AF_INET "
				      "and AF_INET6 sockets, so a deny must name them "
				      "(evt.arg.domain in (AF_INET, AF_INET6))";
		}
	}
	if (pr->deny && ((l.cls != PC_NET && l.cls != PC_SOCK && !l.lsm) || why)) {
		char msg[160];

		if (l.cls != PC_NET && l.cls != PC_SOCK && bad_code < VG_SYS_MAX &&
		    code_name[bad_code] && l.cls != PC_NONE && !l.lsm) {
			snprintf(msg, sizeof(msg),
				 "deny is not possible for %s on this kernel: use kill",
				 code_name[bad_code]);
			diag_at(diag, deny, ri, msg, NULL);
		} else if (why && lsm_loaded(ri, o)) {
			diag_at(diag, deny, ri,
				"deny is decided in the kernel, at a BPF-LSM hook, and this "
				"condition cannot be: use kill, or test only fd.name (=, in, "
				"startswith), evt.is_open_read, evt.is_open_write, proc.name, "
				"proc.exepath and container.id",
				why);
		} else if (why) {
			diag_at(diag, deny, ri,
				l.cls == PC_SOCK
				    ? "deny of socket is decided in the kernel, and this condition "
				      "cannot be: use kill, or test only evt.arg.domain (AF_INET, "
				      "AF_INET6), fd.l4proto, proc.name, proc.exepath and "
				      "container.id"
				    : "deny is decided in the kernel (connect, sendto, sendmsg, "
				      "bind), and this condition cannot be: use kill, or test only "
				      "ports, addresses, fd.l4proto and proc.name",
				why);
		} else {
			diag_at(diag, deny, ri,
				"deny is not possible for these events on this "
				"kernel: use kill",
				NULL);
		}
		return -EINVAL;
	}
	if (why) {
		/* kill from user space; the kernel keeps nothing of this rule */
		p->n_strs = save_strs;
		p->n_ports = save_ports;
		p->n_addrs = save_addrs;
		pr->where = POLICY_USER;
		pr->why_user = why;
		return 0;
	}
	pr->where = POLICY_KERNEL;
	pr->bit = l.bit;
	p->by_bit[l.bit] = pr;
	(*next_bit)++;
	for (size_t i = 0; i < c->n_evtypes; i++)
		p->codes[c->evtypes[i]] |= l.b;
	/* a deny rule on sends covers both calls: the cgroup hook does not tell them apart */
	if (l.cls == PC_NET && !pr->kill) {
		if (p->codes[VG_SYS_SENDTO] & l.b)
			p->codes[VG_SYS_SENDMSG] |= l.b;
		if (p->codes[VG_SYS_SENDMSG] & l.b)
			p->codes[VG_SYS_SENDTO] |= l.b;
	}
	if (!l.has_comm_pos)
		p->gen.comm_free |= l.b;
	if (!l.has_path_pos)
		p->gen.path_free |= l.b;
	if (!l.has_port_pos)
		p->gen.port_free |= l.b;
	if (!l.has_addr_pos)
		p->gen.addr_free |= l.b;
	if (!l.has_exe_pos)
		p->gen.exe_free |= l.b;
	if (!l.has_scope)
		p->gen.scope_free |= l.b;
	if (l.exe_tested)
		p->gen.exe_tested |= l.b;
	if (l.need_write)
		p->gen.need_write |= l.b;
	if (l.need_read)
		p->gen.need_read |= l.b;
	if (l.need_tcp)
		p->gen.need_tcp |= l.b;
	if (l.need_udp)
		p->gen.need_udp |= l.b;
	if (l.need_raw)
		p->gen.need_raw |= l.b;
	if (l.not_v4)
		p->gen.not_v4 |= l.b;
	if (l.not_v6)
		p->gen.not_v6 |= l.b;
	if (pr->monitor)
		p->gen.monitor |= l.b;
	if (!l.has_leaf_pos)
		p->gen.leaf_free |= l.b;
	if (l.leaf_tested)
		p->gen.leaf_tested |= l.b;
	if (!l.has_ino_pos)
		p->gen.ino_free |= l.b;
	if (l.ino_tested)
		p->gen.ino_tested |= l.b;
	if (l.lsm) {
		/* refused at the hook, before the call: nothing is left for the exits */
		p->gen.lsm |= l.b;
		pr->at_lsm = true;
	} else if (pr->kill && (l.cls == PC_OTHER || l.cls == PC_SOCK) && o->entry_kill) {
		p->gen.entry |= l.b;
		pr->at_entry = true;
	}
	if (l.lsm && pr->kill)
		p->gen.lsm_kill |= l.b; /* not in kill: the exits leave it alone */
	else if (pr->kill)
		p->gen.kill |= l.b;
	else if (!l.lsm)
		p->gen.deny |= l.b; /* the cgroup programs' */
	if (o->per_sec) {
		p->gen.rate |= l.b;
		p->rule[l.bit].per_sec = o->per_sec;
	}
	p->enabled = true;
	return 0;
}

struct policy *policy__new(const struct rule_engine *e, const struct policy_opts *o, FILE *diag)
{
	size_t n = rule_engine__rule_count(e);
	struct policy *p = calloc(1, sizeof(*p));
	int next_bit = 0, bad = 0, ret = 0;

	if (!p)
		return NULL;
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	p->conjs = calloc(n ? n : 1, sizeof(*p->conjs));
	if (!p->rules || !p->conjs)
		goto err_nomem;
	for (size_t i = 0; i < n; i++) {
		const struct rule_info *ri = rule_engine__rule(e, i);

		if (!ri->active || !ri->n_actions)
			continue;
		ret = plan_rule(p, e, i, o, diag, &next_bit);
		if (ret == -EINVAL)
			bad++;
		else if (ret)
			goto err_free;
	}
	for (size_t i = 0; i < o->n_allow_exe; i++) {
		const char *x = o->allow_exe[i];
		size_t len = strlen(x);

		if (!len || len > VG_ENF_PATH_MAX)
			continue;
		if (add_str(p, VG_ENF_PATH_ALLOW, x[len - 1] == '/', false, -1, x, len))
			goto err_nomem;
		p->enabled = true;
	}
	if (bad) {
		policy__free(p);
		errno = EINVAL;
		return NULL;
	}
	return p;

err_nomem:
	ret = -ENOMEM;
err_free:
	policy__free(p);
	errno = -ret;
	return NULL;
}

void policy__free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_conjs; i++)
		rule_conj__free(p->conjs[i]);
	for (size_t i = 0; i < p->n_whys; i++)
		free(p->whys[i]);
	free(p->whys);
	free(p->conjs);
	free(p->rules);
	free(p->strs);
	free(p->ports);
	free(p->addrs);
	free(p);
}

size_t policy__n_rules(const struct policy *p)
{
	return p->n_rules;
}

const struct policy_rule *policy__rule(const struct policy *p, size_t i)
{
	return i < p->n_rules ? &p->rules[i] : NULL;
}

const struct policy_rule *policy__find(const struct policy *p, size_t rule_idx)
{
	for (size_t i = 0; p && i < p->n_rules; i++)
		if (p->rules[i].rule_idx == rule_idx)
			return &p->rules[i];
	return NULL;
}

const struct policy_rule *policy__by_bit(const struct policy *p, int bit)
{
	return p && bit >= 0 && bit < VG_ENF_RULES ? p->by_bit[bit] : NULL;
}

const char *policy_rule__actions(const struct policy_rule *r, char *buf, size_t len)
{
	const char *names[] = {r->kill ? "kill" : NULL, r->deny ? "deny" : NULL,
			       r->block ? "block" : NULL, r->isolate ? "isolate" : NULL,
			       r->quarantine ? "quarantine" : NULL};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] && used < len)
			used +=
			    snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i]);
	return buf;
}

bool policy__needs_entry(const struct policy *p)
{
	return p && p->gen.entry;
}

bool policy__needs_deny(const struct policy *p)
{
	return p && p->gen.deny;
}

void policy_opts_lsm(struct policy_opts *o, int probe)
{
	static _Thread_local char why[160];

	memset(o->lsm_code, 0, sizeof(o->lsm_code));
	o->lsm_why = NULL;
	if (probe == 0) {
		for (uint32_t c = 0; c < VG_SYS_MAX; c++)
			o->lsm_code[c] = lsm_covers(c);
		return;
	}
	snprintf(why, sizeof(why), "%s",
		 probe == -EOPNOTSUPP ? "this kernel has no BPF LSM hooks"
		 : probe == -EPERM    ? "this kernel refuses BPF LSM programs (BPF is not in its "
					"lsm= list)"
		 : probe == -EACCES   ? "the kernel was not asked: that needs root"
				      : strerror(-probe));
	o->lsm_why = why;
}

bool policy__needs_lsm(const struct policy *p)
{
	return p && p->gen.lsm;
}

void policy__drop_entry(struct policy *p)
{
	p->gen.entry = 0;
	for (size_t i = 0; i < p->n_rules; i++)
		p->rules[i].at_entry = false;
}

const char *policy_rule__where(const struct policy_rule *r, char *buf, size_t len)
{
	if (r->where == POLICY_USER)
		snprintf(buf, len, "user (%s)", r->why_user);
	else
		snprintf(buf, len, "kernel (%s)",
			 r->at_lsm     ? "BPF-LSM hook, before the call"
			 : r->deny     ? "cgroup programs"
			 : r->at_entry ? "at the syscall's entry"
				       : "sensors");
	return buf;
}

/* ---- writing ---- */

static void put_bits(struct vg_enf_bits *b, bool neg, int bit)
{
	if (neg)
		b->neg |= 1ull << bit;
	else
		b->pos |= 1ull << bit;
}

/* Deletes every entry of a gen-keyed map whose generation byte (at off) is gen. */
static int clear_gen(int fd, size_t key_size, size_t off, size_t gsize, unsigned gen)
{
	uint8_t key[512], next[512];
	void *prev = NULL;
	int ret = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		unsigned g = gsize == 1	  ? next[off]
			     : gsize == 2 ? *(uint16_t *)(next + off)
					  : *(uint32_t *)(next + off);

		memcpy(key, next, key_size);
		prev = key;
		if (g == gen && bpf_map_delete_elem(fd, key) && errno != ENOENT)
			ret = -errno;
		if (g == gen)
			prev = NULL; /* deleting may reorder the walk: start over */
	}
	return ret;
}

static bool is_prefix(const struct pstr *p, const struct pstr *x)
{
	return p->prefix && p->cls == x->cls && p->n <= x->n && !memcmp(p->s, x->s, p->n);
}

static int write_paths(const struct policy *p, int fd, unsigned gen)
{
	for (size_t i = 0; i < p->n_strs; i++) {
		const struct pstr *x = &p->strs[i];
		struct vg_enf_path_key k = {.gen = gen, .cls = x->cls};
		struct vg_enf_path_val v = {.len = x->n};
		bool done = false;

		if (!x->cls || x->cls == PSTR_SCOPE || x->cls == PSTR_META)
			continue;
		/* one entry per distinct (class, string): the first occurrence writes it */
		for (size_t j = 0; j < i && !done; j++)
			done = p->strs[j].cls == x->cls && p->strs[j].n == x->n &&
			       !memcmp(p->strs[j].s, x->s, x->n);
		if (done)
			continue;
		for (size_t j = 0; j < p->n_strs; j++) {
			const struct pstr *y = &p->strs[j];
			int bit = y->bit < 0 ? 0 : y->bit;

			if (y->cls != x->cls)
				continue;
			if (is_prefix(y, x)) {
				if (y->neg)
					v.neg |= 1ull << bit;
				else
					v.pos |= 1ull << bit;
			} else if (!y->prefix && y->n == x->n && !memcmp(y->s, x->s, x->n)) {
				if (y->neg)
					v.exact_neg |= 1ull << bit;
				else
					v.exact_pos |= 1ull << bit;
			}
		}
		memcpy(k.path, x->s, x->n);
		k.prefixlen = 16 + 8 * x->n;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_comms(const struct policy *p, int fd, unsigned gen)
{
	for (size_t i = 0; i < p->n_strs; i++) {
		const struct pstr *x = &p->strs[i];
		struct vg_enf_comm_key k = {.gen = gen};
		struct vg_enf_bits b = {0};

		if (x->cls)
			continue;
		memcpy(k.comm, x->s, x->n < VG_COMM_LEN - 1 ? x->n : VG_COMM_LEN - 1);
		bpf_map_lookup_elem(fd, &k, &b);
		put_bits(&b, x->neg, x->bit);
		if (bpf_map_update_elem(fd, &k, &b, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_ports(const struct policy *p, int fd, unsigned gen)
{
	for (size_t i = 0; i < p->n_ports; i++) {
		struct vg_enf_port_key k = {.gen = gen, .port = p->ports[i].port};
		struct vg_enf_bits b = {0};

		bpf_map_lookup_elem(fd, &k, &b);
		put_bits(&b, p->ports[i].neg, p->ports[i].bit);
		if (bpf_map_update_elem(fd, &k, &b, BPF_ANY))
			return -errno;
	}
	return 0;
}

static bool net_contains(const struct paddr *n, const struct paddr *x)
{
	size_t full = n->bits / 8, rest = n->bits % 8;

	if (n->bits > x->bits || memcmp(n->addr, x->addr, full))
		return false;
	return !rest || ((n->addr[full] ^ x->addr[full]) & (0xff << (8 - rest))) == 0;
}

static int write_addrs(const struct policy *p, int fd, unsigned gen)
{
	for (size_t i = 0; i < p->n_addrs; i++) {
		const struct paddr *x = &p->addrs[i];
		struct vg_enf_addr_key k = {.gen = gen, .prefixlen = 16 + x->bits};
		struct vg_enf_bits b = {0};

		for (size_t j = 0; j < p->n_addrs; j++)
			if (net_contains(&p->addrs[j], x))
				put_bits(&b, p->addrs[j].neg, p->addrs[j].bit);
		memcpy(k.addr, x->addr, 16);
		if (bpf_map_update_elem(fd, &k, &b, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int write_arrays(const struct policy *p, const struct enforce_maps *m, unsigned gen,
			bool empty)
{
	struct vg_enf_gen g = {0};
	struct vg_enf_rule r = {0};
	uint64_t zero = 0;
	uint32_t k = gen;

	if (bpf_map_update_elem(m->gens, &k, empty ? &g : &p->gen, BPF_ANY))
		return -errno;
	for (uint32_t c = 0; c < VG_SYS_MAX; c++) {
		k = gen * VG_SYS_MAX + c;
		if (bpf_map_update_elem(m->codes, &k, empty ? &zero : &p->codes[c], BPF_ANY))
			return -errno;
	}
	for (uint32_t b = 0; b < VG_ENF_RULES; b++) {
		k = gen * VG_ENF_RULES + b;
		if (bpf_map_update_elem(m->rules, &k, empty ? &r : &p->rule[b], BPF_ANY))
			return -errno;
	}
	return 0;
}

/* The scope bits of the container whose short id is id (the plan's PSTR_SCOPE tests). */
static uint64_t container_bits(const struct policy *p, const char *id)
{
	uint64_t bits = 0;

	for (size_t i = 0; i < p->n_strs; i++)
		if (p->strs[i].cls == PSTR_SCOPE &&
		    !memcmp(p->strs[i].s, id, CONTAINER_SHORT_ID_LEN))
			bits |= 1ull << p->strs[i].bit;
	return bits;
}

static int write_containers(const struct policy *p, int fd, unsigned gen)
{
	for (size_t i = 0; i < p->n_strs; i++) {
		struct vg_enf_container_key k = {.gen = gen};
		struct vg_enf_bits b = {0};

		if (p->strs[i].cls != PSTR_SCOPE)
			continue;
		memcpy(k.id, p->strs[i].s, sizeof(k.id));
		b.pos = container_bits(p, k.id);
		if (bpf_map_update_elem(fd, &k, &b, BPF_ANY))
			return -errno;
	}
	return 0;
}

struct scope_walk {
	const struct policy *p;
	int fd;	      /* enf_scopes */
	unsigned gen; /* generation written */
	int ret;
};

/* One cgroup: its parent's bits and its container's, as scope.bpf.c gives a new one. */
static uint64_t scope_visit(void *arg, const char *path, uint64_t id, uint64_t parent)
{
	struct scope_walk *w = arg;
	struct vg_enf_bits b = {.pos = parent};
	struct container_ident ci;

	if (container_parse_cgroup(path, strlen(path), &ci))
		b.pos |= container_bits(w->p, ci.short_id);
	if (b.pos) {
		struct vg_enf_scope_key k = {.cgroup_id = id, .gen = w->gen};

		if (bpf_map_update_elem(w->fd, &k, &b, BPF_ANY))
			w->ret = -errno;
	}
	return b.pos;
}

bool policy__meta_scoped(const struct policy *p)
{
	for (size_t i = 0; p && i < p->n_strs; i++)
		if (p->strs[i].cls == PSTR_META)
			return true;
	return false;
}

/* The value of a metadata field; *n its length. NULL when unknown. */
static const char *meta_value(const struct container_meta *m, enum meta_field f, size_t *n)
{
	const char *v = NULL, *tag;
	size_t tn;

	switch (f) {
	case META_NAME:
		v = m->name;
		break;
	case META_IMAGE:
		v = m->image;
		break;
	case META_REPOSITORY:
		if (m->image)
			runtime_image_split(m->image, n, &tag, &tn);
		return m->image;
	case META_K8S_NS:
		v = m->pod_ns;
		break;
	case META_K8S_POD:
		v = m->pod_name;
		break;
	default:
		break;
	}
	if (v)
		*n = strlen(v);
	return v;
}

int policy__scope_container(const struct policy *p, const struct enforce_maps *m, unsigned gen,
			    const char *short_id, uint64_t cgroup_id,
			    const struct container_meta *meta)
{
	struct vg_enf_container_key ck = {.gen = gen};
	struct vg_enf_scope_key sk = {.cgroup_id = cgroup_id, .gen = gen};
	struct vg_enf_bits b = {0}, old = {0};
	uint64_t bits = 0;

	for (size_t i = 0; meta && i < p->n_strs; i++) {
		const struct pstr *x = &p->strs[i];
		const char *v;
		size_t n = 0;

		if (x->cls != PSTR_META || !(v = meta_value(meta, x->meta, &n)))
			continue;
		if (n == x->n && !memcmp(v, x->s, n))
			bits |= 1ull << x->bit;
	}
	if (!bits || strlen(short_id) != sizeof(ck.id))
		return 0;
	/* the container's id too: the cgroups made in it later inherit its scope */
	memcpy(ck.id, short_id, sizeof(ck.id));
	b.pos = bits | container_bits(p, ck.id);
	if (bpf_map_update_elem(m->containers, &ck, &b, BPF_ANY))
		return -errno;
	if (!bpf_map_lookup_elem(m->scopes, &sk, &old))
		b.pos |= old.pos;
	if (bpf_map_update_elem(m->scopes, &sk, &b, BPF_ANY))
		return -errno;
	return 0;
}

/* The container scopes of generation gen: the ids, and the cgroups there are now. */
static int write_scopes(const struct policy *p, const struct enforce_maps *m, unsigned gen)
{
	struct scope_walk w = {.p = p, .fd = m->scopes, .gen = gen};
	char cg2[4096];
	bool any = false;
	int ret;

	for (size_t i = 0; i < p->n_strs && !any; i++)
		any = p->strs[i].cls == PSTR_SCOPE;
	if (!any)
		return 0;
	/* the ids first: a cgroup made during the walk is entered by the kernel */
	ret = write_containers(p, m->containers, gen);
	if (ret)
		return ret;
	cgroup2_mount("/proc", cg2, sizeof(cg2));
	if (cg2[0])
		cgroup_walk(cg2, scope_visit, &w);
	return w.ret;
}

/* Removes generation gen from every map (arrays zeroed). */
static int clear_all(const struct policy *p, const struct enforce_maps *m, unsigned gen)
{
	int ret = 0, r;

	if ((r = clear_gen(m->paths, sizeof(struct vg_enf_path_key),
			   offsetof(struct vg_enf_path_key, gen), 1, gen)))
		ret = r;
	if ((r = clear_gen(m->comms, sizeof(struct vg_enf_comm_key),
			   offsetof(struct vg_enf_comm_key, gen), 4, gen)))
		ret = r;
	if ((r = clear_gen(m->ports, sizeof(struct vg_enf_port_key),
			   offsetof(struct vg_enf_port_key, gen), 2, gen)))
		ret = r;
	if ((r = clear_gen(m->addrs, sizeof(struct vg_enf_addr_key),
			   offsetof(struct vg_enf_addr_key, gen), 1, gen)))
		ret = r;
	if ((r = clear_gen(m->containers, sizeof(struct vg_enf_container_key),
			   offsetof(struct vg_enf_container_key, gen), 4, gen)))
		ret = r;
	if ((r = clear_gen(m->scopes, sizeof(struct vg_enf_scope_key),
			   offsetof(struct vg_enf_scope_key, gen), 4, gen)))
		ret = r;
	if ((r = write_arrays(p, m, gen, true)))
		ret = r;
	return ret;
}

/* The exe tests of class VG_ENF_PATH_PROC an exe meets, as the kernel's trie says. */
static void exe_bits(const struct policy *p, const char *exe, uint64_t *pos, uint64_t *neg)
{
	size_t n = strlen(exe);

	*pos = *neg = 0;
	for (size_t i = 0; i < p->n_strs; i++) {
		const struct pstr *x = &p->strs[i];
		bool hit;

		if (x->cls != VG_ENF_PATH_PROC)
			continue;
		hit = x->prefix ? n >= x->n && !memcmp(exe, x->s, x->n)
				: n == x->n && !memcmp(exe, x->s, n);
		if (hit && x->neg)
			*neg |= 1ull << x->bit;
		else if (hit)
			*pos |= 1ull << x->bit;
	}
}

struct procs_ctx {
	const struct policy *p;
	int fd;
	unsigned gen;
	int ret;
};

static void write_proc(void *arg, uint32_t tgid, const char *exe)
{
	struct procs_ctx *c = arg;
	struct vg_enf_proc e = {0};
	uint64_t pos, neg;

	if (!exe || !*exe)
		return;
	bpf_map_lookup_elem(c->fd, &tgid, &e);
	exe_bits(c->p, exe, &pos, &neg);
	e.pos[c->gen] = pos;
	e.neg[c->gen] = neg;
	e.known |= 1u << c->gen;
	if (bpf_map_update_elem(c->fd, &tgid, &e, BPF_ANY))
		c->ret = -errno;
}

int policy__write_procs(const struct policy *p, const struct enforce_maps *m, unsigned gen,
			policy_procs_fn procs, void *arg)
{
	struct procs_ctx c = {.p = p, .fd = m->procs, .gen = gen & 1};
	uint32_t key, next, *prev = NULL;
	struct vg_enf_proc e;

	/* forget the generation's bits everywhere: a process not listed must not keep
	 * bits of an older plan */
	while (!bpf_map_get_next_key(c.fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(c.fd, &key, &e) && (e.known & (1u << c.gen))) {
			e.known &= ~(1u << c.gen);
			bpf_map_update_elem(c.fd, &key, &e, BPF_EXIST);
		}
	}
	if (procs && p->gen.exe_tested)
		procs(arg, write_proc, &c);
	return c.ret;
}

int policy__write(const struct policy *p, const struct enforce_maps *m, unsigned gen,
		  policy_procs_fn procs, void *arg)
{
	struct vg_enf_state st = {.gen = gen & 1, .enabled = p->enabled, .lsm = p->gen.lsm != 0};
	uint32_t zero = 0;
	int ret;

	gen &= 1;
	ret = clear_all(p, m, gen);
	if (!ret)
		ret = write_paths(p, m->paths, gen);
	if (!ret)
		ret = write_comms(p, m->comms, gen);
	if (!ret)
		ret = write_ports(p, m->ports, gen);
	if (!ret)
		ret = write_addrs(p, m->addrs, gen);
	if (!ret)
		ret = write_scopes(p, m, gen);
	if (!ret)
		ret = write_arrays(p, m, gen, false);
	if (!ret)
		ret = policy__write_procs(p, m, gen, procs, arg);
	if (ret) {
		clear_all(p, m, gen); /* the generation in force was never touched */
		return ret;
	}
	/* the flip: from here the new plan is the one the programs read */
	if (bpf_map_update_elem(m->state, &zero, &st, BPF_ANY))
		return -errno;
	return clear_all(p, m, !gen);
}

bool policy_exe_allowed(const char *const *list, size_t n, const char *exe)
{
	for (size_t i = 0; exe && *exe && i < n; i++) {
		size_t l = strlen(list[i]);

		if (l &&
		    (list[i][l - 1] == '/' ? !strncmp(exe, list[i], l) : !strcmp(exe, list[i])))
			return true;
	}
	return false;
}

bool policy_container_allowed(const struct policy_opts *o, const char *short_id)
{
	for (size_t i = 0; short_id && i < o->n_allow_containers; i++)
		if (!strncmp(o->allow_containers[i], short_id, CONTAINER_SHORT_ID_LEN))
			return true;
	return false;
}

struct safe_walk {
	const struct enforce_maps *m;
	const struct policy_opts *o;
	int ret;
};

/* The cgroups of an allowlisted container, and those below them, never acted on. */
static uint64_t safe_visit(void *arg, const char *path, uint64_t id, uint64_t parent)
{
	struct safe_walk *w = arg;
	struct container_ident ci;
	uint32_t one = 1;

	if (!parent && (!container_parse_cgroup(path, strlen(path), &ci) ||
			!policy_container_allowed(w->o, ci.short_id)))
		return 0;
	if (bpf_map_update_elem(w->m->safe_cgroups, &id, &one, BPF_ANY))
		w->ret = -errno;
	return 1;
}

int policy_seed_safe(const struct enforce_maps *m, const struct policy_opts *o)
{
	uint32_t self = VG_SAFE_SELF, allow = VG_SAFE_ALLOWLISTED, one = 1, chain[32];
	size_t n_chain = procfs_ancestry("/proc", getpid(), chain, 32);
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	/* vigil and its parents, whatever they run */
	for (size_t i = 0; i < n_chain; i++)
		if (bpf_map_update_elem(m->safe, &chain[i], &self, BPF_ANY))
			ret = -errno;
	for (size_t i = 0; i < o->n_allow_cgroups; i++)
		if (bpf_map_update_elem(m->safe_cgroups, &o->allow_cgroups[i], &one, BPF_ANY))
			ret = -errno;
	if (o->n_allow_containers) {
		struct safe_walk w = {.m = m, .o = o};
		char cg2[4096];

		/* the ids first: a container's cgroup made during the walk is entered by the
		 * kernel */
		for (size_t i = 0; i < o->n_allow_containers; i++)
			if (bpf_map_update_elem(m->safe_containers, o->allow_containers[i], &one,
						BPF_ANY))
				ret = -errno;
		cgroup2_mount("/proc", cg2, sizeof(cg2));
		if (cg2[0])
			cgroup_walk(cg2, safe_visit, &w);
		if (w.ret)
			ret = w.ret;
	}
	if (!o->n_allow_exe)
		return ret;
	/* processes already running an allowlisted program; new ones are marked at exec */
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		char path[300], exe[4096];
		uint32_t v = 0, tgid;
		ssize_t n;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		tgid = (uint32_t)strtoul(d->d_name, NULL, 10);
		snprintf(path, sizeof(path), "/proc/%s/exe", d->d_name);
		n = readlink(path, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = '\0';
		/* vigil's own chain stays marked as such */
		if (policy_exe_allowed(o->allow_exe, o->n_allow_exe, exe) &&
		    bpf_map_lookup_elem(m->safe, &tgid, &v))
			bpf_map_update_elem(m->safe, &tgid, &allow, BPF_NOEXIST);
	}
	closedir(dir);
	return ret;
}
