// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * floor_xdp.bpf.c - the floor of the packet storm: an XDP program and a cgroup_skb
 * egress program that let everything through and do nothing else, attached where
 * vigil's block programs go, so a packet pays exactly the kernel's cost of running
 * a program there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int floor_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("cgroup_skb/egress")
int floor_egress(struct __sk_buff *skb)
{
	return 1;
}
