// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec_memfd - test helper: copies a binary into a memfd and executes it from
 * there, as fileless malware does. usage: exec_memfd BINARY [ARG...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	struct stat st;
	int src, mfd;

	if (argc < 2) {
		fprintf(stderr, "usage: exec_memfd BINARY [ARG...]\n");
		return 2;
	}
	src = open(argv[1], O_RDONLY);
	if (src < 0 || fstat(src, &st)) {
		perror(argv[1]);
		return 1;
	}
	mfd = memfd_create("vigil-test", MFD_CLOEXEC);
	if (mfd < 0 || sendfile(mfd, src, NULL, st.st_size) != st.st_size) {
		perror("memfd");
		return 1;
	}
	fexecve(mfd, argv + 1, environ);
	perror("fexecve");
	return 1;
}
