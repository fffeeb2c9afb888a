// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * open_storm - benchmark workload: open + close over a mix of paths, N times.
 * Of every 64 opens, 1 opens a scratch file for writing, 4 read files under
 * /etc (which the default rules watch) and 59 read files outside any watched
 * directory: a busy host's profile, where nearly every open is uninteresting.
 * With -e, 16 of every 64 read files under /etc, as every process start does
 * (ld.so.cache, nsswitch.conf, passwd): reads below a watched directory are the
 * common case. Prints {"workload":"open_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 *
 * usage: open_storm [-e] N SCRATCH_DIR [PROCS [RATE [SECONDS]]]
 *   PROCS processes share the N opens; RATE paces them to about RATE opens per
 *   second in total (0: as fast as they go); SECONDS, when given, stops them
 *   after that long even if N is not reached, and ops is what they did. The
 *   throughput test uses all three.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OPEN_STORM_MAX_PROCS  64
#define OPEN_STORM_PACE_EVERY 256 /* opens between two looks at the clock */

static const char *const open_storm_etc[] = {
    "/etc/hostname",
    "/etc/passwd",
    "/etc/ld.so.cache",
    "/etc/nsswitch.conf",
};

static const char *const open_storm_other[] = {
    "/usr/lib/os-release",   "/usr/bin/true",	"/usr/share/zoneinfo/UTC",
    "/usr/include/stdio.h",  "/proc/self/stat", "/usr/lib",
    "/usr/include/stdlib.h", "/dev/null",	"/usr/share/zoneinfo",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* one open in this many (of the 63 reads in 64) reads below /etc: 16, or 4 with -e */
static long open_storm_etc_every = 16;

static double open_storm_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Every path of the mix must open, or the mix is not the one described above. */
static int open_storm_check_paths(void)
{
	size_t i;
	int fd;

	for (i = 0; i < ARRAY_LEN(open_storm_etc) + ARRAY_LEN(open_storm_other); i++) {
		const char *p = i < ARRAY_LEN(open_storm_etc)
				    ? open_storm_etc[i]
				    : open_storm_other[i - ARRAY_LEN(open_storm_etc)];

		fd = open(p, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "open_storm: %s: %s (the mix needs every path)\n", p,
				strerror(errno));
			return -1;
		}
		close(fd);
	}
	return 0;
}

/*
 * One process's share: up to n opens, paced to rate per second when rate > 0,
 * for at most seconds when seconds > 0. Returns the opens done, -1 on error.
 */
static long open_storm_run(long n, const char *scratch, double rate, double seconds)
{
	const double t0 = open_storm_now();
	long i;

	for (i = 0; i < n; i++) {
		long k = i % 64;
		int fd;

		if (k == 0)
			fd = open(scratch, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		else if (k % open_storm_etc_every == 1)
			fd = open(
			    open_storm_etc[(i / open_storm_etc_every) % ARRAY_LEN(open_storm_etc)],
			    O_RDONLY);
		else
			fd = open(open_storm_other[i % ARRAY_LEN(open_storm_other)], O_RDONLY);
		if (fd < 0)
			return -1;
		close(fd);
		if ((rate > 0 || seconds > 0) && i % OPEN_STORM_PACE_EVERY == 0) {
			double now = open_storm_now();
			double ahead = rate > 0 ? t0 + (i + 1) / rate - now : 0;

			if (seconds > 0 && now - t0 >= seconds) {
				i++;
				break;
			}
			if (ahead > 0) {
				struct timespec ts = {(time_t)ahead,
						      (long)((ahead - (time_t)ahead) * 1e9)};

				nanosleep(&ts, NULL);
			}
		}
	}
	unlink(scratch);
	return i;
}

int main(int argc, char **argv)
{
	const int etc = argc > 1 && !strcmp(argv[1], "-e");
	char **arg = argv + etc; /* the arguments after -e */
	const int nargs = argc - etc;
	const long n = nargs > 1 ? atol(arg[1]) : 100000;
	const char *dir = nargs > 2 ? arg[2] : "/tmp";
	const int procs = nargs > 3 ? atoi(arg[3]) : 1;
	const double rate = nargs > 4 ? atof(arg[4]) : 0;
	const double seconds = nargs > 5 ? atof(arg[5]) : 0;
	pid_t pids[OPEN_STORM_MAX_PROCS];
	int go[2], done[2], i, failed = 0;
	long total = 0, one;
	double a, b;

	if (n <= 0 || procs < 1 || procs > OPEN_STORM_MAX_PROCS || rate < 0 || seconds < 0) {
		fprintf(stderr,
			"usage: open_storm [-e] N SCRATCH_DIR [PROCS(1-%d) [RATE [SECONDS]]]\n",
			OPEN_STORM_MAX_PROCS);
		return 2;
	}
	if (etc)
		open_storm_etc_every = 4;
	if (open_storm_check_paths() || pipe(go) || pipe(done))
		return 1;
	for (i = 0; i < procs; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("open_storm: fork");
			return 1;
		}
		if (pids[i] == 0) {
			char scratch[4096], c;

			close(go[1]);
			/* every process starts at once, when the parent closes the pipe */
			if (read(go[0], &c, 1) < 0)
				_exit(1);
			snprintf(scratch, sizeof(scratch), "%s/open_storm.%d.scratch", dir, i);
			one = open_storm_run(n / procs + (i < n % procs), scratch, rate / procs,
					     seconds);
			/* one small write to a pipe is atomic: the counts do not mix */
			if (one < 0 || write(done[1], &one, sizeof(one)) != sizeof(one))
				_exit(1);
			_exit(0);
		}
	}
	close(go[0]);
	close(done[1]);
	a = open_storm_now();
	close(go[1]);
	for (i = 0; i < procs; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			failed++;
	}
	b = open_storm_now();
	while (read(done[0], &one, sizeof(one)) == sizeof(one))
		total += one;
	if (failed) {
		fprintf(stderr, "open_storm: %d of %d processes failed (is %s writable?)\n", failed,
			procs, dir);
		return 1;
	}
	printf("{\"workload\":\"%s\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f,"
	       "\"procs\":%d}\n",
	       etc ? "open_etc" : "open_storm", total, b - a, total / (b - a), procs);
	return 0;
}
