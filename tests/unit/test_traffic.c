// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_traffic.c - the traffic detectors and rates (detect/traffic.h) on counter
 * readings made here: floods, a source over its rate, a scan, the quiet cases next to
 * each threshold, the re-alert pause, a key the LRU pushed out, and the bounded,
 * monotonic series of the metrics.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "detect/traffic.h"

#define S (1000000000ull)

static const struct traffic_thresholds th = {
    .syn_pps = 1000,
    .udp_pps = 1000,
    .src_pps = 5000,
    .scan_ports = 50,
    .scan_window_ns = 10 * S,
    .realert_ns = 60 * S,
    .metrics_ports = 2,
};

static struct vg_traffic_src_key key(uint8_t last, uint16_t port, uint8_t proto, uint8_t dir)
{
	struct vg_traffic_src_key k = {.port = port, .proto = proto, .dir = dir};

	if (last) {
		k.addr[10] = k.addr[11] = 0xff;
		k.addr[12] = 10;
		k.addr[15] = last;
	}
	return k;
}

static struct traffic_entry entry(struct vg_traffic_src_key k, uint64_t packets, uint64_t syn,
				  uint64_t last_ns)
{
	return (struct traffic_entry){
	    .key = k,
	    .val = {.packets = packets, .bytes = packets * 40, .syn = syn, .last_ns = last_ns}};
}

/* One reading of a port table and a source table; the findings' count. */
static int reading(struct traffic *t, struct traffic_entry *p, size_t np, struct traffic_entry *s,
		   size_t ns, uint64_t now, struct traffic_finding *out)
{
	return traffic__update(t, p, np, s, ns, now, out, 16);
}

Test(traffic, a_syn_flood_names_its_port_and_busiest_source)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry p[1], s[2];

	p[0] = entry(key(0, 80, 6, 0), 10, 10, 1 * S);
	s[0] = entry(key(2, 80, 6, 0), 5, 5, 1 * S);
	s[1] = entry(key(3, 80, 6, 0), 5, 5, 1 * S);
	cr_assert_eq(reading(t, p, 1, s, 2, 1 * S, f), 0, "the first reading is the baseline");
	/* one second later: 3000 SYNs more, 2500 of them from .2 */
	p[0] = entry(key(0, 80, 6, 0), 3010, 3010, 2 * S);
	s[0] = entry(key(2, 80, 6, 0), 2505, 2505, 2 * S);
	s[1] = entry(key(3, 80, 6, 0), 505, 505, 2 * S);
	cr_assert_eq(reading(t, p, 1, s, 2, 2 * S, f), 1);
	cr_assert_eq(f[0].kind, TRAFFIC_SYN_FLOOD);
	cr_assert_eq(f[0].port, 80);
	cr_assert(f[0].has_addr);
	cr_assert_eq(f[0].addr[15], 2);
	cr_assert_float_eq(f[0].syn_pps, 3000, 0.01);
	cr_assert_float_eq(f[0].src_pps, 2500, 0.01);
	/* it goes on: no second alert within realert */
	p[0].val.packets += 3000, p[0].val.syn += 3000;
	cr_assert_eq(reading(t, p, 1, s, 2, 3 * S, f), 0);
	traffic__free(t);
}

Test(traffic, established_tcp_and_slow_syns_are_no_flood)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry p[1];

	p[0] = entry(key(0, 443, 6, 0), 0, 0, 0);
	reading(t, p, 1, NULL, 0, 1 * S, f);
	/* 4000 packets, 999 of them SYNs: busy, not a SYN flood */
	p[0] = entry(key(0, 443, 6, 0), 4000, 999, 2 * S);
	cr_assert_eq(reading(t, p, 1, NULL, 0, 2 * S, f), 0);
	traffic__free(t);
}

Test(traffic, a_udp_flood_and_its_rate_over_the_interval)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry p[1];

	p[0] = entry(key(0, 53, 17, 0), 100, 0, 0);
	reading(t, p, 1, NULL, 0, 10 * S, f);
	/* 900 in half a second: 1800 a second */
	p[0] = entry(key(0, 53, 17, 0), 1000, 0, 0);
	cr_assert_eq(reading(t, p, 1, NULL, 0, 10 * S + S / 2, f), 1);
	cr_assert_eq(f[0].kind, TRAFFIC_UDP_FLOOD);
	cr_assert_float_eq(f[0].pps, 1800, 0.01);
	cr_assert_not(f[0].has_addr, "no source was counted");
	traffic__free(t);
}

Test(traffic, outgoing_floods_are_not_alerted)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry p[1];

	p[0] = entry(key(0, 53, 17, 1), 0, 0, 0);
	reading(t, p, 1, NULL, 0, 1 * S, f);
	p[0] = entry(key(0, 53, 17, 1), 100000, 0, 0);
	cr_assert_eq(reading(t, p, 1, NULL, 0, 2 * S, f), 0);
	traffic__free(t);
}

Test(traffic, one_source_over_its_rate_across_ports)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry s[3];

	for (int i = 0; i < 3; i++)
		s[i] = entry(key(7, (uint16_t)(1000 + i), 6, 0), 0, 0, 1 * S);
	reading(t, NULL, 0, s, 3, 1 * S, f);
	/* 2000 a second to each of three ports: 6000 in all, none a flood alone */
	for (int i = 0; i < 3; i++)
		s[i] = entry(key(7, (uint16_t)(1000 + i), 6, 0), 2000, 0, 2 * S);
	cr_assert_eq(reading(t, NULL, 0, s, 3, 2 * S, f), 1);
	cr_assert_eq(f[0].kind, TRAFFIC_SRC_RATE);
	cr_assert_eq(f[0].addr[15], 7);
	cr_assert_float_eq(f[0].pps, 6000, 0.01);
	traffic__free(t);
}

Test(traffic, a_scan_counts_ports_within_the_window)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry s[60];

	reading(t, NULL, 0, NULL, 0, 100 * S, f);
	/* 60 ports, 20 of them last seen before the window: 40, under 50 */
	for (int i = 0; i < 60; i++)
		s[i] = entry(key(9, (uint16_t)(2000 + i), 6, 0), 1, 1, i < 20 ? 85 * S : 99 * S);
	cr_assert_eq(reading(t, NULL, 0, s, 60, 101 * S, f), 0);
	/* the old ones seen again: 60 within the window */
	for (int i = 0; i < 20; i++)
		s[i] = entry(key(9, (uint16_t)(2000 + i), 6, 0), 2, 2, 101 * S);
	cr_assert_eq(reading(t, NULL, 0, s, 60, 102 * S, f), 1);
	cr_assert_eq(f[0].kind, TRAFFIC_SCAN);
	cr_assert_eq(f[0].ports, 60);
	cr_assert_eq(f[0].addr[15], 9);
	traffic__free(t);
}

Test(traffic, a_key_pushed_out_and_back_counts_whole)
{
	struct traffic *t = traffic__new(&th);
	struct traffic_finding f[16];
	struct traffic_entry p[1];
	const struct traffic_rate *r;

	p[0] = entry(key(0, 9000, 17, 0), 500, 0, 0);
	reading(t, p, 1, NULL, 0, 1 * S, f);
	/* fewer than before: the LRU made it anew, its 300 are all new */
	p[0] = entry(key(0, 9000, 17, 0), 300, 0, 0);
	reading(t, p, 1, NULL, 0, 2 * S, f);
	cr_assert_eq(traffic__ports(t, &r), 1);
	cr_assert_float_eq(r[0].pps, 300, 0.01);
	traffic__free(t);
}

/* The series of (dir, proto, port); port -1: "other". */
static const struct traffic_series *series(struct traffic *t, int port, uint8_t proto)
{
	const struct traffic_series *s;
	size_t n = traffic__series(t, &s);

	for (size_t i = 0; i < n; i++)
		if (s[i].port == port && s[i].proto == proto && s[i].dir == 0)
			return &s[i];
	return NULL;
}

Test(traffic, series_are_bounded_and_never_go_down)
{
	struct traffic *t = traffic__new(&th); /* two ports with series */
	struct traffic_finding f[16];
	struct traffic_entry p[3];
	uint64_t other;

	p[0] = entry(key(0, 1, 17, 0), 0, 0, 0);
	p[1] = entry(key(0, 2, 17, 0), 0, 0, 0);
	p[2] = entry(key(0, 3, 17, 0), 0, 0, 0);
	reading(t, p, 3, NULL, 0, 1 * S, f);
	p[0].val.packets = 10, p[1].val.packets = 20, p[2].val.packets = 5;
	reading(t, p, 3, NULL, 0, 2 * S, f);
	cr_assert_not_null(series(t, 2, 17));
	cr_assert_not_null(series(t, 1, 17));
	cr_assert_null(series(t, 3, 17), "the third busiest is in other");
	cr_assert_eq(series(t, -1, 17)->packets, 5);
	/* port 3 turns busy while 1 is idle: it takes 1's place, 1's count joins other */
	p[1].val.packets = 40, p[2].val.packets = 5 + 500;
	reading(t, p, 3, NULL, 0, 3 * S, f);
	cr_assert_null(series(t, 1, 17));
	cr_assert_eq(series(t, 3, 17)->packets, 500);
	other = series(t, -1, 17)->packets;
	cr_assert_eq(other, 10 + 5, "port 1's 10 and port 3's first 5");
	cr_assert_eq(series(t, 2, 17)->packets, 40);
	/* quiet: nothing moves, nothing goes down */
	reading(t, p, 3, NULL, 0, 4 * S, f);
	cr_assert_eq(series(t, -1, 17)->packets, other);
	cr_assert_eq(series(t, 3, 17)->packets, 500);
	traffic__free(t);
}

Test(traffic, names)
{
	char b[8];

	cr_assert_str_eq(traffic_kind_name(TRAFFIC_SYN_FLOOD), "SYN flood");
	cr_assert_str_eq(traffic_kind_name(TRAFFIC_SCAN), "Port scan");
	cr_assert_str_eq(traffic_proto_name(6, b, sizeof(b)), "tcp");
	cr_assert_str_eq(traffic_proto_name(132, b, sizeof(b)), "132");
}
