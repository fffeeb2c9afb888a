// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * connect_storm - benchmark workload: TCP connect + close to a listener on
 * 127.0.0.1, N times. The listener is a thread of this process that accepts
 * and closes, so each round trip is a connect and an accept, as on a server.
 * The client closes with a reset (SO_LINGER 0): TIME_WAIT sockets would
 * otherwise use up the ephemeral ports long before N is reached.
 * Prints {"workload":"connect_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 * usage: connect_storm N
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void *connect_storm_acceptor(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		int fd = accept(lfd, NULL, NULL);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			break;
	}
	return NULL;
}

static int connect_storm_listen(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) || listen(fd, 4096) ||
	    getsockname(fd, (struct sockaddr *)addr, &len)) {
		perror("connect_storm: listener");
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	const long n = argc > 1 ? atol(argv[1]) : 10000;
	const struct linger rst = {.l_onoff = 1, .l_linger = 0};
	struct sockaddr_in addr;
	struct timespec a, b;
	pthread_t th;
	int lfd;
	double s;
	long i;

	lfd = connect_storm_listen(&addr);
	if (lfd < 0 || pthread_create(&th, NULL, connect_storm_acceptor, &lfd))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
			fprintf(stderr, "connect_storm: connect %ld: %s\n", i, strerror(errno));
			return 1;
		}
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	s = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	printf("{\"workload\":\"connect_storm\",\"ops\":%ld,\"seconds\":%.6f,"
	       "\"ops_per_sec\":%.1f}\n",
	       n, s, n / s);
	return 0;
}
