// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * agent.c - the event loop. Records are read in batches: the kernel wakes us at
 * once for high-value events and lets bulk ones accumulate, and the epoll timeout
 * bounds how long a batched record waits. Everything the loop drops is counted.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "event.h"
#include "filter.h"
#include "json.h"
#include "loader.h"
#include "proctable.h"

struct agent {
	const struct agent_opts *opts; /* settings */
	struct loader *loader;	       /* BPF sensors */
	struct ring_buffer *rb;	       /* reader of the events ring */
	struct proctable *procs;       /* known processes */
	struct json_buf out;	       /* rendering buffer, reused */
	int64_t boot_to_real_ns;       /* CLOCK_REALTIME - CLOCK_BOOTTIME */
	uint64_t received[VG_EV_TYPE_MAX]; /* records read, per type */
	uint64_t invalid;	       /* records that failed validation */
	uint64_t out_errors;	       /* events not written to stdout */
	const struct proc_info **anc;  /* ancestry scratch, ancestry_max entries */
};

void agent_opts_default(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->events = AGENT_FMT_NONE;
	o->ringbuf_bytes = 8u << 20;
	o->wake_bytes = 64u << 10;
	o->tick_ms = 1;
	o->proc_max = 65536;
	o->proc_linger_ns = 5ull * 1000000000ull;
	o->ancestry_max = 8;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sync_clocks(struct agent *a)
{
	a->boot_to_real_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME));
}

static void emit(struct agent *a, struct event *ev)
{
	size_t n = 0;

	if (a->opts->events == AGENT_FMT_NONE)
		return;
	if (a->opts->events == AGENT_FMT_TEXT) {
		event_to_text(ev, stdout);
		return;
	}
	if (ev->proc)
		n = proctable__ancestry(a->procs, ev->proc->pid, a->anc, a->opts->ancestry_max);
	json_reset(&a->out);
	event_to_json(ev, a->anc, n, &a->out);
	if (a->out.err || fwrite(a->out.buf, 1, a->out.len, stdout) != a->out.len ||
	    fputc('\n', stdout) == EOF)
		a->out_errors++;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;
	const struct vg_hdr *h = data;
	struct event ev = { .hdr = h, .size = size };

	if (event_validate(data, size)) {
		a->invalid++;
		return 0;
	}
	ev.size = h->size;
	ev.time_ns = h->ts_ns + a->boot_to_real_ns;
	a->received[h->type]++;
	switch (h->type) {
	case VG_EV_EXEC:
		ev.proc = proctable__on_exec(a->procs, data, ev.size);
		break;
	case VG_EV_FORK:
		ev.proc = proctable__find(a->procs, h->pid);
		emit(a, &ev);
		proctable__on_fork(a->procs, data);
		return 0;
	case VG_EV_EXIT:
		ev.proc = proctable__find(a->procs, h->pid);
		emit(a, &ev);
		proctable__on_exit(a->procs, data);
		return 0;
	default:
		ev.proc = proctable__find(a->procs, h->pid);
		break;
	}
	emit(a, &ev);
	return 0;
}

static int setup_signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void print_summary(struct agent *a)
{
	struct vg_counters c[VG_EV_TYPE_MAX];
	struct proctable_stats ps;
	int t;

	if (loader__counters(a->loader, c))
		return;
	for (t = 0; t < VG_EV_TYPE_MAX; t++) {
		if (!event_type_name(t) || !c[t].seen)
			continue;
		fprintf(stderr,
			"vigil: %-5s seen=%llu filtered=%llu sent=%llu lost=%llu read_err=%llu "
			"received=%llu\n",
			event_type_name(t), (unsigned long long)c[t].seen,
			(unsigned long long)c[t].filtered, (unsigned long long)c[t].sent,
			(unsigned long long)c[t].lost, (unsigned long long)c[t].read_err,
			(unsigned long long)a->received[t]);
	}
	proctable__stats(a->procs, &ps);
	fprintf(stderr,
		"vigil: processes live=%zu lingering=%zu seeded=%llu evicted=%llu dropped=%llu; "
		"invalid records=%llu, unwritten events=%llu\n",
		ps.live, ps.lingering, (unsigned long long)ps.seeded,
		(unsigned long long)ps.evicted, (unsigned long long)ps.dropped_full,
		(unsigned long long)a->invalid, (unsigned long long)a->out_errors);
}

static int loop(struct agent *a, int sfd)
{
	struct epoll_event evs[4];
	uint64_t last_housekeeping = clock_ns(CLOCK_MONOTONIC);
	int epfd, ret = 0;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	evs[0] = (struct epoll_event){ .events = EPOLLIN, .data.fd = sfd };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &evs[0])) {
		ret = -errno;
		goto out;
	}
	evs[0] = (struct epoll_event){ .events = EPOLLIN, .data.fd = -1 };
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(a->rb), &evs[0])) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		int n = epoll_wait(epfd, evs, 4, a->opts->tick_ms);
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		ret = ring_buffer__consume(a->rb);
		if (ret < 0) {
			fprintf(stderr, "vigil: reading the ring buffer failed: %s\n",
				strerror(-ret));
			break;
		}
		ret = 0;
		if (a->opts->events != AGENT_FMT_NONE && fflush(stdout) == EOF && errno == EPIPE)
			break;
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (evs[i].data.fd != sfd || read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
				goto out;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		if (now - last_housekeeping >= 1000000000ull) {
			last_housekeeping = now;
			sync_clocks(a);
			proctable__evict(a->procs, clock_ns(CLOCK_BOOTTIME));
		}
	}
out:
	close(epfd);
	return ret;
}

int agent_run(const struct agent_opts *opts)
{
	struct loader_opts lo = {
		.ringbuf_bytes = opts->ringbuf_bytes,
		.wake_bytes = opts->wake_bytes,
		.self_pid = getpid(),
	};
	struct agent a = { .opts = opts };
	char err[1024];
	int sfd, ret, seeded;

	json_init(&a.out);
	sync_clocks(&a);
	a.anc = calloc(opts->ancestry_max ? opts->ancestry_max : 1, sizeof(*a.anc));
	a.procs = proctable__new(opts->proc_max, opts->proc_linger_ns);
	if (!a.anc || !a.procs) {
		ret = -ENOMEM;
		fprintf(stderr, "vigil: out of memory\n");
		goto err_free;
	}
	sfd = setup_signals();
	if (sfd < 0) {
		ret = sfd;
		fprintf(stderr, "vigil: cannot set up signal handling: %s\n", strerror(-ret));
		goto err_free;
	}
	/* attach first, then seed, so no process falls between the two */
	a.loader = loader__open(&lo, err, sizeof(err));
	if (!a.loader) {
		ret = -errno;
		fprintf(stderr, "vigil: %s\n", err);
		goto err_close;
	}
	if (opts->filter) {
		struct filter_maps fm;

		loader__filter_maps(a.loader, &fm);
		ret = filter_spec_apply(opts->filter, &fm);
		if (ret) {
			fprintf(stderr, "vigil: cannot write the prefilter maps: %s\n",
				strerror(-ret));
			goto err_unload;
		}
	}
	a.rb = ring_buffer__new(loader__ringbuf_fd(a.loader), on_record, &a, NULL);
	if (!a.rb) {
		ret = -errno;
		fprintf(stderr, "vigil: cannot set up the ring buffer reader: %s\n",
			strerror(errno));
		goto err_unload;
	}
	seeded = proctable__seed(a.procs, "/proc");
	if (seeded < 0)
		fprintf(stderr, "vigil: warning: cannot read /proc: %s\n", strerror(-seeded));
	fprintf(stderr, "vigil: monitoring, %d processes known; SIGINT or SIGTERM stops\n",
		seeded < 0 ? 0 : seeded);
	ret = loop(&a, sfd);
	/* take what is still in the ring before detaching */
	ring_buffer__consume(a.rb);
	fflush(stdout);
	print_summary(&a);
	ring_buffer__free(a.rb);
err_unload:
	loader__free(a.loader);
err_close:
	close(sfd);
err_free:
	proctable__free(a.procs);
	free(a.anc);
	json_free(&a.out);
	return ret;
}
