// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * spawn_idle - keeps N idle processes alive, for measuring memory with a full
 * process table. Each child re-executes this program (so the agent sees a fork
 * and an exec per process, as with real ones) and sleeps. Once all are up it
 * prints "ready N"; when its standard input closes, it kills and reaps them all,
 * so a harness that dies leaves nothing behind.
 * usage: spawn_idle N
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SPAWN_IDLE_READY_FD 3 /* where a child says it has exec'd */

static int spawn_idle_child(void)
{
	char c = 1;

	if (write(SPAWN_IDLE_READY_FD, &c, 1) != 1)
		return 1;
	close(SPAWN_IDLE_READY_FD);
	for (;;)
		pause();
}

static void spawn_idle_reap(pid_t *pids, long n)
{
	long i;

	for (i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
}

int main(int argc, char **argv)
{
	long n, i, up = 0;
	int ready[2], ret = 1;
	pid_t *pids;
	char buf[4096];

	if (argc == 2 && !strcmp(argv[1], "--child"))
		return spawn_idle_child();
	n = argc > 1 ? atol(argv[1]) : 0;
	pids = calloc(n > 0 ? n : 1, sizeof(*pids));
	if (n <= 0 || !pids || pipe2(ready, O_CLOEXEC)) {
		fprintf(stderr, "usage: spawn_idle N\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			fprintf(stderr, "spawn_idle: fork %ld: %s\n", i, strerror(errno));
			goto out;
		}
		if (pids[i] == 0) {
			close(ready[0]);
			if (dup2(ready[1], SPAWN_IDLE_READY_FD) < 0)
				_exit(1);
			execl("/proc/self/exe", "spawn_idle", "--child", (char *)NULL);
			_exit(127);
		}
	}
	close(ready[1]);
	while (up < n) {
		ssize_t r = read(ready[0], buf, sizeof(buf));

		if (r <= 0) {
			fprintf(stderr, "spawn_idle: only %ld of %ld children started\n", up, n);
			goto out;
		}
		up += r;
	}
	printf("ready %ld\n", n);
	fflush(stdout);
	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	ret = 0;
	i = n;
out:
	spawn_idle_reap(pids, i);
	free(pids);
	return ret;
}
