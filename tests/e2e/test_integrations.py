"""End-to-end tests of vigil's outputs and its own observability against real
servers on loopback (started by servers.py): Alertmanager, rsyslog, Prometheus, HTTP
webhook receivers, plus promtool on the metrics and the alerting rules.

Alerts come from build/alert-driver, which runs vigil's configuration, outputs and
metrics code exactly as the agent does and emits synthetic Falco-shaped alerts (its
--fake-agent fills the agent's own metric families). Once the daemon raises real
alerts, AlertDriver can be swapped for it: the fixtures and checks stay.
"""
import json
import os
import re
import signal
import ssl
import subprocess
import threading
import time

import pytest

from servers import *  # noqa: F401,F403 - fixtures and helpers

DRIVER = os.path.join(BUILD, "alert-driver")


class AlertDriver:
    """One build/alert-driver run; its status lines (stderr) are collected."""

    def __init__(self, workdir, config, args=(), stdin=False):
        assert os.access(DRIVER, os.X_OK), f"{DRIVER} missing: run 'make e2e' (it builds it)"
        self.config_path = os.path.join(workdir, f"vigil-{time.monotonic_ns()}.yaml")
        with open(self.config_path, "w") as f:
            f.write(config)
        self.lines = []
        args = list(args) + (["--stdin"] if stdin else [])
        self.proc = subprocess.Popen([DRIVER, "--config", self.config_path, *args],
                                     stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, prefix, timeout=20):
        """The rest of the first status line starting with prefix."""
        def find():
            for line in self.lines:
                if line.startswith("alert-driver: " + prefix):
                    return line[len("alert-driver: " + prefix):].strip() or True
            if self.proc.poll() is not None and not self._reader.is_alive():
                pytest.fail(f"alert-driver exited ({self.proc.returncode}):\n" + self.log())
            return None
        return wait_until(find, timeout, f"alert-driver line '{prefix}'", interval=0.05)

    def log(self):
        return "\n".join(self.lines)

    @property
    def metrics_url(self):
        return f"http://{self.wait_line('listening')}/metrics"

    def emit(self, count, rule, priority="warning", tags=(), container=None):
        n = sum(1 for line in self.lines if line.startswith("alert-driver: emitted"))
        self.proc.stdin.write(f"emit {count} {rule.replace(' ', '_')} {priority} "
                              f"{','.join(tags) or '-'} {container or '-'}\n")
        self.proc.stdin.flush()
        wait_until(lambda: sum(1 for line in self.lines
                               if line.startswith("alert-driver: emitted")) > n,
                   20, "alert-driver to emit")

    def stop(self, timeout=30):
        """Stops (SIGTERM), waits for the outputs to drain; returns the stats."""
        self.wait_line("ready")  # before it, SIGTERM would kill it outright
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("alert-driver did not stop:\n" + self.log())
        self._reader.join(5)
        assert self.proc.returncode == 0, self.log()
        return json.loads(self.wait_line("stats"))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture()
def drivers():
    """Starts drivers for a test and never leaves one running."""
    started = []

    def start(*a, **kw):
        d = AlertDriver(*a, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        d.kill()


def config(*outputs, extra=""):
    """A configuration with the metrics endpoint on a free port and these outputs."""
    return ("priority: debug\nshutdown_timeout: 3s\n"
            "metrics:\n  listen: 127.0.0.1:0\n" + extra +
            "outputs:\n" + "".join(outputs))


def lines_of(path):
    with open(path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines()]


FALCO_KEYS = {"hostname", "output", "output_fields", "priority", "rule", "source", "tags", "time"}


# ---- promtool ----

def test_promtool_checks_the_alerting_rules():
    rules = os.path.join(DEPLOY, "prometheus", "vigil-alerts.yml")
    r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout
    r = subprocess.run(["promtool", "test", "rules", "vigil-alerts.test.yml"], text=True,
                       capture_output=True, cwd=os.path.dirname(rules))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_metrics_endpoint_passes_promtool(tmp_path, drivers):
    d = drivers(str(tmp_path), config(f"  - type: file\n    path: {tmp_path}/a.jsonl\n"),
                ["--fake-agent", "--count", "3", "--hold"])
    status, headers, body = http_get(d.metrics_url)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert r.returncode == 0 and not r.stdout and not r.stderr, r.stdout + r.stderr
    text = body.decode()
    for family in ("vigil_events_seen_total", "vigil_events_filtered_total",
                   "vigil_events_sent_total", "vigil_events_lost_total", "vigil_alerts_total",
                   "vigil_output_deliveries_total", "vigil_output_failures_total",
                   "vigil_output_drops_total", "vigil_rule_evaluation_seconds",
                   "vigil_ringbuf_used_bytes", "vigil_process_table_entries",
                   "vigil_rules_loaded", "vigil_rules_reloads_total", "vigil_build_info",
                   "process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert f"# TYPE {family} " in text, family
    base = d.metrics_url.rsplit("/", 1)[0]
    assert http_get(base + "/healthz")[0] == 200
    assert http_get(base + "/readyz")[0] == 200
    d.stop()


# ---- Alertmanager ----

def test_alert_reaches_alertmanager_and_is_refreshed(tmp_path, drivers, alertmanager, run_id):
    rule = f"E2E_Alertmanager_{run_id}"
    d = drivers(str(tmp_path), config(
        f"  - type: alertmanager\n    url: {alertmanager.url}\n"
        "    resend_interval: 1s\n    resolve_after: 5m\n"
        f"    labels:\n      run: r{run_id}\n"), stdin=True)
    d.emit(3, rule, "critical", ["container", "mitre_credential_access", "T1555"],
           "0123456789ab")
    def latest():
        got = alertmanager.alerts(alertname=rule)
        return got if any("seq=3" in a["annotations"]["summary"] for a in got) else None
    alerts = wait_until(latest, 20, "the alert with its latest match in Alertmanager")
    assert len(alerts) == 1, "three matches with the same labels are one alert"
    a = alerts[0]
    labels = a["labels"]
    assert labels["priority"] == "Critical"
    assert labels["severity"] == "critical"
    assert labels["container_id"] == "0123456789ab"
    assert labels["mitre_tactic"] == "credential_access"
    assert labels["mitre_technique"] == "T1555"
    assert labels["hostname"]
    assert labels["run"] == f"r{run_id}"
    assert "Sensitive file opened for reading" in a["annotations"]["summary"]
    assert "container=0123456789ab seq=3" in a["annotations"]["summary"], "the latest match"
    assert a["status"]["state"] == "active"
    first_ends = a["endsAt"]
    # still firing: re-sent every second, so Alertmanager keeps extending it
    time.sleep(2.5)
    d.emit(1, rule, "critical", ["container", "mitre_credential_access", "T1555"],
           "0123456789ab")
    wait_until(lambda: alertmanager.alerts(alertname=rule)[0]["endsAt"] > first_ends, 10,
               "endsAt to move forward")
    stats = d.stop()
    assert stats["sinks"]["alertmanager"]["delivered"] == 4
    assert stats["sinks"]["alertmanager"]["failed"] == 0


# ---- syslog ----

def test_syslog_over_udp_tcp_and_local_socket(tmp_path, drivers, rsyslog, run_id):
    rule = f"E2E_Syslog_{run_id}"
    d = drivers(str(tmp_path), config(
        "  - type: syslog\n    name: udp\n    transport: udp\n"
        f"    address: 127.0.0.1:{rsyslog.port}\n    app_name: vigil-udp\n"
        "    facility: local3\n",
        "  - type: syslog\n    name: tcp\n    transport: tcp\n"
        f"    address: 127.0.0.1:{rsyslog.port}\n    app_name: vigil-tcp\n",
        "  - type: syslog\n    name: unix\n    transport: unix\n"
        f"    socket: {rsyslog.socket}\n    app_name: vigil-unix\n"), stdin=True)
    d.emit(2, rule, "error", ["mitre_execution"], "fedcba987654")

    def ours():
        return [m for m in rsyslog.messages() if rule in m.get("structured-data", "")]
    msgs = wait_until(lambda: len(ours()) == 6 and ours(), 20,
                      "2 alerts x 3 transports in rsyslog")
    by_app = {}
    for m in msgs:
        by_app.setdefault(m["app-name"], []).append(m)
    assert sorted(by_app) == ["vigil-tcp", "vigil-udp", "vigil-unix"], sorted(by_app)
    for app, ms in by_app.items():
        assert len(ms) == 2, app
        for m in ms:
            sd = m["structured-data"]
            assert sd.startswith("[vigil@32473 "), sd
            assert f'rule="{rule}"' in sd
            assert 'priority="Error"' in sd
            assert 'tags="mitre_execution"' in sd
            assert 'container_id="fedcba987654"' in sd
            assert 'fd.name="/etc/shadow"' in sd and 'proc.name="cat"' in sd
            assert m["syslogseverity"] == "3", "error is severity 3"
            assert m["protocol-version"] == "1"
            assert "Sensitive file opened for reading" in m["msg"]
    assert by_app["vigil-udp"][0]["syslogfacility"] == "19", "local3"
    assert by_app["vigil-tcp"][0]["syslogfacility"] == "1", "user (the default)"
    seqs = sorted(re.search(r'evt.num="(\d+)"', m["structured-data"]).group(1)
                  for m in by_app["vigil-tcp"])
    assert len(set(seqs)) == 2, "two distinct alerts over the octet-counted stream"
    stats = d.stop()
    for name in ("udp", "tcp", "unix"):
        assert stats["sinks"][name]["delivered"] == 2, stats


# ---- webhooks ----

def test_webhook_receives_the_falco_json(tmp_path, drivers, webhook, run_id):
    rule = f"E2E_Webhook_{run_id}"
    d = drivers(str(tmp_path), config(
        f"  - type: webhook\n    url: {webhook.url}\n"
        "    headers:\n      Authorization: Bearer e2e-token\n"), stdin=True)
    d.emit(3, rule, "notice", ["host", "T1059"])
    got = wait_until(lambda: len(webhook.alerts()) == 3 and webhook.alerts(), 10,
                     "3 alerts at the webhook")
    for i, a in enumerate(got, 1):
        assert set(a) == FALCO_KEYS, set(a)
        assert a["rule"] == rule
        assert a["priority"] == "Notice"
        assert a["source"] == "syscall"
        assert a["tags"] == ["host", "T1059"]
        assert a["output_fields"]["evt.num"] == i
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", a["time"])
    req = webhook.requests[0]
    assert req["path"] == "/alerts"
    assert req["headers"]["Authorization"] == "Bearer e2e-token"
    assert req["headers"]["Content-Type"] == "application/json"
    assert d.stop()["sinks"]["webhook"]["delivered"] == 3


def test_webhook_over_tls(tmp_path, drivers, run_id):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                        "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    hook = WebhookReceiver(certfile=cert, keyfile=key)
    try:
        rule = f"E2E_TLS_{run_id}"
        d = drivers(str(tmp_path), config(
            f"  - type: webhook\n    name: trusted\n    url: {hook.url}\n"
            f"    tls:\n      ca_file: {cert}\n",
            f"  - type: webhook\n    name: untrusted\n    url: {hook.url}\n    retries: 0\n"),
            stdin=True)
        d.emit(1, rule)
        wait_until(lambda: len(hook.alerts()) == 1, 10, "the alert over TLS")
        stats = d.stop()
        assert stats["sinks"]["trusted"]["delivered"] == 1
        assert stats["sinks"]["untrusted"]["failed"] == 1, "a self-signed server is refused"
        assert "tls" in d.log() or "certificate" in d.log(), d.log()
    finally:
        hook.stop()


def test_silent_webhook_does_not_delay_or_lose_other_alerts(tmp_path, drivers, webhook,
                                                           run_id):
    silent = SilentServer()
    try:
        path = tmp_path / "alerts.jsonl"
        d = drivers(str(tmp_path), config(
            f"  - type: webhook\n    name: silent\n    url: {silent.url}\n"
            "    timeout: 30s\n    retries: 3\n    queue_size: 20\n",
            f"  - type: webhook\n    name: live\n    url: {webhook.url}\n    batch: 50\n",
            f"  - type: file\n    path: {path}\n"), stdin=True)
        t0 = time.time()
        d.emit(300, f"E2E_Silent_{run_id}")
        wait_until(lambda: len(webhook.alerts()) == 300, 5, "300 alerts at the live webhook")
        wait_until(lambda: path.exists() and len(lines_of(path)) == 300, 5,
                   "300 lines in the file")
        assert time.time() - t0 < 5
        t1 = time.time()
        stats = d.stop()
        assert time.time() - t1 < 3 + 2, "shutdown waits shutdown_timeout, not the 30 s timeout"
        assert stats["sinks"]["live"]["delivered"] == 300
        assert stats["sinks"]["file"]["delivered"] == 300
        s = stats["sinks"]["silent"]
        assert s["delivered"] == 0
        assert s["dropped"] + s["failed"] == 300, s
        assert s["dropped"] >= 300 - 20 - 1, "the full queue dropped the oldest"
        nums = [a["output_fields"]["evt.num"] for a in lines_of(path)]
        assert nums == list(range(1, 301)), "in order, none lost"
    finally:
        silent.stop()


# ---- file ----

def test_file_rotation_under_a_burst_loses_no_line(tmp_path, drivers, run_id):
    path = tmp_path / "alerts.jsonl"
    d = drivers(str(tmp_path), config(
        f"  - type: file\n    path: {path}\n    max_size: 64K\n    backups: 100\n"
        "    queue_size: 20000\n"),
        ["--count", "10000", "--rule", f"E2E_Burst_{run_id}"])
    d.wait_line("emitted")
    stats = d.stop()
    assert stats["sinks"]["file"]["delivered"] == 10000, stats
    files = sorted((p for p in tmp_path.iterdir() if p.name.startswith("alerts.jsonl.")),
                   key=lambda p: -int(p.suffix[1:]))
    assert len(files) > 20
    nums = []
    for p in files + [path]:
        data = p.read_bytes()
        assert len(data) <= 64 * 1024, f"{p.name} has {len(data)} bytes"
        assert data.endswith(b"\n"), f"{p.name} ends in a partial line"
        nums += [json.loads(line)["output_fields"]["evt.num"] for line in data.splitlines()]
    assert nums == list(range(1, 10001)), "oldest backup to live file: every alert once, in order"


def test_disk_full_is_reported_and_vigil_keeps_running(tmp_path, drivers, webhook, run_id):
    if os.geteuid() != 0:
        pytest.fail("this test mounts a small tmpfs and needs root (sudo make test)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], check=True)
    d = None
    try:
        d = drivers(str(tmp_path), config(
            f"  - type: file\n    path: {mnt}/alerts.jsonl\n    max_size: 0\n",
            f"  - type: webhook\n    url: {webhook.url}\n"), stdin=True)
        d.emit(400, f"E2E_Full_{run_id}")
        wait_until(lambda: len(webhook.alerts()) == 400, 10, "the other sink keeps delivering")
        metrics = d.metrics_url

        def failures():
            body = http_get(metrics)[2].decode()
            m = re.search(r'vigil_output_failures_total\{sink="file",type="file",'
                          r'reason="disk_full"\} (\d+)', body)
            return m and int(m.group(1)) > 0 and body
        body = wait_until(failures, 10, "disk_full failures in /metrics")
        assert 'vigil_output_up{sink="file",type="file"} 0' in body
        assert http_get(metrics.rsplit("/", 1)[0] + "/healthz")[0] == 200
        d.emit(10, f"E2E_Full_{run_id}")  # still accepting alerts
        wait_until(lambda: len(webhook.alerts()) == 410, 10, "alerts after the disk filled")
        stats = d.stop()
        f = stats["sinks"]["file"]
        assert f["delivered"] + f["failed"] == 410 and f["failed"] > 0, f
        assert "No space left on device" in d.log()
        data = (mnt / "alerts.jsonl").read_bytes()
        assert data.endswith(b"\n") and len(data.splitlines()) == f["delivered"], \
            "whole lines only, one per delivered alert"
    finally:
        if d:
            d.kill()  # it holds the file open
        subprocess.run(["umount", str(mnt)], check=False)


# ---- Prometheus and the dashboard ----

def _dashboard_exprs():
    with open(os.path.join(DEPLOY, "grafana", "vigil.json")) as f:
        dash = json.load(f)
    exprs = []
    for p in dash["panels"]:
        for t in p.get("targets", []):
            exprs.append((p["title"], t["expr"]))
    return dash, exprs


def traffic_panel_titles(dash):
    """The titles of the panels in the dashboard's Traffic row."""
    rows = sorted((p["gridPos"]["y"], p["title"]) for p in dash["panels"] if p["type"] == "row")
    start = next(y for y, t in rows if t == "Traffic")
    end = min([y for y, _ in rows if y > start], default=1 << 30)
    return {p["title"] for p in dash["panels"]
            if p["type"] != "row" and start < p["gridPos"]["y"] < end}


def test_prometheus_scrapes_vigil_and_every_dashboard_query_has_data(tmp_path, drivers,
                                                                    prometheus, run_id):
    rule = f"E2E_Prometheus_{run_id}"
    d = drivers(str(tmp_path), config(f"  - type: file\n    path: {tmp_path}/a.jsonl\n"),
                ["--fake-agent", "--hold"], stdin=True)
    target = d.metrics_url.split("/")[2]
    job = f"vigil-{run_id}"
    prometheus.scrape(job, target, {"run": run_id})
    d.emit(7, rule, "error")
    # the counter the "Alerts by rule" panel is built on
    prometheus.wait_value(f'vigil_alerts_total{{job="{job}",rule="{rule}"}}', lambda v: v == 7)

    def substitute(e):
        """Grafana's interpolation of the dashboard's variables."""
        return (e.replace("$__rate_interval", "30s").replace("$job", job)
                .replace("$instance", ".+"))

    dash, exprs = _dashboard_exprs()
    assert len(exprs) >= 20
    parsed = promql_parse_errors([substitute(e) for _, e in exprs])
    bad = [(t, e, p["errors"]) for (t, e), p in zip(exprs, parsed) if p["errors"]]
    assert not bad, f"dashboard queries that do not parse: {bad}"
    # the variables' queries wrap a PromQL selector in label_values()
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*), *\w+\)", v["definition"]).group(1)
            assert not promql_parse_errors([inner.replace("$job", job)])[0]["errors"]

    time.sleep(4)  # rate() needs two samples in its window: scrapes come every second

    # the Traffic row's series exist only while traffic.enabled counts in the kernel:
    # test_traffic.py checks them against a real agent's /metrics
    traffic = traffic_panel_titles(dash)
    empty = []
    for title, e in exprs:
        if title not in traffic and not prometheus.query(substitute(e)):
            empty.append((title, e))
    assert not empty, f"dashboard queries without data: {empty}"
    by_rule = prometheus.query(substitute(
        'sum by (rule) (increase(vigil_alerts_total{job=~"$job"}[1m]))'))
    assert any(r["metric"].get("rule") == rule for r in by_rule)
    # the alerting rules loaded into this Prometheus, and are healthy
    groups = prometheus.api("rules")["groups"]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert "VigilOutputFailing" in rules and "VigilEventsLost" in rules
    assert all(r["health"] == "ok" for r in rules.values()), rules
    d.stop()
