// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * floor.bpf.c - the physical floor of the benchmarks: programs that do nothing.
 * The loader attaches them to every tracepoint vigil uses, so a workload pays
 * exactly the kernel's cost of running a BPF program there and nothing else.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* one program serves every tp/<category>/<name>: it is attached many times */
SEC("tp")
int floor_tp(void *ctx)
{
	return 0;
}

/* and one every raw_tp/<name> */
SEC("raw_tp")
int floor_raw_tp(void *ctx)
{
	return 0;
}
