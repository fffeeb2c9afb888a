// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * forker - test helper for fork/exit events. Prints one JSON line with the pids
 * it created, then exits 0.
 *   forker exit N     fork a child (no exec) that exits with code N
 *   forker signal N   fork a child that the parent kills with signal N
 *   forker thread     start a thread that exits at once
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t thread_tid;

static void *thread_main(void *arg)
{
	thread_tid = syscall(SYS_gettid);
	return NULL;
}

int main(int argc, char **argv)
{
	pid_t child;
	int status, n;

	if (argc >= 2 && !strcmp(argv[1], "thread")) {
		pthread_t th;

		if (pthread_create(&th, NULL, thread_main, NULL) || pthread_join(th, NULL))
			return 1;
		printf("{\"pid\": %d, \"thread_tid\": %d}\n", getpid(), thread_tid);
		return 0;
	}
	if (argc < 3)
		return 2;
	n = atoi(argv[2]);
	child = fork();
	if (child < 0)
		return 1;
	if (child == 0) {
		if (!strcmp(argv[1], "exit"))
			_exit(n);
		pause();
		_exit(0);
	}
	if (!strcmp(argv[1], "signal")) {
		usleep(20000);
		kill(child, n);
	}
	if (waitpid(child, &status, 0) != child)
		return 1;
	printf("{\"pid\": %d, \"child\": %d, \"status\": %d}\n", getpid(), child, status);
	return 0;
}
