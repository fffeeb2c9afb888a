/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * net.bpf.c - network sensors at syscall exit: socket, connect, accept, accept4,
 * bind, listen, and sendto, sendmsg, recvfrom, recvmsg that name their peer. Addresses
 * come from the socket the call used or created (fd -> file -> socket -> sock), so
 * they are what the kernel holds after the call, not what the caller claimed. Only
 * when the socket has no address any more (a failed blocking connect resets it, a
 * failed bind never set it) is the caller's sockaddr read, and the record says so.
 * A send's or receive's peer is the one address the socket does not hold: the
 * destination the caller named, the source the kernel wrote back. The prefilter
 * sees the port before anything else is read. Each sensor serves native and ia32
 * calls alike, socketcall included.
 */
#include <bpf/bpf_endian.h>

#include "core/enforce.bpf.h"
#include "core/fdinfo.bpf.h"
#include "core/filter.bpf.h"
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"
#include "core/uring.bpf.h"

#define AF_UNIX_       1
#define O_NONBLOCK_    04000
#define SUN_PATH_OFF   2     /* offsetof(struct sockaddr_un, sun_path) */
#define SUN_PATH_MAX   108   /* sizeof(sun_path) */
#define SUN_NAME_MASK  127   /* bounds a name length for the verifier */
#define SOCK_NONBLOCK_ 04000 /* socket type flags (linux/net.h) */
#define SOCK_CLOEXEC_  02000000

struct net_args {
	__u32 type;		     /* enum vg_type */
	__u16 syscall;		     /* enum vg_syscall */
	bool accept;		     /* ret is a new socket's fd */
	bool peer_arg;		     /* send/recv: the peer is uaddr, never the socket's */
	int fd;			     /* the socket argument */
	const void *uaddr;	     /* the caller's sockaddr (user memory), NULL none */
	long uaddr_len;		     /* its length argument */
	int backlog;		     /* listen backlog */
	struct file *file;	     /* the socket's file when known (io_uring), else from fd */
	bool kernel_addr;	     /* uaddr is kernel memory (io_uring's copy), not user */
	const struct uring_who *who; /* io_uring: the submitter; NULL for a syscall */
};

/* The caller's sockaddr as the user ABI lays it out (sockaddr_in / sockaddr_in6). */
struct user_sockaddr {
	__u16 family;  /* sa_family */
	__u16 port;    /* network order */
	__u8 rest[24]; /* sin_addr at 0; or sin6_flowinfo at 0 and sin6_addr at 4 */
};

/* Reads the caller's sockaddr; false when there is none or it is unreadable. */
static __always_inline bool user_sockaddr_read(struct user_sockaddr *sa, struct net_args *a)
{
	__u64 n = a->uaddr_len;

	if (!a->uaddr || a->uaddr_len < 2)
		return false;
	barrier_var(n);
	if (n > sizeof(*sa))
		n = sizeof(*sa);
	if (a->kernel_addr)
		return bpf_probe_read_kernel(sa, n, a->uaddr) == 0;
	return bpf_probe_read_user(sa, n, a->uaddr) == 0;
}

/*
 * A send's or receive's peer from the caller's sockaddr, taken as a socket of the
 * family takes it: an IPv4 socket takes AF_UNSPEC as IPv4 too (udp_sendmsg), an
 * IPv6 one an IPv4 address (sent as IPv4; shown IPv4-mapped), so neither spelling
 * hides the port. addr may be NULL (the port alone). False: no inet peer.
 */
static __always_inline bool peer_fill(struct user_sockaddr *sa, long len, __u16 family, __u8 *addr,
				      __u16 *port)
{
	if (family == AF_INET_ && (sa->family == AF_INET_ || sa->family == 0) && len >= 8) {
		if (addr)
			__builtin_memcpy(addr, sa->rest, 4);
	} else if (family == AF_INET6_ && sa->family == AF_INET6_ && len >= 24) {
		if (addr)
			__builtin_memcpy(addr, sa->rest + 4, 16);
	} else if (family == AF_INET6_ && sa->family == AF_INET_ && len >= 8) {
		if (addr) {
			__builtin_memset(addr, 0, 10);
			addr[10] = 0xff;
			addr[11] = 0xff;
			__builtin_memcpy(addr + 12, sa->rest, 4);
		}
	} else {
		return false;
	}
	*port = bpf_ntohs(sa->port);
	return true;
}

/* The port of a send's or receive's peer as the record will hold it (peer_fill()). */
static __always_inline __u16 peer_port(struct user_sockaddr *sa, long len, __u16 family)
{
	__u16 port = 0;

	peer_fill(sa, len, family, NULL, &port);
	return port;
}

/*
 * The port the prefilter's criterion names: remote for connect (and a send's or
 * receive's peer), local for the others. From the socket; from the caller's sockaddr when the
 * socket has none.
 */
static __always_inline __u16 filter_port(struct net_args *a, struct sock *sk,
					 struct user_sockaddr *sa, bool *have_sa)
{
	__u16 port = 0;

	if (a->peer_arg) {
		*have_sa = user_sockaddr_read(sa, a);
		if (*have_sa)
			port =
			    peer_port(sa, a->uaddr_len,
				      sk ? BPF_CORE_READ(sk, __sk_common.skc_family) : sa->family);
		return port;
	}
	if (sk && a->type == VG_EV_CONNECT)
		port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	else if (sk)
		port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (port || a->accept || !a->uaddr)
		return port;
	*have_sa = user_sockaddr_read(sa, a);
	if (*have_sa && (sa->family == AF_INET_ || sa->family == AF_INET6_))
		port = bpf_ntohs(sa->port);
	return port;
}

/* Family, type, protocol, ports and addresses as the socket holds them now. */
static __always_inline void sock_fill(struct vg_net *e, struct sock *sk)
{
	e->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	e->sock_type = BPF_CORE_READ(sk, sk_type);
	e->protocol = BPF_CORE_READ(sk, sk_protocol);
	if (e->family == AF_INET_) {
		e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(e->laddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(e->raddr, 4, &sk->__sk_common.skc_daddr);
	} else if (e->family == AF_INET6_) {
		e->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
		e->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
		bpf_core_read(e->laddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(e->raddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
}

/* Copies an inet address and port of the caller's sockaddr into addr/port. */
static __always_inline bool sockaddr_fill(struct user_sockaddr *sa, long len, __u16 family,
					  __u8 *addr, __u16 *port)
{
	if (sa->family != family)
		return false;
	if (family == AF_INET_ && len >= 8) {
		__builtin_memcpy(addr, sa->rest, 4);
	} else if (family == AF_INET6_ && len >= 24) {
		__builtin_memcpy(addr, sa->rest + 4, 16);
	} else {
		return false;
	}
	*port = bpf_ntohs(sa->port);
	return true;
}

/*
 * Appends a unix socket name of n bytes of sun_path at src: a pathname (up to its
 * NUL) as is, an abstract name (leading NUL, then any bytes) as '@' + the bytes.
 */
static __always_inline __u32 unix_name_append(char *ev, __u32 off, struct vg_str *s,
					      const char *src, __u32 n, bool user)
{
	__u64 size;
	long r;

	s->off = 0;
	s->len = 0;
	if (n == 0 || n > SUN_PATH_MAX || off > VG_EVENT_MAX - SUN_PATH_MAX - 2)
		return off;
	off = ev_off(off);
	size = n + 1;
	barrier_var(size);
	size &= SUN_NAME_MASK;
	if (user)
		r = bpf_probe_read_user_str(ev + off, size, src);
	else
		r = bpf_probe_read_kernel_str(ev + off, size, src);
	if (r > 1) {
		s->off = off;
		s->len = r - 1;
		return off + r;
	}
	if (r != 1 || n < 2)
		return off;
	/* an empty string: an abstract name, whose bytes may include NULs */
	size = n - 1;
	barrier_var(size);
	size &= SUN_NAME_MASK;
	if (user)
		r = bpf_probe_read_user(ev + off + 1, size, src + 1);
	else
		r = bpf_probe_read_kernel(ev + off + 1, size, src + 1);
	if (r)
		return off;
	ev[off] = '@';
	ev[off + 1 + size] = 0;
	s->off = off;
	s->len = size + 1;
	return off + size + 2;
}

/* Appends the name a unix sock is bound to (its own, or its peer's). */
static __always_inline __u32 unix_addr_append(char *ev, __u32 off, struct vg_str *s,
					      struct sock *sk)
{
	struct unix_address *ua = BPF_CORE_READ((struct unix_sock *)sk, addr);
	int len;

	s->off = 0;
	s->len = 0;
	if (!ua)
		return off;
	len = BPF_CORE_READ(ua, len);
	if (len <= SUN_PATH_OFF)
		return off;
	return unix_name_append(ev, off, s, (const char *)ua->name[0].sun_path, len - SUN_PATH_OFF,
				false);
}

/*
 * The unix path of the record: the peer's name for connect (the caller's sockaddr
 * when the socket has no peer), the socket's own for the others (the sockaddr when
 * a bind left none).
 */
static __always_inline __u32 unix_fill(char *ev, __u32 off, struct vg_net *e, struct sock *sk,
				       struct net_args *a)
{
	struct sock *named = sk;
	__u16 family = 0;
	__u32 n;

	if (a->type == VG_EV_CONNECT)
		named = sk ? BPF_CORE_READ((struct unix_sock *)sk, peer) : NULL;
	if (a->peer_arg)
		named = NULL; /* the peer is the name the caller gave or got */
	if (named)
		off = unix_addr_append(ev, off, &e->unix_path, named);
	if (e->unix_path.off || !a->uaddr || a->uaddr_len <= SUN_PATH_OFF ||
	    (a->type != VG_EV_CONNECT && a->type != VG_EV_BIND && !a->peer_arg))
		return off;
	if (a->kernel_addr)
		bpf_probe_read_kernel(&family, sizeof(family), a->uaddr);
	else
		bpf_probe_read_user(&family, sizeof(family), a->uaddr);
	if (family != AF_UNIX_)
		return off;
	/* an oversized length is refused by the kernel, but the name tried is still news */
	n = a->uaddr_len - SUN_PATH_OFF;
	if (n > SUN_PATH_MAX)
		n = SUN_PATH_MAX;
	off = unix_name_append(ev, off, &e->unix_path, (const char *)a->uaddr + SUN_PATH_OFF, n,
			       !a->kernel_addr);
	if (e->unix_path.off)
		e->hdr.flags |= a->type == VG_EV_CONNECT || a->peer_arg ? VG_NF_PEER_FROM_ARG
									: VG_NF_LOCAL_FROM_ARG;
	return off;
}

static __noinline int net_event(struct net_args *a, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct user_sockaddr sa = {};
	enum filter_verdict verdict;
	struct sock *sk, *obj;
	struct file *f;
	struct vg_net *e;
	bool have_sa = false;
	__u32 off, type = a->type;
	__u16 port;
	char *ev;

	if (type >= VG_EV_TYPE_MAX)
		return 0;
	count(type, CNT_SEEN);
	if (is_self()) {
		count(type, CNT_FILTERED);
		return 0;
	}
	f = a->file ? a->file : fd_file(t, a->fd);
	sk = file_sock(f);
	obj = sk;
	if (a->accept && ret >= 0) {
		struct sock *nsk = file_sock(fd_file(t, ret));

		if (nsk)
			obj = nsk;
	}
	port = filter_port(a, obj, &sa, &have_sa);
	verdict = filter_cheap_comm(type, port, false, ret < 0, a->who ? a->who->comm : NULL);
	/* no path criterion names a network type, except a unix socket's name */
	if (verdict == FILTER_NEED_PATH &&
	    (!obj || BPF_CORE_READ(obj, __sk_common.skc_family) != AF_UNIX_))
		verdict = FILTER_DROP;
	if (verdict == FILTER_DROP) {
		count(type, CNT_FILTERED);
		return 0;
	}

	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_net *)ev;
	hdr_fill(&e->hdr, t, type);
	if (a->who)
		uring_hdr(&e->hdr, a->who);
	e->ret = ret;
	e->syscall = a->syscall;
	e->family = 0;
	e->sock_type = 0;
	e->protocol = 0;
	e->fd = a->fd;
	e->backlog = a->backlog;
	e->lport = 0;
	e->rport = 0;
	e->fd_kind = 0;
	e->pad0 = 0;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	e->unix_path = (struct vg_str){};
	e->pad1 = 0;
	off = sizeof(*e);
	if (f && (BPF_CORE_READ(f, f_flags) & O_NONBLOCK_))
		e->hdr.flags |= VG_NF_NONBLOCK;

	if (obj)
		sock_fill(e, obj);
	if (!obj && a->uaddr && (!have_sa || a->peer_arg)) {
		/* no socket (EBADF, ENOTSOCK): the caller's family is all there is */
		if (!have_sa)
			have_sa = user_sockaddr_read(&sa, a);
		if (have_sa)
			e->family = sa.family;
	}
	if (e->family == AF_UNIX_) {
		off = unix_fill(ev, off, e, obj, a);
	} else if (a->peer_arg) {
		/* the socket's own peer (a connected socket's) is not where this one went */
		e->rport = 0;
		__builtin_memset(e->raddr, 0, sizeof(e->raddr));
		if (have_sa && peer_fill(&sa, a->uaddr_len, e->family, e->raddr, &e->rport))
			e->hdr.flags |= VG_NF_PEER_FROM_ARG;
	} else if (type == VG_EV_CONNECT && !e->rport && a->uaddr) {
		if (!have_sa)
			have_sa = user_sockaddr_read(&sa, a);
		if (have_sa && sockaddr_fill(&sa, a->uaddr_len, e->family, e->raddr, &e->rport))
			e->hdr.flags |= VG_NF_PEER_FROM_ARG;
	} else if (type == VG_EV_BIND && !e->lport && a->uaddr) {
		if (!have_sa)
			have_sa = user_sockaddr_read(&sa, a);
		if (have_sa && sockaddr_fill(&sa, a->uaddr_len, e->family, e->laddr, &e->lport))
			e->hdr.flags |= VG_NF_LOCAL_FROM_ARG;
	}

	if (verdict == FILTER_NEED_PATH &&
	    (!e->unix_path.off ||
	     !filter_path(type, ev + (e->unix_path.off & EV_OFF_MASK), e->unix_path.len))) {
		count(type, CNT_FILTERED);
		return 0;
	}
	/* binds and listens are rare and announce a service; connects, accepts, sends and
	 * receives come in storms and go batched */
	/* binds, listens and events that met a rule-derived criterion wake the reader */
	/* kill rules on the call itself (deny is the cgroup programs' job, before the call) */
	enforce_kill(&e->hdr, NULL, 0, ENF_IN_CODE(e->syscall) | (a->who ? 0 : ENF_IN_SYSCALL),
		     a->who ? a->who->comm : NULL);
	submit(ev, off, type == VG_EV_BIND || type == VG_EV_LISTEN || verdict != FILTER_SEND);
	return 0;
}

#define NET_ARGS(t, sys)                                                                           \
	struct net_args a = {.type = (t), .syscall = (sys), .fd = (int)sys_arg(sc, 0)}

SYSCALL_SENSOR(connect, "connect")
{
	NET_ARGS(VG_EV_CONNECT, VG_SYS_CONNECT);
	a.uaddr = (const void *)sys_arg(sc, 1);
	a.uaddr_len = (int)sys_arg(sc, 2);
	return net_event(&a, ret);
}

SYSCALL_SENSOR(accept, "accept")
{
	NET_ARGS(VG_EV_ACCEPT, VG_SYS_ACCEPT);
	a.accept = true;
	return net_event(&a, ret);
}

SYSCALL_SENSOR(accept4, "accept4")
{
	NET_ARGS(VG_EV_ACCEPT, VG_SYS_ACCEPT4);
	a.accept = true;
	return net_event(&a, ret);
}

SYSCALL_SENSOR(bind, "bind")
{
	NET_ARGS(VG_EV_BIND, VG_SYS_BIND);
	a.uaddr = (const void *)sys_arg(sc, 1);
	a.uaddr_len = (int)sys_arg(sc, 2);
	return net_event(&a, ret);
}

SYSCALL_SENSOR(listen, "listen")
{
	NET_ARGS(VG_EV_LISTEN, VG_SYS_LISTEN);
	a.backlog = (int)sys_arg(sc, 1);
	return net_event(&a, ret);
}

/*
 * A send or a receive is an event only when the caller names the peer: a send with
 * a destination (an unconnected socket's datagram; a TCP Fast Open connect), a
 * receive that asks for the datagram's source. A connected socket's traffic had its
 * connect or accept already, and an event per write would flood.
 */

/*
 * A type no rule needs: the call returns before anything is read. It is not
 * counted: unread, it is not known to be an event at all (a connected send is not).
 */
static __always_inline bool net_type_off(__u32 type)
{
	struct vg_filter_type *f = filter_get(type);

	return f && f->mode == VG_FILTER_NONE;
}

/* msg_name and msg_namelen of the caller's msghdr (struct compat_msghdr for ia32). */
static __always_inline bool msghdr_name(struct net_args *a, const void *umsg, bool compat)
{
	if (!umsg)
		return false;
	if (compat) {
		struct {
			__u32 name;    /* msg_name, a 32-bit pointer */
			__s32 namelen; /* msg_namelen */
		} m;

		if (bpf_probe_read_user(&m, sizeof(m), umsg))
			return false;
		a->uaddr = (const void *)(unsigned long)m.name;
		a->uaddr_len = m.namelen;
	} else {
		struct {
			__u64 name;    /* msg_name */
			__s32 namelen; /* msg_namelen */
			__u32 pad;     /* padding before msg_iov */
		} m;

		if (bpf_probe_read_user(&m, sizeof(m), umsg))
			return false;
		a->uaddr = (const void *)m.name;
		a->uaddr_len = m.namelen;
	}
	return a->uaddr != NULL;
}

SYSCALL_SENSOR(sendto, "sendto")
{
	NET_ARGS(VG_EV_SEND, VG_SYS_SENDTO);
	a.uaddr = (const void *)sys_arg(sc, 4);
	if (!a.uaddr || net_type_off(a.type))
		return 0;
	a.uaddr_len = (int)sys_arg(sc, 5);
	a.peer_arg = true;
	return net_event(&a, ret);
}

SYSCALL_SENSOR(sendmsg, "sendmsg")
{
	NET_ARGS(VG_EV_SEND, VG_SYS_SENDMSG);
	if (net_type_off(a.type) || !msghdr_name(&a, (const void *)sys_arg(sc, 1), sc.compat))
		return 0;
	a.peer_arg = true;
	return net_event(&a, ret);
}

/* A receive's source is what the kernel wrote back: nothing when the call failed. */
SYSCALL_SENSOR(recvfrom, "recvfrom")
{
	NET_ARGS(VG_EV_RECV, VG_SYS_RECVFROM);
	const int *ulen = (const int *)sys_arg(sc, 5);
	int len = 0;

	a.uaddr = (const void *)sys_arg(sc, 4);
	if (ret < 0 || !a.uaddr || !ulen || net_type_off(a.type))
		return 0;
	/* a stream socket writes no address back: length 0 */
	if (bpf_probe_read_user(&len, sizeof(len), ulen) || len < 2)
		return 0;
	a.uaddr_len = len;
	a.peer_arg = true;
	return net_event(&a, ret);
}

SYSCALL_SENSOR(recvmsg, "recvmsg")
{
	NET_ARGS(VG_EV_RECV, VG_SYS_RECVMSG);
	if (ret < 0 || net_type_off(a.type) ||
	    !msghdr_name(&a, (const void *)sys_arg(sc, 1), sc.compat) || a.uaddr_len < 2)
		return 0;
	a.peer_arg = true;
	return net_event(&a, ret);
}

/*
 * socket(2): a socket's creation is its arguments (family, type, protocol: what the
 * caller asked the kernel for) and its result, the new fd. The arguments are
 * registers, not user memory: nothing the caller can change after the call.
 */
struct socket_args {
	int family;		     /* domain argument */
	int type;		     /* type argument, SOCK_NONBLOCK and SOCK_CLOEXEC included */
	int protocol;		     /* protocol argument */
	bool direct;		     /* io_uring: into a registered-file slot; ret is no fd */
	const struct uring_who *who; /* io_uring: the submitter; NULL for a syscall */
};

/* An argument as the record's 16-bit field holds it: 65535 when it does not fit. */
static __always_inline __u16 arg16(__u32 v)
{
	return v > 0xffff ? 0xffff : v;
}

static __noinline int socket_event(struct socket_args *a, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	enum filter_verdict verdict;
	struct vg_net *e;
	char *ev;

	count(VG_EV_SOCKET, CNT_SEEN);
	if (is_self()) {
		count(VG_EV_SOCKET, CNT_FILTERED);
		return 0;
	}
	verdict = filter_cheap_comm(VG_EV_SOCKET, 0, false, ret < 0, a->who ? a->who->comm : NULL);
	/* a path criterion can only be a unix socket's name, which a new socket has not */
	if (verdict == FILTER_DROP || verdict == FILTER_NEED_PATH) {
		count(VG_EV_SOCKET, CNT_FILTERED);
		return 0;
	}
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_net *)ev;
	hdr_fill(&e->hdr, t, VG_EV_SOCKET);
	if (a->who)
		uring_hdr(&e->hdr, a->who);
	e->ret = ret;
	e->syscall = VG_SYS_SOCKET;
	e->family = arg16(a->family);
	e->sock_type = arg16(a->type & ~(SOCK_NONBLOCK_ | SOCK_CLOEXEC_));
	e->protocol = arg16(a->protocol);
	e->fd = ret >= 0 && !a->direct ? ret : -1;
	e->backlog = 0;
	e->lport = 0;
	e->rport = 0;
	e->fd_kind = 0;
	e->pad0 = 0;
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	e->unix_path = (struct vg_str){};
	e->pad1 = 0;
	if (a->type & SOCK_NONBLOCK_)
		e->hdr.flags |= VG_NF_NONBLOCK;
	if (a->type & SOCK_CLOEXEC_)
		e->hdr.flags |= VG_NF_CLOEXEC;
	enforce_kill(&e->hdr, NULL, 0, ENF_IN_CODE(e->syscall), a->who ? a->who->comm : NULL);
	/* sockets are made in storms (a resolver makes one per lookup): batched, unless a
	 * rule-derived criterion let this one through */
	submit(ev, sizeof(*e), verdict != FILTER_SEND);
	return 0;
}

SYSCALL_SENSOR(socket, "socket")
{
	struct socket_args a = {.family = (int)sys_arg(sc, 0),
				.type = (int)sys_arg(sc, 1),
				.protocol = (int)sys_arg(sc, 2)};

	/* every call is an event: one no rule needs is counted as filtered */
	return socket_event(&a, ret);
}

/*
 * dup, dup2, dup3 and fcntl(F_DUPFD, F_DUPFD_CLOEXEC): another fd for an open file.
 * The record names the copied fd (fd) and the new one (ret), and what they refer
 * to, read from the fd table after the call: a socket's family and both ends, a
 * file's path, a pipe, a terminal. Redirecting stdio to a socket (a reverse shell)
 * is a dup onto 0, 1 or 2; fcntl(F_DUPFD) after a close of 0 does the same under
 * another name, so it is recorded as a dup (VG_NF_FCNTL says which). Other fcntl
 * commands return at once.
 */
#define F_DUPFD_	 0
#define F_DUPFD_CLOEXEC_ 1030
#define O_CLOEXEC_	 02000000

static __noinline int dup_event(int oldfd, int newfd, __u16 syscall, __u32 flags, long ret)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	enum filter_verdict verdict;
	struct vg_fdinfo d;
	struct vg_net *e;
	bool trunc = false;
	__u32 off;
	char *ev;

	count(VG_EV_DUP, CNT_SEEN);
	if (is_self()) {
		count(VG_EV_DUP, CNT_FILTERED);
		return 0;
	}
	verdict = filter_cheap_comm(VG_EV_DUP, 0, false, ret < 0, NULL);
	/* no path criterion names a dup */
	if (verdict == FILTER_DROP || verdict == FILTER_NEED_PATH) {
		count(VG_EV_DUP, CNT_FILTERED);
		return 0;
	}
	ev = scratch_get();
	if (!ev)
		return 0;
	e = (struct vg_net *)ev;
	hdr_fill(&e->hdr, t, VG_EV_DUP);
	e->ret = ret;
	e->syscall = syscall;
	e->fd = oldfd;
	e->backlog = newfd;
	e->pad0 = 0;
	e->pad1 = 0;
	e->hdr.flags |= flags;
	/* the copy's description, after the call: the same file as the old fd's, and
	 * still there when a dup2 onto itself or a failed call left the old fd alone */
	off = fdinfo_fill(ev, sizeof(*e), &d, t, ret >= 0 ? ret : oldfd, &trunc);
	e->fd_kind = d.kind;
	e->family = d.family;
	e->sock_type = d.sock_type;
	e->protocol = d.protocol;
	e->lport = d.lport;
	e->rport = d.rport;
	__builtin_memcpy(e->laddr, d.laddr, sizeof(e->laddr));
	__builtin_memcpy(e->raddr, d.raddr, sizeof(e->raddr));
	e->unix_path = d.name;
	if (trunc)
		e->hdr.flags |= VG_NF_UNIX_TRUNC;
	if (e->family == AF_UNIX_) {
		struct sock *sk = file_sock(fd_file(t, ret >= 0 ? ret : oldfd));
		struct sock *peer;

		/* its own name, else its peer's (a connected client's socket has none) */
		if (sk)
			off = unix_addr_append(ev, off, &e->unix_path, sk);
		peer = sk && !e->unix_path.off ? BPF_CORE_READ((struct unix_sock *)sk, peer) : NULL;
		if (peer)
			off = unix_addr_append(ev, off, &e->unix_path, peer);
	}
	enforce_kill(&e->hdr, NULL, 0, ENF_IN_CODE(e->syscall) | ENF_IN_SYSCALL, NULL);
	/* rare outside shells' redirections, and what a reverse shell does: woken at once */
	submit(ev, off, true);
	return 0;
}

SYSCALL_SENSOR(dup, "dup")
{
	return dup_event((int)sys_arg(sc, 0), -1, VG_SYS_DUP, 0, ret);
}

SYSCALL_SENSOR(dup2, "dup2")
{
	return dup_event((int)sys_arg(sc, 0), (int)sys_arg(sc, 1), VG_SYS_DUP2, 0, ret);
}

SYSCALL_SENSOR(dup3, "dup3")
{
	return dup_event((int)sys_arg(sc, 0), (int)sys_arg(sc, 1), VG_SYS_DUP3,
			 sys_arg(sc, 2) & O_CLOEXEC_ ? VG_NF_CLOEXEC : 0, ret);
}

SYSCALL_SENSOR(fcntl, "fcntl")
{
	__u32 cmd = sys_arg(sc, 1);

	/* fcntl runs for everything (flags, locks): only the two dup commands are events */
	if (cmd != F_DUPFD_ && cmd != F_DUPFD_CLOEXEC_)
		return 0;
	/* a dup in all but name: recorded as one, so that rules on dup see it (Falco's
	 * dup macro names dup, dup2 and dup3 only); the third argument is the lowest fd
	 * the copy may take */
	return dup_event((int)sys_arg(sc, 0), (int)sys_arg(sc, 2), VG_SYS_DUP,
			 VG_NF_FCNTL | (cmd == F_DUPFD_CLOEXEC_ ? VG_NF_CLOEXEC : 0), ret);
}

/*
 * ia32 socketcall(call, args): 32-bit programs reach the socket calls through it
 * (accept has no ia32 number of its own). The same sensors read their arguments
 * from the array args points to.
 */
static __always_inline int socketcall_sensor(struct sysc sc, long ret)
{
	__u32 call = sys_arg(sc, 0);

	sc.uargs = (const __u32 *)sys_arg(sc, 1);
	switch (call) {
	case SYS_SOCKET_:
		return socket_sensor(sc, ret);
	case SYS_CONNECT_:
		return connect_sensor(sc, ret);
	case SYS_ACCEPT_:
		return accept_sensor(sc, ret);
	case SYS_ACCEPT4_:
		return accept4_sensor(sc, ret);
	case SYS_BIND_:
		return bind_sensor(sc, ret);
	case SYS_LISTEN_:
		return listen_sensor(sc, ret);
	case SYS_SENDTO_:
		return sendto_sensor(sc, ret);
	case SYS_RECVFROM_:
		return recvfrom_sensor(sc, ret);
	case SYS_SENDMSG_:
		return sendmsg_sensor(sc, ret);
	case SYS_RECVMSG_:
		return recvmsg_sensor(sc, ret);
	default:
		return 0;
	}
}

SYSCALL_SENSOR_32(socketcall)

/* ---- io_uring: the same records for operations submitted through a ring ---- */

#define URING_ADDR_MAX		 128	   /* sizeof(struct sockaddr_storage) */
#define IORING_ACCEPT_MULTISHOT_ (1u << 0) /* io_accept.iou_flags */
#define IORING_RECV_MULTISHOT_	 (1u << 1) /* io_sr_msg.flags */

/* struct io_sr_msg before 6.10: a send's destination kept as the caller's pointer */
struct io_sr_msg___addr {
	void *addr;	/* sqe->addr2 */
	__u16 addr_len; /* sqe->addr_len */
} __attribute__((preserve_access_index));

/* What a network operation's record needs from its submission, kept until its completion. */
struct uring_net_req {
	struct uring_who who;	   /* the submitter */
	__u32 type;		   /* enum vg_type */
	__u16 syscall;		   /* enum vg_syscall of the syscall form */
	bool accept;		   /* the result is a new socket's fd (not a direct descriptor) */
	bool multi;		   /* a multishot accept: kept by ring and user_data too */
	__s32 fd;		   /* the socket's fd; -1 for a registered-file index */
	__s32 addr_len;		   /* bytes of addr; 0 none */
	__s32 backlog;		   /* listen backlog */
	bool peer_arg;		   /* send: addr is the destination; recv: umsg names the source */
	bool compat;		   /* recv: umsg is a struct compat_msghdr (a 32-bit ring) */
	__u16 pad1;		   /* zero */
	__u64 umsg;		   /* recv: the caller's msghdr (user memory), read at completion */
	__s32 family;		   /* socket: the domain argument */
	__s32 sock_type;	   /* socket: the type argument, with its flags */
	__s32 protocol;		   /* socket: the protocol argument */
	__u32 pad2;		   /* zero */
	__u8 addr[URING_ADDR_MAX]; /* connect: the caller's sockaddr, read at submission; send:
				    * the kernel's copy of the destination */
};

/* the request being submitted */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uring_net_req);
} uring_net_scratch SEC(".maps");

/* requests in flight by address */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, URING_NET_REQS_MAX);
	__type(key, __u64);
	__type(value, struct uring_net_req);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} uring_net_reqs SEC(".maps");

/* A multishot request's completions but the last carry no request, only its ring and user_data. */
struct uring_multi_key {
	__u64 ring;	 /* struct io_ring_ctx * */
	__u64 user_data; /* the submitter's tag of the request */
};

/* multishot accepts in flight, by ring and user_data: their entries, as above */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, URING_NET_REQS_MAX);
	__type(key, struct uring_multi_key);
	__type(value, struct uring_net_req);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} uring_net_multi SEC(".maps");

static __always_inline bool uring_net_op(__u8 op)
{
	switch (op) {
	case IORING_OP_CONNECT:
	case IORING_OP_ACCEPT:
	case IORING_OP_BIND:
	case IORING_OP_LISTEN:
	case IORING_OP_SOCKET:
	case IORING_OP_SEND:
	case IORING_OP_SEND_ZC:
	case IORING_OP_SENDMSG:
	case IORING_OP_SENDMSG_ZC:
	case IORING_OP_RECVMSG:
		return true;
	default:
		return false;
	}
}

/*
 * The caller's sockaddr, read at submission, just after the kernel copied it. The
 * kernel's own copy is in the request's async data, whose layout is not in BTF (and
 * has changed between kernels), so the caller's buffer is read, as for the syscall.
 */
static __always_inline void uring_addr(struct uring_net_req *r, const void *uaddr, int len)
{
	__u64 n = len;

	r->addr_len = 0;
	if (!uaddr || len < 2)
		return;
	barrier_var(n);
	if (n > URING_ADDR_MAX)
		n = URING_ADDR_MAX;
	if (!bpf_probe_read_user(r->addr, n, uaddr))
		r->addr_len = n;
}

/* Whether a request's ring is a 32-bit process's (its msghdrs have the compat layout). */
static __always_inline bool uring_compat(struct io_kiocb *req)
{
	struct io_ring_ctx *ring = BPF_CORE_READ(req, ctx);

	if (!bpf_core_field_exists(ring->compat))
		return false;
	return BPF_CORE_READ_BITFIELD_PROBED(ring, compat);
}

/*
 * A send's destination, when it names one. The kernel copied it while preparing
 * the request into the request's async data (struct io_async_msghdr: msg.msg_name
 * points at its own copy), which is what the send will use, whatever the caller
 * writes later. Kernels before 6.10 kept SEND_ZC's as the caller's pointer in
 * struct io_sr_msg, and prepared no async data for a sendmsg: the caller's msghdr
 * is read then, as for the syscall.
 */
static __always_inline bool uring_send_addr(struct uring_net_req *r, struct io_kiocb *req,
					    void *cmd, __u8 op)
{
	struct io_async_msghdr *kmsg = BPF_CORE_READ(req, async_data);
	struct net_args a = {};
	const void *name;
	__u64 n;

	r->addr_len = 0;
	if (bpf_core_field_exists(((struct io_sr_msg___addr *)cmd)->addr)) {
		/* SEND_ZC keeps the caller's address here, and SEND too where it takes one
		 * (a kernel whose SEND ignores addr2 leaves it NULL: no destination, no event) */
		if (op == IORING_OP_SEND_ZC || op == IORING_OP_SEND) {
			uring_addr(r, BPF_CORE_READ((struct io_sr_msg___addr *)cmd, addr),
				   BPF_CORE_READ((struct io_sr_msg___addr *)cmd, addr_len));
			return r->addr_len != 0;
		}
		if (op != IORING_OP_SENDMSG && op != IORING_OP_SENDMSG_ZC)
			return false;
		if (!msghdr_name(&a, BPF_CORE_READ((struct io_sr_msg *)cmd, umsg),
				 uring_compat(req)))
			return false;
		uring_addr(r, a.uaddr, a.uaddr_len);
		return r->addr_len != 0;
	}
	if (!kmsg || !bpf_core_field_exists(kmsg->msg))
		return false;
	name = BPF_CORE_READ(kmsg, msg.msg_name);
	n = BPF_CORE_READ(kmsg, msg.msg_namelen);
	if (!name || n < 2)
		return false;
	barrier_var(n);
	if (n > URING_ADDR_MAX)
		n = URING_ADDR_MAX;
	if (bpf_probe_read_kernel(r->addr, n, name))
		return false;
	r->addr_len = n;
	return true;
}

/*
 * A send the prefilter already refuses at submission: its port and comm are known
 * then, and what completion adds (the result, the socket) cannot make it pass
 * unless a criterion on failed calls or the cgroup is in play. Saves the table
 * entry for the storms the criterion is there for.
 */
static __always_inline bool uring_send_dropped(struct uring_net_req *r)
{
	struct vg_filter_type *f = filter_get(r->type);
	struct user_sockaddr *sa = (struct user_sockaddr *)r->addr;
	__u16 port = 0;

	if (!f || f->mode != VG_FILTER_MATCH || (f->criteria & (VG_FC_FAILED | VG_FC_CGROUP)))
		return false;
	/* the socket's family is not known yet: the port under any family that takes it
	 * (the record's is this port or none, and none never passes a port criterion) */
	if (!peer_fill(sa, r->addr_len, AF_INET_, NULL, &port))
		peer_fill(sa, r->addr_len, AF_INET6_, NULL, &port);
	return filter_cheap_comm(r->type, port, false, false, r->who.comm) == FILTER_DROP;
}

/* A kept socket request's record: the submitter's arguments, the fd it got (accept). */
static __always_inline int uring_socket_event(struct uring_net_req *r, long res)
{
	struct socket_args a = {.family = r->family,
				.type = r->sock_type,
				.protocol = r->protocol,
				.direct = !r->accept,
				.who = &r->who};

	return socket_event(&a, res);
}

/* The builder's arguments for a kept request: the sockaddr in kernel memory, the submitter. */
static __always_inline void uring_net_args(struct net_args *a, struct uring_net_req *r,
					   struct file *file)
{
	a->type = r->type;
	a->syscall = r->syscall;
	a->accept = r->accept;
	a->fd = r->fd;
	a->backlog = r->backlog;
	a->peer_arg = r->peer_arg;
	a->file = file;
	if (r->addr_len) {
		a->uaddr = r->addr;
		a->uaddr_len = r->addr_len;
		a->kernel_addr = true;
	}
	a->who = &r->who;
}

SEC("raw_tp/io_uring_submit_req")
int vg_uring_net_submit(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = uring_submit_req(ctx);
	struct uring_multi_key mk = {};
	struct uring_net_req *r;
	__u32 zero = 0;
	struct net_args a = {};
	struct vg_filter_type *f;
	__u64 key = (__u64)req;
	void *cmd = uring_cmd(req);
	__u8 op = BPF_CORE_READ(req, opcode);
	__u64 flags;

	if (!uring_net_op(op))
		return 0;
	/* in per-CPU scratch: the stack is needed by the record's builder and enforcement */
	r = bpf_map_lookup_elem(&uring_net_scratch, &zero);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	if ((op == IORING_OP_SEND || op == IORING_OP_SEND_ZC || op == IORING_OP_SENDMSG ||
	     op == IORING_OP_SENDMSG_ZC) &&
	    net_type_off(VG_EV_SEND))
		return 0;
	if (op == IORING_OP_RECVMSG && net_type_off(VG_EV_RECV))
		return 0;
	uring_who_fill(&r->who);
	flags = BPF_CORE_READ(req, flags);
	r->fd = flags & REQ_F_FIXED_FILE_ ? -1 : BPF_CORE_READ(req, cqe.fd);
	switch (op) {
	case IORING_OP_CONNECT:
		r->type = VG_EV_CONNECT;
		r->syscall = VG_SYS_CONNECT;
		uring_addr(r, BPF_CORE_READ((struct io_connect *)cmd, addr),
			   BPF_CORE_READ((struct io_connect *)cmd, addr_len));
		break;
	case IORING_OP_ACCEPT:
		r->type = VG_EV_ACCEPT;
		r->syscall = VG_SYS_ACCEPT4;
		r->accept = BPF_CORE_READ((struct io_accept *)cmd, file_slot) == 0;
		if (bpf_core_field_exists(((struct io_accept *)cmd)->iou_flags))
			r->multi = BPF_CORE_READ((struct io_accept *)cmd, iou_flags) &
				   IORING_ACCEPT_MULTISHOT_;
		else if (vg_cfg.uring_multishot)
			/* before 6.10 the request's flags say it (REQ_F_APOLL_MULTISHOT) */
			r->multi = (flags >> (vg_cfg.uring_multishot - 1)) & 1;
		break;
	case IORING_OP_SEND:
	case IORING_OP_SEND_ZC:
	case IORING_OP_SENDMSG:
	case IORING_OP_SENDMSG_ZC:
		/* only a send that names its destination, as for the syscalls */
		r->type = VG_EV_SEND;
		r->syscall = op == IORING_OP_SEND || op == IORING_OP_SEND_ZC ? VG_SYS_SENDTO
									     : VG_SYS_SENDMSG;
		r->peer_arg = true;
		if (!uring_send_addr(r, req, cmd, op))
			return 0;
		if (uring_send_dropped(r)) {
			count(r->type, CNT_SEEN);
			count(r->type, CNT_FILTERED);
			return 0;
		}
		break;
	case IORING_OP_RECVMSG:
		/* a multishot receive writes each source into a provided buffer: not read */
		if (BPF_CORE_READ((struct io_sr_msg *)cmd, flags) & IORING_RECV_MULTISHOT_)
			return 0;
		/* no completion on success: the source is never known */
		if (flags & REQ_F_CQE_SKIP_)
			return 0;
		r->type = VG_EV_RECV;
		r->syscall = VG_SYS_RECVMSG;
		r->peer_arg = true;
		r->umsg = (__u64)BPF_CORE_READ((struct io_sr_msg *)cmd, umsg);
		r->compat = uring_compat(req);
		break;
	case IORING_OP_BIND:
		/* the request keeps no pointer to the caller's sockaddr: the socket's it is */
		r->type = VG_EV_BIND;
		r->syscall = VG_SYS_BIND;
		break;
	case IORING_OP_LISTEN:
		r->type = VG_EV_LISTEN;
		r->syscall = VG_SYS_LISTEN;
		/* IORING_OP_LISTEN is 6.11's: an older kernel has no struct io_listen */
		if (bpf_core_type_exists(struct io_listen))
			r->backlog = BPF_CORE_READ((struct io_listen *)cmd, backlog);
		break;
	case IORING_OP_SOCKET:
		/* no file yet (req->cqe.fd holds the domain); a direct socket's result is
		 * its slot, not an fd */
		r->type = VG_EV_SOCKET;
		r->syscall = VG_SYS_SOCKET;
		r->fd = -1;
		r->accept = BPF_CORE_READ((struct io_socket *)cmd, file_slot) == 0;
		r->family = BPF_CORE_READ((struct io_socket *)cmd, domain);
		r->sock_type = BPF_CORE_READ((struct io_socket *)cmd, type);
		r->protocol = BPF_CORE_READ((struct io_socket *)cmd, protocol);
		break;
	}
	if (flags & REQ_F_CQE_SKIP_) {
		/* the kernel posts no completion when it succeeds: send now, result unknown (0) */
		r->accept = false;
		if (r->type == VG_EV_SOCKET)
			return uring_socket_event(r, 0);
		uring_net_args(&a, r, NULL);
		return net_event(&a, 0);
	}
	/* the port is not known yet: only a type that sends nothing is dropped here */
	f = filter_get(r->type);
	if (f && f->mode == VG_FILTER_NONE) {
		count(r->type, CNT_SEEN);
		count(r->type, CNT_FILTERED);
		return 0;
	}
	if (r->multi) {
		mk.ring = (__u64)BPF_CORE_READ(req, ctx);
		mk.user_data = BPF_CORE_READ(req, cqe.user_data);
	}
	if (bpf_map_update_elem(&uring_net_reqs, &key, r, BPF_ANY) ||
	    (r->multi && bpf_map_update_elem(&uring_net_multi, &mk, r, BPF_ANY))) {
		/* too many requests in flight: the record is lost, and counted */
		count(r->type, CNT_SEEN);
		count(r->type, CNT_LOST);
	}
	return 0;
}

/* One completion of a kept request: its record, or its loss when nobody can own it. */
static __always_inline void uring_net_done(struct uring_net_req *r, struct file *file, long res)
{
	struct net_args a = {};

	if (uring_same_process(&r->who)) {
		if (r->type == VG_EV_SOCKET) {
			uring_socket_event(r, res);
			return;
		}
		uring_net_args(&a, r, file);
		/* a receive's source is in the caller's msghdr now; none when nothing came */
		if (r->type == VG_EV_RECV &&
		    (res < 0 || !msghdr_name(&a, (const void *)r->umsg, r->compat) ||
		     a.uaddr_len < 2))
			return;
		net_event(&a, res);
	} else {
		/* completed by a kernel worker after the process went: nobody to attribute it to */
		count(r->type, CNT_SEEN);
		count(r->type, CNT_LOST);
	}
}

SEC("raw_tp/io_uring_complete")
int vg_uring_net_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct uring_multi_key mk;
	struct uring_net_req *r;
	struct io_kiocb *req;
	struct uring_cqe c;
	__u64 key;

	uring_cqe_read(&c, ctx);
	req = c.req;
	key = (__u64)req;
	mk.ring = c.ring;
	mk.user_data = c.user_data;

	if (!req) {
		/* a multishot request's completion: by ring and user_data; the last one
		 * (without IORING_CQE_F_MORE) comes with the request, below */
		r = bpf_map_lookup_elem(&uring_net_multi, &mk);
		if (r)
			uring_net_done(r, NULL, c.res);
		return 0;
	}
	if (!uring_net_op(BPF_CORE_READ(req, opcode)))
		return 0;
	r = bpf_map_lookup_elem(&uring_net_reqs, &key);
	if (!r)
		return 0;
	uring_net_done(r, BPF_CORE_READ(req, file), c.res);
	/* a zero-copy send's F_MORE announces its buffer's notification, posted by another
	 * request: only a multishot accept goes on */
	if (!r->multi || !(c.flags & IORING_CQE_F_MORE_)) {
		if (r->multi)
			bpf_map_delete_elem(&uring_net_multi, &mk);
		bpf_map_delete_elem(&uring_net_reqs, &key);
	}
	return 0;
}
