/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * procfs.h - reading /proc. The process table's seeding, proctable__seed(), is
 * declared with the table (proctable.h) and done in procfs.c.
 */
#ifndef VIGIL_PROCFS_H
#define VIGIL_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads up to cap - 1 bytes of a file and NUL-terminates; returns the length or -errno. */
ssize_t procfs_read_file(const char *path, char *buf, size_t cap);

/* pid's parent and start (CLOCK_BOOTTIME ns) from procfs/PID/stat. 0 or -errno. */
int procfs_stat(const char *procfs, uint32_t pid, uint32_t *ppid, uint64_t *start_ns);

/* pid and its ancestors up to (not including) pid 1, at most max, into out; how many. */
size_t procfs_ancestry(const char *procfs, uint32_t pid, uint32_t *out, size_t max);

#endif /* VIGIL_PROCFS_H */
