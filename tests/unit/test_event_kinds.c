// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_kinds.c - the event descriptor table and the syscall table against
 * the record format (include/vigil/events.h, read as text so that a new VG_EV_*
 * without a row fails here) and against the event types table of docs/EVENTS.md.
 * Paths are relative to the repository: `make unit` runs from its root.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "events/kinds.h"

#define EVENTS_H  "include/vigil/events.h"
#define EVENTS_MD "docs/EVENTS.md"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	cr_assert_not_null(f, "%s: cannot open (run from the repository root)", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, n + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* The values of "NAME = N," lines between "enum NAME {" and "};" that start with prefix. */
static size_t enum_values(const char *text, const char *en, const char *prefix, int *vals,
			  size_t max)
{
	char head[64];
	const char *p, *end;
	size_t n = 0;

	snprintf(head, sizeof(head), "enum %s {", en);
	p = strstr(text, head);
	cr_assert_not_null(p, "%s not in " EVENTS_H, head);
	end = strstr(p, "};");
	while ((p = strstr(p, prefix)) && p < end) {
		const char *eq = strchr(p, '=');
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(p, " ="), p);
		p += strlen(name);
		/* VG_EV_ACTION is no event kind: a record that says what an enforcer did
		 * about the event record after it, read with that event (no row, no doc
		 * row; docs/EVENTS.md says so) */
		if (!strcmp(name, "VG_EV_NONE") || !strcmp(name, "VG_EV_TYPE_MAX") ||
		    !strcmp(name, "VG_EV_ACTION"))
			continue;
		cr_assert(eq && n < max);
		vals[n++] = atoi(eq + 1);
	}
	return n;
}

Test(event_kinds, one_row_per_event_type)
{
	char *h = slurp(EVENTS_H);
	int vals[VG_EV_TYPE_MAX];
	size_t n = enum_values(h, "vg_type", "VG_EV_", vals, VG_EV_TYPE_MAX), i, rows = 0;
	int t;

	cr_assert_gt(n, 20);
	for (i = 0; i < n; i++) {
		cr_assert(vals[i] > 0 && vals[i] < VG_EV_TYPE_MAX);
		cr_assert_not_null(event_kind(vals[i]), "VG_EV_ value %d has no row in kinds.c",
				   vals[i]);
	}
	/* and no row for a value the header does not have */
	for (t = 0; t < VG_EV_TYPE_MAX; t++) {
		bool declared = false;

		if (!event_kind(t))
			continue;
		rows++;
		for (i = 0; i < n; i++)
			declared |= vals[i] == t;
		cr_assert(declared, "kind %d (%s) is not in enum vg_type", t, event_kind(t)->name);
	}
	cr_assert_eq(rows, n);
	free(h);
}

Test(event_kinds, sizes_domains_names)
{
	int t, u;

	for (t = 0; t < VG_EV_TYPE_MAX; t++) {
		const struct event_kind *k = event_kind(t);
		size_t want = 0;
		uint8_t codes[VG_SYS_MAX];

		if (!k)
			continue;
		switch (k->domain) {
		case EVENT_DOM_PROC:
			want = t == VG_EV_EXEC	 ? sizeof(struct vg_exec)
			       : t == VG_EV_FORK ? sizeof(struct vg_fork)
			       : t == VG_EV_EXIT ? sizeof(struct vg_exit)
						 : 0;
			cr_assert(k->flags & EVENT_KF_LIFECYCLE, "%s", k->name);
			cr_assert_neq(k->code, 0, "%s: a lifecycle record has no syscall field",
				      k->name);
			break;
		case EVENT_DOM_FILE:
			/* utimes and chattr: a file record with what the call asked after it */
			want = t == VG_EV_UTIMES || t == VG_EV_CHATTR ? sizeof(struct vg_fattr)
								      : sizeof(struct vg_file);
			break;
		case EVENT_DOM_NET:
			want = sizeof(struct vg_net);
			break;
		case EVENT_DOM_PRIV:
			want = sizeof(struct vg_priv);
			break;
		case EVENT_DOM_DNS:
			want = sizeof(struct vg_dns);
			cr_assert_eq(k->code, VG_CODE_DNS, "%s", k->name);
			break;
		}
		cr_assert_eq(k->size, want, "%s: record size %u", k->name, k->size);
		if (k->domain != EVENT_DOM_PROC && k->domain != EVENT_DOM_DNS) {
			cr_assert_eq(k->flags & EVENT_KF_LIFECYCLE, 0, "%s", k->name);
			cr_assert_eq(k->code, 0, "%s: its code is the record's syscall", k->name);
		}
		/* a field the kernel checks needs the sensor's criterion for it */
		if (k->pf_fields[0] && !strcmp(k->pf_fields[0], "fd.name"))
			cr_assert(k->prefilter & VG_FC_PATH, "%s", k->name);
		if (k->pf_fields[0] && !strcmp(k->pf_fields[0], "fd.sport"))
			cr_assert(k->prefilter & VG_FC_PORT, "%s", k->name);
		cr_assert(!(k->flags & EVENT_KF_LIFECYCLE) || !k->prefilter, "%s", k->name);
		cr_assert_not_null(k->json, "%s", k->name);
		cr_assert_not_null(k->text, "%s", k->name);
		cr_assert_gt(event_kind_codes(t, codes), 0, "%s has no syscall", k->name);
		cr_assert_eq(event_kind_by_name(k->name), t);
		cr_assert_str_eq(event_type_name(t), k->name);
		for (u = 0; u < EVENT_KIND_ARGS && k->args[u]; u++)
			cr_assert_not_null(event_arg_name(k->args[u]), "%s", k->name);
		for (u = t + 1; u < VG_EV_TYPE_MAX; u++)
			cr_assert(!event_kind(u) || strcmp(event_kind(u)->name, k->name),
				  "two kinds named %s", k->name);
	}
}

/* enum vg_syscall is an ABI: these values were recorded when the table was made. */
static const struct {
	const char *falco;
	int code;
} abi[] = {
    {"execve", 1},	   {"open", 2},		{"openat", 3},
    {"openat2", 4},	   {"creat", 5},	{"unlink", 6},
    {"unlinkat", 7},	   {"rmdir", 8},	{"rename", 9},
    {"renameat", 10},	   {"renameat2", 11},	{"mkdir", 12},
    {"mkdirat", 13},	   {"chmod", 14},	{"fchmod", 15},
    {"fchmodat", 16},	   {"fchmodat2", 17},	{"chown", 18},
    {"fchown", 19},	   {"lchown", 20},	{"fchownat", 21},
    {"link", 22},	   {"linkat", 23},	{"symlink", 24},
    {"symlinkat", 25},	   {"truncate", 26},	{"ftruncate", 27},
    {"connect", 40},	   {"accept", 41},	{"accept4", 42},
    {"bind", 43},	   {"listen", 44},	{"sendto", 45},
    {"sendmsg", 46},	   {"recvfrom", 47},	{"recvmsg", 48},
    {"socket", 49},	   {"dup", 50},		{"dup2", 51},
    {"dup3", 52},	   {"fcntl", 53},	{"setuid", 60},
    {"setgid", 61},	   {"setreuid", 62},	{"setregid", 63},
    {"setresuid", 64},	   {"setresgid", 65},	{"capset", 66},
    {"ptrace", 67},	   {"init_module", 68}, {"finit_module", 69},
    {"delete_module", 70}, {"mount", 71},	{"umount2", 72},
    {"unshare", 73},	   {"setns", 74},	{"bpf", 75},
    {"memfd_create", 76},  {"chroot", 77},	{"kill", 78},
    {"tkill", 79},	   {"tgkill", 80},	{"io_uring_setup", 81},
    {"utimensat", 28},	   {"futimesat", 29},	{"utimes", 30},
    {"utime", 31},	   {"ioctl", 32},	{"process_vm_writev", 82},
};

Test(event_kinds, syscall_table)
{
	static const int legacy32[] = {
#define LEGACY_(name, nr32) nr32,
	    VG_SYSCALLS_IA32_LEGACY(LEGACY_)
#undef LEGACY_
	};
	size_t n, i, j, main_rows = 0;
	const struct event_syscall *s = event_syscalls(&n);

	for (i = 0; i < n; i++) {
		cr_assert_not_null(event_kind(s[i].kind), "%s: no such kind", s[i].falco);
		cr_assert_lt(s[i].code, VG_SYS_MAX);
		cr_assert(s[i].nr64 >= -1 && s[i].nr32 >= -1);
		if (event_syscall_name(s[i].code) &&
		    !strcmp(event_syscall_name(s[i].code), s[i].falco))
			main_rows++;
		for (j = i + 1; j < n; j++) {
			cr_assert_str_neq(s[i].falco, s[j].falco, "two rows named %s", s[i].falco);
			cr_assert(s[i].nr64 < 0 || s[i].nr64 != s[j].nr64, "%s and %s: x86_64 %d",
				  s[i].falco, s[j].falco, s[i].nr64);
			cr_assert(s[i].nr32 < 0 || s[i].nr32 != s[j].nr32, "%s and %s: ia32 %d",
				  s[i].falco, s[j].falco, s[i].nr32);
		}
		for (j = 0; j < sizeof(legacy32) / sizeof(legacy32[0]); j++)
			cr_assert_neq(s[i].nr32, legacy32[j], "%s: ia32 %d is a legacy number",
				      s[i].falco, s[i].nr32);
		/* an alias answers to a code whose kind is its own */
		if (s[i].code < VG_SYS_MAX && event_syscall_name(s[i].code)) {
			for (j = 0; j < n; j++)
				if (!strcmp(s[j].falco, event_syscall_name(s[i].code)))
					cr_assert_eq(s[j].kind, s[i].kind, "%s", s[i].falco);
		}
	}
	cr_assert_eq(main_rows, sizeof(abi) / sizeof(abi[0]),
		     "a syscall was added or removed: update the ABI list here");
	for (i = 0; i < sizeof(abi) / sizeof(abi[0]); i++)
		cr_assert_str_eq(event_syscall_name(abi[i].code), abi[i].falco,
				 "vg_syscall %d was renumbered", abi[i].code);
	cr_assert_eq(VG_SYS_OPENAT, 3);
	cr_assert_eq(VG_SYS_TGKILL, 80);
	cr_assert_str_eq(event_code_name(VG_CODE_CLONE), "clone");
	cr_assert_str_eq(event_code_name(VG_CODE_PROCEXIT), "procexit");
	cr_assert_str_eq(event_code_name(VG_SYS_UMOUNT2), "umount2");
}

Test(event_kinds, arg_keys_round_trip)
{
	unsigned int a;

	cr_assert_eq(event_arg_by_name("nope"), EVENT_ARG_NONE);
	for (a = 1; a < EVENT_ARG_MAX; a++)
		cr_assert_eq(event_arg_by_name(event_arg_name(a)), a, "%s", event_arg_name(a));
}

/* Splits "a, b, c" into words; returns how many. */
static size_t words(char *s, char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL, *w;

	for (w = strtok_r(s, ", ", &save); w && n < max; w = strtok_r(NULL, ", ", &save))
		out[n++] = w;
	return n;
}

static bool has_word(char **ws, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ws[i], w))
			return true;
	return false;
}

Test(event_kinds, docs_event_table_matches)
{
	static const char *const domains[] = {
	    [EVENT_DOM_PROC] = "proc", [EVENT_DOM_FILE] = "file", [EVENT_DOM_NET] = "net",
	    [EVENT_DOM_PRIV] = "priv", [EVENT_DOM_DNS] = "dns",
	};
	char *md = slurp(EVENTS_MD), *p, *save = NULL, *line;
	bool seen[VG_EV_TYPE_MAX] = {false};
	size_t n, i;
	const struct event_syscall *s = event_syscalls(&n);
	int rows = 0, t;

	p = strstr(md, "\n## Event types\n");
	cr_assert_not_null(p, EVENTS_MD " has no '## Event types' section");
	p = strstr(p, "| --- |");
	cr_assert_not_null(p);
	p = strchr(p, '\n') + 1;
	for (line = strtok_r(p, "\n", &save); line && line[0] == '|';
	     line = strtok_r(NULL, "\n", &save)) {
		char name[32], dom[16], calls[512], *ws[32];
		size_t nw;

		cr_assert_eq(sscanf(line, "| `%31[^`]` | %15[^ |] | %511[^|]|", name, dom, calls),
			     3, "row '%s'", line);
		t = event_kind_by_name(name);
		cr_assert_geq(t, 0, EVENTS_MD ": type %s is not in kinds.c", name);
		cr_assert(!seen[t], EVENTS_MD ": %s listed twice", name);
		seen[t] = true;
		rows++;
		cr_assert_str_eq(dom, domains[event_kind(t)->domain], "%s", name);
		nw = words(calls, ws, 32);
		for (i = 0; i < nw; i++) {
			size_t k;

			for (k = 0; k < n && strcmp(s[k].falco, ws[i]); k++)
				;
			cr_assert_lt(k, n,
				     EVENTS_MD ": %s names %s, which is no syscall of vigil's",
				     name, ws[i]);
			cr_assert_eq(s[k].kind, t, EVENTS_MD ": %s belongs to %s, not %s", ws[i],
				     event_kind(s[k].kind)->name, name);
		}
		for (i = 0; i < n; i++)
			if (s[i].kind == t)
				cr_assert(has_word(ws, nw, s[i].falco),
					  EVENTS_MD ": %s does not list %s", name, s[i].falco);
	}
	for (t = 0; t < VG_EV_TYPE_MAX; t++)
		cr_assert(!event_kind(t) || seen[t], EVENTS_MD ": type %s is missing",
			  event_kind(t)->name);
	cr_assert_gt(rows, 20);
	free(md);
}
