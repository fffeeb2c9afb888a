"""Kill rules on calls that are neither exec, a file call nor connect, send or bind act
at the call's entry: the entry enforcer (raw sys_enter) is attached while such a rule is
in force and detached when none is. A blocking accept under such a rule dies at once
(a kill at its exit would wait for a client that never comes); a memfd_create never
returns to the program. The agents run as deployed (events=False)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import conftest

RULES = """
- rule: test kill accept
  desc: a server taking connections, by its name
  condition: evt.type in (accept, accept4) and proc.name = vg-acceptor
  output: "test accept by %proc.name"
  priority: CRITICAL
  actions: [kill]
- rule: test kill memfd
  desc: an anonymous executable file, by its name
  condition: evt.type = memfd_create and proc.name = vg-memfd
  output: "test memfd_create by %proc.name"
  priority: CRITICAL
  actions: [kill]
"""

NONE = """
- rule: test exec kill only
  desc: a kill rule decided at exec, not at a call's entry
  condition: evt.type = execve and proc.exepath = {d}/nothing-runs-this
  output: "test exec %proc.exepath"
  priority: CRITICAL
  actions: [kill]
"""

# the child names itself (comm) before the call the rule names
ACCEPTOR = r"""
import socket, sys
open("/proc/self/comm", "w").write("vg-acceptor")
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print("listening", flush=True)
s.accept()
open(sys.argv[1], "w").write("accepted")
"""

MEMFD = r"""
import os, sys
open("/proc/self/comm", "w").write("vg-memfd")
os.memfd_create("payload")
open(sys.argv[1], "w").write("returned")
"""


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)


@pytest.fixture(scope="module")
def agent():
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-entry-", dir="/var/tmp")
    os.chmod(d, 0o755)
    rules = os.path.join(d, "rules.yaml")
    _write(rules, RULES)
    v = conftest.Vigil(d, ["--rules", rules], events=False)
    yield v, d, rules
    rc = v.stop()
    shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


def _entry_attachments(v):
    st = subprocess.run([conftest.VIGIL, "status", "--json", "--socket", v.control_socket],
                        capture_output=True, text=True, timeout=30)
    assert st.returncode == 0, st.stderr
    progs = {p["name"]: p for p in json.loads(st.stdout)["programs"]}
    assert "vg_kill_enter" in progs, progs.keys()
    return progs["vg_kill_enter"]["attachments"]


def _action(v, rule):
    al = v.wait_alert(lambda a: a["rule"] == rule, what=rule)
    assert len(al["actions"]) == 1, al
    return al["actions"][0]


def test_a_blocking_accept_dies_at_its_entry(agent):
    v, d, _ = agent
    marker = os.path.join(d, "accepted")
    p = subprocess.Popen([sys.executable, "-c", ACCEPTOR, marker], stdout=subprocess.PIPE,
                         text=True)
    try:
        # no client ever connects: only a kill at the entry ends the wait
        assert p.stdout.readline().strip() == "listening"
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == -signal.SIGKILL, rc
    assert not os.path.exists(marker)
    act = _action(v, "test kill accept")
    assert act["kind"] == "kill" and act["taken"] is True and act["where"] == "kernel", act


def test_memfd_create_never_returns_to_the_program(agent):
    v, d, _ = agent
    marker = os.path.join(d, "returned")
    r = subprocess.run([sys.executable, "-c", MEMFD, marker], timeout=30)
    assert r.returncode == -signal.SIGKILL
    assert not os.path.exists(marker), "the program ran on after memfd_create"
    act = _action(v, "test kill memfd")
    assert act["kind"] == "kill" and act["taken"] is True and act["where"] == "kernel", act


def test_other_names_are_left_alone(agent):
    v, d, _ = agent
    r = subprocess.run([sys.executable, "-c", "import os; os.memfd_create('x')"], timeout=30)
    assert r.returncode == 0


def test_rules_list_says_the_kill_is_at_the_entry(agent):
    v, d, rules = agent
    out = subprocess.run([conftest.VIGIL, "rules", "list", rules], capture_output=True,
                         text=True, check=True).stdout
    assert "test kill accept: kill in kernel (at the syscall's entry)" in out, out


def test_the_entry_enforcer_runs_only_while_a_rule_needs_it(agent):
    v, d, rules = agent
    assert _entry_attachments(v) == 1
    _write(rules, NONE.format(d=d))
    r = subprocess.run([conftest.VIGIL, "reload", "--socket", v.control_socket],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert _entry_attachments(v) == 0
        # and the call runs unhindered
        r = subprocess.run([sys.executable, "-c", MEMFD, os.path.join(d, "after")], timeout=30)
        assert r.returncode == 0 and os.path.exists(os.path.join(d, "after"))
    finally:
        _write(rules, RULES)
        r = subprocess.run([conftest.VIGIL, "reload", "--socket", v.control_socket],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _entry_attachments(v) == 1
    r = subprocess.run([sys.executable, "-c", MEMFD, os.path.join(d, "again")], timeout=30)
    assert r.returncode == -signal.SIGKILL
