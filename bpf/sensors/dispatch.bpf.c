/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dispatch.bpf.c - the raw sys_exit dispatcher. x86 does not fire the
 * per-syscall tracepoints for ia32 (32-bit) syscalls, and a kernel without
 * module support has none for the module calls; raw_syscalls:sys_exit fires for
 * every syscall of both ABIs. This one program runs there and tail-calls the
 * sensor for the call by its number: native at its number, ia32 at
 * VG_DISPATCH_IA32 + its number. The loader fills the array from the syscall
 * table; an empty slot (every native call but the module ones) ends the program.
 * After an ia32 call the thread's ids are stashed (stash_ia32).
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
	/* it runs for every syscall: two helpers, two plain loads, one tail call */
	__u32 nr = sys_nr(sys_regs());
	bool compat = sys_compat();

	if (compat)
		nr += VG_DISPATCH_IA32;
	if (nr < VG_DISPATCH_MAX)
		bpf_tail_call(ctx, &sys_exit_progs, nr);
	/* an empty slot: the sensors stash after the ia32 calls they see, this after the rest */
	return compat ? stash_ia32() : 0;
}
