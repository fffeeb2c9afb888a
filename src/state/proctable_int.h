/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * proctable_int.h - what the process table (proctable.c) lends to its /proc
 * reader (procfs.c): building a proc_info with the table's string ownership, and
 * adding a process read from /proc. Nothing here is used outside src/state/.
 */
#ifndef VIGIL_PROCTABLE_INT_H
#define VIGIL_PROCTABLE_INT_H

#include "state/proctable.h"

/* A blank description: no strings, no login uid, on the host. */
void proc_info_init(struct proc_info *i, uint32_t pid);
/* A string the table owns; "" (shared) for n == 0 or when memory is short. */
char *proc_str_copy(const char *s, size_t n);
/* argv keeps its exact bytes (NULs included), plus a NUL after them. */
void proc_args_copy(struct proc_info *i, const char *s, size_t n);
/* The environment likewise (NULL for n == 0). */
void proc_env_copy(struct proc_info *i, const char *s, size_t n);
/* Whether entries keep the environment (proctable__keep_env). */
bool proctable_keeps_env(const struct proctable *pt);
void proc_comm_copy(char dst[VG_COMM_LEN], const char *src, size_t n);

/* Clock ticks per second: the unit of /proc start times. */
uint64_t proctable_hz(const struct proctable *pt);
/* Adds a process read from /proc, taking over its strings; false (released) when full. */
bool proctable_add_seeded(struct proctable *pt, struct proc_info *info);

#endif /* VIGIL_PROCTABLE_INT_H */
