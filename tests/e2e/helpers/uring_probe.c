// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * uring_probe - test helper: performs file and network operations through
 * io_uring (liburing), never through their syscalls, and prints one line
 * {"op": OP, "pid": P, "tid": T, "ret": R} per operation so a test knows what to
 * look for. Operations run in order, each waited for:
 *
 *   open PATH FLAGS MODE     openat2 PATH FLAGS       unlink PATH
 *   rmdir PATH               rename OLD NEW           mkdir PATH MODE
 *   symlink TARGET LINK      link OLD NEW
 *   connect PORT             (TCP to 127.0.0.1:PORT)
 *   accept                   (listens on 127.0.0.1, a port the kernel picks,
 *                             connects to itself and accepts through the ring;
 *                             prints "port" too)
 *   accept-multi N           the same with N connects and one multishot accept;
 *                             prints each new fd as "accepted"
 *   sendto PORT              one UDP datagram to 127.0.0.1:PORT, the address in
 *                             the request (IORING_OP_SEND with addr2)
 *   sendmsg PORT             the same through IORING_OP_SENDMSG (msg_name)
 *   send-zc PORT, sendmsg-zc PORT   the same, zero-copy (SEND_ZC, SENDMSG_ZC)
 *   send-connected PORT      IORING_OP_SEND on a UDP socket connected (with connect(2))
 *                             to 127.0.0.1:PORT: no address in the request
 *   recvmsg                  IORING_OP_RECVMSG asking for the source, on a UDP socket
 *                             bound to 127.0.0.1 (a port the kernel picks), of a
 *                             datagram sent to it with send(2) on a connected socket;
 *                             prints "port" (the receiver's) and "from" (the sender's)
 *   udp-storm N PORT         N datagrams to 127.0.0.1:PORT through IORING_OP_SEND with
 *                             the address; prints the time taken, "ns"
 *   storm N PATH             N opens of PATH through the ring, each closed again
 *                             (close(2)); prints the time taken, "ns"
 *   nops N                   N IORING_OP_NOPs (an operation vigil does not record);
 *                             prints the time taken, "ns"
 *   socket DOMAIN TYPE PROTO IORING_OP_SOCKET; the new fd is left open
 *   socket-direct DOMAIN TYPE PROTO   the same into a registered-file slot the kernel
 *                             picks (the result is the slot, not an fd)
 *
 * Options before the operations: --async submits with IOSQE_ASYNC (the kernel's
 * io-wq threads run them), --sqpoll makes an SQPOLL ring (its kernel thread
 * submits), --skip sets IOSQE_CQE_SKIP_SUCCESS, --name NAME sets the comm.
 * Numbers accept 0x / 0 prefixes. Relative paths are relative to the cwd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static struct io_uring ring;
static unsigned int sqe_flags;
static bool skip;

static long num(const char *s)
{
	return strtol(s, NULL, 0);
}

static void need(int argc, int i, int n, const char *op)
{
	if (i + n >= argc) {
		fprintf(stderr, "uring_probe: %s needs %d arguments\n", op, n);
		exit(2);
	}
}

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		fprintf(stderr, "uring_probe: no free submission entry\n");
		exit(2);
	}
	return sqe;
}

/* Submits the prepared entry and waits for its result (none with --skip). */
static int run_one(struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	int ret;

	io_uring_sqe_set_flags(sqe, sqe_flags | (skip ? IOSQE_CQE_SKIP_SUCCESS : 0));
	ret = io_uring_submit(&ring);
	if (ret < 0) {
		fprintf(stderr, "uring_probe: submit: %s\n", strerror(-ret));
		exit(2);
	}
	if (skip) {
		/* nothing is posted on success: a failure would be, give it time to come */
		struct __kernel_timespec ts = {.tv_nsec = 200000000};

		ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
		if (ret == -ETIME)
			return 0;
	} else {
		ret = io_uring_wait_cqe(&ring, &cqe);
	}
	if (ret < 0) {
		fprintf(stderr, "uring_probe: wait: %s\n", strerror(-ret));
		exit(2);
	}
	ret = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	return ret;
}

static void report(const char *op, int ret)
{
	printf("{\"op\": \"%s\", \"pid\": %d, \"tid\": %ld, \"ret\": %d}\n", op, getpid(),
	       (long)syscall(SYS_gettid), ret);
	fflush(stdout);
}

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* accept through the ring: a listener, a connect to it made with a plain syscall */
static int do_accept(void)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	struct io_uring_sqe *sqe;
	int lfd, cfd, ret;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len)) {
		perror("uring_probe: listener");
		exit(2);
	}
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	/* a loopback connect completes into the backlog before anyone accepts */
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a))) {
		perror("uring_probe: connect to the listener");
		exit(2);
	}
	sqe = sqe_get();
	io_uring_prep_accept(sqe, lfd, NULL, NULL, 0);
	ret = run_one(sqe);
	printf("{\"op\": \"listening\", \"port\": %d}\n", ntohs(a.sin_port));
	return ret;
}

/* one multishot accept for n connections made beforehand with plain syscalls */
static int do_accept_multi(int n)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	struct io_uring_cqe *cqe;
	int lfd, ret = 0;

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, n + 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &len)) {
		perror("uring_probe: listener");
		exit(2);
	}
	for (int k = 0; k < n; k++) {
		int cfd = socket(AF_INET, SOCK_STREAM, 0);

		if (cfd < 0 || connect(cfd, (struct sockaddr *)&a, sizeof(a))) {
			perror("uring_probe: connect to the listener");
			exit(2);
		}
	}
	io_uring_prep_multishot_accept(sqe_get(), lfd, NULL, NULL, 0);
	io_uring_submit(&ring);
	for (int k = 0; k < n; k++) {
		if (io_uring_wait_cqe(&ring, &cqe) < 0)
			exit(2);
		ret = cqe->res;
		printf("{\"op\": \"accepted\", \"port\": %d, \"ret\": %d}\n", ntohs(a.sin_port),
		       ret);
		io_uring_cqe_seen(&ring, cqe);
	}
	return ret;
}

static int do_connect(int port)
{
	static struct sockaddr_in a; /* read by the kernel at submission */
	struct io_uring_sqe *sqe;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		perror("uring_probe: socket");
		exit(2);
	}
	a = loopback(port);
	sqe = sqe_get();
	io_uring_prep_connect(sqe, fd, (struct sockaddr *)&a, sizeof(a));
	return run_one(sqe);
}

static int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0) {
		perror("uring_probe: socket");
		exit(2);
	}
	return fd;
}

/* one datagram to 127.0.0.1:port, the destination named in the request */
static int do_send(const char *op, int port)
{
	static struct sockaddr_in a; /* the kernel copies it while preparing the request */
	static struct iovec iov = {.iov_base = "vigil", .iov_len = 5};
	static struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct io_uring_sqe *sqe = sqe_get();
	int fd = udp_socket(), ret;

	a = loopback(port);
	m.msg_name = &a;
	m.msg_namelen = sizeof(a);
	if (!strcmp(op, "sendto")) {
		io_uring_prep_send(sqe, fd, "vigil", 5, 0);
		io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&a, sizeof(a));
	} else if (!strcmp(op, "send-zc")) {
		io_uring_prep_send_zc(sqe, fd, "vigil", 5, 0, 0);
		io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&a, sizeof(a));
	} else if (!strcmp(op, "sendmsg")) {
		io_uring_prep_sendmsg(sqe, fd, &m, 0);
	} else {
		io_uring_prep_sendmsg_zc(sqe, fd, &m, 0);
	}
	ret = run_one(sqe);
	if (!skip && (!strcmp(op, "send-zc") || !strcmp(op, "sendmsg-zc")) && ret >= 0) {
		struct io_uring_cqe *cqe;

		/* the buffer's notification: the kernel is done with it */
		if (!io_uring_wait_cqe(&ring, &cqe))
			io_uring_cqe_seen(&ring, cqe);
	}
	return ret;
}

/* a UDP send on a connected socket: the request names no address */
static int do_send_connected(int port)
{
	struct sockaddr_in a = loopback(port);
	struct io_uring_sqe *sqe;
	int fd = udp_socket();

	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("uring_probe: connect");
		exit(2);
	}
	sqe = sqe_get();
	io_uring_prep_send(sqe, fd, "vigil", 5, 0);
	return run_one(sqe);
}

/* a receive asking for the source, of a datagram from a connected socket */
static int do_recvmsg(void)
{
	static struct sockaddr_in from; /* the kernel writes the source here */
	static char buf[16];
	static struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	static struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct sockaddr_in a = loopback(0), s = loopback(0);
	socklen_t len = sizeof(a);
	struct io_uring_sqe *sqe;
	int rfd = udp_socket(), sfd = udp_socket(), ret;

	if (bind(rfd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(rfd, (struct sockaddr *)&a, &len) ||
	    connect(sfd, (struct sockaddr *)&a, sizeof(a)) || send(sfd, "vigil", 5, 0) != 5) {
		perror("uring_probe: datagram to receive");
		exit(2);
	}
	len = sizeof(s);
	getsockname(sfd, (struct sockaddr *)&s, &len);
	m.msg_name = &from;
	m.msg_namelen = sizeof(from);
	sqe = sqe_get();
	io_uring_prep_recvmsg(sqe, rfd, &m, 0);
	ret = run_one(sqe);
	printf("{\"op\": \"receiving\", \"port\": %d, \"from\": %d}\n", ntohs(a.sin_port),
	       ntohs(s.sin_port));
	return ret;
}

/* IORING_OP_SOCKET: a new fd, or a slot of a sparse registered-file table */
static int do_socket(int domain, int type, int proto, bool direct)
{
	struct io_uring_sqe *sqe;
	int ret;

	if (direct) {
		ret = io_uring_register_files_sparse(&ring, 4);
		if (ret < 0)
			return ret;
	}
	sqe = sqe_get();
	if (direct)
		io_uring_prep_socket_direct_alloc(sqe, domain, type, proto, 0);
	else
		io_uring_prep_socket(sqe, domain, type, proto, 0);
	return run_one(sqe);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* an open storm through the ring: what the submit and completion programs cost */
static int do_storm(long n, const char *path)
{
	long long t0 = now_ns();
	int ret = 0;

	for (long k = 0; k < n; k++) {
		struct io_uring_sqe *sqe = sqe_get();

		io_uring_prep_openat(sqe, AT_FDCWD, path, O_RDONLY, 0);
		ret = run_one(sqe);
		if (ret < 0)
			return ret;
		close(ret);
	}
	printf("{\"op\": \"storm\", \"n\": %ld, \"ns\": %lld}\n", n, now_ns() - t0);
	return 0;
}

/* a UDP send storm through the ring, each naming its destination */
static int do_udp_storm(long n, int port)
{
	struct sockaddr_in a = loopback(port);
	long long t0 = now_ns();
	int fd = udp_socket(), ret;

	for (long k = 0; k < n; k++) {
		struct io_uring_sqe *sqe = sqe_get();

		io_uring_prep_send(sqe, fd, "vigil", 5, 0);
		io_uring_prep_send_set_addr(sqe, (struct sockaddr *)&a, sizeof(a));
		ret = run_one(sqe);
		if (ret < 0)
			return ret;
	}
	printf("{\"op\": \"udp-storm\", \"n\": %ld, \"ns\": %lld}\n", n, now_ns() - t0);
	return 0;
}

/* what every io_uring user pays for the sensors on operations they do not record */
static int do_nops(long n)
{
	long long t0 = now_ns();

	for (long k = 0; k < n; k++) {
		io_uring_prep_nop(sqe_get());
		if (io_uring_submit_and_wait(&ring, 1) < 0)
			return -1;
		io_uring_cq_advance(&ring, 1);
	}
	printf("{\"op\": \"nops\", \"n\": %ld, \"ns\": %lld}\n", n, now_ns() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct io_uring_params p = {0};
	int i = 1, ret;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--async")) {
			sqe_flags |= IOSQE_ASYNC;
		} else if (!strcmp(argv[i], "--sqpoll")) {
			p.flags |= IORING_SETUP_SQPOLL;
			p.sq_thread_idle = 2000;
		} else if (!strcmp(argv[i], "--skip")) {
			skip = true;
		} else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
			prctl(PR_SET_NAME, argv[++i]);
		} else {
			fprintf(stderr, "uring_probe: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	ret = io_uring_queue_init_params(8, &ring, &p);
	if (ret < 0) {
		fprintf(stderr, "uring_probe: io_uring_queue_init: %s\n", strerror(-ret));
		return 2;
	}
	while (i < argc) {
		const char *op = argv[i];
		struct io_uring_sqe *sqe;

		if (!strcmp(op, "open")) {
			need(argc, i, 3, op);
			sqe = sqe_get();
			io_uring_prep_openat(sqe, AT_FDCWD, argv[i + 1], num(argv[i + 2]),
					     num(argv[i + 3]));
			ret = run_one(sqe);
			i += 4;
		} else if (!strcmp(op, "openat2")) {
			struct open_how how = {0};

			need(argc, i, 2, op);
			how.flags = num(argv[i + 2]);
			sqe = sqe_get();
			io_uring_prep_openat2(sqe, AT_FDCWD, argv[i + 1], &how);
			ret = run_one(sqe);
			i += 3;
		} else if (!strcmp(op, "unlink") || !strcmp(op, "rmdir")) {
			need(argc, i, 1, op);
			sqe = sqe_get();
			io_uring_prep_unlinkat(sqe, AT_FDCWD, argv[i + 1],
					       !strcmp(op, "rmdir") ? AT_REMOVEDIR : 0);
			ret = run_one(sqe);
			i += 2;
		} else if (!strcmp(op, "rename")) {
			need(argc, i, 2, op);
			sqe = sqe_get();
			io_uring_prep_renameat(sqe, AT_FDCWD, argv[i + 1], AT_FDCWD, argv[i + 2],
					       0);
			ret = run_one(sqe);
			i += 3;
		} else if (!strcmp(op, "mkdir")) {
			need(argc, i, 2, op);
			sqe = sqe_get();
			io_uring_prep_mkdirat(sqe, AT_FDCWD, argv[i + 1], num(argv[i + 2]));
			ret = run_one(sqe);
			i += 3;
		} else if (!strcmp(op, "symlink")) {
			need(argc, i, 2, op);
			sqe = sqe_get();
			io_uring_prep_symlinkat(sqe, argv[i + 1], AT_FDCWD, argv[i + 2]);
			ret = run_one(sqe);
			i += 3;
		} else if (!strcmp(op, "link")) {
			need(argc, i, 2, op);
			sqe = sqe_get();
			io_uring_prep_linkat(sqe, AT_FDCWD, argv[i + 1], AT_FDCWD, argv[i + 2], 0);
			ret = run_one(sqe);
			i += 3;
		} else if (!strcmp(op, "connect")) {
			need(argc, i, 1, op);
			ret = do_connect(num(argv[i + 1]));
			i += 2;
		} else if (!strcmp(op, "sendto") || !strcmp(op, "sendmsg") ||
			   !strcmp(op, "send-zc") || !strcmp(op, "sendmsg-zc")) {
			need(argc, i, 1, op);
			ret = do_send(op, num(argv[i + 1]));
			i += 2;
		} else if (!strcmp(op, "send-connected")) {
			need(argc, i, 1, op);
			ret = do_send_connected(num(argv[i + 1]));
			i += 2;
		} else if (!strcmp(op, "recvmsg")) {
			ret = do_recvmsg();
			i += 1;
		} else if (!strcmp(op, "udp-storm")) {
			need(argc, i, 2, op);
			ret = do_udp_storm(num(argv[i + 1]), num(argv[i + 2]));
			i += 3;
		} else if (!strcmp(op, "storm")) {
			need(argc, i, 2, op);
			ret = do_storm(num(argv[i + 1]), argv[i + 2]);
			i += 3;
		} else if (!strcmp(op, "nops")) {
			need(argc, i, 1, op);
			ret = do_nops(num(argv[i + 1]));
			i += 2;
		} else if (!strcmp(op, "accept-multi")) {
			need(argc, i, 1, op);
			ret = do_accept_multi(num(argv[i + 1]));
			i += 2;
		} else if (!strcmp(op, "accept")) {
			ret = do_accept();
			i += 1;
		} else if (!strcmp(op, "socket") || !strcmp(op, "socket-direct")) {
			need(argc, i, 3, op);
			ret = do_socket(num(argv[i + 1]), num(argv[i + 2]), num(argv[i + 3]),
					!strcmp(op, "socket-direct"));
			i += 4;
		} else {
			fprintf(stderr, "uring_probe: unknown operation %s\n", op);
			return 2;
		}
		report(op, ret);
	}
	io_uring_queue_exit(&ring);
	return 0;
}
