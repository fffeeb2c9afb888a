// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_dns.c - the DNS message parser on well-formed and hostile messages
 * (compression, loops, truncation, long and odd names), the answer cache (CNAME
 * chains, TTLs, eviction, the TXT counts), and dns records through the pipeline:
 * the dns.* fields, fd.sip.name on a later connect, and the default DNS rules.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/pipeline.h"
#include "detect/detect.h"
#include "detect/filter.h"
#include "events/dns.h"
#include "events/event.h"
#include "state/dnscache.h"
#include "state/proctable.h"

/* ---- building messages ---- */

struct msg {
	uint8_t b[2048];
	size_t n;
};

static void put8(struct msg *m, uint8_t v)
{
	cr_assert_lt(m->n, sizeof(m->b));
	m->b[m->n++] = v;
}

static void put16(struct msg *m, uint16_t v)
{
	put8(m, v >> 8);
	put8(m, v & 0xff);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, v >> 16);
	put16(m, v & 0xffff);
}

/* A name in wire form from dotted text (no escapes). */
static void put_name(struct msg *m, const char *dotted)
{
	const char *p = dotted;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		put8(m, l);
		memcpy(m->b + m->n, p, l);
		m->n += l;
		p += l + (dot ? 1 : 0);
	}
	put8(m, 0);
}

static void header(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
	m->n = 0;
	put16(m, 0x1234);
	put16(m, flags);
	put16(m, qd);
	put16(m, an);
	put16(m, 0);
	put16(m, 0);
}

/* A response to qname/qtype with the question at offset 12. */
static void response(struct msg *m, const char *qname, uint16_t qtype, uint16_t an, uint8_t rcode)
{
	header(m, 0x8180 | rcode, 1, an);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, 1);
}

static void rr_a(struct msg *m, uint16_t name_ptr, const char *ip, uint32_t ttl)
{
	put16(m, 0xc000 | name_ptr);
	put16(m, 1);
	put16(m, 1);
	put32(m, ttl);
	put16(m, 4);
	cr_assert_eq(inet_pton(AF_INET, ip, m->b + m->n), 1);
	m->n += 4;
}

/* ---- the parser ---- */

Test(dns, query_and_answer_with_compression)
{
	struct dns_msg *d = malloc(sizeof(*d));
	struct msg m;

	header(&m, 0x0100, 1, 0);
	put_name(&m, "Pool.Example.COM");
	put16(&m, 1);
	put16(&m, 1);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_str_eq(d->qname, "pool.example.com");
	cr_assert_not(d->response);
	cr_assert_eq(d->qtype, 1);
	cr_assert_eq(d->labels, 3);
	cr_assert_eq(d->max_label, 7);

	response(&m, "www.example.com", 1, 2, 0);
	/* www.example.com CNAME cdn.example.net; cdn.example.net A 192.0.2.7 */
	put16(&m, 0xc00c);
	put16(&m, 5);
	put16(&m, 1);
	put32(&m, 300);
	{
		size_t at = m.n;

		put16(&m, 0);
		put_name(&m, "cdn.example.net");
		m.b[at] = (m.n - at - 2) >> 8;
		m.b[at + 1] = (m.n - at - 2) & 0xff;
		rr_a(&m, at + 2, "192.0.2.7", 30);
	}
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert(d->response);
	cr_assert_eq(d->rcode, 0);
	cr_assert_eq(d->n_an, 2);
	cr_assert_not(d->cut);
	cr_assert_str_eq(d->an[0].target, "cdn.example.net");
	cr_assert_str_eq(d->an[1].name, "cdn.example.net");
	cr_assert_eq(d->an[1].family, 4);
	cr_assert_eq(d->an[1].ttl, 30);
	free(d);
}

Test(dns, compression_loops_and_forward_pointers_are_refused)
{
	struct dns_msg *d = malloc(sizeof(*d));
	struct msg m;
	size_t self;

	/* the answer's name points at itself */
	response(&m, "a.test", 1, 1, 0);
	self = m.n;
	put16(&m, 0xc000 | self);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK, "the question still stands");
	cr_assert(d->cut);
	cr_assert_eq(d->err, DNS_ERR_LOOP);
	cr_assert_eq(d->n_an, 0);

	/* two names pointing at each other: a label then a pointer forward */
	response(&m, "a.test", 1, 1, 0);
	self = m.n;
	put8(&m, 1);
	put8(&m, 'x');
	put16(&m, 0xc000 | (self + 4));
	put16(&m, 0xc000 | self);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_eq(d->err, DNS_ERR_LOOP);

	/* a question whose name is a pointer to itself: nothing to use */
	header(&m, 0x0100, 1, 0);
	put16(&m, 0xc00c);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_ERR_LOOP);
	free(d);
}

Test(dns, truncated_messages_keep_what_came_before)
{
	struct dns_msg *d = malloc(sizeof(*d));
	struct msg m;

	response(&m, "b.test", 1, 2, 0);
	rr_a(&m, 12, "192.0.2.1", 60);
	rr_a(&m, 12, "192.0.2.2", 60);
	for (size_t cut = 0; cut < m.n; cut++) {
		enum dns_error e = dns_parse(m.b, cut, d);

		if (cut < 12 + 8 + 4)
			cr_assert_eq(e, DNS_ERR_SHORT, "cut at %zu", cut);
		else
			cr_assert(e == DNS_OK && d->cut && d->n_an < 2, "cut at %zu", cut);
	}
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_eq(d->n_an, 2);
	/* an rdlength past the end */
	m.b[m.n - 5] = 0xff;
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_eq(d->n_an, 1);
	cr_assert_eq(d->err, DNS_ERR_SHORT);
	cr_assert_eq(dns_parse(m.b, 0, d), DNS_ERR_SHORT);
	free(d);
}

Test(dns, hostile_names_are_escaped_and_bounded)
{
	struct dns_msg *d = malloc(sizeof(*d));
	struct msg m;
	char label[64];

	/* a dot and odd bytes inside a label cannot spell another name */
	header(&m, 0x0100, 1, 0);
	put8(&m, 9);
	memcpy(m.b + m.n, "evil.com\x01", 9);
	m.n += 9;
	put_name(&m, "x");
	put16(&m, 16);
	put16(&m, 1);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_str_eq(d->qname, "evil\\.com\\001.x");
	cr_assert_str_eq(dns_type_name(d->qtype), "TXT");

	/* 5 labels of 63 bytes: 320 wire bytes, more than a name may have */
	header(&m, 0x0100, 1, 0);
	memset(label, 'a', 63);
	for (int i = 0; i < 5; i++) {
		put8(&m, 63);
		memcpy(m.b + m.n, label, 63);
		m.n += 63;
	}
	put8(&m, 0);
	put16(&m, 1);
	put16(&m, 1);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_ERR_NAME);

	/* a reserved label type (0x40) */
	header(&m, 0x0100, 1, 0);
	put8(&m, 0x41);
	put8(&m, 'a');
	put8(&m, 0);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_ERR_NAME);

	/* no question */
	header(&m, 0x8180, 0, 0);
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_ERR_NOQUEST);
	free(d);
}

Test(dns, many_answers_are_counted_not_kept)
{
	struct dns_msg *d = malloc(sizeof(*d));
	struct msg m;

	response(&m, "many.test", 1, 40, 0);
	for (int i = 0; i < 40; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		rr_a(&m, 12, ip, 60);
	}
	cr_assert_eq(dns_parse(m.b, m.n, d), DNS_OK);
	cr_assert_eq(d->n_an, DNS_ANSWERS);
	cr_assert(d->cut);
	cr_assert_eq(d->err, DNS_OK);
	cr_assert_eq(d->ancount, 40);
	free(d);
}

Test(dns, entropy_tells_random_from_words)
{
	const char *word = "mailserver", *b32 = "mzxw6ytboi2dkmrtgq3tmobzgeydcmzuhe2dk4ra";

	cr_assert_lt(dns_entropy_x100((const uint8_t *)word, strlen(word)), 320);
	cr_assert_gt(dns_entropy_x100((const uint8_t *)b32, strlen(b32)), 400);
	cr_assert_eq(dns_entropy_x100((const uint8_t *)"aaaa", 4), 0);
	cr_assert_eq(dns_entropy_x100((const uint8_t *)"", 0), 0);
	cr_assert_str_eq(dns_rcode_name(3), "NXDOMAIN");
	cr_assert_null(dns_rcode_name(15));
}

/* ---- the answer cache ---- */

#define SEC 1000000000ull

static const uint8_t *ip4(const char *s)
{
	static uint8_t a[16];

	cr_assert_eq(inet_pton(AF_INET, s, a), 1);
	return a;
}

Test(dnscache, cname_chain_ttl_and_eviction)
{
	struct dnscache *c = dnscache__new(2);
	struct dns_msg *d = calloc(1, sizeof(*d));
	struct dnscache_stats st;

	cr_assert_not_null(c);
	d->response = true;
	strcpy(d->qname, "www.example.com");
	d->n_an = 3;
	d->an[0] = (struct dns_rr){.type = 5, .ttl = 100};
	strcpy(d->an[0].name, "www.example.com");
	strcpy(d->an[0].target, "edge.cdn.test");
	d->an[1] = (struct dns_rr){.type = 1, .ttl = 100, .family = 4};
	strcpy(d->an[1].name, "edge.cdn.test");
	memcpy(d->an[1].addr, ip4("192.0.2.10"), 4);
	/* an address for a name the question does not lead to is not learnt */
	d->an[2] = (struct dns_rr){.type = 1, .ttl = 100, .family = 4};
	strcpy(d->an[2].name, "unrelated.test");
	memcpy(d->an[2].addr, ip4("192.0.2.99"), 4);
	dnscache__learn(c, d, 10 * SEC);
	cr_assert_str_eq(dnscache__lookup(c, 4, ip4("192.0.2.10"), 11 * SEC), "www.example.com");
	cr_assert_null(dnscache__lookup(c, 4, ip4("192.0.2.99"), 11 * SEC));
	/* the TTL (100 s) runs out */
	cr_assert_null(dnscache__lookup(c, 4, ip4("192.0.2.10"), 111 * SEC));
	dnscache__stats(c, &st);
	cr_assert_eq(st.expired, 1);
	cr_assert_eq(st.entries, 0);

	/* a TTL of 0 is kept for the minimum; three addresses in a cache of two */
	d->n_an = 1;
	d->an[0] = (struct dns_rr){.type = 1, .ttl = 0, .family = 4};
	strcpy(d->an[0].name, "www.example.com");
	for (int i = 1; i <= 3; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "198.51.100.%d", i);
		memcpy(d->an[0].addr, ip4(ip), 4);
		dnscache__learn(c, d, 200 * SEC);
	}
	dnscache__stats(c, &st);
	cr_assert_eq(st.entries, 2);
	cr_assert_eq(st.evicted, 1);
	cr_assert_null(dnscache__lookup(c, 4, ip4("198.51.100.1"), 201 * SEC), "the oldest went");
	cr_assert_not_null(dnscache__lookup(c, 4, ip4("198.51.100.3"), 201 * SEC + 58 * SEC));
	/* a failed answer teaches nothing */
	d->rcode = 3;
	memcpy(d->an[0].addr, ip4("203.0.113.1"), 4);
	dnscache__learn(c, d, 300 * SEC);
	cr_assert_null(dnscache__lookup(c, 4, ip4("203.0.113.1"), 300 * SEC));
	free(d);
	dnscache__free(c);
}

Test(dnscache, txt_counts_per_window)
{
	struct dnscache *c = dnscache__new(0);

	for (uint32_t i = 1; i <= 5; i++)
		cr_assert_eq(dnscache__txt(c, 42, i * SEC), i);
	cr_assert_eq(dnscache__txt(c, 43, 6 * SEC), 1);
	cr_assert_eq(dnscache__txt(c, 42, 70 * SEC), 1, "a new window");
	dnscache__free(c);
}

/* ---- records through the pipeline: fields, fd.sip.name, the default rules ---- */

static char fired[16][64];
static char outputs[16][1024];
static int nfired;

static void on_alert(void *arg, const struct detect_alert *a)
{
	if (nfired < 16) {
		snprintf(fired[nfired], sizeof(fired[0]), "%s", a->rule->name);
		snprintf(outputs[nfired++], sizeof(outputs[0]), "%s", a->output);
	}
}

static int fired_rule(const char *name)
{
	for (int i = 0; i < nfired; i++)
		if (!strcmp(fired[i], name))
			return i;
	return -1;
}

static struct detect *detect_of(const char *yaml)
{
	static const char *files[1];
	static char path[64];
	struct detect_opts o = {.on_alert = on_alert};
	struct detect *d;
	int fd;

	if (yaml) {
		snprintf(path, sizeof(path), "/tmp/vigil-dns-XXXXXX");
		fd = mkstemp(path);
		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
		close(fd);
		files[0] = path;
		o.files = files;
		o.n_files = 1;
	}
	d = detect__new(&o);
	if (yaml)
		unlink(path);
	cr_assert_not_null(d);
	return d;
}

/* A dns record of process 77 carrying m. */
static void dns_record(struct vg_dns *r, const struct msg *m, bool answer, uint64_t ts)
{
	memset(r, 0, sizeof(*r));
	r->hdr.type = VG_EV_DNS;
	r->hdr.size = sizeof(*r);
	r->hdr.pid = 77;
	r->hdr.ts_ns = ts;
	r->hdr.loginuid = UINT32_MAX;
	r->hdr.flags = answer ? VG_DF_ANSWER : 0;
	strcpy(r->hdr.comm, "xmrig");
	r->family = AF_INET;
	r->protocol = 17;
	r->lport = 40000;
	r->rport = 53;
	inet_pton(AF_INET, "127.0.0.1", r->laddr);
	inet_pton(AF_INET, "127.0.0.53", r->raddr);
	r->msg_len = m->n < VG_DNS_MSG_MAX ? m->n : VG_DNS_MSG_MAX;
	r->wire_len = m->n;
	if (m->n > VG_DNS_MSG_MAX)
		r->hdr.flags |= VG_DF_TRUNC;
	memcpy(r->msg, m->b, r->msg_len);
}

static void connect_record(struct vg_net *n, const char *ip, uint16_t port, uint64_t ts)
{
	memset(n, 0, sizeof(*n));
	n->hdr.type = VG_EV_CONNECT;
	n->hdr.size = sizeof(*n);
	n->hdr.pid = 77;
	n->hdr.ts_ns = ts;
	n->hdr.loginuid = UINT32_MAX;
	strcpy(n->hdr.comm, "xmrig");
	n->syscall = VG_SYS_CONNECT;
	n->family = AF_INET;
	n->sock_type = 1;
	n->protocol = 6;
	n->fd = 3;
	n->lport = 41000;
	n->rport = port;
	inet_pton(AF_INET, "127.0.0.1", n->laddr);
	inet_pton(AF_INET, ip, n->raddr);
}

static const char field_rules[] =
    "- rule: dns fields\n  desc: d\n  priority: WARNING\n"
    "  output: \"q=%dns.query t=%dns.type r=%dns.rcode a=%dns.answers s=%dns.server\"\n"
    "  condition: >\n"
    "    evt.type = dns and dns.is_answer = true and dns.query = \"pool.supportxmr.com\"\n"
    "    and dns.type = A and dns.rcode = NOERROR and dns.answers contains \"127.0.0.42\"\n"
    "    and dns.query.suffixes in (supportxmr.com) and dns.query.labels = 3\n"
    "    and dns.query.max_label = 10 and dns.server = 127.0.0.53\n"
    "- rule: named connect\n  desc: d\n  priority: WARNING\n"
    "  output: \"name=%fd.sip.name\"\n"
    "  condition: evt.type = connect and fd.sip.name = \"pool.supportxmr.com\"\n";

Test(dns_pipeline, fields_and_the_name_of_a_connect)
{
	struct pipeline p = {0};
	struct vg_dns *r = malloc(sizeof(*r));
	struct vg_net n;
	struct msg m;
	int i;

	p.procs = proctable__new(16, 0);
	p.detect = detect_of(field_rules);
	p.names = dnscache__new(16);
	response(&m, "pool.supportxmr.com", 1, 1, 0);
	rr_a(&m, 12, "127.0.0.42", 300);
	dns_record(r, &m, true, 5 * SEC);
	nfired = 0;
	cr_assert_eq(pipeline_record(&p, r, sizeof(*r)), 0);
	i = fired_rule("dns fields");
	cr_assert_geq(i, 0, "fired %d", nfired);
	cr_assert(
	    strstr(outputs[i], " q=pool.supportxmr.com t=A r=NOERROR a=127.0.0.42 s=127.0.0.53"),
	    "%s", outputs[i]);

	connect_record(&n, "127.0.0.42", 3333, 6 * SEC);
	nfired = 0;
	cr_assert_eq(pipeline_record(&p, &n, sizeof(n)), 0);
	i = fired_rule("named connect");
	cr_assert_geq(i, 0);
	cr_assert(strstr(outputs[i], " name=pool.supportxmr.com"), "%s", outputs[i]);
	/* another address has no name */
	connect_record(&n, "127.0.0.43", 3333, 6 * SEC);
	nfired = 0;
	pipeline_record(&p, &n, sizeof(n));
	cr_assert_lt(fired_rule("named connect"), 0);

	/* a hostile answer (its answer's name loops) is survived and counted */
	response(&m, "loop.test", 1, 1, 0);
	put16(&m, 0xc000 | m.n);
	dns_record(r, &m, true, 7 * SEC);
	cr_assert_eq(pipeline_record(&p, r, sizeof(*r)), 0);
	cr_assert_eq(p.dns_bad[DNS_ERR_LOOP], 1);
	/* a record whose message is cut short of its question */
	response(&m, "short.test", 1, 0, 0);
	dns_record(r, &m, true, 8 * SEC);
	r->msg_len = 14;
	cr_assert_eq(pipeline_record(&p, r, sizeof(*r)), 0);
	cr_assert_eq(p.dns_bad[DNS_ERR_SHORT], 1);
	/* msg_len beyond the record is held to it */
	r->msg_len = 100000;
	cr_assert_eq(pipeline_record(&p, r, sizeof(*r)), 0);

	pipeline_free(&p);
	detect__free(p.detect);
	dnscache__free(p.names);
	proctable__free(p.procs);
	free(r);
}

Test(dns_pipeline, default_rules_on_names)
{
	struct pipeline p = {0};
	struct vg_dns *r = malloc(sizeof(*r));
	struct msg m;
	char name[300];

	p.procs = proctable__new(16, 0);
	p.detect = detect_of(NULL);
	p.names = dnscache__new(16);
	header(&m, 0x0100, 1, 0);
	put_name(&m, "pool.supportxmr.com");
	put16(&m, 1);
	put16(&m, 1);
	dns_record(r, &m, false, SEC);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_geq(fired_rule("DNS lookup of a mining pool"), 0);

	/* near misses: a longer name that only ends like it, and an ordinary name */
	for (int k = 0; k < 2; k++) {
		header(&m, 0x0100, 1, 0);
		put_name(&m, k ? "www.debian.org" : "notsupportxmr.com");
		put16(&m, 1);
		put16(&m, 1);
		dns_record(r, &m, false, SEC);
		nfired = 0;
		pipeline_record(&p, r, sizeof(*r));
		cr_assert_eq(nfired, 0, "%s", fired[0]);
	}

	header(&m, 0x0100, 1, 0);
	put_name(&m, "pastebin.com");
	put16(&m, 1);
	put16(&m, 1);
	dns_record(r, &m, false, SEC);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_geq(fired_rule("DNS lookup of a paste site"), 0);

	/* a tunnel's label: 40 random base32 characters */
	snprintf(name, sizeof(name), "mzxw6ytboi2dkmrtgq3tmobzgeydcmzuhe2dk4ra.t.example.net");
	header(&m, 0x0100, 1, 0);
	put_name(&m, name);
	put16(&m, 1);
	put16(&m, 1);
	dns_record(r, &m, false, SEC);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_geq(fired_rule("DNS tunnelling name"), 0);

	/* 30 TXT queries of one process raise the burst rule once, at the 30th */
	header(&m, 0x0100, 1, 0);
	put_name(&m, "c2.example.net");
	put16(&m, 16);
	put16(&m, 1);
	for (int k = 1; k <= 31; k++) {
		dns_record(r, &m, false, SEC + k);
		nfired = 0;
		pipeline_record(&p, r, sizeof(*r));
		if (k == 30)
			cr_assert_geq(fired_rule("Burst of DNS TXT queries"), 0);
		else
			cr_assert_lt(fired_rule("Burst of DNS TXT queries"), 0, "at %d", k);
	}

	pipeline_free(&p);
	detect__free(p.detect);
	dnscache__free(p.names);
	proctable__free(p.procs);
	free(r);
}

Test(dns_pipeline, prefilter_sends_dns_only_when_a_rule_needs_it)
{
	static const char *const yaml[] = {
	    "- rule: r\n  desc: d\n  output: o\n  priority: INFO\n  condition: evt.type = open\n",
	    "- rule: r\n  desc: d\n  output: \"%fd.sip.name\"\n  priority: INFO\n"
	    "  condition: evt.type = connect\n",
	    "- rule: r\n  desc: d\n  output: o\n  priority: INFO\n"
	    "  condition: evt.type = dns and proc.name = dig\n",
	};
	static const uint32_t want[] = {VG_FILTER_NONE, VG_FILTER_ALL, VG_FILTER_ALL};

	for (size_t i = 0; i < 3; i++) {
		struct detect *d = detect_of(yaml[i]);
		struct filter_spec f;

		filter_spec_init(&f);
		cr_assert_eq(detect__derive_filter(d, &f), 0);
		cr_assert_eq(f.types[VG_EV_DNS].mode, want[i], "rules %zu", i);
		filter_spec_free(&f);
		detect__free(d);
	}
}

/* A TCP record of socket cookie carrying bytes (the stream's, length first). */
static void tcp_record(struct vg_dns *r, const uint8_t *b, size_t n, uint64_t cookie, uint64_t ts)
{
	struct msg m;

	memcpy(m.b, b, n);
	m.n = n;
	dns_record(r, &m, false, ts);
	r->hdr.flags |= VG_DF_TCP;
	r->protocol = 6;
	r->sock_cookie = cookie;
}

Test(dns_pipeline, a_tcp_message_in_two_segments_is_joined)
{
	struct pipeline p = {0};
	struct vg_dns *r = malloc(sizeof(*r));
	struct msg m;
	uint8_t stream[600];

	p.procs = proctable__new(16, 0);
	p.detect = detect_of(NULL);
	p.names = dnscache__new(16);
	header(&m, 0x0100, 1, 0);
	put_name(&m, "pool.supportxmr.com");
	put16(&m, 1);
	put16(&m, 1);
	stream[0] = m.n >> 8;
	stream[1] = m.n & 0xff;
	memcpy(stream + 2, m.b, m.n);

	/* the length alone, then the message: one alert, on the second */
	tcp_record(r, stream, 2, 7, SEC);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_eq(nfired, 0);
	/* another socket's segment in between is not joined to it */
	tcp_record(r, stream + 2, m.n, 8, SEC + 1);
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_eq(nfired, 0);
	tcp_record(r, stream + 2, m.n, 7, SEC + 2);
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_geq(fired_rule("DNS lookup of a mining pool"), 0);
	cr_assert_eq(p.dns_tcp_joined, 1);

	/* split in the middle of the name */
	tcp_record(r, stream, 9, 9, 2 * SEC);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_eq(nfired, 0);
	tcp_record(r, stream + 9, m.n + 2 - 9, 9, 2 * SEC + 1);
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_geq(fired_rule("DNS lookup of a mining pool"), 0);

	/* a first part whose rest never comes is forgotten after its wait */
	tcp_record(r, stream, 2, 10, 3 * SEC);
	pipeline_record(&p, r, sizeof(*r));
	tcp_record(r, stream + 2, m.n, 10, 3 * SEC + PIPELINE_TCP_PART_NS + 1);
	nfired = 0;
	pipeline_record(&p, r, sizeof(*r));
	cr_assert_eq(nfired, 0, "a stale part is not joined");

	pipeline_free(&p);
	detect__free(p.detect);
	dnscache__free(p.names);
	proctable__free(p.procs);
	free(r);
}
