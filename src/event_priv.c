// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * event_priv.c - rendering of privilege and kernel events (struct vg_priv).
 */
#include "event.h"
#include "json.h"

void event_priv_json(struct json_buf *j, const struct event *ev)
{
	const struct vg_priv *p = (const struct vg_priv *)ev->hdr;

	json_key(j, "priv");
	json_obj_begin(j);
	json_key(j, "target");
	json_int(j, p->target);
	json_key(j, "arg0");
	json_uint(j, p->arg0);
	json_key(j, "arg1");
	json_uint(j, p->arg1);
	json_key(j, "arg2");
	json_uint(j, p->arg2);
	event_json_rstr(j, "s1", ev, p->s1);
	event_json_rstr(j, "s2", ev, p->s2);
	event_json_rstr(j, "s3", ev, p->s3);
	json_obj_end(j);
}

void event_priv_text(FILE *out, const struct event *ev)
{
	const struct vg_priv *p = (const struct vg_priv *)ev->hdr;

	fprintf(out, "target=%d arg0=%llu ", p->target, (unsigned long long)p->arg0);
}
