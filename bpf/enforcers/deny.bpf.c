// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * deny.bpf.c - deny rules decided in the kernel: cgroup sock_addr programs at
 * connect, sendmsg (an unconnected UDP send that names its destination) and bind,
 * and a cgroup sock program at the creation of IPv4 and IPv6 sockets, attached at
 * the cgroup v2 root with a link (so they run next to the host's own
 * cgroup programs, never instead of them). A rule left standing makes the call
 * fail with EPERM before any packet leaves or any port is taken.
 *
 * The rules are those user space lowered into the enforcement maps
 * (src/respond/policy.c), narrowed exactly as events.h's formula says: by the
 * hook's syscall code, the task's comm, the port and address (the peer's for
 * connect and sendmsg, the local ones for bind) and the socket's protocol. No path
 * is known here, so a rule with a path test or open flags never matches. The
 * hooks sit in the socket layer, so every way into it is covered: native and ia32
 * calls, socketcall, io_uring, TCP fast open's sendto (at the connect hook).
 *
 * The same safety as the kill rules (core/enforce.bpf.h): pid 1, kernel threads,
 * vigil and its parents, allowlisted processes and cgroups are never denied, rules
 * in monitor mode only report, and a rule's rate limit holds it back. Whenever a
 * rule matched, a VG_EV_ACTION record says what was done; the sensor's own record
 * of the call (with its EPERM) follows from the same thread.
 *
 * Helpers: a cgroup sock_addr program may call bpf_get_current_pid_tgid,
 * bpf_get_current_comm, bpf_get_current_cgroup_id and the ring buffer on any
 * kernel with these hooks; bpf_get_current_task(_btf) and bpf_probe_read_kernel
 * (the header's CO-RE reads, the kernel-thread check) come from the base set that
 * a CAP_PERFMON loader gets (accepted on this kernel, 6.18).
 */
#include <bpf/bpf_endian.h>

#include "core/enforce.bpf.h"
#include "core/record.bpf.h"

#define IPPROTO_TCP_	 6
#define IPPROTO_UDP_	 17
#define IPPROTO_UDPLITE_ 136
#define IPPROTO_MPTCP_	 262

#define SOCK_ALLOW 1 /* a cgroup sock_addr program's verdicts */
#define SOCK_DENY  0 /* the call fails with EPERM */

#define AF_INET_     2
#define AF_INET6_    10
#define SOCK_RAW_    3
#define SOCK_DGRAM_  2
#define SOCK_STREAM_ 1

/* One call at a hook, as the rules look at it. */
struct deny_in {
	__u32 code;    /* enum vg_syscall whose rules apply */
	__u32 code2;   /* a second one (sendmsg: sendto's rules too); VG_SYS_MAX: none */
	__u16 type;    /* enum vg_type of the call's event */
	__u16 port;    /* host order: the peer's, the local one for bind */
	__u32 proto;   /* the socket's IPPROTO_* */
	__u8 addr[16]; /* network order, IPv4 as ::ffff:a.b.c.d */
	__u16 family;  /* socket creation: AF_INET or AF_INET6; else 0 */
	__u16 sock;    /* socket creation: its SOCK_* type; no port or address */
};

/* The rules of generation gen that the port satisfies. */
static __always_inline __u64 deny_port_mask(__u32 gen, __u16 port, __u64 free)
{
	struct vg_enf_port_key k = {.gen = gen, .port = port};
	struct vg_enf_bits *b = bpf_map_lookup_elem(&enf_ports, &k);

	if (!b)
		return free;
	return (b->pos | free) & ~b->neg;
}

/* The rules of generation gen that the address satisfies (the longest prefix says all). */
static __always_inline __u64 deny_addr_mask(__u32 gen, const __u8 *addr, __u64 free)
{
	struct vg_enf_addr_key k = {.prefixlen = 16 + 128, .gen = gen};
	struct vg_enf_bits *b;

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	b = bpf_map_lookup_elem(&enf_addrs, &k);
	if (!b)
		return free;
	return (b->pos | free) & ~b->neg;
}

/* Of mask, the rules the calling process meets: its exe, its container, its comm. */
static __always_inline __u64 deny_who_mask(__u32 gen, const struct vg_enf_gen *g, __u64 mask)
{
	if (mask & g->exe_tested)
		mask &= enf_proc_mask(gen, bpf_get_current_pid_tgid() >> 32, g);
	if (mask & ~g->scope_free)
		mask &= enf_scope_mask(gen, bpf_get_current_cgroup_id(), g->scope_free);
	if (!mask)
		return 0;
	return mask & enf_comm_mask(gen, NULL, g->comm_free);
}

/*
 * Of mask, the rules a socket being made meets: its family and its protocol as
 * fd.l4proto names it (raw for SOCK_RAW; else by protocol, the type for another one).
 */
static __always_inline __u64 deny_sock_mask(const struct deny_in *in, __u32 gen,
					    const struct vg_enf_gen *g, __u64 mask)
{
	bool raw = in->sock == SOCK_RAW_, tcp = false, udp = false;

	if (!raw) {
		switch (in->proto) {
		case IPPROTO_TCP_:
			tcp = true;
			break;
		case IPPROTO_UDP_:
			udp = true;
			break;
		case 1:	 /* ICMP */
		case 58: /* ICMPv6: both icmp */
			break;
		default:
			udp = in->sock == SOCK_DGRAM_;
			tcp = in->sock == SOCK_STREAM_;
			raw = !udp && !tcp;
		}
	}
	if (!tcp)
		mask &= ~g->need_tcp;
	if (!udp)
		mask &= ~g->need_udp;
	if (!raw)
		mask &= ~g->need_raw;
	mask &= in->family == AF_INET_ ? ~g->not_v4 : ~g->not_v6;
	if (!mask)
		return 0;
	return deny_who_mask(gen, g, mask);
}

/* The rules that stand for the call in, before the safety checks; 0 for none. */
static __always_inline __u64 deny_mask(const struct deny_in *in, __u32 gen,
				       const struct vg_enf_gen *g)
{
	__u32 i = gen * VG_SYS_MAX + in->code;
	__u64 *m = bpf_map_lookup_elem(&enf_codes, &i), mask;

	if (!m)
		return 0;
	mask = *m;
	if (in->code2 < VG_SYS_MAX) {
		i = gen * VG_SYS_MAX + in->code2;
		m = bpf_map_lookup_elem(&enf_codes, &i);
		if (m)
			mask |= *m;
	}
	/* no path and no open here: a rule that tests either cannot match */
	mask &= g->deny & g->path_free & ~g->need_write & ~g->need_read;
	if (in->family)
		return deny_sock_mask(in, gen, g, mask);
	if (in->proto != IPPROTO_TCP_ && in->proto != IPPROTO_MPTCP_)
		mask &= ~g->need_tcp;
	if (in->proto != IPPROTO_UDP_ && in->proto != IPPROTO_UDPLITE_)
		mask &= ~g->need_udp;
	mask &= ~g->need_raw;
	if (!mask)
		return 0;
	mask &= deny_port_mask(gen, in->port, g->port_free);
	if (!mask)
		return 0;
	mask &= deny_addr_mask(gen, in->addr, g->addr_free);
	return deny_who_mask(gen, g, mask);
}

/* The verdict on the call in: SOCK_DENY when a deny rule stands and vigil may act. */
static __noinline int deny_decide(const struct deny_in *in)
{
	struct vg_enf_state *st = enf_state_get();
	struct enf_verdict v = {};
	struct vg_enf_gen *g;
	struct vg_hdr h;
	__u64 ts, want;
	__u32 gen;

	if (!st || !st->enabled || !in || in->code >= VG_SYS_MAX)
		return SOCK_ALLOW;
	gen = st->gen & 1;
	g = bpf_map_lookup_elem(&enf_gens, &gen);
	if (!g || !g->deny)
		return SOCK_ALLOW;
	v.matched = deny_mask(in, gen, g);
	if (!v.matched)
		return SOCK_ALLOW;

	/* the clock only when a rule matched: a read costs ~0.1 us under nested virtualisation */
	ts = bpf_ktime_get_boot_ns();
	__builtin_memset(&h, 0, sizeof(h));
	hdr_fill(&h, (struct task_struct *)bpf_get_current_task(), in->type);
	h.ts_ns = ts;
	want = enf_decide(&h, g, gen, &v);
	v.acted = want;
	enf_report(&h, gen, VG_ENF_DENY, &v);
	return want ? SOCK_DENY : SOCK_ALLOW;
}

static __always_inline void deny_in4(struct deny_in *in, __u32 ip4)
{
	__builtin_memset(in->addr, 0, sizeof(in->addr));
	in->addr[10] = 0xff;
	in->addr[11] = 0xff;
	__builtin_memcpy(&in->addr[12], &ip4, sizeof(ip4));
}

static __always_inline void deny_in6(struct deny_in *in, const struct bpf_sock_addr *ctx)
{
	__u32 a[4];

	/* the context allows only 4-byte loads of user_ip6 */
	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	__builtin_memcpy(in->addr, a, sizeof(a));
}

/* One hook's program: its event type and syscall codes, the IPv4 or IPv6 context. */
#define DENY_HOOK(NAME, SECTION, TYPE, CODE, CODE2, V6)                                            \
	SEC(SECTION)                                                                               \
	int NAME(struct bpf_sock_addr *ctx)                                                        \
	{                                                                                          \
		struct vg_enf_state *st = enf_state_get();                                         \
		struct deny_in in;                                                                 \
                                                                                                   \
		/* enforcement off: one lookup, nothing read */                                    \
		if (!st || !st->enabled)                                                           \
			return SOCK_ALLOW;                                                         \
		in = (struct deny_in){                                                             \
		    .code = CODE,                                                                  \
		    .code2 = CODE2,                                                                \
		    .type = TYPE,                                                                  \
		    .port = bpf_ntohs((__u16)ctx->user_port),                                      \
		    .proto = ctx->protocol,                                                        \
		};                                                                                 \
		if (V6)                                                                            \
			deny_in6(&in, ctx);                                                        \
		else                                                                               \
			deny_in4(&in, ctx->user_ip4);                                              \
		return deny_decide(&in);                                                           \
	}

DENY_HOOK(vg_deny_connect4, "cgroup/connect4", VG_EV_CONNECT, VG_SYS_CONNECT, VG_SYS_MAX, 0)
DENY_HOOK(vg_deny_connect6, "cgroup/connect6", VG_EV_CONNECT, VG_SYS_CONNECT, VG_SYS_MAX, 1)
DENY_HOOK(vg_deny_sendmsg4, "cgroup/sendmsg4", VG_EV_SEND, VG_SYS_SENDMSG, VG_SYS_SENDTO, 0)
DENY_HOOK(vg_deny_sendmsg6, "cgroup/sendmsg6", VG_EV_SEND, VG_SYS_SENDMSG, VG_SYS_SENDTO, 1)
DENY_HOOK(vg_deny_bind4, "cgroup/bind4", VG_EV_BIND, VG_SYS_BIND, VG_SYS_MAX, 0)
DENY_HOOK(vg_deny_bind6, "cgroup/bind6", VG_EV_BIND, VG_SYS_BIND, VG_SYS_MAX, 1)

/*
 * Socket creation: the hook runs for IPv4 and IPv6 sockets only (inet_create,
 * inet6_create), after the socket is made and before the call returns it; a deny
 * makes socket() fail with EPERM and the socket is released.
 */
SEC("cgroup/sock_create")
int vg_deny_socket(struct bpf_sock *ctx)
{
	struct vg_enf_state *st = enf_state_get();
	struct deny_in in;

	if (!st || !st->enabled)
		return SOCK_ALLOW;
	__builtin_memset(&in, 0, sizeof(in));
	in.code = VG_SYS_SOCKET;
	in.code2 = VG_SYS_MAX;
	in.type = VG_EV_SOCKET;
	in.proto = ctx->protocol;
	in.family = ctx->family;
	in.sock = ctx->type;
	if (in.family != AF_INET_ && in.family != AF_INET6_)
		return SOCK_ALLOW;
	return deny_decide(&in);
}
