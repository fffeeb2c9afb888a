/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * traffic.bpf.h - traffic counters (events.h, vg_traffic_*): per destination port
 * and protocol, and per other end and port, in per-CPU LRU hashes that user space
 * reads once per interval (src/daemon/traffic.c). Counted by the programs that also
 * apply the blocks (enforcers/block.bpf.c): one XDP program per interface serves
 * both. Off (one array lookup per packet) unless traffic_cfg says on.
 */
#ifndef VIGIL_TRAFFIC_BPF_H
#define VIGIL_TRAFFIC_BPF_H

#include "core/record.bpf.h"

#define TCP_FLAG_SYN_ 0x02
#define TCP_FLAG_ACK_ 0x10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_traffic_cfg);
} traffic_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, VG_TRAFFIC_PORTS_MAX);
	__type(key, struct vg_traffic_port_key);
	__type(value, struct vg_traffic_val);
} traffic_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, VG_TRAFFIC_SRCS_MAX);
	__type(key, struct vg_traffic_src_key);
	__type(value, struct vg_traffic_val);
} traffic_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vg_traffic_stats);
} traffic_stats SEC(".maps");

static __always_inline bool traffic_on(void)
{
	__u32 zero = 0;
	struct vg_traffic_cfg *c = bpf_map_lookup_elem(&traffic_cfg, &zero);

	return c && c->on;
}

/* Adds one packet to v (this CPU's value, so no atomics). */
static __always_inline void traffic_add(struct vg_traffic_val *v, __u32 len, bool syn, __u64 now)
{
	v->packets++;
	v->bytes += len;
	v->syn += syn;
	v->last_ns = now;
}

/* Makes key k in map with one packet; counts the new key in *made. */
static __always_inline void traffic_new(void *map, const void *k, __u32 len, bool syn, __u64 now,
					__u64 *made)
{
	struct vg_traffic_val v = {.packets = 1, .bytes = len, .syn = syn, .last_ns = now};

	/* another CPU may have made it meanwhile: BPF_NOEXIST leaves its counts */
	if (!bpf_map_update_elem(map, k, &v, BPF_NOEXIST))
		(*made)++;
	else {
		struct vg_traffic_val *e = bpf_map_lookup_elem(map, k);

		if (e)
			traffic_add(e, len, syn, now);
	}
}

/* One packet: addr is the other end (16 bytes, IPv4 mapped), port the destination's. */
static __always_inline void traffic_count(const __u8 *addr, __u16 port, __u8 proto, __u8 dir,
					  __u32 len, bool syn)
{
	struct vg_traffic_port_key pk = {.port = port, .proto = proto, .dir = dir};
	struct vg_traffic_src_key sk = {.port = port, .proto = proto, .dir = dir};
	__u64 now = bpf_ktime_get_boot_ns();
	struct vg_traffic_stats *st;
	struct vg_traffic_val *v;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&traffic_stats, &zero);
	if (!st)
		return;
	v = bpf_map_lookup_elem(&traffic_ports, &pk);
	if (v)
		traffic_add(v, len, syn, now);
	else
		traffic_new(&traffic_ports, &pk, len, syn, now, &st->port_keys);
	__builtin_memcpy(sk.addr, addr, sizeof(sk.addr));
	v = bpf_map_lookup_elem(&traffic_srcs, &sk);
	if (v)
		traffic_add(v, len, syn, now);
	else
		traffic_new(&traffic_srcs, &sk, len, syn, now, &st->src_keys);
}

#endif /* VIGIL_TRAFFIC_BPF_H */
