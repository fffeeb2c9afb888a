// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sensors.c - vigil's BPF object through the loader's steps: the table that
 * describes each program once, the configure step that writes the load-time
 * knobs (rodata) and the ring buffer size, and the readers of its maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "detect/filter.h"
#include "events/kinds.h"
#include "loader.h"
#include "sensors.h"
#include "vigil.skel.h"

LOADER_SKEL_OPS(vigil_bpf);

/*
 * Every program of bpf/sensors/, once. Tracepoint targets are left NULL: the
 * program's section (SEC("tp/syscalls/sys_exit_openat")) is the one place that
 * names its tracepoint. The lifecycle sensors are required, since the process
 * table depends on them; a refused file, network or privilege sensor is switched
 * off with a notice and vigil runs without it.
 *
 * The syscall-exit sensors come from the syscall table: each syscall vigil knows
 * (but execve, which the exec sensor covers) has a program named vg_ and its
 * Falco name, and its ia32 twin vg_NAME_32 (bpf/core/syscall.bpf.h). A row
 * without its programs, or a program without its row, is an error at start (the
 * loader checks both ways). The twins, and both programs of a dispatched row,
 * are tail-call targets of the raw sys_exit dispatcher: loaded, never attached.
 */
#define SYSCALL_EXIT_PROG(NAME, VALUE, FALCO, KIND, NR64, NR32)                                    \
	{"vg_" FALCO, LOADER_TRACEPOINT, NULL, false},                                             \
	    {"vg_" FALCO "_32", LOADER_TAIL_CALL, NULL, false, false, true},
#define SYSCALL_DISPATCHED_PROG(NAME, VALUE, FALCO, KIND, NR64, NR32)                              \
	{"vg_" FALCO, LOADER_TAIL_CALL, NULL, false},                                              \
	    {"vg_" FALCO "_32", LOADER_TAIL_CALL, NULL, false, false, true},

static const struct loader_prog programs[] = {
    /* proc.bpf.c */
    {"vg_exec", LOADER_TRACEPOINT, NULL, true},
    {"vg_fork", LOADER_RAW_TRACEPOINT, NULL, true},
    {"vg_exit", LOADER_TRACEPOINT, NULL, true},
    /* priv.bpf.c: the values set*id and capset replace, read at entry */
    {"vg_setuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setgid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setreuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setregid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setresuid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_setresgid_enter", LOADER_TRACEPOINT, NULL, false},
    {"vg_capset_enter", LOADER_TRACEPOINT, NULL, false},
    /* file.bpf.c: the inode's immutable / append-only state before a chattr request */
    {"vg_ioctl_enter", LOADER_TRACEPOINT, NULL, false},
    /* dispatch.bpf.c: ia32 calls and the dispatched rows, by number */
    {"vg_sys_exit", LOADER_RAW_TRACEPOINT, NULL, false},
    /* file.bpf.c, priv.bpf.c: the records' builders, tail-called by the sensors (one
     * for the native calls' tracepoints, one for the raw tracepoints: ia32 calls, the
     * dispatched ones and io_uring) */
    {"vg_file_build", LOADER_TAIL_CALL, NULL, false},
    {"vg_file_build_raw", LOADER_TAIL_CALL, NULL, false},
    {"vg_priv_build", LOADER_TAIL_CALL, NULL, false},
    {"vg_priv_build_raw", LOADER_TAIL_CALL, NULL, false},
    /* net.bpf.c: the ia32 socket calls */
    {"vg_socketcall_32", LOADER_TAIL_CALL, NULL, false, false, true},
    /* file.bpf.c, net.bpf.c: io_uring operations, kept at submission and sent at
     * completion; a kernel without the io_uring tracepoints switches them off */
    {"vg_uring_file_submit", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_file_complete", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_net_submit", LOADER_RAW_TRACEPOINT, NULL, false},
    {"vg_uring_net_complete", LOADER_RAW_TRACEPOINT, NULL, false},
    /* enforcers/deny.bpf.c: deny rules at the cgroup v2 root (the target is set at
     * start from sensors_opts.cgroup_root); each is attached with a link, which
     * runs next to the host's other cgroup programs (BPF_F_ALLOW_MULTI), and only
     * while the policy in force has deny rules (sensors__deny_hooks) */
    {"vg_deny_connect4", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_connect6", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_sendmsg4", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_sendmsg6", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_bind4", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_bind6", LOADER_CGROUP, NULL, false, true},
    {"vg_deny_socket", LOADER_CGROUP, NULL, false, true},
    /* enforcers/kill_entry.bpf.c: kill rules at a syscall's entry, attached only while
     * the policy in force has such rules (sensors__kill_at_entry) */
    {"vg_kill_enter", LOADER_RAW_TRACEPOINT, "sys_enter", false, true},
    /* BPF-LSM hooks: deny rules (and kill rules upgraded) refuse the call before it
     * happens (file.bpf.c: opens, proc.bpf.c: exec, enforcers/lsm.bpf.c: the rest);
     * attached only while the policy in force has such rules (sensors__lsm_hooks);
     * a kernel without BPF LSM switches them off with one notice */
    {"vg_lsm_open", LOADER_LSM, NULL, false, true},
    {"vg_lsm_exec", LOADER_LSM, NULL, false, true},
    {"vg_lsm_ptrace", LOADER_LSM, NULL, false, true},
    {"vg_lsm_traceme", LOADER_LSM, NULL, false, true},
    {"vg_lsm_kread", LOADER_LSM, NULL, false, true},
    {"vg_lsm_kload", LOADER_LSM, NULL, false, true},
    {"vg_lsm_mount", LOADER_LSM, NULL, false, true},
    {"vg_lsm_move_mount", LOADER_LSM, NULL, false, true},
    {"vg_lsm_bpf", LOADER_LSM, NULL, false, true},
    /* enforcers/block.bpf.c: blocked addresses; attached and pinned by
     * src/respond/netblock.c while there is a block */
    {"vg_block_xdp", LOADER_XDP, NULL, false, true},
    {"vg_block_ingress", LOADER_CGROUP, NULL, false, true},
    {"vg_block_egress", LOADER_CGROUP, NULL, false, true},
    /* sensors/dns.bpf.c: DNS queries and answers at the cgroup v2 root (every socket) */
    {"vg_dns_egress", LOADER_CGROUP, NULL, false},
    {"vg_dns_ingress", LOADER_CGROUP, NULL, false},
    /* enforcers/scope.bpf.c: a new cgroup enters the container scopes of the rules */
    {"vg_scope_mkdir", LOADER_RAW_TRACEPOINT, NULL, false},
    /* file.bpf.c, net.bpf.c, priv.bpf.c: one program per syscall at its exit */
    VG_SYSCALLS_TRACED(SYSCALL_EXIT_PROG) VG_SYSCALLS_DISPATCHED(SYSCALL_DISPATCHED_PROG)};

/*
 * What every sensor needs, with the kernel that brought it: without one the verifier
 * would refuse the sensors one by one; the start fails first, saying which and why.
 */
static int check_required_features(const struct loader *l, char *err, size_t errlen)
{
	static const struct {
		const char *name, *since;
	} need[] = {
	    {"ringbuf", "5.8"},
	    {"task_pt_regs", "5.15"},
	    {"bpf_loop", "5.17"},
	};
	char missing[256] = "";
	size_t used = 0;

	for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
		for (size_t i = 0; i < loader__n_features(l); i++) {
			const struct loader_feature *f = loader__feature(l, i);

			if (strcmp(f->name, need[k].name) || f->available)
				continue;
			used += snprintf(missing + used, sizeof(missing) - used, "%s%s (Linux %s)",
					 used ? ", " : "", need[k].name, need[k].since);
			if (used >= sizeof(missing))
				used = sizeof(missing) - 1;
		}
	if (!used)
		return 0;
	snprintf(err, errlen,
		 "this kernel lacks BPF features every sensor of vigil's needs: %s; vigil runs "
		 "on Linux 5.17 and later (docs/KERNELS.md)",
		 missing);
	return -EOPNOTSUPP;
}

/* A slot of the dispatcher's program array: the sensor of syscall code for one ABI. */
struct dispatch_slot {
	uint16_t code; /* enum vg_syscall: names the program */
	int nr;	       /* its number in the ABI's table, -1 none */
	bool ia32;     /* the ia32 twin, at VG_DISPATCH_IA32 + nr */
};

#define SLOT_IA32_ROW_(NAME, VALUE, FALCO, KIND, NR64, NR32)   {VALUE, NR32, true},
#define SLOT_NATIVE_ROW_(NAME, VALUE, FALCO, KIND, NR64, NR32) {VALUE, NR64, false},
#define SLOT_IA32_FORM_(NAME, NR32)			       {VG_SYS_##NAME, NR32, true},
static const struct dispatch_slot dispatch_slots[] = {
    VG_SYSCALLS_EXIT(SLOT_IA32_ROW_) VG_SYSCALLS_DISPATCHED(SLOT_NATIVE_ROW_)
	VG_SYSCALLS_IA32_LEGACY(SLOT_IA32_FORM_) VG_SYSCALLS_IA32_OFF64(SLOT_IA32_FORM_)
	    VG_SYSCALLS_IA32_ALT(SLOT_IA32_FORM_)};
#undef SLOT_IA32_ROW_
#undef SLOT_NATIVE_ROW_
#undef SLOT_IA32_FORM_

struct sensors {
	struct sensors_opts opts; /* as given */
	struct loader *loader;	  /* the steps, the skeleton */
	struct vigil_bpf *skel;	  /* loaded skeleton, owned by the loader */
	int ncpu;		  /* possible CPUs, for per-CPU maps */
};

/*
 * What the io_uring sensors must know of this kernel, from its BTF:
 * - how io_uring_complete passes a completion: uring_complete_cqe 1 when its arguments
 *   are (ctx, req, cqe) (6.13 on), 0 when (ctx, req, user_data, res, cflags, extra1,
 *   extra2); 1 when the kernel has no such tracepoint (nothing reads it then);
 * - uring_multishot: 1 + REQ_F_APOLL_MULTISHOT_BIT, the request flag of a multishot
 *   accept where struct io_accept has no iou_flags (before 6.10); 0 when not found.
 */
static void uring_btf_facts(const char *btf_path, struct vg_config *cfg)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	const struct btf_type *t = NULL;
	__u32 id, n;

	cfg->uring_complete_cqe = 1;
	cfg->uring_multishot = 0;
	if (!btf)
		return;
	id = btf__find_by_name_kind(btf, "btf_trace_io_uring_complete", BTF_KIND_TYPEDEF);
	if ((int)id > 0)
		t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	/* the first argument is the tracepoint's own data pointer */
	if (t && btf_is_func_proto(t))
		cfg->uring_complete_cqe = btf_vlen(t) <= 4;
	/* the REQ_F_*_BIT constants are an anonymous enum's: look through every enum */
	n = btf__type_cnt(btf);
	for (id = 1; id < n && !cfg->uring_multishot; id++) {
		const struct btf_enum *e;

		t = btf__type_by_id(btf, id);
		if (!btf_is_enum(t))
			continue;
		e = btf_enum(t);
		for (__u16 i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(btf, e->name_off),
				    "REQ_F_APOLL_MULTISHOT_BIT") &&
			    e->val >= 0 && e->val < 64) {
				cfg->uring_multishot = (__u32)e->val + 1;
				break;
			}
	}
	btf__free(btf);
}

/*
 * io_uring's submission tracepoint is io_uring_submit_req(req) from 6.4 on and was
 * io_uring_submit_sqe(req, force_nonblock) before: the request is the first argument of
 * both, so the submission programs attach to whichever the kernel's BTF has.
 */
static int set_uring_targets(struct loader *l, const char *btf_path)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	int ret = 0;

	if (!btf)
		return 0; /* the loader says what is wrong with the BTF */
	if (btf__find_by_name_kind(btf, "btf_trace_io_uring_submit_req", BTF_KIND_TYPEDEF) < 0 &&
	    btf__find_by_name_kind(btf, "btf_trace_io_uring_submit_sqe", BTF_KIND_TYPEDEF) > 0) {
		ret = loader__set_target(l, "vg_uring_file_submit", "io_uring_submit_sqe");
		if (!ret)
			ret = loader__set_target(l, "vg_uring_net_submit", "io_uring_submit_sqe");
	}
	btf__free(btf);
	return ret;
}

/* The configure step: knobs into rodata, the ring buffer's size. */
static int configure(void *skel, void *arg, char *err, size_t errlen)
{
	struct vigil_bpf *obj = skel;
	const struct sensors_opts *o = arg;
	int ret;

	/* what outlives the agent: blocks, isolations, a quarantine */
	for (int i = 0; o->pin_dir && o->pin_dir[0] && i < 3; i++) {
		struct bpf_map *m = i == 0   ? obj->maps.net_blocks
				    : i == 1 ? obj->maps.net_isolated
					     : obj->maps.net_quarantine;
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", o->pin_dir, bpf_map__name(m));
		ret = bpf_map__set_pin_path(m, path);
		if (ret) {
			snprintf(err, errlen, "cannot pin %s at %s: %s", bpf_map__name(m), path,
				 strerror(-ret));
			return ret;
		}
	}
	obj->rodata->vg_cfg.self_pid = o->self_pid;
	obj->rodata->vg_cfg.wake_bytes = o->wake_bytes;
	uring_btf_facts(o->btf_path, &obj->rodata->vg_cfg);
	ret = bpf_map__set_max_entries(obj->maps.events, o->ringbuf_bytes);
	if (!ret && (o->ringbuf_bytes < (size_t)getpagesize() ||
		     (o->ringbuf_bytes & (o->ringbuf_bytes - 1))))
		ret = -EINVAL;
	if (ret)
		snprintf(err, errlen,
			 "ring buffer size %zu refused: %s (it must be a power of two, "
			 "at least the page size)",
			 o->ringbuf_bytes, strerror(-ret));
	return ret;
}

/*
 * Puts one loaded program into a program array; one switched off is left out (a
 * tail call to its slot comes back). A slot naming no program is a bug in the
 * tables: -ENOENT.
 */
static int prog_slot_set(struct vigil_bpf *obj, struct bpf_map *array, const char *name,
			 uint32_t index)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj->obj, name);
	int fd;

	if (!prog)
		return -ENOENT;
	fd = bpf_program__fd(prog);
	if (fd < 0)
		return 0;
	if (bpf_map_update_elem(bpf_map__fd(array), &index, &fd, BPF_ANY))
		return -errno;
	return 0;
}

static int dispatch_set(struct vigil_bpf *obj, const char *name, uint32_t index)
{
	return prog_slot_set(obj, obj->maps.sys_exit_progs, name, index);
}

/* Fills the raw sys_exit dispatcher's program array from the syscall table. */
static int dispatch_fill(struct vigil_bpf *obj, char *err, size_t errlen)
{
	char name[64];
	int ret = 0;

	for (size_t i = 0; i < sizeof(dispatch_slots) / sizeof(dispatch_slots[0]) && !ret; i++) {
		const struct dispatch_slot *d = &dispatch_slots[i];

		if (d->nr < 0)
			continue;
		snprintf(name, sizeof(name), "vg_%s%s", event_syscall_name(d->code),
			 d->ia32 ? "_32" : "");
		ret = dispatch_set(obj, name, d->nr + (d->ia32 ? VG_DISPATCH_IA32 : 0));
	}
	if (!ret) {
		snprintf(name, sizeof(name), "vg_socketcall_32");
		ret = dispatch_set(obj, name, VG_DISPATCH_IA32 + VG_IA32_SOCKETCALL);
	}
	if (ret)
		snprintf(err, errlen, "cannot fill the syscall dispatcher with %s: %s", name,
			 strerror(-ret));
	return ret;
}

/*
 * The records' builders into the arrays their sensors tail-call. A builder the kernel
 * refused leaves its slot empty: the loader said so, and each record that finds it
 * empty is counted lost.
 */
static int builders_fill(struct vigil_bpf *obj, char *err, size_t errlen)
{
	const struct {
		struct bpf_map *array;
		const char *name;
	} b[] = {
	    {obj->maps.file_builder, "vg_file_build"},
	    {obj->maps.file_builder_raw, "vg_file_build_raw"},
	    {obj->maps.priv_builder, "vg_priv_build"},
	    {obj->maps.priv_builder_raw, "vg_priv_build_raw"},
	};
	int ret = 0;

	for (size_t i = 0; i < sizeof(b) / sizeof(b[0]) && !ret; i++) {
		ret = prog_slot_set(obj, b[i].array, b[i].name, 0);
		if (ret)
			snprintf(err, errlen, "cannot put %s in its program array: %s", b[i].name,
				 strerror(-ret));
	}
	return ret;
}

/* One number of the entry enforcer's table: code | kind << 16 at index. */
static int entry_set(int fd, int nr, bool ia32, uint16_t code, uint16_t kind)
{
	uint32_t index = (uint32_t)nr + (ia32 ? VG_DISPATCH_IA32 : 0),
		 v = code | (uint32_t)kind << 16;

	if (nr < 0 || nr >= VG_DISPATCH_IA32 || code >= VG_SYS_MAX)
		return 0;
	return bpf_map_update_elem(fd, &index, &v, BPF_ANY) ? -errno : 0;
}

/* Fills the entry enforcer's numbers from the syscall table: every call, both ABIs. */
static int entry_fill(struct vigil_bpf *obj, char *err, size_t errlen)
{
	static const struct {
		uint16_t code;
		int nr32;
	} forms[] = {
#define ENTRY_FORM_(NAME, NR32) {VG_SYS_##NAME, NR32},
	    VG_SYSCALLS_IA32_LEGACY(ENTRY_FORM_) VG_SYSCALLS_IA32_OFF64(ENTRY_FORM_)
		VG_SYSCALLS_IA32_ALT(ENTRY_FORM_)
#undef ENTRY_FORM_
	};
	int fd = bpf_map__fd(obj->maps.enf_sys_codes), ret = 0;
	const struct event_syscall *t;
	size_t n;

	t = event_syscalls(&n);
	for (size_t i = 0; i < n && !ret; i++) {
		ret = entry_set(fd, t[i].nr64, false, t[i].code, t[i].kind);
		if (!ret)
			ret = entry_set(fd, t[i].nr32, true, t[i].code, t[i].kind);
		for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]) && !ret; k++)
			if (forms[k].code == t[i].code)
				ret = entry_set(fd, forms[k].nr32, true, t[i].code, t[i].kind);
	}
	if (ret)
		snprintf(err, errlen, "cannot fill the syscall numbers of the entry enforcer: %s",
			 strerror(-ret));
	return ret;
}

/*
 * Points every cgroup program of the table at the cgroup v2 root. Without one
 * (NULL or "": no v2 hierarchy mounted) they are left without a target, and the
 * attach step switches them off with a notice.
 */
static int set_cgroup_targets(struct loader *l, const char *root, char *err, size_t errlen)
{
	int ret;

	if (!root || !root[0])
		return 0;
	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		if (programs[i].kind != LOADER_CGROUP)
			continue;
		ret = loader__set_target(l, programs[i].name, root);
		if (ret) {
			snprintf(err, errlen, "cannot set the cgroup of %s: %s", programs[i].name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

struct sensors *sensors__start(const struct sensors_opts *opts, char *err, size_t errlen)
{
	struct loader_spec spec = {
	    .skel = &vigil_bpf__loader_ops,
	    .progs = programs,
	    .n_progs = sizeof(programs) / sizeof(programs[0]),
	    .configure = configure,
	    .btf_path = opts->btf_path,
	};
	struct sensors *s;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	s->opts = *opts;
	spec.arg = &s->opts;
	s->ncpu = libbpf_num_possible_cpus();
	s->loader = loader__new(&spec, err, errlen);
	if (!s->loader) {
		ret = -errno;
		goto err_free;
	}
	loader__print_features(s->loader, stderr);
	ret = check_required_features(s->loader, err, errlen);
	if (ret)
		goto err_free;
	ret = set_cgroup_targets(s->loader, opts->cgroup_root, err, errlen);
	if (!ret && (ret = set_uring_targets(s->loader, opts->btf_path)))
		snprintf(err, errlen, "cannot set the io_uring programs' tracepoint: %s",
			 strerror(-ret));
	if (ret)
		goto err_free;
	ret = loader__open(s->loader);
	if (!ret)
		ret = loader__configure(s->loader);
	if (!ret)
		ret = loader__load(s->loader);
	if (ret) {
		snprintf(err, errlen, "%s", loader__error(s->loader));
		goto err_free;
	}
	s->skel = loader__skel(s->loader);
	/* before attach, so that no call passes an empty dispatcher or builder */
	ret = dispatch_fill(s->skel, err, errlen);
	if (!ret)
		ret = builders_fill(s->skel, err, errlen);
	if (!ret)
		ret = entry_fill(s->skel, err, errlen);
	if (ret)
		goto err_free;
	return s;

err_free:
	loader__free(s->loader);
	free(s);
	errno = -ret;
	return NULL;
}

int sensors__attach(struct sensors *s, char *err, size_t errlen)
{
	int ret = loader__attach(s->loader);

	if (ret)
		snprintf(err, errlen, "%s", loader__error(s->loader));
	return ret;
}

void sensors__detach(struct sensors *s)
{
	if (s)
		loader__detach(s->loader);
}

void sensors__free(struct sensors *s)
{
	if (!s)
		return;
	loader__free(s->loader);
	free(s);
}

const struct loader *sensors__loader(const struct sensors *s)
{
	return s->loader;
}

int sensors__ringbuf_fd(const struct sensors *s)
{
	return bpf_map__fd(s->skel->maps.events);
}

void sensors__filter_maps(const struct sensors *s, struct filter_maps *out)
{
	out->types = bpf_map__fd(s->skel->maps.filter_types);
	out->paths = bpf_map__fd(s->skel->maps.filter_paths);
	out->comms = bpf_map__fd(s->skel->maps.filter_comms);
	out->ports = bpf_map__fd(s->skel->maps.filter_ports);
	out->cgroups = bpf_map__fd(s->skel->maps.filter_cgroups);
}

void sensors__enforce_maps(const struct sensors *s, struct enforce_maps *out)
{
	out->state = bpf_map__fd(s->skel->maps.enf_state);
	out->gens = bpf_map__fd(s->skel->maps.enf_gens);
	out->codes = bpf_map__fd(s->skel->maps.enf_codes);
	out->rules = bpf_map__fd(s->skel->maps.enf_rules);
	out->paths = bpf_map__fd(s->skel->maps.enf_paths);
	out->comms = bpf_map__fd(s->skel->maps.enf_comms);
	out->ports = bpf_map__fd(s->skel->maps.enf_ports);
	out->addrs = bpf_map__fd(s->skel->maps.enf_addrs);
	out->safe = bpf_map__fd(s->skel->maps.enf_safe);
	out->safe_cgroups = bpf_map__fd(s->skel->maps.enf_safe_cgroups);
	out->procs = bpf_map__fd(s->skel->maps.enf_procs);
	out->scopes = bpf_map__fd(s->skel->maps.enf_scopes);
	out->containers = bpf_map__fd(s->skel->maps.enf_containers);
	out->safe_containers = bpf_map__fd(s->skel->maps.enf_safe_containers);
}

int sensors__prog_fd(const struct sensors *s, const char *name)
{
	struct loader_prog_state st;
	struct bpf_program *p;

	for (size_t i = 0; i < loader__n_progs(s->loader); i++) {
		loader__prog_state(s->loader, i, &st);
		if (strcmp(st.name, name))
			continue;
		if (!st.enabled)
			return -ENODEV;
		p = bpf_object__find_program_by_name(s->skel->obj, name);
		return p ? bpf_program__fd(p) : -ENOENT;
	}
	return -ENOENT;
}

int sensors__map_fd(const struct sensors *s, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(s->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

int sensors__kill_at_entry(struct sensors *s, bool on, char *err, size_t errlen)
{
	int ret = loader__set_attached(s->loader, "vg_kill_enter", on);

	if (ret)
		snprintf(err, errlen, "%s",
			 *loader__error(s->loader) ? loader__error(s->loader)
						   : "the entry enforcer is switched off");
	return ret;
}

int sensors__deny_hooks(struct sensors *s, bool on, char *err, size_t errlen)
{
	int ret = 0;

	for (size_t i = 0; i < sizeof(programs) / sizeof(programs[0]); i++) {
		const char *name = programs[i].name;
		int r;

		if (strncmp(name, "vg_deny_", 8))
			continue;
		r = loader__set_attached(s->loader, name, on);
		/* detaching goes on past a failure: none is left running by mistake */
		if (r && !ret) {
			ret = r;
			snprintf(err, errlen, "%s: %s", name,
				 *loader__error(s->loader) ? loader__error(s->loader)
							   : "switched off");
			if (on)
				break;
		}
	}
	return ret;
}

/* The BPF-LSM programs and the calls each one's rules are on (enum vg_syscall). */
static const struct {
	const char *prog;
	uint16_t codes[4]; /* 0 ends */
} lsm_hooks[] = {
    {"vg_lsm_open", {VG_SYS_OPEN, VG_SYS_OPENAT, VG_SYS_OPENAT2, VG_SYS_CREAT}},
    {"vg_lsm_exec", {VG_SYS_EXECVE}},
    {"vg_lsm_ptrace", {VG_SYS_PTRACE}},
    {"vg_lsm_traceme", {VG_SYS_PTRACE}},
    {"vg_lsm_kread", {VG_SYS_FINIT_MODULE, VG_SYS_INIT_MODULE}},
    {"vg_lsm_kload", {VG_SYS_INIT_MODULE, VG_SYS_FINIT_MODULE}},
    {"vg_lsm_mount", {VG_SYS_MOUNT}},
    {"vg_lsm_move_mount", {VG_SYS_MOUNT}},
    {"vg_lsm_bpf", {VG_SYS_BPF}},
};

/* Whether program name is loaded (not switched off); why it is not in *why. */
static bool prog_enabled(const struct sensors *s, const char *name, const char **why)
{
	struct loader_prog_state st;

	for (size_t i = 0; i < loader__n_progs(s->loader); i++) {
		loader__prog_state(s->loader, i, &st);
		if (!strcmp(st.name, name)) {
			*why = st.why;
			return st.enabled;
		}
	}
	*why = "not in the loader's table";
	return false;
}

const char *sensors__lsm_codes(const struct sensors *s, bool codes[VG_SYS_MAX])
{
	static _Thread_local char why[256];
	bool off[VG_SYS_MAX] = {0};

	why[0] = 0;
	memset(codes, 0, sizeof(bool) * VG_SYS_MAX);
	/* a call is covered when every hook of its calls is there */
	for (size_t i = 0; i < sizeof(lsm_hooks) / sizeof(lsm_hooks[0]); i++) {
		const char *w = "";
		bool on = prog_enabled(s, lsm_hooks[i].prog, &w);

		for (size_t k = 0; k < 4 && lsm_hooks[i].codes[k]; k++) {
			uint16_t c = lsm_hooks[i].codes[k];

			if (!on)
				off[c] = true;
			codes[c] = on && !off[c];
		}
		if (!on && !why[0])
			snprintf(why, sizeof(why), "BPF program %s: %s", lsm_hooks[i].prog,
				 *w ? w : "switched off");
	}
	return why[0] ? why : NULL;
}

int sensors__lsm_hooks(struct sensors *s, bool on, char *err, size_t errlen)
{
	int ret = 0;

	for (size_t i = 0; i < sizeof(lsm_hooks) / sizeof(lsm_hooks[0]); i++) {
		const char *why;
		int r;

		if (!prog_enabled(s, lsm_hooks[i].prog, &why))
			continue;
		r = loader__set_attached(s->loader, lsm_hooks[i].prog, on);
		/* detaching goes on past a failure: none is left running by mistake */
		if (r && !ret) {
			ret = r;
			snprintf(err, errlen, "%s: %s", lsm_hooks[i].prog,
				 *loader__error(s->loader) ? loader__error(s->loader)
							   : "switched off");
			if (on)
				break;
		}
	}
	return ret;
}

int sensors__writers_made(const struct sensors *s, uint64_t *out)
{
	int fd = bpf_map__fd(s->skel->maps.writers_made);
	__u64 *percpu = calloc(s->ncpu, sizeof(*percpu));
	__u32 zero = 0;
	int cpu, ret = 0;

	*out = 0;
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, percpu))
		ret = -errno;
	else
		for (cpu = 0; cpu < s->ncpu; cpu++)
			*out += percpu[cpu];
	free(percpu);
	return ret;
}

int sensors__counters(const struct sensors *s, struct vg_counters *out)
{
	int fd = bpf_map__fd(s->skel->maps.counters);
	struct vg_counters *percpu;
	__u32 type;
	int cpu;

	percpu = calloc(s->ncpu, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(out, 0, sizeof(*out) * VG_EV_TYPE_MAX);
	for (type = 0; type < VG_EV_TYPE_MAX; type++) {
		if (bpf_map_lookup_elem(fd, &type, percpu))
			continue;
		for (cpu = 0; cpu < s->ncpu; cpu++) {
			out[type].seen += percpu[cpu].seen;
			out[type].filtered += percpu[cpu].filtered;
			out[type].sent += percpu[cpu].sent;
			out[type].lost += percpu[cpu].lost;
			out[type].read_err += percpu[cpu].read_err;
		}
	}
	free(percpu);
	return 0;
}
