// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * file_probe - test helper: performs one file syscall exactly as named (raw
 * syscall(2), so libc cannot substitute openat for open) and prints
 * {"pid": P, "ret": R, "errno": E} so a test knows what to look for.
 *
 *   file_probe open PATH FLAGS MODE      file_probe openat DIR NAME FLAGS
 *   file_probe openat2 DIR NAME FLAGS    file_probe creat PATH MODE
 *   file_probe unlink PATH               file_probe unlinkat DIR NAME FLAGS
 *   file_probe rmdir PATH                file_probe rename OLD NEW
 *   file_probe renameat2 DIR OLD NEW FLAGS
 *   file_probe mkdir PATH MODE           file_probe mkdirat DIR NAME MODE
 *   file_probe chmod PATH MODE           file_probe fchmod PATH MODE
 *   file_probe fchmodat DIR NAME MODE    file_probe chown PATH UID GID
 *   file_probe fchown PATH UID GID       file_probe lchown PATH UID GID
 *   file_probe fchownat DIR NAME UID GID FLAGS
 *   file_probe link OLD NEW              file_probe linkat DIR OLD NEW FLAGS
 *   file_probe symlink TARGET LINK       file_probe symlinkat TARGET DIR LINK
 *   file_probe truncate PATH LEN         file_probe ftruncate PATH LEN
 *   file_probe storm N PATH              open+close PATH N times, then report
 * DIR is opened with O_PATH and passed as the dirfd; "-" means AT_FDCWD.
 * Numbers accept 0x / 0 prefixes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long num(const char *s)
{
	return strtol(s, NULL, 0);
}

static int dir(const char *s)
{
	int fd;

	if (!strcmp(s, "-"))
		return AT_FDCWD;
	fd = open(s, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		perror(s);
		exit(2);
	}
	return fd;
}

static int fd_of(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd < 0) {
		perror(path);
		exit(2);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *op = argc > 1 ? argv[1] : "";
	char **a = argv + 2;
	int n = argc - 2, extra = -1;
	long ret = -1;

	errno = 0;
	if (!strcmp(op, "open") && n == 3)
		ret = syscall(SYS_open, a[0], num(a[1]), num(a[2]));
	else if (!strcmp(op, "openat") && n == 3)
		ret = syscall(SYS_openat, dir(a[0]), a[1], num(a[2]), 0644);
	else if (!strcmp(op, "openat2") && n == 3) {
		struct open_how how = {.flags = num(a[2]), .mode = 0};

		ret = syscall(SYS_openat2, dir(a[0]), a[1], &how, sizeof(how));
	} else if (!strcmp(op, "creat") && n == 2)
		ret = syscall(SYS_creat, a[0], num(a[1]));
	else if (!strcmp(op, "unlink") && n == 1)
		ret = syscall(SYS_unlink, a[0]);
	else if (!strcmp(op, "unlinkat") && n == 3)
		ret = syscall(SYS_unlinkat, dir(a[0]), a[1], num(a[2]));
	else if (!strcmp(op, "rmdir") && n == 1)
		ret = syscall(SYS_rmdir, a[0]);
	else if (!strcmp(op, "rename") && n == 2)
		ret = syscall(SYS_rename, a[0], a[1]);
	else if (!strcmp(op, "renameat2") && n == 4) {
		int d = dir(a[0]);

		ret = syscall(SYS_renameat2, d, a[1], d, a[2], num(a[3]));
	} else if (!strcmp(op, "mkdir") && n == 2)
		ret = syscall(SYS_mkdir, a[0], num(a[1]));
	else if (!strcmp(op, "mkdirat") && n == 3)
		ret = syscall(SYS_mkdirat, dir(a[0]), a[1], num(a[2]));
	else if (!strcmp(op, "chmod") && n == 2)
		ret = syscall(SYS_chmod, a[0], num(a[1]));
	else if (!strcmp(op, "fchmod") && n == 2)
		ret = syscall(SYS_fchmod, extra = fd_of(a[0]), num(a[1]));
	else if (!strcmp(op, "fchmodat") && n == 3)
		ret = syscall(SYS_fchmodat, dir(a[0]), a[1], num(a[2]));
	else if (!strcmp(op, "chown") && n == 3)
		ret = syscall(SYS_chown, a[0], num(a[1]), num(a[2]));
	else if (!strcmp(op, "fchown") && n == 3)
		ret = syscall(SYS_fchown, extra = fd_of(a[0]), num(a[1]), num(a[2]));
	else if (!strcmp(op, "lchown") && n == 3)
		ret = syscall(SYS_lchown, a[0], num(a[1]), num(a[2]));
	else if (!strcmp(op, "fchownat") && n == 5)
		ret = syscall(SYS_fchownat, dir(a[0]), a[1], num(a[2]), num(a[3]), num(a[4]));
	else if (!strcmp(op, "link") && n == 2)
		ret = syscall(SYS_link, a[0], a[1]);
	else if (!strcmp(op, "linkat") && n == 4) {
		int d = dir(a[0]);

		ret = syscall(SYS_linkat, d, a[1], d, a[2], num(a[3]));
	} else if (!strcmp(op, "symlink") && n == 2)
		ret = syscall(SYS_symlink, a[0], a[1]);
	else if (!strcmp(op, "symlinkat") && n == 3)
		ret = syscall(SYS_symlinkat, a[0], dir(a[1]), a[2]);
	else if (!strcmp(op, "truncate") && n == 2)
		ret = syscall(SYS_truncate, a[0], num(a[1]));
	else if (!strcmp(op, "ftruncate") && n == 2)
		ret = syscall(SYS_ftruncate, extra = fd_of(a[0]), num(a[1]));
	else if (!strcmp(op, "storm") && n == 2) {
		long i, count = num(a[0]);

		for (i = 0; i < count; i++) {
			int fd = open(a[1], O_RDONLY);

			if (fd < 0) {
				perror(a[1]);
				return 2;
			}
			close(fd);
		}
		ret = 0;
	} else {
		fprintf(stderr, "file_probe: bad arguments (see the comment in file_probe.c)\n");
		return 2;
	}
	printf("{\"pid\": %d, \"ret\": %ld, \"errno\": %d, \"fd\": %d}\n", getpid(), ret,
	       ret < 0 ? errno : 0, extra);
	return 0;
}
