// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * traffic.c - traffic monitoring in the agent (traffic.h). Each tick sums the
 * per-CPU counters of both tables (one batched read each), lets detect/traffic.c
 * compute rates and findings, and turns each finding into an alert of the outputs:
 * a rule-like name, a priority, MITRE tags, the source, port and rates, and the
 * block it took (or why not). The metrics' HTTP thread reads what the last tick
 * computed under a lock; nothing else is shared.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon/metrics.h"
#include "daemon/traffic.h"
#include "output/output.h"
#include "respond/netblock.h"
#include "respond/respond.h"
#include "rules/engine.h"
#include "util/json.h"

#define FINDINGS_MAX 64 /* alerts one tick raises at most */

struct table {
	int fd;
	size_t max;		   /* max_entries */
	void *keys, *vals;	   /* a batch: max keys, max * ncpu values */
	struct traffic_entry *sum; /* the keys with their counts summed */
	size_t n;		   /* entries in sum */
	uint64_t made;		   /* keys made (traffic_stats), for the evicted count */
};

struct traffic_mon {
	struct traffic_mon_opts o;
	struct traffic *t;		/* rates and detectors */
	struct table ports, srcs;	/* the kernel's tables */
	int ncpu;			/* possible CPUs: per-CPU values */
	pthread_mutex_t lock;		/* t and the counts below, against the metrics thread */
	uint64_t alerts[TRAFFIC_KINDS]; /* alerts raised, by detector */
	uint64_t read_errors;		/* readings that failed */
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cfg_write(int fd, bool on)
{
	struct vg_traffic_cfg c = {.on = on};
	uint32_t zero = 0;

	return bpf_map_update_elem(fd, &zero, &c, BPF_ANY) ? -errno : 0;
}

static int table_init(struct table *t, int fd, size_t max, int ncpu)
{
	t->fd = fd;
	t->max = max;
	t->keys = calloc(max, sizeof(struct vg_traffic_src_key));
	t->vals = calloc(max * ncpu, sizeof(struct vg_traffic_val));
	t->sum = calloc(max, sizeof(*t->sum));
	return t->keys && t->vals && t->sum ? 0 : -ENOMEM;
}

static void table_free(struct table *t)
{
	free(t->keys);
	free(t->vals);
	free(t->sum);
}

/* Every key of the table with its counts summed over the CPUs, into t->sum. */
static int table_read(struct table *t, size_t key_size, int ncpu)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	uint8_t *keys = t->keys;
	struct vg_traffic_val *vals = t->vals;
	uint64_t token = 0;
	bool first = true;
	size_t got = 0;

	t->n = 0;
	while (got < t->max) {
		__u32 count = (__u32)(t->max - got);
		int ret =
		    bpf_map_lookup_batch(t->fd, first ? NULL : &token, &token,
					 keys + got * key_size, vals + got * ncpu, &count, &bo);

		first = false;
		got += count;
		if (ret) {
			if (errno == ENOENT)
				break;
			return -errno;
		}
	}
	for (size_t i = 0; i < got; i++) {
		struct traffic_entry *e = &t->sum[t->n++];

		memset(e, 0, sizeof(*e));
		memcpy(&e->key, keys + i * key_size, key_size);
		if (key_size == sizeof(struct vg_traffic_port_key)) {
			struct vg_traffic_port_key pk;

			memcpy(&pk, keys + i * key_size, sizeof(pk));
			memset(&e->key, 0, sizeof(e->key));
			e->key.port = pk.port;
			e->key.proto = pk.proto;
			e->key.dir = pk.dir;
		}
		for (int c = 0; c < ncpu; c++) {
			const struct vg_traffic_val *v = &vals[i * ncpu + c];

			e->val.packets += v->packets;
			e->val.bytes += v->bytes;
			e->val.syn += v->syn;
			if (v->last_ns > e->val.last_ns)
				e->val.last_ns = v->last_ns;
		}
	}
	return 0;
}

static void stats_read(struct traffic_mon *m)
{
	struct vg_traffic_stats *st = calloc(m->ncpu, sizeof(*st));
	uint32_t zero = 0;

	if (!st)
		return;
	if (!bpf_map_lookup_elem(m->o.stats_fd, &zero, st)) {
		m->ports.made = m->srcs.made = 0;
		for (int c = 0; c < m->ncpu; c++) {
			m->ports.made += st[c].port_keys;
			m->srcs.made += st[c].src_keys;
		}
	}
	free(st);
}

struct traffic_mon *traffic_mon__new(const struct traffic_mon_opts *o, char *err, size_t errlen)
{
	struct traffic_mon *m = calloc(1, sizeof(*m));
	int ret;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->o = *o;
	m->ncpu = libbpf_num_possible_cpus();
	pthread_mutex_init(&m->lock, NULL);
	m->t = traffic__new(&o->th);
	if (!m->t || m->ncpu <= 0 ||
	    table_init(&m->ports, o->ports_fd, VG_TRAFFIC_PORTS_MAX, m->ncpu) ||
	    table_init(&m->srcs, o->srcs_fd, VG_TRAFFIC_SRCS_MAX, m->ncpu)) {
		snprintf(err, errlen, "out of memory");
		goto err_free;
	}
	ret = netblock__hold(o->blocks, true, err, errlen);
	if (ret)
		goto err_free;
	ret = cfg_write(o->cfg_fd, true);
	if (ret) {
		snprintf(err, errlen, "cannot switch the traffic counters on: %s", strerror(-ret));
		netblock__hold(o->blocks, false, err, 0);
		goto err_free;
	}
	traffic_mon__tick(m); /* the baseline */
	return m;
err_free:
	traffic__free(m->t);
	table_free(&m->ports);
	table_free(&m->srcs);
	pthread_mutex_destroy(&m->lock);
	free(m);
	return NULL;
}

void traffic_mon__free(struct traffic_mon *m)
{
	char err[256];

	if (!m)
		return;
	cfg_write(m->o.cfg_fd, false);
	netblock__hold(m->o.blocks, false, err, sizeof(err));
	traffic__free(m->t);
	table_free(&m->ports);
	table_free(&m->srcs);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* "10.0.0.1" or "2001:db8::1" from a mapped address. */
static const char *addr_str(const uint8_t *a, char *buf, size_t len)
{
	static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!memcmp(a, v4, sizeof(v4)))
		inet_ntop(AF_INET, a + 12, buf, len);
	else
		inet_ntop(AF_INET6, a, buf, len);
	return buf;
}

/* The block of a finding's source, or why there is none, into *act. */
static void respond_block(struct traffic_mon *m, const struct traffic_finding *f, const char *rule,
			  char *target, size_t tlen, char *why, size_t wlen,
			  struct alert_action *act)
{
	struct netblock_cidr c = {0};
	char err[256];
	int ret;

	*act = (struct alert_action){
	    .kind = "block", .where = "user", .for_s = m->o.block_for_ns / 1000000000ull};
	if (!f->has_addr) {
		act->reason = "the event has no IP address";
		return;
	}
	memcpy(c.addr, f->addr, sizeof(c.addr));
	c.bits = 128; /* the one address (an IPv4 one is ::ffff:a.b.c.d/128) */
	netblock_cidr_str(&c, target, tlen);
	act->target = target;
	if (m->o.monitor) {
		act->reason = "monitor mode";
		return;
	}
	ret = netblock__add(m->o.blocks, &c, m->o.block_for_ns, NETBLOCK_BY_DETECTOR, rule, err,
			    sizeof(err));
	if (ret == -EPERM) {
		act->reason = "allowlisted";
	} else if (ret) {
		snprintf(why, wlen, "%s", err);
		act->reason = why;
	} else {
		act->taken = true;
		fprintf(stderr, "vigil: blocked %s for %llu s (%s)\n", target,
			(unsigned long long)act->for_s, rule);
	}
}

static void raise_alert(struct traffic_mon *m, const struct traffic_finding *f)
{
	static const char *const tags_flood_net[] = {"network", "traffic", "mitre_impact", "T1498"};
	static const char *const tags_flood_end[] = {"network", "traffic", "mitre_impact", "T1499"};
	static const char *const tags_scan[] = {"network", "traffic", "mitre_discovery", "T1046"};
	const char *rule = traffic_kind_name(f->kind);
	char src[INET6_ADDRSTRLEN], pb[8], target[64], why[256];
	char now_s[24], port_s[8], pps_s[32], syn_s[32], spps_s[32], ports_s[16];
	const char *proto = traffic_proto_name(f->proto, pb, sizeof(pb));
	struct alert_action act;
	struct rule_out_field fields[8];
	char *msg = NULL;
	uint64_t now = clock_ns(CLOCK_REALTIME);
	struct alert a = {.rule = rule, .source = "traffic", .hostname = m->o.hostname};
	int n;

	if (f->has_addr)
		addr_str(f->addr, src, sizeof(src));
	else
		snprintf(src, sizeof(src), "%s", "");
	switch (f->kind) {
	case TRAFFIC_SYN_FLOOD:
		n = asprintf(
		    &msg,
		    "SYN flood to port %u/tcp: %.0f SYN/s (%.0f packets/s), busiest source "
		    "%s at %.0f packets/s",
		    f->port, f->syn_pps, f->pps, f->has_addr ? src : "(none)", f->src_pps);
		a.priority = RULE_PRIO_CRITICAL;
		a.tags = tags_flood_end;
		break;
	case TRAFFIC_UDP_FLOOD:
		n = asprintf(&msg,
			     "UDP flood to port %u/udp: %.0f packets/s, busiest source %s at %.0f "
			     "packets/s",
			     f->port, f->pps, f->has_addr ? src : "(none)", f->src_pps);
		a.priority = RULE_PRIO_CRITICAL;
		a.tags = tags_flood_net;
		break;
	case TRAFFIC_SRC_RATE:
		n = asprintf(&msg,
			     "Source %s sends %.0f packets/s (threshold %.0f), busiest port %u/%s",
			     src, f->pps, m->o.th.src_pps, f->port, proto);
		a.priority = RULE_PRIO_WARNING;
		a.tags = tags_flood_net;
		break;
	default:
		n = asprintf(&msg, "Port scan from %s: %u ports within %.0f s", src, f->ports,
			     m->o.th.scan_window_ns / 1e9);
		a.priority = RULE_PRIO_WARNING;
		a.tags = tags_scan;
		break;
	}
	if (n < 0)
		return;
	a.n_tags = 4;
	a.message = msg;
	a.time_ns = now;
	snprintf(now_s, sizeof(now_s), "%llu", (unsigned long long)now);
	snprintf(port_s, sizeof(port_s), "%u", f->port);
	snprintf(pps_s, sizeof(pps_s), "%.1f", f->pps);
	snprintf(syn_s, sizeof(syn_s), "%.1f", f->syn_pps);
	snprintf(spps_s, sizeof(spps_s), "%.1f", f->src_pps);
	snprintf(ports_s, sizeof(ports_s), "%u", f->ports);
	n = 0;
	fields[n++] = (struct rule_out_field){"evt.time", now_s, 0, RULE_OUT_RAW};
	fields[n++] = f->has_addr ? (struct rule_out_field){"traffic.src", src, 0, RULE_OUT_STRING}
				  : (struct rule_out_field){"traffic.src", NULL, 0, RULE_OUT_NULL};
	fields[n++] = (struct rule_out_field){"traffic.port", port_s, 0, RULE_OUT_RAW};
	fields[n++] = (struct rule_out_field){"traffic.proto", proto, 0, RULE_OUT_STRING};
	fields[n++] = (struct rule_out_field){"traffic.pps", pps_s, 0, RULE_OUT_RAW};
	if (f->kind == TRAFFIC_SYN_FLOOD)
		fields[n++] = (struct rule_out_field){"traffic.syn_pps", syn_s, 0, RULE_OUT_RAW};
	if (f->kind == TRAFFIC_SYN_FLOOD || f->kind == TRAFFIC_UDP_FLOOD)
		fields[n++] = (struct rule_out_field){"traffic.src_pps", spps_s, 0, RULE_OUT_RAW};
	if (f->kind == TRAFFIC_SCAN)
		fields[n++] = (struct rule_out_field){"traffic.ports", ports_s, 0, RULE_OUT_RAW};
	a.fields = fields;
	a.n_fields = (size_t)n;
	if (m->o.block) {
		respond_block(m, f, rule, target, sizeof(target), why, sizeof(why), &act);
		a.actions = &act;
		a.n_actions = 1;
		if (m->o.actions_total)
			metric__inc(metric_family__series(
			    m->o.actions_total, (const char *const[]){act.kind, act.where,
								      respond_result_label(&act)}));
	}
	fprintf(stderr, "vigil: %s\n", msg);
	outputs__emit(m->o.outputs, &a);
	free(msg);
}

void traffic_mon__tick(struct traffic_mon *m)
{
	struct traffic_finding found[FINDINGS_MAX];
	int n;

	pthread_mutex_lock(&m->lock);
	if (table_read(&m->ports, sizeof(struct vg_traffic_port_key), m->ncpu) ||
	    table_read(&m->srcs, sizeof(struct vg_traffic_src_key), m->ncpu)) {
		m->read_errors++;
		pthread_mutex_unlock(&m->lock);
		return;
	}
	stats_read(m);
	n = traffic__update(m->t, m->ports.sum, m->ports.n, m->srcs.sum, m->srcs.n,
			    clock_ns(CLOCK_BOOTTIME), found, FINDINGS_MAX);
	for (int i = 0; i < n; i++)
		m->alerts[found[i].kind]++;
	pthread_mutex_unlock(&m->lock);
	for (int i = 0; i < n; i++)
		raise_alert(m, &found[i]);
}

int traffic_mon__json(struct traffic_mon *m, size_t n, struct json_buf *j)
{
	const struct traffic_rate *p;
	const struct traffic_source *s;
	size_t np = traffic__ports(m->t, &p), ns = traffic__sources(m->t, &s);
	char buf[INET6_ADDRSTRLEN], pb[8];

	json_key(j, "interval_s");
	json_double(j, traffic__interval(m->t));
	json_key(j, "ports");
	json_arr_begin(j);
	for (size_t i = 0; i < np && i < n; i++) {
		json_obj_begin(j);
		json_key(j, "direction");
		json_str(j, p[i].key.dir == VG_TRAFFIC_IN ? "in" : "out");
		json_key(j, "proto");
		json_str(j, traffic_proto_name(p[i].key.proto, pb, sizeof(pb)));
		json_key(j, "port");
		json_uint(j, p[i].key.port);
		json_key(j, "pps");
		json_double(j, p[i].pps);
		json_key(j, "bps");
		json_double(j, p[i].bps);
		json_key(j, "syn_pps");
		json_double(j, p[i].syn_pps);
		json_key(j, "packets");
		json_uint(j, p[i].packets);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "sources");
	json_arr_begin(j);
	for (size_t i = 0; i < ns && i < n; i++) {
		json_obj_begin(j);
		json_key(j, "direction");
		json_str(j, s[i].dir == VG_TRAFFIC_IN ? "in" : "out");
		json_key(j, "addr");
		json_str(j, addr_str(s[i].addr, buf, sizeof(buf)));
		json_key(j, "pps");
		json_double(j, s[i].pps);
		json_key(j, "bps");
		json_double(j, s[i].bps);
		json_key(j, "ports");
		json_uint(j, s[i].ports);
		json_key(j, "top_port");
		json_uint(j, s[i].top_port);
		json_key(j, "top_proto");
		json_str(j, traffic_proto_name(s[i].top_proto, pb, sizeof(pb)));
		json_obj_end(j);
	}
	json_arr_end(j);
	json_key(j, "alerts");
	json_obj_begin(j);
	for (int k = 0; k < TRAFFIC_KINDS; k++) {
		json_key(j, traffic_kind_name(k));
		json_uint(j, m->alerts[k]);
	}
	json_obj_end(j);
	json_key(j, "keys");
	json_obj_begin(j);
	json_key(j, "ports");
	json_uint(j, m->ports.n);
	json_key(j, "sources");
	json_uint(j, m->srcs.n);
	json_key(j, "sources_max");
	json_uint(j, m->srcs.max);
	json_key(j, "sources_evicted");
	json_uint(j, m->srcs.made > m->srcs.n ? m->srcs.made - m->srcs.n : 0);
	json_obj_end(j);
	return j->err;
}

void traffic_mon__collect(struct metrics_writer *w, void *arg)
{
	static const struct {
		const char *name, *help;
	} fams[] = {
	    {"vigil_traffic_packets_total",
	     "packets by direction, protocol and destination port (the busiest ports; the rest "
	     "as port=\"other\")"},
	    {"vigil_traffic_bytes_total", "bytes at L3, likewise"},
	    {"vigil_traffic_tcp_syn_total", "opening TCP SYNs (SYN without ACK), likewise"},
	};
	struct traffic_mon *m = arg;
	const struct traffic_series *s;
	char pb[8], port[16];
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = traffic__series(m->t, &s);
	for (size_t f = 0; f < 3; f++) {
		metrics_writer__family(w, METRIC_COUNTER, fams[f].name, fams[f].help);
		for (size_t i = 0; i < n; i++) {
			uint64_t v = f == 0 ? s[i].packets : f == 1 ? s[i].bytes : s[i].syn;

			if (f == 2 && s[i].proto != 6)
				continue;
			if (s[i].port < 0)
				snprintf(port, sizeof(port), "other");
			else
				snprintf(port, sizeof(port), "%d", s[i].port);
			metrics_writer__sample(
			    w,
			    (const char *const[]){"direction", s[i].dir ? "out" : "in", "proto",
						  traffic_proto_name(s[i].proto, pb, sizeof(pb)),
						  "port", port, NULL},
			    (double)v);
		}
	}
	metrics_writer__family(w, METRIC_COUNTER, "vigil_traffic_keys_evicted_total",
			       "counter keys the kernel's LRU tables pushed out to make room");
	metrics_writer__sample(
	    w, (const char *const[]){"table", "ports", NULL},
	    (double)(m->ports.made > m->ports.n ? m->ports.made - m->ports.n : 0));
	metrics_writer__sample(w, (const char *const[]){"table", "sources", NULL},
			       (double)(m->srcs.made > m->srcs.n ? m->srcs.made - m->srcs.n : 0));
	metrics_writer__family(w, METRIC_COUNTER, "vigil_traffic_alerts_total",
			       "traffic detectors' alerts, by detector");
	for (int k = 0; k < TRAFFIC_KINDS; k++)
		metrics_writer__sample(
		    w, (const char *const[]){"detector", traffic_kind_name(k), NULL},
		    (double)m->alerts[k]);
	metrics_writer__family(w, METRIC_COUNTER, "vigil_traffic_read_errors_total",
			       "readings of the traffic counters that failed");
	metrics_writer__sample(w, NULL, (double)m->read_errors);
	pthread_mutex_unlock(&m->lock);
}
