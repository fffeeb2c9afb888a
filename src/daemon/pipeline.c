// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pipeline.c - one record through vigil: the table learns of an exec before the
 * event is shown (so it shows the new image), and forgets a process only after
 * its exit was shown and judged (so the exit still names it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "events/dns.h"
#include "events/event.h"
#include "pipeline.h"
#include "state/dnscache.h"
#include "state/proctable.h"

static void handle(struct pipeline *p, struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;

	/* a process vigil does not know, or that moved (a runtime's init moved into its
	 * container before its exec), is placed by its record's own cgroup */
	if (h->cgroup_id && (!ev->proc || ev->proc->cgroup_id != h->cgroup_id))
		ev->container = proctable__container(p->procs, h->cgroup_id);
	if (p->resolve)
		event_resolve_dirs(ev);
	if (p->show)
		p->show(p->arg, ev);
	if (p->detect)
		detect__eval(p->detect, ev, p->procs, p->hostname);
}

/*
 * A DNS record: its message parsed once for every reader; an answer's addresses
 * are learnt before any later record (the connect that follows a lookup) is seen,
 * and a TXT query is counted for its process.
 */
/*
 * DNS over TCP: a message may come in several segments (a client that writes the
 * 2-byte length apart from the message sends two). A segment that holds less than
 * its length says is kept, per socket and direction, and the next segments of the
 * stream are joined to it, up to VG_DNS_MSG_MAX + 2 bytes or PIPELINE_TCP_PART_NS.
 * Returns the whole message's bytes (after the length) in *msg and *len; false
 * while it is still incomplete (the record is then not parsed).
 */
static bool tcp_join(struct pipeline *p, const struct vg_dns *d, const uint8_t **msg, size_t *len)
{
	struct pipeline_tcp_part *part = NULL, *free_slot = NULL;
	uint32_t answer = d->hdr.flags & VG_DF_ANSWER, n = d->msg_len, want;
	const uint8_t *b = d->msg;

	if (n > VG_DNS_MSG_MAX)
		n = VG_DNS_MSG_MAX;
	if (!p->tcp_parts)
		p->tcp_parts = calloc(PIPELINE_TCP_PARTS, sizeof(*p->tcp_parts));
	for (int i = 0; p->tcp_parts && i < PIPELINE_TCP_PARTS; i++) {
		struct pipeline_tcp_part *t = &p->tcp_parts[i];

		if (t->cookie && d->hdr.ts_ns - t->ts_ns > PIPELINE_TCP_PART_NS)
			t->cookie = 0;
		if (t->cookie == d->sock_cookie && t->answer == answer && d->sock_cookie)
			part = t;
	}
	/* a free slot, or else the one that waited longest */
	for (int i = 0; !part && p->tcp_parts && i < PIPELINE_TCP_PARTS; i++) {
		struct pipeline_tcp_part *t = &p->tcp_parts[i];

		if (!t->cookie) {
			free_slot = t;
			break;
		}
		if (!free_slot || t->ts_ns < free_slot->ts_ns)
			free_slot = t;
	}
	if (part) {
		uint32_t room = sizeof(part->buf) - part->len, take = n < room ? n : room;

		memcpy(part->buf + part->len, b, take);
		part->len += take;
		part->ts_ns = d->hdr.ts_ns;
		b = part->buf;
		n = part->len;
	}
	want = n >= 2 ? (uint32_t)b[0] << 8 | b[1] : UINT32_MAX;
	if ((want == UINT32_MAX || want > n - 2) && n < VG_DNS_MSG_MAX + 2 &&
	    !(d->hdr.flags & VG_DF_TRUNC) && p->tcp_parts) {
		/* incomplete: wait for the rest */
		if (!part && free_slot) {
			free_slot->cookie = d->sock_cookie;
			free_slot->answer = answer;
			free_slot->ts_ns = d->hdr.ts_ns;
			free_slot->len = n;
			memcpy(free_slot->buf, b, n);
		}
		return false;
	}
	if (part) {
		part->cookie = 0;
		p->dns_tcp_joined++;
	}
	if (n < 2)
		return false;
	*msg = b + 2;
	*len = want < n - 2 ? want : n - 2;
	return true;
}

static void dns_event(struct pipeline *p, struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;
	const struct vg_dns *d = (const struct vg_dns *)h;
	const uint8_t *msg = NULL;
	size_t len = 0;
	enum dns_error e;

	if (!p->dns_buf)
		p->dns_buf = malloc(sizeof(*p->dns_buf));
	if (!p->dns_buf) {
		p->dns_bad[0]++;
		return;
	}
	if (h->flags & VG_DF_TCP) {
		if (!tcp_join(p, d, &msg, &len))
			return;
		e = dns_parse(msg, len, p->dns_buf);
	} else {
		e = (enum dns_error)event_dns_parse(ev, p->dns_buf);
	}
	if (h->flags & VG_DF_TRUNC)
		p->dns_cut++;
	if (e != DNS_OK) {
		p->dns_bad[e < 5 ? e : 0]++;
		return;
	}
	if (p->dns_buf->cut && p->dns_buf->err)
		p->dns_bad[p->dns_buf->err]++;
	else if (p->dns_buf->cut)
		p->dns_cut++;
	ev->dns = p->dns_buf;
	if (h->flags & VG_DF_ANSWER)
		dnscache__learn(p->names, p->dns_buf, h->ts_ns);
	else if (p->dns_buf->qtype == 16 && !p->dns_buf->response && h->pid)
		ev->dns_txt = dnscache__txt(p->names, h->pid, h->ts_ns);
}

void pipeline_free(struct pipeline *p)
{
	free(p->dns_buf);
	free(p->tcp_parts);
	p->dns_buf = NULL;
	p->tcp_parts = NULL;
}

int pipeline_event(struct pipeline *p, struct event *ev)
{
	const struct vg_hdr *h = ev->hdr;

	ev->time_ns = h->ts_ns + p->boot_to_real_ns;
	p->received[h->type]++;
	ev->names = p->names;
	if (h->type == VG_EV_DNS)
		dns_event(p, ev);
	switch (h->type) {
	case VG_EV_EXEC:
		if (h->flags & VG_XF_DENIED) {
			/* a refused exec: the process keeps its image; the rules see the one
			 * it asked for */
			struct proc_info attempt;

			if (proctable__exec_attempt(p->procs, (const struct vg_exec *)h, ev->size,
						    &attempt)) {
				ev->proc = &attempt;
				handle(p, ev);
				proc_info_release(&attempt);
			}
			break;
		}
		ev->proc = proctable__on_exec(p->procs, (const struct vg_exec *)h, ev->size);
		/* processes known at the start of a recording are state, not events */
		if (!(h->flags & VG_XF_SEED))
			handle(p, ev);
		break;
	case VG_EV_FORK:
		ev->proc = proctable__find(p->procs, h->pid);
		handle(p, ev);
		proctable__on_fork(p->procs, (const struct vg_fork *)h);
		break;
	case VG_EV_EXIT:
		ev->proc = proctable__find(p->procs, h->pid);
		handle(p, ev);
		proctable__on_exit(p->procs, (const struct vg_exit *)h);
		break;
	default:
		ev->proc = proctable__find(p->procs, h->pid);
		handle(p, ev);
		break;
	}
	return 0;
}

int pipeline_record(struct pipeline *p, const void *data, size_t size)
{
	struct event ev; /* not zeroed: event_decode sets what is read (its path
			    buffers are 8 KiB) */

	/* an enforcer's report goes to the responder; it is about the record after it */
	if (size >= sizeof(struct vg_action) &&
	    ((const struct vg_hdr *)data)->type == VG_EV_ACTION) {
		p->received[VG_EV_ACTION]++;
		if (p->on_action)
			p->on_action(p->arg, data);
		return 0;
	}

	if (event_decode(&ev, data, size)) {
		p->invalid++;
		return -EINVAL;
	}
	return pipeline_event(p, &ev);
}
