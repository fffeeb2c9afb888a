// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_socket.c - socket records built by hand as bpf/sensors/net.bpf.c lays
 * them out (the arguments, the flags split off the type, the new fd): their
 * rendering, the rule fields as Falco renders its socket event (evt.arg.domain,
 * type, proto, flags, fd; fd.l4proto, fd.type), Falco's packet-socket rule loaded
 * unchanged and the default rule, and the prefilter derived for the type.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "detect/filter.h"
#include "events/event.h"
#include "events/records.h"
#include "events/rules.h"
#include "state/container.h"
#include "state/proctable.h"
#include "util/json.h"

#define ETH_P_ALL_ 0x0003

struct krec {
	union {
		struct vg_net n;
		char buf[512];
	};
	size_t off; /* bytes of the record */
};

/* A socket record: the arguments as the sensor stores them, type with its flags. */
static void krec_init(struct krec *r, int64_t ret, uint16_t family, uint32_t type,
		      uint16_t protocol)
{
	memset(r, 0, sizeof(*r));
	r->n.hdr.type = VG_EV_SOCKET;
	r->n.hdr.pid = 77;
	r->n.hdr.loginuid = UINT32_MAX;
	strcpy(r->n.hdr.comm, "sniff");
	r->n.syscall = VG_SYS_SOCKET;
	r->n.ret = ret;
	r->n.family = family;
	r->n.sock_type = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	r->n.protocol = protocol;
	if (type & SOCK_NONBLOCK)
		r->n.hdr.flags |= VG_NF_NONBLOCK;
	if (type & SOCK_CLOEXEC)
		r->n.hdr.flags |= VG_NF_CLOEXEC;
	r->n.fd = ret >= 0 ? (int32_t)ret : -1;
	r->off = sizeof(struct vg_net);
	r->n.hdr.size = r->off;
}

#define assert_has(hay, needle) cr_assert(strstr(hay, needle), "want %s in\n%s", needle, hay)

/* ---- rendering ---- */

Test(event_socket, packet_socket_renders_what_was_asked)
{
	struct krec r;
	struct json_buf j;
	char *s;

	krec_init(&r, 3, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL_));
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"type\":\"socket\"");
	assert_has(s, "\"syscall\":\"socket\",\"ret\":3,\"error\":null");
	assert_has(s,
		   "\"net\":{\"family\":\"packet\",\"sock_type\":\"raw\",\"protocol\":\"eth_all\","
		   "\"fd\":3,\"local\":null,\"remote\":null,\"nonblocking\":false,"
		   "\"cloexec\":true,");
	record_text_is(r.buf, r.off, event_net_text, "fd=3 packet raw eth_all cloexec ");
	json_free(&j);
}

Test(event_socket, inet_raw_failed_and_unknown_family)
{
	struct krec r;
	struct json_buf j;
	char *s;

	krec_init(&r, 5, AF_INET, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_ICMP);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":\"inet\",\"sock_type\":\"raw\",\"protocol\":\"icmp\",\"fd\":5");
	assert_has(s, "\"nonblocking\":true,\"cloexec\":false");
	record_text_is(r.buf, r.off, event_net_text, "fd=5 inet raw icmp nonblock ");
	json_free(&j);

	/* refused for lack of CAP_NET_RAW: no fd */
	krec_init(&r, -EPERM, AF_INET6, SOCK_RAW, IPPROTO_RAW);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"ret\":-1,\"error\":\"EPERM\"");
	assert_has(s, "\"family\":\"inet6\",\"sock_type\":\"raw\",\"protocol\":\"raw\",\"fd\":-1");
	json_free(&j);

	/* protocol 0 is the type's default: no name */
	krec_init(&r, -EAFNOSUPPORT, 12345, SOCK_STREAM, 0);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":\"af_12345\",\"sock_type\":\"stream\",\"protocol\":null");
	record_text_is(r.buf, r.off, event_net_text, "fd=-1 af_12345 stream ");
	json_free(&j);
}

Test(event_socket, io_uring_direct_socket_has_no_fd)
{
	struct krec r;
	struct json_buf j;
	char *s;

	krec_init(&r, 0, AF_INET, SOCK_DGRAM, 0);
	r.n.fd = -1; /* the result is a registered-file slot */
	r.n.hdr.flags |= VG_HF_IO_URING;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"syscall\":\"socket\",\"ret\":0");
	assert_has(s, "\"is_io_uring\":true");
	assert_has(s, "\"fd\":-1");
	json_free(&j);
}

/* ---- fields ---- */

static void fields_of(struct krec *r, struct event *ev)
{
	fields_of_record(r->buf, r->off, ev);
}

/* The value of a string field by name (evt.arg.KEY included), or NULL when it has none. */
static const char *str_field(const char *name, char *out, size_t len)
{
	return field_text(name, out, len, RULE_FT_STRING);
}

#define assert_field(name, want)                                                                   \
	do {                                                                                       \
		char buf_[256];                                                                    \
		const char *got_ = str_field(name, buf_, sizeof(buf_));                            \
		if (want)                                                                          \
			cr_assert(got_ && !strcmp(got_, (want) ? (want) : ""), "%s: %s, want %s",  \
				  name, got_ ? got_ : "(none)", (want) ? (want) : "(none)");       \
		else                                                                               \
			cr_assert_null(got_, "%s: %s, want none", name, got_);                     \
	} while (0)

Test(event_socket, args_render_as_falco_renders_them)
{
	static const char *const none = NULL;
	struct krec r;
	struct event ev;

	/* Python's socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)): CLOEXEC is added */
	krec_init(&r, 3, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL_));
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "AF_PACKET");
	assert_field("evt.arg.type", "524291");
	assert_field("evt.arg.proto", "768");
	assert_field("evt.arg.flags", "O_CLOEXEC");
	assert_field("evt.arg.fd", "3");
	assert_field("evt.arg.res", "3");
	assert_field("evt.args", "fd=3 domain=AF_PACKET type=524291 proto=768 flags=O_CLOEXEC");
	assert_field("fd.type", none);
	assert_field("fd.l4proto", none);
	assert_field("fd.name", none);

	krec_init(&r, 4, AF_INET, SOCK_RAW, IPPROTO_TCP);
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "AF_INET");
	assert_field("evt.arg.type", "3");
	assert_field("evt.arg.flags", "O_NONE");
	assert_field("fd.l4proto", "raw");
	assert_field("fd.type", "ipv4");
	assert_field("fd.typechar", "4");
	assert_field("fd.name", none);

	krec_init(&r, 4, AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "AF_INET6");
	assert_field("evt.arg.type", "526338");
	assert_field("evt.arg.flags", "O_NONBLOCK|O_CLOEXEC");
	assert_field("fd.l4proto", "udp");
	assert_field("fd.type", "ipv6");

	krec_init(&r, 4, AF_INET, SOCK_STREAM, 0);
	fields_of(&r, &ev);
	assert_field("fd.l4proto", "tcp");

	/* Falco prints every name of the value: AF_LOCAL and AF_UNIX, AF_ROUTE and
	 * AF_NETLINK */
	krec_init(&r, 4, AF_UNIX, SOCK_STREAM, 0);
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "AF_LOCAL|AF_UNIX");
	assert_field("fd.type", "unix");
	assert_field("fd.sockfamily", "unix");
	krec_init(&r, 4, AF_NETLINK, SOCK_RAW, 0);
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "AF_ROUTE|AF_NETLINK");
	assert_field("fd.type", "netlink");
	assert_field("fd.sockfamily", none);
	/* a family Falco has no name for (AF_XDP): its number */
	krec_init(&r, -EPERM, 44, SOCK_RAW, 0);
	fields_of(&r, &ev);
	assert_field("evt.arg.domain", "44");
	assert_field("evt.arg.fd", "-1");
	assert_field("evt.res", "EPERM");
}

/* ---- rules ---- */

static void eval(struct detect *d, struct proctable *procs, struct krec *r,
		 const struct container_ident *in)
{
	eval_record(d, procs, r->buf, r->off, in);
}

Test(event_socket, falcos_packet_socket_rule_fires_unchanged)
{
	static const char rule[] = "Packet socket created in container";
	const char *files[] = {"../shared/compat/falco_rules.yaml"};
	struct proctable *procs = proctable__new(16, 0);
	struct container_ident pod;
	struct detect *d;
	struct krec r;
	const char *out;

	if (access(files[0], R_OK))
		cr_skip_test("%s is missing (run from the repository, beside ../shared)", files[0]);
	pod_of(&pod);
	d = detect_files(files, 1);
	krec_init(&r, 3, AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL_));
	eval(d, procs, &r, &pod);
	out = fired_rule(rule);
	cr_assert_not_null(out, "fired %d", nfired);
	assert_has(out, "socket_info=fd=3 domain=AF_PACKET type=524291 proto=768 flags=O_CLOEXEC");
	assert_has(out, "evt_type=socket");
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "not on the host");
	krec_init(&r, 3, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	eval(d, procs, &r, &pod);
	cr_assert_null(fired_rule(rule), "not for an IP socket");
	detect__free(d);
	proctable__free(procs);
}

Test(event_socket, default_rule_fires_in_a_container_for_every_path)
{
	static const char rule[] = "Packet socket created in container";
	struct proctable *procs = proctable__new(16, 0);
	struct detect *d = detect_of(NULL);
	struct container_ident pod;
	struct krec r;

	pod_of(&pod);
	krec_init(&r, 3, AF_PACKET, SOCK_DGRAM, htons(0x0806));
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule));
	assert_has(fired_rule(rule), "socket=fd=3 domain=AF_PACKET type=2 proto=1544 flags=O_NONE");
	r.n.hdr.flags |= VG_HF_COMPAT;
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule), "a 32-bit program's");
	r.n.hdr.flags = VG_HF_IO_URING;
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule), "through io_uring");
	krec_init(&r, -EPERM, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL_));
	eval(d, procs, &r, &pod);
	cr_assert_not_null(fired_rule(rule), "a refused attempt");
	assert_has(fired_rule(rule), "res=EPERM");
	krec_init(&r, 3, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL_));
	eval(d, procs, &r, NULL);
	cr_assert_null(fired_rule(rule), "the host's dhclient or tcpdump");
	krec_init(&r, 3, AF_INET, SOCK_DGRAM, 0);
	eval(d, procs, &r, &pod);
	cr_assert_eq(nfired, 0, "a resolver's socket raises nothing");
	detect__free(d);
	proctable__free(procs);
}

/* ---- the prefilter ---- */

Test(event_socket, prefilter_keeps_sockets_in_the_kernel_unless_a_rule_wants_them)
{
	static const char comm_rule[] = "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n"
					"  condition: evt.type = socket and proc.name = tcpdump\n";
	static const char other_rule[] = "- rule: r\n  desc: d\n  output: o\n  priority: WARNING\n"
					 "  condition: evt.type = connect and fd.sport = 4444\n";
	struct filter_spec f;
	struct detect *d;
	struct event ev;
	struct krec r;

	/* no rule on socket: none goes up */
	d = detect_of(other_rule);
	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_SOCKET].mode, VG_FILTER_NONE);
	krec_init(&r, 3, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL_));
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert_not(filter_spec_pass(&f, &ev));
	filter_spec_free(&f);
	detect__free(d);

	/* a comm: only that comm's */
	d = detect_of(comm_rule);
	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_SOCKET].mode, VG_FILTER_MATCH);
	cr_assert_eq(f.types[VG_EV_SOCKET].criteria, VG_FC_COMM);
	cr_assert_not(filter_spec_pass(&f, &ev), "comm sniff");
	strcpy(r.n.hdr.comm, "tcpdump");
	cr_assert_eq(event_decode(&ev, r.buf, r.off), 0);
	cr_assert(filter_spec_pass(&f, &ev));
	filter_spec_free(&f);
	detect__free(d);

	/* the default rules: the kernel cannot tell families apart, every socket goes up */
	d = detect_of(NULL);
	filter_spec_init(&f);
	cr_assert_eq(detect__derive_filter(d, &f), 0);
	cr_assert_eq(f.types[VG_EV_SOCKET].mode, VG_FILTER_ALL);
	filter_spec_free(&f);
	detect__free(d);
}
