// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * udp_storm - benchmark workload: N one-byte UDP datagrams to 127.0.0.1, each
 * sendto(2) naming the destination on an unconnected socket (what a send event
 * is made of). The destination is a socket of this process that never reads
 * (the kernel drops what its buffer cannot hold), or PORT when given; with -c the
 * socket is connected first and send(2) names nothing (the common case, which
 * the send sensor leaves at once).
 * Prints {"workload":"udp_storm","ops":N,"seconds":S,"ops_per_sec":R}.
 * usage: udp_storm [-c] N [PORT]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof(addr);
	bool connected = argc > 1 && !strcmp(argv[1], "-c");
	int a = connected ? 2 : 1;
	const long n = argc > a ? atol(argv[a]) : 100000;
	int port = argc > a + 1 ? atoi(argv[a + 1]) : 0;
	struct timespec t0, t1;
	int fd, sink = -1;
	double s;
	long i;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!port) {
		sink = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sink < 0 || bind(sink, (struct sockaddr *)&addr, sizeof(addr)) ||
		    getsockname(sink, (struct sockaddr *)&addr, &len)) {
			perror("udp_storm: sink");
			return 1;
		}
	} else {
		addr.sin_port = htons(port);
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connected && connect(fd, (struct sockaddr *)&addr, sizeof(addr)))) {
		perror("udp_storm: socket");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++) {
		ssize_t r = connected
				? send(fd, "v", 1, 0)
				: sendto(fd, "v", 1, 0, (struct sockaddr *)&addr, sizeof(addr));

		if (r != 1) {
			perror("udp_storm: send");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"workload\":\"udp_storm\",\"ops\":%ld,\"seconds\":%.6f,\"ops_per_sec\":%.1f}\n",
	       n, s, n / s);
	close(fd);
	if (sink >= 0)
		close(sink);
	return 0;
}
