/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dispatch.bpf.c - the raw sys_exit dispatcher. x86 does not fire the
 * per-syscall tracepoints for ia32 (32-bit) syscalls, and a kernel without
 * module support has none for the module calls; raw_syscalls:sys_exit fires for
 * every syscall of both ABIs. This one program runs there and tail-calls the
 * sensor for the call by its number: native at its number, ia32 at
 * VG_DISPATCH_IA32 + its number. The loader fills the array from the syscall
 * table; an empty slot (every native call but the module ones) ends the program.
 */
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, VG_DISPATCH_MAX);
	__type(key, __u32);
	__type(value, __u32);
} sys_exit_progs SEC(".maps");

SEC("raw_tp/sys_exit")
int vg_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	/* it runs for every syscall: two plain loads, no helper reads */
	__u32 nr = sys_nr(sys_regs());

	if (sys_compat())
		nr += VG_DISPATCH_IA32;
	if (nr < VG_DISPATCH_MAX)
		bpf_tail_call(ctx, &sys_exit_progs, nr);
	return 0;
}
