// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * maps.bpf.c - the one unit that defines the shared maps and knobs of
 * maps.bpf.h (every other unit declares them extern), and the object's license.
 */
#define VG_MAPS_DEFINE
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
