// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * net_probe.c - e2e helper: performs one network scenario on loopback with plain
 * syscalls and prints, as one JSON line, the pid, fds, ports and results it saw,
 * so a test knows exactly which events vigil must have reported.
 *
 *   net_probe tcp4 | tcp6       bind + listen(7) a listener, connect to it, accept
 *   net_probe nonblock          non-blocking connect to a bound, non-listening port
 *   net_probe refused           blocking connect to a bound, non-listening port
 *   net_probe udp               connect a UDP socket to a bound UDP socket
 *   net_probe unix HEX          unix stream: bind HEX (name bytes in hex; a leading
 *                               00 makes it abstract), listen(5), connect, accept
 *   net_probe unix-missing HEX  connect to a unix name nobody bound
 *   net_probe bind-busy         bind a second socket to a port in use
 *   net_probe connect4 PORT     blocking connect to 127.0.0.1:PORT
 *   net_probe udp-send PORT     an unconnected UDP socket: sendto, then sendmsg naming
 *                               127.0.0.1:PORT; then send(2) on a UDP socket connected
 *                               there (no address named)
 *   net_probe udp-recv          a UDP socket bound to 127.0.0.1 receives three
 *                               datagrams from a connected sender: recvfrom and recvmsg
 *                               asking for the source, recvfrom not asking
 *   net_probe unix-dgram HEX    unix datagram: bind HEX, sendto it from another socket
 *   net_probe udp-send-other PORT  127.0.0.1:PORT spelled as the kernel also takes it:
 *                               an IPv4 socket's sendto with family AF_UNSPEC, an IPv6
 *                               socket's sendto with an IPv4 sockaddr
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "net_probe: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The call's result as the kernel returns it: 0 or -errno. */
static int sysret(int r)
{
	return r < 0 ? -errno : r;
}

static int local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		die("getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A loopback sockaddr of the family with port. */
static socklen_t loopback(int family, int port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*s4);
}

/* A socket bound to an ephemeral loopback port; listening when backlog >= 0. */
static int bound(int family, int type, int backlog, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, 0, &ss);
	int fd = socket(family, type, 0);

	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&ss, len))
		die("bind");
	if (backlog >= 0 && listen(fd, backlog))
		die("listen");
	*port = local_port(fd);
	return fd;
}

static int tcp(int family)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, cfd, afd, port, ret;

	lfd = bound(family, SOCK_STREAM, 7, &port);
	cfd = socket(family, SOCK_STREAM, 0);
	if (cfd < 0)
		die("socket");
	len = loopback(family, port, &ss);
	ret = sysret(connect(cfd, (struct sockaddr *)&ss, len));
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	printf("{\"pid\":%d,\"listen_fd\":%d,\"port\":%d,\"backlog\":7,\"client_fd\":%d,"
	       "\"client_port\":%d,\"connect_ret\":%d,\"accept_fd\":%d}\n",
	       getpid(), lfd, port, cfd, local_port(cfd), ret, afd);
	return 0;
}

/* Connects to a port that is bound (so nobody else takes it) but not listening. */
static int closed_port(bool nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int hold, fd, port, ret;

	hold = bound(AF_INET, SOCK_STREAM, -1, &port);
	fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket");
	len = loopback(AF_INET, port, &ss);
	ret = sysret(connect(fd, (struct sockaddr *)&ss, len));
	printf("{\"pid\":%d,\"fd\":%d,\"port\":%d,\"ret\":%d}\n", getpid(), fd, port, ret);
	close(hold);
	return 0;
}

static int udp(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int sfd, cfd, port, ret;

	sfd = bound(AF_INET, SOCK_DGRAM, -1, &port);
	cfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (cfd < 0)
		die("socket");
	len = loopback(AF_INET, port, &ss);
	ret = sysret(connect(cfd, (struct sockaddr *)&ss, len));
	printf("{\"pid\":%d,\"server_fd\":%d,\"port\":%d,\"client_fd\":%d,\"client_port\":%d,"
	       "\"connect_ret\":%d}\n",
	       getpid(), sfd, port, cfd, local_port(cfd), ret);
	return 0;
}

/* Decodes the hex name into sun_path; returns the sockaddr length. */
static socklen_t unix_addr(const char *hex, struct sockaddr_un *sun)
{
	size_t n = strlen(hex) / 2, i;
	unsigned int b;

	if (n == 0 || n > sizeof(sun->sun_path))
		die("name length");
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			die("hex name");
		sun->sun_path[i] = (char)b;
	}
	/* a pathname's length counts its NUL; an abstract name is exactly its bytes */
	return offsetof(struct sockaddr_un, sun_path) + n + (sun->sun_path[0] && n < 108 ? 1 : 0);
}

static int unix_stream(const char *hex)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(hex, &sun);
	int lfd, cfd, afd, ret;

	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || cfd < 0)
		die("socket");
	if (bind(lfd, (struct sockaddr *)&sun, len))
		die("bind");
	if (listen(lfd, 5))
		die("listen");
	ret = sysret(connect(cfd, (struct sockaddr *)&sun, len));
	afd = accept(lfd, NULL, NULL);
	if (afd < 0)
		die("accept");
	printf("{\"pid\":%d,\"listen_fd\":%d,\"client_fd\":%d,\"connect_ret\":%d,"
	       "\"accept_fd\":%d}\n",
	       getpid(), lfd, cfd, ret, afd);
	if (sun.sun_path[0])
		unlink(sun.sun_path);
	return 0;
}

static int unix_missing(const char *hex)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(hex, &sun);
	int fd, ret;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	ret = sysret(connect(fd, (struct sockaddr *)&sun, len));
	printf("{\"pid\":%d,\"fd\":%d,\"ret\":%d}\n", getpid(), fd, ret);
	return 0;
}

static int bind_busy(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int hold, fd, port, ret;

	hold = bound(AF_INET, SOCK_STREAM, 1, &port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	len = loopback(AF_INET, port, &ss);
	ret = sysret(bind(fd, (struct sockaddr *)&ss, len));
	printf("{\"pid\":%d,\"fd\":%d,\"port\":%d,\"ret\":%d}\n", getpid(), fd, port, ret);
	close(hold);
	return 0;
}

static int connect4(int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	int fd, ret;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	ret = sysret(connect(fd, (struct sockaddr *)&ss, len));
	printf("{\"pid\":%d,\"fd\":%d,\"port\":%d,\"ret\":%d}\n", getpid(), fd, port, ret);
	return 0;
}

static int udp_send(int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	struct iovec iov = {.iov_base = "vigil", .iov_len = 5};
	struct msghdr m = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
	int fd, cfd, r1, r2, r3;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	cfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || cfd < 0)
		die("socket");
	r1 = sysret(sendto(fd, "vigil", 5, 0, (struct sockaddr *)&ss, len));
	r2 = sysret(sendmsg(fd, &m, 0));
	if (connect(cfd, (struct sockaddr *)&ss, len))
		die("connect");
	r3 = sysret(send(cfd, "vigil", 5, 0));
	printf("{\"pid\":%d,\"fd\":%d,\"local_port\":%d,\"port\":%d,\"sendto_ret\":%d,"
	       "\"sendmsg_ret\":%d,\"connected_fd\":%d,\"send_ret\":%d}\n",
	       getpid(), fd, local_port(fd), port, r1, r2, cfd, r3);
	return 0;
}

static int udp_recv(void)
{
	struct sockaddr_storage ss, from1, from2;
	socklen_t len, flen = sizeof(from1);
	char buf[16];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {
	    .msg_name = &from2, .msg_namelen = sizeof(from2), .msg_iov = &iov, .msg_iovlen = 1};
	int rfd, sfd, port, r1, r2, r3;

	rfd = bound(AF_INET, SOCK_DGRAM, -1, &port);
	sfd = socket(AF_INET, SOCK_DGRAM, 0);
	if (sfd < 0)
		die("socket");
	len = loopback(AF_INET, port, &ss);
	if (connect(sfd, (struct sockaddr *)&ss, len))
		die("connect");
	for (int i = 0; i < 3; i++)
		if (send(sfd, "vigil", 5, 0) != 5)
			die("send");
	r1 = sysret(recvfrom(rfd, buf, sizeof(buf), 0, (struct sockaddr *)&from1, &flen));
	r2 = sysret(recvmsg(rfd, &m, 0));
	r3 = sysret(recvfrom(rfd, buf, sizeof(buf), 0, NULL, NULL));
	printf("{\"pid\":%d,\"fd\":%d,\"port\":%d,\"from_port\":%d,\"recvfrom_ret\":%d,"
	       "\"recvmsg_ret\":%d,\"plain_ret\":%d}\n",
	       getpid(), rfd, port, local_port(sfd), r1, r2, r3);
	return 0;
}

static int udp_send_other(int port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	int fd4, fd6, r4, r6;

	fd4 = socket(AF_INET, SOCK_DGRAM, 0);
	fd6 = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd4 < 0 || fd6 < 0)
		die("socket");
	r6 = sysret(sendto(fd6, "vigil", 5, 0, (struct sockaddr *)&ss, len));
	ss.ss_family = AF_UNSPEC;
	r4 = sysret(sendto(fd4, "vigil", 5, 0, (struct sockaddr *)&ss, len));
	printf("{\"pid\":%d,\"unspec_fd\":%d,\"unspec_ret\":%d,\"inet6_fd\":%d,"
	       "\"inet6_ret\":%d}\n",
	       getpid(), fd4, r4, fd6, r6);
	return 0;
}

static int unix_dgram(const char *hex)
{
	struct sockaddr_un sun;
	socklen_t len = unix_addr(hex, &sun);
	int rfd, sfd, ret;

	rfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	sfd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (rfd < 0 || sfd < 0)
		die("socket");
	if (bind(rfd, (struct sockaddr *)&sun, len))
		die("bind");
	ret = sysret(sendto(sfd, "vigil", 5, 0, (struct sockaddr *)&sun, len));
	printf("{\"pid\":%d,\"fd\":%d,\"ret\":%d}\n", getpid(), sfd, ret);
	if (sun.sun_path[0])
		unlink(sun.sun_path);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!strcmp(cmd, "tcp4"))
		return tcp(AF_INET);
	if (!strcmp(cmd, "tcp6"))
		return tcp(AF_INET6);
	if (!strcmp(cmd, "nonblock"))
		return closed_port(true);
	if (!strcmp(cmd, "refused"))
		return closed_port(false);
	if (!strcmp(cmd, "udp"))
		return udp();
	if (!strcmp(cmd, "unix") && argc == 3)
		return unix_stream(argv[2]);
	if (!strcmp(cmd, "unix-missing") && argc == 3)
		return unix_missing(argv[2]);
	if (!strcmp(cmd, "bind-busy"))
		return bind_busy();
	if (!strcmp(cmd, "connect4") && argc == 3)
		return connect4(atoi(argv[2]));
	if (!strcmp(cmd, "udp-send") && argc == 3)
		return udp_send(atoi(argv[2]));
	if (!strcmp(cmd, "udp-recv"))
		return udp_recv();
	if (!strcmp(cmd, "unix-dgram") && argc == 3)
		return unix_dgram(argv[2]);
	if (!strcmp(cmd, "udp-send-other") && argc == 3)
		return udp_send_other(atoi(argv[2]));
	fprintf(stderr, "usage: net_probe tcp4|tcp6|nonblock|refused|udp|bind-busy|"
			"unix HEX|unix-missing HEX|connect4 PORT|udp-send PORT|udp-recv|"
			"unix-dgram HEX|udp-send-other PORT\n");
	return 2;
}
