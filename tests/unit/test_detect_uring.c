// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_detect_uring.c - the rule field evt.is_io_uring: true for a record flagged
 * VG_HF_IO_URING (an operation submitted through io_uring), false for the same
 * record from the syscall; the ring's creation answers to evt.type io_uring_setup.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detect/detect.h"
#include "events/event.h"
#include "state/proctable.h"

static int hits;

static void on_alert(void *arg, const struct detect_alert *a)
{
	hits++;
}

static const char rules[] = "- rule: unlink through a ring\n  desc: d\n"
			    "  condition: evt.type = unlinkat and evt.is_io_uring = true\n"
			    "  output: o %evt.is_io_uring\n  priority: WARNING\n"
			    "- rule: ring made\n  desc: d\n  condition: evt.type = io_uring_setup\n"
			    "  output: o\n  priority: WARNING\n";

static int eval(struct detect *d, struct proctable *procs, const void *rec, size_t size)
{
	struct event ev;

	hits = 0;
	cr_assert_eq(event_decode(&ev, rec, size), 0);
	detect__eval(d, &ev, procs, "host");
	return hits;
}

Test(detect_uring, is_io_uring_field)
{
	static const char *files[1];
	char path[] = "/tmp/vigil-uring-rules-XXXXXX";
	struct detect_opts o = {.files = files, .n_files = 1, .on_alert = on_alert};
	struct proctable *procs = proctable__new(16, 0);
	struct vg_file f = {0};
	struct vg_priv p = {0};
	struct detect *d;
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, rules, strlen(rules)), (ssize_t)strlen(rules));
	close(fd);
	files[0] = path;
	d = detect__new(&o);
	unlink(path);
	cr_assert_not_null(d);
	cr_assert_not_null(procs);
	f.hdr.type = VG_EV_UNLINK;
	f.hdr.size = sizeof(f);
	f.hdr.pid = 1;
	f.syscall = VG_SYS_UNLINKAT;
	f.fd = -1;
	f.dirfd = -100;
	cr_assert_eq(eval(d, procs, &f, sizeof(f)), 0, "a syscall's record is no ring's");
	f.hdr.flags = VG_HF_IO_URING;
	cr_assert_eq(eval(d, procs, &f, sizeof(f)), 1);
	p.hdr.type = VG_EV_IO_URING;
	p.hdr.size = sizeof(p);
	p.hdr.pid = 1;
	p.syscall = VG_SYS_IO_URING_SETUP;
	cr_assert_eq(eval(d, procs, &p, sizeof(p)), 1);
	detect__free(d);
	proctable__free(procs);
}
