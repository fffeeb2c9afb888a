/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * procfs.c - seeding the process table from /proc: every process that was running
 * before the sensors attached, read from its stat, status, loginuid, cgroup, exe,
 * cwd and cmdline files. A process that vanishes while it is read is skipped.
 * Start times come in clock ticks, so seeded entries are flagged PROC_F_FROM_PROCFS
 * and matched with a tick of slack.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/cgroup.h"
#include "state/procfs.h"
#include "state/proctable_int.h"

#define NSEC_PER_SEC	1000000000ull
#define PROC_STAT_MAX	2048 /* /proc/PID/stat: ~350 bytes, comm is at most 64 */
#define PROC_STATUS_MAX 8192 /* /proc/PID/status: ~1.5 KiB */
#define DELETED_SUFFIX	" (deleted)"
#define MEMFD_PREFIX	"/memfd:"

ssize_t procfs_read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (len < cap - 1) {
		r = read(fd, buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* readlink, NUL-terminated; returns the length, or 0 when there is no link to read. */
static size_t read_link(const char *path, char *buf, size_t cap)
{
	ssize_t n = readlink(path, buf, cap - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

static void proc_path(char *buf, size_t cap, const char *procfs, uint32_t pid, const char *name)
{
	snprintf(buf, cap, "%s/%u/%s", procfs, pid, name);
}

/* ppid, session, tty and start from /proc/PID/stat, whose comm may hold ") (". */
static int parse_stat(uint64_t hz, char *buf, struct proc_info *i)
{
	char *open = strchr(buf, '('), *close = strrchr(buf, ')');
	unsigned int ppid;
	int sid, tty;
	unsigned long long ticks;

	if (!open || !close || close < open)
		return -EINVAL;
	if (sscanf(close + 1,
		   " %*c %u %*d %d %d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &ppid, &sid, &tty, &ticks) != 4)
		return -EINVAL;
	proc_comm_copy(i->comm, open + 1, (size_t)(close - open - 1));
	i->ppid = ppid;
	i->sid = (uint32_t)sid;
	i->tty = (uint32_t)tty;
	/* split so that ticks * 1e9 cannot overflow */
	i->start_ns = ticks / hz * NSEC_PER_SEC + ticks % hz * NSEC_PER_SEC / hz;
	return 0;
}

int procfs_stat(const char *procfs, uint32_t pid, uint32_t *ppid, uint64_t *start_ns)
{
	char path[PATH_MAX], buf[PROC_STAT_MAX];
	struct proc_info i = {0};
	long hz = sysconf(_SC_CLK_TCK);
	ssize_t n;
	int err;

	proc_path(path, sizeof(path), procfs, pid, "stat");
	n = procfs_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	err = parse_stat(hz > 0 ? (uint64_t)hz : 100, buf, &i);
	if (err)
		return err;
	*ppid = i.ppid;
	*start_ns = i.start_ns;
	return 0;
}

size_t procfs_ancestry(const char *procfs, uint32_t pid, uint32_t *out, size_t max)
{
	size_t n = 0;
	uint64_t start;

	while (pid > 1 && n < max) {
		out[n++] = pid;
		if (procfs_stat(procfs, pid, &pid, &start))
			break;
	}
	return n;
}

/* Real and effective ids and CapEff from /proc/PID/status. */
static int parse_status(char *buf, struct proc_info *i)
{
	unsigned long long cap;
	unsigned int real, eff;
	char *next;
	int found = 0;

	for (char *line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			next++;
		if (sscanf(line, "Uid: %u %u", &real, &eff) == 2) {
			i->uid = real;
			i->euid = eff;
			found |= 1;
		} else if (sscanf(line, "Gid: %u %u", &real, &eff) == 2) {
			i->gid = real;
			i->egid = eff;
			found |= 2;
		} else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
			i->cap_eff = cap;
		} else if (!strncmp(line, "NSpid:", 6) || !strncmp(line, "NSpgid:", 7)) {
			/* the last number: the process's own namespace's */
			char *last = next ? next - 1 : line + strlen(line);

			while (last > line && last[-1] != ' ' && last[-1] != '\t')
				last--;
			*(line[2] == 'p' && line[3] == 'i' ? &i->vpid : &i->vpgid) =
			    (uint32_t)strtoul(last, NULL, 10);
		}
	}
	return found == 3 ? 0 : -EINVAL;
}

/* Whether the image behind /proc/PID/exe is a 32-bit x86 ELF (ia32, not x32). */
static bool exe_is_ia32(const char *path)
{
	unsigned char e[20]; /* e_ident, e_type, e_machine */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ia32;

	if (fd < 0)
		return false;
	ia32 = read(fd, e, sizeof(e)) == (ssize_t)sizeof(e) && !memcmp(e, ELFMAG, SELFMAG) &&
	       e[EI_CLASS] == ELFCLASS32 && (e[18] | e[19] << 8) == EM_386;
	close(fd);
	return ia32;
}

/* Describes one process from procfs into *i; -errno when it is gone or unreadable. */
static int seed_read(struct proctable *pt, const char *procfs, uint32_t pid, const char *cg2,
		     struct proc_info *i)
{
	char path[PATH_MAX], buf[PROC_STATUS_MAX], link[PATH_MAX];
	struct stat st;
	size_t n;
	ssize_t r;
	int err;

	proc_info_init(i, pid);
	i->flags = PROC_F_FROM_PROCFS;
	proc_path(path, sizeof(path), procfs, pid, "stat");
	r = procfs_read_file(path, buf, PROC_STAT_MAX);
	if (r < 0)
		return (int)r;
	err = parse_stat(proctable_hz(pt), buf, i);
	if (err)
		return err;
	proc_path(path, sizeof(path), procfs, pid, "status");
	r = procfs_read_file(path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	err = parse_status(buf, i);
	if (err)
		return err;
	proc_path(path, sizeof(path), procfs, pid, "loginuid");
	if (procfs_read_file(path, buf, sizeof(buf)) > 0)
		i->loginuid = (uint32_t)strtoul(buf, NULL, 10);
	err = container_from_proc(procfs, (int)pid, &i->container);
	if (err)
		return err;
	/* cgroup_id stays 0 (unknown) when any step fails; a container's cgroup is
	 * entered in the container table, so that its metadata is asked for now */
	if (cg2[0] && cgroup_v2_path(procfs, pid, path, sizeof(path)) == 0 &&
	    cgroup_path_id(cg2, path, &i->cgroup_id) == 0 && i->container.runtime != CONTAINER_HOST)
		containers__resolve(proctable__containers(pt), i->cgroup_id, path, strlen(path));

	/* kernel threads have no exe: it stays "" */
	proc_path(path, sizeof(path), procfs, pid, "exe");
	n = read_link(path, link, sizeof(link));
	if (n >= strlen(DELETED_SUFFIX) &&
	    strcmp(link + n - strlen(DELETED_SUFFIX), DELETED_SUFFIX) == 0) {
		n -= strlen(DELETED_SUFFIX);
		i->flags |= PROC_F_EXE_DELETED;
	}
	if (strncmp(link, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		i->flags |= PROC_F_EXE_MEMFD;
	i->exe = proc_str_copy(link, n);
	if (exe_is_ia32(path))
		i->flags |= PROC_F_COMPAT;
	if (stat(path, &st) == 0) {
		i->exe_ctime_ns = st.st_ctim.tv_sec * 1000000000ull + st.st_ctim.tv_nsec;
		i->exe_mtime_ns = st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	}

	proc_path(path, sizeof(path), procfs, pid, "cwd");
	n = read_link(path, link, sizeof(link));
	i->cwd = proc_str_copy(link, n);

	/* bounded like the exec records' environment */
	if (proctable_keeps_env(pt)) {
		proc_path(path, sizeof(path), procfs, pid, "environ");
		r = procfs_read_file(path, buf, VG_ENV_MAX);
		if (r > 0)
			proc_env_copy(i, buf, (size_t)r);
	}

	/* bounded like the sensors' argv */
	proc_path(path, sizeof(path), procfs, pid, "cmdline");
	r = procfs_read_file(path, buf, VG_ARGS_MAX + 1);
	if (r > 0)
		proc_args_copy(i, buf, (size_t)r);
	return 0;
}

int proctable__seed(struct proctable *pt, const char *procfs)
{
	char cg2[PATH_MAX];
	struct proc_info ni;
	struct dirent *de;
	unsigned long pid;
	char *end;
	int added = 0;
	DIR *d = opendir(procfs);

	if (!d)
		return -errno;
	cgroup2_mount(procfs, cg2, sizeof(cg2));
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtoul(de->d_name, &end, 10);
		if (*end || pid > UINT32_MAX || proctable__find(pt, (uint32_t)pid))
			continue;
		/* a process that vanishes while it is read is skipped */
		if (seed_read(pt, procfs, (uint32_t)pid, cg2, &ni)) {
			proc_info_release(&ni);
			continue;
		}
		if (proctable_add_seeded(pt, &ni))
			added++;
	}
	closedir(d);
	return added;
}
