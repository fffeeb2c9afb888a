/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * loader.h - opens, loads and attaches vigil's BPF sensors, and reports in plain
 * words why the kernel refused one. The only user of the generated skeleton.
 */
#ifndef VIGIL_LOADER_H
#define VIGIL_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

struct loader_opts {
	size_t ringbuf_bytes; /* ring buffer size, a power of two >= 4096 */
	uint32_t wake_bytes;  /* bulk events wake the reader once this much is pending */
	uint32_t self_pid;    /* vigil's own pid */
	const char *btf_path; /* kernel BTF for CO-RE; NULL: /sys/kernel/btf/vmlinux */
};

struct loader;

/* Checks root and BTF, opens, loads and attaches. On failure returns NULL and
 * writes a message naming the cause (and the program, for a kernel refusal) to err. */
struct loader *loader__open(const struct loader_opts *opts, char *err, size_t errlen);
void loader__free(struct loader *l);

/* Stops the sensors; the maps stay readable (the ring can still be drained). */
void loader__detach(struct loader *l);

int loader__ringbuf_fd(const struct loader *l);

/* Bytes written to the ring and not yet consumed. */
size_t loader__ringbuf_used(const struct loader *l);

struct filter_maps;

/* The prefilter's map descriptors. */
void loader__filter_maps(const struct loader *l, struct filter_maps *out);

/* Sums the per-CPU counters into out[VG_EV_TYPE_MAX]. Returns 0 or -errno. */
int loader__counters(const struct loader *l, struct vg_counters *out);

#endif /* VIGIL_LOADER_H */
