// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * traffic.c - rates and detectors over the traffic counters (traffic.h). Each
 * reading is sorted by key and walked against the previous one: a key's rise is its
 * traffic in the interval, and a key that is new or fell (the LRU pushed it out and
 * it came back) counts whole. Totals for the metrics only ever grow: a port gets a
 * series of its own while there is room, and keeps it while it is busy: an idle one
 * gives its place to a busier port (then its counts join "other"). The rest of a
 * direction and protocol is "other", the total less the ports with series.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/traffic.h"

#define COOLDOWN_SLOTS	1024		     /* detector and source (or port) pairs remembered */
#define SERIES_IDLE_NS	(60 * 1000000000ull) /* a port's series may go after this idle */
#define SERIES_BUSY_PPS 100.0		     /* ... or sooner for a port this busy */

struct cooldown {
	uint8_t kind;	   /* enum traffic_kind */
	uint8_t addr[16];  /* the source, zero for none */
	uint16_t port;	   /* floods: the port */
	uint64_t until_ns; /* no alert again before (boot clock) */
};

struct traffic {
	struct traffic_thresholds th;
	struct traffic_entry *prev_ports, *prev_srcs; /* the last reading, sorted by key */
	size_t n_prev_ports, n_prev_srcs;
	struct traffic_rate *ports, *srcs; /* the last interval's rates */
	size_t n_ports, n_srcs, cap_ports, cap_srcs;
	struct traffic_source *sources; /* srcs by (dir, addr), busiest first */
	size_t n_sources, cap_sources;
	struct traffic_series *series; /* metrics_ports ports, then the "other" rows */
	uint64_t *busy_ns;	       /* per named series: when it last rose */
	size_t n_named, n_series;
	struct {
		uint64_t packets, bytes, syn;
	} total[2][256]; /* by direction and protocol, monotonic */
	struct cooldown cool[COOLDOWN_SLOTS];
	uint64_t last_ns;
	double interval;
};

const char *traffic_kind_name(enum traffic_kind k)
{
	static const char *const names[TRAFFIC_KINDS] = {
	    [TRAFFIC_SYN_FLOOD] = "SYN flood",
	    [TRAFFIC_UDP_FLOOD] = "UDP flood",
	    [TRAFFIC_SRC_RATE] = "Source packet rate",
	    [TRAFFIC_SCAN] = "Port scan",
	};

	return k < TRAFFIC_KINDS ? names[k] : "?";
}

const char *traffic_proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
}

struct traffic *traffic__new(const struct traffic_thresholds *th)
{
	struct traffic *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->th = *th;
	t->series = calloc(th->metrics_ports + 2 * 256, sizeof(*t->series));
	t->busy_ns = calloc(th->metrics_ports + 1, sizeof(*t->busy_ns));
	if (!t->series || !t->busy_ns) {
		free(t->series);
		free(t->busy_ns);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void traffic__free(struct traffic *t)
{
	if (!t)
		return;
	free(t->prev_ports);
	free(t->prev_srcs);
	free(t->ports);
	free(t->srcs);
	free(t->sources);
	free(t->series);
	free(t->busy_ns);
	free(t);
}

/* Direction, then address, port and protocol: a source's keys are next to each other. */
static int key_cmp(const struct vg_traffic_src_key *a, const struct vg_traffic_src_key *b)
{
	int c;

	if (a->dir != b->dir)
		return a->dir < b->dir ? -1 : 1;
	c = memcmp(a->addr, b->addr, sizeof(a->addr));
	if (c)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return a->proto < b->proto ? -1 : a->proto > b->proto;
}

static int entry_cmp(const void *a, const void *b)
{
	return key_cmp(&((const struct traffic_entry *)a)->key,
		       &((const struct traffic_entry *)b)->key);
}

static int rate_desc(const void *a, const void *b)
{
	double x = ((const struct traffic_rate *)a)->pps, y = ((const struct traffic_rate *)b)->pps;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int source_desc(const void *a, const void *b)
{
	double x = ((const struct traffic_source *)a)->pps;
	double y = ((const struct traffic_source *)b)->pps;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	void *n;

	if (need <= *cap)
		return 0;
	n = realloc(*p, need * size);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = need;
	return 0;
}

/*
 * The rise of each entry of cur (sorted) since prev (sorted), as rates over dt into
 * out; the rises themselves into rise (may be NULL).
 */
static void rates(const struct traffic_entry *cur, size_t n, const struct traffic_entry *prev,
		  size_t n_prev, double dt, struct traffic_rate *out, struct vg_traffic_val *rise)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		struct vg_traffic_val d = cur[i].val;
		int c = 1;

		while (j < n_prev && (c = key_cmp(&prev[j].key, &cur[i].key)) < 0)
			j++;
		if (j < n_prev && !c && prev[j].val.packets <= d.packets &&
		    prev[j].val.bytes <= d.bytes && prev[j].val.syn <= d.syn) {
			d.packets -= prev[j].val.packets;
			d.bytes -= prev[j].val.bytes;
			d.syn -= prev[j].val.syn;
		}
		out[i] = (struct traffic_rate){.key = cur[i].key,
					       .pps = d.packets / dt,
					       .bps = d.bytes / dt,
					       .syn_pps = d.syn / dt,
					       .packets = cur[i].val.packets,
					       .last_ns = cur[i].val.last_ns};
		if (rise)
			rise[i] = d;
	}
}

/* The ports' rises into the totals and the series; new series for the busiest. */
static void account(struct traffic *t, const struct traffic_entry *cur,
		    const struct vg_traffic_val *rise, size_t n, uint64_t now_ns, double dt)
{
	size_t k, best, slot;

	for (size_t i = 0; i < n; i++) {
		const struct vg_traffic_src_key *key = &cur[i].key;

		if (key->dir > 1)
			continue;
		t->total[key->dir][key->proto].packets += rise[i].packets;
		t->total[key->dir][key->proto].bytes += rise[i].bytes;
		t->total[key->dir][key->proto].syn += rise[i].syn;
		for (k = 0; k < t->n_named; k++) {
			struct traffic_series *s = &t->series[k];

			if (s->dir == key->dir && s->proto == key->proto && s->port == key->port) {
				s->packets += rise[i].packets;
				s->bytes += rise[i].bytes;
				s->syn += rise[i].syn;
				if (rise[i].packets)
					t->busy_ns[k] = now_ns;
				break;
			}
		}
	}
	/* the busiest ports of this interval without a series get one: a free place, or
	 * that of a port idle for long (or idle now, for a port that is busy) */
	for (size_t round = 0; round <= t->th.metrics_ports; round++) {
		best = n;
		for (size_t i = 0; i < n; i++) {
			const struct vg_traffic_src_key *key = &cur[i].key;

			if (!rise[i].packets || key->dir > 1 ||
			    (best < n && rise[i].packets <= rise[best].packets))
				continue;
			for (k = 0; k < t->n_named; k++)
				if (t->series[k].dir == key->dir &&
				    t->series[k].proto == key->proto &&
				    t->series[k].port == key->port)
					break;
			if (k == t->n_named)
				best = i;
		}
		if (best == n)
			break;
		slot = t->n_named < t->th.metrics_ports ? t->n_named : t->th.metrics_ports;
		for (k = 0; slot == t->th.metrics_ports && k < t->n_named; k++) {
			uint64_t idle = now_ns - t->busy_ns[k];

			if (t->busy_ns[k] != now_ns &&
			    (idle >= SERIES_IDLE_NS || rise[best].packets / dt >= SERIES_BUSY_PPS))
				slot = k;
		}
		if (slot == t->th.metrics_ports)
			break;
		if (slot == t->n_named)
			t->n_named++;
		t->series[slot] = (struct traffic_series){
		    .dir = cur[best].key.dir,
		    .proto = cur[best].key.proto,
		    .port = cur[best].key.port,
		    .packets = rise[best].packets,
		    .bytes = rise[best].bytes,
		    .syn = rise[best].syn,
		};
		t->busy_ns[slot] = now_ns;
	}
	/* the rest of each direction and protocol */
	t->n_series = t->n_named;
	for (int d = 0; d < 2; d++)
		for (int p = 0; p < 256; p++) {
			struct traffic_series o = {.dir = d, .proto = p, .port = -1};

			if (!t->total[d][p].packets)
				continue;
			o.packets = t->total[d][p].packets;
			o.bytes = t->total[d][p].bytes;
			o.syn = t->total[d][p].syn;
			for (k = 0; k < t->n_named; k++)
				if (t->series[k].dir == d && t->series[k].proto == p) {
					o.packets -= t->series[k].packets;
					o.bytes -= t->series[k].bytes;
					o.syn -= t->series[k].syn;
				}
			t->series[t->n_series++] = o;
		}
}

/* srcs (sorted by key) by (dir, addr): rates, ports seen within the window. */
static int group_sources(struct traffic *t, uint64_t now_ns)
{
	t->n_sources = 0;
	for (size_t i = 0; i < t->n_srcs;) {
		const struct traffic_rate *r = &t->srcs[i];
		struct traffic_source *s;
		double top = -1;

		if (grow((void **)&t->sources, &t->cap_sources, t->n_sources + 1,
			 sizeof(*t->sources)))
			return -ENOMEM;
		s = &t->sources[t->n_sources++];
		memset(s, 0, sizeof(*s));
		memcpy(s->addr, r->key.addr, sizeof(s->addr));
		s->dir = r->key.dir;
		for (; i < t->n_srcs && t->srcs[i].key.dir == s->dir &&
		       !memcmp(t->srcs[i].key.addr, s->addr, sizeof(s->addr));
		     i++) {
			r = &t->srcs[i];
			s->pps += r->pps;
			s->bps += r->bps;
			if (r->last_ns + t->th.scan_window_ns >= now_ns)
				s->ports++;
			if (r->pps > top) {
				top = r->pps;
				s->top_port = r->key.port;
				s->top_proto = r->key.proto;
			}
		}
	}
	qsort(t->sources, t->n_sources, sizeof(*t->sources), source_desc);
	return 0;
}

/* Whether an alert of kind on (addr, port) may go out now; if so, none for realert_ns. */
static bool cooled(struct traffic *t, enum traffic_kind kind, const uint8_t *addr, uint16_t port,
		   uint64_t now_ns)
{
	struct cooldown *free_slot = NULL, *oldest = &t->cool[0];

	for (size_t i = 0; i < COOLDOWN_SLOTS; i++) {
		struct cooldown *c = &t->cool[i];

		if (c->until_ns > now_ns && c->kind == kind && c->port == port &&
		    !memcmp(c->addr, addr, sizeof(c->addr)))
			return false;
		if (c->until_ns <= now_ns && !free_slot)
			free_slot = c;
		if (c->until_ns < oldest->until_ns)
			oldest = c;
	}
	if (!free_slot)
		free_slot = oldest;
	free_slot->kind = kind;
	memcpy(free_slot->addr, addr, sizeof(free_slot->addr));
	free_slot->port = port;
	free_slot->until_ns = now_ns + (t->th.realert_ns ? t->th.realert_ns : 1);
	return true;
}

/* The busiest source of a port (by SYNs when syn), into f. */
static void port_source(const struct traffic *t, const struct traffic_rate *p, bool syn,
			struct traffic_finding *f)
{
	double best = 0;

	for (size_t i = 0; i < t->n_srcs; i++) {
		const struct traffic_rate *s = &t->srcs[i];
		double v = syn ? s->syn_pps : s->pps;

		if (s->key.dir != p->key.dir || s->key.port != p->key.port ||
		    s->key.proto != p->key.proto || v <= best)
			continue;
		best = v;
		memcpy(f->addr, s->key.addr, sizeof(f->addr));
		f->has_addr = true;
		f->src_pps = s->pps;
	}
}

static size_t detect(struct traffic *t, uint64_t now_ns, struct traffic_finding *out, size_t cap)
{
	static const uint8_t none[16];
	const struct traffic_thresholds *th = &t->th;
	size_t n = 0;

	for (size_t i = 0; i < t->n_ports && n < cap; i++) {
		const struct traffic_rate *p = &t->ports[i];
		struct traffic_finding f = {.port = p->key.port, .proto = p->key.proto};

		if (p->key.dir != VG_TRAFFIC_IN)
			continue;
		if (p->key.proto == 6 && th->syn_pps > 0 && p->syn_pps >= th->syn_pps)
			f.kind = TRAFFIC_SYN_FLOOD;
		else if (p->key.proto == 17 && th->udp_pps > 0 && p->pps >= th->udp_pps)
			f.kind = TRAFFIC_UDP_FLOOD;
		else
			continue;
		f.pps = p->pps;
		f.syn_pps = p->syn_pps;
		port_source(t, p, f.kind == TRAFFIC_SYN_FLOOD, &f);
		if (cooled(t, f.kind, none, f.port, now_ns))
			out[n++] = f;
	}
	for (size_t i = 0; i < t->n_sources && n < cap; i++) {
		const struct traffic_source *s = &t->sources[i];
		struct traffic_finding f = {.has_addr = true,
					    .port = s->top_port,
					    .proto = s->top_proto,
					    .pps = s->pps,
					    .ports = s->ports};

		if (s->dir != VG_TRAFFIC_IN)
			continue;
		memcpy(f.addr, s->addr, sizeof(f.addr));
		if (th->scan_ports && s->ports >= th->scan_ports &&
		    cooled(t, TRAFFIC_SCAN, s->addr, 0, now_ns)) {
			f.kind = TRAFFIC_SCAN;
			out[n++] = f;
		}
		if (n < cap && th->src_pps > 0 && s->pps >= th->src_pps &&
		    cooled(t, TRAFFIC_SRC_RATE, s->addr, 0, now_ns)) {
			f.kind = TRAFFIC_SRC_RATE;
			out[n++] = f;
		}
	}
	return n;
}

/* cur (sorted) becomes the previous reading. */
static int keep(struct traffic_entry **prev, size_t *n_prev, const struct traffic_entry *cur,
		size_t n)
{
	struct traffic_entry *p = malloc((n ? n : 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	memcpy(p, cur, n * sizeof(*p));
	free(*prev);
	*prev = p;
	*n_prev = n;
	return 0;
}

int traffic__update(struct traffic *t, struct traffic_entry *ports, size_t n_ports,
		    struct traffic_entry *srcs, size_t n_srcs, uint64_t now_ns,
		    struct traffic_finding *out, size_t cap)
{
	struct vg_traffic_val *rise = NULL;
	bool first = !t->last_ns;
	double dt;
	int ret = -ENOMEM;

	qsort(ports, n_ports, sizeof(*ports), entry_cmp);
	qsort(srcs, n_srcs, sizeof(*srcs), entry_cmp);
	dt = first || now_ns <= t->last_ns ? 1 : (now_ns - t->last_ns) / 1e9;
	if (grow((void **)&t->ports, &t->cap_ports, n_ports, sizeof(*t->ports)) ||
	    grow((void **)&t->srcs, &t->cap_srcs, n_srcs, sizeof(*t->srcs)))
		return -ENOMEM;
	rise = calloc(n_ports ? n_ports : 1, sizeof(*rise));
	if (!rise)
		return -ENOMEM;
	rates(ports, n_ports, t->prev_ports, t->n_prev_ports, dt, t->ports, rise);
	rates(srcs, n_srcs, t->prev_srcs, t->n_prev_srcs, dt, t->srcs, NULL);
	t->n_ports = n_ports;
	t->n_srcs = n_srcs;
	if (keep(&t->prev_ports, &t->n_prev_ports, ports, n_ports) ||
	    keep(&t->prev_srcs, &t->n_prev_srcs, srcs, n_srcs) || group_sources(t, now_ns))
		goto out;
	t->last_ns = now_ns;
	if (first) {
		/* the baseline: what was counted before is no rate and no alert */
		for (size_t i = 0; i < n_ports; i++)
			t->ports[i].pps = t->ports[i].bps = t->ports[i].syn_pps = 0;
		for (size_t i = 0; i < t->n_sources; i++)
			t->sources[i].pps = t->sources[i].bps = 0;
		memset(rise, 0, n_ports * sizeof(*rise));
		account(t, ports, rise, n_ports, now_ns, dt);
		t->interval = 0;
		ret = 0;
		goto out;
	}
	t->interval = dt;
	account(t, ports, rise, n_ports, now_ns, dt);
	ret = (int)detect(t, now_ns, out, cap);
	qsort(t->ports, t->n_ports, sizeof(*t->ports), rate_desc);
out:
	free(rise);
	return ret;
}

size_t traffic__ports(const struct traffic *t, const struct traffic_rate **out)
{
	*out = t->ports;
	return t->n_ports;
}

size_t traffic__sources(const struct traffic *t, const struct traffic_source **out)
{
	*out = t->sources;
	return t->n_sources;
}

size_t traffic__series(const struct traffic *t, const struct traffic_series **out)
{
	*out = t->series;
	return t->n_series;
}

double traffic__interval(const struct traffic *t)
{
	return t->interval;
}
