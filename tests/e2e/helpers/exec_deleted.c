// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec_deleted - test helper: copies a binary to COPY, opens it, deletes it and
 * executes the deleted file through the open descriptor.
 * usage: exec_deleted BINARY COPY [ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct stat st;
	int src, dst, fd;

	if (argc < 3) {
		fprintf(stderr, "usage: exec_deleted BINARY COPY [ARG...]\n");
		return 2;
	}
	src = open(argv[1], O_RDONLY);
	dst = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (src < 0 || dst < 0 || fstat(src, &st) ||
	    sendfile(dst, src, NULL, st.st_size) != st.st_size || close(dst)) {
		perror("copy");
		return 1;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || unlink(argv[2])) {
		perror(argv[2]);
		return 1;
	}
	argv[2] = argv[1];
	fexecve(fd, argv + 2, environ);
	perror("fexecve");
	return 1;
}
