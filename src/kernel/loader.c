// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * loader.c - the steps from a generated skeleton to attached programs, the table
 * of attach kinds, and the kernel feature probes. libbpf's own messages go to
 * stderr only when they are warnings; the name of a program or map the kernel
 * refused, and the verifier's last words, are picked out of them so that an
 * error or a notice can say which one failed and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>

#include "loader.h"
#include "stack_budget.h"

#define NAME_MAX_ 64  /* program and map names */
#define WHY_MAX	  160 /* why a program is switched off */
#define ERR_MAX	  1024

/* One link, or one TC filter (libbpf 1.1 has no links for TC). */
struct attachment {
	struct bpf_link *link;	 /* NULL for TC */
	struct bpf_tc_hook hook; /* TC: where the filter is */
	struct bpf_tc_opts tc;	 /* TC: handle and priority, to detach it */
	bool hook_created;	 /* TC: we created the clsact qdisc, so we remove it */
	int prog;		 /* index in the table */
};

/* What the loader knows of one program beyond its table entry. */
struct prog_run {
	const char *target; /* the table's target or loader__set_target's copy */
	char *target_copy;  /* owned copy from loader__set_target */
	bool off;	    /* switched off */
	char why[WHY_MAX];  /* why it is off */
	int attachments;    /* attachments made */
	int *depths;	    /* VIGIL_BPF_DEBUG=stats: its functions' stack, as verified */
	int n_depths;	    /* entries in depths */
};

enum feature_id {
	F_TRACEPOINT,
	F_RAW_TRACEPOINT,
	F_CGROUP_SOCK_ADDR,
	F_CGROUP_SKB,
	F_XDP,
	F_SCHED_CLS,
	F_LSM,
	F_KPROBE,
	F_RINGBUF,
	F_BPF_LOOP,
	F_TASK_PT_REGS,
	F_SEND_SIGNAL,
	F_IA32,
	F_FENTRY,
	F_KPROBES,
	F_MAX,
};

struct loader {
	struct loader_spec spec;	/* copied; the tables it points to are the caller's */
	struct prog_run *run;		/* per table entry */
	void *skel;			/* the skeleton, NULL before open */
	bool loaded;			/* load succeeded */
	bool attaching;			/* in loader__attach: libbpf's warnings are restated */
	struct attachment *att;		/* attachments in the order made */
	int n_att;			/* in use */
	int cap_att;			/* allocated */
	struct loader_feature f[F_MAX]; /* the probes' results */
	char failed_prog[NAME_MAX_];	/* last program libbpf reported as refused */
	char failed_map[NAME_MAX_];	/* last map libbpf could not create */
	char verifier_tail[512];	/* the verifier's last words before a refusal */
	char err[ERR_MAX];		/* the last step's error */
	bool ia32_said;			/* the ia32 programs' absence was noticed */
	bool lsm_said;			/* the BPF-LSM programs' absence was noticed */
};

/*
 * libbpf's print callback takes no context pointer: the loader whose step is
 * running is the one the messages are about. Thread-local, so loaders in
 * different threads do not see each other's messages; this is the only state
 * outside struct loader.
 */
static _Thread_local struct loader *printing_for;

static const char *const kind_names[LOADER_KIND_MAX] = {
    [LOADER_TRACEPOINT] = "tracepoint",
    [LOADER_RAW_TRACEPOINT] = "raw_tracepoint",
    [LOADER_CGROUP] = "cgroup",
    [LOADER_XDP] = "xdp",
    [LOADER_TC_INGRESS] = "tc_ingress",
    [LOADER_TC_EGRESS] = "tc_egress",
    [LOADER_LSM] = "lsm",
    [LOADER_UPROBE] = "uprobe",
    [LOADER_TAIL_CALL] = "tail_call",
};

const char *loader_kind_name(enum loader_kind k)
{
	return (unsigned)k < LOADER_KIND_MAX ? kind_names[k] : "?";
}

/* Keeps the last non-empty line of a verifier log that precedes its END marker. */
static void keep_verifier_tail(struct loader *l, const char *log)
{
	const char *end = strstr(log, "-- END PROG LOAD LOG --");
	const char *p, *start;

	if (!end)
		return;
	p = end;
	for (;;) {
		while (p > log && (p[-1] == '\n' || p[-1] == ' '))
			p--;
		start = p;
		while (start > log && start[-1] != '\n')
			start--;
		/* skip the statistics lines that close every log */
		if (start == log ||
		    (strncmp(start, "processed ", 10) && strncmp(start, "verification time", 17) &&
		     strncmp(start, "stack depth ", 12)))
			break;
		p = start;
	}
	snprintf(l->verifier_tail, sizeof(l->verifier_tail), "%.*s", (int)(p - start), start);
}

static bool bpf_debug_stats(void)
{
	const char *v = getenv("VIGIL_BPF_DEBUG");

	return v && !strcmp(v, "stats");
}

/* Index of the program named name in the table, or -1. */
static int prog_index(const struct loader *l, const char *name)
{
	for (size_t i = 0; i < l->spec.n_progs; i++)
		if (!strcmp(l->spec.progs[i].name, name))
			return (int)i;
	return -1;
}

/* The name libbpf quotes after tag ("prog '", "map '") in a message, into out. */
static bool quoted_name(const char *line, const char *tag, char *out, size_t len)
{
	const char *p = strstr(line, tag);

	if (!p)
		return false;
	p += strlen(tag);
	snprintf(out, len, "%.*s", (int)strcspn(p, "'"), p);
	return true;
}

/* VIGIL_BPF_DEBUG=stats: the depth of each function of a program the kernel took */
static void keep_stack_depths(struct loader *l, const char *log)
{
	int depths[STACK_BUDGET_MAX_FUNCS], n, i;
	char name[NAME_MAX_];
	int *copy;

	if (!quoted_name(log, "prog '", name, sizeof(name)))
		return;
	i = prog_index(l, name);
	n = stack_budget_parse(log, depths, STACK_BUDGET_MAX_FUNCS);
	if (i < 0 || n < 0 || !(copy = malloc(n * sizeof(*copy))))
		return;
	memcpy(copy, depths, n * sizeof(*copy));
	free(l->run[i].depths);
	l->run[i].depths = copy;
	l->run[i].n_depths = n;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char line[256 * 1024]; /* one loader at a time prints: not worth TLS */
	struct loader *l = printing_for;

	vsnprintf(line, sizeof(line), fmt, ap);
	if (l) {
		if (strstr(line, "failed to load") || strstr(line, "load failed"))
			quoted_name(line, "prog '", l->failed_prog, sizeof(l->failed_prog));
		if (strstr(line, "failed to create"))
			quoted_name(line, "map '", l->failed_map, sizeof(l->failed_map));
		keep_verifier_tail(l, line);
		if (bpf_debug_stats() && strstr(line, "-- BEGIN PROG LOAD LOG --"))
			keep_stack_depths(l, line);
	}
	if (getenv("VIGIL_BPF_DEBUG"))
		return fputs(line, stderr);
	/* the verifier's whole log is noise to a user; its last words go into the error */
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO || strstr(line, "PROG LOAD LOG"))
		return 0;
	/* a refusal is said once, in the loader's notice or error */
	if (l && (l->attaching || l->failed_prog[0]))
		return 0;
	return fputs(line, stderr);
}

/* ---- environment ---- */

static const char *tracefs_dir(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0)
		return "/sys/kernel/tracing";
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return "/sys/kernel/debug/tracing";
	return NULL;
}

/* libbpf finds tracepoint ids in tracefs; mount it where a minimal system has not. */
static int ensure_tracefs(char *err, size_t errlen)
{
	if (tracefs_dir())
		return 0;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) == 0)
		return 0;
	snprintf(err, errlen,
		 "tracefs is not mounted and mounting it on /sys/kernel/tracing failed: %s "
		 "(mount it with: mount -t tracefs tracefs /sys/kernel/tracing)",
		 strerror(errno));
	return -errno;
}

static int check_environment(const struct loader_spec *spec, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		snprintf(err, errlen,
			 "vigil must run as root to load BPF programs (try: sudo vigil run)");
		return -EPERM;
	}
	if (spec->btf_path && access(spec->btf_path, R_OK) != 0) {
		snprintf(err, errlen,
			 "--btf %s: %s (give a BTF file for this kernel, e.g. from "
			 "BTFHub, or leave --btf out on a kernel with /sys/kernel/btf/vmlinux)",
			 spec->btf_path, strerror(errno));
		return -ENOENT;
	}
	if (!spec->btf_path && access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(
		    err, errlen,
		    "kernel BTF is missing (/sys/kernel/btf/vmlinux): vigil needs a kernel "
		    "built with CONFIG_DEBUG_INFO_BTF=y, or a BTF file for it given with --btf");
		return -ENOENT;
	}
	return ensure_tracefs(err, errlen);
}

/* ---- feature probes ---- */

/* A program that returns 0 and does nothing else, for the probes below. */
static const struct bpf_insn probe_insns[] = {
    {.code = 0xb7, .dst_reg = 0, .imm = 0}, /* r0 = 0 */
    {.code = 0x95},			    /* exit */
};

/*
 * A program of type at the kernel function func (found in the kernel's BTF), loaded
 * and attached for real, then let go at once. 1, or -errno (EOPNOTSUPP: no such
 * function in the BTF).
 */
static int probe_btf_attach(const char *btf_path, const char *func, enum bpf_prog_type type,
			    enum bpf_attach_type at)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	int id, fd, link, ret = 1;

	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, func, BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0)
		return -EOPNOTSUPP;
	fd = bpf_prog_load(type, NULL, "GPL", probe_insns, 2,
			   &(struct bpf_prog_load_opts){.sz = sizeof(struct bpf_prog_load_opts),
							.expected_attach_type = at,
							.attach_btf_id = id});
	if (fd < 0)
		return -errno;
	link = bpf_link_create(fd, 0, at, NULL);
	if (link < 0)
		ret = -errno;
	else
		close(link);
	close(fd);
	return ret;
}

/*
 * libbpf cannot probe BPF LSM (it needs a hook's BTF id): a program that allows every
 * file_open, attached for real. Some kernels build BPF LSM in but refuse the load
 * (EPERM here); EOPNOTSUPP: no BPF LSM hooks in this kernel.
 */
int loader_probe_lsm(const char *btf_path)
{
	int ret = probe_btf_attach(btf_path, "bpf_lsm_file_open", BPF_PROG_TYPE_LSM, BPF_LSM_MAC);

	return ret == 1 ? 0 : ret;
}

/* fentry: a tracing program at vfs_read's entry, attached for real. */
static int probe_fentry(const char *btf_path)
{
	return probe_btf_attach(btf_path, "vfs_read", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY);
}

/*
 * kprobes: a kprobe program attached to vfs_read through the kprobe PMU for real,
 * then let go. 1, or -errno (EOPNOTSUPP: the kernel has no kprobe PMU).
 */
static int probe_kprobes(void)
{
	struct perf_event_attr attr = {.size = sizeof(attr)};
	const char *func = "vfs_read";
	int fd, pfd, ret = 1, type = -1;
	FILE *f = fopen("/sys/bus/event_source/devices/kprobe/type", "r");

	if (!f)
		return -EOPNOTSUPP;
	if (fscanf(f, "%d", &type) != 1)
		type = -1;
	fclose(f);
	if (type < 0)
		return -EOPNOTSUPP;
	fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", probe_insns, 2, NULL);
	if (fd < 0)
		return -errno;
	attr.type = type;
	attr.config1 = (unsigned long)func; /* kprobe_func */
	attr.config2 = 0;		    /* probe_offset */
	pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		ret = -errno;
	else if (ioctl(pfd, PERF_EVENT_IOC_SET_BPF, fd) < 0)
		ret = -errno;
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return ret;
}

/*
 * Does this kernel run 32-bit syscalls? With ia32 emulation off (not built in, booted
 * with ia32_emulation=off, or refused by a hypervisor) int $0x80 faults, and no 32-bit
 * program runs either: a child that asks getpid() that way dies of SIGSEGV. That death
 * is the only answer taken for no; anything else counts as yes, so the ia32 programs
 * are loaded whenever there is doubt. Not x86-64: yes, without a probe.
 */
static int probe_ia32(void)
{
#if defined(__x86_64__)
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return 1;
	if (!pid) {
		long r;

		prctl(PR_SET_DUMPABLE, 0); /* the expected fault leaves no core dump */
		__asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
		_exit(r > 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return 1;
	}
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV ? -ENOSYS : 1;
#else
	return 1;
#endif
}

static void set_feature(struct loader_feature *f, const char *name, int probe)
{
	f->name = name;
	f->available = probe == 1;
	f->error = probe < 0 ? -probe : 0;
}

static void probe_features(struct loader *l)
{
	static const struct {
		enum feature_id id;
		const char *name;
		enum bpf_prog_type type;
	} types[] = {
	    {F_TRACEPOINT, "tracepoint", BPF_PROG_TYPE_TRACEPOINT},
	    {F_RAW_TRACEPOINT, "raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
	    {F_CGROUP_SOCK_ADDR, "cgroup_sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
	    {F_CGROUP_SKB, "cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
	    {F_XDP, "xdp", BPF_PROG_TYPE_XDP},
	    {F_SCHED_CLS, "tc", BPF_PROG_TYPE_SCHED_CLS},
	    {F_KPROBE, "uprobe", BPF_PROG_TYPE_KPROBE},
	};
	static const struct {
		enum feature_id id;
		const char *name;
		enum bpf_func_id helper;
	} helpers[] = {
	    {F_RINGBUF, "ringbuf", BPF_FUNC_ringbuf_output},
	    {F_BPF_LOOP, "bpf_loop", BPF_FUNC_loop},
	    {F_TASK_PT_REGS, "task_pt_regs", BPF_FUNC_task_pt_regs},
	    {F_SEND_SIGNAL, "send_signal", BPF_FUNC_send_signal},
	};
	int lsm;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		set_feature(&l->f[types[i].id], types[i].name,
			    libbpf_probe_bpf_prog_type(types[i].type, NULL));
	lsm = loader_probe_lsm(l->spec.btf_path);
	set_feature(&l->f[F_LSM], "lsm", lsm == 0 ? 1 : lsm);
	for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		set_feature(
		    &l->f[helpers[i].id], helpers[i].name,
		    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, helpers[i].helper, NULL));
	set_feature(&l->f[F_IA32], "ia32", probe_ia32());
	set_feature(&l->f[F_FENTRY], "fentry", probe_fentry(l->spec.btf_path));
	set_feature(&l->f[F_KPROBES], "kprobe", probe_kprobes());
}

/* The probe that says whether programs of this type can load here, or NULL. */
static const struct loader_feature *type_feature(const struct loader *l, enum bpf_prog_type t)
{
	switch (t) {
	case BPF_PROG_TYPE_TRACEPOINT:
		return &l->f[F_TRACEPOINT];
	case BPF_PROG_TYPE_RAW_TRACEPOINT:
		return &l->f[F_RAW_TRACEPOINT];
	case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
		return &l->f[F_CGROUP_SOCK_ADDR];
	case BPF_PROG_TYPE_CGROUP_SKB:
		return &l->f[F_CGROUP_SKB];
	case BPF_PROG_TYPE_XDP:
		return &l->f[F_XDP];
	case BPF_PROG_TYPE_SCHED_CLS:
		return &l->f[F_SCHED_CLS];
	case BPF_PROG_TYPE_LSM:
		return &l->f[F_LSM];
	case BPF_PROG_TYPE_KPROBE:
		return &l->f[F_KPROBE];
	default:
		return NULL;
	}
}

size_t loader__n_features(const struct loader *l)
{
	return F_MAX;
}

const struct loader_feature *loader__feature(const struct loader *l, size_t i)
{
	return i < F_MAX ? &l->f[i] : NULL;
}

/* The program kinds that use feature i; none for helpers and the probes of what vigil
 * does not use. */
static bool kind_uses(size_t i, enum loader_kind k)
{
	switch (i) {
	case F_TRACEPOINT:
		return k == LOADER_TRACEPOINT;
	case F_RAW_TRACEPOINT:
		return k == LOADER_RAW_TRACEPOINT || k == LOADER_TAIL_CALL;
	case F_CGROUP_SOCK_ADDR:
	case F_CGROUP_SKB:
		return k == LOADER_CGROUP;
	case F_XDP:
		return k == LOADER_XDP;
	case F_SCHED_CLS:
		return k == LOADER_TC_INGRESS || k == LOADER_TC_EGRESS;
	case F_LSM:
		return k == LOADER_LSM;
	case F_KPROBE:
		return k == LOADER_UPROBE;
	default:
		return false;
	}
}

bool loader__feature_used(const struct loader *l, size_t i, const char **why)
{
	static const char *const unused[F_MAX] = {
	    [F_FENTRY] = "not used: the tracepoint sensors work on every kernel vigil runs on; "
			 "a sensor moves to fentry only where that is measured cheaper or sees "
			 "more (docs/KERNELS.md)",
	    [F_KPROBES] = "not used: the tracepoint sensors see the same calls on every kernel "
			  "without depending on kernel function names",
	};
	bool program_kind = false;

	*why = NULL;
	if (i >= F_MAX)
		return false;
	if (!l->f[i].available) {
		*why = "the kernel refused its probe";
		return false;
	}
	if (unused[i]) {
		*why = unused[i];
		return false;
	}
	for (int k = 0; k < LOADER_KIND_MAX; k++)
		program_kind |= kind_uses(i, (enum loader_kind)k);
	if (!program_kind)
		return true; /* a helper or an ABI the programs rely on */
	for (size_t p = 0; p < l->spec.n_progs; p++)
		if (kind_uses(i, l->spec.progs[p].kind) && !l->run[p].off)
			return true;
	*why = "no program of vigil's of this kind is loaded";
	return false;
}

void loader__print_features(const struct loader *l, FILE *f)
{
	fputs("vigil: kernel features:", f);
	for (size_t i = 0; i < F_MAX; i++) {
		const struct loader_feature *ft = &l->f[i];

		fprintf(f, "%s %s %s", i ? "," : "", ft->name, ft->available ? "yes" : "no");
		if (!ft->available && ft->error)
			fprintf(f, " (%s)", strerror(ft->error));
	}
	fputc('\n', f);
}

/* ---- the object ---- */

struct loader *loader__new(const struct loader_spec *spec, char *err, size_t errlen)
{
	struct loader *l;
	int ret;

	ret = check_environment(spec, err, errlen);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	libbpf_set_print(libbpf_print);
	l = calloc(1, sizeof(*l));
	if (!l)
		goto err_nomem;
	l->spec = *spec;
	if (!l->spec.notices)
		l->spec.notices = stderr;
	l->run = calloc(spec->n_progs ? spec->n_progs : 1, sizeof(*l->run));
	if (!l->run)
		goto err_free;
	for (size_t i = 0; i < spec->n_progs; i++)
		l->run[i].target = spec->progs[i].target;
	probe_features(l);
	return l;

err_free:
	free(l);
err_nomem:
	snprintf(err, errlen, "out of memory");
	errno = ENOMEM;
	return NULL;
}

static void close_skel(struct loader *l)
{
	loader__detach(l);
	if (l->skel)
		l->spec.skel->destroy(l->skel);
	l->skel = NULL;
	l->loaded = false;
}

void loader__free(struct loader *l)
{
	if (!l)
		return;
	close_skel(l);
	for (size_t i = 0; i < l->spec.n_progs; i++) {
		free(l->run[i].target_copy);
		free(l->run[i].depths);
	}
	free(l->run);
	free(l->att);
	free(l);
}

int loader__set_target(struct loader *l, const char *prog, const char *target)
{
	for (size_t i = 0; i < l->spec.n_progs; i++) {
		char *copy;

		if (strcmp(l->spec.progs[i].name, prog))
			continue;
		copy = target ? strdup(target) : NULL;
		if (target && !copy)
			return -ENOMEM;
		free(l->run[i].target_copy);
		l->run[i].target_copy = copy;
		l->run[i].target = copy;
		return 0;
	}
	return -ENOENT;
}

const char *loader__error(const struct loader *l)
{
	return l->err;
}

void *loader__skel(const struct loader *l)
{
	return l->skel;
}

struct bpf_object *loader__object(const struct loader *l)
{
	return l->skel ? l->spec.skel->object(l->skel) : NULL;
}

size_t loader__n_progs(const struct loader *l)
{
	return l->spec.n_progs;
}

void loader__prog_state(const struct loader *l, size_t i, struct loader_prog_state *out)
{
	const struct prog_run *r = &l->run[i];

	out->name = l->spec.progs[i].name;
	out->kind = loader_kind_name(l->spec.progs[i].kind);
	out->enabled = !r->off;
	out->why = r->off ? r->why : "";
	out->attachments = r->attachments;
}

static struct bpf_program *find_prog(const struct loader *l, size_t i)
{
	return bpf_object__find_program_by_name(l->spec.skel->object(l->skel),
						l->spec.progs[i].name);
}

/*
 * Switches program i off with a notice ("NAME is not loaded" or "attached", as
 * stage says), or, when it is required, fails the step with msg as the error.
 * Returns 0 or ret.
 */
static int switch_off(struct loader *l, size_t i, int ret, const char *msg, const char *why,
		      const char *stage)
{
	struct prog_run *r = &l->run[i];

	if (l->spec.progs[i].required) {
		snprintf(l->err, sizeof(l->err), "%s", msg);
		return ret;
	}
	r->off = true;
	snprintf(r->why, sizeof(r->why), "%s", why);
	fprintf(l->spec.notices, "vigil: notice: BPF program %s is not %s, switched off: %s\n",
		l->spec.progs[i].name, stage, why);
	return 0;
}

/* The tracepoint a program attaches to, "category/name", or NULL if none. */
static const char *tracepoint_of(const struct loader *l, size_t i, struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);

	if (l->run[i].target)
		return l->run[i].target;
	if (!strncmp(sec, "tp/", 3))
		return sec + 3;
	if (!strncmp(sec, "tracepoint/", 11))
		return sec + 11;
	return NULL;
}

#define IA32_OFF                                                                                   \
	"this kernel runs no 32-bit code: ia32 emulation is off (int $0x80 faults, 32-bit "        \
	"images are refused), so no 32-bit syscall can happen"

/*
 * What can be known before load: the kernel makes the syscalls an ia32 program serves,
 * the tracepoint exists, the probes allow the type.
 */
static int check_prog(struct loader *l, size_t i, struct bpf_program *prog)
{
	const struct loader_feature *f = type_feature(l, bpf_program__type(prog));
	const char *name = l->spec.progs[i].name;
	char why[WHY_MAX], msg[ERR_MAX];

	if (l->spec.progs[i].ia32 && !l->f[F_IA32].available) {
		/* said once for all of them (loader__open); never a required program */
		l->run[i].off = true;
		snprintf(l->run[i].why, sizeof(l->run[i].why), "%s", IA32_OFF);
		return 0;
	}
	if (l->spec.progs[i].kind == LOADER_LSM && !l->f[F_LSM].available &&
	    !l->spec.progs[i].required) {
		/* optional everywhere (a fallback stands in): said once for all of them */
		int e = l->f[F_LSM].error ? l->f[F_LSM].error : EOPNOTSUPP;

		l->run[i].off = true;
		snprintf(l->run[i].why, sizeof(l->run[i].why),
			 "refused by this kernel: lsm programs: %s (errno %d)", strerror(e), e);
		return 0;
	}
	if (f && !f->available) {
		int e = f->error ? f->error : EOPNOTSUPP;

		snprintf(why, sizeof(why), "refused by this kernel: %s programs: %s (errno %d)",
			 f->name, strerror(e), e);
		snprintf(msg, sizeof(msg), "the kernel refused BPF program '%s': %s (errno %d)",
			 name, strerror(e), e);
		return switch_off(l, i, -e, msg, why, "loaded");
	}
	if (l->spec.progs[i].kind == LOADER_TRACEPOINT) {
		const char *tp = tracepoint_of(l, i, prog);
		const char *dir = tracefs_dir();
		char path[512];

		if (tp && dir) {
			snprintf(path, sizeof(path), "%s/events/%s/id", dir, tp);
			if (access(path, F_OK) == 0)
				return 0;
		}
		/* syscalls differ between kernels (fchmodat2 is 6.6+, no modules without
		 * CONFIG_MODULES): the loss is said once */
		snprintf(why, sizeof(why), "this kernel has no tracepoint %s", tp ? tp : "(none)");
		snprintf(msg, sizeof(msg), "BPF program '%s': %s", name, why);
		return switch_off(l, i, -ENOENT, msg, why, "loaded");
	}
	return 0;
}

int loader__open(struct loader *l)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	size_t n_ia32 = 0, n_lsm = 0;
	int ret;

	l->err[0] = 0;
	close_skel(l);
	l->skel = l->spec.skel->open(&(struct bpf_object_open_opts){
	    .sz = sizeof(struct bpf_object_open_opts),
	    .btf_custom_path = l->spec.btf_path,
	    /* VIGIL_BPF_DEBUG=stats: the verifier's statistics of every program it took */
	    .kernel_log_level = bpf_debug_stats() ? 4 : 0,
	});
	if (!l->skel) {
		ret = -errno;
		snprintf(l->err, sizeof(l->err), "cannot open the BPF object: %s", strerror(errno));
		return ret;
	}
	obj = l->spec.skel->object(l->skel);
	/* every program is described once: one missing from the table is a bug */
	bpf_object__for_each_program(prog, obj)
	{
		size_t i;

		for (i = 0; i < l->spec.n_progs; i++)
			if (!strcmp(l->spec.progs[i].name, bpf_program__name(prog)))
				break;
		if (i == l->spec.n_progs) {
			snprintf(l->err, sizeof(l->err),
				 "BPF program '%s' is not in the loader's table",
				 bpf_program__name(prog));
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < l->spec.n_progs; i++) {
		prog = find_prog(l, i);
		if (!prog) {
			snprintf(l->err, sizeof(l->err),
				 "the loader's table names BPF program '%s', which the object "
				 "does not have",
				 l->spec.progs[i].name);
			return -EINVAL;
		}
		if (!l->run[i].off) {
			ret = check_prog(l, i, prog);
			if (ret)
				return ret;
		}
		bpf_program__set_autoload(prog, !l->run[i].off);
		n_ia32 += l->spec.progs[i].ia32;
		n_lsm += l->spec.progs[i].kind == LOADER_LSM && !l->spec.progs[i].required;
	}
	if (n_lsm && !l->f[F_LSM].available && !l->lsm_said) {
		int e = l->f[F_LSM].error ? l->f[F_LSM].error : EOPNOTSUPP;

		fprintf(l->spec.notices,
			"vigil: notice: %zu BPF-LSM program%s not loaded: this kernel refuses "
			"BPF LSM programs: %s (errno %d)\n",
			n_lsm, n_lsm == 1 ? " is" : "s are", strerror(e), e);
		l->lsm_said = true;
	}
	if (n_ia32 && !l->f[F_IA32].available && !l->ia32_said) {
		fprintf(l->spec.notices,
			"vigil: notice: the %zu ia32 programs are not loaded: %s\n", n_ia32,
			IA32_OFF);
		l->ia32_said = true;
	}
	return 0;
}

int loader__configure(struct loader *l)
{
	l->err[0] = 0;
	if (!l->spec.configure)
		return 0;
	return l->spec.configure(l->skel, l->spec.arg, l->err, sizeof(l->err));
}

/* VIGIL_BPF_DEBUG=stats: each program's deepest call chain, its stack as 6.1 counts it */
static void report_stacks(const struct loader *l, FILE *f)
{
	int measured = 0, over = 0, unknown = 0;

	for (size_t i = 0; i < l->spec.n_progs; i++) {
		const char *name = l->spec.progs[i].name;
		struct bpf_program *prog = find_prog(l, i);
		struct stack_chain c;
		char why[WHY_MAX], frames[STACK_BUDGET_FRAMES * 5 + 32] = "";
		size_t off = 0;

		if (!prog || !bpf_program__autoload(prog))
			continue;
		if (!l->run[i].depths) {
			fprintf(f,
				"vigil: stack %s: not measured: no depths in the verifier's log\n",
				name);
			unknown++;
			continue;
		}
		if (stack_budget_measure(bpf_program__insns(prog), bpf_program__insn_cnt(prog),
					 l->run[i].depths, l->run[i].n_depths, &c)) {
			fprintf(f,
				"vigil: stack %s: not measured: the verifier counted %d functions, "
				"the %zu instructions start %d\n",
				name, l->run[i].n_depths, bpf_program__insn_cnt(prog), c.funcs);
			unknown++;
			continue;
		}
		measured++;
		for (int k = 0; k < c.frames; k++)
			off += snprintf(frames + off, sizeof(frames) - off, "%s%d", k ? "+" : "",
					c.frame[k]);
		if (c.removed)
			snprintf(frames + off, sizeof(frames) - off, "; %d dead, placed at worst",
				 c.removed);
		if (stack_budget_fits(&c, why, sizeof(why))) {
			fprintf(f, "vigil: stack %s: %d of %d bytes (%s), as 6.1 counts it\n", name,
				c.bytes, STACK_BUDGET_BYTES, frames);
		} else {
			over++;
			fprintf(f, "vigil: warning: 6.1 would refuse BPF program '%s': %s (%s)\n",
				name, why, frames);
		}
	}
	fprintf(f,
		"vigil: stack as 6.1 counts it: %d programs measured, %d over, %d not "
		"measured\n",
		measured, over, unknown);
}

int loader__load(struct loader *l)
{
	char why[WHY_MAX], msg[ERR_MAX];
	size_t tries;
	int ret;

	/* each refusal of an optional program costs one reopen; there are n_progs at most */
	for (tries = 0;; tries++) {
		int i;

		l->err[0] = 0;
		l->failed_prog[0] = l->failed_map[0] = l->verifier_tail[0] = 0;
		printing_for = l;
		ret = l->spec.skel->load(l->skel);
		printing_for = NULL;
		if (!ret) {
			l->loaded = true;
			if (bpf_debug_stats())
				report_stacks(l, stderr);
			return 0;
		}
		if (!l->failed_prog[0]) {
			if (l->failed_map[0])
				snprintf(l->err, sizeof(l->err),
					 "the kernel refused to create BPF map '%s': %s (errno %d)",
					 l->failed_map, strerror(-ret), -ret);
			else
				snprintf(l->err, sizeof(l->err),
					 "cannot load the BPF object: %s (errno %d)",
					 strerror(-ret), -ret);
			return ret;
		}
		snprintf(msg, sizeof(msg), "the kernel refused BPF program '%s': %s (errno %d)%s%s",
			 l->failed_prog, strerror(-ret), -ret,
			 l->verifier_tail[0] ? "; verifier: " : "", l->verifier_tail);
		i = prog_index(l, l->failed_prog);
		if (i < 0 || tries >= l->spec.n_progs) {
			snprintf(l->err, sizeof(l->err), "%s", msg);
			return ret;
		}
		snprintf(why, sizeof(why), "refused by this kernel: %s (errno %d)%s%.80s",
			 strerror(-ret), -ret, l->verifier_tail[0] ? "; verifier: " : "",
			 l->verifier_tail);
		if (switch_off(l, i, ret, msg, why, "loaded"))
			return ret;
		/* a failed load leaves the object unusable: open it again without the program */
		ret = loader__open(l);
		if (!ret)
			ret = loader__configure(l);
		if (ret)
			return ret;
	}
}

static struct attachment *new_attachment(struct loader *l, size_t i)
{
	if (l->n_att == l->cap_att) {
		int cap = l->cap_att ? l->cap_att * 2 : 64;
		struct attachment *a = realloc(l->att, cap * sizeof(*a));

		if (!a)
			return NULL;
		l->att = a;
		l->cap_att = cap;
	}
	memset(&l->att[l->n_att], 0, sizeof(l->att[0]));
	l->att[l->n_att].prog = (int)i;
	return &l->att[l->n_att];
}

/* Adds a TC filter on one interface. */
static int attach_tc(struct loader *l, size_t i, struct bpf_program *prog, int ifindex, bool egress)
{
	struct attachment *a = new_attachment(l, i);
	int ret;

	if (!a)
		return -ENOMEM;
	a->hook.sz = sizeof(a->hook);
	a->hook.ifindex = ifindex;
	a->hook.attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS;
	/* one clsact qdisc serves both directions: create it once (the kernel's
	 * answer to a second create is an error libbpf would print) */
	for (int k = 0; k < l->n_att; k++)
		if (!l->att[k].link && l->att[k].hook.ifindex == ifindex)
			goto attach;
	ret = bpf_tc_hook_create(&a->hook);
	if (ret && ret != -EEXIST)
		return ret;
	a->hook_created = ret == 0;
attach:
	a->tc.sz = sizeof(a->tc);
	a->tc.prog_fd = bpf_program__fd(prog);
	ret = bpf_tc_attach(&a->hook, &a->tc);
	if (ret) {
		if (a->hook_created) {
			a->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&a->hook);
		}
		return ret;
	}
	l->n_att++;
	return 0;
}

/* Keeps a link made by libbpf, or returns -errno. */
static int keep_link(struct loader *l, size_t i, struct bpf_link *link)
{
	struct attachment *a;
	int ret;

	if (!link)
		return -errno;
	a = new_attachment(l, i);
	if (!a) {
		ret = -ENOMEM;
		bpf_link__destroy(link);
		return ret;
	}
	a->link = link;
	l->n_att++;
	return 0;
}

/* Attaches to every interface of a comma-separated list. */
static int attach_ifaces(struct loader *l, size_t i, struct bpf_program *prog, const char *list)
{
	enum loader_kind kind = l->spec.progs[i].kind;
	char name[IF_NAMESIZE + 1];
	const char *p = list;
	int ret;

	if (!list || !*list)
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, ",");
		unsigned int ifindex;

		if (n == 0 || n > IF_NAMESIZE)
			return -EINVAL;
		memcpy(name, p, n);
		name[n] = 0;
		ifindex = if_nametoindex(name);
		if (!ifindex)
			return -errno;
		if (kind == LOADER_XDP)
			ret = keep_link(l, i, bpf_program__attach_xdp(prog, ifindex));
		else
			ret = attach_tc(l, i, prog, ifindex, kind == LOADER_TC_EGRESS);
		if (ret)
			return ret;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int attach_uprobe(struct loader *l, size_t i, struct bpf_program *prog, const char *target)
{
	const char *colon = target ? strrchr(target, ':') : NULL;
	char binary[512];

	if (!colon || colon == target || !colon[1] || (size_t)(colon - target) >= sizeof(binary))
		return -EINVAL;
	snprintf(binary, sizeof(binary), "%.*s", (int)(colon - target), target);
	return keep_link(l, i,
			 bpf_program__attach_uprobe_opts(prog, -1, binary, 0,
							 &(struct bpf_uprobe_opts){
							     .sz = sizeof(struct bpf_uprobe_opts),
							     .func_name = colon + 1,
							 }));
}

/* The attach kinds: one way to attach each. Returns 0 or -errno. */
static int attach_one(struct loader *l, size_t i, struct bpf_program *prog)
{
	const char *target = l->run[i].target;
	char tp[256];
	int fd, ret;

	switch (l->spec.progs[i].kind) {
	case LOADER_TRACEPOINT:
		if (!target)
			return keep_link(l, i, bpf_program__attach(prog));
		snprintf(tp, sizeof(tp), "%s", target);
		if (!strchr(tp, '/'))
			return -EINVAL;
		*strchr(tp, '/') = 0;
		return keep_link(l, i,
				 bpf_program__attach_tracepoint(prog, tp, tp + strlen(tp) + 1));
	case LOADER_RAW_TRACEPOINT:
		if (!target)
			return keep_link(l, i, bpf_program__attach(prog));
		return keep_link(l, i, bpf_program__attach_raw_tracepoint(prog, target));
	case LOADER_CGROUP:
		if (!target)
			return -EINVAL;
		fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = keep_link(l, i, bpf_program__attach_cgroup(prog, fd));
		close(fd);
		return ret;
	case LOADER_XDP:
	case LOADER_TC_INGRESS:
	case LOADER_TC_EGRESS:
		return attach_ifaces(l, i, prog, target);
	case LOADER_LSM:
		return keep_link(l, i, bpf_program__attach_lsm(prog));
	case LOADER_UPROBE:
		return attach_uprobe(l, i, prog, target);
	case LOADER_TAIL_CALL:
		return 0;
	default:
		return -EINVAL;
	}
}

/* Undoes the attachments of program i (or of all, i < 0) made after index from. */
static void detach_from(struct loader *l, int from, int i)
{
	for (int k = l->n_att - 1; k >= from; k--) {
		struct attachment *a = &l->att[k];

		if (i >= 0 && a->prog != i)
			continue;
		if (a->link) {
			bpf_link__destroy(a->link);
		} else {
			a->tc.prog_fd = 0;
			a->tc.prog_id = 0;
			a->tc.flags = 0;
			bpf_tc_detach(&a->hook, &a->tc);
			if (a->hook_created) {
				a->hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
				bpf_tc_hook_destroy(&a->hook);
			}
		}
		l->run[a->prog].attachments--;
		memmove(a, a + 1, (l->n_att - k - 1) * sizeof(*a));
		l->n_att--;
	}
}

int loader__attach(struct loader *l)
{
	char why[WHY_MAX], msg[ERR_MAX];

	l->err[0] = 0;
	if (!l->loaded) {
		snprintf(l->err, sizeof(l->err), "the BPF object is not loaded");
		return -EINVAL;
	}
	for (size_t i = 0; i < l->spec.n_progs; i++) {
		struct bpf_program *prog;
		int from = l->n_att, ret;

		if (l->run[i].off || l->spec.progs[i].on_demand)
			continue;
		prog = find_prog(l, i);
		printing_for = l;
		l->attaching = true;
		ret = attach_one(l, i, prog);
		l->attaching = false;
		printing_for = NULL;
		l->run[i].attachments = l->n_att - from;
		if (!ret)
			continue;
		/* all or nothing per program: a half-attached XDP list is not what was asked */
		detach_from(l, from, (int)i);
		snprintf(msg, sizeof(msg), "cannot attach BPF program '%s' (%s%s%s): %s (errno %d)",
			 l->spec.progs[i].name, bpf_program__section_name(prog),
			 l->run[i].target ? " on " : "", l->run[i].target ? l->run[i].target : "",
			 strerror(-ret), -ret);
		snprintf(why, sizeof(why), "cannot attach%s%s: %s (errno %d)",
			 l->run[i].target ? " to " : "", l->run[i].target ? l->run[i].target : "",
			 strerror(-ret), -ret);
		ret = switch_off(l, i, ret, msg, why, "attached");
		if (ret) {
			loader__detach(l);
			return ret;
		}
	}
	return 0;
}

int loader__set_attached(struct loader *l, const char *name, bool on)
{
	int i = prog_index(l, name), from, ret;
	struct bpf_program *prog;

	l->err[0] = 0;
	if (i < 0)
		return -ENOENT;
	if (l->run[i].off || !l->loaded)
		return -ENODEV;
	if (!on) {
		detach_from(l, 0, i);
		return 0;
	}
	if (l->run[i].attachments)
		return 0;
	prog = find_prog(l, i);
	from = l->n_att;
	printing_for = l;
	ret = attach_one(l, i, prog);
	printing_for = NULL;
	l->run[i].attachments = l->n_att - from;
	if (ret) {
		detach_from(l, from, i);
		snprintf(l->err, sizeof(l->err),
			 "cannot attach BPF program '%s' (%s): %s (errno %d)", name,
			 bpf_program__section_name(prog), strerror(-ret), -ret);
	}
	return ret;
}

int loader__start(struct loader *l)
{
	int ret = loader__open(l);

	if (!ret)
		ret = loader__configure(l);
	if (!ret)
		ret = loader__load(l);
	if (!ret)
		ret = loader__attach(l);
	return ret;
}

void loader__detach(struct loader *l)
{
	if (l)
		detach_from(l, 0, -1);
}
