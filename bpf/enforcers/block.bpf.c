// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * block.bpf.c - blocked addresses: traffic from one is dropped at XDP on the node's
 * interfaces (before the stack sees it) and at cgroup_skb ingress of the cgroup v2
 * root (what reaches a local socket another way), traffic to one at cgroup_skb
 * egress of the root (every socket of the host and its containers). One LPM trie of IPv4 (mapped)
 * and IPv6 prefixes, each with the boot-clock time it lifts (0: until removed); an expired entry no
 * longer drops, and user space deletes it.
 *
 * The trie and the attachments are pinned in bpffs by user space
 * (src/respond/netblock.c), so a block holds while the agent restarts or after it
 * crashed: nothing here depends on the agent running.
 *
 * The same XDP and egress programs count traffic (core/traffic.bpf.h) while traffic
 * monitoring is on: an interface has one XDP program, and this is it. A packet is
 * counted before a block drops it, so a blocked flood still shows.
 */
#include <bpf/bpf_endian.h>

#include "core/record.bpf.h"
#include "core/traffic.bpf.h"

#define ETH_P_IP_     0x0800
#define ETH_P_IPV6_   0x86DD
#define ETH_P_8021Q_  0x8100
#define ETH_P_8021AD_ 0x88A8
#define ETH_HLEN_     14

#define SKB_PASS 1 /* cgroup_skb verdicts */
#define SKB_DROP 0

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vg_block_key);
	__type(value, struct vg_block_val);
} net_blocks SEC(".maps");

/* The node's quarantine (events.h) and what it lets through. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_quarantine);
} net_quarantine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vg_block_key);
	__type(value, struct vg_isolate_allow);
} net_quarantine_allow SEC(".maps");

/* The quarantine when one is in force now, else NULL. */
static __always_inline struct vg_quarantine *quarantine_now(void)
{
	__u32 zero = 0;
	struct vg_quarantine *q = bpf_map_lookup_elem(&net_quarantine, &zero);

	if (!q || !q->until_ns || bpf_ktime_get_boot_ns() >= q->until_ns)
		return NULL;
	return q;
}

/* Whether an allowlist (trie) lets addr through, with either port (0: not TCP/UDP). */
static __always_inline bool allow_lets(void *trie, const __u8 *addr, __u16 p1, __u16 p2)
{
	struct vg_block_key k = {.prefixlen = 128};
	struct vg_isolate_allow *a;

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	a = bpf_map_lookup_elem(trie, &k);
	if (!a)
		return false;
	if (!a->n)
		return true;
	for (int i = 0; i < VG_ISOLATE_PORTS; i++)
		if (i < a->n && (a->port[i] == p1 || a->port[i] == p2))
			return true;
	return false;
}

/* Whether addr (16 bytes, IPv4 mapped) is blocked now; counts the drop when it is. */
static __always_inline bool blocked(const __u8 *addr)
{
	struct vg_block_key k = {.prefixlen = 128};
	struct vg_block_val *v;

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	v = bpf_map_lookup_elem(&net_blocks, &k);
	if (!v || (v->until_ns && bpf_ktime_get_boot_ns() >= v->until_ns))
		return false;
	__sync_fetch_and_add(&v->dropped, 1);
	return true;
}

static __always_inline void mapped4(__u8 *out, __u32 ip4)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &ip4, 4);
}

/* Ingress: the packet's source address, IPv4 or IPv6 behind at most two VLAN tags. */
SEC("xdp")
int vg_block_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct vg_quarantine *q;
	__u32 off = ETH_HLEN_, l3, l3len;
	__u16 proto, sport = 0, dport = 0;
	__u8 addr[16], l4proto;
	bool count, syn = false, later_frag = false;

	if (data + ETH_HLEN_ > end)
		return XDP_PASS;
	proto = *(__u16 *)(data + 12);
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q_) && proto != bpf_htons(ETH_P_8021AD_))
			break;
		if (data + off + 4 > end)
			return XDP_PASS;
		proto = *(__u16 *)(data + off + 2);
		off += 4;
	}
	l3 = off;
	if (proto == bpf_htons(ETH_P_IP_)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		mapped4(addr, ip->saddr);
		l4proto = ip->protocol;
		off += ip->ihl * 4;
		/* a fragment past the first has no transport header: its bytes are payload */
		later_frag = ip->frag_off & bpf_htons(0x1fff);
	} else if (proto == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(addr, &ip6->saddr, sizeof(addr));
		l4proto = ip6->nexthdr;
		off += sizeof(*ip6);
	} else {
		return XDP_PASS; /* ARP and the rest: a quarantined node stays reachable */
	}
	l3len = (__u32)(end - data) - l3;
	q = quarantine_now();
	count = traffic_on();
	off &= 0xff;
	if ((q || count) && (l4proto == 6 || l4proto == 17) && data + off + 4 <= end) {
		sport = bpf_ntohs(*(__u16 *)(data + off));
		dport = bpf_ntohs(*(__u16 *)(data + off + 2));
		if (l4proto == 6 && data + off + 14 <= end)
			syn = (*(__u8 *)(data + off + 13) & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_)) ==
			      TCP_FLAG_SYN_;
	}
	if (count)
		traffic_count(addr, later_frag ? 0 : dport, l4proto, VG_TRAFFIC_IN, l3len,
			      syn && !later_frag);
	if (q) {
		if (!allow_lets(&net_quarantine_allow, addr, sport, dport)) {
			__sync_fetch_and_add(&q->dropped, 1);
			return XDP_DROP;
		}
	}
	return blocked(addr) ? XDP_DROP : XDP_PASS;
}

/* What an isolated container (net_isolated, maps.bpf.h) may still reach (events.h). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct vg_block_key);
	__type(value, struct vg_isolate_allow);
} net_isolate_allow SEC(".maps");

/* A packet at a socket's hook, as the other end's address and port. */
struct peer {
	__u8 addr[16]; /* IPv4 mapped */
	__u16 port;    /* host order; 0 for what is not TCP or UDP */
	__u16 lport;   /* this end's port, likewise */
	__u8 proto;    /* IPPROTO_* of the transport */
	__u32 l4;      /* offset of its header */
};

/* The other end of skb: its source on ingress, its destination on egress. */
static __always_inline bool skb_peer(struct __sk_buff *skb, bool egress, struct peer *p)
{
	__u8 proto = 0, b0;
	__u32 l4 = 0, a4;
	__u16 ports[2];

	p->port = p->lport = 0;
	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		if (bpf_skb_load_bytes(skb, 0, &b0, 1) || bpf_skb_load_bytes(skb, 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, egress ? 16 : 12, &a4, 4))
			return false;
		mapped4(p->addr, a4);
		l4 = (b0 & 0xf) * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		if (bpf_skb_load_bytes(skb, 6, &proto, 1) ||
		    bpf_skb_load_bytes(skb, egress ? 24 : 8, p->addr, 16))
			return false;
		l4 = 40;
	} else {
		return false;
	}
	p->proto = proto;
	p->l4 = l4;
	if ((proto == 6 || proto == 17) && !bpf_skb_load_bytes(skb, l4, ports, sizeof(ports))) {
		p->port = bpf_ntohs(egress ? ports[1] : ports[0]);
		p->lport = bpf_ntohs(egress ? ports[0] : ports[1]);
	}
	return true;
}

/* Whether skb's socket belongs to an isolated container and p is not allowed to it. */
static __always_inline bool isolated(struct __sk_buff *skb, const struct peer *p)
{
	__u64 cg = bpf_skb_cgroup_id(skb);
	struct vg_isolate_val *v = bpf_map_lookup_elem(&net_isolated, &cg);

	/* the allowlist's ports are the other end's */
	if (!v || allow_lets(&net_isolate_allow, p->addr, p->port, p->port))
		return false;
	__sync_fetch_and_add(&v->dropped, 1);
	return true;
}

/* Whether the node is quarantined for skb's socket and p is neither loopback nor allowed. */
static __always_inline bool quarantined(struct __sk_buff *skb, const struct peer *p)
{
	struct vg_quarantine *q = quarantine_now();
	__u64 hi, lo;

	if (!q)
		return false;
	if (q->scope_cg && bpf_skb_ancestor_cgroup_id(skb, q->scope_lvl) != q->scope_cg)
		return false;
	/* loopback: 127.0.0.0/8 and ::1 */
	__builtin_memcpy(&hi, p->addr, 8);
	__builtin_memcpy(&lo, p->addr + 8, 8);
	if ((!hi && p->addr[10] == 0xff && p->addr[11] == 0xff && p->addr[12] == 127) ||
	    (!hi && lo == bpf_cpu_to_be64(1)))
		return false;
	if (allow_lets(&net_quarantine_allow, p->addr, p->port, p->lport))
		return false;
	__sync_fetch_and_add(&q->dropped, 1);
	return true;
}

/* One cgroup_skb hook: quarantine, isolation, then the blocked addresses. */
static __always_inline int skb_verdict(struct __sk_buff *skb, bool egress)
{
	struct peer p;

	if (!skb_peer(skb, egress, &p))
		return SKB_PASS;
	if (egress && traffic_on()) {
		__u8 flags = 0;

		if (p.proto == 6)
			bpf_skb_load_bytes(skb, p.l4 + 13, &flags, 1);
		traffic_count(p.addr, p.port, p.proto, VG_TRAFFIC_OUT, skb->len,
			      (flags & (TCP_FLAG_SYN_ | TCP_FLAG_ACK_)) == TCP_FLAG_SYN_);
	}
	if (quarantined(skb, &p))
		return SKB_DROP;
	if (isolated(skb, &p))
		return SKB_DROP;
	return blocked(p.addr) ? SKB_DROP : SKB_PASS;
}

/* Egress of every socket under the cgroup v2 root: the destination address. */
SEC("cgroup_skb/egress")
int vg_block_egress(struct __sk_buff *skb)
{
	return skb_verdict(skb, true);
}

/* Ingress of every socket under the cgroup v2 root: the source address (traffic that
 * came in on an interface without XDP: loopback, a container's veth, a tunnel). */
SEC("cgroup_skb/ingress")
int vg_block_ingress(struct __sk_buff *skb)
{
	return skb_verdict(skb, false);
}
