/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * netblock.h - blocked addresses (the `block` action and `vigil block`): entries of
 * the kernel's trie (bpf/enforcers/block.bpf.c) and the attachments that make them
 * drop traffic — XDP on the node's interfaces, cgroup_skb ingress and egress at the
 * cgroup v2 root. The attachments are made when the first block is put in place and
 * removed with the last; while there is one, they and the trie are pinned in bpffs,
 * so blocks hold across a restart or a crash of the agent, and the next agent adopts
 * them (netblock__new).
 */
#ifndef VIGIL_RESPOND_NETBLOCK_H
#define VIGIL_RESPOND_NETBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/events.h"

/* An address or prefix: IPv4 as ::ffff:a.b.c.d with bits 96 + its prefix. */
struct netblock_cidr {
	uint8_t addr[16];
	uint8_t bits; /* 0..128 */
};

/* netblock__add's rule for a block a traffic detector took (daemon/traffic.c). */
#define NETBLOCK_BY_DETECTOR UINT32_MAX

struct netblock_opts {
	int map_fd;		       /* the trie (net_blocks) */
	int isolated_fd;	       /* net_isolated: cgroup id -> struct vg_isolate_val */
	int isolate_allow_fd;	       /* net_isolate_allow: what an isolated container may reach */
	int quarantine_fd;	       /* net_quarantine: the node's quarantine */
	int quarantine_allow_fd;       /* net_quarantine_allow: what a quarantined node may reach */
	const char *quarantine_cgroup; /* the v2 path whose sockets a quarantine cuts off; NULL
					* or "": every socket */
	int xdp_fd;		       /* vg_block_xdp; < 0: no XDP (the cgroup hooks still drop) */
	int ingress_fd, egress_fd;     /* vg_block_ingress, vg_block_egress */
	const char *cgroup_root;       /* the cgroup v2 mount */
	const char *pin_dir;	       /* bpffs directory for the links; NULL or "": not pinned */
	const char *const *ifaces;     /* XDP interfaces; NULL: every interface that is up but lo */
	size_t n_ifaces;	       /* entries */
	const char *const *extra_ifaces;   /* XDP interfaces besides those (traffic.interfaces) */
	size_t n_extra_ifaces;		   /* entries */
	const struct netblock_cidr *allow; /* never blocked (besides loopback) */
	size_t n_allow;			   /* entries */
};

/* One block as netblock__list reports it. */
struct netblock_entry {
	struct netblock_cidr cidr;
	struct vg_block_val val;
};

struct netblock;

/*
 * Adopts the links a previous agent pinned (their programs replaced by this agent's),
 * and removes them when no block is left. NULL with a message in err.
 */
struct netblock *netblock__new(const struct netblock_opts *o, char *err, size_t errlen);
/* Forgets the links; pinned ones (there are blocks) stay in force. */
void netblock__free(struct netblock *nb);

/*
 * Blocks c for for_ns (0: until removed) with reason (NUL-terminated, cut to fit) and
 * rule (index + 1; 0 by hand); a block already there is extended, never shortened.
 * 0, or -errno with a message in err (-EPERM: an allowlisted address).
 */
int netblock__add(struct netblock *nb, const struct netblock_cidr *c, uint64_t for_ns,
		  uint32_t rule, const char *reason, char *err, size_t errlen);
/* Lifts the block of exactly c: 0 or -ENOENT. */
int netblock__del(struct netblock *nb, const struct netblock_cidr *c);
/* Up to cap blocks in force into out; returns how many there are. */
size_t netblock__list(struct netblock *nb, struct netblock_entry *out, size_t cap);
/* Deletes the blocks whose time is up, the attachments with the last; returns how many. */
size_t netblock__expire(struct netblock *nb);
/* Removes every block, every isolation and every attachment. 0 or -errno. */
int netblock__release_all(struct netblock *nb);
/*
 * Cuts off the container whose short id is id (12 hex digits): every cgroup of it
 * there is now (and the kernel adds those made later, see scope.bpf.c), found under
 * opts.cgroup_root. 0, -ENOENT (no cgroup of that container) or -errno, with a message in err.
 */
int netblock__isolate(struct netblock *nb, const char *id, const char *reason, char *err,
		      size_t errlen);
/* Lets the container's network back. 0 or -ENOENT when it was not isolated. */
int netblock__release(struct netblock *nb, const char *id);
/* One isolated container per distinct id into out (cap), with its cgroups; the count. */
struct netblock_isolated {
	char id[16];		   /* short id */
	struct vg_isolate_val val; /* the first cgroup's (dropped: all of its cgroups') */
	size_t cgroups;		   /* its cgroups cut off */
};
size_t netblock__isolated(struct netblock *nb, struct netblock_isolated *out, size_t cap);
/*
 * What an isolated container may still reach: "CIDR" or "CIDR:PORT[,PORT...]" (IPv6
 * in brackets: "[2001:db8::53]:53"). 0 or -EINVAL naming the entry in err.
 */
int netblock__isolate_allow(struct netblock *nb, const char *const *entries, size_t n, char *err,
			    size_t errlen);

/*
 * What a quarantined node may still reach, in netblock__isolate_allow's form (a port
 * matches either end); key names the setting in err.
 */
int netblock__quarantine_allow(struct netblock *nb, const char *const *entries, size_t n, char *err,
			       size_t errlen);
/*
 * Quarantines the node for for_ns (the dead-man timer: the kernel lifts it then, with
 * or without an agent); a quarantine in force is extended, never shortened. 0 or -errno
 * with a message in err.
 */
int netblock__quarantine(struct netblock *nb, uint64_t for_ns, const char *reason, char *err,
			 size_t errlen);
/* Lifts the quarantine: 0, or -ENOENT when there is none. */
int netblock__lift(struct netblock *nb);
/* The quarantine in force into *out; false when there is none. */
bool netblock__quarantined(struct netblock *nb, struct vg_quarantine *out);

/*
 * Traffic monitoring's hold on the programs (the XDP and egress programs count traffic
 * too): on attaches them as a block would and keeps them while on; off lets them go
 * with the last block. 0 or -errno with a message in err.
 */
int netblock__hold(struct netblock *nb, bool on, char *err, size_t errlen);
/* The XDP interfaces into out (cap); returns how many there are. */
size_t netblock__ifaces(const struct netblock *nb, const char **out, size_t cap);

/* Whether the drop programs are attached now; where: "xdp on N interfaces, cgroup". */
bool netblock__active(const struct netblock *nb, char *where, size_t len);

/* "10.0.0.0/8", "2001:db8::1" (a host without /N) into *out. 0 or -EINVAL. */
int netblock_cidr_parse(const char *s, struct netblock_cidr *out);
/* The text of c: "10.0.0.1/32", "2001:db8::/32". */
const char *netblock_cidr_str(const struct netblock_cidr *c, char *buf, size_t len);
/* Whether prefix p contains address or prefix x. */
bool netblock_cidr_contains(const struct netblock_cidr *p, const struct netblock_cidr *x);

#endif /* VIGIL_RESPOND_NETBLOCK_H */
