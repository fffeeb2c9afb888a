// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_priv.c - rendering of privilege and kernel events (struct vg_priv): id
 * and capability changes, ptrace, modules, mounts, namespaces, bpf(), memfd,
 * chroot and signals. Numbers that name something (requests, commands, flags,
 * signals, capabilities) are written by name next to their raw value; all the
 * names live in the tables below and one helper walks them. A value this file
 * does not know is still shown: an enum in decimal, leftover flag bits in hex.
 * The numbers are the kernel's (x86-64 and arm64 share them), never the build
 * host's headers, so the records of a newer kernel still decode.
 */
#include <limits.h>
#include <string.h>

#include "event.h"
#include "util/json.h"
#include "util/text.h"

struct name_val {
	uint64_t val;	  /* the value, or the bits of a flag */
	const char *name; /* as the kernel's headers spell it */
};

struct name_set {
	const struct name_val *v; /* the table */
	size_t n;		  /* entries */
	bool bits;		  /* a flag set, not an enum */
};

#define NAME_SET(tab, is_bits)                                                                     \
	{                                                                                          \
		tab, sizeof(tab) / sizeof(tab[0]), is_bits                                         \
	}
#define BIT(n) (1ull << (n))

static const struct name_val signal_vals[] = {
    {1, "SIGHUP"},     {2, "SIGINT"},	{3, "SIGQUIT"},	  {4, "SIGILL"},   {5, "SIGTRAP"},
    {6, "SIGABRT"},    {7, "SIGBUS"},	{8, "SIGFPE"},	  {9, "SIGKILL"},  {10, "SIGUSR1"},
    {11, "SIGSEGV"},   {12, "SIGUSR2"}, {13, "SIGPIPE"},  {14, "SIGALRM"}, {15, "SIGTERM"},
    {16, "SIGSTKFLT"}, {17, "SIGCHLD"}, {18, "SIGCONT"},  {19, "SIGSTOP"}, {20, "SIGTSTP"},
    {21, "SIGTTIN"},   {22, "SIGTTOU"}, {23, "SIGURG"},	  {24, "SIGXCPU"}, {25, "SIGXFSZ"},
    {26, "SIGVTALRM"}, {27, "SIGPROF"}, {28, "SIGWINCH"}, {29, "SIGIO"},   {30, "SIGPWR"},
    {31, "SIGSYS"},
};

static const struct name_val cap_vals[] = {
    {BIT(0), "CAP_CHOWN"},
    {BIT(1), "CAP_DAC_OVERRIDE"},
    {BIT(2), "CAP_DAC_READ_SEARCH"},
    {BIT(3), "CAP_FOWNER"},
    {BIT(4), "CAP_FSETID"},
    {BIT(5), "CAP_KILL"},
    {BIT(6), "CAP_SETGID"},
    {BIT(7), "CAP_SETUID"},
    {BIT(8), "CAP_SETPCAP"},
    {BIT(9), "CAP_LINUX_IMMUTABLE"},
    {BIT(10), "CAP_NET_BIND_SERVICE"},
    {BIT(11), "CAP_NET_BROADCAST"},
    {BIT(12), "CAP_NET_ADMIN"},
    {BIT(13), "CAP_NET_RAW"},
    {BIT(14), "CAP_IPC_LOCK"},
    {BIT(15), "CAP_IPC_OWNER"},
    {BIT(16), "CAP_SYS_MODULE"},
    {BIT(17), "CAP_SYS_RAWIO"},
    {BIT(18), "CAP_SYS_CHROOT"},
    {BIT(19), "CAP_SYS_PTRACE"},
    {BIT(20), "CAP_SYS_PACCT"},
    {BIT(21), "CAP_SYS_ADMIN"},
    {BIT(22), "CAP_SYS_BOOT"},
    {BIT(23), "CAP_SYS_NICE"},
    {BIT(24), "CAP_SYS_RESOURCE"},
    {BIT(25), "CAP_SYS_TIME"},
    {BIT(26), "CAP_SYS_TTY_CONFIG"},
    {BIT(27), "CAP_MKNOD"},
    {BIT(28), "CAP_LEASE"},
    {BIT(29), "CAP_AUDIT_WRITE"},
    {BIT(30), "CAP_AUDIT_CONTROL"},
    {BIT(31), "CAP_SETFCAP"},
    {BIT(32), "CAP_MAC_OVERRIDE"},
    {BIT(33), "CAP_MAC_ADMIN"},
    {BIT(34), "CAP_SYSLOG"},
    {BIT(35), "CAP_WAKE_ALARM"},
    {BIT(36), "CAP_BLOCK_SUSPEND"},
    {BIT(37), "CAP_AUDIT_READ"},
    {BIT(38), "CAP_PERFMON"},
    {BIT(39), "CAP_BPF"},
    {BIT(40), "CAP_CHECKPOINT_RESTORE"},
};

static const struct name_val ptrace_vals[] = {
    {0, "PTRACE_TRACEME"},
    {1, "PTRACE_PEEKTEXT"},
    {2, "PTRACE_PEEKDATA"},
    {3, "PTRACE_PEEKUSR"},
    {4, "PTRACE_POKETEXT"},
    {5, "PTRACE_POKEDATA"},
    {6, "PTRACE_POKEUSR"},
    {7, "PTRACE_CONT"},
    {8, "PTRACE_KILL"},
    {9, "PTRACE_SINGLESTEP"},
    {12, "PTRACE_GETREGS"},
    {13, "PTRACE_SETREGS"},
    {14, "PTRACE_GETFPREGS"},
    {15, "PTRACE_SETFPREGS"},
    {16, "PTRACE_ATTACH"},
    {17, "PTRACE_DETACH"},
    {18, "PTRACE_GETFPXREGS"},
    {19, "PTRACE_SETFPXREGS"},
    {24, "PTRACE_SYSCALL"},
    {30, "PTRACE_ARCH_PRCTL"},
    {31, "PTRACE_SYSEMU"},
    {32, "PTRACE_SYSEMU_SINGLESTEP"},
    {33, "PTRACE_SINGLEBLOCK"},
    {0x4200, "PTRACE_SETOPTIONS"},
    {0x4201, "PTRACE_GETEVENTMSG"},
    {0x4202, "PTRACE_GETSIGINFO"},
    {0x4203, "PTRACE_SETSIGINFO"},
    {0x4204, "PTRACE_GETREGSET"},
    {0x4205, "PTRACE_SETREGSET"},
    {0x4206, "PTRACE_SEIZE"},
    {0x4207, "PTRACE_INTERRUPT"},
    {0x4208, "PTRACE_LISTEN"},
    {0x4209, "PTRACE_PEEKSIGINFO"},
    {0x420a, "PTRACE_GETSIGMASK"},
    {0x420b, "PTRACE_SETSIGMASK"},
    {0x420c, "PTRACE_SECCOMP_GET_FILTER"},
    {0x420d, "PTRACE_SECCOMP_GET_METADATA"},
    {0x420e, "PTRACE_GET_SYSCALL_INFO"},
    {0x420f, "PTRACE_GET_RSEQ_CONFIGURATION"},
    {0x4210, "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG"},
    {0x4211, "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG"},
    {0x4212, "PTRACE_SET_SYSCALL_INFO"},
};

/* clone/unshare flags; setns's nstype uses the CLONE_NEW* ones */
static const struct name_val clone_vals[] = {
    {0x00000080, "CLONE_NEWTIME"},
    {0x00000100, "CLONE_VM"},
    {0x00000200, "CLONE_FS"},
    {0x00000400, "CLONE_FILES"},
    {0x00000800, "CLONE_SIGHAND"},
    {0x00001000, "CLONE_PIDFD"},
    {0x00002000, "CLONE_PTRACE"},
    {0x00004000, "CLONE_VFORK"},
    {0x00008000, "CLONE_PARENT"},
    {0x00010000, "CLONE_THREAD"},
    {0x00020000, "CLONE_NEWNS"},
    {0x00040000, "CLONE_SYSVSEM"},
    {0x00080000, "CLONE_SETTLS"},
    {0x00100000, "CLONE_PARENT_SETTID"},
    {0x00200000, "CLONE_CHILD_CLEARTID"},
    {0x00400000, "CLONE_DETACHED"},
    {0x00800000, "CLONE_UNTRACED"},
    {0x01000000, "CLONE_CHILD_SETTID"},
    {0x02000000, "CLONE_NEWCGROUP"},
    {0x04000000, "CLONE_NEWUTS"},
    {0x08000000, "CLONE_NEWIPC"},
    {0x10000000, "CLONE_NEWUSER"},
    {0x20000000, "CLONE_NEWPID"},
    {0x40000000, "CLONE_NEWNET"},
    {0x80000000, "CLONE_IO"},
};

/* mount(2) flags; MS_MGC_VAL in the top half is the old magic, handled apart */
#define MS_MGC_MSK_ 0xffff0000u
#define MS_MGC_VAL_ 0xc0ed0000u
static const struct name_val mount_vals[] = {
    {BIT(0), "MS_RDONLY"},     {BIT(1), "MS_NOSUID"},	   {BIT(2), "MS_NODEV"},
    {BIT(3), "MS_NOEXEC"},     {BIT(4), "MS_SYNCHRONOUS"}, {BIT(5), "MS_REMOUNT"},
    {BIT(6), "MS_MANDLOCK"},   {BIT(7), "MS_DIRSYNC"},	   {BIT(8), "MS_NOSYMFOLLOW"},
    {BIT(10), "MS_NOATIME"},   {BIT(11), "MS_NODIRATIME"}, {BIT(12), "MS_BIND"},
    {BIT(13), "MS_MOVE"},      {BIT(14), "MS_REC"},	   {BIT(15), "MS_SILENT"},
    {BIT(16), "MS_POSIXACL"},  {BIT(17), "MS_UNBINDABLE"}, {BIT(18), "MS_PRIVATE"},
    {BIT(19), "MS_SLAVE"},     {BIT(20), "MS_SHARED"},	   {BIT(21), "MS_RELATIME"},
    {BIT(22), "MS_KERNMOUNT"}, {BIT(23), "MS_I_VERSION"},  {BIT(24), "MS_STRICTATIME"},
    {BIT(25), "MS_LAZYTIME"},
};

static const struct name_val umount_vals[] = {
    {1, "MNT_FORCE"},
    {2, "MNT_DETACH"},
    {4, "MNT_EXPIRE"},
    {8, "UMOUNT_NOFOLLOW"},
};

static const struct name_val memfd_vals[] = {
    {0x01, "MFD_CLOEXEC"},     {0x02, "MFD_ALLOW_SEALING"}, {0x04, "MFD_HUGETLB"},
    {0x08, "MFD_NOEXEC_SEAL"}, {0x10, "MFD_EXEC"},
};

static const struct name_val uring_setup_vals[] = {
    {BIT(0), "IORING_SETUP_IOPOLL"},	     {BIT(1), "IORING_SETUP_SQPOLL"},
    {BIT(2), "IORING_SETUP_SQ_AFF"},	     {BIT(3), "IORING_SETUP_CQSIZE"},
    {BIT(4), "IORING_SETUP_CLAMP"},	     {BIT(5), "IORING_SETUP_ATTACH_WQ"},
    {BIT(6), "IORING_SETUP_R_DISABLED"},     {BIT(7), "IORING_SETUP_SUBMIT_ALL"},
    {BIT(8), "IORING_SETUP_COOP_TASKRUN"},   {BIT(9), "IORING_SETUP_TASKRUN_FLAG"},
    {BIT(10), "IORING_SETUP_SQE128"},	     {BIT(11), "IORING_SETUP_CQE32"},
    {BIT(12), "IORING_SETUP_SINGLE_ISSUER"}, {BIT(13), "IORING_SETUP_DEFER_TASKRUN"},
    {BIT(14), "IORING_SETUP_NO_MMAP"},	     {BIT(15), "IORING_SETUP_REGISTERED_FD_ONLY"},
    {BIT(16), "IORING_SETUP_NO_SQARRAY"},
};

static const struct name_val finit_vals[] = {
    {1, "MODULE_INIT_IGNORE_MODVERSIONS"},
    {2, "MODULE_INIT_IGNORE_VERMAGIC"},
    {4, "MODULE_INIT_COMPRESSED_FILE"},
};

static const struct name_val delete_vals[] = {
    {01000, "O_TRUNC"},
    {04000, "O_NONBLOCK"},
};

static const struct name_val bpf_cmd_vals[] = {
    {0, "BPF_MAP_CREATE"},
    {1, "BPF_MAP_LOOKUP_ELEM"},
    {2, "BPF_MAP_UPDATE_ELEM"},
    {3, "BPF_MAP_DELETE_ELEM"},
    {4, "BPF_MAP_GET_NEXT_KEY"},
    {5, "BPF_PROG_LOAD"},
    {6, "BPF_OBJ_PIN"},
    {7, "BPF_OBJ_GET"},
    {8, "BPF_PROG_ATTACH"},
    {9, "BPF_PROG_DETACH"},
    {10, "BPF_PROG_TEST_RUN"},
    {11, "BPF_PROG_GET_NEXT_ID"},
    {12, "BPF_MAP_GET_NEXT_ID"},
    {13, "BPF_PROG_GET_FD_BY_ID"},
    {14, "BPF_MAP_GET_FD_BY_ID"},
    {15, "BPF_OBJ_GET_INFO_BY_FD"},
    {16, "BPF_PROG_QUERY"},
    {17, "BPF_RAW_TRACEPOINT_OPEN"},
    {18, "BPF_BTF_LOAD"},
    {19, "BPF_BTF_GET_FD_BY_ID"},
    {20, "BPF_TASK_FD_QUERY"},
    {21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"},
    {22, "BPF_MAP_FREEZE"},
    {23, "BPF_BTF_GET_NEXT_ID"},
    {24, "BPF_MAP_LOOKUP_BATCH"},
    {25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"},
    {26, "BPF_MAP_UPDATE_BATCH"},
    {27, "BPF_MAP_DELETE_BATCH"},
    {28, "BPF_LINK_CREATE"},
    {29, "BPF_LINK_UPDATE"},
    {30, "BPF_LINK_GET_FD_BY_ID"},
    {31, "BPF_LINK_GET_NEXT_ID"},
    {32, "BPF_ENABLE_STATS"},
    {33, "BPF_ITER_CREATE"},
    {34, "BPF_LINK_DETACH"},
    {35, "BPF_PROG_BIND_MAP"},
    {36, "BPF_TOKEN_CREATE"},
    {37, "BPF_PROG_STREAM_READ_BY_FD"},
};

static const struct name_val bpf_map_vals[] = {
    {0, "BPF_MAP_TYPE_UNSPEC"},
    {1, "BPF_MAP_TYPE_HASH"},
    {2, "BPF_MAP_TYPE_ARRAY"},
    {3, "BPF_MAP_TYPE_PROG_ARRAY"},
    {4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY"},
    {5, "BPF_MAP_TYPE_PERCPU_HASH"},
    {6, "BPF_MAP_TYPE_PERCPU_ARRAY"},
    {7, "BPF_MAP_TYPE_STACK_TRACE"},
    {8, "BPF_MAP_TYPE_CGROUP_ARRAY"},
    {9, "BPF_MAP_TYPE_LRU_HASH"},
    {10, "BPF_MAP_TYPE_LRU_PERCPU_HASH"},
    {11, "BPF_MAP_TYPE_LPM_TRIE"},
    {12, "BPF_MAP_TYPE_ARRAY_OF_MAPS"},
    {13, "BPF_MAP_TYPE_HASH_OF_MAPS"},
    {14, "BPF_MAP_TYPE_DEVMAP"},
    {15, "BPF_MAP_TYPE_SOCKMAP"},
    {16, "BPF_MAP_TYPE_CPUMAP"},
    {17, "BPF_MAP_TYPE_XSKMAP"},
    {18, "BPF_MAP_TYPE_SOCKHASH"},
    {19, "BPF_MAP_TYPE_CGROUP_STORAGE"},
    {20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY"},
    {21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE"},
    {22, "BPF_MAP_TYPE_QUEUE"},
    {23, "BPF_MAP_TYPE_STACK"},
    {24, "BPF_MAP_TYPE_SK_STORAGE"},
    {25, "BPF_MAP_TYPE_DEVMAP_HASH"},
    {26, "BPF_MAP_TYPE_STRUCT_OPS"},
    {27, "BPF_MAP_TYPE_RINGBUF"},
    {28, "BPF_MAP_TYPE_INODE_STORAGE"},
    {29, "BPF_MAP_TYPE_TASK_STORAGE"},
    {30, "BPF_MAP_TYPE_BLOOM_FILTER"},
    {31, "BPF_MAP_TYPE_USER_RINGBUF"},
    {32, "BPF_MAP_TYPE_CGRP_STORAGE"},
    {33, "BPF_MAP_TYPE_ARENA"},
};

static const struct name_val bpf_prog_vals[] = {
    {0, "BPF_PROG_TYPE_UNSPEC"},
    {1, "BPF_PROG_TYPE_SOCKET_FILTER"},
    {2, "BPF_PROG_TYPE_KPROBE"},
    {3, "BPF_PROG_TYPE_SCHED_CLS"},
    {4, "BPF_PROG_TYPE_SCHED_ACT"},
    {5, "BPF_PROG_TYPE_TRACEPOINT"},
    {6, "BPF_PROG_TYPE_XDP"},
    {7, "BPF_PROG_TYPE_PERF_EVENT"},
    {8, "BPF_PROG_TYPE_CGROUP_SKB"},
    {9, "BPF_PROG_TYPE_CGROUP_SOCK"},
    {10, "BPF_PROG_TYPE_LWT_IN"},
    {11, "BPF_PROG_TYPE_LWT_OUT"},
    {12, "BPF_PROG_TYPE_LWT_XMIT"},
    {13, "BPF_PROG_TYPE_SOCK_OPS"},
    {14, "BPF_PROG_TYPE_SK_SKB"},
    {15, "BPF_PROG_TYPE_CGROUP_DEVICE"},
    {16, "BPF_PROG_TYPE_SK_MSG"},
    {17, "BPF_PROG_TYPE_RAW_TRACEPOINT"},
    {18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"},
    {19, "BPF_PROG_TYPE_LWT_SEG6LOCAL"},
    {20, "BPF_PROG_TYPE_LIRC_MODE2"},
    {21, "BPF_PROG_TYPE_SK_REUSEPORT"},
    {22, "BPF_PROG_TYPE_FLOW_DISSECTOR"},
    {23, "BPF_PROG_TYPE_CGROUP_SYSCTL"},
    {24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"},
    {25, "BPF_PROG_TYPE_CGROUP_SOCKOPT"},
    {26, "BPF_PROG_TYPE_TRACING"},
    {27, "BPF_PROG_TYPE_STRUCT_OPS"},
    {28, "BPF_PROG_TYPE_EXT"},
    {29, "BPF_PROG_TYPE_LSM"},
    {30, "BPF_PROG_TYPE_SK_LOOKUP"},
    {31, "BPF_PROG_TYPE_SYSCALL"},
    {32, "BPF_PROG_TYPE_NETFILTER"},
};

static const struct name_set signals = NAME_SET(signal_vals, false);
static const struct name_set caps = NAME_SET(cap_vals, true);
static const struct name_set ptrace_reqs = NAME_SET(ptrace_vals, false);
static const struct name_set clone_flags = NAME_SET(clone_vals, true);
static const struct name_set mount_flags = NAME_SET(mount_vals, true);
static const struct name_set umount_flags = NAME_SET(umount_vals, true);
static const struct name_set memfd_flags = NAME_SET(memfd_vals, true);
static const struct name_set uring_setup_flags = NAME_SET(uring_setup_vals, true);
static const struct name_set finit_flags = NAME_SET(finit_vals, true);
static const struct name_set delete_flags = NAME_SET(delete_vals, true);
static const struct name_set bpf_cmds = NAME_SET(bpf_cmd_vals, false);
static const struct name_set bpf_maps = NAME_SET(bpf_map_vals, false);
static const struct name_set bpf_progs = NAME_SET(bpf_prog_vals, false);

#define BPF_MAP_CREATE_ 0
#define BPF_PROG_LOAD_	5

/*
 * The one walk over a name table. For an enum it yields the value's name once;
 * for a flag set, each named flag in v in table order, then (if any bits are
 * left) their hex value; for an unknown enum value, its decimal value. buf holds
 * those numbers. *pos starts at 0; returns NULL when done.
 */
static const char *names_next(const struct name_set *s, uint64_t v, size_t *pos, char *buf,
			      size_t len)
{
	uint64_t rest = v;
	size_t i;

	if (!s->bits) {
		if (*pos)
			return NULL;
		*pos = 1;
		for (i = 0; i < s->n; i++)
			if (s->v[i].val == v)
				return s->v[i].name;
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	for (i = 0; i < s->n; i++) {
		if (!s->v[i].val || (v & s->v[i].val) != s->v[i].val)
			continue;
		rest &= ~s->v[i].val;
		if (i >= *pos) {
			*pos = i + 1;
			return s->v[i].name;
		}
	}
	if (!rest || *pos > s->n)
		return NULL;
	*pos = s->n + 1;
	snprintf(buf, len, "0x%llx", (unsigned long long)rest);
	return buf;
}

static uint64_t mount_flags_of(uint64_t v);

/* The name set behind a syscall's arg0, or NULL. */
static const struct name_set *arg0_names(uint16_t sys)
{
	switch (sys) {
	case VG_SYS_PTRACE:
		return &ptrace_reqs;
	case VG_SYS_KILL:
	case VG_SYS_TKILL:
	case VG_SYS_TGKILL:
		return &signals;
	case VG_SYS_BPF:
		return &bpf_cmds;
	case VG_SYS_UNSHARE:
	case VG_SYS_SETNS:
		return &clone_flags;
	case VG_SYS_MOUNT:
		return &mount_flags;
	case VG_SYS_UMOUNT2:
		return &umount_flags;
	case VG_SYS_MEMFD_CREATE:
		return &memfd_flags;
	case VG_SYS_IO_URING_SETUP:
		return &uring_setup_flags;
	case VG_SYS_FINIT_MODULE:
		return &finit_flags;
	case VG_SYS_DELETE_MODULE:
		return &delete_flags;
	}
	return NULL;
}

size_t event_priv_describe(uint16_t sys, uint64_t value, char *buf, size_t len)
{
	const struct name_set *s = arg0_names(sys);
	const char *name;
	char num[24];
	size_t pos = 0, n = 0;

	if (sys == VG_SYS_MOUNT)
		value = mount_flags_of(value);
	if (!s)
		return snprintf(buf, len, "%llu", (unsigned long long)value);
	buf[0] = 0;
	while ((name = names_next(s, value, &pos, num, sizeof(num))) && n < len)
		n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "", name);
	if (!n)
		n = snprintf(buf, len, "0");
	return n < len ? n : len - 1;
}

/* key: the name (enum) or an array of names (flags); key_raw: the number. */
static void json_names(struct json_buf *j, const char *key, const struct name_set *s, uint64_t v)
{
	char buf[24], raw[40];
	const char *name;
	size_t pos = 0;

	json_key(j, key);
	if (s->bits)
		json_arr_begin(j);
	while ((name = names_next(s, v, &pos, buf, sizeof(buf))))
		json_str(j, name);
	if (s->bits)
		json_arr_end(j);
	snprintf(raw, sizeof(raw), "%s_raw", key);
	json_key(j, raw);
	json_uint(j, v);
}

/* "A|B|0x40 ", or "0 " for no flags at all */
static void text_names(FILE *out, const struct name_set *s, uint64_t v)
{
	const char *name;
	char buf[24];
	size_t pos = 0;
	bool first = true;

	while ((name = names_next(s, v, &pos, buf, sizeof(buf)))) {
		fprintf(out, "%s%s", first ? "" : "|", name);
		first = false;
	}
	fputs(first ? "0 " : " ", out);
}

static bool setid_is_gid(uint16_t sys)
{
	return sys == VG_SYS_SETGID || sys == VG_SYS_SETREGID || sys == VG_SYS_SETRESGID;
}

static int setid_nargs(uint16_t sys)
{
	switch (sys) {
	case VG_SYS_SETUID:
	case VG_SYS_SETGID:
		return 1;
	case VG_SYS_SETREUID:
	case VG_SYS_SETREGID:
		return 2;
	default:
		return 3;
	}
}

static void json_ids(struct json_buf *j, const char *key, const __u32 *ids)
{
	int i;

	json_key(j, key);
	json_arr_begin(j);
	for (i = 0; i < 3; i++)
		json_uint(j, ids[i]);
	json_arr_end(j);
}

static void setid_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	bool gid = setid_is_gid(p->syscall);
	const __u64 *args = &p->arg0;
	int i, n = setid_nargs(p->syscall);

	if (p->hdr.flags & VG_PF_OLD_KNOWN) {
		json_ids(j, gid ? "gid_old" : "uid_old", p->ids_old);
	} else {
		json_key(j, gid ? "gid_old" : "uid_old");
		json_null(j);
	}
	json_ids(j, gid ? "gid_new" : "uid_new", p->ids_new);
	/* uid_t arguments: (uid_t)-1 means "leave unchanged" */
	json_key(j, "args");
	json_arr_begin(j);
	for (i = 0; i < n; i++)
		json_int(j, (int32_t)args[i]);
	json_arr_end(j);
}

static const char *const cap_set_names[3] = {"effective", "permitted", "inheritable"};

static void json_caps(struct json_buf *j, const char *key, const __u64 *c)
{
	int i;

	json_key(j, key);
	json_obj_begin(j);
	for (i = 0; i < 3; i++)
		event_json_hex(j, cap_set_names[i], c[i]);
	json_obj_end(j);
}

/* key: {"effective": [names in a but not in b], ...} */
static void json_cap_diff(struct json_buf *j, const char *key, const __u64 *a, const __u64 *b)
{
	char buf[24];
	const char *name;
	size_t pos;
	int i;

	json_key(j, key);
	json_obj_begin(j);
	for (i = 0; i < 3; i++) {
		json_key(j, cap_set_names[i]);
		json_arr_begin(j);
		pos = 0;
		while ((name = names_next(&caps, a[i] & ~b[i], &pos, buf, sizeof(buf))))
			json_str(j, name);
		json_arr_end(j);
	}
	json_obj_end(j);
}

static void capset_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	if (p->hdr.flags & VG_PF_OLD_KNOWN) {
		json_caps(j, "old", p->caps_old);
	} else {
		json_key(j, "old");
		json_null(j);
	}
	json_caps(j, "new", p->caps_new);
	if (!(p->hdr.flags & VG_PF_OLD_KNOWN))
		return;
	json_cap_diff(j, "added", p->caps_new, p->caps_old);
	json_cap_diff(j, "removed", p->caps_old, p->caps_new);
}

static void ptrace_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_names(j, "request", &ptrace_reqs, p->arg0);
	json_key(j, "target");
	json_int(j, p->target);
	event_json_hex(j, "addr", p->arg1);
	event_json_hex(j, "data", p->arg2);
}

static void module_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	switch (p->syscall) {
	case VG_SYS_INIT_MODULE:
		event_json_rstr(j, "params", ev, p->s1);
		json_key(j, "length");
		json_uint(j, p->arg1);
		break;
	case VG_SYS_FINIT_MODULE:
		event_json_rstr(j, "params", ev, p->s1);
		event_json_rstr(j, "path", ev, p->s2);
		json_key(j, "fd");
		json_int(j, (int32_t)p->arg2);
		json_names(j, "flags", &finit_flags, p->arg0);
		break;
	default:
		event_json_rstr(j, "name", ev, p->s1);
		json_names(j, "flags", &delete_flags, p->arg0);
		break;
	}
}

/* A mount target: s2, folded when the event was decoded (EVENT_KF_S2_PATH). */
static void json_target(struct json_buf *j, const struct event *ev)
{
	json_key(j, "target");
	if (ev->path.ptr)
		json_strn(j, ev->path.ptr, ev->path.len);
	else
		json_null(j);
}

/* Old callers put the MS_MGC_VAL magic in the top half; the kernel ignores it. */
static bool mount_magic(uint64_t v)
{
	return (v & MS_MGC_MSK_) == MS_MGC_VAL_;
}

static uint64_t mount_flags_of(uint64_t v)
{
	return mount_magic(v) ? v & ~(uint64_t)MS_MGC_MSK_ : v;
}

static void mount_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	event_json_rstr(j, "source", ev, p->s1);
	json_target(j, ev);
	event_json_rstr(j, "fstype", ev, p->s3);
	json_names(j, "flags", &mount_flags, mount_flags_of(p->arg0));
	json_key(j, "magic");
	json_bool(j, mount_magic(p->arg0));
}

static void umount_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_target(j, ev);
	json_names(j, "flags", &umount_flags, p->arg0);
}

static void unshare_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_names(j, "flags", &clone_flags, p->arg0);
}

static void setns_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	event_json_rstr(j, "ns", ev, p->s1);
	json_names(j, "nstype", &clone_flags, p->arg0);
}

static void bpf_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_names(j, "cmd", &bpf_cmds, p->arg0);
	if (p->arg0 == BPF_MAP_CREATE_)
		json_names(j, "map_type", &bpf_maps, p->arg1);
	else if (p->arg0 == BPF_PROG_LOAD_)
		json_names(j, "prog_type", &bpf_progs, p->arg1);
	event_json_rstr(j, "name", ev, p->s1);
}

static void memfd_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	event_json_rstr(j, "name", ev, p->s1);
	json_names(j, "flags", &memfd_flags, p->arg0);
}

static void chroot_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	event_json_rstr(j, "path", ev, p->s1);
	/* on success the kernel's new root, else the caller's string */
	json_key(j, "resolved");
	json_bool(j, p->ret == 0 && p->s1.off);
}

static void kill_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_key(j, "target");
	json_int(j, p->target);
	json_names(j, "signal", &signals, p->arg0);
	if (p->syscall == VG_SYS_TKILL || p->syscall == VG_SYS_TGKILL) {
		json_key(j, "tid");
		json_int(j, (int32_t)p->arg1);
	}
}

static void io_uring_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_names(j, "flags", &uring_setup_flags, p->arg0);
	json_key(j, "entries");
	json_uint(j, p->arg1);
}

static void procmem_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_key(j, "target");
	json_int(j, p->target);
	json_key(j, "local_iovecs");
	json_uint(j, p->arg0);
	json_key(j, "remote_iovecs");
	json_uint(j, p->arg1);
	json_key(j, "flags");
	json_uint(j, p->arg2);
	/* what the call returns: the bytes written into the target */
	json_key(j, "bytes");
	json_int(j, p->ret > 0 ? p->ret : 0);
}

/* Records of a type this file does not know (a newer kernel side) keep their raw fields. */
static void raw_json(struct json_buf *j, const struct event *ev, const struct vg_priv *p)
{
	json_key(j, "target");
	json_int(j, p->target);
	json_key(j, "args");
	json_arr_begin(j);
	json_uint(j, p->arg0);
	json_uint(j, p->arg1);
	json_uint(j, p->arg2);
	json_arr_end(j);
	event_json_rstr(j, "s1", ev, p->s1);
	event_json_rstr(j, "s2", ev, p->s2);
	event_json_rstr(j, "s3", ev, p->s3);
}

struct priv_kind {
	void (*json)(struct json_buf *j, const struct event *ev, const struct vg_priv *p);
	const char *strs[3]; /* what s1..s3 are called in "truncated" */
};

static const struct priv_kind kinds[VG_EV_TYPE_MAX] = {
    [VG_EV_SETID] = {setid_json},
    [VG_EV_CAPSET] = {capset_json},
    [VG_EV_PTRACE] = {ptrace_json},
    [VG_EV_MODULE] = {module_json, {"params", "path"}},
    [VG_EV_MOUNT] = {mount_json, {"source", "target", "fstype"}},
    [VG_EV_UMOUNT] = {umount_json, {NULL, "target"}},
    [VG_EV_UNSHARE] = {unshare_json},
    [VG_EV_SETNS] = {setns_json, {"ns"}},
    [VG_EV_BPF] = {bpf_json, {"name"}},
    [VG_EV_MEMFD] = {memfd_json, {"name"}},
    [VG_EV_CHROOT] = {chroot_json, {"path"}},
    [VG_EV_KILL] = {kill_json},
    [VG_EV_IO_URING] = {io_uring_json},
    [VG_EV_PROCMEM] = {procmem_json},
};

static const struct priv_kind raw_kind = {raw_json, {"s1", "s2", "s3"}};

static const struct priv_kind *kind_of(uint16_t type)
{
	if (type >= VG_EV_TYPE_MAX || !kinds[type].json)
		return &raw_kind;
	return &kinds[type];
}

void event_priv_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_priv *p = (const struct vg_priv *)ev->hdr;
	const struct priv_kind *k = kind_of(p->hdr.type);
	const char *key = event_type_name(p->hdr.type);
	int i;

	json_key(j, k == &raw_kind || !key ? "priv" : key);
	json_obj_begin(j);
	k->json(j, ev, p);
	json_key(j, "truncated");
	json_arr_begin(j);
	for (i = 0; i < 3; i++) {
		const char *name = k->strs[i];

		if (p->hdr.type == VG_EV_MODULE && i == 0 && p->syscall == VG_SYS_DELETE_MODULE)
			name = "name";
		if (name && (p->hdr.flags & (VG_PF_S1_TRUNC << i)))
			json_str(j, name);
	}
	json_arr_end(j);
	json_obj_end(j);
}

/* Writes s (bounds-checked) and a space; "-" when absent. */
static void text_str(FILE *out, const struct event *ev, struct vg_str s)
{
	size_t n;
	const char *p = event_str(ev->hdr, ev->size, s, &n);

	if (p)
		text_escape_write(out, p, n);
	else
		fputc('-', out);
	fputc(' ', out);
}

static void text_ids(FILE *out, const struct vg_priv *p)
{
	fputs(setid_is_gid(p->syscall) ? "gid " : "uid ", out);
	if (p->hdr.flags & VG_PF_OLD_KNOWN)
		fprintf(out, "%u/%u/%u", p->ids_old[0], p->ids_old[1], p->ids_old[2]);
	else
		fputc('?', out);
	fprintf(out, "->%u/%u/%u ", p->ids_new[0], p->ids_new[1], p->ids_new[2]);
}

void event_priv_text(FILE *out, const struct event *ev)
{
	const struct vg_priv *p = (const struct vg_priv *)ev->hdr;

	switch (p->hdr.type) {
	case VG_EV_SETID:
		text_ids(out, p);
		break;
	case VG_EV_CAPSET:
		if (p->hdr.flags & VG_PF_OLD_KNOWN)
			fprintf(out, "eff 0x%llx->", (unsigned long long)p->caps_old[0]);
		else
			fputs("eff ?->", out);
		fprintf(out, "0x%llx ", (unsigned long long)p->caps_new[0]);
		break;
	case VG_EV_PTRACE:
		text_names(out, &ptrace_reqs, p->arg0);
		fprintf(out, "target=%d ", p->target);
		break;
	case VG_EV_MODULE:
		text_str(out, ev, p->s1);
		if (p->syscall == VG_SYS_FINIT_MODULE)
			text_str(out, ev, p->s2);
		break;
	case VG_EV_MOUNT:
	case VG_EV_UMOUNT:
		if (p->hdr.type == VG_EV_MOUNT) {
			text_str(out, ev, p->s1);
			fputs("on ", out);
		}
		if (ev->path.ptr)
			text_escape_write(out, ev->path.ptr, ev->path.len);
		else
			fputc('-', out);
		fputc(' ', out);
		if (p->hdr.type == VG_EV_MOUNT) {
			fputs("type ", out);
			text_str(out, ev, p->s3);
			text_names(out, &mount_flags, mount_flags_of(p->arg0));
		} else {
			text_names(out, &umount_flags, p->arg0);
		}
		break;
	case VG_EV_UNSHARE:
		text_names(out, &clone_flags, p->arg0);
		break;
	case VG_EV_SETNS:
		text_str(out, ev, p->s1);
		text_names(out, &clone_flags, p->arg0);
		break;
	case VG_EV_BPF:
		text_names(out, &bpf_cmds, p->arg0);
		if (p->arg0 == BPF_MAP_CREATE_)
			text_names(out, &bpf_maps, p->arg1);
		else if (p->arg0 == BPF_PROG_LOAD_)
			text_names(out, &bpf_progs, p->arg1);
		if (p->arg0 == BPF_MAP_CREATE_ || p->arg0 == BPF_PROG_LOAD_)
			text_str(out, ev, p->s1);
		break;
	case VG_EV_MEMFD:
	case VG_EV_CHROOT:
		text_str(out, ev, p->s1);
		break;
	case VG_EV_KILL:
		text_names(out, &signals, p->arg0);
		fprintf(out, "target=%d ", p->target);
		break;
	case VG_EV_IO_URING:
		text_names(out, &uring_setup_flags, p->arg0);
		fprintf(out, "entries=%llu ", (unsigned long long)p->arg1);
		break;
	case VG_EV_PROCMEM:
		fprintf(out, "target=%d bytes=%lld ", p->target,
			(long long)(p->ret > 0 ? p->ret : 0));
		break;
	default:
		fprintf(out, "target=%d arg0=%llu ", p->target, (unsigned long long)p->arg0);
		break;
	}
}
