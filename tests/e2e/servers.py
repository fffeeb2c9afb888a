"""Real integration servers on loopback for the end-to-end tests: Prometheus,
Alertmanager, rsyslog, HTTP webhook receivers (plain, TLS, and one that never
answers), and the PromQL parser used to check dashboard queries.

Each server runs in the foreground as a child of the test process, by pid, with its
data in a fresh temporary directory and on ports picked free at start. The pytest
fixtures at the bottom start each server once per session; import them into a test
module (or a conftest) with `from servers import *`.

Facts this relies on are in ../shared/notes/integration-servers.md: Alertmanager
needs --cluster.listen-address= to stay off 0.0.0.0:9094; Prometheus scrapes a new
target only seconds after a reload, so callers poll; rsyslog needs a work directory
and a larger maxMessageSize; the local socket input must not take over /dev/log.
"""
import http.server
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(REPO, "build"))
DEPLOY = os.path.join(REPO, "deploy")
# pinned so a new release cannot change what "parses" means under us
LEZER_PROMQL = "@prometheus-io/lezer-promql@0.315.0"

__all__ = [
    "free_port", "http_get", "wait_until", "Prometheus", "Alertmanager", "Rsyslog",
    "WebhookReceiver", "SilentServer", "promql_parse_errors", "run_id", "prometheus",
    "alertmanager", "rsyslog", "webhook", "REPO", "BUILD", "DEPLOY",
]


def free_port():
    """A TCP and UDP port free on 127.0.0.1 right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue


def http_get(url, timeout=5.0):
    """(status, headers, body bytes) of a GET; HTTP errors are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def metrics_text(v):
    """The /metrics page of the running agent v (its port from its start-up line)."""
    m = re.search(r"vigil: metrics on http://\S+ \(port (\d+)\)", v.stderr())
    assert m, v.stderr()
    status, _, body = http_get(f"http://127.0.0.1:{m.group(1)}/metrics")
    assert status == 200
    return body.decode()


def wait_until(pred, timeout, what, interval=0.2):
    """pred()'s first truthy value, polled until timeout; fails the test after it."""
    deadline = time.time() + timeout
    last_err = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, ValueError, KeyError) as e:
            last_err = e
        if time.time() > deadline:
            pytest.fail(f"{what}: not within {timeout} s" + (f" (last error: {last_err})"
                                                             if last_err else ""))
        time.sleep(interval)


class Server:
    """A server process run in the foreground, stopped by its own pid."""

    binary = None

    def __init__(self, workdir):
        self.dir = workdir
        self.proc = None
        self.log_path = os.path.join(workdir, "server.log")

    def _start(self, cmd):
        path = shutil.which(cmd[0])
        if not path:
            pytest.fail(f"{cmd[0]} is not installed: run 'make deps' (scripts/deps.sh)")
        self.binary = path
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.dir, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _is_ours(self):
        """The pid still runs the binary we started (guards against pid reuse)."""
        try:
            with open(f"/proc/{self.proc.pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
        except OSError:
            return False
        return os.path.basename(argv0) == os.path.basename(self.binary)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None and self._is_ours():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        self.proc = None

    def _wait_ready(self, url, timeout=60):
        def ready():
            if not self.alive():
                pytest.fail(f"{os.path.basename(self.binary)} exited:\n{self.log()}")
            return http_get(url, timeout=2)[0] == 200
        wait_until(ready, timeout, f"{url} ready")


class Prometheus(Server):
    """Prometheus 2.x with lifecycle API; scrape targets are added by reloading."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(workdir, "prometheus.yml")
        self.data = os.path.join(workdir, "data")
        self.jobs = {}
        self.rule_files = [os.path.join(DEPLOY, "prometheus", "vigil-alerts.yml")]

    def _write_config(self):
        cfg = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                       "scrape_timeout": "1s"},
            "rule_files": self.rule_files,
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [t], "labels": labels}]}
                for job, (t, labels) in self.jobs.items()],
        }
        with open(self.config, "w") as f:
            json.dump(cfg, f)  # JSON is YAML

    def start(self):
        shutil.rmtree(self.data, ignore_errors=True)  # an old sample could pass a check
        self._write_config()
        self._start(["prometheus", f"--config.file={self.config}",
                     f"--storage.tsdb.path={self.data}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-lifecycle",
                     "--rules.alert.resend-delay=2s"])
        self._wait_ready(self.url + "/-/ready")
        return self

    def scrape(self, job, target, labels=None):
        """Adds (or replaces) a scrape job and waits until its first scrape succeeded."""
        self.jobs[job] = (target, labels or {})
        self._write_config()
        req = urllib.request.Request(self.url + "/-/reload", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200

        def up():
            for t in self.api("targets")["activeTargets"]:
                if t["labels"].get("job") == job and t["health"] == "up":
                    return t
            return None
        return wait_until(up, 30, f"Prometheus scraping {target} as job {job}")

    def api(self, path, **params):
        q = urllib.parse.urlencode(params)
        status, _, body = http_get(f"{self.url}/api/v1/{path}" + (f"?{q}" if q else ""))
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise ValueError(f"{path} {params}: HTTP {status}: {doc.get('error', body[:300])}")
        return doc["data"]

    def query(self, expr):
        """The instant vector (list of {metric, value}) or scalar of expr."""
        return self.api("query", query=expr)["result"]

    def wait_value(self, expr, pred, timeout=30):
        def check():
            r = self.query(expr)
            return r if r and pred(float(r[0]["value"][1])) else None
        return wait_until(check, timeout, f"{expr} to reach the expected value")


class Alertmanager(Server):
    """Alertmanager 0.25 with a receiver that notifies no one; alerts are read back."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(workdir, "alertmanager.yml")

    def start(self):
        with open(self.config, "w") as f:
            json.dump({"route": {"receiver": "none", "group_wait": "1s"},
                       "receivers": [{"name": "none"}]}, f)
        self._start(["prometheus-alertmanager", f"--config.file={self.config}",
                     f"--storage.path={os.path.join(self.dir, 'data')}",
                     f"--web.listen-address=127.0.0.1:{self.port}",
                     "--cluster.listen-address="])
        self._wait_ready(self.url + "/-/ready")
        return self

    def alerts(self, **labels):
        """Alerts whose labels equal the given ones."""
        filt = [f'{k}="{v}"' for k, v in labels.items()]
        q = urllib.parse.urlencode([("filter", f) for f in filt])
        status, _, body = http_get(f"{self.url}/api/v2/alerts?{q}")
        assert status == 200, body
        return json.loads(body)


class Rsyslog(Server):
    """rsyslogd listening on UDP and TCP (same port) and on a private unix socket,
    writing every message as RFC 5424 text and as rsyslog's JSON (jsonmesg)."""

    def __init__(self, workdir):
        super().__init__(workdir)
        self.port = free_port()
        self.socket = os.path.join(workdir, "log.sock")
        self.config = os.path.join(workdir, "rsyslog.conf")
        self.json_path = os.path.join(workdir, "messages.json")
        self.text_path = os.path.join(workdir, "messages.log")

    def start(self):
        os.makedirs(os.path.join(self.dir, "work"), exist_ok=True)
        with open(self.config, "w") as f:
            f.write(f"""
global(workDirectory="{self.dir}/work" maxMessageSize="64k")
module(load="imudp")
module(load="imtcp")
module(load="imuxsock" SysSock.Use="off")
template(name="Json" type="list") {{ property(name="jsonmesg") constant(value="\\n") }}
ruleset(name="t") {{
  action(type="omfile" file="{self.text_path}" template="RSYSLOG_SyslogProtocol23Format"
         flushOnTXEnd="on" asyncWriting="off")
  action(type="omfile" file="{self.json_path}" template="Json" flushOnTXEnd="on"
         asyncWriting="off")
}}
input(type="imudp" address="127.0.0.1" port="{self.port}" ruleset="t")
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="t")
input(type="imuxsock" socket="{self.socket}" ruleset="t" useSpecialParser="off"
      parseHostname="on")
""")
        check = subprocess.run(["rsyslogd", "-N1", "-f", self.config], capture_output=True,
                               text=True)
        assert check.returncode == 0, f"rsyslog rejects its config:\n{check.stderr}"
        self._start(["rsyslogd", "-n", "-f", self.config, "-i",
                     os.path.join(self.dir, "rsyslogd.pid")])
        probe = f"probe-{uuid.uuid4().hex}"

        def probed():
            if not self.alive():
                pytest.fail(f"rsyslogd exited:\n{self.log()}")
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
                s.sendall(f"<13>1 - - probe - - - {probe}\n".encode())
            return any(probe in m.get("msg", "") for m in self.messages())
        wait_until(probed, 30, "rsyslog to log a probe message", interval=0.5)
        return self

    def messages(self):
        """Every message logged so far, as rsyslog's JSON objects."""
        try:
            with open(self.json_path, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: without this, Nagle's algorithm and the
    # client's delayed ACK add 40 ms to every request on a kept-alive connection
    disable_nagle_algorithm = True

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        srv = self.server.receiver
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": dict(self.headers),
                                 "body": body})
            status = srv.statuses.pop(0) if srv.statuses else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that goes away mid-request is the sink's business, not the test's


class WebhookReceiver:
    """An HTTP (or HTTPS, with certfile/keyfile) server recording every POST."""

    def __init__(self, certfile=None, keyfile=None):
        self.requests = []
        self.statuses = []  # answers to the next requests; then 200
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.receiver = self
        scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile, keyfile)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.port = self.httpd.server_address[1]
        self.url = f"{scheme}://127.0.0.1:{self.port}/alerts"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self):
        """Every alert received, batches (JSON arrays) flattened."""
        out = []
        with self.lock:
            for r in self.requests:
                doc = json.loads(r["body"])
                out.extend(doc if isinstance(doc, list) else [doc])
        return out

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SilentServer:
    """Accepts TCP connections (the kernel does, from the backlog) and never answers:
    the slowest possible webhook."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/never"

    def stop(self):
        self.sock.close()


def _lezer_dir():
    """node_modules with @prometheus-io/lezer-promql, installed on first use."""
    prefix = os.path.join(BUILD, "e2e-node")
    if not os.path.isdir(os.path.join(prefix, "node_modules", "@prometheus-io", "lezer-promql")):
        if not shutil.which("npm"):
            pytest.fail("npm is missing: run 'make deps' (scripts/deps.sh installs nodejs)")
        os.makedirs(prefix, exist_ok=True)
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", prefix,
                            LEZER_PROMQL], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"npm install {LEZER_PROMQL} failed:\n{r.stderr[-2000:]}"
    return prefix


_PARSE_JS = r"""
const { parser } = require("@prometheus-io/lezer-promql");
const exprs = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = exprs.map((e) => {
  const tree = parser.parse(e);
  const errs = [];
  tree.iterate({ enter: (n) => { if (n.type.isError) errs.push(n.from); } });
  const top = tree.topNode.firstChild;
  return { errors: errs, top: top ? top.name : null };
});
process.stdout.write(JSON.stringify(out));
"""


def promql_parse_errors(exprs):
    """For each expression, the offsets of PromQL syntax errors (empty: it parses)."""
    prefix = _lezer_dir()
    r = subprocess.run(["node", "-e", _PARSE_JS], input=json.dumps(exprs), capture_output=True,
                       text=True, timeout=60, cwd=prefix,
                       env={**os.environ, "NODE_PATH": os.path.join(prefix, "node_modules")})
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


# ---- fixtures: one server of each kind per test session ----

@pytest.fixture(scope="session")
def run_id():
    """Unique per test run, for rule names and labels, so no old data can match."""
    return uuid.uuid4().hex[:10]


def _serve(cls, tmp_path_factory, name):
    s = cls(str(tmp_path_factory.mktemp(name)))
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory):
    yield from _serve(Prometheus, tmp_path_factory, "prometheus")


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory):
    yield from _serve(Alertmanager, tmp_path_factory, "alertmanager")


@pytest.fixture(scope="session")
def rsyslog(tmp_path_factory):
    yield from _serve(Rsyslog, tmp_path_factory, "rsyslog")


@pytest.fixture()
def webhook():
    w = WebhookReceiver()
    yield w
    w.stop()
