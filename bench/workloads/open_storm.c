// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * open_storm - benchmark workload: open + close over a mix of paths, N times.
 * Most opens are reads outside any watched directory; some read files the
 * default rules watch (/etc); some open a scratch file for writing.
 * Prints {"workload":"open_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 * usage: open_storm N SCRATCH_DIR
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const char *const reads[] = {
		"/usr/lib/os-release", "/usr/share/dict", "/usr/bin/true", "/usr/lib",
		"/usr/share/zoneinfo/UTC", "/proc/self/stat", "/usr/include/stdio.h",
	};
	const long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char scratch[4096];
	struct timespec a, b;
	long i;
	double s;

	snprintf(scratch, sizeof(scratch), "%s/open_storm.scratch", dir);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		int fd;

		if (i % 64 == 0)
			fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		else if (i % 16 == 0)
			fd = open("/etc/hostname", O_RDONLY);
		else
			fd = open(reads[i % (sizeof(reads) / sizeof(reads[0]))], O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"workload\":\"open_storm\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n",
	       n, s, n / s);
	unlink(scratch);
	return 0;
}
