/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * events.h - the record format that the BPF sensors write into the ring buffer
 * and the daemon reads. This is the only header both sides include: it is an ABI.
 * Enum values are never renumbered; new fields go where padding was or at the end.
 *
 * Every record starts with struct vg_hdr. Variable-length strings live in the
 * record's tail and are named by struct vg_str (offset from the start of the record,
 * length without the terminating NUL that always follows the bytes).
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VG_COMM_LEN 16
#define VG_PATH_MAX 4096   /* longest path a sensor sends, NUL included */
#define VG_ARGS_MAX 4096   /* argv bytes a sensor sends */
#define VG_CGROUP_MAX 256  /* cgroup path tail bytes */
#define VG_EVENT_MAX 16384 /* largest record, header included */

enum vg_type {
	VG_EV_NONE = 0,
	/* process lifecycle: always sent to user space */
	VG_EV_EXEC = 1,
	VG_EV_FORK = 2,
	VG_EV_EXIT = 3,
	VG_EV_TYPE_MAX = 128, /* bound of per-type tables; values stay below it */
};

/* vg_exec.hdr.flags bits */
enum vg_exec_flags {
	VG_XF_EXE_MEMFD = 1u << 8,	  /* image came from a memfd */
	VG_XF_EXE_DELETED = 1u << 9,	  /* image file has no links left */
	VG_XF_EXE_TRUNC = 1u << 10,	  /* exe path was cut */
	VG_XF_ARGS_TRUNC = 1u << 11,	  /* argv was cut */
	VG_XF_CWD_TRUNC = 1u << 12,	  /* cwd path was cut */
	VG_XF_FILENAME_TRUNC = 1u << 13, /* execve filename was cut */
	VG_XF_EXE_NOPATH = 1u << 14,	  /* exe is not reachable from the root (pseudo fs) */
	VG_XF_SETUID_EXEC = 1u << 15,	  /* euid differs from uid after exec */
};

/* vg_fork.hdr.flags bits */
enum vg_fork_flags {
	VG_FF_THREAD = 1u << 8, /* child shares the parent's thread group */
};

struct vg_str {
	__u16 off; /* from the start of the record; 0 when absent */
	__u16 len; /* bytes, without the NUL that follows them */
};

struct vg_hdr {
	__u64 ts_ns;	   /* CLOCK_BOOTTIME of capture */
	__u64 start_ns;	   /* CLOCK_BOOTTIME start of the thread group: (pid, start_ns) names a process */
	__u64 cgroup_id;   /* cgroup v2 id of the task */
	__u16 type;	   /* enum vg_type */
	__u16 size;	   /* bytes in this record, header included */
	__u32 flags;	   /* per-type flags, from bit 8 */
	__u32 pid;	   /* thread group id, in the initial pid namespace */
	__u32 tid;	   /* thread id, in the initial pid namespace */
	__u32 ppid;	   /* real parent's thread group id */
	__u32 uid;	   /* real uid */
	__u32 gid;	   /* real gid */
	__u32 euid;	   /* effective uid */
	__u32 egid;	   /* effective gid */
	__u32 loginuid;	   /* audit login uid, (u32)-1 when unset */
	char comm[VG_COMM_LEN]; /* task comm, NUL-terminated */
};

struct vg_exec {
	struct vg_hdr hdr;
	__u64 cap_eff;	    /* effective capabilities after exec */
	__u64 cap_prm;	    /* permitted capabilities after exec */
	__u64 exe_ino;	    /* inode number of mm->exe_file */
	__u32 exe_dev;	    /* superblock dev of the exe, kernel encoding (major << 20 | minor) */
	__u32 exe_magic;    /* superblock magic of the exe's filesystem */
	__u32 tty;	    /* controlling tty as /proc/PID/stat tty_nr, 0 for none */
	__u32 sid;	    /* session leader's pid */
	__u32 pidns;	    /* pid namespace inode */
	__u32 mntns;	    /* mount namespace inode */
	__u32 netns;	    /* network namespace inode */
	__u32 userns;	    /* user namespace inode */
	__u32 vpid;	    /* pid as seen inside the task's own pid namespace */
	__u32 old_pid;	    /* tid that called execve (differs when a thread execs) */
	struct vg_str exe;	   /* resolved path of mm->exe_file */
	struct vg_str filename;  /* path as passed to execve */
	struct vg_str args;	   /* argv, each argument NUL-terminated */
	struct vg_str cwd;	   /* resolved working directory */
	struct vg_str cgroup;	   /* cgroup v2 path tail: "grandparent/parent/leaf" */
	__u32 pad;		   /* zero */
};

struct vg_fork {
	struct vg_hdr hdr;	   /* the parent: the task that called fork/clone */
	__u64 child_start_ns;  /* start of the child's thread group */
	__u32 child_pid;	   /* child's thread group id */
	__u32 child_tid;	   /* child's thread id */
};

struct vg_exit {
	struct vg_hdr hdr;	/* the last thread of the process */
	__u32 status;	/* raw wait status (code << 8, or signal | 0x80 for core) */
	__u32 pad;	/* zero */
};

/* Per-type counters, one slot per enum vg_type in a per-CPU array. */
struct vg_counters {
	__u64 seen;	/* times the sensor ran for this type */
	__u64 filtered; /* dropped in the kernel by the prefilter */
	__u64 sent;	/* written to the ring buffer */
	__u64 lost;	/* ring buffer full */
	__u64 read_err; /* a kernel or user read failed; the record went up incomplete */
};

/* Sensor configuration, written by user space before load (.rodata) or at run time. */
struct vg_config {
	__u32 self_pid;	  /* vigil's own tgid: its events are not sent */
	__u32 wake_bytes; /* wake the reader once this much is pending in the ring */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct vg_str) == 4, "vg_str ABI");
_Static_assert(sizeof(struct vg_hdr) == 80, "vg_hdr ABI");
_Static_assert(sizeof(struct vg_exec) == 168, "vg_exec ABI");
_Static_assert(sizeof(struct vg_fork) == 96, "vg_fork ABI");
_Static_assert(sizeof(struct vg_exit) == 88, "vg_exit ABI");
_Static_assert(sizeof(struct vg_counters) == 40, "vg_counters ABI");
#endif

#endif /* VIGIL_EVENTS_H */
