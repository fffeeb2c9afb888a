// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec_storm - benchmark workload: fork + execve of a tiny binary, N times.
 * Prints one JSON line: {"workload":"exec_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 * usage: exec_storm N [BINARY]   (default BINARY: tiny, next to this program)
 */
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* "tiny" in the directory of this program, which is where the harness builds it */
static int exec_storm_default_bin(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return -1;
	self[n] = 0;
	snprintf(buf, len, "%s/tiny", dirname(self));
	return access(buf, X_OK);
}

int main(int argc, char **argv)
{
	const long n = argc > 1 ? atol(argv[1]) : 1000;
	char bin[PATH_MAX];
	struct timespec a, b;
	double s;
	long i;

	if (argc > 2)
		snprintf(bin, sizeof(bin), "%s", argv[2]);
	else if (exec_storm_default_bin(bin, sizeof(bin)))
		snprintf(bin, sizeof(bin), "/bin/true");
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		pid_t p = fork();
		int st;

		if (p == 0) {
			execl(bin, bin, (char *)NULL);
			_exit(127);
		}
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "exec_storm: child %ld (%s) failed\n", i, bin);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"workload\":\"exec_storm\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n",
	       n, s, n / s);
	return 0;
}
