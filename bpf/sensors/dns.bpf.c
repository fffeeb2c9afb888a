// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * dns.bpf.c - DNS messages at the packet level: cgroup_skb egress and ingress of
 * the cgroup v2 root see every packet of every socket of the host and its
 * containers, whatever call sent it (send, sendto, sendmsg, sendmmsg, write,
 * io_uring). A query is a packet leaving for port 53, an answer one arriving from
 * port 53, over UDP or TCP; the message is copied as it is (up to VG_DNS_MSG_MAX
 * bytes) and parsed in user space. Nothing else goes up, and nothing at all while
 * no rule needs DNS (the prefilter's mode for VG_EV_DNS).
 *
 * Attribution: a UDP query leaves in the context of the task that sent it, so the
 * header is that task's; it is also kept with the socket (socket storage), and an
 * answer, which arrives in softirq context, is attributed to the socket's keeper.
 * A TCP segment may leave from softirq context (after an ACK): once a TCP socket
 * has an owner, its segments keep it. Both programs always let the packet pass.
 */
#include <bpf/bpf_endian.h>

#include "core/filter.bpf.h"
#include "core/record.bpf.h"

#define ETH_P_IP_   0x0800
#define ETH_P_IPV6_ 0x86DD
#define DNS_PORT    53
#define SKB_PASS    1

/* the task that sent a socket's first query: its records' header */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct vg_hdr);
} dns_owner SEC(".maps");

/* Where the DNS message of a packet lies, and its ends. */
struct dns_pkt {
	__u32 off;    /* payload offset from the network header */
	__u32 len;    /* payload bytes */
	__u16 family; /* AF_INET, AF_INET6 */
	__u8 proto;   /* 6 or 17 */
	__u16 lport;  /* this end's port */
	__u16 rport;  /* the other end's port */
	__u32 saddr4; /* IPv4 source */
	__u32 daddr4; /* IPv4 destination */
	__u8 s6[16];  /* IPv6 source */
	__u8 d6[16];  /* IPv6 destination */
};

/*
 * The cheap test every packet of the host pays: the protocol and the port that makes
 * it DNS (the destination on egress, the source on ingress), read in place from the
 * linear part of the packet (no helper call). 1: a DNS port, 0: not DNS, -1: the
 * headers are not in the linear part (the helper reads them).
 */
static __always_inline int dns_port_direct(struct __sk_buff *skb, bool egress)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u16 *ports;
	__u32 l4;
	__u8 *b = data;

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		if (data + 20 > end)
			return -1;
		if (b[9] != 17 && b[9] != 6)
			return 0;
		l4 = (b[0] & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		if (data + 40 > end)
			return -1;
		if (b[6] != 17 && b[6] != 6)
			return 0;
		l4 = 40;
	} else {
		return 0;
	}
	l4 &= 0x3f;
	ports = data + l4;
	if ((void *)(ports + 2) > end)
		return -1;
	return (egress ? ports[1] : ports[0]) == bpf_htons(DNS_PORT);
}

/*
 * Reads the headers: true when the packet is TCP or UDP with payload and port 53
 * on the side that makes it DNS (the destination on egress, the source on ingress).
 */
static __always_inline bool dns_locate(struct __sk_buff *skb, bool egress, struct dns_pkt *p)
{
	__u16 ports[2], port53;
	__u32 l4, total;
	__u8 b[20];

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		if (bpf_skb_load_bytes(skb, 0, b, 20))
			return false;
		/* fragments past the first carry no transport header */
		if ((b[6] & 0x1f) || b[7])
			return false;
		p->family = 2;
		p->proto = b[9];
		l4 = (b[0] & 0xf) * 4;
		__builtin_memcpy(&p->saddr4, b + 12, 4);
		__builtin_memcpy(&p->daddr4, b + 16, 4);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		/* the next header is the transport's: extension headers are not followed */
		if (bpf_skb_load_bytes(skb, 6, b, 1) || bpf_skb_load_bytes(skb, 8, p->s6, 16) ||
		    bpf_skb_load_bytes(skb, 24, p->d6, 16))
			return false;
		p->family = 10;
		p->proto = b[0];
		l4 = 40;
	} else {
		return false;
	}
	if (p->proto != 6 && p->proto != 17)
		return false;
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return false;
	port53 = bpf_htons(DNS_PORT);
	if ((egress ? ports[1] : ports[0]) != port53)
		return false;
	p->rport = DNS_PORT;
	p->lport = bpf_ntohs(egress ? ports[0] : ports[1]);
	if (p->proto == 17) {
		l4 += 8;
	} else {
		if (bpf_skb_load_bytes(skb, l4 + 12, b, 1))
			return false;
		l4 += (b[0] >> 4) * 4;
	}
	total = skb->len;
	if (l4 >= total)
		return false; /* no payload: a bare TCP ACK, SYN or FIN */
	p->off = l4;
	p->len = total - l4;
	return true;
}

static __always_inline void dns_addrs(struct vg_dns *e, const struct dns_pkt *p, bool egress)
{
	if (p->family == 2) {
		__builtin_memcpy(e->laddr, egress ? &p->saddr4 : &p->daddr4, 4);
		__builtin_memcpy(e->raddr, egress ? &p->daddr4 : &p->saddr4, 4);
	} else {
		__builtin_memcpy(e->laddr, egress ? p->s6 : p->d6, 16);
		__builtin_memcpy(e->raddr, egress ? p->d6 : p->s6, 16);
	}
}

static __always_inline int dns_hook(struct __sk_buff *skb, bool egress)
{
	struct vg_filter_type *f = filter_get(VG_EV_DNS);
	struct bpf_sock *sk;
	struct vg_hdr *own = NULL;
	struct dns_pkt p = {};
	struct vg_dns *e;
	__u32 n, flags = 0;
	__u64 wake = BPF_RB_NO_WAKEUP;

	/* no rule needs DNS: nothing is read */
	if (f && f->mode == VG_FILTER_NONE)
		return SKB_PASS;
	if (!dns_port_direct(skb, egress))
		return SKB_PASS;
	if (!dns_locate(skb, egress, &p))
		return SKB_PASS;
	count(VG_EV_DNS, CNT_SEEN);
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		own =
		    bpf_sk_storage_get(&dns_owner, sk, 0, egress ? BPF_SK_STORAGE_GET_F_CREATE : 0);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(VG_EV_DNS, CNT_LOST);
		return SKB_PASS;
	}
	if (egress && (p.proto == 17 || !own || !own->ts_ns)) {
		/* the sender's context: the task is the one that sent it */
		hdr_fill(&e->hdr, bpf_get_current_task_btf(), VG_EV_DNS);
		if (own)
			__builtin_memcpy(own, &e->hdr, sizeof(*own));
	} else if (own && own->ts_ns) {
		__builtin_memcpy(&e->hdr, own, sizeof(e->hdr));
		flags |= VG_DF_OWNER_SOCK;
	} else {
		__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
		e->hdr.cgroup_id = bpf_skb_cgroup_id(skb);
		e->hdr.loginuid = (__u32)-1;
		flags |= VG_DF_NO_OWNER;
	}
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->hdr.type = VG_EV_DNS;
	e->hdr.size = sizeof(*e);
	if (!egress)
		flags |= VG_DF_ANSWER;
	if (p.proto == 6)
		flags |= VG_DF_TCP;
	n = p.len;
	if (n > VG_DNS_MSG_MAX) {
		n = VG_DNS_MSG_MAX;
		flags |= VG_DF_TRUNC;
	}
	e->hdr.flags = (e->hdr.flags & 0xff) | flags;
	e->family = p.family;
	e->protocol = p.proto;
	e->pad0 = 0;
	e->lport = p.lport;
	e->rport = p.rport;
	e->wire_len = p.len;
	e->sock_cookie = bpf_get_socket_cookie(skb);
	__builtin_memset(e->laddr, 0, sizeof(e->laddr));
	__builtin_memset(e->raddr, 0, sizeof(e->raddr));
	dns_addrs(e, &p, egress);
	_Static_assert(!(VG_DNS_MSG_MAX & (VG_DNS_MSG_MAX - 1)), "a power of two");
	if (n > VG_DNS_MSG_MAX)
		n = VG_DNS_MSG_MAX;
	if (n) {
		/* 1..VG_DNS_MSG_MAX in a form every verifier bounds: an older one (6.1)
		 * learns no lower bound from n != 0, and the copy's size may not be 0 */
		barrier_var(n);
		n = ((n - 1) & (VG_DNS_MSG_MAX - 1)) + 1;
		if (bpf_skb_load_bytes(skb, p.off, e->msg, n))
			n = 0;
	}
	if (!n)
		count(VG_EV_DNS, CNT_READ_ERR);
	e->msg_len = n;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= vg_cfg.wake_bytes)
		wake = BPF_RB_FORCE_WAKEUP;
	bpf_ringbuf_submit(e, wake);
	count(VG_EV_DNS, CNT_SENT);
	return SKB_PASS;
}

/* Egress of every socket under the cgroup v2 root: queries to port 53. */
SEC("cgroup_skb/egress")
int vg_dns_egress(struct __sk_buff *skb)
{
	return dns_hook(skb, true);
}

/* Ingress of every socket under the cgroup v2 root: answers from port 53. */
SEC("cgroup_skb/ingress")
int vg_dns_ingress(struct __sk_buff *skb)
{
	return dns_hook(skb, false);
}
