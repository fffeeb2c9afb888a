// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * agent.c - the event loop. Records are read in batches: the kernel wakes us at
 * once for high-value events and lets bulk ones accumulate, and the epoll timeout
 * bounds how long a batched record waits. Everything the loop drops is counted.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libgen.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/libbpf.h>

#include "agent.h"
#include "config.h"
#include "control.h"
#include "detect/detect.h"
#include "detect/stateful.h"
#include "events/event.h"
#include "detect/filter.h"
#include "util/json.h"
#include "kernel/loader.h"
#include "kernel/ring.h"
#include "kernel/sensors.h"
#include "metrics.h"
#include "output/output.h"
#include "pipeline.h"
#include "respond/netblock.h"
#include "respond/respond.h"
#include "traffic.h"
#include "state/cgroup.h"
#include "state/container.h"
#include "state/runtime.h"
#include "state/proctable.h"
#include "state/dnscache.h"
#include "events/dns.h"
#include "events/record.h"

/* How often the container table drops entries of removed cgroups; an entry goes
 * between one and two periods after its cgroup, so late events keep its metadata */
#define CONTAINER_SWEEP_NS (10 * 1000000000ull)

struct agent {
	const struct agent_opts *opts;	     /* settings */
	struct sensors *sensors;	     /* BPF sensors */
	struct ring rb;			     /* reader of the events ring */
	struct proctable *procs;	     /* known processes */
	struct json_buf out;		     /* rendering buffer, reused */
	struct pipeline pipe;		     /* table, rules, display of each record */
	struct recorder *rec;		     /* --record, NULL when not recording */
	uint64_t rec_errors;		     /* records not written to the recording */
	uint64_t out_errors;		     /* events not written to stdout */
	const struct proc_info **anc;	     /* ancestry scratch, ancestry_max entries */
	struct proctable_stats ps_told;	     /* process table counts the metrics have */
	uint64_t writers_told;		     /* exe_writers entries made, as the metrics have it */
	struct runtime *runtime;	     /* container metadata worker; NULL when off */
	struct containers_stats cs_told;     /* container table counts the metrics have */
	struct runtime_stats rs_told;	     /* metadata counts the metrics have */
	struct detect *detect;		     /* the rules; NULL with --no-rules */
	struct outputs *outputs;	     /* alert sinks */
	struct metrics *metrics;	     /* /metrics, /healthz; NULL when disabled */
	int inotify_fd;			     /* watches the rule files' directories, -1 none */
	struct policy_opts popts;	     /* mode, allowlists, rate limit */
	uint64_t *allow_cgroups;	     /* popts.allow_cgroups, owned */
	struct policy *pol;		     /* the plan of the running rules' actions */
	struct policy *pending;		     /* the plan of rules being loaded */
	unsigned gen;			     /* generation of pol in the kernel */
	struct respond *resp;		     /* carries out and logs actions */
	struct netblock *blocks;	     /* blocked addresses; NULL: blocking unavailable */
	struct netblock_cidr *allow_cidr;    /* actions.allow_cidr, parsed */
	char pin_dir[512];		     /* actions.pin_dir when it is on bpffs, else "" */
	struct metric_family *actions_total; /* vigil_actions_total; NULL: no metrics */
	struct metric_family *state_entries; /* vigil_rule_state_entries{rule} */
	struct metric_family *state_evicted; /* vigil_rule_state_evictions_total{rule} */
	struct control *control;	     /* the control socket; NULL: none */
	struct traffic_mon *traffic;	     /* traffic counters and detectors; NULL: off */
	const char *mode;		     /* "enforce" or "monitor", as status reports it */
	uint64_t started_ns;		     /* CLOCK_MONOTONIC at start, for the uptime */
	char hostname[256];		     /* this machine, for alerts */
	/* DNS: the answers kept, and what the metrics were last told of them */
	struct dnscache *names;		/* fd.sip.name and its kin */
	struct dnscache_stats dns_told; /* answer cache counts the metrics have */
	uint64_t dns_bad_told[5];	/* malformed messages the metrics have */
	uint64_t dns_cut_told;		/* cut messages the metrics have */
	struct metric *dns_entries;	/* vigil_dns_answer_cache_entries */
	struct metric *dns_evicted;	/* vigil_dns_answer_cache_evictions_total */
	struct metric *dns_expired;	/* vigil_dns_answer_cache_expired_total */
	struct metric *dns_cut;		/* vigil_dns_messages_cut_total */
	struct metric_family *dns_bad;	/* vigil_dns_messages_malformed_total{reason} */
};

/* The settings no flag sets; the flags' defaults are in the option table (main.c). */
void agent_opts_default(struct agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->events = AGENT_FMT_NONE;
	o->wake_bytes = 64u << 10;
	o->proc_linger_ns = 5ull * 1000000000ull;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sync_clocks(struct agent *a)
{
	a->pipe.boot_to_real_ns = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_BOOTTIME));
}

static void emit(struct agent *a, struct event *ev)
{
	bool unknown = true; /* a process the table does not know has no known parents */
	size_t n = 0;

	if (a->opts->events == AGENT_FMT_NONE)
		return;
	/* the stdout alert sink writes from its own thread: whole lines under the lock */
	flockfile(stdout);
	if (a->opts->events == AGENT_FMT_TEXT) {
		event_to_text(ev, stdout);
		funlockfile(stdout);
		return;
	}
	if (ev->proc)
		n = proctable__ancestry(a->procs, ev->proc->pid, a->anc, a->opts->ancestry_max,
					&unknown);
	json_reset(&a->out);
	event_to_json(ev, a->anc, n, unknown, &a->out);
	if (a->out.err || fwrite_unlocked(a->out.buf, 1, a->out.len, stdout) != a->out.len ||
	    putc_unlocked('\n', stdout) == EOF)
		a->out_errors++;
	funlockfile(stdout);
}

/* Hands an alert to the outputs: queued per sink, delivered by their threads. */
static void on_alert(void *arg, const struct detect_alert *al)
{
	struct agent *a = arg;
	struct alert_action acts[RESPOND_MAX_ACTIONS];
	const struct policy_rule *pr = policy__find(a->pol, al->rule_idx);
	struct alert out;

	alert_from_detect(&out, al);
	/* an aggregate's summary has no event: its actions ran with each match */
	if (pr && a->resp && al->ev) {
		out.n_actions = respond__act(a->resp, pr, al->ev, al->output, acts);
		out.actions = acts;
		for (size_t i = 0; a->actions_total && i < out.n_actions; i++)
			metric__inc(metric_family__series(
			    a->actions_total,
			    (const char *const[]){acts[i].kind, acts[i].where,
						  respond_result_label(&acts[i])}));
	}
	if (al->held)
		return; /* merged into a pending aggregate: its summary is the alert */
	if (outputs__emit(a->outputs, &out))
		a->out_errors++;
}

/* Scrape-time metrics, on the HTTP thread: only BPF maps are read here. */
static void collect(struct metrics_writer *w, void *arg)
{
	struct agent *a = arg;
	struct vg_counters c[VG_EV_TYPE_MAX];
	struct metrics_event_counts mc[VG_EV_TYPE_MAX];
	size_t n = 0;

	if (sensors__counters(a->sensors, c))
		return;
	for (int t = 0; t < VG_EV_TYPE_MAX; t++) {
		if (!event_type_name(t))
			continue;
		mc[n++] = (struct metrics_event_counts){.type = event_type_name(t),
							.seen = c[t].seen,
							.filtered = c[t].filtered,
							.sent = c[t].sent,
							.lost = c[t].lost};
	}
	metrics__write_event_counts(w, mc, n);
}

static void show(void *arg, struct event *ev)
{
	emit(arg, ev);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct agent *a = ctx;

	if (pipeline_record(&a->pipe, data, size) == 0 && a->rec &&
	    recorder__write(a->rec, data, ((const struct vg_hdr *)data)->size))
		a->rec_errors++;
	return 0;
}

/*
 * The prefilter: the rules' derivation (merged with the default's sensitive set
 * when events are printed too), then the parsed --filter arguments on top. It fails
 * closed: what cannot be derived or written goes up unfiltered, with a notice and
 * a count per type.
 */
static int apply_filter(struct agent *a)
{
	struct filter_spec spec;
	struct filter_maps fm;
	int ret = 0, t;

	filter_spec_init(&spec);
	if (!a->opts->no_prefilter) {
		if (a->detect && (ret = detect__derive_filter(a->detect, &spec)))
			fprintf(stderr, "vigil: deriving the prefilter: %s\n", strerror(-ret));
		if (a->opts->events != AGENT_FMT_NONE || !a->detect) {
			/* shown events: what the rules need, and the default's sensitive set */
			struct filter_spec def;

			filter_spec_init(&def);
			ret = filter_spec_default(&def);
			if (!ret && a->detect)
				ret = filter_spec_merge(&def, &spec);
			if (ret) {
				filter_spec_free(&def);
				for (t = 1; t < VG_EV_TYPE_MAX; t++)
					filter_spec_fall_back(&spec, t, FILTER_FB_NOMEM,
							      "merging the default set: %s",
							      strerror(-ret));
			} else {
				filter_spec_free(&spec);
				spec = def;
			}
		}
		if (a->opts->filter && (ret = filter_spec_override(&spec, a->opts->filter)))
			fprintf(stderr, "vigil: applying --filter: %s\n", strerror(-ret));
	}
	/* whatever failed above fell back in spec: it is safe to write as it is */
	sensors__filter_maps(a->sensors, &fm);
	ret = filter_spec_apply(&spec, &fm);
	if (ret)
		fprintf(stderr, "vigil: cannot set the prefilter: %s\n", strerror(-ret));
	filter_spec_print_fallbacks(&spec, stderr);
	for (t = 1; t < VG_EV_TYPE_MAX; t++)
		if (spec.fallback[t].reason)
			metrics__prefilter_fallback(a->metrics, filter_slot_name(t),
						    filter_fallback_name(spec.fallback[t].reason));
	filter_spec_free(&spec);
	return ret;
}

/* detect's check: plans the new rules' actions; a rule that cannot act refuses the set. */
static int plan_actions(void *arg, const struct rule_engine *e, FILE *diag)
{
	struct agent *a = arg;

	policy__free(a->pending);
	a->pending = policy__new(e, &a->popts, diag);
	return a->pending ? 0 : -errno;
}

struct each_proc_ctx {
	void (*fn)(void *ctx, uint32_t tgid, const char *exe);
	void *ctx;
};

static void each_proc_one(void *arg, const struct proc_info *p)
{
	struct each_proc_ctx *c = arg;

	if (!p->exit_ns)
		c->fn(c->ctx, p->pid, p->exe);
}

/* The live processes the table knows, with their exe (policy_procs_fn). */
static void each_proc(void *arg, void (*fn)(void *ctx, uint32_t tgid, const char *exe), void *ctx)
{
	struct agent *a = arg;
	struct each_proc_ctx c = {fn, ctx};

	if (a->procs)
		proctable__foreach(a->procs, each_proc_one, &c);
}

/* Puts the pending plan in force, in the kernel too; the old one stays on failure. */
/* A container whose metadata is in joins the scopes of the rules in force it meets. */
static void scope_container(void *arg, const struct container_entry *e)
{
	struct agent *a = arg;
	struct enforce_maps m;
	int ret;

	if (!e->meta || !a->sensors || !policy__meta_scoped(a->pol))
		return;
	sensors__enforce_maps(a->sensors, &m);
	ret = policy__scope_container(a->pol, &m, a->gen, e->ident.short_id, e->cgroup_id, e->meta);
	if (ret)
		fprintf(stderr,
			"vigil: cannot put container %s in its rules' scope: %s; user space acts "
			"for them\n",
			e->ident.short_id, strerror(-ret));
}

static void enforce(struct agent *a)
{
	struct enforce_maps m;
	int ret = 0;

	if (!a->pending)
		return;
	if (a->sensors) {
		unsigned gen = a->pol ? !a->gen : 0; /* the generation not in force */
		bool entry = policy__needs_entry(a->pending), deny = policy__needs_deny(a->pending);
		bool lsm = policy__needs_lsm(a->pending);
		char err[512];

		/* the entry enforcer runs at every syscall: attached before a plan that needs
		 * it is in force, detached once none is */
		if (entry && sensors__kill_at_entry(a->sensors, true, err, sizeof(err))) {
			fprintf(stderr,
				"vigil: %s; kill rules on other calls act at their exit instead\n",
				err);
			policy__drop_entry(a->pending);
			entry = false;
		}
		/* the deny programs run at every connect, send, bind and socket: attached
		 * before a plan with deny rules is in force, detached once none is */
		if (deny && sensors__deny_hooks(a->sensors, true, err, sizeof(err)))
			fprintf(stderr,
				"vigil: cannot attach the deny programs (%s): deny rules refuse "
				"nothing\n",
				err);
		/* the BPF-LSM hooks run at every open, exec, ptrace, mount, module load and
		 * bpf(): attached before a plan that has rules there is in force */
		if (lsm && sensors__lsm_hooks(a->sensors, true, err, sizeof(err)))
			fprintf(
			    stderr,
			    "vigil: cannot attach the BPF-LSM programs (%s): their rules refuse "
			    "and kill nothing\n",
			    err);
		sensors__enforce_maps(a->sensors, &m);
		ret = policy__write(a->pending, &m, gen, each_proc, a);
		if (ret) {
			fprintf(
			    stderr,
			    "vigil: cannot write the enforcement maps: %s; the kernel keeps the "
			    "previous rules' actions\n",
			    strerror(-ret));
			entry = policy__needs_entry(a->pol);
			deny = policy__needs_deny(a->pol);
			lsm = policy__needs_lsm(a->pol);
		} else {
			a->gen = gen;
		}
		if (!entry)
			sensors__kill_at_entry(a->sensors, false, err, sizeof(err));
		if (!deny)
			sensors__deny_hooks(a->sensors, false, err, sizeof(err));
		if (!lsm)
			sensors__lsm_hooks(a->sensors, false, err, sizeof(err));
	}
	policy__free(a->pol);
	a->pol = a->pending;
	a->pending = NULL;
	/* the containers known so far, for scopes by their metadata (when the plan is in
	 * force: a->gen is its generation) */
	if (!ret && a->procs && policy__meta_scoped(a->pol))
		containers__foreach(proctable__containers(a->procs), scope_container, a);
}

static void on_action(void *arg, const struct vg_action *k)
{
	struct agent *a = arg;

	if (a->resp)
		respond__on_kernel(a->resp, k);
}

/* The process table keeps environments only while a rule reads proc.env. */
static void keep_env(struct agent *a)
{
	const struct rule_engine *e = a->detect ? detect__engine(a->detect) : NULL;
	bool used = false;

	for (size_t i = 0; e && i < rule_engine__ref_count(e); i++)
		used |= !strcmp(rule_engine__ref(e, i)->def->name, "proc.env");
	if (a->procs)
		proctable__keep_env(a->procs, used);
}

/*
 * Loads the rule files again and, when they compile, swaps them in and rewrites the
 * prefilter: both are in force when this returns. The rules' diagnostics go to
 * stderr, and into *diag (malloc'd, NULL when there are none) when diag is given.
 * 0, or -EINVAL when the running rules stay (-ENOENT: --no-rules).
 */
static int reload(struct agent *a, const char *why, char **diag)
{
	if (!a->detect)
		return -ENOENT;
	struct detect_stats ds;
	size_t len = 0;
	FILE *f = diag ? open_memstream(diag, &len) : NULL;
	int ret;

	fprintf(stderr, "vigil: reloading rules (%s)\n", why);
	ret = detect__reload_diag(a->detect, f ? f : stderr);
	if (f && !fclose(f) && len)
		fputs(*diag, stderr); /* the agent's log has them too */
	if (diag && *diag && !len) {
		free(*diag);
		*diag = NULL;
	}
	if (ret) {
		detect__stats(a->detect, &ds);
		metrics__rules_loaded(a->metrics, false, ds.rules_active);
		fprintf(stderr, "vigil: the new rules did not load; the running rules stay\n");
		policy__free(a->pending);
		a->pending = NULL;
		return -EINVAL;
	}
	apply_filter(a);
	enforce(a);
	keep_env(a);
	detect__stats(a->detect, &ds);
	metrics__rules_loaded(a->metrics, true, ds.rules_active);
	fprintf(stderr, "vigil: rules reloaded\n");
	return 0;
}

/* Watches the directories of the rule files: editors often replace a file. */
static int watch_rules(struct agent *a)
{
	size_t i;

	a->inotify_fd = -1;
	if (!a->detect || !a->opts->n_rule_files)
		return 0;
	a->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (a->inotify_fd < 0)
		return -errno;
	for (i = 0; i < a->opts->n_rule_files; i++) {
		char *copy = strdup(a->opts->rule_files[i]);

		if (!copy)
			return -ENOMEM;
		if (inotify_add_watch(a->inotify_fd, dirname(copy),
				      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0)
			fprintf(stderr, "vigil: warning: cannot watch %s for changes: %s\n",
				a->opts->rule_files[i], strerror(errno));
		free(copy);
	}
	return 0;
}

/* Whether the pending inotify events touch one of the rule files. */
static bool rules_changed(struct agent *a)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool hit = false;
	ssize_t n;

	while ((n = read(a->inotify_fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ie = (struct inotify_event *)p;

			for (size_t i = 0; ie->len && i < a->opts->n_rule_files; i++) {
				const char *f = a->opts->rule_files[i];
				const char *base = strrchr(f, '/');

				if (!strcmp(ie->name, base ? base + 1 : f))
					hit = true;
			}
			/* a ConfigMap volume changes by a rename of its "..data" symlink, which
			 * the rule files point through: no event names them */
			if (ie->len && !strcmp(ie->name, "..data"))
				hit = true;
			p += sizeof(*ie) + ie->len;
		}
	}
	return hit;
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

	if (sensors__counters(a->sensors, c))
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
			(unsigned long long)a->pipe.received[t]);
	}
	proctable__stats(a->procs, &ps);
	fprintf(stderr,
		"vigil: processes live=%zu lingering=%zu seeded=%llu evicted=%llu "
		"evicted_live=%llu dropped=%llu; invalid records=%llu, unwritten events=%llu\n",
		ps.live, ps.lingering, (unsigned long long)ps.seeded,
		(unsigned long long)ps.evicted, (unsigned long long)ps.evicted_live,
		(unsigned long long)ps.dropped_full, (unsigned long long)a->pipe.invalid,
		(unsigned long long)a->out_errors);
}

/* The process table's counters: what they rose by since last told. */
static void proc_metrics(struct agent *a, const struct proctable_stats *ps)
{
	const struct metrics_agent *m = metrics__agent(a->metrics);
	uint64_t made;

	metric__add(m->procs_evicted_exited, ps->evicted - a->ps_told.evicted);
	metric__add(m->procs_evicted_live, ps->evicted_live - a->ps_told.evicted_live);
	metric__add(m->procs_refused, ps->dropped_full - a->ps_told.dropped_full);
	a->ps_told = *ps;
	if (a->sensors && !sensors__writers_made(a->sensors, &made) && made >= a->writers_told) {
		metric__add(m->exe_writers_made, made - a->writers_told);
		a->writers_told = made;
	}
}

/* Whether cgroup id was removed (the agent can open any cgroup by its id). */
static bool cgroup_gone(void *arg, uint64_t id)
{
	return cgroup_id_gone(id);
}

/* The container table's and the metadata worker's counts, to the metrics. */
static void container_metrics(struct agent *a)
{
	struct containers *ct = proctable__containers(a->procs);
	const struct metrics_agent *m;
	struct containers_stats cs;
	struct runtime_stats rs = {0};

	if (!a->metrics)
		return;
	containers__poll(ct);
	m = metrics__agent(a->metrics);
	containers__stats(ct, &cs);
	if (a->runtime)
		runtime__stats(a->runtime, &rs);
	metric__set(m->containers, cs.entries);
	metric__add(m->containers_gone, cs.pruned - a->cs_told.pruned);
	metric__add(m->containers_room, cs.evicted - a->cs_told.evicted);
	metric__add(m->meta_lost, cs.jobs_lost - a->cs_told.jobs_lost);
	metric__add(m->meta_spec_read, rs.spec_read - a->rs_told.spec_read);
	metric__add(m->meta_spec_missing, rs.spec_missing - a->rs_told.spec_missing);
	metric__add(m->meta_api_ok, rs.api_ok - a->rs_told.api_ok);
	metric__add(m->meta_api_failed, rs.api_failed - a->rs_told.api_failed);
	metric__add(m->meta_api_not_found, rs.api_not_found - a->rs_told.api_not_found);
	a->cs_told = cs;
	a->rs_told = rs;
}

/* The DNS answer cache's and parser's counts, to the metrics. */
static void dns_metrics(struct agent *a)
{
	struct dnscache_stats st;

	if (!a->metrics)
		return;
	dnscache__stats(a->names, &st);
	metric__set(a->dns_entries, st.entries);
	metric__add(a->dns_evicted, st.evicted - a->dns_told.evicted);
	metric__add(a->dns_expired, st.expired - a->dns_told.expired);
	metric__add(a->dns_cut, a->pipe.dns_cut - a->dns_cut_told);
	for (int e = 0; e < 5; e++) {
		const char *why = e ? dns_error_name((enum dns_error)e) : "nomem";

		if (a->pipe.dns_bad[e] == a->dns_bad_told[e])
			continue;
		metric__add(metric_family__series(a->dns_bad, (const char *const[]){why}),
			    a->pipe.dns_bad[e] - a->dns_bad_told[e]);
		a->dns_bad_told[e] = a->pipe.dns_bad[e];
	}
	a->dns_told = st;
	a->dns_cut_told = a->pipe.dns_cut;
}

/* The DNS metrics' series, made once at start. */
static void dns_metrics_init(struct agent *a)
{
	a->dns_entries = metrics__gauge(a->metrics, "vigil_dns_answer_cache_entries",
					"Addresses from DNS answers kept for fd.sip.name.");
	metric__set(metrics__gauge(a->metrics, "vigil_dns_answer_cache_max_entries",
				   "The bound of the DNS answer cache."),
		    a->opts->cfg ? a->opts->cfg->dns.answer_cache : DNSCACHE_DEFAULT);
	a->dns_evicted = metrics__counter(
	    a->metrics, "vigil_dns_answer_cache_evictions_total",
	    "Addresses dropped from the DNS answer cache for room before their TTL ran out.");
	a->dns_expired =
	    metrics__counter(a->metrics, "vigil_dns_answer_cache_expired_total",
			     "Addresses dropped from the DNS answer cache when their TTL ran out.");
	a->dns_cut = metrics__counter(a->metrics, "vigil_dns_messages_cut_total",
				      "DNS messages longer than a record holds (512 bytes), or "
				      "with more answers than are kept; the first part was used.");
	a->dns_bad =
	    metrics__family(a->metrics, METRIC_COUNTER, "vigil_dns_messages_malformed_total",
			    "DNS messages that did not parse, or whose answers stopped at "
			    "a fault, by reason (short, loop, name, noquestion, nomem).",
			    (const char *const[]){"reason", NULL});
}

/* Starts the metadata worker as the configuration says. 0 or -errno. */
static int containers_start(struct agent *a)
{
	const struct config_containers *c = &a->opts->cfg->containers;
	struct runtime_opts ro = {
	    .host_root = c->host_root,
	    .state_dirs = c->state_dirs.n ? (const char *const *)c->state_dirs.items : NULL,
	    .n_state_dirs = c->state_dirs.n,
	    .api_sockets = c->api_sockets.n ? (const char *const *)c->api_sockets.items : NULL,
	    .n_api_sockets = c->api_sockets.n,
	    .timeout_ms = (int)(c->api_timeout_ns / 1000000),
	};

	if (!c->metadata)
		return 0;
	a->runtime = runtime__start(proctable__containers(a->procs), &ro);
	return a->runtime ? 0 : -errno;
}

/* ---- the control socket's verbs (control.h) ---- */

static void json_kv_uint(struct json_buf *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_uint(j, v);
}

static void status_programs(struct agent *a, struct json_buf *j)
{
	const struct loader *l = sensors__loader(a->sensors);
	struct loader_prog_state st;
	size_t on = 0;

	json_key(j, "programs");
	json_arr_begin(j);
	for (size_t i = 0; i < loader__n_progs(l); i++) {
		loader__prog_state(l, i, &st);
		on += st.enabled;
		json_obj_begin(j);
		json_key(j, "name");
		json_str(j, st.name);
		json_key(j, "kind");
		json_str(j, st.kind);
		json_key(j, "enabled");
		json_bool(j, st.enabled);
		json_key(j, "attachments");
		json_int(j, st.attachments);
		if (!st.enabled) {
			json_key(j, "why");
			json_str(j, st.why);
		}
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_uint(j, "programs_enabled", on);
	json_kv_uint(j, "programs_off", loader__n_progs(l) - on);
	json_key(j, "kernel_features");
	json_obj_begin(j);
	for (size_t i = 0; i < loader__n_features(l); i++) {
		json_key(j, loader__feature(l, i)->name);
		json_bool(j, loader__feature(l, i)->available);
	}
	json_obj_end(j);
	/* what each feature is used for here, and why not */
	json_key(j, "kernel_feature_use");
	json_obj_begin(j);
	for (size_t i = 0; i < loader__n_features(l); i++) {
		const struct loader_feature *ft = loader__feature(l, i);
		const char *why;
		bool used = loader__feature_used(l, i, &why);

		json_key(j, ft->name);
		json_obj_begin(j);
		json_key(j, "available");
		json_bool(j, ft->available);
		if (!ft->available && ft->error) {
			json_key(j, "error");
			json_str(j, strerror(ft->error));
		}
		json_key(j, "used");
		json_bool(j, used);
		if (why) {
			json_key(j, "why");
			json_str(j, why);
		}
		json_obj_end(j);
	}
	json_obj_end(j);
	json_key(j, "maps");
	json_arr_begin(j);
	struct bpf_object *obj = loader__object(l);
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj)
	{
		if (bpf_map__is_internal(m))
			continue; /* .rodata, .bss: the knobs */
		json_obj_begin(j);
		json_key(j, "name");
		json_str(j, bpf_map__name(m));
		json_key(j, "type");
		json_str(j, libbpf_bpf_map_type_str(bpf_map__type(m)));
		json_kv_uint(j, "max_entries", bpf_map__max_entries(m));
		json_obj_end(j);
	}
	json_arr_end(j);
}

static void status_events(struct agent *a, struct json_buf *j)
{
	struct vg_counters c[VG_EV_TYPE_MAX];
	bool have = !sensors__counters(a->sensors, c);

	json_key(j, "events");
	json_arr_begin(j);
	for (int t = 0; t < VG_EV_TYPE_MAX; t++) {
		if (!event_type_name(t))
			continue;
		json_obj_begin(j);
		json_key(j, "type");
		json_str(j, event_type_name(t));
		if (have) {
			json_kv_uint(j, "seen", c[t].seen);
			json_kv_uint(j, "filtered", c[t].filtered);
			json_kv_uint(j, "sent", c[t].sent);
			json_kv_uint(j, "lost", c[t].lost);
			json_kv_uint(j, "read_err", c[t].read_err);
		}
		json_kv_uint(j, "received", a->pipe.received[t]);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* The blocks in force as a JSON array. */
static void blocks_json(struct agent *a, struct json_buf *j)
{
	struct netblock_entry *v = NULL;
	size_t n = a->blocks ? netblock__list(a->blocks, NULL, 0) : 0;
	struct timespec now;
	char cidr[64];

	clock_gettime(CLOCK_BOOTTIME, &now);
	if (n)
		v = calloc(n, sizeof(*v));
	if (v)
		n = netblock__list(a->blocks, v, n);
	json_arr_begin(j);
	for (size_t i = 0; v && i < n; i++) {
		uint64_t t = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;

		json_obj_begin(j);
		json_key(j, "target");
		json_str(j, netblock_cidr_str(&v[i].cidr, cidr, sizeof(cidr)));
		json_key(j, "left_s");
		if (v[i].val.until_ns)
			json_uint(j, v[i].val.until_ns > t ? (v[i].val.until_ns - t) / 1000000000ull
							   : 0);
		else
			json_null(j);
		json_key(j, "added_ns");
		json_uint(j, v[i].val.added_ns);
		json_key(j, "dropped");
		json_uint(j, v[i].val.dropped);
		json_key(j, "reason");
		json_str(j, v[i].val.reason);
		json_key(j, "by");
		json_str(j, v[i].val.rule == NETBLOCK_BY_DETECTOR ? "detector"
			    : v[i].val.rule			  ? "rule"
								  : "hand");
		json_obj_end(j);
	}
	json_arr_end(j);
	free(v);
}

static int control_error(struct json_buf *j, int ret, const char *fmt, const char *s)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, s);
	json_key(j, "error");
	json_str(j, msg);
	return ret;
}

/* block add|del|list */
static int control_block(void *arg, const struct control_request *req, struct json_buf *out)
{
	struct agent *a = arg;
	struct netblock_cidr c;
	char err[512];
	int ret;

	if (!a->blocks)
		return control_error(out, -EOPNOTSUPP, "%s",
				     "blocking is not available on this agent (see its start)");
	if (req->sub != CONTROL_SUB_LIST && netblock_cidr_parse(req->target, &c))
		return control_error(out, -EINVAL,
				     "'%s' is not an IP address or prefix (e.g. 192.0.2.7, "
				     "10.0.0.0/8, 2001:db8::/32)",
				     req->target);
	if (req->sub == CONTROL_SUB_ADD) {
		ret = netblock__add(a->blocks, &c, req->for_s * 1000000000ull, 0,
				    req->reason[0] ? req->reason : "by hand", err, sizeof(err));
		if (ret)
			return control_error(out, ret, "%s", err);
		fprintf(stderr, "vigil: blocked %s by hand (%s)\n", req->target,
			req->reason[0] ? req->reason : "no reason given");
	} else if (req->sub == CONTROL_SUB_DEL) {
		if (netblock__del(a->blocks, &c))
			return control_error(out, -ENOENT, "%s is not blocked (vigil block list)",
					     req->target);
		fprintf(stderr, "vigil: unblocked %s by hand\n", req->target);
	}
	json_key(out, "blocks");
	blocks_json(a, out);
	return out->err;
}

/* The isolated containers as a JSON array. */
static void isolated_json(struct agent *a, struct json_buf *j)
{
	struct netblock_isolated v[64];
	size_t n = a->blocks ? netblock__isolated(a->blocks, v, 64) : 0;

	json_arr_begin(j);
	for (size_t i = 0; i < n && i < 64; i++) {
		json_obj_begin(j);
		json_key(j, "container");
		json_str(j, v[i].id);
		json_key(j, "cgroups");
		json_uint(j, v[i].cgroups);
		json_key(j, "added_ns");
		json_uint(j, v[i].val.added_ns);
		json_key(j, "dropped");
		json_uint(j, v[i].val.dropped);
		json_key(j, "reason");
		json_str(j, v[i].val.reason);
		json_obj_end(j);
	}
	json_arr_end(j);
}

/* The quarantine in force, or null. */
static void quarantine_json(struct agent *a, struct json_buf *j)
{
	struct vg_quarantine q;
	struct timespec now;
	uint64_t t;

	if (!a->blocks || !netblock__quarantined(a->blocks, &q)) {
		json_null(j);
		return;
	}
	clock_gettime(CLOCK_BOOTTIME, &now);
	t = (uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec;
	json_obj_begin(j);
	json_key(j, "left_s");
	json_uint(j, q.until_ns > t ? (q.until_ns - t) / 1000000000ull : 0);
	json_key(j, "added_ns");
	json_uint(j, q.added_ns);
	json_key(j, "dropped");
	json_uint(j, q.dropped);
	json_key(j, "reason");
	json_str(j, q.reason);
	json_key(j, "cgroup");
	json_str(j, a->opts->cfg->actions.quarantine_cgroup
			? a->opts->cfg->actions.quarantine_cgroup
			: "");
	json_obj_end(j);
}

/* Whether s is a container id as the CLI takes it: 12 to 64 lower-case hex digits. */
static bool container_id_arg(const char *s)
{
	return container_id_valid(s, strlen(s), CONTAINER_SHORT_ID_LEN, CONTAINER_ID_LEN);
}

/* isolate ID [REASON] */
static int control_isolate(void *arg, const struct control_request *req, struct json_buf *out)
{
	struct agent *a = arg;
	char err[512];
	int ret;

	if (!a->blocks)
		return control_error(out, -EOPNOTSUPP, "%s",
				     "isolation is not available on this agent (see its start)");
	if (!container_id_arg(req->target))
		return control_error(out, -EINVAL,
				     "'%s' is not a container id (12 to 64 hex digits, as "
				     "container.id or podman ps shows it)",
				     req->target);
	ret = netblock__isolate(a->blocks, req->target, req->reason[0] ? req->reason : "by hand",
				err, sizeof(err));
	if (ret)
		return control_error(out, ret, "%s", err);
	fprintf(stderr, "vigil: isolated container %.12s by hand\n", req->target);
	json_key(out, "isolated");
	isolated_json(a, out);
	return out->err;
}

/* quarantine FOR_S [REASON] */
static int control_quarantine(void *arg, const struct control_request *req, struct json_buf *out)
{
	struct agent *a = arg;
	uint64_t ns =
	    req->for_s ? req->for_s * 1000000000ull : a->opts->cfg->actions.quarantine_max_ns;
	char err[512];
	int ret;

	if (!a->blocks)
		return control_error(out, -EOPNOTSUPP, "%s",
				     "quarantine is not available on this agent (see its start)");
	if (ns > a->opts->cfg->actions.quarantine_max_ns)
		ns = a->opts->cfg->actions.quarantine_max_ns;
	ret = netblock__quarantine(a->blocks, ns, req->reason[0] ? req->reason : "by hand", err,
				   sizeof(err));
	if (ret)
		return control_error(out, ret, "%s", err);
	fprintf(stderr, "vigil: node quarantined by hand for %llu s\n",
		(unsigned long long)(ns / 1000000000ull));
	json_key(out, "quarantine");
	quarantine_json(a, out);
	return out->err;
}

/* release all: every block and isolation, and the programs that held them; release ID */
static int control_release(void *arg, const struct control_request *req, struct json_buf *out)
{
	struct agent *a = arg;
	int ret;

	if (req->sub == CONTROL_SUB_NODE) {
		if (!a->blocks || netblock__lift(a->blocks))
			return control_error(out, -ENOENT, "%s", "the node is not quarantined");
		fprintf(stderr, "vigil: quarantine lifted by hand\n");
	} else if (req->sub == CONTROL_SUB_ONE) {
		if (!a->blocks || !container_id_arg(req->target) ||
		    netblock__release(a->blocks, req->target))
			return control_error(out, -ENOENT, "container %s is not isolated",
					     req->target);
		fprintf(stderr, "vigil: released container %.12s\n", req->target);
	} else {
		ret = a->blocks ? netblock__release_all(a->blocks) : 0;
		if (ret)
			return control_error(out, ret, "cannot remove everything: %s",
					     strerror(-ret));
		fprintf(stderr, "vigil: released everything vigil put in place\n");
	}
	json_key(out, "released");
	json_bool(out, true);
	json_key(out, "isolated");
	isolated_json(a, out);
	return out->err;
}

/* traffic: the busiest ports and sources of the last interval (vigil top) */
static int control_traffic(void *arg, const struct control_request *req, struct json_buf *out)
{
	struct agent *a = arg;

	if (!a->traffic)
		return control_error(out, -ENOENT, "%s",
				     "traffic monitoring is off (traffic.enabled in the "
				     "configuration)");
	return traffic_mon__json(a->traffic, req->n, out);
}

static int control_actions(void *arg, size_t n, struct json_buf *out)
{
	struct agent *a = arg;

	if (a->resp) {
		respond__recent_json(a->resp, n, out);
	} else {
		json_arr_begin(out);
		json_arr_end(out);
	}
	return out->err;
}

/* status: the rules with actions, where each acts, and what was done. */
static void status_enforcement(struct agent *a, struct json_buf *j)
{
	struct respond_stats rs = {0};
	size_t kern = 0, user = 0;
	char where[320], acts[32];

	json_key(j, "enforcement");
	json_obj_begin(j);
	json_key(j, "rules");
	json_arr_begin(j);
	for (size_t i = 0; a->pol && i < policy__n_rules(a->pol); i++) {
		const struct policy_rule *r = policy__rule(a->pol, i);

		kern += r->where == POLICY_KERNEL;
		user += r->where == POLICY_USER;
		json_obj_begin(j);
		json_key(j, "rule");
		json_str(j, r->info->name);
		json_key(j, "actions");
		json_str(j, policy_rule__actions(r, acts, sizeof(acts)));
		json_key(j, "where");
		json_str(j, policy_rule__where(r, where, sizeof(where)));
		json_key(j, "monitor");
		json_bool(j, r->monitor);
		json_obj_end(j);
	}
	json_arr_end(j);
	json_kv_uint(j, "in_kernel", kern);
	json_kv_uint(j, "in_user_space", user);
	json_kv_uint(j, "generation", a->gen);
	if (a->resp)
		respond__stats(a->resp, &rs);
	json_kv_uint(j, "kill_taken", rs.taken[0][0] + rs.taken[0][1]);
	json_kv_uint(j, "deny_taken", rs.taken[1][0] + rs.taken[1][1]);
	json_kv_uint(j, "block_taken", rs.taken[2][0] + rs.taken[2][1]);
	json_kv_uint(j, "isolate_taken", rs.taken[3][0] + rs.taken[3][1]);
	json_kv_uint(j, "not_taken",
		     rs.not_taken[0][0] + rs.not_taken[0][1] + rs.not_taken[1][0] +
			 rs.not_taken[1][1] + rs.not_taken[2][0] + rs.not_taken[2][1] +
			 rs.not_taken[3][0] + rs.not_taken[3][1]);
	json_kv_uint(j, "kernel_reports", rs.kernel_reports);
	json_kv_uint(j, "kernel_reports_unmatched", rs.kernel_unmatched);
	json_key(j, "blocking");
	if (!a->blocks) {
		json_str(j, "not available");
	} else {
		char where[128];

		json_str(j, netblock__active(a->blocks, where, sizeof(where))
				? where
				: "no block in force");
	}
	json_key(j, "pinned_in");
	json_str(j, a->pin_dir);
	json_key(j, "blocks");
	blocks_json(a, j);
	json_key(j, "isolated");
	isolated_json(a, j);
	json_key(j, "quarantine");
	quarantine_json(a, j);
	json_obj_end(j);
}

static void status_containers(struct agent *a, struct json_buf *j)
{
	struct containers_stats cs;
	struct runtime_stats rs = {0};

	containers__poll(proctable__containers(a->procs));
	containers__stats(proctable__containers(a->procs), &cs);
	if (a->runtime)
		runtime__stats(a->runtime, &rs);
	json_key(j, "containers");
	json_obj_begin(j);
	json_kv_uint(j, "entries", cs.entries);
	json_kv_uint(j, "evicted", cs.evicted);
	json_kv_uint(j, "pruned", cs.pruned);
	json_key(j, "metadata");
	json_bool(j, a->runtime);
	json_kv_uint(j, "filled", cs.filled);
	json_kv_uint(j, "inflight", cs.jobs_inflight);
	json_kv_uint(j, "lost", cs.jobs_lost);
	json_kv_uint(j, "spec_read", rs.spec_read);
	json_kv_uint(j, "spec_missing", rs.spec_missing);
	json_kv_uint(j, "api_ok", rs.api_ok);
	json_kv_uint(j, "api_failed", rs.api_failed);
	json_kv_uint(j, "api_not_found", rs.api_not_found);
	json_obj_end(j);
}

/* The DNS answer cache and the messages that did not parse. */
static void status_dns(struct agent *a, struct json_buf *j)
{
	struct dnscache_stats st;

	dnscache__stats(a->names, &st);
	json_key(j, "dns");
	json_obj_begin(j);
	json_kv_uint(j, "answer_cache_entries", st.entries);
	json_kv_uint(j, "answer_cache_max", st.capacity);
	json_kv_uint(j, "answer_cache_inserted", st.inserted);
	json_kv_uint(j, "answer_cache_evicted", st.evicted);
	json_kv_uint(j, "answer_cache_expired", st.expired);
	json_kv_uint(j, "lookups_hit", st.hits);
	json_kv_uint(j, "lookups_missed", st.misses);
	json_kv_uint(j, "txt_counts_restarted", st.txt_evicted);
	json_kv_uint(j, "messages_cut", a->pipe.dns_cut);
	json_kv_uint(j, "tcp_messages_joined", a->pipe.dns_tcp_joined);
	json_key(j, "messages_malformed");
	json_obj_begin(j);
	for (int e = 0; e < 5; e++)
		json_kv_uint(j, e ? dns_error_name((enum dns_error)e) : "nomem",
			     a->pipe.dns_bad[e]);
	json_obj_end(j);
	json_obj_end(j);
}

/* The stateful rules' tables ("stateful_rules"): {rule, kind, entries, evictions} each. */
static void status_stateful(struct agent *a, struct json_buf *j)
{
	size_t n = detect__state_stats(a->detect, NULL, 0);
	struct stateful_rule_stats *st = calloc(n ? n : 1, sizeof(*st));

	json_key(j, "stateful_rules");
	json_arr_begin(j);
	n = st ? detect__state_stats(a->detect, st, n) : 0;
	for (size_t i = 0; i < n; i++) {
		json_obj_begin(j);
		json_key(j, "rule");
		json_str(j, st[i].rule);
		json_key(j, "kind");
		json_str(j, st[i].kind);
		json_kv_uint(j, "entries", st[i].entries);
		json_kv_uint(j, "evictions", st[i].evictions);
		json_obj_end(j);
	}
	json_arr_end(j);
	free(st);
}

/* vigil_rule_state_entries and vigil_rule_state_evictions_total, per stateful rule. */
static void state_metrics(struct agent *a)
{
	size_t n;
	struct stateful_rule_stats *st;

	if (!a->metrics || !a->detect || !a->state_entries || !a->state_evicted)
		return;
	n = detect__state_stats(a->detect, NULL, 0);
	st = calloc(n ? n : 1, sizeof(*st));
	n = st ? detect__state_stats(a->detect, st, n) : 0;
	for (size_t i = 0; i < n; i++) {
		const char *const lv[] = {st[i].rule};
		struct metric *ev = metric_family__series(a->state_evicted, lv);
		double told = metric__value(ev);

		metric__set(metric_family__series(a->state_entries, lv), (double)st[i].entries);
		if ((double)st[i].evictions > told)
			metric__add(ev, st[i].evictions - (uint64_t)told);
	}
	free(st);
}

static int control_status(void *arg, struct json_buf *j)
{
	struct agent *a = arg;
	struct proctable_stats ps;
	struct control_stats cs;
	struct detect_stats ds;

	json_key(j, "mode");
	json_str(j, a->mode);
	json_key(j, "version");
	json_str(j, VIGIL_VERSION);
	json_key(j, "pid");
	json_int(j, getpid());
	json_kv_uint(j, "uptime_s", (clock_ns(CLOCK_MONOTONIC) - a->started_ns) / 1000000000ull);
	json_key(j, "hostname");
	json_str(j, a->hostname);
	json_key(j, "rules");
	json_obj_begin(j);
	json_key(j, "enabled");
	json_bool(j, a->detect);
	if (a->detect) {
		detect__stats(a->detect, &ds);
		json_kv_uint(j, "loaded", ds.rules_loaded);
		json_kv_uint(j, "active", ds.rules_active);
		json_kv_uint(j, "reloads", ds.reloads);
		json_kv_uint(j, "reload_errors", ds.reload_errors);
		json_kv_uint(j, "evaluated", ds.evaluated);
		json_kv_uint(j, "alerts", ds.alerts);
	}
	json_obj_end(j);
	if (a->detect)
		status_stateful(a, j);
	status_enforcement(a, j);
	json_key(j, "rule_files");
	json_arr_begin(j);
	for (size_t i = 0; i < a->opts->n_rule_files; i++)
		json_str(j, a->opts->rule_files[i]);
	json_arr_end(j);
	json_key(j, "ringbuf");
	json_obj_begin(j);
	json_kv_uint(j, "size", a->opts->ringbuf_bytes);
	json_kv_uint(j, "used", ring__used(&a->rb));
	json_obj_end(j);
	proctable__stats(a->procs, &ps);
	json_key(j, "processes");
	json_obj_begin(j);
	json_kv_uint(j, "live", ps.live);
	json_kv_uint(j, "lingering", ps.lingering);
	json_kv_uint(j, "max", a->opts->proc_max);
	json_kv_uint(j, "seeded", ps.seeded);
	json_kv_uint(j, "evicted", ps.evicted);
	json_kv_uint(j, "evicted_live", ps.evicted_live);
	json_kv_uint(j, "refused", ps.dropped_full);
	json_kv_uint(j, "env_truncated", ps.env_truncated);
	json_obj_end(j);
	{
		uint64_t made = 0;

		/* the LRU of inodes opened for writing (proc.exe_writer.*) */
		if (a->sensors)
			sensors__writers_made(a->sensors, &made);
		json_key(j, "exe_writers");
		json_obj_begin(j);
		json_kv_uint(j, "max", VG_WRITERS_MAX);
		json_kv_uint(j, "made", made);
		json_kv_uint(j, "pushed_out_min",
			     made > VG_WRITERS_MAX ? made - VG_WRITERS_MAX : 0);
		json_obj_end(j);
	}
	status_containers(a, j);
	status_dns(a, j);
	json_key(j, "traffic");
	json_bool(j, a->traffic);
	json_key(j, "records");
	json_obj_begin(j);
	json_kv_uint(j, "invalid", a->pipe.invalid);
	json_kv_uint(j, "unwritten", a->out_errors);
	json_obj_end(j);
	status_events(a, j);
	status_programs(a, j);
	control__stats(a->control, &cs);
	json_key(j, "control");
	json_obj_begin(j);
	json_kv_uint(j, "served", cs.served);
	json_kv_uint(j, "refused", cs.refused);
	json_kv_uint(j, "stalled", cs.stalled);
	json_kv_uint(j, "busy", cs.busy);
	json_obj_end(j);
	json_key(j, "recent_actions");
	return control_actions(a, 10, j);
}

/* Synchronous: the reply goes out after the new rules and prefilter are in force. */
static int control_reload(void *arg, struct json_buf *j)
{
	struct agent *a = arg;
	struct detect_stats ds;
	char *diag = NULL, *msg = NULL;
	int ret = reload(a, "control socket", &diag);
	size_t len = diag ? strlen(diag) : 0;

	while (len && diag[len - 1] == '\n')
		diag[--len] = '\0';
	if (a->detect) {
		detect__stats(a->detect, &ds);
		json_kv_uint(j, "rules_loaded", ds.rules_loaded);
		json_kv_uint(j, "rules_active", ds.rules_active);
		json_kv_uint(j, "reloads", ds.reloads);
		json_kv_uint(j, "reload_errors", ds.reload_errors);
	}
	if (!ret && len) {
		json_key(j, "warnings");
		json_str(j, diag);
	}
	if (ret) {
		json_key(j, "error");
		if (ret == -ENOENT)
			json_str(j, "vigil runs with --no-rules: there are no rules to reload");
		else if (len &&
			 asprintf(&msg, "the rules did not load; the running rules stay:\n%s",
				  diag) > 0)
			json_str(j, msg);
		else
			json_str(j, "the rules did not load; the running rules stay (see the "
				    "agent's log)");
	}
	free(msg);
	free(diag);
	return ret;
}

static int loop(struct agent *a, int sfd)
{
	struct epoll_event evs[8];
	uint64_t last_housekeeping = clock_ns(CLOCK_MONOTONIC);
	uint64_t last_sweep = last_housekeeping, last_traffic = last_housekeeping;
	int epfd, ret = 0, cfd = a->control ? control__fd(a->control) : -1;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		return -errno;
	evs[0] = (struct epoll_event){.events = EPOLLIN, .data.fd = sfd};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &evs[0])) {
		ret = -errno;
		goto out;
	}
	evs[0] = (struct epoll_event){.events = EPOLLIN, .data.fd = -1};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, a->rb.fd, &evs[0])) {
		ret = -errno;
		goto out;
	}
	evs[0] = (struct epoll_event){.events = EPOLLIN, .data.fd = a->inotify_fd};
	if (a->inotify_fd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, a->inotify_fd, &evs[0])) {
		ret = -errno;
		goto out;
	}
	evs[0] = (struct epoll_event){.events = EPOLLIN, .data.fd = cfd};
	if (cfd >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &evs[0])) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		int n = epoll_wait(epfd, evs, 8, a->opts->tick_ms);
		bool served = false;
		uint64_t now;

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		ret = ring__consume(&a->rb);
		if (ret < 0) {
			fprintf(stderr, "vigil: reading the ring buffer failed: %s\n",
				strerror(-ret));
			break;
		}
		ret = 0;
		if (fflush(stdout) == EOF && errno == EPIPE)
			break;
		for (int i = 0; i < n; i++) {
			struct signalfd_siginfo si;

			if (evs[i].data.fd == a->inotify_fd && a->inotify_fd >= 0) {
				if (rules_changed(a))
					reload(a, "a rule file changed", NULL);
				continue;
			}
			if (evs[i].data.fd == cfd && cfd >= 0) {
				control__serve(a->control); /* never blocks; a reload runs here */
				served = true;
				continue;
			}
			if (evs[i].data.fd != sfd || read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGINT || si.ssi_signo == SIGTERM)
				goto out;
			if (si.ssi_signo == SIGHUP)
				reload(a, "SIGHUP", NULL);
		}
		if (!served && control__busy(a->control))
			control__serve(a->control); /* drops clients past their deadline */
		metrics__heartbeat(a->metrics);
		now = clock_ns(CLOCK_MONOTONIC);
		if (a->traffic && now - last_traffic >= a->opts->cfg->traffic.interval_ns) {
			last_traffic = now;
			traffic_mon__tick(a->traffic);
		}
		if (now - last_housekeeping >= 1000000000ull) {
			struct proctable_stats ps;

			last_housekeeping = now;
			/* aggregates whose window closed while no event came (2 s for late events)
			 */
			if (a->detect)
				detect__tick(a->detect, clock_ns(CLOCK_REALTIME) - 2000000000ull);
			state_metrics(a);
			if (a->blocks)
				netblock__expire(a->blocks);
			proctable__stats(a->procs, &ps);
			if (a->metrics) {
				proc_metrics(a, &ps);
				metric__set(metrics__agent(a->metrics)->procs,
					    ps.live + ps.lingering);
				metric__set(metrics__agent(a->metrics)->ringbuf_used,
					    ring__used(&a->rb));
			}
			sync_clocks(a);
			proctable__evict(a->procs, clock_ns(CLOCK_BOOTTIME));
			if (now - last_sweep >= CONTAINER_SWEEP_NS) {
				last_sweep = now;
				containers__sweep(proctable__containers(a->procs), cgroup_gone,
						  NULL);
			}
			container_metrics(a);
			dns_metrics(a);
		}
	}
out:
	close(epfd);
	return ret;
}

/* The loader's probes and program states, fixed after start. */
static void show_kernel(struct metrics *m, const struct loader *l)
{
	struct loader_prog_state st;

	for (size_t i = 0; i < loader__n_features(l); i++) {
		const char *why;

		metrics__kernel_feature(m, loader__feature(l, i)->name,
					loader__feature(l, i)->available,
					loader__feature_used(l, i, &why));
	}
	for (size_t i = 0; i < loader__n_progs(l); i++) {
		loader__prog_state(l, i, &st);
		metrics__bpf_program(m, st.name, st.kind, st.enabled);
	}
}

/* actions.pin_dir, made when missing, when it is on bpffs; else a notice and no pins. */
static void pin_dir_setup(struct agent *a)
{
	const char *d = a->opts->cfg->actions.pin_dir;
	struct statfs st;

	a->pin_dir[0] = 0;
	if (!d || !d[0])
		return;
	if (mkdir(d, 0700) && errno != EEXIST) {
		fprintf(stderr, "vigil: actions.pin_dir %s: %s; blocks end with vigil\n", d,
			strerror(errno));
		return;
	}
	if (statfs(d, &st) || st.f_type != BPF_FS_MAGIC) {
		fprintf(stderr,
			"vigil: actions.pin_dir %s is not on a bpf filesystem; blocks end with "
			"vigil (mount bpffs: mount -t bpf bpf /sys/fs/bpf)\n",
			d);
		return;
	}
	snprintf(a->pin_dir, sizeof(a->pin_dir), "%s", d);
}

/*
 * The blocked addresses and isolated containers: adopts a previous agent's, then block
 * and isolate actions can be taken. -EINVAL: a bad actions.isolate_allow entry.
 */
static int blocks_setup(struct agent *a, const char *cg2)
{
	const struct config_actions *c = &a->opts->cfg->actions;
	struct netblock_opts o = {
	    .map_fd = sensors__map_fd(a->sensors, "net_blocks"),
	    .isolated_fd = sensors__map_fd(a->sensors, "net_isolated"),
	    .isolate_allow_fd = sensors__map_fd(a->sensors, "net_isolate_allow"),
	    .quarantine_fd = sensors__map_fd(a->sensors, "net_quarantine"),
	    .quarantine_allow_fd = sensors__map_fd(a->sensors, "net_quarantine_allow"),
	    .quarantine_cgroup = c->quarantine_cgroup,
	    .xdp_fd = sensors__prog_fd(a->sensors, "vg_block_xdp"),
	    .ingress_fd = sensors__prog_fd(a->sensors, "vg_block_ingress"),
	    .egress_fd = sensors__prog_fd(a->sensors, "vg_block_egress"),
	    .cgroup_root = cg2,
	    .pin_dir = a->pin_dir,
	    .ifaces = c->interfaces.n ? (const char *const *)c->interfaces.items : NULL,
	    .n_ifaces = c->interfaces.n,
	    .allow = a->allow_cidr,
	    .n_allow = c->allow_cidr.n,
	    .extra_ifaces = (const char *const *)a->opts->cfg->traffic.interfaces.items,
	    .n_extra_ifaces =
		a->opts->cfg->traffic.enabled ? a->opts->cfg->traffic.interfaces.n : 0,
	};
	char err[512];

	if (o.ingress_fd < 0 || o.egress_fd < 0 || !cg2[0]) {
		fprintf(stderr, "vigil: blocking and isolation are not available: %s\n",
			!cg2[0] ? "no cgroup v2 hierarchy" : "their programs did not load");
		return 0;
	}
	a->blocks = netblock__new(&o, err, sizeof(err));
	if (!a->blocks) {
		fprintf(stderr, "vigil: blocking and isolation are not available: %s\n", err);
		return 0;
	}
	if (netblock__isolate_allow(a->blocks, (const char *const *)c->isolate_allow.items,
				    c->isolate_allow.n, err, sizeof(err)) ||
	    netblock__quarantine_allow(a->blocks, (const char *const *)c->quarantine_allow.items,
				       c->quarantine_allow.n, err, sizeof(err))) {
		fprintf(stderr, "vigil: %s\n", err);
		return -EINVAL;
	}
	respond__set_blocks(a->resp, a->blocks);
	return 0;
}

/* Traffic monitoring when traffic.enabled: counters on, programs attached. 0 or -errno. */
static int traffic_setup(struct agent *a)
{
	const struct config_traffic *c = &a->opts->cfg->traffic;
	struct traffic_mon_opts o = {
	    .cfg_fd = sensors__map_fd(a->sensors, "traffic_cfg"),
	    .ports_fd = sensors__map_fd(a->sensors, "traffic_ports"),
	    .srcs_fd = sensors__map_fd(a->sensors, "traffic_srcs"),
	    .stats_fd = sensors__map_fd(a->sensors, "traffic_stats"),
	    .blocks = a->blocks,
	    .th = {.syn_pps = c->syn_pps,
		   .udp_pps = c->udp_pps,
		   .src_pps = c->source_pps,
		   .scan_ports = c->scan_ports,
		   .scan_window_ns = c->scan_window_ns,
		   .realert_ns = c->realert_ns,
		   .metrics_ports = c->metrics_ports},
	    .block = c->response == 2,
	    .monitor = a->popts.mode == RESPOND_MONITOR,
	    .block_for_ns = c->block_for_ns ? c->block_for_ns : a->opts->cfg->actions.block_for_ns,
	    .outputs = a->outputs,
	    .hostname = a->hostname,
	    .actions_total = a->actions_total,
	};
	char err[512];

	if (!c->enabled)
		return 0;
	if (c->interval_ns < 100000000ull) {
		fprintf(stderr, "vigil: traffic.interval: at least 100ms (rates over shorter times "
				"are noise, and each reading walks both tables)\n");
		return -EINVAL;
	}
	if (!a->blocks || o.cfg_fd < 0 || o.ports_fd < 0 || o.srcs_fd < 0 || o.stats_fd < 0) {
		fprintf(stderr,
			"vigil: traffic.enabled: the XDP and egress programs are not available "
			"(see above)\n");
		return -EOPNOTSUPP;
	}
	a->traffic = traffic_mon__new(&o, err, sizeof(err));
	if (!a->traffic) {
		fprintf(stderr, "vigil: traffic.enabled: %s\n", err);
		return -EINVAL;
	}
	if (a->metrics)
		metrics__add_collector(a->metrics, traffic_mon__collect, a->traffic);
	fprintf(stderr, "vigil: counting traffic every %llu ms\n",
		(unsigned long long)(c->interval_ns / 1000000));
	return 0;
}

/*
 * The rules were planned with the probe's answer on BPF LSM; a hook that did not load
 * after all (a kernel without that hook) is said, and the next plans go without it.
 */
static void lsm_check(struct agent *a)
{
	bool codes[VG_SYS_MAX];
	const char *why = sensors__lsm_codes(a->sensors, codes);

	if (!memcmp(codes, a->popts.lsm_code, sizeof(codes)))
		return;
	memcpy(a->popts.lsm_code, codes, sizeof(codes));
	if (why)
		a->popts.lsm_why = why;
	/* planned again before it is put in force: those calls' rules go where they can */
	if (a->detect && a->pending && policy__needs_lsm(a->pending)) {
		fprintf(stderr,
			"vigil: %s: the actions of the rules are planned again without it\n",
			why ? why : "a BPF-LSM program is missing");
		if (plan_actions(a, detect__engine(a->detect), stderr))
			fprintf(stderr,
				"vigil: warning: the rules' actions cannot be planned without "
				"it: the kernel acts on none of them until they are reloaded\n");
	}
}

/* The actions' settings: mode, allowlists (cgroup paths to ids), the responder. */
static int actions_setup(struct agent *a)
{
	const struct config_actions *c = &a->opts->cfg->actions;
	struct respond_opts ro;
	char cg2[4096];

	a->popts = (struct policy_opts){
	    .mode = c->mode == RESPOND_MONITOR ? RESPOND_MONITOR : RESPOND_ENFORCE,
	    .allow_exe = (const char *const *)c->allow_exe.items,
	    .n_allow_exe = c->allow_exe.n,
	    .per_sec = c->per_sec,
	    /* planned so; enforce() moves them to the exits if the entry enforcer is not there */
	    .entry_kill = true,
	};
	/* rules load before the programs do: the kernel is asked now whether it runs BPF
	 * LSM programs (the hooks that load are checked against it after) */
	policy_opts_lsm(&a->popts, loader_probe_lsm(a->opts->btf_path));
	if (c->allow_cgroup.n) {
		a->allow_cgroups = calloc(c->allow_cgroup.n, sizeof(*a->allow_cgroups));
		if (!a->allow_cgroups)
			return -ENOMEM;
		cgroup2_mount("/proc", cg2, sizeof(cg2));
		if (!cg2[0]) {
			fprintf(stderr, "vigil: actions.allow_cgroup: no cgroup v2 mount\n");
			return -EINVAL;
		}
		for (size_t i = 0; i < c->allow_cgroup.n; i++) {
			if (cgroup_path_id(cg2, c->allow_cgroup.items[i], &a->allow_cgroups[i])) {
				fprintf(
				    stderr,
				    "vigil: actions.allow_cgroup: %s: no such cgroup under %s\n",
				    c->allow_cgroup.items[i], cg2);
				return -EINVAL;
			}
		}
		a->popts.allow_cgroups = a->allow_cgroups;
		a->popts.n_allow_cgroups = c->allow_cgroup.n;
	}
	for (size_t i = 0; i < c->allow_container.n; i++) {
		const char *id = c->allow_container.items[i];

		if (!container_id_valid(id, strlen(id), CONTAINER_SHORT_ID_LEN,
					CONTAINER_SHORT_ID_LEN)) {
			fprintf(
			    stderr,
			    "vigil: actions.allow_container: '%s' is not a container id (the 12 "
			    "hex digits container.id shows)\n",
			    id);
			return -EINVAL;
		}
	}
	a->popts.allow_containers = (const char *const *)c->allow_container.items;
	a->popts.n_allow_containers = c->allow_container.n;
	if (c->allow_cidr.n) {
		a->allow_cidr = calloc(c->allow_cidr.n, sizeof(*a->allow_cidr));
		if (!a->allow_cidr)
			return -ENOMEM;
		for (size_t i = 0; i < c->allow_cidr.n; i++)
			if (netblock_cidr_parse(c->allow_cidr.items[i], &a->allow_cidr[i])) {
				fprintf(stderr,
					"vigil: actions.allow_cidr: '%s' is not an IP address or "
					"prefix (e.g. 10.0.0.0/8, 2001:db8::/32)\n",
					c->allow_cidr.items[i]);
				return -EINVAL;
			}
	}
	ro = (struct respond_opts){
	    .allow_exe = a->popts.allow_exe,
	    .n_allow_exe = a->popts.n_allow_exe,
	    .allow_cgroups = a->popts.allow_cgroups,
	    .n_allow_cgroups = a->popts.n_allow_cgroups,
	    .per_sec = c->per_sec,
	    .block_for_ns = c->block_for_ns,
	    .quarantine_ns = c->quarantine_max_ns,
	    .policy = &a->popts,
	};
	a->resp = respond__new(&ro);
	return a->resp ? 0 : -ENOMEM;
}

int agent_run(const struct agent_opts *opts)
{
	struct sensors_opts so = {
	    .ringbuf_bytes = opts->ringbuf_bytes,
	    .wake_bytes = opts->wake_bytes,
	    .self_pid = getpid(),
	    .btf_path = opts->btf_path,
	};
	struct agent a = {.opts = opts,
			  .mode =
			      opts->cfg->actions.mode == RESPOND_MONITOR ? "monitor" : "enforce"};
	struct detect_stats ds;
	char err[1024], cg2[512];
	int sfd = -1, ret, seeded;

	json_init(&a.out);
	a.started_ns = clock_ns(CLOCK_MONOTONIC);
	sync_clocks(&a);
	a.inotify_fd = -1;
	if (opts->cfg->hostname)
		snprintf(a.hostname, sizeof(a.hostname), "%s", opts->cfg->hostname);
	else if (gethostname(a.hostname, sizeof(a.hostname) - 1))
		strcpy(a.hostname, "localhost");
	ret = actions_setup(&a);
	if (ret)
		goto err_free;
	if (!opts->no_rules) {
		struct detect_opts d = {
		    .files = opts->n_rule_files ? opts->rule_files : NULL,
		    .n_files = opts->n_rule_files,
		    .min_priority = opts->min_priority,
		    .unknown_field_warn = opts->skip_unknown_fields,
		    .on_alert = on_alert,
		    .arg = &a,
		    .check = plan_actions,
		    .state_max_entries = opts->cfg ? opts->cfg->rules.state.max_entries : 0,
		    .state_max_values = opts->cfg ? opts->cfg->rules.state.max_values : 0,
		};

		a.detect = detect__new(&d);
		if (!a.detect) {
			fprintf(stderr, "vigil: the rules did not load (errors above)\n");
			ret = -EINVAL;
			goto err_free;
		}
		ret = watch_rules(&a);
		if (ret) {
			fprintf(stderr, "vigil: cannot watch the rule files: %s\n", strerror(-ret));
			goto err_free;
		}
	}
	a.anc = calloc(opts->ancestry_max ? opts->ancestry_max : 1, sizeof(*a.anc));
	a.procs = proctable__new(opts->proc_max, opts->proc_linger_ns);
	a.names = dnscache__new(opts->cfg ? opts->cfg->dns.answer_cache : 0);
	if (!a.anc || !a.procs || !a.names) {
		ret = -ENOMEM;
		fprintf(stderr, "vigil: out of memory\n");
		goto err_free;
	}
	keep_env(&a);
	{
		struct timespec now;

		/* an exe changed since now (or lately, by the configured age) is new */
		clock_gettime(CLOCK_REALTIME, &now);
		proctable__set_new_exe(a.procs, now.tv_sec * 1000000000ull + now.tv_nsec,
				       opts->cfg ? opts->cfg->detect.new_exe_age_ns
						 : PROC_NEW_EXE_AGE_NS);
	}
	sfd = setup_signals();
	if (sfd < 0) {
		ret = sfd;
		fprintf(stderr, "vigil: cannot set up signal handling: %s\n", strerror(-ret));
		goto err_free;
	}
	containers__on_fill(proctable__containers(a.procs), scope_container, &a);
	/* after the signals are blocked: the worker thread inherits the mask */
	ret = containers_start(&a);
	if (ret) {
		fprintf(stderr, "vigil: cannot start the container metadata worker: %s\n",
			strerror(-ret));
		goto err_close;
	}
	/* the deny programs attach at the cgroup v2 root */
	cgroup2_mount("/proc", cg2, sizeof(cg2));
	so.cgroup_root = cg2;
	pin_dir_setup(&a);
	so.pin_dir = a.pin_dir;
	/* loaded here, attached once the prefilter is written (below) */
	a.sensors = sensors__start(&so, err, sizeof(err));
	if (!a.sensors) {
		ret = -errno;
		fprintf(stderr, "vigil: %s\n", err);
		goto err_close;
	}
	/*
	 * Loading parsed the kernel's BTF (several MB) for the feature probes and for
	 * CO-RE, and freed it below later allocations: hand those pages back now, or
	 * they stay in vigil's resident memory for its whole life.
	 */
	malloc_trim(0);
	lsm_check(&a);
	ret = blocks_setup(&a, cg2);
	if (ret)
		goto err_unload;
	/* after the sensors load: "not root" or "no BTF" is what a user must hear first */
	if (opts->cfg->metrics.enabled) {
		struct metrics_opts mo = {.version = VIGIL_VERSION,
					  .stall_ns = opts->cfg->metrics.stall_ns,
					  .no_health = !opts->cfg->metrics.health};

		a.metrics = metrics__new(&mo);
		if (!a.metrics) {
			ret = -ENOMEM;
			fprintf(stderr, "vigil: out of memory\n");
			goto err_unload;
		}
	}
	/* before any thread starts: the socket is bound under a umask of 077 */
	if (opts->cfg->control_socket && opts->cfg->control_socket[0]) {
		struct control_opts co = {
		    .path = opts->cfg->control_socket,
		    .ops = {.status = control_status,
			    .reload = control_reload,
			    .actions = control_actions,
			    .block = control_block,
			    .release = control_release,
			    .isolate = control_isolate,
			    .quarantine = control_quarantine,
			    .traffic = control_traffic,
			    .arg = &a},
		    .metrics = a.metrics,
		};

		a.control = control__new(&co, err, sizeof(err));
		if (!a.control) {
			ret = -errno;
			fprintf(stderr, "vigil: %s\n", err);
			goto err_unload;
		}
	}
	if (a.metrics) {
		ret = metrics__serve(a.metrics, opts->cfg->metrics.listen, err, sizeof(err));
		if (ret) {
			fprintf(stderr, "vigil: %s\n", err);
			goto err_unload;
		}
	}
	if (a.metrics) {
		a.actions_total =
		    metrics__family(a.metrics, METRIC_COUNTER, "vigil_actions_total",
				    "actions of rules that fired, by action, where it ran and its "
				    "result (taken, or "
				    "why not)",
				    (const char *const[]){"action", "where", "result", NULL});
		a.state_entries = metrics__family(
		    a.metrics, METRIC_GAUGE, "vigil_rule_state_entries",
		    "live entries of a stateful rule (groups, partial sequences, pending "
		    "aggregates)",
		    (const char *const[]){"rule", NULL});
		a.state_evicted = metrics__family(
		    a.metrics, METRIC_COUNTER, "vigil_rule_state_evictions_total",
		    "entries a stateful rule's full table pushed out while their window was open "
		    "(raise rules.state.max_entries if this grows)",
		    (const char *const[]){"rule", NULL});
		if (!a.actions_total || !a.state_entries || !a.state_evicted) {
			ret = -ENOMEM;
			goto err_unload;
		}
	}
	a.outputs = outputs__new(opts->cfg, a.metrics, err, sizeof(err));
	if (!a.outputs) {
		ret = -EINVAL;
		fprintf(stderr, "vigil: %s\n", err);
		goto err_unload;
	}
	if (a.detect && a.metrics) {
		detect__stats(a.detect, &ds);
		metrics__rules_loaded(a.metrics, true, ds.rules_active);
		detect__time_evaluations(a.detect, metrics__agent(a.metrics)->rule_eval_seconds);
	}
	ret = traffic_setup(&a);
	if (ret)
		goto err_unload;
	ret = apply_filter(&a);
	if (ret)
		goto err_unload;
	/* the first event meets the rules' prefilter; attached before the seeds below, so
	 * no process falls between the two */
	ret = sensors__attach(a.sensors, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vigil: %s\n", err);
		goto err_unload;
	}
	{
		struct enforce_maps m;

		sensors__enforce_maps(a.sensors, &m);
		ret = policy_seed_safe(&m, &a.popts);
		if (ret)
			fprintf(stderr, "vigil: marking the processes never acted on: %s\n",
				strerror(-ret));
		enforce(&a);
	}
	if (a.metrics) {
		metrics__add_collector(a.metrics, collect, &a);
		metric__set(metrics__agent(a.metrics)->ringbuf_size, opts->ringbuf_bytes);
		metric__set(metrics__agent(a.metrics)->procs_max, opts->proc_max);
		dns_metrics_init(&a);
		show_kernel(a.metrics, sensors__loader(a.sensors));
	}
	ret = ring__open(&a.rb, sensors__ringbuf_fd(a.sensors), on_record, &a, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "vigil: cannot set up the ring buffer reader: %s\n", err);
		goto err_unload;
	}
	a.pipe.procs = a.procs;
	a.pipe.detect = a.detect;
	a.pipe.hostname = a.hostname;
	a.pipe.show = opts->events != AGENT_FMT_NONE ? show : NULL;
	a.pipe.resolve = true;
	a.pipe.arg = &a;
	a.pipe.on_action = on_action;
	a.pipe.names = a.names;
	seeded = proctable__seed(a.procs, "/proc");
	/* the exe tests of the processes running before the plan (later ones: at their exec) */
	if (a.pol && a.sensors) {
		struct enforce_maps m;

		sensors__enforce_maps(a.sensors, &m);
		ret = policy__write_procs(a.pol, &m, a.gen, each_proc, &a);
		if (ret)
			fprintf(stderr, "vigil: writing the processes' exe tests: %s\n",
				strerror(-ret));
		ret = 0;
	}
	if (seeded < 0)
		fprintf(stderr, "vigil: warning: cannot read /proc: %s\n", strerror(-seeded));
	if (opts->record) {
		a.rec = recorder__open(opts->record, a.procs, a.pipe.boot_to_real_ns);
		if (!a.rec) {
			ret = -errno;
			fprintf(stderr, "vigil: cannot create the recording %s: %s\n", opts->record,
				strerror(errno));
			goto err_rb;
		}
	}
	metrics__set_ready(a.metrics, true, NULL);
	if (a.metrics)
		fprintf(stderr, "vigil: metrics on http://%s (port %d)\n",
			opts->cfg->metrics.listen, metrics__port(a.metrics));
	if (a.control)
		fprintf(stderr, "vigil: control socket %s\n", opts->cfg->control_socket);
	fprintf(stderr, "vigil: monitoring, %d processes known; SIGINT or SIGTERM stops\n",
		seeded < 0 ? 0 : seeded);
	ret = loop(&a, sfd);
	control__free(a.control); /* a client now hears "not running", not silence */
	a.control = NULL;
	/* stop the sensors, then take what is still in the ring: nothing sent is left */
	sensors__detach(a.sensors);
	ring__consume(&a.rb);
	fflush(stdout);
	print_summary(&a);
	/* pending aggregates are summarised before the sinks close: nothing is lost */
	if (a.detect)
		detect__flush(a.detect);
	/* deliver what the sinks still hold, within the configured deadline */
	outputs__close(a.outputs);
	outputs__print_stats(a.outputs, stderr);
	if (a.rec) {
		int rerr = recorder__close(a.rec);

		if (rerr || a.rec_errors) {
			fprintf(stderr, "vigil: the recording %s is incomplete: %s\n", opts->record,
				strerror(rerr ? -rerr : EIO));
			ret = ret ? ret : -EIO;
		}
	}
err_rb:
	ring__close(&a.rb);
err_unload:
	control__free(a.control);
	sensors__free(a.sensors);
err_close:
	close(sfd);
err_free:
	outputs__free(a.outputs);
	metrics__free(a.metrics);     /* after the outputs, which hold its series */
	traffic_mon__free(a.traffic); /* after the metrics, whose thread reads it */
	runtime__stop(a.runtime);     /* before the table its jobs fill */
	proctable__free(a.procs);
	dnscache__free(a.names);
	pipeline_free(&a.pipe);
	free(a.anc);
	json_free(&a.out);
	detect__free(a.detect);
	policy__free(a.pol);
	policy__free(a.pending);
	netblock__free(a.blocks); /* pinned blocks stay in force */
	respond__free(a.resp);
	free(a.allow_cidr);
	free(a.allow_cgroups);
	if (a.inotify_fd >= 0)
		close(a.inotify_fd);
	return ret;
}
