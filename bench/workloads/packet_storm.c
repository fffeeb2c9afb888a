// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * packet_storm.c - the packet storm of the traffic benchmark: one side sends small
 * UDP datagrams as fast as it can (sendmmsg, 64 at a time) for SECONDS, the other
 * counts what arrives (recvmmsg) until its own SECONDS are up. Run each in its own
 * network namespace, across a veth pair whose node side carries XDP.
 *
 *   packet_storm send DST_IP PORT SECONDS   prints "sent N"
 *   packet_storm recv PORT SECONDS          prints "received N first_s last_s"
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int do_send(const char *ip, int port, double seconds)
{
	struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
	static char payload[18] = "vigil packet storm";
	struct mmsghdr msgs[BATCH];
	struct iovec iov = {payload, sizeof(payload)};
	long long sent = 0;
	double end;
	int s;

	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		return 2;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&dst, sizeof(dst))) {
		perror("packet_storm: socket");
		return 1;
	}
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	end = now_s() + seconds;
	while (now_s() < end) {
		int n = sendmmsg(s, msgs, BATCH, 0);

		if (n > 0)
			sent += n;
	}
	printf("sent %lld\n", sent);
	return 0;
}

static int do_recv(int port, double seconds)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_usec = 100000};
	static char bufs[BATCH][64];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int rcvbuf = 1 << 24, s = socket(AF_INET, SOCK_DGRAM, 0);
	double start, first = 0, last = 0, end;
	long long got = 0;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a))) {
		perror("packet_storm: bind");
		return 1;
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);
	start = now_s();
	end = start + seconds;
	while (now_s() < end) {
		int n = recvmmsg(s, msgs, BATCH, 0, NULL);

		if (n <= 0)
			continue;
		if (!got)
			first = now_s() - start;
		got += n;
		last = now_s() - start;
	}
	printf("received %lld %.6f %.6f\n", got, first, last);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return do_recv(atoi(argv[2]), atof(argv[3]));
	fprintf(stderr, "usage: packet_storm send DST_IP PORT SECONDS | recv PORT SECONDS\n");
	return 2;
}
