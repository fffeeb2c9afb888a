// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_target.c - evt.target.name and evt.target.exepath: the process a kill or
 * ptrace record names, looked up in the process table, only for a caller whose pids are
 * the host's; nothing for other record types, unknown or exited targets, and callers in
 * a pid namespace of their own.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/fields.h"
#include "events/event.h"
#include "events/records.h"
#include "events/rules.h"
#include "state/proctable.h"
#include "state/proctable_int.h"

static struct proctable *pt;

static void add_proc(uint32_t pid, uint32_t vpid, const char *comm, const char *exe)
{
	struct proc_info i;

	proc_info_init(&i, pid);
	i.vpid = vpid;
	proc_comm_copy(i.comm, comm, strlen(comm));
	i.exe = proc_str_copy(exe, strlen(exe));
	cr_assert(proctable_add_seeded(pt, &i));
}

/* A kill (or ptrace) record from caller to target, its fields ready for field_text. */
static void record(struct vg_priv *p, struct event *ev, uint16_t type, uint32_t caller,
		   int32_t target)
{
	memset(p, 0, sizeof(*p));
	p->hdr.type = type;
	p->hdr.size = sizeof(*p);
	p->hdr.pid = p->hdr.tid = caller;
	p->hdr.loginuid = UINT32_MAX;
	strcpy(p->hdr.comm, "kill");
	p->syscall = type == VG_EV_KILL ? VG_SYS_KILL : VG_SYS_PTRACE;
	p->target = target;
	p->arg0 = 15;
	fields_of_record(p, sizeof(*p), ev);
	ev->proc = proctable__find(pt, caller);
	fctx->procs = pt;
}

static void setup(void)
{
	pt = proctable__new(16, 0);
	add_proc(700, 700, "vigil", "/usr/sbin/vigil");
	add_proc(100, 100, "kill", "/usr/bin/kill");
	add_proc(200, 5, "kill", "/usr/bin/kill"); /* in a pid namespace of its own */
}

static void teardown(void)
{
	proctable__free(pt);
}

TestSuite(event_target, .init = setup, .fini = teardown);

Test(event_target, kill_and_ptrace_name_their_target)
{
	struct vg_priv p;
	struct event ev;
	char out[256];

	record(&p, &ev, VG_EV_KILL, 100, 700);
	cr_assert_str_eq(field_text("evt.target.name", out, sizeof(out), RULE_FT_STRING), "vigil");
	cr_assert_str_eq(field_text("evt.target.exepath", out, sizeof(out), RULE_FT_STRING),
			 "/usr/sbin/vigil");
	cr_assert_str_eq(field_text("evt.arg.sig", out, sizeof(out), -1), "SIGTERM");
	record(&p, &ev, VG_EV_PTRACE, 100, 700);
	cr_assert_str_eq(field_text("evt.target.exepath", out, sizeof(out), -1), "/usr/sbin/vigil");
}

Test(event_target, nothing_when_the_target_cannot_be_told)
{
	struct vg_priv p;
	struct event ev;
	char out[256];

	/* not in the table, a process group, no target */
	record(&p, &ev, VG_EV_KILL, 100, 701);
	cr_assert_null(field_text("evt.target.exepath", out, sizeof(out), -1));
	record(&p, &ev, VG_EV_KILL, 100, -700);
	cr_assert_null(field_text("evt.target.name", out, sizeof(out), -1));
	record(&p, &ev, VG_EV_KILL, 100, 0);
	cr_assert_null(field_text("evt.target.name", out, sizeof(out), -1));
	/* pid 700 in the caller's namespace is not the host's 700 */
	record(&p, &ev, VG_EV_KILL, 200, 700);
	cr_assert_null(field_text("evt.target.exepath", out, sizeof(out), -1));
	/* a caller vigil does not know */
	record(&p, &ev, VG_EV_KILL, 300, 700);
	cr_assert_null(field_text("evt.target.name", out, sizeof(out), -1));
	/* another kind of record */
	record(&p, &ev, VG_EV_SETID, 100, 700);
	cr_assert_null(field_text("evt.target.name", out, sizeof(out), -1));
}
