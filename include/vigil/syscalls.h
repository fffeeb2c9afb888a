/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * syscalls.h - the one table of the syscalls vigil knows, shared by the BPF
 * sensors and user space (plain macros: no libc, no types). Each row:
 *
 *   X(NAME, code, falco, kind, x86_64, ia32)
 *
 *   NAME    enum vg_syscall gets VG_SYS_NAME from it (events.h)
 *   code    its value: a record's syscall field and the rule engine's event code;
 *           never renumbered
 *   falco   Falco's evt.type name
 *   kind    the enum vg_type of the records it produces
 *   x86_64  its number in the native x86-64 syscall table (raw_syscalls:sys_enter id)
 *   ia32    its number in the 32-bit (ia32) table, -1 when there is none
 *
 * Numbers are the kernel's (arch/x86/entry/syscalls/syscall_{64,32}.tbl). Include
 * it after enum vg_type is declared when the kind column is used.
 */
#ifndef VIGIL_SYSCALLS_H
#define VIGIL_SYSCALLS_H

/* All of them. */
#define VG_SYSCALLS(X) VG_SYSCALLS_EXEC(X) VG_SYSCALLS_EXIT(X)

/* execve: its records come from the exec sensor (sched_process_exec), not a syscall exit */
#define VG_SYSCALLS_EXEC(X) X(EXECVE, 1, "execve", VG_EV_EXEC, 59, 11)

/*
 * The rest: each has a sensor at its syscall exit, named vg_ and its Falco name,
 * and its 32-bit twin vg_<name>_32, which the raw sys_exit dispatcher reaches by
 * the ia32 number. The traced ones attach to their per-syscall exit tracepoint;
 * the dispatched ones are reached through the dispatcher for both ABIs, so they
 * do not depend on a tracepoint the kernel may lack (no module syscall
 * tracepoints without CONFIG_MODULES, yet the syscall still runs and fails).
 */
#define VG_SYSCALLS_EXIT(X) VG_SYSCALLS_TRACED(X) VG_SYSCALLS_DISPATCHED(X)

#define VG_SYSCALLS_TRACED(X)                                                                      \
	X(OPEN, 2, "open", VG_EV_OPEN, 2, 5)                                                       \
	X(OPENAT, 3, "openat", VG_EV_OPEN, 257, 295)                                               \
	X(OPENAT2, 4, "openat2", VG_EV_OPEN, 437, 437)                                             \
	X(CREAT, 5, "creat", VG_EV_OPEN, 85, 8)                                                    \
	X(UNLINK, 6, "unlink", VG_EV_UNLINK, 87, 10)                                               \
	X(UNLINKAT, 7, "unlinkat", VG_EV_UNLINK, 263, 301)                                         \
	X(RMDIR, 8, "rmdir", VG_EV_UNLINK, 84, 40)                                                 \
	X(RENAME, 9, "rename", VG_EV_RENAME, 82, 38)                                               \
	X(RENAMEAT, 10, "renameat", VG_EV_RENAME, 264, 302)                                        \
	X(RENAMEAT2, 11, "renameat2", VG_EV_RENAME, 316, 353)                                      \
	X(MKDIR, 12, "mkdir", VG_EV_MKDIR, 83, 39)                                                 \
	X(MKDIRAT, 13, "mkdirat", VG_EV_MKDIR, 258, 296)                                           \
	X(CHMOD, 14, "chmod", VG_EV_CHMOD, 90, 15)                                                 \
	X(FCHMOD, 15, "fchmod", VG_EV_CHMOD, 91, 94)                                               \
	X(FCHMODAT, 16, "fchmodat", VG_EV_CHMOD, 268, 306)                                         \
	X(FCHMODAT2, 17, "fchmodat2", VG_EV_CHMOD, 452, 452)                                       \
	X(CHOWN, 18, "chown", VG_EV_CHOWN, 92, 212)                                                \
	X(FCHOWN, 19, "fchown", VG_EV_CHOWN, 93, 207)                                              \
	X(LCHOWN, 20, "lchown", VG_EV_CHOWN, 94, 198)                                              \
	X(FCHOWNAT, 21, "fchownat", VG_EV_CHOWN, 260, 298)                                         \
	X(LINK, 22, "link", VG_EV_LINK, 86, 9)                                                     \
	X(LINKAT, 23, "linkat", VG_EV_LINK, 265, 303)                                              \
	X(SYMLINK, 24, "symlink", VG_EV_SYMLINK, 88, 83)                                           \
	X(SYMLINKAT, 25, "symlinkat", VG_EV_SYMLINK, 266, 304)                                     \
	X(TRUNCATE, 26, "truncate", VG_EV_TRUNCATE, 76, 92)                                        \
	X(FTRUNCATE, 27, "ftruncate", VG_EV_TRUNCATE, 77, 93)                                      \
	X(UTIMENSAT, 28, "utimensat", VG_EV_UTIMES, 280, 320)                                      \
	X(FUTIMESAT, 29, "futimesat", VG_EV_UTIMES, 261, 299)                                      \
	X(UTIMES, 30, "utimes", VG_EV_UTIMES, 235, 271)                                            \
	X(UTIME, 31, "utime", VG_EV_UTIMES, 132, 30)                                               \
	X(IOCTL, 32, "ioctl", VG_EV_CHATTR, 16, 54)                                                \
	X(CONNECT, 40, "connect", VG_EV_CONNECT, 42, 362)                                          \
	X(ACCEPT, 41, "accept", VG_EV_ACCEPT, 43, -1)                                              \
	X(ACCEPT4, 42, "accept4", VG_EV_ACCEPT, 288, 364)                                          \
	X(BIND, 43, "bind", VG_EV_BIND, 49, 361)                                                   \
	X(LISTEN, 44, "listen", VG_EV_LISTEN, 50, 363)                                             \
	X(SENDTO, 45, "sendto", VG_EV_SEND, 44, 369)                                               \
	X(SENDMSG, 46, "sendmsg", VG_EV_SEND, 46, 370)                                             \
	X(RECVFROM, 47, "recvfrom", VG_EV_RECV, 45, 371)                                           \
	X(RECVMSG, 48, "recvmsg", VG_EV_RECV, 47, 372)                                             \
	X(SOCKET, 49, "socket", VG_EV_SOCKET, 41, 359)                                             \
	X(DUP, 50, "dup", VG_EV_DUP, 32, 41)                                                       \
	X(DUP2, 51, "dup2", VG_EV_DUP, 33, 63)                                                     \
	X(DUP3, 52, "dup3", VG_EV_DUP, 292, 330)                                                   \
	X(FCNTL, 53, "fcntl", VG_EV_DUP, 72, 55)                                                   \
	X(SETUID, 60, "setuid", VG_EV_SETID, 105, 213)                                             \
	X(SETGID, 61, "setgid", VG_EV_SETID, 106, 214)                                             \
	X(SETREUID, 62, "setreuid", VG_EV_SETID, 113, 203)                                         \
	X(SETREGID, 63, "setregid", VG_EV_SETID, 114, 204)                                         \
	X(SETRESUID, 64, "setresuid", VG_EV_SETID, 117, 208)                                       \
	X(SETRESGID, 65, "setresgid", VG_EV_SETID, 119, 210)                                       \
	X(CAPSET, 66, "capset", VG_EV_CAPSET, 126, 185)                                            \
	X(PTRACE, 67, "ptrace", VG_EV_PTRACE, 101, 26)                                             \
	X(MOUNT, 71, "mount", VG_EV_MOUNT, 165, 21)                                                \
	X(UMOUNT2, 72, "umount2", VG_EV_UMOUNT, 166, 52)                                           \
	X(UNSHARE, 73, "unshare", VG_EV_UNSHARE, 272, 310)                                         \
	X(SETNS, 74, "setns", VG_EV_SETNS, 308, 346)                                               \
	X(BPF, 75, "bpf", VG_EV_BPF, 321, 357)                                                     \
	X(MEMFD_CREATE, 76, "memfd_create", VG_EV_MEMFD, 319, 356)                                 \
	X(CHROOT, 77, "chroot", VG_EV_CHROOT, 161, 61)                                             \
	X(KILL, 78, "kill", VG_EV_KILL, 62, 37)                                                    \
	X(TKILL, 79, "tkill", VG_EV_KILL, 200, 238)                                                \
	X(TGKILL, 80, "tgkill", VG_EV_KILL, 234, 270)                                              \
	X(IO_URING_SETUP, 81, "io_uring_setup", VG_EV_IO_URING, 425, 425)                          \
	X(PROCESS_VM_WRITEV, 82, "process_vm_writev", VG_EV_PROCMEM, 311, 348)

#define VG_SYSCALLS_DISPATCHED(X)                                                                  \
	X(INIT_MODULE, 68, "init_module", VG_EV_MODULE, 175, 128)                                  \
	X(FINIT_MODULE, 69, "finit_module", VG_EV_MODULE, 313, 350)                                \
	X(DELETE_MODULE, 70, "delete_module", VG_EV_MODULE, 176, 129)

/*
 * The ia32 table has a second, older number for some calls: the 16-bit-id forms
 * (chown, setuid, ... before the *32 calls the table above lists). Rows:
 * X(NAME, ia32) with NAME as above. accept has no ia32 number of its own: 32-bit
 * programs reach it (and the other socket calls) through socketcall (102).
 */
#define VG_SYSCALLS_IA32_LEGACY(X)                                                                 \
	X(CHOWN, 182)                                                                              \
	X(FCHOWN, 95)                                                                              \
	X(LCHOWN, 16)                                                                              \
	X(SETUID, 23)                                                                              \
	X(SETGID, 46)                                                                              \
	X(SETREUID, 70)                                                                            \
	X(SETREGID, 71)                                                                            \
	X(SETRESUID, 164)                                                                          \
	X(SETRESGID, 170)

/*
 * ia32 forms with the same arguments under a second number, which 32-bit libcs
 * call: X(NAME, ia32). fcntl64 is fcntl with 64-bit locks; its F_DUPFD is the same.
 * utimensat_time64 is utimensat with 64-bit timespecs (the sensor tells them apart
 * by VG_IA32_UTIMENSAT_TIME64).
 */
#define VG_SYSCALLS_IA32_ALT(X)	 X(FCNTL, 221) X(UTIMENSAT, 412)
#define VG_IA32_UTIMENSAT_TIME64 412

/*
 * ia32 forms with a 64-bit offset split over two registers (low, high), which
 * 32-bit libcs call for truncate and ftruncate: X(NAME, ia32).
 */
#define VG_SYSCALLS_IA32_OFF64(X) X(TRUNCATE, 193) X(FTRUNCATE, 194)

/* ia32 socketcall(call, args): the socket calls (socket, connect, accept, bind, listen,
 * sendto, recvfrom, sendmsg, recvmsg) for 32-bit programs */
#define VG_IA32_SOCKETCALL 102

/*
 * The raw sys_exit dispatcher's program array: a native syscall at its number,
 * an ia32 one at VG_DISPATCH_IA32 + its number.
 */
#define VG_DISPATCH_IA32 512
#define VG_DISPATCH_MAX	 1024

/*
 * Rule-engine codes of Falco names that are not a syscall vigil records: they
 * share the vg_syscall number space (below VG_SYS_MAX) and are never renumbered.
 */
#define VG_CODE_CLONE	 100 /* clone, clone3, fork, vfork: the fork event */
#define VG_CODE_PROCEXIT 101 /* a process's last thread exited: the exit event */
#define VG_CODE_DNS	 102 /* a DNS query or answer (evt.type = dns): not a syscall */

/*
 * Falco names that answer to a vigil event under another row's code:
 * X(falco, code, kind, x86_64, ia32), numbers -1 when the table has none.
 */
#define VG_SYSCALL_ALIASES(X)                                                                      \
	X("execveat", VG_SYS_EXECVE, VG_EV_EXEC, 322, 358)                                         \
	X("clone", VG_CODE_CLONE, VG_EV_FORK, 56, 120)                                             \
	X("clone3", VG_CODE_CLONE, VG_EV_FORK, 435, 435)                                           \
	X("fork", VG_CODE_CLONE, VG_EV_FORK, 57, 2)                                                \
	X("vfork", VG_CODE_CLONE, VG_EV_FORK, 58, 190)                                             \
	X("procexit", VG_CODE_PROCEXIT, VG_EV_EXIT, -1, -1)                                        \
	X("umount", VG_SYS_UMOUNT2, VG_EV_UMOUNT, -1, 22)                                          \
	X("dns", VG_CODE_DNS, VG_EV_DNS, -1, -1)

#endif /* VIGIL_SYSCALLS_H */
