// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_net.c - rendering of network events (struct vg_net).
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "event.h"
#include "json.h"

static void addr_str(const struct vg_net *n, const __u8 *a, char *buf, size_t len)
{
	if (n->family == AF_INET6)
		inet_ntop(AF_INET6, a, buf, len);
	else
		inet_ntop(AF_INET, a, buf, len);
}

void event_net_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	char buf[INET6_ADDRSTRLEN];

	json_key(j, "net");
	json_obj_begin(j);
	json_key(j, "family");
	json_uint(j, n->family);
	json_key(j, "fd");
	json_int(j, n->fd);
	if (n->family == AF_INET || n->family == AF_INET6) {
		addr_str(n, n->laddr, buf, sizeof(buf));
		json_key(j, "local_ip");
		json_str(j, buf);
		json_key(j, "local_port");
		json_uint(j, n->lport);
		addr_str(n, n->raddr, buf, sizeof(buf));
		json_key(j, "remote_ip");
		json_str(j, buf);
		json_key(j, "remote_port");
		json_uint(j, n->rport);
	}
	event_json_rstr(j, "unix_path", ev, n->unix_path);
	json_obj_end(j);
}

void event_net_text(FILE *out, const struct event *ev)
{
	const struct vg_net *n = (const struct vg_net *)ev->hdr;
	char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN];

	addr_str(n, n->laddr, l, sizeof(l));
	addr_str(n, n->raddr, r, sizeof(r));
	fprintf(out, "%s:%u -> %s:%u ", l, n->lport, r, n->rport);
}
