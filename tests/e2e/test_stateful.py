"""Stateful rules (vigil's extension: threshold, aggregate, sequence) end to end.

The three default rules built on them fire on real actions with vigil run as
deployed (alerts only, the kernel prefilter derived from the rules) and stay silent
on near misses: four discovery commands, a chmod'ed download that is never run, a
download that is run but is another file, a process reaching 19 ports. Then an agent
with rules of its own, recording what it sees: a burst of 200 matches of an
aggregate rule becomes one alert and one summary carrying the count; a sequence by
process tree joins a parent's download, its child's chmod and its grandchild's run
and not a stranger's; status and /metrics show each stateful rule's table; and
`vigil replay` of the recording gives the same stateful alerts as the live agent.
"""
import functools
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

import conftest
from conftest import VIGIL
from servers import metrics_text
from test_rules import fired, home, nonce, not_fired, of, run, rv  # noqa: F401 - fixtures


# ---------------------------------------------------------------------------
# the default rules
# ---------------------------------------------------------------------------

def sh_pid(script):
    """Runs script with sh; returns sh's pid (the parent of the commands it runs)."""
    pid, _ = run(["sh", "-c", script])
    return pid


def test_discovery_burst(rv):
    # near misses: four commands from one shell; a login shell starting and leaving
    near = sh_pid("uname -a >/dev/null; id >/dev/null; whoami >/dev/null; "
                  "hostname >/dev/null; true")
    login, _ = run(["bash", "-l", "-c", "true"])
    pid = sh_pid("uname -a >/dev/null; id >/dev/null; whoami >/dev/null; "
                 "hostname >/dev/null; cat /etc/os-release >/dev/null; true")
    a = fired(rv, "Discovery burst", proc_ppid=pid)
    assert of(a, "vigil.count") == 5, a
    assert sorted(of(a, "vigil.distinct")) == sorted(
        ["uname -a", "id", "whoami", "hostname", "cat /etc/os-release"]), a
    assert "(threshold: 5 distinct proc.cmdline" in a["output"], a["output"]
    not_fired(rv, "Discovery burst", proc_ppid=near)
    not_fired(rv, "Discovery burst", proc_ppid=login)


class FileServer:
    """An HTTP server on loopback serving the files of a directory."""

    def __init__(self, directory):
        handler = functools.partial(Quiet, directory=directory)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def served(workdir):
    """A loopback server of one program (a copy of true), and a directory in /tmp to
    download it to."""
    src = os.path.join(workdir, "srv")
    os.mkdir(src)
    shutil.copy("/bin/true", os.path.join(src, "tool"))
    dst = os.path.join("/tmp", nonce())
    os.mkdir(dst)
    s = FileServer(src)
    yield s, dst
    s.close()
    shutil.rmtree(dst, ignore_errors=True)


def steps_of(alert):
    return of(alert, "vigil.steps")


def test_ingress_tool_transfer_then_execution(rv, served, home):
    srv, dst = served
    # near miss 1: downloaded and made executable, never run
    idle = os.path.join(dst, "idle")
    run(["curl", "-sfo", idle, srv.url("tool")])
    run(["chmod", "+x", idle])
    # near miss 2: downloaded and made executable, but another file (not downloaded) runs
    dl, other = os.path.join(dst, "dl"), os.path.join(home, "other")
    run(["wget", "-q", "-O", dl, srv.url("tool")])
    run(["chmod", "755", dl])
    run(["cp", "/bin/true", other])
    run(["chmod", "755", other])
    run([other])
    # the attack: downloaded, chmod +x, run
    path = os.path.join(dst, "payload")
    run(["curl", "-sfo", path, srv.url("tool")])
    run(["chmod", "+x", path])
    pid, _ = run([path])
    a = fired(rv, "Ingress tool transfer then execution", proc_pid=pid, proc_exepath=path)
    steps = steps_of(a)
    assert [s["step"] for s in steps] == [1, 2, 3], steps
    assert steps[0]["proc.name"] == "curl" and steps[0]["fd.name"] == path, steps
    assert steps[1]["evt.type"] in ("chmod", "fchmodat", "fchmodat2"), steps
    assert steps[1]["fd.name"] == path and steps[1]["proc.name"] == "chmod", steps
    assert steps[2]["proc.exepath"] == path and steps[2]["proc.pid"] == pid, steps
    assert steps[0]["time"] <= steps[1]["time"] <= steps[2]["time"], steps
    assert "(sequence: 1) " in a["output"] and "; 3) " in a["output"], a["output"]
    not_fired(rv, "Ingress tool transfer then execution", proc_exepath=idle)
    not_fired(rv, "Ingress tool transfer then execution", proc_exepath=other)
    not_fired(rv, "Ingress tool transfer then execution", proc_exepath=dl)


FETCH = """
import os, sys, urllib.request
url, path = sys.argv[1], sys.argv[2]
data = urllib.request.urlopen(url).read()
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, data)
os.fchmod(fd, 0o700)            # by descriptor, not by name
os.close(fd)
pid = os.fork()
if pid == 0:
    os.execve(path, [path], {})
os.waitpid(pid, 0)
print(pid)
"""


def test_ingress_transfer_evasions(rv, served):
    """Another way: python fetches it (no curl), into /dev/shm, fchmod on its descriptor,
    and runs it from the same process."""
    srv, _ = served
    path = os.path.join("/dev/shm", nonce())
    try:
        _, out = run(["python3", "-c", FETCH, srv.url("tool"), path])
        pid = int(out.split()[-1])
        a = fired(rv, "Ingress tool transfer then execution", proc_pid=pid, proc_exepath=path)
        steps = steps_of(a)
        assert steps[0]["proc.name"] == "python3" and steps[1]["fd.name"] == path, steps
    finally:
        if os.path.exists(path):
            os.unlink(path)


SWEEP_UDP = """
import socket, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
for port in range(base, base + n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    s.close()
"""


def test_outbound_port_sweep_over_udp(rv):
    base = free_ports(25)
    pid, _ = run(["python3", "-c", SWEEP_UDP, str(base), "22"])
    a = fired(rv, "Outbound port sweep", proc_pid=pid)
    assert of(a, "vigil.count") == 20, a


SWEEP = """
import socket, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
for port in range(base, base + n):
    s = socket.socket()
    s.settimeout(1)
    s.connect_ex(("127.0.0.1", port))
    s.close()
"""


def free_ports(n):
    """A base port with n ports above it nothing is bound to on loopback (connects to
    them are refused). Found by binding, not connecting: this process must not sweep."""
    for base in range(41000, 60000, 97):
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    pytest.fail("no run of free loopback ports")


def test_outbound_port_sweep(rv):
    base = free_ports(25)
    near, _ = run(["python3", "-c", SWEEP, str(base), "19"])
    pid, _ = run(["python3", "-c", SWEEP, str(base), "25"])
    a = fired(rv, "Outbound port sweep", proc_pid=pid)
    assert of(a, "vigil.count") == 20, a
    assert len(of(a, "vigil.distinct")) == 20, a
    assert set(of(a, "vigil.distinct")) <= {str(p) for p in range(base, base + 25)}, a
    not_fired(rv, "Outbound port sweep", proc_pid=near)


# ---------------------------------------------------------------------------
# rules of our own, on an agent that records
# ---------------------------------------------------------------------------

OWN_RULES = """
- rule: Writes merged
  desc: repeated writes of one file, one alert per window
  condition: >
    evt.type in (open, openat, openat2, creat) and evt.is_open_write = true
    and fd.name startswith {dir}/agg-
  output: "written %fd.name by %proc.name"
  priority: WARNING
  aggregate: {{within: 3s, by: [fd.name]}}

- rule: Staged and run in one tree
  desc: a file written, made executable and run by a process and its descendants
  sequence:
    by: tree
    within: 60s
    steps:
      - condition: >
          evt.type in (open, openat, openat2, creat) and evt.is_open_write = true
          and fd.name startswith {dir}/tree-
      - condition: evt.type in (chmod, fchmodat, fchmodat2) and fd.name startswith {dir}/tree-
        same: {{fd.name: fd.name}}
      - condition: evt.type = execve and proc.exepath startswith {dir}/tree-
        same: {{fd.name: proc.exepath}}
  output: "staged and run %proc.exepath"
  priority: WARNING

- rule: Reads counted
  desc: three reads of files of the directory by one process within 5 s
  condition: >
    evt.type in (open, openat) and evt.is_open_read = true and fd.name startswith {dir}/cnt-
  output: "read %fd.name"
  priority: WARNING
  threshold: {{count: 3, within: 5s, by: [proc.pid], distinct: fd.name}}
"""


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    conftest._check_can_run()
    d = str(tmp_path_factory.mktemp("vigil-stateful"))
    files = os.path.join(d, "files")
    os.mkdir(files)
    rules = os.path.join(d, "own.yaml")
    with open(rules, "w") as f:
        f.write(OWN_RULES.format(dir=files))
    os.chmod(rules, 0o644)
    rec = os.path.join(d, "rec.vgl")
    v = conftest.Vigil(d, ["--rules", rules, "--record", rec], events=False)
    v.files, v.rules, v.rec = files, rules, rec
    yield v
    if v.proc.poll() is None:
        v.stop()


def own_alerts(v, rule):
    return [a for a in v.alerts() if a["rule"] == rule]


def test_aggregate_merges_a_burst(own):
    path = os.path.join(own.files, "agg-" + nonce())
    script = (f"import os\nfor i in range(200):\n"
              f"    fd = os.open({path!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n"
              f"    os.close(fd)\n")
    run(["python3", "-c", script])
    first = fired(own, "Writes merged", fd_name=path)
    assert of(first, "vigil.count") is None, "the first match alerts as it is"
    # the window (3 s) closes with no further event for it: the agent's tick sends the
    # summary, with the count of every match in the window
    summary = own.wait_alert(lambda a: a["rule"] == "Writes merged" and
                             of(a, "fd.name") == path and of(a, "vigil.aggregated"),
                             15, "the summary")
    got = [a for a in own_alerts(own, "Writes merged") if of(a, "fd.name") == path]
    assert len(got) == 2, [a["output"] for a in got]
    assert of(summary, "vigil.count") == 200, summary
    assert of(summary, "vigil.first_time") <= of(summary, "vigil.last_time")
    assert "aggregated: 200 matches" in summary["output"], summary["output"]


TREE = """
import os, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, open("/bin/true", "rb").read())
os.close(fd)
if os.fork() == 0:              # the child makes it executable
    os.chmod(path, 0o755)
    if os.fork() == 0:          # the grandchild runs it
        os.execv(path, [path])
    os.wait()
    os._exit(0)
os.wait()
"""


def test_sequence_by_tree(own):
    hit = os.path.join(own.files, "tree-" + nonce())
    pid, _ = run(["python3", "-c", TREE, hit])
    a = own.wait_alert(lambda a: a["rule"] == "Staged and run in one tree" and
                       of(a, "proc.exepath") == hit, 15, "the tree sequence")
    steps = of(a, "vigil.steps")
    assert steps[0]["proc.pid"] == pid, steps
    assert steps[1]["proc.pid"] != pid and steps[2]["proc.pid"] not in (pid, steps[1]["proc.pid"])
    # near miss: another process (not a descendant of the writer) chmods and runs it
    near = os.path.join(own.files, "tree-" + nonce())
    run(["python3", "-c", f"open({near!r}, 'wb').write(open('/bin/true', 'rb').read())"])
    run(["chmod", "+x", near])
    run([near])
    # a later alert of this agent is the barrier
    marker = os.path.join(own.files, "agg-" + nonce())
    run(["python3", "-c", f"open({marker!r}, 'w')"])
    own.wait_alert(lambda a: of(a, "fd.name") == marker, 15, "the barrier")
    time.sleep(0.3)
    assert not [a for a in own_alerts(own, "Staged and run in one tree")
                if of(a, "proc.exepath") == near]


def test_threshold_and_the_tables_in_status_and_metrics(own):
    names = [os.path.join(own.files, f"cnt-{nonce()}") for _ in range(3)]
    for n in names:
        open(n, "w").close()
    # a first step of the tree sequence: a partial match in its table
    open(os.path.join(own.files, "tree-" + nonce()), "w").close()
    run(["cat", *names])
    a = fired(own, "Reads counted", pred=lambda a: sorted(of(a, "vigil.distinct")) == sorted(names))
    assert of(a, "vigil.count") == 3, a
    st = json.loads(subprocess.run([VIGIL, "status", "--socket", own.control_socket, "--json"],
                                   check=True, capture_output=True, text=True).stdout)
    tables = {t["rule"]: t for t in st["stateful_rules"]}
    assert set(tables) == {"Writes merged", "Staged and run in one tree", "Reads counted"}
    assert tables["Reads counted"]["kind"] == "threshold"
    assert tables["Staged and run in one tree"]["entries"] >= 1
    assert all(t["evictions"] == 0 for t in tables.values())
    deadline = time.time() + 10
    while 'vigil_rule_state_entries{rule="Staged and run in one tree"}' not in metrics_text(own):
        assert time.time() < deadline, metrics_text(own)
        time.sleep(0.5)
    assert 'vigil_rule_state_evictions_total{rule="Reads counted"} 0' in metrics_text(own)


def stateful_view(alerts):
    """What a stateful alert decided: rule, count, distinct values, steps' events, the
    span of its window, its text. Absolute times are left out: a recording converts boot
    time to wall time with the offset of its start, the live agent with one it resyncs
    every second, and the two may differ by a few nanoseconds."""
    out = []
    for a in alerts:
        steps = [{k: v for k, v in st.items() if k != "time"}
                 for st in of(a, "vigil.steps") or []]
        first, last = of(a, "vigil.first_time"), of(a, "vigil.last_time")
        text = re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+Z|\d\d:\d\d:\d\d\.\d{6}", "T",
                      a["output"])
        out.append(json.dumps([a["rule"], of(a, "vigil.count"), of(a, "vigil.distinct"), steps,
                               last - first if first and last else None, text],
                              sort_keys=True))
    return sorted(out)


def test_replay_gives_the_same_stateful_alerts(own):
    """Windows run on the events' own times: the recording replayed gives what the agent
    gave live (its pending aggregates are summarised at stop, as at the recording's end)."""
    path = os.path.join(own.files, "agg-" + nonce())
    for _ in range(5):
        open(path, "w").close()
    fired(own, "Writes merged", fd_name=path)
    assert own.stop() == 0, own.stderr()
    live = stateful_view(own.alerts())
    assert any(json.loads(r)[:2] == ["Writes merged", 5] for r in live), live
    p = subprocess.run([VIGIL, "replay", own.rec, "--rules", own.rules], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    replayed = stateful_view([json.loads(line) for line in p.stdout.splitlines()
                              if line.startswith("{")])
    assert replayed == live
