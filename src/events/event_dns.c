// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_dns.c - DNS records (struct vg_dns): the message's bytes out of the record
 * and its parse, and the JSON and text forms (the question, the answer's code and
 * addresses, where it went).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dns.h"
#include "event.h"
#include "util/json.h"
#include "util/text.h"

const uint8_t *event_dns_bytes(const struct event *ev, size_t *len)
{
	const struct vg_dns *d = (const struct vg_dns *)ev->hdr;
	size_t n = d->msg_len;

	if (ev->kind->domain != EVENT_DOM_DNS)
		return NULL;
	if (n > VG_DNS_MSG_MAX)
		n = VG_DNS_MSG_MAX;
	if (d->hdr.flags & VG_DF_TCP) {
		size_t want;

		/* the length TCP puts first */
		if (n < 2)
			return NULL;
		want = (size_t)d->msg[0] << 8 | d->msg[1];
		*len = want < n - 2 ? want : n - 2;
		return d->msg + 2;
	}
	*len = n;
	return d->msg;
}

int event_dns_parse(const struct event *ev, struct dns_msg *m)
{
	size_t len = 0;
	const uint8_t *p = event_dns_bytes(ev, &len);

	if (!p) {
		m->err = DNS_ERR_SHORT;
		m->n_an = 0;
		m->qname[0] = 0;
		return DNS_ERR_SHORT;
	}
	return dns_parse(p, len, m);
}

static const char *dns_addr(const struct vg_dns *d, const uint8_t *a, char *buf, size_t len)
{
	return inet_ntop(d->family == AF_INET6 ? AF_INET6 : AF_INET, a, buf, len);
}

/* The parse ev carries, or one made into m. NULL when the message does not parse. */
static const struct dns_msg *parsed(const struct event *ev, struct dns_msg *m)
{
	if (ev->dns)
		return ev->dns;
	return event_dns_parse(ev, m) == DNS_OK ? m : NULL;
}

void event_dns_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_dns *d = (const struct vg_dns *)ev->hdr;
	struct dns_msg *m = ev->dns ? NULL : malloc(sizeof(*m));
	const struct dns_msg *pm = ev->dns ? ev->dns : m ? parsed(ev, m) : NULL;
	char a[INET6_ADDRSTRLEN];

	json_key(j, "dns");
	json_obj_begin(j);
	json_key(j, "dir");
	json_str(j, d->hdr.flags & VG_DF_ANSWER ? "answer" : "query");
	json_key(j, "proto");
	json_str(j, d->hdr.flags & VG_DF_TCP ? "tcp" : "udp");
	json_key(j, "server");
	json_str(j, dns_addr(d, d->raddr, a, sizeof(a)));
	json_key(j, "local");
	json_str(j, dns_addr(d, d->laddr, a, sizeof(a)));
	json_key(j, "lport");
	json_uint(j, d->lport);
	json_key(j, "bytes");
	json_uint(j, d->wire_len);
	json_key(j, "cut");
	json_bool(j, d->hdr.flags & VG_DF_TRUNC);
	json_key(j, "owner");
	json_str(j, d->hdr.flags & VG_DF_NO_OWNER     ? "none"
		    : d->hdr.flags & VG_DF_OWNER_SOCK ? "socket"
						      : "sender");
	if (pm) {
		const char *t = dns_type_name(pm->qtype);

		json_key(j, "query");
		json_str(j, pm->qname);
		json_key(j, "type");
		if (t)
			json_str(j, t);
		else
			json_uint(j, pm->qtype);
		if (pm->response) {
			json_key(j, "rcode");
			json_str(j, dns_rcode_name(pm->rcode));
			json_key(j, "answers");
			json_arr_begin(j);
			for (size_t i = 0; i < pm->n_an; i++) {
				const struct dns_rr *r = &pm->an[i];

				if (r->family)
					json_str(j, inet_ntop(r->family == 4 ? AF_INET : AF_INET6,
							      r->addr, a, sizeof(a)));
				else if (r->target[0])
					json_str(j, r->target);
			}
			json_arr_end(j);
		}
		if (pm->err) {
			json_key(j, "error");
			json_str(j, dns_error_name(pm->err));
		}
	} else {
		json_key(j, "error");
		json_str(j, "unparsed");
	}
	json_obj_end(j);
	free(m);
}

void event_dns_text(FILE *out, const struct event *ev)
{
	const struct vg_dns *d = (const struct vg_dns *)ev->hdr;
	struct dns_msg *m = ev->dns ? NULL : malloc(sizeof(*m));
	const struct dns_msg *pm = ev->dns ? ev->dns : m ? parsed(ev, m) : NULL;
	char a[INET6_ADDRSTRLEN];

	fprintf(out, "%s %s %s ", d->hdr.flags & VG_DF_ANSWER ? "answer" : "query",
		d->hdr.flags & VG_DF_TCP ? "tcp" : "udp", dns_addr(d, d->raddr, a, sizeof(a)));
	if (!pm) {
		fputs("(unparsed) ", out);
		free(m);
		return;
	}
	text_escape_write(out, pm->qname, strlen(pm->qname));
	fprintf(out, " %s ", dns_type_name(pm->qtype) ? dns_type_name(pm->qtype) : "?");
	if (pm->response) {
		fprintf(out, "%s", dns_rcode_name(pm->rcode) ? dns_rcode_name(pm->rcode) : "?");
		for (size_t i = 0; i < pm->n_an; i++) {
			const struct dns_rr *r = &pm->an[i];

			if (r->family)
				fprintf(out, " %s",
					inet_ntop(r->family == 4 ? AF_INET : AF_INET6, r->addr, a,
						  sizeof(a)));
		}
		fputc(' ', out);
	}
	free(m);
}
