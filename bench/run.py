#!/usr/bin/env python3
"""run.py - vigil's benchmark harness: overhead, latency, reaction, throughput, rule
engine and memory, side by side with the floor, auditd and bpftrace.

Needs root. The workloads and the floor are built by bench/run.sh (bench/bench.mk);
vigil by the top-level Makefile. Writes bench.json and bench.md into --out.
docs/BENCH.md says what each condition and each number means.

Sections (all by default, or a comma list with --only):
  overhead    each workload under each condition, interleaved over --rounds rounds
  latency     syscall -> alert on vigil's stdout, at idle and under the open storm
  reaction    kill rules: event -> signal, and spawn -> death by SIGKILL, kernel and user
  throughput  events/s into user space with no loss, and what happens above that
  engine      `vigil replay --stats` of a recording, default rules and 10x rules
  memory      vigil's RSS and BPF map memory with many live processes
  packet_storm  traffic counters in XDP: a veth UDP storm, vigil vs an empty XDP program
"""
import argparse
import bisect
import calendar
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import packet_storm  # noqa: E402 - bench/packet_storm.py, next to this file

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import dns_bench  # noqa: E402  (the DNS programs' section: bench/dns_bench.py)
REPO = os.path.dirname(BENCH_DIR)
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(REPO, "build"))
CLK_TCK = os.sysconf("SC_CLK_TCK")

WORKLOADS = ["exec_storm", "open_storm", "open_etc", "connect_storm", "udp_storm", "mix"]
CONDITIONS = ["baseline", "floor", "vigil", "vigil_enforcing", "vigil_no_prefilter", "auditd",
              "bpftrace"]
SECTIONS = ["overhead", "latency", "reaction", "throughput", "engine", "memory", "dns",
            "packet_storm"]

# Sizes of everything, full run and the smoke test's tiny one.
PROFILES = {
    "full": {
        "rounds": 5,
        "exec_storm": 1200,
        "open_storm": 300000,
        "connect_storm": 40000,
        "udp_storm": 1000000,
        "mix_iterations": 1,
        "mix_files": 32,
        "latency_triggers": 3000,
        "latency_interval_us": 500,
        "reaction_runs": 300,
        "reaction_user_sleep_s": 10,
        "throughput_seconds": 4.0,
        "throughput_fractions": [0.9, 0.75, 0.5, 0.25],
        "overload_ringbuf": "256K",
        "overload_execs": 300,
        "record_opens": 200000,
        "record_execs": 500,
        "record_connects": 10000,
        "replay_repeats": 3,
        "rule_factor": 10,
        "memory_processes": 10000,
        "settle_s": 2.0,
        "warm_up": True,
    },
    "quick": {
        "rounds": 1,
        "exec_storm": 20,
        "open_storm": 3000,
        "connect_storm": 200,
        "udp_storm": 2000,
        "mix_iterations": 1,
        "mix_files": 2,
        "latency_triggers": 20,
        "latency_interval_us": 2000,
        "reaction_runs": 5,
        "reaction_user_sleep_s": 10,
        "throughput_seconds": 0.3,
        "throughput_fractions": [0.5],
        "overload_ringbuf": "256K",
        "overload_execs": 10,
        "record_opens": 2000,
        "record_execs": 10,
        "record_connects": 100,
        "replay_repeats": 1,
        "rule_factor": 10,
        "memory_processes": 50,
        "settle_s": 0.3,
        "warm_up": False,
    },
}

# What the overhead issue asks of vigil (measured, never asserted in tests): each storm
# against the floor, with the default rules and with the enforcement rules loaded.
TARGETS = {
    "open_storm_vs_floor": 1.05,
    "open_etc_vs_floor": 1.08,
    "exec_storm_vs_floor": 1.03,
    "connect_storm_vs_floor": 1.02,
    "mix_vs_floor": 1.03,
    "zero_loss_events_per_s": 1e6,
    "engine_default_records_per_s": 2e6,
    "engine_x10_records_per_s": 1e6,
    "latency_p99_us": 1000.0,
    "rss_mb": 24.0,
}

# The vigil_enforcing condition: the default rules plus enforcement rules on each class
# the kernel decides, none of which the workloads (or anything else on the machine) ever
# matches: the cost of carrying them, not of acting.
ENFORCE_RULES = """\
- rule: bench enforce exec
  desc: kill at exec of a program no workload runs
  condition: evt.type = execve and proc.exepath = /usr/local/sbin/vigil-bench-forbidden
  output: "bench forbidden exec %proc.exepath"
  priority: CRITICAL
  actions: [kill]
- rule: bench enforce open
  desc: kill at the open of a file no workload opens
  condition: evt.type in (open, openat, openat2) and fd.name = /etc/vigil-bench-protected
  output: "bench protected file opened %fd.name by %proc.name"
  priority: CRITICAL
  actions: [kill]
- rule: bench enforce connect
  desc: deny a connect to a port no workload uses (7, echo)
  condition: evt.type = connect and fd.rport = 7
  output: "bench denied connect to %fd.rport by %proc.name"
  priority: CRITICAL
  actions: [deny]
- rule: bench enforce ptrace
  desc: kill a named program at ptrace (no process has that name)
  condition: evt.type = ptrace and proc.name = vigil-bench-dbg
  output: "bench ptrace by %proc.name"
  priority: CRITICAL
  actions: [kill]
"""

# The reaction section's rules: {kill_exe} is a copy of /bin/true the kernel kills at
# exec; {mark} on a command line is a test the kernel cannot make (contains), so user
# space kills. %proc.pid pairs each alert with the process it reports.
REACTION_RULES = """\
- rule: bench reaction kernel
  desc: kill at exec, decided in the kernel
  condition: evt.type = execve and proc.exepath = {kill_exe}
  output: "bench reaction kernel pid=%proc.pid %proc.exepath"
  priority: CRITICAL
  actions: [kill]
- rule: bench reaction user
  desc: kill at exec, decided in user space
  condition: evt.type = execve and proc.cmdline contains {mark}
  output: "bench reaction user pid=%proc.pid %proc.cmdline"
  priority: CRITICAL
  actions: [kill]
"""

SUMMARY_RE = re.compile(r"^vigil: (\w+)\s+seen=(\d+) filtered=(\d+) sent=(\d+) lost=(\d+) "
                        r"read_err=(\d+) received=(\d+)$", re.M)
PROCS_RE = re.compile(r"^vigil: processes live=(\d+) lingering=(\d+)", re.M)
METRICS_PORT_RE = re.compile(r"^vigil: metrics on \S+ \(port (\d+)\)", re.M)
EVENT_METRIC_RE = re.compile(r'^vigil_events_(seen|filtered|sent|lost)_total\{type="(\w+)"\} '
                             r"(\S+)$", re.M)
REPLAY_RE = re.compile(r"(\d+) records in ([\d.]+) s \((\d+) records/s\), (\d+) alerts")


class BenchError(Exception):
    """A benchmark that cannot run as described: the message says why."""


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# small helpers

def proc_cpu_s(pid):
    """utime + stime of a process (all its threads), in seconds; None once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kb(pid, key):
    """A kB value (VmRSS, VmHWM) from /proc/PID/status; None once gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def sched_delay(pid):
    """(ns spent waiting for a CPU, times scheduled) of a process's main thread."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            _, delay, count = (int(x) for x in f.read().split()[:3])
            return delay, count
    except (OSError, ValueError):
        return None


def rss_breakdown_kb(pid):
    """Where a process's RSS is: anonymous, file-backed, and BPF map mappings (the
    ring buffer, whose data pages libbpf maps twice), in kB."""
    out = {"anon": proc_status_kb(pid, "RssAnon"), "file": proc_status_kb(pid, "RssFile"),
           "bpf_map_mappings": 0}
    name = ""
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else ""
                elif line.startswith("Rss:") and name == "anon_inode:bpf-map":
                    out["bpf_map_mappings"] += int(line.split()[1])
    except OSError:
        pass
    return out


def system_busy_s():
    """CPU seconds all CPUs spent not idle since boot (for the noise estimate)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / CLK_TCK


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def kernel_thread_pid(name):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == name:
                        return int(pid)
            except OSError:
                continue
    return None


def bpf_map_memlock(pid):
    """The BPF maps a process holds open: [(map_id, type, memlock bytes)]."""
    maps = {}
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{fd}") != "anon_inode:bpf-map":
                continue
            info = {}
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    info[k.strip()] = v.strip()
        except OSError:
            continue
        mid = int(info.get("map_id", -1))
        maps[mid] = {"map_id": mid, "type": int(info.get("map_type", -1)),
                     "max_entries": int(info.get("max_entries", 0)),
                     "memlock": int(info.get("memlock", 0))}
    return sorted(maps.values(), key=lambda m: -m["memlock"])


def bpftool_map_names():
    """map id -> name, from bpftool (for the report only)."""
    try:
        out = subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True,
                             text=True, timeout=30).stdout
        return {m["id"]: m.get("name", "") for m in json.loads(out or "[]")}
    except (OSError, ValueError, subprocess.SubprocessError):
        return {}


def stats(values):
    """median, min, max of the finite values (None when there are none)."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    k = max(0, math.ceil(p / 100.0 * len(sorted_values)) - 1)
    return sorted_values[k]


def distribution(values):
    """p50 / p90 / p99 / max / mean of a list of numbers (None when it is empty)."""
    v = sorted(values)
    if not v:
        return None
    return {"p50": round(percentile(v, 50), 1), "p90": round(percentile(v, 90), 1),
            "p99": round(percentile(v, 99), 1), "max": round(v[-1], 1),
            "mean": round(statistics.fmean(v), 1), "n": len(v)}


def run_cmd(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def parse_iso_ns(s):
    """'2026-11-29T00:47:45.606596180Z' -> ns since the epoch."""
    base, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])


# ---------------------------------------------------------------------------
# the audit guard

class Audit:
    """Debian's auditctl. Once audit has been enabled, every new process pays for
    it until reboot unless a `never,task` rule exempts new tasks: the guard holds
    that rule in place for everything but the auditd condition, and checks it.
    save() and restore() bracket the run: the host's rules, enabled flag and backlog
    limit are put back as they were, also after an error or an interrupt."""

    KEY = "vigil-bench"

    def __init__(self):
        self.auditctl = shutil.which("auditctl")
        self.auditd = shutil.which("auditd")
        self.ours = None  # pid of the auditd we run, while it runs
        self.saved = None  # the host's audit state before the run, see save()

    def available(self):
        return bool(self.auditctl and self.auditd)

    def system_auditd(self):
        """The pid of an auditd we did not start (a system service), or None: its
        rules are not ours to change, so the guard and the auditd condition stay off."""
        if not self.auditctl:
            return None
        pid = int(self.status().get("pid", 0) or 0)
        return pid if pid and pid != self.ours else None

    def ctl(self, *args, check=True):
        r = run_cmd([self.auditctl, *args], timeout=60)
        if check and r.returncode:
            raise BenchError(f"auditctl {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout

    def status(self):
        out = {}
        for line in self.ctl("-s").splitlines():
            k, _, v = line.partition(" ")
            out[k] = v.strip()
        return out

    def state(self):
        """The host's audit state as `auditctl -l` and `-s` show it: rules, enabled
        flag and backlog limit (what the guard and the auditd condition change)."""
        rules = [r for r in self.ctl("-l").splitlines() if r.strip() and r != "No rules"]
        st = self.status()
        return {"rules": rules, "enabled": st.get("enabled"),
                "backlog_limit": st.get("backlog_limit")}

    def save(self):
        """Remembers the host's audit state, unless there is nothing we would change
        (no auditctl, or a system auditd whose rules the guard leaves alone)."""
        if self.auditctl and not self.system_auditd():
            self.saved = self.state()

    def restore(self):
        """Puts back what save() saw: the same rules in the same order, the backlog
        limit and the enabled flag (last, so no rule is audited half-loaded)."""
        if not self.saved:
            return
        want, self.saved = self.saved, None
        self.ctl("-D")
        if want["rules"]:
            with tempfile.NamedTemporaryFile("w", prefix="vigil-bench-audit-",
                                             suffix=".rules") as f:
                f.write("\n".join(want["rules"]) + "\n")
                f.flush()
                self.ctl("-R", f.name)
        if want["backlog_limit"]:
            self.ctl("-b", want["backlog_limit"])
        if want["enabled"] is not None:
            self.ctl("-e", want["enabled"])
        got = self.state()
        if got != want:
            raise BenchError(f"the host's audit state was not restored: {got!r}, "
                             f"expected {want!r}")

    def guard(self):
        """No rule but `-a never,task`, auditing off; raises unless that holds
        (a system auditd's rules are left alone, and the result says so)."""
        if not self.auditctl:
            return {"ok": True, "rules": [], "note": "auditctl not installed"}
        if self.system_auditd():
            return {"ok": False, "rules": None,
                    "note": f"a system auditd (pid {self.system_auditd()}) owns audit: its "
                            "rules were left alone, and every condition pays its cost"}
        self.ctl("-D")
        self.ctl("-a", "never,task")
        self.ctl("-e", "0")
        return self.check()

    def check(self):
        if not self.auditctl:
            return {"ok": True, "rules": [], "note": "auditctl not installed"}
        if self.system_auditd():
            return {"ok": False, "rules": None, "note": "a system auditd owns audit"}
        rules = [r for r in self.ctl("-l").splitlines() if r.strip()]
        ok = rules == ["-a never,task"]
        if not ok:
            raise BenchError("the audit guard did not take effect: auditctl -l shows "
                             f"{rules!r}, expected ['-a never,task']")
        return {"ok": ok, "rules": rules, "enabled": self.status().get("enabled")}

    def arm(self):
        """The auditd condition's rules: execve, openat and connect, 64-bit."""
        self.ctl("-D")
        self.ctl("-b", "8192")
        self.ctl("-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-S", "openat",
                 "-S", "connect", "-k", self.KEY)


# ---------------------------------------------------------------------------
# monitors: each condition but the baseline runs one

class Monitor:
    """Something attached while workloads run. start() returns once it is attached;
    around each workload, mark() and snapshot() bracket it and measure() returns what
    the monitor cost over that workload alone; stop() detaches and returns what it
    measured about itself over its whole life."""

    name = "?"

    def __init__(self, h):
        self.h = h
        self.proc = None
        self.cpu0 = 0.0
        self.extra = {}

    def start(self):
        raise NotImplementedError

    def mark(self):
        """Called right before the workload starts: CPU from here on is counted."""
        self.cpu0 = proc_cpu_s(self.proc.pid) or 0.0

    def snapshot(self):
        """Called right after the workload ends, before measure()."""

    def measure(self):
        """The monitor's numbers for the workload between mark() and snapshot()."""
        return {**self.extra, "monitor_cpu_s": (proc_cpu_s(self.proc.pid) or 0.0) - self.cpu0}

    def stop(self):
        raise NotImplementedError

    def _stderr_text(self):
        with open(self.err, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _wait_until(self, ready, timeout=120.0):
        """Polls ready() until it is true; fails, with the tail of the monitor's
        stderr, when the monitor exits first or the time is up."""
        deadline = time.time() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode}) before it "
                                 f"was ready:\n{self._stderr_text()[-2000:]}")
            if time.time() > deadline:
                self._kill()
                raise BenchError(f"{self.name} not ready after {timeout} s:\n"
                                 f"{self._stderr_text()[-2000:]}")
            time.sleep(0.02)

    def _wait_stderr(self, marker, timeout=120.0):
        """Waits for marker on the monitor's stderr; returns that stderr."""
        self._wait_until(lambda: marker in self._stderr_text(), timeout)
        return self._stderr_text()

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def _interrupt(self, sig=signal.SIGINT, timeout=60.0):
        """Stops the process; returns (exit code, CPU seconds since mark())."""
        self.proc.send_signal(sig)
        deadline = time.time() + timeout
        while time.time() < deadline:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                if self.proc in self.h.children:
                    self.h.children.remove(self.proc)
                return self.proc.returncode, ru.ru_utime + ru.ru_stime - self.cpu0
            time.sleep(0.02)
        self._kill()
        raise BenchError(f"{self.name} did not stop within {timeout} s")


class FloorMonitor(Monitor):
    name = "floor"

    def start(self):
        self.err = os.path.join(self.h.scratch, "floor.stderr")
        with open(self.err, "wb") as e:
            self.proc = self.h.spawn([self.h.bin("floor"), self.h.bin("floor.bpf.o"),
                                      self.h.vigil_bpf_o],
                                     stdout=subprocess.DEVNULL, stderr=e,
                                     stdin=subprocess.DEVNULL)
        text = self._wait_stderr("floor: attached")
        self.extra["programs"] = int(re.search(r"attached (\d+)", text).group(1))

    def stop(self):
        rc, cpu = self._interrupt()
        if rc:
            raise BenchError(f"floor exited with {rc}")
        return {"monitor_cpu_s": cpu, **self.extra}


class VigilMonitor(Monitor):
    """vigil run, with the default ruleset unless args say otherwise."""

    def __init__(self, h, name, args=(), stdout=None):
        super().__init__(h)
        self.name = name
        self.args = list(args)
        self.stdout = stdout  # a file path, or None for /dev/null

    def start(self):
        self.err = os.path.join(self.h.scratch, f"{self.name}.stderr")
        out = open(self.stdout, "wb") if self.stdout else subprocess.DEVNULL
        with open(self.err, "wb") as e:
            self.proc = self.h.spawn([self.h.vigil, "run", *self.h.vigil_common_args,
                                      *self.args],
                                     stdout=out, stderr=e, stdin=subprocess.DEVNULL)
        if self.stdout:
            out.close()
        self._wait_stderr("vigil: monitoring")

    def event_counts(self):
        """{type: {seen, filtered, sent, lost}} from the kernel's counters, read through
        vigil's /metrics (read from the BPF maps at scrape time); None without it."""
        m = METRICS_PORT_RE.search(self._stderr_text())
        if not m:
            return None
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=30) as r:
            text = r.read().decode()
        counts = {}
        for m in EVENT_METRIC_RE.finditer(text):
            counts.setdefault(m.group(2), {})[m.group(1)] = int(float(m.group(3)))
        return counts

    def mark(self):
        self.counts0 = self.event_counts()
        super().mark()

    def snapshot(self):
        self.extra["rss_kb"] = proc_status_kb(self.proc.pid, "VmRSS")
        self.extra["peak_rss_kb"] = proc_status_kb(self.proc.pid, "VmHWM")
        self.counts1 = self.event_counts()

    def measure(self):
        res = super().measure()
        res.update(rss_kb=self.extra["rss_kb"], peak_rss_kb=self.extra["peak_rss_kb"])
        if self.counts0 is None or self.counts1 is None:
            return res
        per_type = {t: {k: v - self.counts0.get(t, {}).get(k, 0) for k, v in c.items()}
                    for t, c in self.counts1.items()}
        res["events_by_type"] = per_type
        res["events"] = {k: sum(t.get(k, 0) for t in per_type.values())
                         for k in ("seen", "filtered", "sent", "lost")}
        return res

    def stop(self):
        rc, cpu = self._interrupt()
        text = self._stderr_text()
        if rc:
            raise BenchError(f"{self.name} exited with {rc}:\n{text[-2000:]}")
        per_type = {}
        for m in SUMMARY_RE.finditer(text):
            per_type[m.group(1)] = dict(zip(("seen", "filtered", "sent", "lost", "read_err",
                                             "received"), map(int, m.groups()[1:])))
        if not per_type:
            raise BenchError(f"{self.name} printed no event summary:\n{text[-2000:]}")
        events = {k: sum(t[k] for t in per_type.values())
                  for k in ("seen", "filtered", "sent", "lost", "received")}
        m = PROCS_RE.search(text)
        return {"monitor_cpu_s": cpu, "events": events, "events_by_type": per_type,
                "processes_live": int(m.group(1)) if m else None, **self.extra}


class AuditdMonitor(Monitor):
    """Debian's auditd with rules on execve, openat and connect. Its CPU is the
    daemon's plus the kernel's kauditd thread, which formats the records."""

    name = "auditd"

    def start(self):
        a = self.h.audit
        self.dir = tempfile.mkdtemp(prefix="auditd-", dir=self.h.scratch)
        self.log = os.path.join(self.dir, "audit.log")
        conf = os.path.join(self.dir, "auditd.conf")
        with open("/etc/audit/auditd.conf") as f:
            base = f.read()
        # Debian's settings, except: the log goes to our scratch directory, and is
        # big enough to keep every record (to count them); never suspend on disk space
        over = {"log_file": self.log, "max_log_file": "1024", "num_logs": "4",
                "max_log_file_action": "ROTATE", "space_left_action": "IGNORE",
                "admin_space_left_action": "IGNORE", "disk_full_action": "IGNORE",
                "disk_error_action": "IGNORE", "log_group": "root"}
        lines = [ln for ln in base.splitlines()
                 if ln.split("=")[0].strip() not in over]
        lines += [f"{k} = {v}" for k, v in over.items()]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(conf, 0o640)
        self.lost0 = int(a.status().get("lost", 0))
        self.kauditd = kernel_thread_pid("kauditd")
        a.arm()
        self.err = os.path.join(self.dir, "auditd.stderr")
        with open(self.err, "wb") as e:
            self.proc = self.h.spawn([a.auditd, "-n", "-c", self.dir],
                                     stdout=subprocess.DEVNULL, stderr=e,
                                     stdin=subprocess.DEVNULL)
        a.ours = self.proc.pid
        self._wait_until(lambda: a.status().get("pid") == str(self.proc.pid), 60)

    def records(self):
        """SYSCALL records auditd has written so far (the log is big enough never to
        rotate one away)."""
        n = 0
        for name in os.listdir(self.dir):
            if name.startswith("audit.log"):
                with open(os.path.join(self.dir, name), "rb") as f:
                    n += sum(1 for line in f if line.startswith(b"type=SYSCALL"))
        return n

    def counts(self):
        """(records written, records the kernel lost, kauditd's CPU)."""
        return (self.records(), int(self.h.audit.status().get("lost", 0)),
                proc_cpu_s(self.kauditd) if self.kauditd else None)

    def mark(self):
        self.c0 = self.counts()
        super().mark()

    def snapshot(self):
        self.c1 = self.counts()

    def measure(self):
        cpu = super().measure()["monitor_cpu_s"]
        (r0, l0, k0), (r1, l1, k1) = self.c0, self.c1
        kcpu = k1 - k0 if k0 is not None and k1 is not None else 0.0
        return {"monitor_cpu_s": cpu + kcpu, "auditd_cpu_s": cpu, "kauditd_cpu_s": kcpu,
                "events": {"seen": None, "filtered": None, "sent": r1 - r0, "lost": l1 - l0,
                           "received": r1 - r0}}

    def stop(self):
        a = self.h.audit
        try:
            rc, cpu = self._interrupt(signal.SIGTERM)
        finally:
            a.ours = None
            self.extra["guard"] = a.guard()
        lost = int(a.status().get("lost", 0)) - self.lost0
        records = self.records()
        shutil.rmtree(self.dir, ignore_errors=True)
        if rc:
            raise BenchError(f"auditd exited with {rc}")
        return {"monitor_cpu_s": cpu, "guard": self.extra["guard"],
                "events": {"seen": None, "filtered": None, "sent": records, "lost": lost,
                           "received": records}}


class BpftraceMonitor(Monitor):
    """bpftrace printing one line per event on vigil's tracepoints to /dev/null."""

    name = "bpftrace"

    def start(self):
        script, self.n_probes = self.h.bpftrace_script()
        self.err = os.path.join(self.h.scratch, "bpftrace.stderr")
        with open(self.err, "wb") as e:
            self.proc = self.h.spawn([self.h.bpftrace, "-o", "/dev/null", script],
                                     stdout=subprocess.DEVNULL, stderr=e,
                                     stdin=subprocess.DEVNULL)
        # -o sends its "Attaching N probes" to /dev/null too: it is attached when it
        # holds a perf event per probe (plus its per-CPU output buffers) and no more come
        seen = {"n": -1, "since": time.time()}

        def attached():
            n = self._perf_fds()
            if n != seen["n"]:
                seen.update(n=n, since=time.time())
            return n >= self.n_probes and time.time() - seen["since"] > 0.5

        self._wait_until(attached, 180)

    def _perf_fds(self):
        n = 0
        try:
            for fd in os.listdir(f"/proc/{self.proc.pid}/fd"):
                try:
                    if os.readlink(f"/proc/{self.proc.pid}/fd/{fd}") == \
                            "anon_inode:[perf_event]":
                        n += 1
                except OSError:
                    pass
        except OSError:
            pass
        return n

    def lost(self):
        return sum(int(x) for x in re.findall(r"Lost (\d+) events", self._stderr_text()))

    def mark(self):
        self.lost0 = self.lost()
        super().mark()

    def measure(self):
        return {**super().measure(), "probes": self.n_probes,
                "events": {"seen": None, "filtered": None, "sent": None,
                           "lost": self.lost() - self.lost0, "received": None}}

    def stop(self):
        rc, cpu = self._interrupt()
        text = self._stderr_text()
        if rc:
            raise BenchError(f"bpftrace exited with {rc}: {text[-2000:]}")
        lost = self.lost()
        return {"monitor_cpu_s": cpu, "probes": self.n_probes,
                "events": {"seen": None, "filtered": None, "sent": None, "lost": lost,
                           "received": None}}


# ---------------------------------------------------------------------------
# the harness

class Harness:
    def __init__(self, args):
        self.args = args
        self.p = dict(PROFILES["quick" if args.quick else "full"])
        if args.rounds:
            self.p["rounds"] = args.rounds
        if args.latency_triggers:
            self.p["latency_triggers"] = args.latency_triggers
        if args.memory_processes:
            self.p["memory_processes"] = args.memory_processes
        if args.reaction_runs:
            self.p["reaction_runs"] = args.reaction_runs
        self.scratch = tempfile.mkdtemp(prefix="vigil-bench-", dir=args.scratch)
        self.bench_bin = os.path.join(BUILD, "bench")
        self.audit = Audit()
        self.bpftrace = shutil.which("bpftrace")
        self._bt_script = None
        self._rules_dir = None
        self.children = []  # long-lived helpers to kill on the way out
        # a private copy: other builds may replace build/vigil while we measure
        src = args.vigil or os.path.join(BUILD, "vigil")
        for path in (src, os.path.join(BUILD, "vigil.bpf.o")):
            if not os.access(path, os.R_OK):
                raise BenchError(f"{path} is missing: run 'make build/vigil' first")
        self.vigil = os.path.join(self.scratch, "vigil")
        shutil.copy2(src, self.vigil)
        self.vigil_bpf_o = os.path.join(self.scratch, "vigil.bpf.o")
        shutil.copy2(os.path.join(BUILD, "vigil.bpf.o"), self.vigil_bpf_o)
        help_text = run_cmd([self.vigil, "run", "--help"]).stdout
        # the default metrics port would collide with other vigils on this machine: any
        # free port (the endpoint stays, as in the default configuration)
        self.vigil_common_args = ["--metrics-listen=127.0.0.1:0"] \
            if "--metrics-listen" in help_text else []
        # nor may the control socket: none
        if "--control-socket" in help_text:
            self.vigil_common_args.append("--control-socket=")
        for prog in ("exec_storm", "open_storm", "connect_storm", "udp_storm",
                     "latency_trigger", "spawn_idle", "tiny", "floor", "floor.bpf.o"):
            if not os.access(self.bin(prog), os.R_OK):
                raise BenchError(f"{self.bin(prog)} is missing: run bench/run.sh, which "
                                 "builds it")

    def bin(self, name):
        return os.path.join(self.bench_bin, name)

    def spawn(self, cmd, **kw):
        """Popen, remembered until removed from self.children, so that nothing we
        started outlives an error or an interrupt."""
        p = subprocess.Popen(cmd, **kw)
        self.children.append(p)
        return p

    def cleanup(self):
        for p in self.children:
            if p.returncode is None and p.poll() is None:
                try:
                    # workloads lead their own process group; monitors are single
                    if os.getpgid(p.pid) == p.pid:
                        os.killpg(p.pid, signal.SIGKILL)
                    else:
                        p.kill()
                except OSError:
                    pass
                p.wait()
        self.children.clear()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def packet_storm(self):
        """The traffic counters' cost on a veth packet storm (bench/packet_storm.py)."""
        try:
            return packet_storm.run(self)
        except (RuntimeError, AssertionError, subprocess.SubprocessError) as e:
            raise BenchError(f"packet storm: {e}")

    # -- workloads --------------------------------------------------------

    def workload_cmd(self, w):
        p = self.p
        if w == "exec_storm":
            return [self.bin("exec_storm"), str(p["exec_storm"]), self.bin("tiny")]
        if w == "open_storm":
            return [self.bin("open_storm"), str(p["open_storm"]), self.scratch]
        if w == "open_etc":
            return [self.bin("open_storm"), "-e", str(p["open_storm"]), self.scratch]
        if w == "connect_storm":
            return [self.bin("connect_storm"), str(p["connect_storm"])]
        if w == "udp_storm":
            return [self.bin("udp_storm"), str(p["udp_storm"])]
        if w == "mix":
            return [os.path.join(BENCH_DIR, "workloads", "mix.sh"), self.scratch,
                    str(p["mix_iterations"]), str(p["mix_files"])]
        raise BenchError(f"unknown workload {w}")

    def run_workload(self, cmd, timeout=1800):
        """Runs a workload; returns its JSON line plus its CPU and the others' CPU."""
        busy0, t0 = system_busy_s(), time.monotonic()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = self.spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, start_new_session=True)
        out, err = proc.communicate(timeout=timeout)
        # communicate() reaped it, so its CPU (and its children's) is in our rusage
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.monotonic() - t0
        busy = system_busy_s() - busy0
        self.children.remove(proc)
        if proc.returncode:
            raise BenchError(f"{' '.join(cmd)} failed ({proc.returncode}): "
                             f"{err.decode(errors='replace')[-2000:]}")
        lines = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
        if not lines:
            raise BenchError(f"{' '.join(cmd)} printed no result")
        res = json.loads(lines[-1])
        res["wall_s"] = wall
        res["system_busy_s"] = busy
        res["workload_cpu_s"] = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
        return res

    def monitor(self, cond):
        if cond == "baseline":
            return None
        if cond == "floor":
            return FloorMonitor(self)
        if cond == "vigil":
            return VigilMonitor(self, "vigil")
        if cond == "vigil_enforcing":
            return VigilMonitor(self, "vigil_enforcing", self.rules_args(ENFORCE_RULES))
        if cond == "vigil_no_prefilter":
            return VigilMonitor(self, "vigil_no_prefilter", ["--no-prefilter"])
        if cond == "auditd":
            return AuditdMonitor(self)
        if cond == "bpftrace":
            return BpftraceMonitor(self)
        raise BenchError(f"unknown condition {cond}")

    def condition_available(self, cond):
        if cond == "auditd" and not self.audit.available():
            return "auditd/auditctl not installed (apt-get install auditd)"
        if cond == "auditd" and self.audit.system_auditd():
            return f"a system auditd (pid {self.audit.system_auditd()}) is running"
        if cond == "bpftrace" and not self.bpftrace:
            return "bpftrace not installed (apt-get install bpftrace)"
        return None

    def run_under(self, cond, cmds):
        """Workloads run one after the other under one start of a condition's monitor:
        each workload's result with the monitor's numbers over that workload alone. The
        monitor's end (its exit status, auditd's guard) is checked once, after the last."""
        if cond != "auditd":
            self.audit.check()
        foreign = loaded_bpf_programs()
        mon = self.monitor(cond)
        results = []
        try:
            if mon:
                mon.start()
            for cmd in cmds:
                if cond != "auditd":
                    self.audit.check()
                if mon:
                    mon.mark()
                res = self.run_workload(cmd)
                if mon:
                    mon.snapshot()
                    res["monitor"] = mon.measure()
                res["foreign_bpf_programs"] = foreign
                results.append(res)
        except BaseException:
            if mon and mon.proc:
                try:
                    mon.stop()
                except BenchError:
                    pass
            raise
        if mon:
            end = mon.stop()
            for res in results:
                if "guard" in end:
                    res["monitor"]["guard"] = end["guard"]
        return results

    def rules_dir(self):
        """A directory for rule files that vigil accepts (root's, not writable by
        others), holding a copy of the default rules: `--rules` replaces the built-in
        set, so a condition that adds rules loads that copy first."""
        if self._rules_dir:
            return self._rules_dir
        src = os.path.join(REPO, "rules", "vigil_rules.yaml")
        if not os.access(src, os.R_OK):
            raise BenchError(f"{src} is missing: the harness runs from vigil's tree")
        d = tempfile.mkdtemp(prefix="rules-", dir=self.scratch)
        os.chmod(d, 0o755)
        shutil.copyfile(src, os.path.join(d, "vigil_rules.yaml"))
        os.chmod(os.path.join(d, "vigil_rules.yaml"), 0o644)
        self._rules_dir = d
        return d

    def rules_args(self, text, name="enforce.yaml"):
        """vigil run arguments for the default rules plus the rules in text."""
        d = self.rules_dir()
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)
        return ["--rules", os.path.join(d, "vigil_rules.yaml"), "--rules", path]

    def rule_actions(self, path):
        """{rule: where its actions run}, from `vigil rules list FILE` ('kill in kernel
        (sensors)', 'kill in user (...)'): what the report says each rule costs."""
        r = run_cmd([self.vigil, "rules", "list", path])
        if r.returncode:
            raise BenchError(f"vigil rules list {path} failed: {r.stderr[-2000:]}")
        out, listing = {}, False
        for line in r.stdout.splitlines():
            if line == "actions:":
                listing = True
            elif listing and line.startswith("  ") and ": " in line:
                rule, _, where = line.strip().partition(": ")
                out[rule] = where
        return out

    def bpftrace_script(self):
        """One probe per vigil tracepoint, each printing a line; (path, probes)."""
        if self._bt_script:
            return self._bt_script
        out = run_cmd([self.bin("floor"), "--list", self.vigil_bpf_o], check=True).stdout
        probes = []
        for line in out.splitlines():
            kind, name = line.split()
            cat, _, ev = name.rpartition("/")
            if kind == "raw_tp":
                cat = "sched"  # bpftrace 0.17 has no raw tracepoints: the plain one
            if not os.path.exists(f"/sys/kernel/tracing/events/{cat}/{ev}"):
                continue
            if ev == "sched_process_exec":
                body = 'printf("%s %d %s %s\\n", probe, pid, comm, str(args->filename));'
            elif ev.startswith("sys_exit_"):
                body = 'printf("%s %d %s %d\\n", probe, pid, comm, args->ret);'
            else:
                body = 'printf("%s %d %s\\n", probe, pid, comm);'
            probes.append(f"tracepoint:{cat}:{ev} {{ {body} }}")
        path = os.path.join(self.scratch, "vigil_tracepoints.bt")
        with open(path, "w") as f:
            f.write("\n".join(probes) + "\n")
        self._bt_script = (path, len(probes))
        return self._bt_script

    # -- sections -----------------------------------------------------------

    def overhead(self):
        p = self.p
        conds = [c for c in self.args.conditions if c in CONDITIONS]
        skipped = {c: self.condition_available(c) for c in conds if self.condition_available(c)}
        conds = [c for c in conds if c not in skipped]
        if "baseline" not in conds:
            conds.insert(0, "baseline")
        runs = {w: {c: [] for c in conds} for w in self.args.workloads}
        if p["warm_up"]:
            log("overhead: warm-up (one untimed baseline run per workload)")
            for w in self.args.workloads:
                self.run_workload(self.workload_cmd(w))
        for r in range(p["rounds"]):
            # each condition's monitor starts once per round and watches every workload
            # (a monitor runs for good in production); each round starts one condition later
            order = conds[r % len(conds):] + conds[:r % len(conds)]
            for c in order:
                results = self.run_under(c, [self.workload_cmd(w) for w in self.args.workloads])
                for w, res in zip(self.args.workloads, results):
                    res["round"] = r
                    runs[w][c].append(res)
                    log(f"overhead: round {r + 1}/{p['rounds']} {w:13s} {c:19s} "
                        f"{res['seconds']:8.3f} s {res['ops_per_sec']:12.1f} ops/s")
        result = {"conditions": conds, "skipped": skipped, "workloads": {}}
        if "vigil_enforcing" in conds:
            result["enforcement_rules"] = self.rule_actions(
                os.path.join(self.rules_dir(), "enforce.yaml"))
        for w in self.args.workloads:
            base = {x["round"]: x["seconds"] for x in runs[w]["baseline"]}
            floor = {x["round"]: x["seconds"] for x in runs[w].get("floor", [])}
            wres = {}
            for c in conds:
                rs = runs[w][c]
                entry = {
                    "seconds": stats([x["seconds"] for x in rs]),
                    "ops_per_sec": stats([x["ops_per_sec"] for x in rs]),
                    "ratio": stats([x["seconds"] / base[x["round"]] for x in rs]),
                    "ratio_to_floor": stats([x["seconds"] / floor[x["round"]] for x in rs
                                             if x["round"] in floor]) if floor else None,
                    "monitor_cpu_s": stats([x["monitor"]["monitor_cpu_s"] for x in rs
                                            if "monitor" in x]),
                    "foreign_cpu_s": stats([max(0.0, x["system_busy_s"] - self.own_cpu(x))
                                            for x in rs]),
                    "runs": rs,
                }
                evs = [x["monitor"].get("events") for x in rs if "monitor" in x]
                evs = [e for e in evs if e]
                if evs:
                    entry["events"] = {k: stats([e[k] for e in evs if e[k] is not None])
                                       for k in ("seen", "filtered", "sent", "lost")}
                rss = [x["monitor"].get("peak_rss_kb") for x in rs if "monitor" in x]
                if any(v is not None for v in rss):
                    entry["peak_rss_kb"] = stats([v for v in rss if v is not None])
                wres[c] = entry
            result["workloads"][w] = wres
            if "vigil" in runs[w] and "vigil_enforcing" in runs[w]:
                # enforcing / vigil of the same round, and the rounds' spread of vigil's
                # own ratio: the noise a difference must stand out of
                plain = {x["round"]: x["seconds"] for x in runs[w]["vigil"]}
                wres["vigil_enforcing"]["ratio_to_vigil"] = stats(
                    [x["seconds"] / plain[x["round"]] for x in runs[w]["vigil_enforcing"]])
        return result

    @staticmethod
    def own_cpu(run):
        """The CPU the workload and monitor used, to tell the machine's other load."""
        return run.get("workload_cpu_s", 0.0) + run.get("monitor", {}).get("monitor_cpu_s", 0.0)

    def dns(self):
        """The DNS programs on ordinary traffic (bench/dns_bench.py)."""
        return dns_bench.dns_section(self, VigilMonitor, stats, log)

    def latency(self):
        p = self.p
        out = {}
        for load in ("idle", "open_storm"):
            out[load] = self.latency_once(load, p["latency_triggers"], p["latency_interval_us"])
            l = out[load]
            log(f"latency: {load}: {l['matched']}/{l['triggers']} alerts, p50 "
                f"{l['e2e_us']['p50']} us, p99 {l['e2e_us']['p99']} us, max {l['e2e_us']['max']} us"
                if l["e2e_us"] else f"latency: {load}: no alerts matched")
        return out

    def latency_once(self, load, n, interval_us):
        self.audit.check()
        err_path = os.path.join(self.scratch, "latency.stderr")
        with open(err_path, "wb") as e:
            vigil = self.spawn([self.vigil, "run", *self.vigil_common_args],
                               stdout=subprocess.PIPE, stderr=e, stdin=subprocess.DEVNULL)
        lines = []  # (arrival ns, line)

        def reader():
            buf = b""
            fd = vigil.stdout.fileno()
            while True:
                chunk = os.read(fd, 1 << 16)
                now = time.time_ns()
                if not chunk:
                    break
                buf += chunk
                *done, buf = buf.split(b"\n")
                lines.extend((now, ln) for ln in done)

        th = threading.Thread(target=reader, daemon=True)
        th.start()
        mon = VigilMonitor(self, "latency")
        mon.proc, mon.err = vigil, err_path
        storm = None
        try:
            mon._wait_stderr("vigil: monitoring")
            mon.mark()
            sched0 = sched_delay(vigil.pid)
            if load == "open_storm":
                storm = self.spawn([self.bin("open_storm"), str(10**12), self.scratch],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
                time.sleep(0.3)
            trig = run_cmd([self.bin("latency_trigger"), str(n), str(interval_us)],
                           timeout=600 + n * interval_us / 1e6 * 5)
            if trig.returncode:
                raise BenchError(f"latency_trigger failed: {trig.stderr}")
            t_trig = [int(x) for x in trig.stdout.split()]
        finally:
            if storm:
                os.killpg(storm.pid, signal.SIGKILL)
                storm.wait()
                self.children.remove(storm)
        time.sleep(0.3)  # the last alerts
        sched1 = sched_delay(vigil.pid)
        mon.snapshot()
        summary = mon.stop()
        th.join(timeout=10)
        alerts = []
        for arrival, ln in lines:
            try:
                a = json.loads(ln)
            except ValueError:
                continue
            fields = a.get("output_fields", {})
            if "rule" not in a or (fields.get("proc.name") != "latency_trigger" and
                                   "latency_trigger" not in a.get("output", "")):
                continue
            evt = fields.get("evt.time")
            evt = int(evt) if isinstance(evt, int) else parse_iso_ns(a["time"])
            alerts.append((evt, arrival))
        # pair each alert with the trigger whose open it reports: in order when none is
        # missing, else the last trigger that started before the event
        if len(alerts) == len(t_trig):
            pairs = list(zip(t_trig, alerts))
        else:
            pairs = []
            for evt, arrival in alerts:
                i = bisect.bisect_right(t_trig, evt) - 1
                if i >= 0:
                    pairs.append((t_trig[i], (evt, arrival)))
        e2e = sorted((arr - t) / 1000.0 for t, (_, arr) in pairs)
        from_evt = sorted((arr - evt) / 1000.0 for _, (evt, arr) in pairs)

        def dist(v):
            if not v:
                return None
            return {"p50": round(percentile(v, 50), 1), "p99": round(percentile(v, 99), 1),
                    "max": round(v[-1], 1), "mean": round(statistics.fmean(v), 1)}

        waits = None
        if sched0 and sched1 and sched1[1] > sched0[1]:
            # how long vigil's loop waited for a CPU each time it was woken, on average
            waits = {"runqueue_wait_ms": (sched1[0] - sched0[0]) / 1e6,
                     "wakeups": sched1[1] - sched0[1],
                     "mean_wait_us": (sched1[0] - sched0[0]) / (sched1[1] - sched0[1]) / 1e3}
        return {"triggers": n, "interval_us": interval_us, "alerts": len(alerts),
                "matched": len(pairs), "e2e_us": dist(e2e), "from_event_time_us": dist(from_evt),
                "vigil_scheduling": waits,
                "samples_e2e_us": [round(x, 1) for x in e2e],
                "vigil": summary}

    @staticmethod
    def spawn_and_reap(argv):
        """Runs argv and waits for it: wall µs from just before the spawn to waitpid's
        report, and how it ended (the signal, or the exit code)."""
        t0 = time.monotonic_ns()
        pid = os.posix_spawn(argv[0], argv, os.environ)
        try:
            _, status = os.waitpid(pid, 0)
        except BaseException:  # an interrupt: the sleep of a missed kill goes too
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        us = (time.monotonic_ns() - t0) / 1000.0
        return {"pid": pid, "us": round(us, 1),
                "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None}

    def reaction(self):
        """Event to death. vigil with the default rules plus two kill rules: one the
        kernel decides (exec of a copy of /bin/true in a temporary directory) and one
        user space decides (a mark on sleep's command line). Each is run N times, each
        run beside its baseline: the same binary where no rule matches (another copy of
        true; `sleep 0` without the mark), spawn to exit. Per kill: the alert's
        latency_us (the event's capture to the signal) and spawn to death; every kill
        run must end by SIGKILL, and those that do not are counted."""
        p = self.p
        n = p["reaction_runs"]
        d = tempfile.mkdtemp(prefix="reaction-", dir=self.scratch)
        os.chmod(d, 0o755)
        for sub in ("kill", "free"):
            os.makedirs(os.path.join(d, sub))
            shutil.copy2("/bin/true", os.path.join(d, sub, "true"))
        # sleep must take the mark as an argument or it exits at once with an error,
        # racing the kill: a few nanoseconds more of sleep, in digits nothing else runs with
        digits = "".join(str(x % 10) for x in os.urandom(10))
        mark, nomark = f"0.0000000{digits}", f"0.0000000{digits[::-1]}1"
        args = self.rules_args(REACTION_RULES.format(kill_exe=os.path.join(d, "kill", "true"),
                                                     mark=mark), "reaction.yaml")
        where_listed = self.rule_actions(args[-1])
        sleep = shutil.which("sleep") or "/bin/sleep"
        cases = {  # path: (rule, kill argv, baseline argv)
            "kernel": ("bench reaction kernel", [os.path.join(d, "kill", "true")],
                       [os.path.join(d, "free", "true")]),
            "user": ("bench reaction user", [sleep, str(p["reaction_user_sleep_s"]), mark],
                     [sleep, "0", nomark]),
        }
        self.audit.check()
        alerts_path = os.path.join(d, "alerts.json")
        mon = VigilMonitor(self, "reaction", args, stdout=alerts_path)
        mon.start()
        mon.mark()
        runs = {path: {"kill": [], "baseline": []} for path in cases}
        for i in range(n):
            for path, (_, kill, base) in cases.items():
                runs[path]["kill"].append(self.spawn_and_reap(kill))
                runs[path]["baseline"].append(self.spawn_and_reap(base))

        def read_alerts():
            got = {}
            with open(alerts_path, "rb") as f:
                for ln in f:
                    try:
                        a = json.loads(ln)
                    except ValueError:
                        continue
                    if a.get("rule") in ("bench reaction kernel", "bench reaction user"):
                        pid = a.get("output_fields", {}).get("proc.pid")
                        got[(a["rule"], pid)] = a
            return got

        want = {(cases[path][0], r["pid"]) for path in cases for r in runs[path]["kill"]}
        deadline = time.time() + 10
        while not want <= set(read_alerts()) and time.time() < deadline:
            time.sleep(0.1)  # the last alerts
        mon.snapshot()
        summary = mon.stop()
        alerts = read_alerts()
        out = {"runs_per_path": n, "vigil": summary, "paths": {}}
        for path, (rule, kill, base) in cases.items():
            ks, bs = runs[path]["kill"], runs[path]["baseline"]
            for r in ks:
                a = alerts.get((rule, r["pid"]))
                act = (a.get("actions") or [{}])[0] if a else {}
                r.update(alert=a is not None, taken=act.get("taken"), where=act.get("where"),
                         reason=act.get("reason"), latency_us=act.get("latency_us"))
            killed = [r for r in ks if r["signal"] == signal.SIGKILL]
            not_killed = [r for r in ks if r["signal"] != signal.SIGKILL]
            death = distribution([r["us"] for r in killed])
            base_d = distribution([r["us"] for r in bs if r["exit_code"] == 0])
            out["paths"][path] = {
                "rule": rule, "kill_cmd": " ".join(kill).replace(d, "$TMPDIR"),
                "baseline_cmd": " ".join(base).replace(d, "$TMPDIR"),
                "listed_as": where_listed.get(rule),
                "runs": len(ks), "killed": len(killed), "not_killed": len(not_killed),
                "not_killed_ends": [{"signal": r["signal"], "exit_code": r["exit_code"],
                                     "alert": r["alert"], "reason": r["reason"]}
                                    for r in not_killed],
                "alerts": sum(1 for r in ks if r["alert"]),
                "taken": sum(1 for r in ks if r["taken"] is True),
                "where": sorted({r["where"] for r in ks if r["where"]}),
                "baseline_not_exit_0": sum(1 for r in bs if r["exit_code"] != 0),
                "event_to_signal_us": distribution([r["latency_us"] for r in ks
                                                    if r["taken"] is True and
                                                    r["latency_us"] is not None]),
                "spawn_to_death_us": death,
                "baseline_spawn_to_exit_us": base_d,
                "extra_p50_us": round(death["p50"] - base_d["p50"], 1)
                if death and base_d else None,
                "samples": {"kill": ks, "baseline": bs},
            }
            r = out["paths"][path]
            if r["not_killed"]:
                log(f"reaction: {path}: {r['not_killed']} of {r['runs']} runs did NOT die by "
                    f"SIGKILL: {r['not_killed_ends'][:5]}")
            e = r["event_to_signal_us"]
            log(f"reaction: {path}: {r['killed']}/{r['runs']} killed, event to signal p50 "
                f"{e['p50'] if e else '-'} us p99 {e['p99'] if e else '-'} us, spawn to death "
                f"p50 {death['p50'] if death else '-'} us (baseline spawn to exit p50 "
                f"{base_d['p50'] if base_d else '-'} us)")
        return out

    def throughput_step(self, mode_args, rate, seconds, procs):
        """vigil --no-prefilter under an open storm of `seconds` (paced to `rate`
        opens/s in total, 0 for as fast as it goes): what reached user space."""
        self.audit.check()
        mon = VigilMonitor(self, "throughput", ["--no-prefilter", *mode_args])
        mon.start()
        mon.mark()
        res = self.run_workload([self.bin("open_storm"), str(10**12), self.scratch, str(procs),
                                 str(rate), str(seconds)])
        mon.snapshot()
        s = mon.stop()
        o = s["events_by_type"].get("open", {})
        return {"target_rate": rate or None, "opens": res["ops"], "seconds": res["seconds"],
                "open_rate": res["ops_per_sec"], "events_received": s["events"]["received"],
                "events_lost": s["events"]["lost"],
                "open_received_per_s": o.get("received", 0) / res["seconds"],
                "open_lost": o.get("lost", 0), "monitor_cpu_s": s["monitor_cpu_s"],
                "peak_rss_kb": s.get("peak_rss_kb"),
                # what one fully busy CPU of vigil would take at this cost per event
                "events_per_vigil_cpu_s": (s["events"]["received"] / s["monitor_cpu_s"]
                                           if s["monitor_cpu_s"] > 0 else None)}

    def throughput(self):
        """Every event to user space (--no-prefilter), with the rules only and with
        every event also printed as JSON to /dev/null. First as fast as the open
        storm goes on every CPU; when that loses events, paced at falling fractions
        of that rate until nothing is lost."""
        p = self.p
        procs = os.cpu_count() or 2
        out = {"procs": procs, "seconds_per_step": p["throughput_seconds"], "modes": {}}
        for mode, args in (("rules", []), ("rules+json", ["--events=json"])):
            steps = [self.throughput_step(args, 0, p["throughput_seconds"], procs)]
            top = steps[0]["open_rate"]
            for frac in p["throughput_fractions"]:
                if steps[-1]["events_lost"] == 0:
                    break
                steps.append(self.throughput_step(args, int(top * frac),
                                                  p["throughput_seconds"], procs))
            for st in steps:
                log(f"throughput: {mode:10s} target {st['target_rate'] or 'max':>8} opens/s: "
                    f"{st['open_received_per_s']:10.0f} received/s, lost {st['events_lost']}")
            ok = [st["open_received_per_s"] for st in steps if st["events_lost"] == 0]
            cap = [st["events_per_vigil_cpu_s"] for st in steps if st["events_per_vigil_cpu_s"]]
            out["modes"][mode] = {
                "steps": steps,
                "max_zero_loss_events_per_s": max(ok) if ok else 0.0,
                # nothing lost as fast as the storm goes: the workload set the ceiling
                "limited_by": "workload" if steps[0]["events_lost"] == 0 else "vigil (loss)",
                "events_per_vigil_cpu_s": stats(cap)}
        out["overload"] = self.overload()
        return out

    def overload(self):
        """The slowest consumer (every event printed as JSON) with a small ring
        buffer, under an open storm on every CPU and an exec storm beside it: the
        ring overflows, and the counters say who lost what."""
        p = self.p
        self.audit.check()
        mon = VigilMonitor(self, "overload", ["--no-prefilter", "--events=json",
                                              f"--ringbuf-size={p['overload_ringbuf']}"],
                           stdout=os.devnull)
        mon.start()
        mon.mark()
        storm = self.spawn([self.bin("open_storm"), str(10**12), self.scratch,
                            str(os.cpu_count() or 2), "0", str(p["throughput_seconds"])],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           start_new_session=True)
        execs = self.run_workload([self.bin("exec_storm"), str(p["overload_execs"]),
                                   self.bin("tiny")])
        storm_out, _ = storm.communicate(timeout=1800)
        self.children.remove(storm)
        alive = mon.proc.poll() is None
        mon.snapshot()
        s = mon.stop()
        by = s["events_by_type"]

        def share(t):
            e = by.get(t, {})
            seen = e.get("sent", 0) + e.get("lost", 0)
            return {"sent": e.get("sent", 0), "lost": e.get("lost", 0),
                    "lost_fraction": (e.get("lost", 0) / seen) if seen else 0.0}

        lines = [ln for ln in storm_out.decode().splitlines() if ln.startswith("{")]
        res = {"ringbuf": p["overload_ringbuf"], "alive_until_stopped": alive,
               "exit_code": mon.proc.returncode, "execs": execs["ops"],
               "opens": json.loads(lines[-1])["ops"] if lines else None,
               "open": share("open"), "exec": share("exec"), "fork": share("fork"),
               "exit": share("exit")}
        log(f"throughput: overload: open lost {res['open']['lost_fraction']:.1%}, exec lost "
            f"{res['exec']['lost_fraction']:.1%}, vigil alive: {alive}")
        return res

    def engine(self):
        p = self.p
        rec = os.path.join(self.scratch, "stream.vrec")
        self.audit.check()
        mon = VigilMonitor(self, "record", ["--no-prefilter", f"--record={rec}"])
        mon.start()
        mon.mark()
        self.run_workload([self.bin("exec_storm"), str(p["record_execs"]), self.bin("tiny")])
        self.run_workload([self.bin("open_storm"), str(p["record_opens"]), self.scratch])
        self.run_workload([self.bin("connect_storm"), str(p["record_connects"])])
        self.run_workload(self.workload_cmd("mix"))
        run_cmd([self.bin("latency_trigger"), "50", "100"])
        mon.snapshot()
        rs = mon.stop()
        big = os.path.join(self.scratch, f"rules_x{p['rule_factor']}.yaml")
        g = run_cmd([sys.executable, os.path.join(BENCH_DIR, "gen_rules.py"), "--factor",
                     str(p["rule_factor"]), os.path.join(REPO, "rules", "vigil_rules.yaml")])
        if g.returncode:
            raise BenchError(f"gen_rules.py failed: {g.stderr}")
        with open(big, "w") as f:
            f.write(g.stdout)
        out = {"recording_bytes": os.path.getsize(rec), "recorded_events": rs["events"],
               "rulesets": {}}
        for name, extra, rules_arg in (("default", [], []),
                                       (f"x{p['rule_factor']}", ["--rules", big], [big])):
            listing = run_cmd([self.vigil, "rules", "list", *rules_arg]).stdout
            n_rules = sum(1 for ln in listing.splitlines() if ln and not ln[0].isspace())
            reps = []
            for _ in range(p["replay_repeats"]):
                r = run_cmd([self.vigil, "replay", rec, "--stats", *extra], timeout=3600)
                m = REPLAY_RE.search(r.stderr)
                if r.returncode or not m:
                    raise BenchError(f"vigil replay failed ({r.returncode}): {r.stderr[-2000:]}")
                reps.append({"records": int(m.group(1)), "seconds": float(m.group(2)),
                             "records_per_s": int(m.group(3)), "alerts": int(m.group(4))})
            out["rulesets"][name] = {"rules": n_rules,
                                     "records_per_s": stats([x["records_per_s"] for x in reps]),
                                     "records": reps[0]["records"], "alerts": reps[0]["alerts"],
                                     "runs": reps}
            log(f"engine: {name} ({n_rules} rules): "
                f"{out['rulesets'][name]['records_per_s']['median']:.0f} records/s")
        return out

    def memory(self):
        n = self.p["memory_processes"]
        self.audit.check()
        mon = VigilMonitor(self, "memory")
        mon.start()
        time.sleep(self.p["settle_s"])
        idle = {"rss_kb": proc_status_kb(mon.proc.pid, "VmRSS"),
                "maps": bpf_map_memlock(mon.proc.pid)}
        spawner = self.spawn([self.bin("spawn_idle"), str(n)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            line = spawner.stdout.readline().decode()
            if not line.startswith("ready"):
                raise BenchError(f"spawn_idle did not start {n} processes: "
                                 f"{spawner.stderr.read().decode()[-2000:]}")
            time.sleep(self.p["settle_s"])  # vigil reads the forks and execs
            maps = bpf_map_memlock(mon.proc.pid)
            names = bpftool_map_names()
            for m in maps + idle["maps"]:
                m["name"] = names.get(m["map_id"], "")
            mon.snapshot()
            live = {"rss_kb": mon.extra["rss_kb"], "peak_rss_kb": mon.extra["peak_rss_kb"],
                    "maps": maps, "rss_breakdown_kb": rss_breakdown_kb(mon.proc.pid)}
            s = mon.stop()  # before the processes go, so its table still holds them
        finally:
            spawner.stdin.close()
            spawner.wait(timeout=300)
            self.children.remove(spawner)
        res = {"processes": n, "idle_rss_kb": idle["rss_kb"],
               "rss_breakdown_kb": live["rss_breakdown_kb"],
               "rss_kb": live["rss_kb"], "peak_rss_kb": live["peak_rss_kb"],
               "bpf_map_bytes": sum(m["memlock"] for m in live["maps"]),
               "bpf_map_bytes_idle": sum(m["memlock"] for m in idle["maps"]),
               "maps": live["maps"], "vigil_processes_live": s.get("processes_live")}
        log(f"memory: {n} processes: RSS {res['rss_kb'] / 1024:.1f} MB, peak "
            f"{res['peak_rss_kb'] / 1024:.1f} MB, BPF maps {res['bpf_map_bytes'] / 2**20:.1f} MB")
        return res


# ---------------------------------------------------------------------------
# the report

def machine_info(h):
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    git = run_cmd(["git", "-C", REPO, "describe", "--always", "--dirty"]).stdout.strip()
    ver = run_cmd([h.vigil, "version"]).stdout.strip()
    bt = run_cmd([h.bpftrace, "--version"]).stdout.strip() if h.bpftrace else None
    return {"hostname": platform.node(), "kernel": platform.release(), "cpu": cpu,
            "cpus": os.cpu_count(), "memory_mb": mem_kb // 1024,
            "virtualised": os.path.exists("/sys/hypervisor") or "hypervisor" in
            open("/proc/cpuinfo").read(), "vigil": ver, "git": git, "bpftrace": bt}


def loaded_bpf_programs():
    """BPF programs loaded on this machine. Called when none of ours is: those of
    other tools (another agent, other engineers' tests) make every condition slower."""
    r = run_cmd(["bpftool", "-j", "prog", "show"])
    try:
        return len(json.loads(r.stdout or "[]"))
    except ValueError:
        return None


def bpf_holders():
    """Processes holding BPF programs open, as 'comm[pid]' strings."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if not any(os.readlink(f"/proc/{pid}/fd/{fd}") == "anon_inode:bpf-prog"
                       for fd in fds):
                continue
            with open(f"/proc/{pid}/comm") as f:
                out.append(f"{f.read().strip()}[{pid}]")
        except OSError:
            continue
    return out


def targets(report):
    """The issue's targets next to what was measured."""
    rows = []
    ov = report.get("overhead", {}).get("workloads", {})

    def ratio(w, c, key="ratio"):
        v = ov.get(w, {}).get(c, {}).get(key)
        return v["median"] if v else None

    def row(name, target, achieved, better="lower", unit="", note=None):
        met = None if achieved is None else (achieved <= target if better == "lower"
                                             else achieved >= target)
        rows.append({"target": name, "goal": target, "achieved": achieved, "met": met,
                     "unit": unit, "better": better, "note": note})

    for cond, what in (("vigil", "default rules"), ("vigil_enforcing", "enforcement rules")):
        for w, name in (("open_storm", "open storm"), ("open_etc", "open storm, 1/4 below /etc"),
                        ("exec_storm", "exec storm"), ("connect_storm", "connect storm"),
                        ("mix", "mix")):
            row(f"{name}, vigil / floor ({what})", TARGETS[f"{w}_vs_floor"],
                ratio(w, cond, "ratio_to_floor"), unit="x")
    tp = report.get("throughput", {}).get("modes", {}).get("rules")
    row("zero-loss events/s into user space", TARGETS["zero_loss_events_per_s"],
        tp["max_zero_loss_events_per_s"] if tp else None, better="higher", unit="events/s",
        note=("no loss at the most this machine produced" if tp and
              tp["limited_by"] == "workload" else None))
    eng = report.get("engine", {}).get("rulesets", {})
    for name, key in (("default", "engine_default_records_per_s"),
                      ("x10", "engine_x10_records_per_s")):
        v = eng.get(name, {}).get("records_per_s")
        row(f"rule engine alone, {name} rules", TARGETS[key], v["median"] if v else None,
            better="higher", unit="records/s")
    for load in ("idle", "open_storm"):
        lat = report.get("latency", {}).get(load, {}).get("e2e_us")
        row(f"alert latency p99 ({load})", TARGETS["latency_p99_us"],
            lat["p99"] if lat else None, unit="us")
    rss = []
    for w in ov.values():
        for c in ("vigil", "vigil_no_prefilter"):
            v = w.get(c, {}).get("peak_rss_kb")
            if v:
                rss.append(v["max"])
    mem = report.get("memory")
    if mem and mem.get("peak_rss_kb"):
        rss.append(mem["peak_rss_kb"])
    row("vigil peak RSS", TARGETS["rss_mb"], max(rss) / 1024 if rss else None, unit="MB")
    return rows


def fmt(v, digits=2):
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def fmt_range(s, digits=2, scale=1.0):
    if not s:
        return "–"
    return (f"{s['median'] * scale:.{digits}f} ({s['min'] * scale:.{digits}f}–"
            f"{s['max'] * scale:.{digits}f})")


def markdown(report):
    m = report["machine"]
    out = [f"# vigil benchmarks — {report['date']}", "",
           f"Machine: `{m['hostname']}`, {m['cpus']} CPUs ({m['cpu']}), {m['memory_mb']} MB, "
           f"kernel {m['kernel']}; {m['vigil']} (git {m['git']}). Profile: "
           f"{report['profile']}, {report['params']['rounds']} round(s).", "",
           "How to read and rerun this: docs/BENCH.md. Medians over the rounds, (min–max) "
           "in brackets; ratios are paired with the same round's baseline.", ""]
    if report.get("targets"):
        out += ["## Targets", "", "| target | goal | achieved | met |", "|---|---|---|---|"]
        for t in report["targets"]:
            cmp = "≤" if t["better"] == "lower" else "≥"
            goal = f"{cmp} {t['goal']:g} {t['unit']}"
            ach = "not measured" if t["achieved"] is None else f"{t['achieved']:.3g} {t['unit']}"
            if t.get("note"):
                ach += f" ({t['note']})"
            met = {True: "yes", False: "**no**", None: "–"}[t["met"]]
            out.append(f"| {t['target']} | {goal} | {ach} | {met} |")
        out.append("")
    ov = report.get("overhead")
    if ov:
        out += ["## Overhead", "",
                "time ratio: workload time / baseline time (vs floor: / the floor's time), "
                "paired by round. monitor CPU: CPU seconds of the "
                "monitor process(es) during the run (BPF programs run in the workload's own "
                "time, so they show in the ratio instead). events: vigil's counters "
                "seen / filtered in the kernel / sent / lost (auditd: records logged / lost; "
                "bpftrace: lost).", ""]
        for w, conds in ov["workloads"].items():
            base = conds["baseline"]["ops_per_sec"]["median"]
            out += [f"### {w} (baseline {base:,.0f} ops/s)", "",
                    "| condition | time ratio | vs floor | ops/s | monitor CPU s | events seen / "
                    "filtered / sent / lost | vigil peak RSS MB |", "|---|---|---|---|---|---|---|"]
            for c, e in conds.items():
                ev = e.get("events")
                evs = " / ".join(fmt(ev[k]["median"] if ev and ev.get(k) else None, 0)
                                 for k in ("seen", "filtered", "sent", "lost")) if ev else "–"
                vf = e.get("ratio_to_floor")
                out.append(f"| {c} | {fmt_range(e['ratio'])} | "
                           f"{fmt(vf['median'] if vf else None)} | "
                           f"{e['ops_per_sec']['median']:,.0f} | "
                           f"{fmt_range(e['monitor_cpu_s'])} | {evs} | "
                           f"{fmt_range(e.get('peak_rss_kb'), 1, 1 / 1024)} |")
            out.append("")
        if ov.get("skipped"):
            out += ["Skipped: " + "; ".join(f"{k}: {v}" for k, v in ov["skipped"].items()), ""]
        if ov.get("enforcement_rules"):
            fb = (report.get("noise") or {}).get("foreign_cpu_baseline_s", {})
            out += ["### Enforcement rules loaded (vigil_enforcing)", "",
                    "vigil_enforcing: the default rules plus enforcement rules the workloads "
                    "never match: "
                    + "; ".join(f"{r} ({w})" for r, w in ov["enforcement_rules"].items())
                    + ". Next to plain vigil: both ratios to the same round's baseline, "
                    "enforcing / vigil paired by round, and the noise: the rounds' spread "
                    "(max − min) of plain vigil's ratio and the CPU seconds other processes "
                    "used during the baseline runs (median).", "",
                    "| workload | vigil | vigil_enforcing | enforcing / vigil | spread of "
                    "vigil's ratio | others' CPU s in baseline |", "|---|---|---|---|---|---|"]
            for w, conds in ov["workloads"].items():
                if "vigil" not in conds or "vigil_enforcing" not in conds:
                    continue
                v, e = conds["vigil"]["ratio"], conds["vigil_enforcing"]["ratio"]
                out.append(f"| {w} | {fmt_range(v)} | {fmt_range(e)} | "
                           f"{fmt_range(conds['vigil_enforcing'].get('ratio_to_vigil'), 3)} | "
                           f"{v['max'] - v['min']:.3f} | {fmt(fb.get(w))} |")
            out.append("")
    lat = report.get("latency")
    if lat:
        out += ["## Alert latency", "",
                "From the CLOCK_REALTIME read just before the trigger's open(/etc/shadow) to the "
                "harness reading vigil's alert line from its stdout pipe (end to end); and from "
                "the event's own kernel timestamp to that read.", "",
                "| load | alerts / triggers | end to end p50 / p99 / max µs | from event time "
                "p50 / p99 / max µs |", "|---|---|---|---|"]
        for load, l in lat.items():
            def d(x):
                return f"{x['p50']:.0f} / {x['p99']:.0f} / {x['max']:.0f}" if x else "–"
            out.append(f"| {load} | {l['matched']} / {l['triggers']} | {d(l['e2e_us'])} | "
                       f"{d(l['from_event_time_us'])} |")
        out.append("")
        for load, l in lat.items():
            w = l.get("vigil_scheduling")
            if w:
                out.append(f"- {load}: vigil's event loop waited {w['mean_wait_us']:.0f} µs on "
                           f"average for a CPU each time it was woken ({w['wakeups']} times, "
                           f"{w['runqueue_wait_ms']:.0f} ms in all)")
        out.append("")
    rc = report.get("reaction")
    if rc:
        out += ["## Reaction time (kill)", "",
                f"vigil with the default rules and two kill rules, {rc['runs_per_path']} runs "
                "each. event → signal: the alert's latency_us (the event's capture in the "
                "kernel to the signal sent). spawn → death: from just before the harness "
                "spawns the process to waitpid reporting its death by SIGKILL. Baseline: "
                "the same binary where no rule matches, spawn → exit (vigil running). "
                "extra: spawn → death p50 − baseline p50.", "",
                "| path | killed by | runs | died by SIGKILL | event → signal p50 / p90 / p99 "
                "/ max µs | spawn → death p50 / p90 / p99 / max µs | baseline spawn → exit "
                "p50 / p90 / p99 / max µs | extra µs |", "|---|---|---|---|---|---|---|---|"]

        def d4(x):
            return (f"{x['p50']:.0f} / {x['p90']:.0f} / {x['p99']:.0f} / {x['max']:.0f}"
                    if x else "–")

        for path, r in rc["paths"].items():
            died = f"{r['killed']} / {r['runs']}"
            if r["not_killed"]:
                died = f"**{died}**"
            out.append(f"| {path} | `{r['kill_cmd']}` ({r['listed_as'] or '?'}) | {r['runs']} | "
                       f"{died} | {d4(r['event_to_signal_us'])} | {d4(r['spawn_to_death_us'])} "
                       f"| {d4(r['baseline_spawn_to_exit_us'])} (`{r['baseline_cmd']}`) | "
                       f"{fmt(r['extra_p50_us'], 0)} |")
        out.append("")
        for path, r in rc["paths"].items():
            if r["not_killed"]:
                out.append(f"- **{path}: {r['not_killed']} of {r['runs']} runs did not die by "
                           f"SIGKILL**: {r['not_killed_ends'][:5]}")
            if r["alerts"] != r["runs"] or r["taken"] != r["killed"]:
                out.append(f"- {path}: {r['alerts']} alerts and {r['taken']} actions taken "
                           f"for {r['runs']} runs")
        out.append("")
    tp = report.get("throughput")
    if tp:
        out += ["## Throughput into user space", "",
                f"vigil --no-prefilter (every event goes up), open storm on {tp['procs']} "
                "processes, first as fast as they go, then (only if that lost events) paced "
                "to fractions of that rate; events received per second by vigil and events "
                "lost in the ring buffer.", "",
                "| mode | target opens/s | achieved opens/s | received events/s | lost | "
                "vigil CPU s |", "|---|---|---|---|---|---|"]
        for mode, md in tp["modes"].items():
            for s in md["steps"]:
                tgt = f"{s['target_rate']:,}" if s["target_rate"] else "unpaced"
                out.append(f"| {mode} | {tgt} | {s['open_rate']:,.0f} | "
                           f"{s['open_received_per_s']:,.0f} | {s['events_lost']:,} | "
                           f"{s['monitor_cpu_s']:.2f} |")
        out.append("")
        for mode, md in tp["modes"].items():
            cap = md.get("events_per_vigil_cpu_s")
            out.append(f"- {mode}: highest rate with zero loss: "
                       f"{md['max_zero_loss_events_per_s']:,.0f} events/s, limited by "
                       f"{md['limited_by']}"
                       + (f"; vigil's cost per event extrapolates to {cap['median']:,.0f} "
                          "events per second of one CPU" if cap else ""))
        o = tp.get("overload")
        if o:
            lost = ", ".join(f"{t} {o[t]['lost']:,} of {o[t]['sent'] + o[t]['lost']:,} "
                             f"({o[t]['lost_fraction']:.1%})"
                             for t in ("open", "exec", "fork", "exit"))
            out.append(f"- overload (every event printed as JSON, a {o['ringbuf']} ring, "
                       f"unpaced storm on every CPU, {o['execs']} execs beside it): lost "
                       f"{lost}; vigil stayed up: "
                       f"{'yes' if o['alive_until_stopped'] else 'NO'} "
                       f"(exit code {o['exit_code']})")
        out.append("")
    eng = report.get("engine")
    if eng:
        out += ["## Rule engine alone (vigil replay --stats)", "",
                f"A recording of {eng['rulesets']['default']['records']:,} events "
                "(--no-prefilter, all workloads) replayed offline.", "",
                "| ruleset | rules | records/s | alerts |", "|---|---|---|---|"]
        for name, r in eng["rulesets"].items():
            out.append(f"| {name} | {r['rules']} | {fmt_range(r['records_per_s'], 0)} | "
                       f"{r['alerts']} |")
        out.append("")
    mem = report.get("memory")
    if mem:
        out += ["## Memory", "",
                f"vigil with {mem['processes']:,} live idle processes (vigil's table: "
                f"{mem['vigil_processes_live']} live).", "",
                "| | idle | with the processes |", "|---|---|---|",
                f"| RSS MB | {mem['idle_rss_kb'] / 1024:.1f} | {mem['rss_kb'] / 1024:.1f} "
                f"(peak {mem['peak_rss_kb'] / 1024:.1f}) |",
                f"| BPF map memory MB (memlock) | {mem['bpf_map_bytes_idle'] / 2**20:.1f} | "
                f"{mem['bpf_map_bytes'] / 2**20:.1f} |", ""]
        b = mem.get("rss_breakdown_kb")
        if b and b.get("anon") is not None:
            out += [f"Of the RSS with the processes: {b['anon'] / 1024:.1f} MB anonymous "
                    f"(vigil's own heap and stacks), {b['file'] / 1024:.1f} MB file-backed, of "
                    f"which {b['bpf_map_mappings'] / 1024:.1f} MB are BPF map mappings (the "
                    "ring buffer's pages, mapped once) and the rest shared libraries.", ""]
        big = [f"{m['name'] or m['map_id']} {m['memlock'] / 2**20:.1f} MB"
               for m in mem["maps"][:5]]
        out += ["Largest maps: " + ", ".join(big) + ".", ""]
    n = report.get("noise")
    if n:
        fb = n.get("foreign_bpf_programs_per_run")
        out += ["## Noise", "",
                "The machine is shared with other engineers' test runs; what else ran:", "",
                f"- load average at the start {n['loadavg_start']}, "
                + (f"before the memory section {n['loadavg_before_memory']}, "
                   if n.get("loadavg_before_memory") else "")
                + f"at the end {n['loadavg_end']}",
                f"- BPF programs loaded by others: {n['bpf_programs_start']} at the start, "
                f"{n['bpf_programs_end']} at the end"
                + (f", {fb['min']}–{fb['max']} (median {fb['median']:g}) when each overhead "
                   "run started" if fb else "")
                + "; processes holding them: "
                + (", ".join(sorted(set(n["bpf_holders_start"] + n["bpf_holders_end"])))
                   or "none"),
                "- CPU seconds other processes used during each baseline run (median): "
                + (", ".join(f"{w} {v:.2f}" for w, v in n.get("foreign_cpu_baseline_s",
                                                            {}).items()) or "–"), ""]
    if report.get("dns"):
        out += dns_bench.dns_markdown(report["dns"], fmt_range)
    if report.get("packet_storm"):
        out += packet_storm.markdown(report["packet_storm"])
    if report.get("notes"):
        out += ["## Notes", ""] + [f"- {x}" for x in report["notes"]] + [""]
    if report.get("closing_note"):
        out += ["## Closing note: what limits vigil where it misses a target", ""]
        out += report["closing_note"] + [""]
    return "\n".join(out)


def write_report(report, out_dir):
    """bench.json and bench.md into out_dir; returns the Markdown."""
    finite_check(report)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(report, f, indent=1, sort_keys=False)
        f.write("\n")
    md = markdown(report)
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write(md)
    return md


def finite_check(obj, path="$"):
    """Every number in the report must be finite (JSON has no NaN)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise BenchError(f"{path} is {obj}")
    if isinstance(obj, dict):
        for k, v in obj.items():
            finite_check(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            finite_check(v, f"{path}[{i}]")


def main(argv=None):
    ap = argparse.ArgumentParser(description="vigil's benchmarks (see docs/BENCH.md)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "results"),
                    help="where bench.json and bench.md go (default bench/results)")
    ap.add_argument("--only", default=",".join(SECTIONS),
                    help=f"comma list of sections: {','.join(SECTIONS)}")
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--conditions", default=",".join(CONDITIONS))
    ap.add_argument("--rounds", type=int, help="rounds of the overhead section")
    ap.add_argument("--latency-triggers", type=int, help="alerts to time per load")
    ap.add_argument("--memory-processes", type=int, help="live processes for memory")
    ap.add_argument("--reaction-runs", type=int, help="kills to time per path (kernel, user)")
    ap.add_argument("--vigil", help="the vigil binary (default: build/vigil)")
    ap.add_argument("--scratch", default=None, help="directory for temporary files")
    ap.add_argument("--note", action="append", default=[], help="a line for the report")
    ap.add_argument("--render", metavar="JSON",
                    help="measure nothing: write a report again from its bench.json, with "
                         "--note and --closing added, into --out")
    ap.add_argument("--closing", metavar="FILE",
                    help="with --render: Markdown for the report's closing note (what limits "
                         "vigil where it misses a target)")
    args = ap.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            report = json.load(f)
        report["notes"] = report.get("notes", []) + args.note
        if args.closing:
            with open(args.closing) as f:
                report["closing_note"] = f.read().rstrip("\n").split("\n")
        write_report(report, args.out)
        return 0
    args.only = [s for s in args.only.split(",") if s]
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.conditions = [c for c in args.conditions.split(",") if c]
    for what, given, known in (("section", args.only, SECTIONS),
                               ("workload", args.workloads, WORKLOADS),
                               ("condition", args.conditions, CONDITIONS)):
        bad = [x for x in given if x not in known]
        if bad:
            ap.error(f"unknown {what} {', '.join(bad)}; known: {', '.join(known)}")
    if os.geteuid() != 0:
        print("bench: needs root (BPF, auditd): sudo make bench", file=sys.stderr)
        return 1
    # a termination unwinds like an interrupt, so the host's audit state goes back
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    h = None
    try:
        h = Harness(args)
        start = time.time()
        report = {"schema": 1,
                  "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                      "%Y-%m-%d %H:%M UTC"),
                  "profile": "quick" if args.quick else "full",
                  "params": h.p, "machine": machine_info(h), "targets_goal": TARGETS,
                  "notes": args.note}
        noise = {"loadavg_start": loadavg(), "bpf_programs_start": loaded_bpf_programs(),
                 "bpf_holders_start": bpf_holders()}
        h.audit.save()
        report["audit_guard"] = h.audit.guard()
        log(f"audit guard: {report['audit_guard']}")
        report["section_seconds"] = {}
        for section in SECTIONS:
            if section in args.only:
                if section == "memory":  # its processes would count in the load average
                    noise["loadavg_before_memory"] = loadavg()
                log(f"{section} ...")
                t0 = time.time()
                report[section] = getattr(h, section)()
                report["section_seconds"][section] = round(time.time() - t0, 1)
        noise.update(loadavg_end=loadavg(), bpf_programs_end=loaded_bpf_programs(),
                     bpf_holders_end=bpf_holders())
        if "overhead" in report:
            wl = report["overhead"]["workloads"]
            noise["foreign_cpu_baseline_s"] = {
                w: c["baseline"]["foreign_cpu_s"]["median"]
                for w, c in wl.items() if c["baseline"]["foreign_cpu_s"]}
            noise["foreign_bpf_programs_per_run"] = stats(
                [r["foreign_bpf_programs"] for c in wl.values() for e in c.values()
                 for r in e["runs"] if r.get("foreign_bpf_programs") is not None])
        report["noise"] = noise
        report["targets"] = targets(report)
        report["duration_s"] = round(time.time() - start, 1)
        print(write_report(report, args.out))
        log(f"done in {report['duration_s']:.0f} s: {args.out}/bench.json, bench.md")
        return 0
    except BenchError as e:
        print(f"bench: {e}", file=sys.stderr)
        return 1
    finally:
        if h:
            try:
                h.cleanup()  # our auditd, if any, stops before the rules go back
            finally:
                try:
                    h.audit.restore()
                except BenchError as e:
                    print(f"bench: restoring the host's audit rules: {e}",
                          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
