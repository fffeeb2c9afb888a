// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * test_event_priv.c - the JSON and text rendering of privilege and kernel events
 * from vg_priv records built by hand the way priv.bpf.h lays them out: names of
 * requests, flags and signals (known and unknown), old/new ids and capabilities,
 * and strings that are absent, out of bounds or cut.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "events/event.h"
#include "util/json.h"
#include "state/proctable.h"

struct prec {
	union {
		struct vg_priv p;
		char buf[1024];
	};
	size_t off; /* next free byte */
};

static void prec_init(struct prec *r, uint16_t type, uint16_t sys, int64_t ret)
{
	memset(r, 0, sizeof(*r));
	r->p.hdr.type = type;
	r->p.hdr.pid = 42;
	r->p.hdr.tid = 42;
	r->p.hdr.loginuid = UINT32_MAX;
	strcpy(r->p.hdr.comm, "probe");
	r->p.syscall = sys;
	r->p.ret = ret;
	r->off = sizeof(struct vg_priv);
	r->p.hdr.size = r->off;
}

static void prec_str(struct prec *r, struct vg_str *s, const char *bytes)
{
	size_t n = strlen(bytes);

	s->off = r->off;
	s->len = n;
	memcpy(r->buf + r->off, bytes, n);
	r->buf[r->off + n] = 0;
	r->off += n + 1;
	r->p.hdr.size = r->off;
}

/* The whole JSON line of the record; the caller frees it. */
static char *render(struct prec *r)
{
	struct event ev;
	struct json_buf j;

	cr_assert_eq(event_decode(&ev, r->buf, r->off), 0, "the record is coherent");
	json_init(&j);
	event_to_json(&ev, NULL, 0, false, &j);
	cr_assert_eq(j.err, 0);
	return j.buf;
}

static char *render_text(struct prec *r)
{
	struct event ev;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_eq(event_decode(&ev, r->buf, r->off), 0, "the record is coherent");
	event_to_text(&ev, f);
	fclose(f);
	cr_assert_eq(strchr(buf, '\n'), buf + len - 1, "one line: %s", buf);
	return buf;
}

#define HAS(s, frag)   cr_assert(strstr((s), (frag)), "missing %s in %s", (frag), (s))
#define HASNT(s, frag) cr_assert_null(strstr((s), (frag)), "unexpected %s in %s", (frag), (s))

Test(event_priv, setresuid_old_and_new_ids)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_SETID, VG_SYS_SETRESUID, 0);
	r.p.hdr.flags = VG_PF_OLD_KNOWN;
	r.p.arg0 = 65534;
	r.p.arg1 = UINT32_MAX; /* (uid_t)-1: unchanged */
	r.p.arg2 = 0;
	memcpy(r.p.ids_old, (__u32[]){0, 0, 0}, sizeof(r.p.ids_old));
	memcpy(r.p.ids_new, (__u32[]){65534, 0, 0}, sizeof(r.p.ids_new));
	s = render(&r);
	HAS(s, "\"type\":\"setid\"");
	HAS(s, "\"syscall\":\"setresuid\",\"ret\":0,\"error\":null");
	HAS(s, "\"setid\":{\"uid_old\":[0,0,0],\"uid_new\":[65534,0,0],\"args\":[65534,-1,0],"
	       "\"truncated\":[]}");
	free(s);
	s = render_text(&r);
	HAS(s, "setresuid uid 0/0/0->65534/0/0 ");
	free(s);
}

Test(event_priv, setgid_without_old_ids_and_failure)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_SETID, VG_SYS_SETGID, -1);
	r.p.arg0 = 0;
	memcpy(r.p.ids_new, (__u32[]){1000, 1000, 1000}, sizeof(r.p.ids_new));
	s = render(&r);
	HAS(s, "\"ret\":-1,\"error\":\"EPERM\"");
	HAS(s, "\"setid\":{\"gid_old\":null,\"gid_new\":[1000,1000,1000],\"args\":[0],");
	HASNT(s, "uid_");
	free(s);
	s = render_text(&r);
	HAS(s, "setgid EPERM gid ?->1000/1000/1000 ");
	free(s);
}

Test(event_priv, capset_names_added_and_removed_capabilities)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_CAPSET, VG_SYS_CAPSET, 0);
	r.p.hdr.flags = VG_PF_OLD_KNOWN;
	r.p.caps_old[0] = (1ull << 13) | (1ull << 21); /* NET_RAW, SYS_ADMIN */
	r.p.caps_old[1] = (1ull << 13) | (1ull << 21) | (1ull << 39);
	r.p.caps_new[0] = (1ull << 21) | (1ull << 39) | (1ull << 50); /* BPF, and a future cap */
	r.p.caps_new[1] = (1ull << 21) | (1ull << 39);
	r.p.caps_new[2] = 1ull << 0;
	s = render(&r);
	HAS(s, "\"old\":{\"effective\":\"0x202000\",\"permitted\":\"0x8000202000\","
	       "\"inheritable\":\"0x0\"}");
	HAS(s, "\"new\":{\"effective\":\"0x4008000200000\",\"permitted\":\"0x8000200000\","
	       "\"inheritable\":\"0x1\"}");
	HAS(s, "\"added\":{\"effective\":[\"CAP_BPF\",\"0x4000000000000\"],\"permitted\":[],"
	       "\"inheritable\":[\"CAP_CHOWN\"]}");
	HAS(s, "\"removed\":{\"effective\":[\"CAP_NET_RAW\"],\"permitted\":[\"CAP_NET_RAW\"],"
	       "\"inheritable\":[]}");
	free(s);

	r.p.hdr.flags = 0;
	s = render(&r);
	HAS(s, "\"capset\":{\"old\":null,\"new\":{");
	HASNT(s, "\"added\"");
	free(s);
}

Test(event_priv, ptrace_request_known_and_unknown)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_PTRACE, VG_SYS_PTRACE, 0);
	r.p.arg0 = 0x4206;
	r.p.target = 1234;
	r.p.arg2 = 0x100000;
	s = render(&r);
	HAS(s, "\"ptrace\":{\"request\":\"PTRACE_SEIZE\",\"request_raw\":16902,\"target\":1234,"
	       "\"addr\":\"0x0\",\"data\":\"0x100000\",\"truncated\":[]}");
	free(s);
	s = render_text(&r);
	HAS(s, "ptrace PTRACE_SEIZE target=1234 ");
	free(s);

	r.p.arg0 = 0x9999;
	s = render(&r);
	HAS(s, "\"request\":\"39321\",\"request_raw\":39321");
	free(s);
}

Test(event_priv, mount_flags_magic_unknown_bits_and_folded_target)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_MOUNT, VG_SYS_MOUNT, 0);
	r.p.arg0 = 0xc0ed0000u | 1 | (1u << 9) | (1u << 14); /* RDONLY, unnamed bit 9, REC */
	prec_str(&r, &r.p.s1, "vigil-tmpfs");
	prec_str(&r, &r.p.s2, "/tmp/work/./sub/../mnt");
	prec_str(&r, &r.p.s3, "tmpfs");
	s = render(&r);
	HAS(s, "\"mount\":{\"source\":\"vigil-tmpfs\",\"target\":\"/tmp/work/mnt\","
	       "\"fstype\":\"tmpfs\",\"flags\":[\"MS_RDONLY\",\"MS_REC\",\"0x200\"],"
	       "\"flags_raw\":16897,\"magic\":true,\"truncated\":[]}");
	free(s);
	s = render_text(&r);
	HAS(s, "mount vigil-tmpfs on /tmp/work/mnt type tmpfs MS_RDONLY|MS_REC|0x200 ");
	free(s);

	/* without the magic, the top half is real flags (MS_SHARED = 1 << 20) */
	r.p.arg0 = 1u << 20;
	s = render(&r);
	HAS(s, "\"flags\":[\"MS_SHARED\"],\"flags_raw\":1048576,\"magic\":false");
	free(s);
}

Test(event_priv, mount_strings_absent_out_of_bounds_and_cut)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_MOUNT, VG_SYS_MOUNT, -2);
	prec_str(&r, &r.p.s3, "tmpf");
	r.p.hdr.flags = VG_PF_S3_TRUNC;
	r.p.s1 = (struct vg_str){.off = 0, .len = 5};	       /* absent */
	r.p.s2 = (struct vg_str){.off = r.off - 2, .len = 40}; /* runs past the record */
	s = render(&r);
	HAS(s, "\"error\":\"ENOENT\"");
	HAS(s, "\"mount\":{\"source\":null,\"target\":null,\"fstype\":\"tmpf\",\"flags\":[],"
	       "\"flags_raw\":0,\"magic\":false,\"truncated\":[\"fstype\"]}");
	free(s);
	s = render_text(&r);
	HAS(s, "mount ENOENT - on - type tmpf 0 ");
	free(s);
}

Test(event_priv, umount2_target_and_flags)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_UMOUNT, VG_SYS_UMOUNT2, 0);
	prec_str(&r, &r.p.s2, "/mnt/x");
	r.p.arg0 = 2 | 8;
	s = render(&r);
	HAS(s, "\"syscall\":\"umount2\"");
	HAS(s, "\"umount\":{\"target\":\"/mnt/x\",\"flags\":[\"MNT_DETACH\",\"UMOUNT_NOFOLLOW\"],"
	       "\"flags_raw\":10,\"truncated\":[]}");
	free(s);
}

Test(event_priv, unshare_and_setns_namespace_flags)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_UNSHARE, VG_SYS_UNSHARE, 0);
	r.p.arg0 = 0x10000000 | 0x00020000;
	s = render(&r);
	HAS(s, "\"unshare\":{\"flags\":[\"CLONE_NEWNS\",\"CLONE_NEWUSER\"],"
	       "\"flags_raw\":268566528,");
	free(s);
	s = render_text(&r);
	HAS(s, "unshare CLONE_NEWNS|CLONE_NEWUSER ");
	free(s);

	prec_init(&r, VG_EV_SETNS, VG_SYS_SETNS, 0);
	r.p.arg0 = 0x40000000;
	prec_str(&r, &r.p.s1, "net:[4026531840]");
	s = render(&r);
	HAS(s, "\"setns\":{\"ns\":\"net:[4026531840]\",\"nstype\":[\"CLONE_NEWNET\"],"
	       "\"nstype_raw\":1073741824,\"truncated\":[]}");
	free(s);
	/* nstype 0 (any type) is an empty list, not an error */
	r.p.arg0 = 0;
	s = render(&r);
	HAS(s, "\"nstype\":[],\"nstype_raw\":0");
	free(s);
}

Test(event_priv, bpf_commands_and_object_types)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_BPF, VG_SYS_BPF, 3);
	r.p.arg0 = 0;
	r.p.arg1 = 2;
	prec_str(&r, &r.p.s1, "vg_probe_map");
	s = render(&r);
	HAS(s, "\"bpf\":{\"cmd\":\"BPF_MAP_CREATE\",\"cmd_raw\":0,"
	       "\"map_type\":\"BPF_MAP_TYPE_ARRAY\","
	       "\"map_type_raw\":2,\"name\":\"vg_probe_map\",\"truncated\":[]}");
	free(s);
	s = render_text(&r);
	HAS(s, "bpf BPF_MAP_CREATE BPF_MAP_TYPE_ARRAY vg_probe_map ");
	free(s);

	prec_init(&r, VG_EV_BPF, VG_SYS_BPF, -7);
	r.p.arg0 = 5;
	r.p.arg1 = 77;
	s = render(&r);
	HAS(s, "\"error\":\"E2BIG\"");
	HAS(s, "\"cmd\":\"BPF_PROG_LOAD\",\"cmd_raw\":5,\"prog_type\":\"77\",\"prog_type_raw\":77,"
	       "\"name\":null");
	free(s);

	/* other commands carry no object type */
	prec_init(&r, VG_EV_BPF, VG_SYS_BPF, 0);
	r.p.arg0 = 200;
	s = render(&r);
	HAS(s, "\"bpf\":{\"cmd\":\"200\",\"cmd_raw\":200,\"name\":null,");
	HASNT(s, "_type");
	free(s);
}

Test(event_priv, module_calls)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_MODULE, VG_SYS_FINIT_MODULE, -8);
	r.p.arg0 = 2;
	r.p.arg2 = 3;
	prec_str(&r, &r.p.s1, "p=1");
	prec_str(&r, &r.p.s2, "/tmp/not-a-module");
	s = render(&r);
	HAS(s, "\"error\":\"ENOEXEC\"");
	HAS(s, "\"module\":{\"params\":\"p=1\",\"path\":\"/tmp/not-a-module\",\"fd\":3,"
	       "\"flags\":[\"MODULE_INIT_IGNORE_VERMAGIC\"],\"flags_raw\":2,\"truncated\":[]}");
	free(s);

	prec_init(&r, VG_EV_MODULE, VG_SYS_DELETE_MODULE, -2);
	r.p.arg0 = 04000;
	r.p.hdr.flags = VG_PF_S1_TRUNC;
	prec_str(&r, &r.p.s1, "no_such_mod");
	s = render(&r);
	HAS(s, "\"module\":{\"name\":\"no_such_mod\",\"flags\":[\"O_NONBLOCK\"],\"flags_raw\":2048,"
	       "\"truncated\":[\"name\"]}");
	free(s);

	prec_init(&r, VG_EV_MODULE, VG_SYS_INIT_MODULE, -38);
	r.p.arg1 = 26;
	s = render(&r);
	HAS(s, "\"error\":\"ENOSYS\"");
	HAS(s, "\"module\":{\"params\":null,\"length\":26,\"truncated\":[]}");
	free(s);
}

Test(event_priv, memfd_and_chroot)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_MEMFD, VG_SYS_MEMFD_CREATE, 3);
	r.p.arg0 = 1 | 2 | 0x100; /* the last is not a flag */
	prec_str(&r, &r.p.s1, "x\nbad\xff");
	s = render(&r);
	HAS(s, "\"memfd\":{\"name\":\"x\\nbad\\udcff\",\"flags\":[\"MFD_CLOEXEC\","
	       "\"MFD_ALLOW_SEALING\",\"0x100\"],\"flags_raw\":259,");
	free(s);
	s = render_text(&r);
	HAS(s, "memfd_create x\\x0abad\xff ");
	free(s);

	prec_init(&r, VG_EV_CHROOT, VG_SYS_CHROOT, 0);
	prec_str(&r, &r.p.s1, "/srv/jail");
	s = render(&r);
	HAS(s, "\"chroot\":{\"path\":\"/srv/jail\",\"resolved\":true,\"truncated\":[]}");
	free(s);
	r.p.ret = -2;
	s = render(&r);
	HAS(s, "\"chroot\":{\"path\":\"/srv/jail\",\"resolved\":false,");
	free(s);
}

Test(event_priv, kill_signals_known_zero_and_unknown)
{
	struct prec r;
	char *s;

	prec_init(&r, VG_EV_KILL, VG_SYS_KILL, 0);
	r.p.target = 99;
	r.p.arg0 = 9;
	s = render(&r);
	HAS(s, "\"kill\":{\"target\":99,\"signal\":\"SIGKILL\",\"signal_raw\":9,\"truncated\":[]}");
	free(s);
	s = render_text(&r);
	HAS(s, "kill SIGKILL target=99 ");
	free(s);

	r.p.arg0 = 0;
	s = render(&r);
	HAS(s, "\"signal\":\"0\",\"signal_raw\":0");
	free(s);

	prec_init(&r, VG_EV_KILL, VG_SYS_TGKILL, -3);
	r.p.target = -1;
	r.p.arg0 = 40;
	r.p.arg1 = 77;
	s = render(&r);
	HAS(s, "\"error\":\"ESRCH\"");
	HAS(s, "\"kill\":{\"target\":-1,\"signal\":\"40\",\"signal_raw\":40,\"tid\":77,");
	free(s);
}

Test(event_priv, unknown_type_keeps_raw_fields)
{
	struct prec r;
	struct event ev = {.hdr = &r.p.hdr};
	struct json_buf j;

	/* a record type this renderer does not know: it must not guess */
	prec_init(&r, VG_EV_TYPE_MAX - 1, 99, 0);
	r.p.target = 5;
	r.p.arg0 = 1;
	r.p.arg2 = 3;
	prec_str(&r, &r.p.s2, "two");
	ev.size = r.off;
	json_init(&j);
	json_obj_begin(&j);
	event_priv_json(&j, &ev);
	json_obj_end(&j);
	cr_assert_eq(j.err, 0);
	cr_assert_str_eq(j.buf, "{\"priv\":{\"target\":5,\"args\":[1,0,3],\"s1\":null,"
				"\"s2\":\"two\",\"s3\":null,\"truncated\":[]}}");
	json_free(&j);
}
