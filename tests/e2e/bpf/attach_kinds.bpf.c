// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach_kinds.bpf.c - one trivial program per attach kind of the loader, each
 * counting its calls in .bss, so that the loader's e2e test can attach every kind
 * through the loader's table, drive traffic or calls, and see the counters move.
 * Only the test driver's own process (target_pid) is counted where a program
 * sees every process; the network programs run in the test's own netns and
 * cgroup.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_OK_ 0

const volatile __u32 target_pid = 0;	 /* set by the driver before load */
const volatile bool refuse_load = false; /* makes count_refusable unverifiable */

/* a hash lookup may return NULL whatever the key (an array's may not, since 6.x) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} refusable_map SEC(".maps");

__u64 hits_tracepoint;	   /* getppid calls of target_pid, tp */
__u64 hits_raw_tracepoint; /* syscalls of target_pid, raw_tp */
__u64 hits_cgroup;	   /* IPv4 connects in the test's cgroup */
__u64 hits_xdp;		   /* packets received on the test's interface */
__u64 hits_tc_ingress;	   /* packets in, clsact ingress */
__u64 hits_tc_egress;	   /* packets out, clsact egress */
__u64 hits_lsm;		   /* file opens, if BPF LSM ever runs here */
__u64 hits_uprobe;	   /* calls of the driver's probe target */
__u64 hits_refusable;	   /* getppid calls of target_pid, when it loads */

static __always_inline bool is_target(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32) == target_pid;
}

SEC("tp/syscalls/sys_enter_getppid")
int count_tracepoint(void *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&hits_tracepoint, 1);
	return 0;
}

/*
 * Loads only while refuse_load is false: the verifier knows rodata's values and
 * skips the branch; with it true it meets a map value used without a NULL check.
 */
SEC("tp/syscalls/sys_enter_getppid")
int count_refusable(void *ctx)
{
	if (refuse_load) {
		__u32 zero = 0;
		__u64 *v = bpf_map_lookup_elem(&refusable_map, &zero);

		*v += 1;
		return 0;
	}
	if (is_target())
		__sync_fetch_and_add(&hits_refusable, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int count_raw_tracepoint(void *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&hits_raw_tracepoint, 1);
	return 0;
}

SEC("cgroup/connect4")
int count_cgroup(struct bpf_sock_addr *ctx)
{
	__sync_fetch_and_add(&hits_cgroup, 1);
	return 1; /* allow */
}

SEC("xdp")
int count_xdp(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&hits_xdp, 1);
	return XDP_PASS;
}

SEC("tc")
int count_tc_ingress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&hits_tc_ingress, 1);
	return TC_ACT_OK_;
}

SEC("tc")
int count_tc_egress(struct __sk_buff *skb)
{
	__sync_fetch_and_add(&hits_tc_egress, 1);
	return TC_ACT_OK_;
}

SEC("lsm/file_open")
int BPF_PROG(count_lsm, struct file *file)
{
	__sync_fetch_and_add(&hits_lsm, 1);
	return 0;
}

SEC("uprobe")
int count_uprobe(struct pt_regs *ctx)
{
	if (is_target())
		__sync_fetch_and_add(&hits_uprobe, 1);
	return 0;
}
