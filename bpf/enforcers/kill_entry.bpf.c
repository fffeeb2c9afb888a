// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kill_entry.bpf.c - kill rules decided at a syscall's entry: the calls that are
 * neither exec, a file call nor connect, send or bind (set*id, capset, ptrace, the
 * module calls, mount, unshare, setns, bpf, memfd_create, kill, accept, listen, ...).
 * The signal is sent before the call runs: the call may still complete (a fatal
 * signal pending makes the kernel's killable waits give up, so a blocking accept
 * or a module load waiting on a lock does not), and the process never returns to
 * user space after it.
 *
 * One program at raw_syscalls:sys_enter, which fires for every syscall of both
 * ABIs: it is attached by user space only while the policy in force has such rules
 * (vg_enf_gen.entry), so a host without them pays nothing. Per call it does one
 * array lookup by number (enf_sys_codes, filled from the syscall table at start)
 * and, for a call vigil knows, the generation's masks; the header is built only when
 * a rule matched. The exit sensors leave these rules to it (ENF_IN_SYSCALL); an
 * io_uring request has no syscall entry, so its completion still decides them.
 */
#include "core/enforce.bpf.h"
#include "core/record.bpf.h"
#include "core/syscall.bpf.h"

/* syscall number (ia32 at VG_DISPATCH_IA32 + its number) -> code | kind << 16; 0: none */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VG_DISPATCH_MAX);
	__type(key, __u32);
	__type(value, __u32);
} enf_sys_codes SEC(".maps");

/* The entry rules for the call of syscall code code (its records of type type). */
static __noinline int kill_entry(__u32 code, __u32 type)
{
	struct vg_enf_state *st = enf_state_get();
	struct vg_enf_gen *g;
	struct vg_hdr h;
	__u32 gen, i;
	__u64 *m, mask;

	if (!st || code >= VG_SYS_MAX)
		return 0;
	gen = st->gen & 1;
	g = bpf_map_lookup_elem(&enf_gens, &gen);
	i = gen * VG_SYS_MAX + code;
	m = bpf_map_lookup_elem(&enf_codes, &i);
	if (!g || !m)
		return 0;
	mask = *m & g->kill & g->entry;
	if (!mask)
		return 0;
	mask = enf_kill_mask(gen, g, mask, NULL, 0, 0, NULL, bpf_get_current_pid_tgid() >> 32,
			     bpf_get_current_cgroup_id());
	if (!mask)
		return 0;
	__builtin_memset(&h, 0, sizeof(h));
	hdr_fill(&h, (struct task_struct *)bpf_get_current_task(), type);
	enf_kill_act(&h, gen, g, mask, VG_ENF_KILL_ENTRY);
	return 0;
}

/* attached to raw sys_enter by the loader's table, on demand: the section names no
 * target, so nothing that reads the object's sections (the benchmarks' floor) takes
 * it for a hook vigil always uses */
SEC("raw_tp")
int vg_kill_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct vg_enf_state *st = enf_state_get();
	__u32 nr, *v;

	if (!st || !st->enabled)
		return 0;
	nr = (__u32)ctx->args[1];
	if (nr >= VG_DISPATCH_IA32)
		return 0;
	if (sys_compat())
		nr += VG_DISPATCH_IA32;
	v = bpf_map_lookup_elem(&enf_sys_codes, &nr);
	if (!v || !*v)
		return 0;
	return kill_entry(*v & 0xffff, *v >> 16);
}
