/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fdinfo.bpf.h - what an open file descriptor refers to (enum vg_fd_kind): a file,
 * a directory, a pipe, a terminal, a socket (family, protocol, both ends), another
 * device. From the struct file the fd table holds, never from a name: the exec
 * sensor describes the new image's stdio with it, the dup sensor the fd it copied.
 */
#ifndef VIGIL_FDINFO_BPF_H
#define VIGIL_FDINFO_BPF_H

#include <bpf/bpf_endian.h>

#include "core/path.bpf.h"
#include "core/syscall.bpf.h"

#define AF_INET_  2
#define AF_INET6_ 10
#define S_IFSOCK_ 0140000
#define S_IFIFO_  0010000
#define S_IFCHR_  0020000
#define S_IFREG_  0100000

/* The sock behind a file, or NULL when the file is not a socket. */
static __always_inline struct sock *file_sock(struct file *f)
{
	struct socket *sock;

	if (!f)
		return NULL;
	/* only sockfs inodes are S_IFSOCK and openable; a socket on disk opens as O_PATH
	 * with no private_data */
	if ((BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT_) != S_IFSOCK_)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

/*
 * A character device that is a terminal: the tty majors (4: ttyN and ttySN, 5:
 * /dev/tty, the console and ptmx, 128-143: pty masters and /dev/pts slaves).
 */
static __always_inline bool rdev_is_tty(__u32 rdev)
{
	__u32 major = rdev >> 20;

	return major == 4 || major == 5 || (major >= 128 && major <= 143);
}

/* The kind of file f is (enum vg_fd_kind); *rdev gets a character device's number. */
static __always_inline __u8 file_kind(struct file *f, __u32 *rdev)
{
	struct inode *ino;

	*rdev = 0;
	if (!f)
		return VG_FD_NONE;
	ino = BPF_CORE_READ(f, f_inode);
	switch (BPF_CORE_READ(ino, i_mode) & S_IFMT_) {
	case S_IFREG_:
		return VG_FD_FILE;
	case S_IFDIR_:
		return VG_FD_DIR;
	case S_IFIFO_:
		return VG_FD_PIPE;
	case S_IFSOCK_:
		return VG_FD_SOCKET;
	case S_IFCHR_:
		*rdev = BPF_CORE_READ(ino, i_rdev);
		return rdev_is_tty(*rdev) ? VG_FD_TTY : VG_FD_CHAR;
	}
	return VG_FD_OTHER;
}

/* A socket's family, type, protocol and, for an inet one, both ends as it holds them now. */
static __always_inline void sock_ends(struct sock *sk, __u16 *family, __u16 *type, __u16 *proto,
				      __u8 *laddr, __u16 *lport, __u8 *raddr, __u16 *rport)
{
	*family = BPF_CORE_READ(sk, __sk_common.skc_family);
	*type = BPF_CORE_READ(sk, sk_type);
	*proto = BPF_CORE_READ(sk, sk_protocol);
	if (*family == AF_INET_) {
		*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (*family == AF_INET6_) {
		*lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		*rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/*
 * Describes fd of task t into *d, appending a file's or directory's resolved path
 * to the record at off (its new end is returned; *trunc set when the path was cut).
 * A terminal, pipe or device is not walked: its kind and number say enough.
 */
static __always_inline __u32 fdinfo_fill(char *ev, __u32 off, struct vg_fdinfo *d,
					 struct task_struct *t, int fd, bool *trunc)
{
	struct file *f = fd_file(t, fd);
	struct sock *sk;
	struct walk *w;

	__builtin_memset(d, 0, sizeof(*d));
	d->kind = file_kind(f, &d->rdev);
	if (d->kind == VG_FD_SOCKET) {
		sk = file_sock(f);
		if (sk)
			sock_ends(sk, &d->family, &d->sock_type, &d->protocol, d->laddr, &d->lport,
				  d->raddr, &d->rport);
	} else if (d->kind == VG_FD_FILE || d->kind == VG_FD_DIR) {
		w = path_resolve(t, &f->f_path);
		if (w)
			off = path_append(ev, off, &d->name, w, trunc);
	}
	return off;
}

#endif /* VIGIL_FDINFO_BPF_H */
