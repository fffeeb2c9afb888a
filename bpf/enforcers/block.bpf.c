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
 */
#include <bpf/bpf_endian.h>

#include "core/record.bpf.h"

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
	__u32 off = ETH_HLEN_;
	__u8 addr[16];
	__u16 proto;

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
	if (proto == bpf_htons(ETH_P_IP_)) {
		struct iphdr *ip = data + off;

		if ((void *)(ip + 1) > end)
			return XDP_PASS;
		mapped4(addr, ip->saddr);
	} else if (proto == bpf_htons(ETH_P_IPV6_)) {
		struct ipv6hdr *ip6 = data + off;

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(addr, &ip6->saddr, sizeof(addr));
	} else {
		return XDP_PASS;
	}
	return blocked(addr) ? XDP_DROP : XDP_PASS;
}

/* Egress of every socket under the cgroup v2 root: the destination address. */
SEC("cgroup_skb/egress")
int vg_block_egress(struct __sk_buff *skb)
{
	__u8 addr[16];

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		__u32 d;

		if (bpf_skb_load_bytes(skb, 16, &d, sizeof(d)))
			return SKB_PASS;
		mapped4(addr, d);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		if (bpf_skb_load_bytes(skb, 24, addr, sizeof(addr)))
			return SKB_PASS;
	} else {
		return SKB_PASS;
	}
	return blocked(addr) ? SKB_DROP : SKB_PASS;
}

/* Ingress of every socket under the cgroup v2 root: the source address (traffic that
 * came in on an interface without XDP: loopback, a container's veth, a tunnel). */
SEC("cgroup_skb/ingress")
int vg_block_ingress(struct __sk_buff *skb)
{
	__u8 addr[16];

	if (skb->protocol == bpf_htons(ETH_P_IP_)) {
		__u32 s;

		if (bpf_skb_load_bytes(skb, 12, &s, sizeof(s)))
			return SKB_PASS;
		mapped4(addr, s);
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6_)) {
		if (bpf_skb_load_bytes(skb, 8, addr, sizeof(addr)))
			return SKB_PASS;
	} else {
		return SKB_PASS;
	}
	return blocked(addr) ? SKB_DROP : SKB_PASS;
}
