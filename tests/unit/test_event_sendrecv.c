// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_sendrecv.c - send and recv records (sendto, sendmsg, recvfrom, recvmsg
 * naming their peer) built by hand as bpf/sensors/net.bpf.c lays them out: their
 * rendering, the rule fields (the peer is the server side, as for connect), the
 * default miner rule on a datagram to a pool port, and the prefilter's port
 * criterion derived for them and checked by the user-space mirror.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/filter.h"
#include "events/event.h"
#include "events/records.h"
#include "state/proctable.h"
#include "util/json.h"

struct srec {
	union {
		struct vg_net n;
		char buf[512];
	};
	size_t off; /* next free byte */
};

/* A UDP record of type and syscall: local (the socket's) and peer (the caller's sockaddr). */
static void srec_udp(struct srec *r, uint16_t type, uint16_t sys, int64_t ret, int family,
		     const char *lip, uint16_t lport, const char *rip, uint16_t rport)
{
	memset(r, 0, sizeof(*r));
	r->n.hdr.type = type;
	r->n.hdr.pid = 77;
	r->n.hdr.loginuid = UINT32_MAX;
	r->n.hdr.flags = VG_NF_PEER_FROM_ARG;
	strcpy(r->n.hdr.comm, "xmr");
	r->n.syscall = sys;
	r->n.ret = ret;
	r->n.family = family;
	r->n.sock_type = SOCK_DGRAM;
	r->n.protocol = IPPROTO_UDP;
	r->n.fd = 4;
	cr_assert_eq(inet_pton(family, lip, r->n.laddr), 1);
	cr_assert_eq(inet_pton(family, rip, r->n.raddr), 1);
	r->n.lport = lport;
	r->n.rport = rport;
	r->off = sizeof(struct vg_net);
	r->n.hdr.size = r->off;
}

#define assert_has(hay, needle) cr_assert(strstr(hay, needle), "want %s in\n%s", needle, hay)

Test(event_sendrecv, sendto_renders_this_end_then_the_destination)
{
	struct srec r;
	struct json_buf j;
	char *s;

	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDTO, 5, AF_INET, "0.0.0.0", 5353, "198.51.100.7", 3333);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"type\":\"send\"");
	assert_has(s, "\"syscall\":\"sendto\",\"ret\":5,\"error\":null");
	assert_has(s, "\"net\":{\"family\":\"inet\",\"sock_type\":\"dgram\",\"protocol\":\"udp\","
		      "\"fd\":4,\"local\":{\"ip\":\"0.0.0.0\",\"port\":5353},"
		      "\"remote\":{\"ip\":\"198.51.100.7\",\"port\":3333},\"nonblocking\":false,"
		      "\"peer_from_arg\":true,\"local_from_arg\":false,\"truncated\":[]}");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 0.0.0.0:5353 -> 198.51.100.7:3333 ");
	json_free(&j);
}

Test(event_sendrecv, recvmsg_renders_the_source_first)
{
	struct srec r;
	struct json_buf j;
	char *s;

	srec_udp(&r, VG_EV_RECV, VG_SYS_RECVMSG, 48, AF_INET6, "::1", 53, "2001:db8::9", 40000);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"type\":\"recv\"");
	assert_has(s, "\"syscall\":\"recvmsg\",\"ret\":48");
	assert_has(s, "\"local\":{\"ip\":\"::1\",\"port\":53},"
		      "\"remote\":{\"ip\":\"2001:db8::9\",\"port\":40000}");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 [2001:db8::9]:40000 -> [::1]:53 ");
	json_free(&j);
}

Test(event_sendrecv, unix_sendmsg_names_the_destination)
{
	struct srec r;
	struct json_buf j;
	char *s;

	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDMSG, 12, AF_INET, "0.0.0.0", 0, "0.0.0.0", 0);
	memset(r.n.laddr, 0, sizeof(r.n.laddr));
	memset(r.n.raddr, 0, sizeof(r.n.raddr));
	r.n.family = AF_UNIX;
	r.n.protocol = 0;
	r.n.unix_path.off = r.off;
	r.n.unix_path.len = strlen("/dev/log");
	strcpy(r.buf + r.off, "/dev/log");
	r.off += strlen("/dev/log") + 1;
	r.n.hdr.size = r.off;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":null,\"remote\":{\"path\":\"/dev/log\"}");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 unix -> /dev/log ");
	json_free(&j);
}

/* ---- rule fields, and the default rules ---- */

static char fired[16][64];
static int nfired;

static void on_alert(void *arg, const struct detect_alert *a)
{
	if (nfired < 16)
		snprintf(fired[nfired++], sizeof(fired[0]), "%s", a->rule->name);
}

static bool fired_rule(const char *name)
{
	for (int i = 0; i < nfired; i++)
		if (!strcmp(fired[i], name))
			return true;
	return false;
}

static struct detect *detect_of(const char *yaml)
{
	static const char *files[1];
	static char path[64];
	struct detect_opts o = {.on_alert = on_alert};
	struct detect *d;
	int fd;

	if (yaml) {
		snprintf(path, sizeof(path), "/tmp/vigil-sendrecv-XXXXXX");
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

static void eval(struct detect *d, struct proctable *procs, struct srec *r)
{
	struct event ev;

	nfired = 0;
	cr_assert_eq(event_decode(&ev, r->buf, r->off), 0);
	detect__eval(d, &ev, procs, "host");
}

static const char field_rules[] =
    "- rule: send fields\n  desc: d\n  output: o\n  priority: WARNING\n"
    "  condition: >\n"
    "    evt.type = sendto and fd.sport = 3333 and fd.rport = 3333 and fd.lport = 5353\n"
    "    and fd.cport = 5353 and fd.sip = 198.51.100.7 and fd.rip = 198.51.100.7\n"
    "    and fd.cip = 10.0.0.5 and fd.l4proto = udp and fd.typechar = 4\n"
    "    and fd.name = \"10.0.0.5:5353->198.51.100.7:3333\"\n"
    "    and evt.arg.addr = \"10.0.0.5:5353->198.51.100.7:3333\" and evt.arg.fd = 4\n"
    "    and fd.connected = false\n"
    "- rule: recv fields\n  desc: d\n  output: o\n  priority: WARNING\n"
    "  condition: >\n"
    "    evt.type = recvfrom and fd.sport = 3333 and fd.lport = 5353\n"
    "    and fd.sip = 198.51.100.7 and evt.rawres = 5\n"
    "- rule: any send\n  desc: d\n  output: o\n  priority: WARNING\n"
    "  condition: evt.type in (sendto, sendmsg)\n";

Test(event_sendrecv, net_fields_answer_as_for_connect)
{
	struct proctable *procs = proctable__new(16, 0);
	struct detect *d = detect_of(field_rules);
	struct srec r;

	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDTO, 5, AF_INET, "10.0.0.5", 5353, "198.51.100.7", 3333);
	eval(d, procs, &r);
	cr_assert(fired_rule("send fields") && fired_rule("any send"), "fired %d", nfired);
	r.n.syscall = VG_SYS_SENDMSG;
	eval(d, procs, &r);
	cr_assert(!fired_rule("send fields") && fired_rule("any send"));
	srec_udp(&r, VG_EV_RECV, VG_SYS_RECVFROM, 5, AF_INET, "10.0.0.5", 5353, "198.51.100.7",
		 3333);
	eval(d, procs, &r);
	cr_assert(fired_rule("recv fields") && !fired_rule("any send"));
	detect__free(d);
	proctable__free(procs);
}

Test(event_sendrecv, default_miner_rule_fires_on_a_datagram_to_a_pool_port)
{
	static const char rule[] = "Crypto-miner pool port connection";
	struct proctable *procs = proctable__new(16, 0);
	struct detect *d = detect_of(NULL);
	struct srec r;

	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDTO, 5, AF_INET, "0.0.0.0", 40000, "198.51.100.7", 3333);
	eval(d, procs, &r);
	cr_assert(fired_rule(rule));
	r.n.syscall = VG_SYS_SENDMSG;
	r.n.hdr.flags |= VG_HF_IO_URING;
	eval(d, procs, &r);
	cr_assert(fired_rule(rule), "through io_uring too");
	r.n.rport = 53;
	eval(d, procs, &r);
	cr_assert_not(fired_rule(rule), "DNS is no pool port");
	r.n.rport = 4444;
	r.n.ret = -EPERM;
	eval(d, procs, &r);
	cr_assert_not(fired_rule(rule), "a refused send sent nothing");
	/* a datagram received from a pool port is not a connection made */
	srec_udp(&r, VG_EV_RECV, VG_SYS_RECVFROM, 5, AF_INET, "0.0.0.0", 40000, "198.51.100.7",
		 3333);
	eval(d, procs, &r);
	cr_assert_not(fired_rule(rule));
	detect__free(d);
	proctable__free(procs);
}

/* ---- the prefilter ---- */

Test(event_sendrecv, port_criterion_derived_for_send_and_mirrored)
{
	static const char rules[] = "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n"
				    "  condition: evt.type in (sendto, sendmsg) and fd.sport in "
				    "(53, 3333)\n";
	struct detect *d = detect_of(rules);
	struct filter_spec f;
	struct event ev;
	struct srec r;

	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_SEND].mode, VG_FILTER_MATCH);
	cr_assert_eq(f.types[VG_EV_SEND].criteria, VG_FC_PORT);
	cr_assert_eq(f.types[VG_EV_RECV].mode, VG_FILTER_NONE, "no rule sees a receive");
	cr_assert_eq(f.types[VG_EV_CONNECT].mode, VG_FILTER_NONE);
	/* the peer's port is the one checked */
	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDTO, 5, AF_INET, "0.0.0.0", 3333, "192.0.2.1", 53);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert(filter_spec_pass(&f, &ev));
	srec_udp(&r, VG_EV_SEND, VG_SYS_SENDMSG, 5, AF_INET, "0.0.0.0", 53, "192.0.2.1", 443);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_not(filter_spec_pass(&f, &ev), "the local port is not the criterion");
	srec_udp(&r, VG_EV_RECV, VG_SYS_RECVFROM, 5, AF_INET, "0.0.0.0", 40000, "192.0.2.1", 53);
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_not(filter_spec_pass(&f, &ev));
	filter_spec_free(&f);
	detect__free(d);
}
