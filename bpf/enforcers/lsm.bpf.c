// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lsm.bpf.c - deny at BPF-LSM hooks for the calls whose rules test only who makes
 * them (proc.name, proc.exepath, container.id): ptrace, module loads, mount and
 * bpf(). A hook runs inside the call, before the kernel does its work, and returns
 * -EPERM for the rules vigil may act on; a kill rule of these calls is upgraded
 * to the same refusal plus SIGKILL. The hooks are below every way in (native and
 * ia32 calls, the new mount API). The file open and exec hooks are with their
 * sensors (file.bpf.c, proc.bpf.c), which build those records. The programs load
 * only where the kernel runs BPF LSM; elsewhere the loader switches them off and
 * the same rules are decided where they were before (kill).
 */
#include "core/enforce.bpf.h"
#include "core/record.bpf.h"

#define PTRACE_MODE_ATTACH_ 0x02

/* PTRACE_ATTACH and PTRACE_SEIZE, and the same access through /proc/PID/mem and
 * process_vm_writev (ptrace's attach check guards them all) */
SEC("lsm/ptrace_access_check")
int BPF_PROG(vg_lsm_ptrace, struct task_struct *child, unsigned int mode)
{
	if (!(mode & PTRACE_MODE_ATTACH_))
		return 0;
	return enforce_lsm_who(VG_SYS_PTRACE, VG_SYS_PTRACE, VG_EV_PTRACE);
}

/* PTRACE_TRACEME: the caller asks its parent to trace it */
SEC("lsm/ptrace_traceme")
int BPF_PROG(vg_lsm_traceme, struct task_struct *parent)
{
	return enforce_lsm_who(VG_SYS_PTRACE, VG_SYS_PTRACE, VG_EV_PTRACE);
}

/* finit_module: the module's file is read by the kernel */
SEC("lsm/kernel_read_file")
int BPF_PROG(vg_lsm_kread, struct file *file, enum kernel_read_file_id id)
{
	if (id != bpf_core_enum_value(enum kernel_read_file_id, READING_MODULE))
		return 0;
	return enforce_lsm_who(VG_SYS_INIT_MODULE, VG_SYS_FINIT_MODULE, VG_EV_MODULE);
}

/* init_module: the module's image comes from user memory */
SEC("lsm/kernel_load_data")
int BPF_PROG(vg_lsm_kload, enum kernel_load_data_id id)
{
	if (id != bpf_core_enum_value(enum kernel_load_data_id, LOADING_MODULE))
		return 0;
	return enforce_lsm_who(VG_SYS_INIT_MODULE, VG_SYS_FINIT_MODULE, VG_EV_MODULE);
}

/* mount(2), every form of it (new, bind, remount, move) */
SEC("lsm/sb_mount")
int BPF_PROG(vg_lsm_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags)
{
	return enforce_lsm_who(VG_SYS_MOUNT, VG_SYS_MOUNT, VG_EV_MOUNT);
}

/* move_mount(2): the new mount API's way to attach a mount (fsopen, fsmount) */
SEC("lsm/move_mount")
int BPF_PROG(vg_lsm_move_mount, const struct path *from_path, const struct path *to_path)
{
	return enforce_lsm_who(VG_SYS_MOUNT, VG_SYS_MOUNT, VG_EV_MOUNT);
}

/* bpf(2), every command (vigil itself is never refused: enf_why_not) */
SEC("lsm/bpf")
int BPF_PROG(vg_lsm_bpf, int cmd)
{
	return enforce_lsm_who(VG_SYS_BPF, VG_SYS_BPF, VG_EV_BPF);
}
