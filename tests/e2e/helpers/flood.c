// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flood.c - a bounded packet generator for the traffic tests: TCP SYNs (raw socket,
 * no handshake) or UDP datagrams to one IPv4 address, to one port or a range of
 * ports, at most COUNT packets, for at most SECONDS, paced to PPS packets a second
 * (0: as fast as it goes); UDP datagrams of SIZE bytes of 'A' (past the MTU the kernel
 * sends them in fragments). Prints what it sent. Root for syn (a raw socket).
 *
 *   flood syn|udp DST_IP PORT [--ports N] [--count C] [--seconds S] [--pps R] [--size B]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The source address the kernel picks towards dst. */
static int source_for(const struct sockaddr_in *dst, struct in_addr *src)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || connect(s, (const struct sockaddr *)dst, sizeof(*dst)) ||
	    getsockname(s, (struct sockaddr *)&a, &len)) {
		if (s >= 0)
			close(s);
		return -1;
	}
	close(s);
	*src = a.sin_addr;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: flood syn|udp DST_IP PORT [--ports N] [--count C] [--seconds S] "
			"[--pps R] [--size B]\n");
	return 2;
}

int main(int argc, char **argv)
{
	long ports = 1, count = 1000, pps = 0, size = 32;
	static char payload[8192];
	double seconds = 5, start, t;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct in_addr src;
	bool syn;
	long sent = 0, failed = 0, port0;
	int s;

	if (argc < 4 || (strcmp(argv[1], "syn") && strcmp(argv[1], "udp")))
		return usage();
	syn = !strcmp(argv[1], "syn");
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		return usage();
	port0 = atol(argv[3]);
	for (int i = 4; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ports"))
			ports = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--count"))
			count = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--pps"))
			pps = atol(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			size = atol(argv[i + 1]);
		else
			return usage();
	}
	/* bounded whatever is asked: at most a million packets, at most a minute */
	if (port0 < 1 || ports < 1 || port0 + ports - 1 > 65535 || count < 1 || count > 1000000 ||
	    seconds <= 0 || seconds > 60 || pps < 0 || size < 1 || size > (long)sizeof(payload))
		return usage();
	memset(payload, 'A', sizeof(payload));
	if (source_for(&dst, &src)) {
		perror("flood: no route to the destination");
		return 1;
	}
	s = syn ? socket(AF_INET, SOCK_RAW, IPPROTO_TCP) : socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0) {
		perror("flood: socket");
		return 1;
	}
	start = now_s();
	for (long i = 0; i < count; i++) {
		uint16_t port = (uint16_t)(port0 + i % ports);
		ssize_t n;

		t = now_s() - start;
		if (t > seconds)
			break;
		if (pps && i > pps * t) {
			/* ahead of the pace: wait for the next packet's time */
			double due = (double)i / pps - t;

			if (due > 0)
				usleep((useconds_t)(due * 1e6));
		}
		dst.sin_port = htons(port);
		if (syn) {
			struct {
				uint32_t src, dst;
				uint8_t zero, proto;
				uint16_t len;
				struct tcphdr th;
			} pkt = {.src = src.s_addr,
				 .dst = dst.sin_addr.s_addr,
				 .proto = IPPROTO_TCP,
				 .len = htons(sizeof(struct tcphdr))};

			pkt.th.source = htons((uint16_t)(20000 + (i % 40000)));
			pkt.th.dest = htons(port);
			pkt.th.seq = htonl((uint32_t)i * 2654435761u);
			pkt.th.doff = 5;
			pkt.th.syn = 1;
			pkt.th.window = htons(64240);
			pkt.th.check = csum(&pkt, sizeof(pkt), 0);
			n = sendto(s, &pkt.th, sizeof(pkt.th), 0, (struct sockaddr *)&dst,
				   sizeof(dst));
		} else {
			n = sendto(s, payload, (size_t)size, 0, (struct sockaddr *)&dst,
				   sizeof(dst));
		}
		if (n < 0)
			failed++;
		else
			sent++;
	}
	printf("sent %ld failed %ld seconds %.3f\n", sent, failed, now_s() - start);
	close(s);
	return 0;
}
