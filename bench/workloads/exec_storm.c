// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * exec_storm - benchmark workload: fork + execve of a tiny binary, N times.
 * Prints one JSON line: {"workload":"exec_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 * usage: exec_storm N [BINARY]   (default BINARY: /bin/true)
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *bin = argc > 2 ? argv[2] : "/bin/true";
	long n = argc > 1 ? atol(argv[1]) : 1000, i;
	struct timespec a, b;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		pid_t p = fork();
		int st;

		if (p == 0) {
			execl(bin, bin, (char *)NULL);
			_exit(127);
		}
		if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "exec_storm: child %ld failed\n", i);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"workload\":\"exec_storm\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n",
	       n, s, n / s);
	return 0;
}
