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

#include "vigil/syscalls.h"

#define VG_COMM_LEN   16
#define VG_PATH_MAX   4096  /* longest path a sensor sends, NUL included */
#define VG_ARGS_MAX   4096  /* argv bytes a sensor sends */
#define VG_ENV_MAX    1024  /* environment bytes an exec record carries */
#define VG_CGROUP_MAX 256   /* cgroup path tail bytes */
#define VG_EVENT_MAX  16384 /* largest record, header included */

enum vg_type {
	VG_EV_NONE = 0,
	/* process lifecycle: always sent to user space */
	VG_EV_EXEC = 1,
	VG_EV_FORK = 2,
	VG_EV_EXIT = 3,
	/* enforcement: what the kernel did about the next record of the thread */
	VG_EV_ACTION = 4, /* struct vg_action */
	/* files: struct vg_file */
	VG_EV_OPEN = 16,     /* open, openat, openat2, creat */
	VG_EV_UNLINK = 17,   /* unlink, unlinkat, rmdir */
	VG_EV_RENAME = 18,   /* rename, renameat, renameat2 */
	VG_EV_MKDIR = 19,    /* mkdir, mkdirat */
	VG_EV_CHMOD = 20,    /* chmod, fchmod, fchmodat, fchmodat2 */
	VG_EV_CHOWN = 21,    /* chown, fchown, lchown, fchownat */
	VG_EV_LINK = 22,     /* link, linkat */
	VG_EV_SYMLINK = 23,  /* symlink, symlinkat */
	VG_EV_TRUNCATE = 24, /* truncate, ftruncate */
	VG_EV_UTIMES = 25,   /* utimensat, futimesat, utimes, utime: struct vg_fattr */
	VG_EV_CHATTR = 26,   /* ioctl FS_IOC_SETFLAGS / FS_IOC_FSSETXATTR: struct vg_fattr */
	/* network: struct vg_net */
	VG_EV_CONNECT = 32, /* connect */
	VG_EV_ACCEPT = 33,  /* accept, accept4 */
	VG_EV_BIND = 34,    /* bind */
	VG_EV_LISTEN = 35,  /* listen */
	VG_EV_SEND = 36,    /* sendto, sendmsg naming a destination (an unconnected send) */
	VG_EV_RECV = 37,    /* recvfrom, recvmsg asking for the source (a datagram's sender) */
	VG_EV_SOCKET = 38,  /* socket: a socket was created */
	VG_EV_DUP = 39,	    /* dup, dup2, dup3, fcntl F_DUPFD / F_DUPFD_CLOEXEC: an fd copied */
	VG_EV_DNS = 40,	    /* a DNS query or answer on port 53: struct vg_dns */
	/* privilege and kernel: struct vg_priv */
	VG_EV_SETID = 48,     /* setuid, setgid, setreuid, setregid, setresuid, setresgid */
	VG_EV_CAPSET = 49,    /* capset */
	VG_EV_PTRACE = 50,    /* ptrace */
	VG_EV_MODULE = 51,    /* init_module, finit_module, delete_module */
	VG_EV_MOUNT = 52,     /* mount */
	VG_EV_UMOUNT = 53,    /* umount2 */
	VG_EV_UNSHARE = 54,   /* unshare */
	VG_EV_SETNS = 55,     /* setns */
	VG_EV_BPF = 56,	      /* bpf */
	VG_EV_MEMFD = 57,     /* memfd_create */
	VG_EV_CHROOT = 58,    /* chroot */
	VG_EV_KILL = 59,      /* kill, tkill, tgkill aimed at another process */
	VG_EV_IO_URING = 60,  /* io_uring_setup: a ring was created */
	VG_EV_PROCMEM = 61,   /* process_vm_writev into another process */
	VG_EV_PRCTL = 62,     /* prctl(PR_SET_NAME): a thread renamed itself */
	VG_EV_TYPE_MAX = 128, /* bound of per-type tables; values stay below it */
};

/* The exact syscall behind a record (Falco's evt.type names it): one value per row
 * of VG_SYSCALLS in syscalls.h, which holds the values. */
#define VG_SYS_ENUM_(name, code, falco, kind, nr64, nr32) VG_SYS_##name = code,
/* clang-format off */
enum vg_syscall {
	VG_SYS_NONE = 0,
	VG_SYSCALLS(VG_SYS_ENUM_)
	VG_SYS_MAX = 128, /* bound of per-syscall tables; values stay below it */
};
/* clang-format on */
#undef VG_SYS_ENUM_

/*
 * vg_hdr.flags bits 0-7: meanings common to every record type (per-type bits start at 8).
 */
enum vg_hdr_flags {
	VG_HF_COMPAT = 1u << 0,	  /* made through the 32-bit (ia32) syscall ABI; exec: a 32-bit
				   * image */
	VG_HF_IO_URING = 1u << 1, /* the operation was submitted through io_uring, not a syscall */
	VG_HF_CHROOT = 1u << 2,	  /* the task's root is not its mount namespace's root (chroot):
				   * paths are the namespace's view, *_skip fields give the
				   * part the task saw */
};

/* A *_skip value: the object lies outside the task's root (no chroot-relative path). */
#define VG_SKIP_OUTSIDE 0xffff

/* vg_exec.hdr.flags bits */
enum vg_exec_flags {
	VG_XF_EXE_MEMFD = 1u << 8,	 /* image came from a memfd */
	VG_XF_EXE_DELETED = 1u << 9,	 /* image file has no links left */
	VG_XF_EXE_TRUNC = 1u << 10,	 /* exe path was cut */
	VG_XF_ARGS_TRUNC = 1u << 11,	 /* argv was cut */
	VG_XF_CWD_TRUNC = 1u << 12,	 /* cwd path was cut */
	VG_XF_FILENAME_TRUNC = 1u << 13, /* execve filename was cut */
	VG_XF_EXE_NOPATH = 1u << 14,	 /* exe is not reachable from the root (pseudo fs) */
	VG_XF_SETUID_EXEC = 1u << 15,	 /* euid differs from uid after exec */
	VG_XF_SEED = 1u << 16,	      /* user space only: a process known at start (recordings) */
	VG_XF_EXE_UPPER = 1u << 17,   /* exe is on overlayfs and has an upper-layer copy */
	VG_XF_ENV_TRUNC = 1u << 18,   /* the environment was cut */
	VG_XF_EXE_WRITTEN = 1u << 19, /* vigil saw the exe's inode opened for writing:
				       * vg_exec.writer says by whom */
	VG_XF_DENIED = 1u << 20,      /* a BPF-LSM hook refused the exec (EPERM): the process
				       * keeps its image; argv, env and writer are not known */
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
	__u64 ts_ns;	/* CLOCK_BOOTTIME of capture */
	__u64 start_ns; /* CLOCK_BOOTTIME start of the thread group: (pid, start_ns) names a process
			 */
	__u64 cgroup_id;	/* cgroup v2 id of the task */
	__u16 type;		/* enum vg_type */
	__u16 size;		/* bytes in this record, header included */
	__u32 flags;		/* enum vg_hdr_flags (bits 0-7), per-type flags from bit 8 */
	__u32 pid;		/* thread group id, in the initial pid namespace */
	__u32 tid;		/* thread id, in the initial pid namespace */
	__u32 ppid;		/* real parent's thread group id */
	__u32 uid;		/* real uid */
	__u32 gid;		/* real gid */
	__u32 euid;		/* effective uid */
	__u32 egid;		/* effective gid */
	__u32 loginuid;		/* audit login uid, (u32)-1 when unset */
	char comm[VG_COMM_LEN]; /* task comm, NUL-terminated */
};

/*
 * What an open file descriptor refers to (enum values never renumbered): the exec
 * record's stdio, a dup record's copied fd (vg_net.fd_kind).
 */
enum vg_fd_kind {
	VG_FD_NONE = 0,	  /* no open file (a closed fd), or not known */
	VG_FD_FILE = 1,	  /* a regular file */
	VG_FD_DIR = 2,	  /* a directory */
	VG_FD_PIPE = 3,	  /* a pipe or a FIFO */
	VG_FD_TTY = 4,	  /* a terminal: a tty, pty or console character device */
	VG_FD_SOCKET = 5, /* a socket (its family says which) */
	VG_FD_CHAR = 6,	  /* another character device (/dev/null, ...) */
	VG_FD_OTHER = 7,  /* anything else: an anonymous inode (eventfd, epoll, ...), a block
			   * device */
};

/* One fd of a process at its exec: what it refers to; the addresses for a socket. */
struct vg_fdinfo {
	__u8 kind;	    /* enum vg_fd_kind */
	__u8 pad0;	    /* zero */
	__u16 family;	    /* socket: AF_INET, AF_INET6, AF_UNIX, ...; 0 otherwise */
	__u16 sock_type;    /* socket: SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol;	    /* socket: IPPROTO_TCP, IPPROTO_UDP, ... */
	__u16 lport;	    /* inet socket: local port, host order */
	__u16 rport;	    /* inet socket: remote port, host order */
	__u32 rdev;	    /* tty or character device: its device, kernel encoding */
	__u8 laddr[16];	    /* inet socket: local address (IPv4 in the first 4 bytes) */
	__u8 raddr[16];	    /* inet socket: remote address */
	struct vg_str name; /* file or directory: its resolved path */
	__u32 pad1;	    /* zero */
};

/*
 * The last process vigil saw open a regular file for writing (or create it), kept
 * by the file sensors in the exe_writers LRU hash under the inode (struct
 * vg_inode_key) and copied into the exec record of a program run from that inode.
 * An inode keeps its entry through renames and hard links; the LRU forgets the
 * inodes written longest ago.
 */
struct vg_inode_key {
	__u64 ino; /* inode number */
	__u32 dev; /* superblock dev, kernel encoding (as vg_exec.exe_dev) */
	__u32 pad; /* zero */
};

struct vg_writer {
	__u64 ts_ns;		/* CLOCK_BOOTTIME of the (last) write open */
	__u64 start_ns;		/* the writer's thread group start (with pid, names it) */
	__u32 pid;		/* the writer's thread group id */
	__u32 tid;		/* the writing thread */
	__u32 uid;		/* its real uid */
	__u32 flags;		/* VG_WF_* */
	char comm[VG_COMM_LEN]; /* its comm at the write */
};

/* vg_writer.flags bits */
enum vg_writer_flags {
	VG_WF_CREATED = 1u << 0,  /* the open created the file */
	VG_WF_IO_URING = 1u << 1, /* the open was submitted through io_uring */
};

#define VG_WRITERS_MAX 8192 /* inodes exe_writers remembers */

struct vg_exec {
	struct vg_hdr hdr;
	__u64 cap_eff;	   /* effective capabilities after exec */
	__u64 cap_prm;	   /* permitted capabilities after exec */
	__u64 exe_ino;	   /* inode number of mm->exe_file */
	__u32 exe_dev;	   /* superblock dev of the exe, kernel encoding (major << 20 | minor) */
	__u32 exe_magic;   /* superblock magic of the exe's filesystem */
	__u32 tty;	   /* controlling tty as /proc/PID/stat tty_nr, 0 for none */
	__u32 sid;	   /* session leader's pid */
	__u32 pidns;	   /* pid namespace inode */
	__u32 mntns;	   /* mount namespace inode */
	__u32 netns;	   /* network namespace inode */
	__u32 userns;	   /* user namespace inode */
	__u32 vpid;	   /* pid as seen inside the task's own pid namespace */
	__u32 old_pid;	   /* tid that called execve (differs when a thread execs) */
	struct vg_str exe; /* resolved path of mm->exe_file */
	struct vg_str filename;	   /* path as passed to execve */
	struct vg_str args;	   /* argv, each argument NUL-terminated */
	struct vg_str cwd;	   /* resolved working directory */
	struct vg_str cgroup;	   /* cgroup v2 path tail: "grandparent/parent/leaf" */
	__u16 exe_skip;		   /* VG_HF_CHROOT: bytes of exe before the path the task sees */
	__u16 cwd_skip;		   /* VG_HF_CHROOT: bytes of cwd before the path the task sees */
	__u64 exe_ctime_ns;	   /* the exe inode's ctime, ns since the epoch */
	__u64 exe_mtime_ns;	   /* the exe inode's mtime, ns since the epoch */
	struct vg_str env;	   /* environment ("NAME=value", each NUL-terminated), bounded */
	__u32 vpgid;		   /* process group id in the task's own pid namespace, 0 unknown */
	struct vg_fdinfo stdio[3]; /* fds 0, 1 and 2 of the new image */
	struct vg_writer writer;   /* VG_XF_EXE_WRITTEN: the last writer of the exe's inode */
};

struct vg_fork {
	struct vg_hdr hdr;    /* the parent: the task that called fork/clone */
	__u64 child_start_ns; /* start of the child's thread group */
	__u32 child_pid;      /* child's thread group id */
	__u32 child_tid;      /* child's thread id */
};

/* vg_file.hdr.flags bits */
enum vg_file_flags {
	VG_FL_CREATED = 1u << 8,       /* the open created the file */
	VG_FL_PATH_TRUNC = 1u << 9,    /* path was cut or too deep */
	VG_FL_PATH2_TRUNC = 1u << 10,  /* path2 was cut or too deep */
	VG_FL_PATH_JOINED = 1u << 11,  /* path = resolved base directory (cwd, dirfd or the
					  task's root) + raw argument */
	VG_FL_PATH2_JOINED = 1u << 12, /* path2 likewise */
	VG_FL_RAW_TRUNC = 1u << 13,    /* a raw argument was cut */
	VG_FL_PSEUDO = 1u << 14,       /* object has no path (pipe, socket, anon inode) */
	VG_FL_DIR = 1u << 15,	       /* object is a directory */
	VG_FL_DENIED = 1u << 20,       /* made at the BPF-LSM hook that refused the open
					* (ret is -EPERM; the path is the file's, resolved) */
};

/*
 * A file event. path is resolved in the kernel from the object the call used or
 * returned (an fd, the opened file, dirfd with AT_EMPTY_PATH) when there is one;
 * otherwise (unlink, rename, mkdir, failed opens, ... where the object is a name)
 * from the resolved base directory (cwd, dirfd, or the task's root for an absolute
 * name) joined with the raw argument, flagged VG_FL_PATH_JOINED: user space folds
 * it and resolves its directory. Paths are the mount namespace's view (a chrooted
 * task's are the host's; see VG_HF_CHROOT). For symlink, path is the new link and
 * raw2 the target string it holds.
 */
struct vg_file {
	struct vg_hdr hdr;
	__s64 ret;	     /* syscall return value: fd, 0, or -errno */
	__u16 syscall;	     /* enum vg_syscall */
	__u16 pad0;	     /* zero */
	__u32 flags;	     /* open: O_* flags; *at: AT_* flags; renameat2: RENAME_* flags */
	__u32 mode;	     /* open/creat/mkdir/chmod mode */
	__s32 fd;	     /* fd argument (fchmod, ftruncate, fchown) or opened fd, -1 none */
	__s32 dirfd;	     /* dirfd argument of *at calls, AT_FDCWD (-100) otherwise */
	__u32 uid;	     /* chown: new owner, (u32)-1 unchanged */
	__u32 gid;	     /* chown: new group, (u32)-1 unchanged */
	__u32 dev;	     /* superblock dev of the object, kernel encoding; 0 unknown */
	__u64 ino;	     /* inode of the object; 0 unknown */
	__s64 length;	     /* truncate: new length */
	__u32 fs_magic;	     /* superblock magic of the object's filesystem; 0 unknown */
	__u16 path_skip;     /* VG_HF_CHROOT: bytes of path before the path the task sees */
	__u16 pad1;	     /* zero */
	struct vg_str path;  /* the object's resolved path */
	struct vg_str raw;   /* the path argument as passed */
	struct vg_str path2; /* rename/link: the new name, resolved */
	struct vg_str raw2;  /* rename/link: new name as passed; symlink: the target string */
};

/* vg_fattr.hdr.flags bits (after vg_file's) */
enum vg_fattr_flags {
	VG_FA_TIMES_NULL = 1u << 16, /* utimes: no times were passed (NULL): both set to now */
	VG_FA_TIMES_BAD = 1u << 17,  /* utimes: the times could not be read (bad pointer) */
	VG_FA_XATTR = 1u << 18,	     /* chattr: FS_IOC_FSSETXATTR (attr_flags are FS_XFLAG_*) */
	VG_FA_OLD_KNOWN = 1u << 19,  /* chattr: attr_old holds the inode's flags before the call */
};

/* utimes: a time's nsec that means "now" or "leave as it is" (utimensat) */
#define VG_UTIME_NOW  ((1l << 30) - 1l)
#define VG_UTIME_OMIT ((1l << 30) - 2l)

/*
 * A file attribute set explicitly: times (utimes) or inode flags (chattr). The
 * file part is a file event's: path resolved from the fd (futimens, utimensat with
 * AT_EMPTY_PATH or a NULL name, the ioctl's fd), else joined from dirfd + name.
 * utimes: file.flags = AT_* flags; the times asked, as the call passed them
 * (microseconds turned into nanoseconds for futimesat, utimes; seconds for utime),
 * nsec VG_UTIME_NOW / VG_UTIME_OMIT kept.
 * chattr: file.fd = the ioctl's fd, file.mode = the ioctl request, attr_flags the
 * flags asked (FS_*_FL, or FS_XFLAG_* with VG_FA_XATTR), attr_old the inode's
 * S_IMMUTABLE / S_APPEND state before the call as FS_IMMUTABLE_FL / FS_APPEND_FL.
 */
struct vg_fattr {
	struct vg_file file; /* the file, as a file event has it; hdr first */
	__s64 atime_sec;     /* utimes: access time asked */
	__s64 atime_nsec;    /* its nanoseconds, or VG_UTIME_NOW / VG_UTIME_OMIT */
	__s64 mtime_sec;     /* utimes: modification time asked */
	__s64 mtime_nsec;    /* its nanoseconds, or VG_UTIME_NOW / VG_UTIME_OMIT */
	__u32 attr_flags;    /* chattr: the flags asked */
	__u32 attr_old;	     /* chattr: FS_IMMUTABLE_FL | FS_APPEND_FL before (VG_FA_OLD_KNOWN) */
};

/* vg_net.hdr.flags bits */
enum vg_net_flags {
	VG_NF_NONBLOCK = 1u << 8, /* the socket was non-blocking */
	VG_NF_PEER_FROM_ARG =
	    1u << 9,		     /* remote address from the caller's sockaddr, not the socket */
	VG_NF_UNIX_TRUNC = 1u << 10, /* unix path cut */
	VG_NF_LOCAL_FROM_ARG =
	    1u << 11,		  /* local address from the caller's sockaddr (failed bind) */
	VG_NF_CLOEXEC = 1u << 12, /* socket: created close-on-exec (SOCK_CLOEXEC); dup: the
				   * new fd is close-on-exec */
	VG_NF_FCNTL = 1u << 13,	  /* dup: made by fcntl(F_DUPFD or F_DUPFD_CLOEXEC); the
				   * syscall field says dup */
};

/*
 * A network event. Addresses come from the socket; IPv4 uses the first 4 bytes.
 * socket: family, sock_type (without SOCK_NONBLOCK and SOCK_CLOEXEC, which are
 * VG_NF_NONBLOCK and VG_NF_CLOEXEC) and protocol are the call's arguments (65535
 * for a value that does not fit), fd the new socket (-1 when the call failed or
 * io_uring put it in a registered-file slot), no addresses.
 * dup: fd is the copied fd, ret the new one, fd_kind what it refers to; a socket's
 * family, type, protocol and both ends as for connect, a file's path in unix_path.
 */
struct vg_net {
	struct vg_hdr hdr;
	__s64 ret;		 /* syscall return value: 0, new fd, or -errno */
	__u16 syscall;		 /* enum vg_syscall */
	__u16 family;		 /* AF_INET, AF_INET6, AF_UNIX */
	__u16 sock_type;	 /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u16 protocol;		 /* IPPROTO_TCP, IPPROTO_UDP, ... */
	__s32 fd;		 /* the socket argument */
	__s32 backlog;		 /* listen backlog; dup2, dup3: newfd; fcntl: the lowest fd
				  * asked for; dup: -1 */
	__u16 lport;		 /* local port, host order */
	__u16 rport;		 /* remote port, host order */
	__u16 fd_kind;		 /* dup: enum vg_fd_kind of the copied fd; 0 otherwise */
	__u16 pad0;		 /* zero */
	__u8 laddr[16];		 /* local address */
	__u8 raddr[16];		 /* remote address */
	struct vg_str unix_path; /* unix socket path; abstract names start with '@'; dup of a
				  * file or directory: its resolved path */
	__u32 pad1;		 /* zero */
};

/* vg_dns.hdr.flags bits */
enum vg_dns_flags {
	VG_DF_ANSWER = 1u << 8,	     /* from port 53 into a socket (else: a query to port 53) */
	VG_DF_TCP = 1u << 9,	     /* carried by TCP: msg starts with the 2-byte length */
	VG_DF_TRUNC = 1u << 10,	     /* the payload was longer than VG_DNS_MSG_MAX: msg is cut */
	VG_DF_OWNER_SOCK = 1u << 11, /* the header is the socket's owner (kept at its first
				      * query), not the task the packet was seen in */
	VG_DF_NO_OWNER = 1u << 12,   /* an answer to a socket vigil saw no query from: no
				      * process in the header, cgroup_id is the socket's */
};

#define VG_DNS_MSG_MAX 512 /* DNS message bytes a record carries (a classic UDP message) */

/*
 * A DNS message seen at the cgroup v2 root's cgroup_skb hooks: a query leaving a
 * socket for port 53 (egress), an answer arriving from port 53 (ingress). The
 * message is copied as it is, parsed in user space. The header names the process
 * that sent the query (egress runs in its context); an answer is attributed to the
 * owner kept with its socket at the query.
 */
struct vg_dns {
	struct vg_hdr hdr;
	__u16 family;		  /* AF_INET, AF_INET6 */
	__u8 protocol;		  /* IPPROTO_UDP, IPPROTO_TCP */
	__u8 pad0;		  /* zero */
	__u16 lport;		  /* local port, host order */
	__u16 rport;		  /* remote port (53), host order */
	__u32 msg_len;		  /* bytes of msg that hold the message */
	__u32 wire_len;		  /* payload bytes on the wire (more than msg_len when cut) */
	__u64 sock_cookie;	  /* the socket's cookie: a query and its answer share it */
	__u8 laddr[16];		  /* local address; IPv4 uses the first 4 bytes */
	__u8 raddr[16];		  /* remote address (the server) */
	__u8 msg[VG_DNS_MSG_MAX]; /* the payload: the DNS message (TCP: length first) */
};

/* vg_priv.hdr.flags bits */
enum vg_priv_flags {
	VG_PF_S1_TRUNC = 1u << 8,   /* s1 cut */
	VG_PF_S2_TRUNC = 1u << 9,   /* s2 cut */
	VG_PF_S3_TRUNC = 1u << 10,  /* s3 cut */
	VG_PF_OLD_KNOWN = 1u << 11, /* old ids / caps were captured at syscall entry */
};

/*
 * A privilege or kernel event. Meaning of the generic fields per syscall:
 *   setid:   ids_old/ids_new = {real, effective, saved} uid (or gid for *gid calls);
 *            arg0..arg2 = the arguments
 *   capset:  caps_old/caps_new = {effective, permitted, inheritable}
 *   ptrace:  arg0 = request, target = pid
 *   module:  s1 = module name (delete) or params (init/finit); arg0 = flags; fd: s2 = file path
 *   mount:   s1 = source, s2 = target (resolved when possible), s3 = fs type, arg0 = flags
 *   umount2: s2 = target, arg0 = flags
 *   unshare: arg0 = flags;  setns: arg0 = nstype, s1 = the fd's path (e.g. /proc/PID/ns/net)
 *   bpf:     arg0 = command, arg1 = program/map type when the command creates one
 *   memfd:   s1 = name, arg0 = flags
 *   chroot:  s1 = path (resolved at exit: the new root)
 *   kill:    target = pid (tgid for tgkill), arg0 = signal, arg1 = tid (tkill/tgkill)
 *   procmem: target = pid, arg0 = local iovecs, arg1 = remote iovecs, arg2 = flags;
 *            ret = bytes written
 *   prctl:   arg0 = option (only PR_SET_NAME is sent), s1 = the name asked for (the
 *            header's comm is the thread's name after the call)
 */
struct vg_priv {
	struct vg_hdr hdr;
	__s64 ret;	   /* syscall return value */
	__u16 syscall;	   /* enum vg_syscall */
	__u16 pad0;	   /* zero */
	__s32 target;	   /* target pid, 0 none */
	__u64 arg0;	   /* see above */
	__u64 arg1;	   /* see above */
	__u64 arg2;	   /* see above */
	__u32 ids_old[3];  /* setid: before (when VG_PF_OLD_KNOWN) */
	__u32 ids_new[3];  /* setid: after */
	__u64 caps_old[3]; /* capset: before (when VG_PF_OLD_KNOWN) */
	__u64 caps_new[3]; /* capset: after */
	struct vg_str s1;  /* see above */
	struct vg_str s2;  /* see above */
	struct vg_str s3;  /* see above */
	__u32 pad1;	   /* zero */
};

struct vg_exit {
	struct vg_hdr hdr; /* the last thread of the process */
	__u32 status;	   /* raw wait status (code << 8, or signal | 0x80 for core) */
	__u32 pad;	   /* zero */
};

/* Per-type counters, one slot per enum vg_type in a per-CPU array. */
struct vg_counters {
	__u64 seen;	/* times the sensor ran for this type */
	__u64 filtered; /* dropped in the kernel by the prefilter */
	__u64 sent;	/* written to the ring buffer */
	__u64 lost;	/* ring buffer full */
	__u64 read_err; /* a kernel or user read failed; the record went up incomplete */
};

/*
 * The in-kernel prefilter, written by user space (from the command line now, from
 * the rules later). Per event type: send everything, nothing, or only events that
 * match at least one of the criteria present for that type.
 */
enum vg_filter_mode {
	VG_FILTER_ALL = 0,   /* send every event of the type (the zero value) */
	VG_FILTER_MATCH = 1, /* send events that match a criterion below */
	VG_FILTER_NONE = 2,  /* send nothing */
};

enum vg_filter_criteria {
	VG_FC_PATH = 1u << 0,	     /* vg_path_key entries exist for the type */
	VG_FC_COMM = 1u << 1,	     /* vg_comm_key entries exist for the type */
	VG_FC_PORT = 1u << 2,	     /* vg_port_key entries exist for the type */
	VG_FC_CGROUP = 1u << 3,	     /* vg_cgroup_key entries exist for the type */
	VG_FC_WRITE_OPENS = 1u << 4, /* opens for writing (or creating, truncating) pass */
	VG_FC_FAILED = 1u << 5,	     /* failed calls (ret < 0) pass */
	VG_FC_LEAF = 1u << 6,	     /* the opened file's own name must be a leaf entry */
};

/*
 * Filter slots: the prefilter is kept per event type, except that opens have two
 * slots. VG_EV_OPEN's holds what an open with a write access mode (O_WRONLY, O_RDWR)
 * needs, VG_FS_OPEN_READ's what an O_RDONLY one needs: a read only matters to rules on
 * reads, so most of the paths rules watch for writes drop at once when only read.
 */
#define VG_FS_OPEN_READ (VG_EV_TYPE_MAX - 1)
/*
 * Leaf entries: the last component of a path (a file's own name) a rule can match,
 * kept in filter_paths under the slot's number plus VG_FS_LEAF. The kernel reads the
 * opened file's name (one read) and drops the open when no leaf entry matches it,
 * before it walks the path.
 */
#define VG_FS_LEAF 0x80

struct vg_filter_type {
	__u32 mode;	/* enum vg_filter_mode */
	__u32 criteria; /* enum vg_filter_criteria */
};

#define VG_FILTER_PATH_MAX 252 /* bytes of a path the prefix trie sees (trie data <= 256) */

/* LPM trie key: prefixlen counts bits of type + path */
struct vg_path_key {
	__u32 prefixlen;	       /* 8 (type) + 8 * path bytes */
	__u8 type;		       /* enum vg_type */
	char path[VG_FILTER_PATH_MAX]; /* path prefix, not NUL-terminated */
	__u8 pad[3];		       /* zero */
};

enum vg_path_val_flags {
	VG_PV_EXACT = 1u << 0,	 /* matches only the whole path, not as a prefix */
	VG_PV_COVERED = 1u << 1, /* a shorter prefix entry also covers this path */
};

struct vg_path_val {
	__u32 flags; /* enum vg_path_val_flags */
	__u32 len;   /* bytes of the entry's path (the trie does not say which entry matched) */
};

struct vg_comm_key {
	__u32 type;		/* enum vg_type */
	char comm[VG_COMM_LEN]; /* NUL-padded */
};

struct vg_port_key {
	__u16 type; /* enum vg_type */
	__u16 port; /* host order: remote port for connect, local for bind/listen/accept */
};

struct vg_cgroup_key {
	__u64 cgroup_id; /* cgroup v2 id */
	__u32 type;	 /* enum vg_type */
	__u32 pad;	 /* zero */
};

/*
 * Enforcement (rules with `actions:` lowered to the kernel, src/respond/policy.c).
 * Up to VG_ENF_RULES rules are decided in the kernel at once, each a bit of a
 * __u64. Every map is keyed by a generation (0 or 1): user space writes the next
 * generation's entries while the current one is in force, flips vg_enf_state.gen
 * in one write, then deletes the old generation's entries; so a reload never
 * leaves a moment with neither policy (and a failed one leaves the old one).
 *
 * A rule r matches an event of syscall code c when bit r is set in
 *   enf_codes[gen * VG_SYS_MAX + c]
 *   & (comm.pos | comm_free) & ~comm.neg         (the task's comm)
 *   & (path.pos | path_free) & ~path.neg         (exe path at exec, the file at open)
 *   & (port.pos | port_free) & ~port.neg         (the peer port; the local one for bind)
 *   & (addr.pos | addr_free) & ~addr.neg         (the peer address; the local one for bind)
 *   & (write or ~need_write) & (read or ~need_read)   (open flags)
 *   & (tcp or ~need_tcp) & (udp or ~need_udp)    (the socket's protocol)
 *   & (raw or ~need_raw)                         (a socket being made: SOCK_RAW)
 *   & ~not_v4 for AF_INET, ~not_v6 for AF_INET6  (a socket being made: its family)
 *   & (proc.pos | exe_free) & ~proc.neg          (the process's exe, at events other than
 *                                                 exec: enf_procs, worked out at its exec)
 *   & (cgroup.pos | scope_free)                  (the task's cgroup v2 id: enf_scopes,
 *                                                 entered when a container's cgroup is made)
 * where a missing lookup gives pos = neg = 0; a process whose exe bits are not known
 * for the generation (exe_tested) is left to user space. The kill rules of `entry`
 * are decided at the syscall's entry (raw sys_enter, attached only while there are
 * such rules), every other rule where its event is captured.
 */
#define VG_ENF_RULES 64

enum vg_enf_action {
	VG_ENF_KILL = 1,       /* SIGKILL the task's process (bpf_send_signal) */
	VG_ENF_DENY = 2,       /* the operation fails with EPERM (cgroup programs) */
	VG_ENF_KILL_ENTRY = 3, /* SIGKILL at the syscall's entry (enforcers/kill_entry.bpf.c) */
	VG_ENF_DENY_LSM = 4,   /* a BPF-LSM hook refused the operation (EPERM); the kill rules
				* among the acted ones also had the process SIGKILLed */
};

/* Per generation: the masks that are not lookups. */
struct vg_enf_gen {
	__u64 comm_free;   /* rules without a positive comm test */
	__u64 path_free;   /* rules without a positive path test */
	__u64 port_free;   /* rules without a positive port test */
	__u64 addr_free;   /* rules without a positive address test */
	__u64 need_write;  /* rules that need an open for writing */
	__u64 need_read;   /* rules that need an open for reading */
	__u64 need_tcp;	   /* rules that need a TCP socket */
	__u64 need_udp;	   /* rules that need a UDP socket */
	__u64 monitor;	   /* rules in monitor mode: matched and reported, never acted on */
	__u64 kill;	   /* rules whose action is kill */
	__u64 deny;	   /* rules whose action is deny */
	__u64 rate;	   /* rules with a rate limit (vg_enf_rule.per_sec) */
	__u64 exe_free;	   /* rules without a positive test of the process's exe */
	__u64 exe_tested;  /* rules with a test of the process's exe at other events than exec */
	__u64 entry;	   /* kill rules decided at the syscall's entry, not at its exit */
	__u64 scope_free;  /* rules without a container scope (container.id) */
	__u64 need_raw;	   /* rules that need a raw socket (socket creation) */
	__u64 not_v4;	   /* rules whose evt.arg.domain test leaves AF_INET out (socket) */
	__u64 not_v6;	   /* rules whose evt.arg.domain test leaves AF_INET6 out (socket) */
	__u64 lsm;	   /* rules decided at a BPF-LSM hook: deny rules, and kill rules
			    * upgraded (refused and killed there); not in kill, so every other
			    * place leaves them alone */
	__u64 lsm_kill;	   /* of lsm, the kill rules */
	__u64 leaf_free;   /* rules without a positive test of the file's last name part */
	__u64 leaf_tested; /* rules with a test of it (fd.filename; the BPF-LSM open hook) */
	__u64 ino_free;	   /* rules without a positive test of the file's inode number */
	__u64 ino_tested;  /* rules with a test of it (fd.ino; the BPF-LSM open hook) */
};

/* Per generation and rule bit (index gen * VG_ENF_RULES + bit). */
struct vg_enf_rule {
	__u32 per_sec; /* most actions per second; 0: no limit */
	__u32 pad;     /* zero */
};

/* The one entry of enf_state. */
struct vg_enf_state {
	__u32 gen;     /* the generation in force */
	__u32 enabled; /* 0: no rule is enforced in the kernel (nothing to look up) */
	__u32 lsm;     /* nonzero: a rule of the plan in force is decided at a BPF-LSM hook, so
			* the sensors look for the calls it refused (enf_denied) */
	__u32 pad;     /* zero */
};

/* A lookup's answer: the rules a value satisfies (pos) and the rules it excludes (neg). */
struct vg_enf_bits {
	__u64 pos;
	__u64 neg;
};

struct vg_enf_comm_key {
	__u32 gen;		/* generation */
	char comm[VG_COMM_LEN]; /* NUL-padded */
};

struct vg_enf_port_key {
	__u16 gen;  /* generation */
	__u16 port; /* host order */
};

enum vg_enf_path_class {
	VG_ENF_PATH_EXE = 1,   /* the exe path, at exec */
	VG_ENF_PATH_FILE = 2,  /* a file's resolved path, at open and the other file calls */
	VG_ENF_PATH_ALLOW = 3, /* the global allowlist of exe paths (bits unused: any entry) */
	VG_ENF_PATH_PROC = 4,  /* the exe path, at exec, for the rules on the process's later
				* calls (enf_procs) */
	VG_ENF_PATH_LEAF = 5, /* a file's last name part (its dentry's), at the BPF-LSM open hook */
	VG_ENF_PATH_INO = 6,  /* a file's inode number (8 bytes, host order), likewise */
};

#define VG_ENF_PATH_MAX 250 /* bytes of a path the enforcement trie sees */

/* LPM trie key: prefixlen counts bits of gen + class + path */
struct vg_enf_path_key {
	__u32 prefixlen;	    /* 16 + 8 * path bytes */
	__u8 gen;		    /* generation */
	__u8 cls;		    /* enum vg_enf_path_class */
	char path[VG_ENF_PATH_MAX]; /* not NUL-terminated */
};

/*
 * A path entry. pos/neg hold the rules for which the entry's path is a prefix
 * (its own prefix tests and every shorter entry's, so the longest match says all);
 * exact_pos/exact_neg apply only when the looked-up path is exactly len bytes.
 */
struct vg_enf_path_val {
	__u64 pos;	 /* prefix tests met (this entry's and its ancestors') */
	__u64 neg;	 /* prefix exclusions met */
	__u64 exact_pos; /* exact tests met when the path is the entry's whole path */
	__u64 exact_neg; /* exact exclusions met likewise */
	__u32 len;	 /* bytes of the entry's path */
	__u32 pad;	 /* zero */
};

/* LPM trie key for addresses: prefixlen counts bits of gen + family + address */
struct vg_enf_addr_key {
	__u32 prefixlen; /* 16 + network bits (IPv4 addresses are stored as ::ffff:a.b.c.d) */
	__u8 gen;	 /* generation */
	__u8 pad;	 /* zero */
	__u8 addr[16];	 /* network order; IPv4 mapped */
	__u8 pad2[2];	 /* zero */
};

/*
 * enf_scopes key: a cgroup v2 id in a generation; its value (vg_enf_bits) holds the
 * rules scoped to the container the cgroup belongs to. Entered by user space for
 * the cgroups there are when a plan is written, and by the kernel (enforcers/
 * scope.bpf.c) for each cgroup made later: a cgroup of a container a rule names,
 * or below one that has an entry.
 */
struct vg_enf_scope_key {
	__u64 cgroup_id; /* cgroup v2 id */
	__u32 gen;	 /* generation */
	__u32 pad;	 /* zero */
};

/* enf_containers key: a container's short id (12 hex digits) a rule is scoped to. */
struct vg_enf_container_key {
	__u32 gen;   /* generation */
	char id[12]; /* the first 12 hex digits of the container id, lower case */
};

/*
 * Blocked addresses (enforcers/block.bpf.c, net_blocks, pinned in bpffs so a block
 * outlives the agent): an LPM trie of IPv4 (as ::ffff:a.b.c.d) and IPv6 prefixes.
 * Traffic from a blocked address is dropped at XDP on the covered interfaces, traffic
 * to one at the root cgroup's egress.
 */
struct vg_block_key {
	__u32 prefixlen; /* 0..128 */
	__u8 addr[16];	 /* network order; IPv4 mapped */
};

struct vg_block_val {
	__u64 until_ns;	 /* CLOCK_BOOTTIME when it lifts; 0: until removed */
	__u64 added_ns;	 /* CLOCK_REALTIME when it was put in place */
	__u64 dropped;	 /* packets dropped (both directions; updated without a lock) */
	__u32 rule;	 /* 0 by hand; else the rule's index + 1 at the time */
	__u32 pad;	 /* zero */
	char reason[64]; /* why: the rule's name or the operator's text, NUL-terminated */
};

/*
 * Isolated containers (net_isolated, pinned like the blocks): cgroup v2 id -> this. A
 * socket of an isolated cgroup sends and receives nothing but what net_isolate_allow
 * lets through (an LPM trie of the blocks' keys -> struct vg_isolate_allow).
 */
struct vg_isolate_val {
	__u64 added_ns;	 /* CLOCK_REALTIME when it was cut off */
	__u64 dropped;	 /* packets dropped (updated without a lock) */
	char id[16];	 /* the container's short id, NUL-terminated */
	char reason[64]; /* the rule's name or the operator's text */
};

#define VG_ISOLATE_PORTS 8

/* The ports an allowlisted prefix is open on for an isolated container; n 0: any. */
struct vg_isolate_allow {
	__u16 port[VG_ISOLATE_PORTS]; /* the remote port, host order */
	__u32 n;		      /* ports used */
};

/*
 * The node's quarantine (net_quarantine, the one entry; pinned): while until_ns is
 * ahead, the covered interfaces (XDP) and the sockets of the scope cgroup drop every
 * packet but loopback's and what net_quarantine_allow lets through (the isolation
 * allowlist's shape; a port there is matched against either end of the packet). The
 * kernel stops dropping at until_ns by itself: a dead-man timer that needs no agent.
 */
struct vg_quarantine {
	__u64 until_ns;	 /* CLOCK_BOOTTIME it lifts; 0: no quarantine */
	__u64 scope_cg;	 /* cgroup v2 id whose sockets are cut off; 0: every socket */
	__u32 scope_lvl; /* its level (0 the root), for bpf_skb_ancestor_cgroup_id */
	__u32 pad;	 /* zero */
	__u64 added_ns;	 /* CLOCK_REALTIME it began */
	__u64 dropped;	 /* packets dropped (updated without a lock) */
	char reason[64]; /* the rule's name or the operator's text */
};

/*
 * Traffic counters (bpf/core/traffic.bpf.h), kept by the XDP program (what comes in
 * on the covered interfaces) and the root cgroup's egress program (what the node's
 * sockets send) while traffic.enabled is on. Per-CPU values, summed by user space;
 * nothing per packet leaves the kernel. Both tables are LRU hashes: a key pushed out
 * comes back with fresh counts, and user space counts the keys made (vg_traffic_stats)
 * to tell how many were pushed out.
 */
enum vg_traffic_dir {
	VG_TRAFFIC_IN = 0,  /* received: the key's port is this node's (destination) */
	VG_TRAFFIC_OUT = 1, /* sent: the key's port is the other end's (destination) */
};

/* traffic_cfg[0]: whether the programs count. */
struct vg_traffic_cfg {
	__u32 on;  /* 1: count */
	__u32 pad; /* zero */
};

/* traffic_ports key: a destination port of one protocol, one direction. */
struct vg_traffic_port_key {
	__u16 port; /* host order; 0 for a protocol without ports */
	__u8 proto; /* IPPROTO_* of the transport */
	__u8 dir;   /* enum vg_traffic_dir */
};

/* traffic_srcs key: one other end talking to one port (a source per port on ingress). */
struct vg_traffic_src_key {
	__u8 addr[16]; /* in: the source, out: the destination; IPv4 mapped, network order */
	__u16 port;    /* the destination port, host order */
	__u8 proto;    /* IPPROTO_* */
	__u8 dir;      /* enum vg_traffic_dir */
};

/* The counts of a key, per CPU. */
struct vg_traffic_val {
	__u64 packets; /* packets */
	__u64 bytes;   /* bytes at L3 (the IP header on) */
	__u64 syn;     /* TCP: opening SYNs (SYN without ACK); the rest is established */
	__u64 last_ns; /* boot clock of the last packet on this CPU */
};

/* traffic_stats[0], per CPU: keys made, for what the LRU pushed out. */
struct vg_traffic_stats {
	__u64 port_keys; /* traffic_ports entries made */
	__u64 src_keys;	 /* traffic_srcs entries made */
};

#define VG_TRAFFIC_PORTS_MAX 4096  /* traffic_ports entries */
#define VG_TRAFFIC_SRCS_MAX  16384 /* traffic_srcs entries */

/* Why the kernel did not act on a matched rule (vg_action.why). */
enum vg_enf_why {
	VG_WHY_NONE = 0,	/* it acted */
	VG_WHY_MONITOR = 1,	/* monitor mode */
	VG_WHY_PID1 = 2,	/* the process is pid 1 */
	VG_WHY_KTHREAD = 3,	/* a kernel thread */
	VG_WHY_SELF = 4,	/* vigil itself or one of its parents */
	VG_WHY_ALLOWLISTED = 5, /* an allowlisted exe or cgroup */
	VG_WHY_RATE = 6,	/* the rule's rate limit */
	VG_WHY_ERROR = 7,	/* the helper failed (vg_action.err) */
};

/*
 * VG_EV_ACTION: what the kernel did about the next record of the same thread (an
 * enforcer writes it just before the record it concerns, from the same CPU).
 */
struct vg_action {
	struct vg_hdr hdr; /* hdr.ts_ns: when the event was captured */
	__u64 matched;	   /* rule bits that matched */
	__u64 acted;	   /* of those, the ones acted on */
	__u64 latency_ns;  /* capture to signal sent or verdict given */
	__u32 gen;	   /* generation the bits belong to */
	__u32 why;	   /* enum vg_enf_why for matched & ~acted (monitor: per rule below) */
	__u64 monitor;	   /* matched rules in monitor mode */
	__u64 rated;	   /* matched rules held back by their rate limit */
	__s32 err;	   /* bpf_send_signal's error, VG_WHY_ERROR */
	__u16 action;	   /* enum vg_enf_action */
	__u16 event_type;  /* enum vg_type of the record it concerns */
};

/*
 * enf_procs, keyed by tgid: the process's exe tests, worked out at its exec for both
 * generations (user space writes them for processes that exec'd before a plan).
 */
struct vg_enf_proc {
	__u64 pos[2]; /* per generation: exe tests met */
	__u64 neg[2]; /* per generation: exe exclusions met */
	__u32 known;  /* bit g: pos[g] and neg[g] are worked out */
	__u32 pad;    /* zero */
};

/* The safety map's values (enf_safe, keyed by tgid). */
enum vg_enf_safe {
	VG_SAFE_SELF = 1,	 /* vigil or one of its parents */
	VG_SAFE_ALLOWLISTED = 2, /* the exe is on the allowlist (set at exec, kept at fork) */
};

/* Sensor configuration, written by user space before load (.rodata) or at run time. */
struct vg_config {
	__u32 self_pid;		  /* vigil's own tgid: its events are not sent */
	__u32 wake_bytes;	  /* wake the reader once this much is pending in the ring */
	__u32 uring_complete_cqe; /* io_uring_complete's arguments: 1 (ctx, req, cqe), 6.13 on;
				   * 0 (ctx, req, user_data, res, cflags, extra1, extra2) */
	__u32 uring_multishot;	  /* 1 + the bit of req->flags that marks a multishot request
				   * (REQ_F_APOLL_MULTISHOT_BIT, from BTF); 0 when unknown */
};

#ifndef __cplusplus
_Static_assert(sizeof(struct vg_str) == 4, "vg_str ABI");
_Static_assert(sizeof(struct vg_hdr) == 80, "vg_hdr ABI");
_Static_assert(sizeof(struct vg_fdinfo) == 56, "vg_fdinfo ABI");
_Static_assert(sizeof(struct vg_exec) == 408, "vg_exec ABI");
_Static_assert(sizeof(struct vg_writer) == 48, "vg_writer ABI");
_Static_assert(sizeof(struct vg_inode_key) == 16, "vg_inode_key ABI");
_Static_assert(sizeof(struct vg_fork) == 96, "vg_fork ABI");
_Static_assert(sizeof(struct vg_exit) == 88, "vg_exit ABI");
_Static_assert(sizeof(struct vg_counters) == 40, "vg_counters ABI");
_Static_assert(sizeof(struct vg_file) == 160, "vg_file ABI");
_Static_assert(sizeof(struct vg_fattr) == 200, "vg_fattr ABI");
_Static_assert(sizeof(struct vg_net) == 152, "vg_net ABI");
_Static_assert(sizeof(struct vg_priv) == 208, "vg_priv ABI");
_Static_assert(sizeof(struct vg_dns) == 136 + VG_DNS_MSG_MAX, "vg_dns ABI");
_Static_assert(sizeof(struct vg_path_key) == 260, "vg_path_key ABI");
_Static_assert(sizeof(struct vg_comm_key) == 20, "vg_comm_key ABI");
_Static_assert(sizeof(struct vg_cgroup_key) == 16, "vg_cgroup_key ABI");
_Static_assert(sizeof(struct vg_enf_gen) == 200, "vg_enf_gen ABI");
_Static_assert(sizeof(struct vg_enf_proc) == 40, "vg_enf_proc ABI");
_Static_assert(sizeof(struct vg_enf_path_key) == 256, "vg_enf_path_key ABI");
_Static_assert(sizeof(struct vg_enf_addr_key) == 24, "vg_enf_addr_key ABI");
_Static_assert(sizeof(struct vg_action) == 136, "vg_action ABI");
_Static_assert(sizeof(struct vg_enf_scope_key) == 16, "vg_enf_scope_key ABI");
_Static_assert(sizeof(struct vg_block_key) == 20, "vg_block_key ABI");
_Static_assert(sizeof(struct vg_block_val) == 96, "vg_block_val ABI");
_Static_assert(sizeof(struct vg_isolate_val) == 96, "vg_isolate_val ABI");
_Static_assert(sizeof(struct vg_isolate_allow) == 20, "vg_isolate_allow ABI");
_Static_assert(sizeof(struct vg_quarantine) == 104, "vg_quarantine ABI");
_Static_assert(sizeof(struct vg_enf_container_key) == 16, "vg_enf_container_key ABI");
_Static_assert(sizeof(struct vg_traffic_port_key) == 4, "vg_traffic_port_key ABI");
_Static_assert(sizeof(struct vg_traffic_src_key) == 20, "vg_traffic_src_key ABI");
_Static_assert(sizeof(struct vg_traffic_val) == 32, "vg_traffic_val ABI");
#endif

#endif /* VIGIL_EVENTS_H */
