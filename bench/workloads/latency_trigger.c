// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * latency_trigger - opens a file the default rules alert on (/etc/shadow), N
 * times, INTERVAL_US apart, and prints the CLOCK_REALTIME nanosecond at which
 * each open started, one per line, once all are done (printing while triggering
 * would add writes to what is measured). The harness pairs each line with the
 * alert vigil writes for it. Its name is the comm the harness looks for.
 * usage: latency_trigger N INTERVAL_US [PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const long n = argc > 1 ? atol(argv[1]) : 1000;
	const long interval_us = argc > 2 ? atol(argv[2]) : 1000;
	const char *path = argc > 3 ? argv[3] : "/etc/shadow";
	const struct timespec gap = {interval_us / 1000000, interval_us % 1000000 * 1000};
	uint64_t *t = calloc(n > 0 ? n : 1, sizeof(*t));
	long i;

	if (!t || n <= 0 || interval_us < 0) {
		fprintf(stderr, "usage: latency_trigger N INTERVAL_US [PATH]\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		struct timespec ts;
		int fd;

		clock_gettime(CLOCK_REALTIME, &ts);
		t[i] = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "latency_trigger: %s: %s\n", path, strerror(errno));
			return 1;
		}
		close(fd);
		nanosleep(&gap, NULL);
	}
	for (i = 0; i < n; i++)
		printf("%llu\n", (unsigned long long)t[i]);
	free(t);
	return 0;
}
