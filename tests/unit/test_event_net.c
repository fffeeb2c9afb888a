// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_net.c - decoding and rendering of network records built by hand the
 * way bpf/net.bpf.h lays them out: IPv4, IPv6, unix pathnames and abstract names
 * with hostile bytes, absent and out-of-bounds strings, unknown numbers.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/records.h"
#include "util/json.h"

struct nrec {
	union {
		struct vg_net n;
		char buf[512];
	};
	size_t off; /* next free byte */
};

static void nrec_init(struct nrec *r, uint16_t type, uint16_t sys, int64_t ret, uint16_t family)
{
	memset(r, 0, sizeof(*r));
	r->n.hdr.type = type;
	r->n.hdr.pid = 77;
	r->n.hdr.loginuid = UINT32_MAX;
	strcpy(r->n.hdr.comm, "curl");
	r->n.syscall = sys;
	r->n.ret = ret;
	r->n.family = family;
	r->n.fd = 4;
	r->off = sizeof(struct vg_net);
	r->n.hdr.size = r->off;
}

static void nrec_tcp(struct nrec *r)
{
	r->n.sock_type = SOCK_STREAM;
	r->n.protocol = IPPROTO_TCP;
}

static void nrec_ip(struct nrec *r, bool local, const char *ip, uint16_t port)
{
	uint8_t *a = local ? r->n.laddr : r->n.raddr;

	cr_assert_eq(inet_pton(r->n.family, ip, a), 1, "%s", ip);
	if (local)
		r->n.lport = port;
	else
		r->n.rport = port;
}

/* Appends n bytes as the unix path, with the NUL the sensor writes after them. */
static void nrec_path(struct nrec *r, const char *bytes, size_t n)
{
	r->n.unix_path.off = r->off;
	r->n.unix_path.len = n;
	memcpy(r->buf + r->off, bytes, n);
	r->buf[r->off + n] = 0;
	r->off += n + 1;
	r->n.hdr.size = r->off;
}

#define assert_has(hay, needle) cr_assert(strstr(hay, needle), "want %s in\n%s", needle, hay)
#define assert_lacks(hay, needle)                                                                  \
	cr_assert(!strstr(hay, needle), "%s unexpected in\n%s", needle, hay)

Test(event_net, ipv4_connect)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, 0, AF_INET);
	nrec_tcp(&r);
	nrec_ip(&r, true, "10.0.0.5", 41234);
	nrec_ip(&r, false, "93.184.216.34", 443);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"type\":\"connect\"");
	assert_has(s, "\"syscall\":\"connect\",\"ret\":0,\"error\":null");
	assert_has(s, "\"net\":{\"family\":\"inet\",\"sock_type\":\"stream\",\"protocol\":\"tcp\","
		      "\"fd\":4,\"local\":{\"ip\":\"10.0.0.5\",\"port\":41234},"
		      "\"remote\":{\"ip\":\"93.184.216.34\",\"port\":443},\"nonblocking\":false,"
		      "\"peer_from_arg\":false,\"local_from_arg\":false,\"truncated\":[]}");
	assert_lacks(s, "backlog");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 10.0.0.5:41234 -> 93.184.216.34:443 ");
	json_free(&j);
}

Test(event_net, nonblocking_connect_in_progress_and_peer_from_arg)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, -EINPROGRESS, AF_INET);
	nrec_tcp(&r);
	r.n.hdr.flags = VG_NF_NONBLOCK | VG_NF_PEER_FROM_ARG;
	nrec_ip(&r, false, "127.0.0.1", 9);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"ret\":-115,\"error\":\"EINPROGRESS\"");
	/* an unspecified address with no port is no endpoint at all */
	assert_has(s, "\"local\":null,\"remote\":{\"ip\":\"127.0.0.1\",\"port\":9}");
	assert_has(s, "\"nonblocking\":true,\"peer_from_arg\":true,\"local_from_arg\":false");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 0.0.0.0:0 -> 127.0.0.1:9 nonblock ");
	json_free(&j);
}

Test(event_net, ipv6_accept_shows_client_first_in_text)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_ACCEPT, VG_SYS_ACCEPT4, 7, AF_INET6);
	nrec_tcp(&r);
	r.n.fd = 3;
	nrec_ip(&r, true, "2001:db8::1", 8443);
	nrec_ip(&r, false, "::ffff:192.0.2.9", 50000);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"syscall\":\"accept4\",\"ret\":7");
	assert_has(s, "\"family\":\"inet6\"");
	assert_has(s, "\"local\":{\"ip\":\"2001:db8::1\",\"port\":8443},"
		      "\"remote\":{\"ip\":\"::ffff:192.0.2.9\",\"port\":50000}");
	record_text_is(r.buf, r.off, event_net_text,
		       "fd=3 [::ffff:192.0.2.9]:50000 -> [2001:db8::1]:8443 ");
	json_free(&j);
}

Test(event_net, listen_has_backlog_and_wildcard_address)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_LISTEN, VG_SYS_LISTEN, 0, AF_INET);
	nrec_tcp(&r);
	r.n.backlog = 128;
	nrec_ip(&r, true, "0.0.0.0", 8080);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":{\"ip\":\"0.0.0.0\",\"port\":8080},\"remote\":null,"
		      "\"backlog\":128,");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 0.0.0.0:8080 backlog=128 ");
	json_free(&j);
}

Test(event_net, failed_bind_local_from_arg_udp)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_BIND, VG_SYS_BIND, -EADDRINUSE, AF_INET);
	r.n.sock_type = SOCK_DGRAM;
	r.n.protocol = IPPROTO_UDP;
	r.n.hdr.flags = 1u << 11; /* local address from the caller's sockaddr */
	nrec_ip(&r, true, "127.0.0.1", 53);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"error\":\"EADDRINUSE\"");
	assert_has(s, "\"sock_type\":\"dgram\",\"protocol\":\"udp\"");
	assert_has(s, "\"local\":{\"ip\":\"127.0.0.1\",\"port\":53},\"remote\":null");
	assert_has(s, "\"peer_from_arg\":false,\"local_from_arg\":true");
	json_free(&j);
}

Test(event_net, unix_connect_path_is_the_remote)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, 0, AF_UNIX);
	r.n.sock_type = SOCK_STREAM;
	nrec_path(&r, "/run/docker.sock", 16);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":\"unix\",\"sock_type\":\"stream\",\"protocol\":null");
	assert_has(s, "\"local\":null,\"remote\":{\"path\":\"/run/docker.sock\"}");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 unix -> /run/docker.sock ");
	json_free(&j);
}

Test(event_net, unix_abstract_name_with_hostile_bytes)
{
	static const char name[] = "@x\0y\n\"\\\xff\xc3";
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_BIND, VG_SYS_BIND, 0, AF_UNIX);
	r.n.sock_type = SOCK_DGRAM;
	nrec_path(&r, name, sizeof(name) - 1);
	s = record_json(r.buf, r.off, &j);
	/* every byte survives, NUL included, and the line stays one line */
	assert_has(s,
		   "\"local\":{\"path\":\"@x\\u0000y\\n\\\"\\\\\\udcff\\udcc3\"},\"remote\":null");
	cr_assert_null(strchr(s, '\n'));
	record_text_is(r.buf, r.off, event_net_text, "fd=4 unix @x\\x00y\\x0a\"\\x5c\xff\xc3 ");
	json_free(&j);
}

Test(event_net, unix_absent_or_out_of_bounds_path_is_null)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_ACCEPT, VG_SYS_ACCEPT, 5, AF_UNIX);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":null,\"remote\":null");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 unix (unnamed) ");
	json_free(&j);

	/* a string that runs past the record's end */
	nrec_path(&r, "/tmp/s", 6);
	r.n.unix_path.len = 200;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":null,\"remote\":null");
	json_free(&j);

	/* an offset beyond the record */
	r.n.unix_path.off = 4000;
	r.n.unix_path.len = 3;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":null,\"remote\":null");
	json_free(&j);
}

Test(event_net, truncated_path_is_flagged)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_LISTEN, VG_SYS_LISTEN, 0, AF_UNIX);
	r.n.hdr.flags = VG_NF_UNIX_TRUNC;
	nrec_path(&r, "/very/long", 10);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"local\":{\"path\":\"/very/long\"}");
	assert_has(s, "\"truncated\":[\"path\"]");
	json_free(&j);
}

Test(event_net, unknown_numbers_are_named_by_value)
{
	struct nrec r;
	struct json_buf j;
	char *s;

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, -EBADF, 99);
	r.n.sock_type = 0;
	r.n.protocol = 7;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":\"af_99\",\"sock_type\":null,\"protocol\":\"proto_7\"");
	assert_has(s, "\"local\":null,\"remote\":null");
	record_text_is(r.buf, r.off, event_net_text, "fd=4 ");
	json_free(&j);

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, 0, AF_INET);
	r.n.sock_type = 12;
	r.n.protocol = 200;
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":\"inet\",\"sock_type\":\"type_12\",\"protocol\":\"proto_200\"");
	json_free(&j);

	/* a socket-less call (EBADF) has no family at all */
	nrec_init(&r, VG_EV_LISTEN, VG_SYS_LISTEN, -EBADF, AF_UNSPEC);
	s = record_json(r.buf, r.off, &j);
	assert_has(s, "\"family\":null,\"sock_type\":null,\"protocol\":null");
	json_free(&j);
}

Test(event_net, short_record_is_rejected)
{
	struct nrec r;

	nrec_init(&r, VG_EV_CONNECT, VG_SYS_CONNECT, 0, AF_INET);
	cr_assert_neq(event_validate(r.buf, sizeof(struct vg_net) - 1), 0);
	r.n.hdr.size = sizeof(struct vg_net) - 8;
	cr_assert_neq(event_validate(r.buf, sizeof(struct vg_net)), 0);
}
