/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * procfs.h - reading /proc. The process table's seeding, proctable__seed(), is
 * declared with the table (proctable.h) and done in procfs.c.
 */
#ifndef VIGIL_PROCFS_H
#define VIGIL_PROCFS_H

#include <stddef.h>
#include <sys/types.h>

/* Reads up to cap - 1 bytes of a file and NUL-terminates; returns the length or -errno. */
ssize_t procfs_read_file(const char *path, char *buf, size_t cap);

#endif /* VIGIL_PROCFS_H */
