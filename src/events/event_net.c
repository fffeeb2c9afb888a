// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_net.c - rendering of network events (struct vg_net): socket, connect,
 * accept, bind, listen, send and recv. A socket event shows what was asked for. Addresses are shown
 * as the socket held them after the call (a send's or recv's peer as the caller named it or got it
 * back); a unix socket's name may hold any bytes (an abstract name even NULs), so it is only ever
 * written through the JSON escaper or as \xNN on a terminal.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "event.h"
#include "util/json.h"
#include "util/text.h"

#define NET_NAME_MAX 16 /* "proto_65535" and the like */

static const char *family_name(uint16_t family, char *buf, size_t len)
{
	switch (family) {
	case AF_UNIX:
		return "unix";
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_NETLINK:
		return "netlink";
	case AF_PACKET:
		return "packet";
	case AF_VSOCK:
		return "vsock";
	case AF_UNSPEC:
		return NULL;
	}
	snprintf(buf, len, "af_%u", family);
	return buf;
}

static const char *sock_type_name(uint16_t type, char *buf, size_t len)
{
	switch (type) {
	case 0:
		return NULL;
	case SOCK_STREAM:
		return "stream";
	case SOCK_DGRAM:
		return "dgram";
	case SOCK_RAW:
		return "raw";
	case SOCK_RDM:
		return "rdm";
	case SOCK_SEQPACKET:
		return "seqpacket";
	case SOCK_DCCP:
		return "dccp";
	case SOCK_PACKET:
		return "packet";
	}
	snprintf(buf, len, "type_%u", type);
	return buf;
}

static bool is_inet(uint16_t family)
{
	return family == AF_INET || family == AF_INET6;
}

/* A packet socket's protocol is an ethertype in network order (ETH_P_ALL: every one). */
static const char *ethertype_name(uint16_t proto, char *buf, size_t len)
{
	uint16_t t = ntohs(proto);

	switch (t) {
	case 0:
		return NULL;
	case 0x0003:
		return "eth_all";
	case 0x0800:
		return "eth_ip";
	case 0x0806:
		return "eth_arp";
	case 0x86dd:
		return "eth_ipv6";
	}
	snprintf(buf, len, "eth_0x%04x", t);
	return buf;
}

/* IPPROTO_* names mean something only for inet sockets; 0 is "none" (socket: the
 * type's default). */
static const char *protocol_name(uint16_t family, uint16_t proto, char *buf, size_t len)
{
	if (proto == 0)
		return NULL;
	if (family == AF_PACKET)
		return ethertype_name(proto, buf, len);
	if (is_inet(family)) {
		switch (proto) {
		case IPPROTO_TCP:
			return "tcp";
		case IPPROTO_UDP:
			return "udp";
		case IPPROTO_ICMP:
			return "icmp";
		case IPPROTO_ICMPV6:
			return "icmpv6";
		case IPPROTO_SCTP:
			return "sctp";
		case IPPROTO_UDPLITE:
			return "udplite";
		case IPPROTO_RAW:
			return "raw";
		case IPPROTO_MPTCP:
			return "mptcp";
		}
	} else if (proto == 0) {
		return NULL;
	}
	snprintf(buf, len, "proto_%u", proto);
	return buf;
}

/* Whether an inet endpoint holds nothing: unspecified address and no port. */
static bool endpoint_unset(const struct vg_net *n, const uint8_t *addr, uint16_t port)
{
	static const uint8_t zero[16];

	return port == 0 && !memcmp(addr, zero, n->family == AF_INET6 ? 16 : 4);
}

static void addr_str(const struct vg_net *n, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(n->family == AF_INET6 ? AF_INET6 : AF_INET, addr, buf, len))
		snprintf(buf, len, "?");
}

/*
 * The unix name belongs to the remote end for connect, send and recv (the name the
 * caller gave or got), to the socket itself otherwise.
 */
/* dup: what the copied fd refers to (enum vg_fd_kind) */
static const char *const fd_kind_names[] = {"none", "file",   "directory", "pipe",
					    "tty",  "socket", "char",	   "other"};

static const char *fd_kind_name(uint16_t k)
{
	return k < sizeof(fd_kind_names) / sizeof(fd_kind_names[0]) ? fd_kind_names[k] : "other";
}

static bool unix_path_is_remote(const struct vg_net *n)
{
	return n->hdr.type == VG_EV_CONNECT || n->hdr.type == VG_EV_SEND ||
	       n->hdr.type == VG_EV_RECV;
}

static void json_endpoint(struct json_buf *j, const char *key, const struct event *ev,
			  const uint8_t *addr, uint16_t port, bool remote)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	char buf[INET6_ADDRSTRLEN];
	const char *path = NULL;
	size_t len = 0;

	if (n->family == AF_UNIX && unix_path_is_remote(n) == remote)
		path = event_str(ev->hdr, ev->size, n->unix_path, &len);
	json_key(j, key);
	if (is_inet(n->family) && !endpoint_unset(n, addr, port)) {
		addr_str(n, addr, buf, sizeof(buf));
		json_obj_begin(j);
		json_key(j, "ip");
		json_str(j, buf);
		json_key(j, "port");
		json_uint(j, port);
		json_obj_end(j);
	} else if (path) {
		json_obj_begin(j);
		json_key(j, "path");
		json_strn(j, path, len);
		json_obj_end(j);
	} else {
		json_null(j);
	}
}

void event_net_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	char buf[NET_NAME_MAX];

	json_key(j, "net");
	json_obj_begin(j);
	json_key(j, "family");
	json_str(j, family_name(n->family, buf, sizeof(buf)));
	json_key(j, "sock_type");
	json_str(j, sock_type_name(n->sock_type, buf, sizeof(buf)));
	json_key(j, "protocol");
	json_str(j, protocol_name(n->family, n->protocol, buf, sizeof(buf)));
	json_key(j, "fd");
	json_int(j, n->fd);
	if (n->hdr.type == VG_EV_DUP) {
		size_t len;
		const char *path = n->fd_kind == VG_FD_FILE || n->fd_kind == VG_FD_DIR
				       ? event_str(ev->hdr, ev->size, n->unix_path, &len)
				       : NULL;

		json_key(j, "newfd");
		json_int(j, n->ret);
		json_key(j, "kind");
		json_str(j, fd_kind_name(n->fd_kind));
		json_key(j, "path");
		if (path)
			json_strn(j, path, len);
		else
			json_null(j);
		json_key(j, "cloexec");
		json_bool(j, n->hdr.flags & VG_NF_CLOEXEC);
		json_key(j, "fcntl");
		json_bool(j, n->hdr.flags & VG_NF_FCNTL);
		if (n->fd_kind != VG_FD_SOCKET) {
			json_obj_end(j);
			return;
		}
	}
	json_endpoint(j, "local", ev, n->laddr, n->lport, false);
	json_endpoint(j, "remote", ev, n->raddr, n->rport, true);
	if (n->hdr.type == VG_EV_LISTEN) {
		json_key(j, "backlog");
		json_int(j, n->backlog);
	}
	json_key(j, "nonblocking");
	json_bool(j, n->hdr.flags & VG_NF_NONBLOCK);
	if (n->hdr.type == VG_EV_SOCKET) {
		json_key(j, "cloexec");
		json_bool(j, n->hdr.flags & VG_NF_CLOEXEC);
	}
	json_key(j, "peer_from_arg");
	json_bool(j, n->hdr.flags & VG_NF_PEER_FROM_ARG);
	json_key(j, "local_from_arg");
	json_bool(j, n->hdr.flags & VG_NF_LOCAL_FROM_ARG);
	json_key(j, "truncated");
	json_arr_begin(j);
	if (n->hdr.flags & VG_NF_UNIX_TRUNC)
		json_str(j, "path");
	json_arr_end(j);
	json_obj_end(j);
}

static void text_endpoint(FILE *out, const struct vg_net *n, const uint8_t *addr, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	addr_str(n, addr, buf, sizeof(buf));
	fprintf(out, n->family == AF_INET6 ? "[%s]:%u" : "%s:%u", buf, port);
}

/*
 * Like Falco's fd.name: client -> server for connect and accept, this end -> peer
 * for send, peer -> this end for recv (the way the data went), the own end otherwise.
 */
void event_net_text(FILE *out, const struct event *ev)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	char buf[NET_NAME_MAX];
	const char *path;
	size_t len;

	fprintf(out, "fd=%d ", n->fd);
	if (n->hdr.type == VG_EV_DUP) {
		fprintf(out, "%s-> %lld %s ", n->hdr.flags & VG_NF_FCNTL ? "fcntl " : "",
			(long long)n->ret, fd_kind_name(n->fd_kind));
		if (n->fd_kind != VG_FD_SOCKET) {
			path = event_str(ev->hdr, ev->size, n->unix_path, &len);
			if (path) {
				text_escape_write(out, path, len);
				fputc(' ', out);
			}
			return;
		}
	}
	if (n->hdr.type == VG_EV_SOCKET) {
		/* what was asked for: no address yet */
		const char *s = family_name(n->family, buf, sizeof(buf));

		fprintf(out, "%s ", s ? s : "unspec");
		s = sock_type_name(n->sock_type, buf, sizeof(buf));
		fprintf(out, "%s ", s ? s : "type_0");
		s = protocol_name(n->family, n->protocol, buf, sizeof(buf));
		if (s)
			fprintf(out, "%s ", s);
		if (n->hdr.flags & VG_NF_CLOEXEC)
			fputs("cloexec ", out);
	} else if (is_inet(n->family)) {
		if (n->hdr.type == VG_EV_CONNECT || n->hdr.type == VG_EV_SEND ||
		    n->hdr.type == VG_EV_DUP) {
			text_endpoint(out, n, n->laddr, n->lport);
			fputs(" -> ", out);
			text_endpoint(out, n, n->raddr, n->rport);
		} else if (n->hdr.type == VG_EV_ACCEPT || n->hdr.type == VG_EV_RECV) {
			text_endpoint(out, n, n->raddr, n->rport);
			fputs(" -> ", out);
			text_endpoint(out, n, n->laddr, n->lport);
		} else {
			text_endpoint(out, n, n->laddr, n->lport);
		}
		fputc(' ', out);
	} else if (n->family == AF_UNIX) {
		path = event_str(ev->hdr, ev->size, n->unix_path, &len);
		fputs(unix_path_is_remote(n) ? "unix -> " : "unix ", out);
		if (path)
			text_escape_write(out, path, len);
		else
			fputs("(unnamed)", out);
		fputc(' ', out);
	}
	if (n->hdr.type == VG_EV_LISTEN)
		fprintf(out, "backlog=%d ", n->backlog);
	if (n->hdr.flags & VG_NF_NONBLOCK)
		fputs("nonblock ", out);
}
