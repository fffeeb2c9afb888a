"""The control socket of a running agent: `vigil status`, `vigil reload`, `vigil actions`;
the socket's mode, refusal of other users, a stalled client that holds nothing up, a
second agent on the same socket, and the CLI's messages when no agent runs."""
import json
import os
import re
import socket
import stat
import subprocess
import time
import urllib.request

from conftest import VIGIL, Vigil, helper

RULE = """
- rule: {name}
  desc: control socket test
  condition: evt.type in (open, openat) and fd.name = {path}
  output: {name} (file=%fd.name pid=%proc.pid)
  priority: WARNING
  tags: [test]
"""

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def cli(*args, user=(), timeout=60):
    return subprocess.run([*user, VIGIL, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def status(sock):
    p = cli("status", "--socket", sock, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def touch(path):
    """Opens path for reading in a helper; returns its pid."""
    out = subprocess.run([helper("file_probe"), "openat", "-", path, str(os.O_RDONLY)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["pid"]


def agent(workdir, rules):
    sock = os.path.join(workdir, "run", "vigil.sock")
    v = Vigil(workdir, ["--rules", rules, "--control-socket", sock], events=False)
    return v, sock


def setup_files(workdir):
    workdir = os.path.realpath(workdir)
    files = []
    for name in ("one.txt", "two.txt"):
        files.append(os.path.join(workdir, name))
        with open(files[-1], "w") as f:
            f.write("x")
    rules = os.path.join(workdir, "rules", "rules.yaml")
    os.makedirs(os.path.dirname(rules))
    write(rules, RULE.format(name="Ctl one", path=files[0]))
    return rules, files


def test_status_shows_the_agent(workdir):
    rules, _ = setup_files(workdir)
    v, sock = agent(workdir, rules)
    try:
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
        s = status(sock)
        assert s["ok"] is True and s["verb"] == "status"
        assert s["mode"] == "enforce" and s["pid"] == v.proc.pid and s["version"]
        assert s["rules"]["loaded"] == 1 and s["rules"]["active"] == 1
        assert s["rule_files"] == [rules]
        progs = {p["name"]: p for p in s["programs"]}
        assert progs["vg_exec"]["enabled"] and progs["vg_exec"]["attachments"] >= 1
        assert progs["vg_exec"]["kind"] == "tracepoint"
        assert s["programs_enabled"] == sum(p["enabled"] for p in s["programs"]) > 0
        assert s["kernel_features"]["tracepoint"] is True
        # what each feature is used for, and why not: probed for real at start
        use = s["kernel_feature_use"]
        assert set(use) == set(s["kernel_features"])
        assert use["tracepoint"] == {"available": True, "used": True}
        for name in ("fentry", "kprobe"):
            assert use[name]["used"] is False and use[name]["why"], use[name]
        if use["lsm"]["available"]:
            assert use["lsm"]["used"] is True, use["lsm"]
        else:
            assert use["lsm"]["used"] is False and use["lsm"]["error"], use["lsm"]
            assert not progs["vg_lsm_open"]["enabled"]
            assert "refused by this kernel: lsm programs" in progs["vg_lsm_open"]["why"]
        assert {"name": "events", "type": "ringbuf", "max_entries": s["ringbuf"]["size"]} \
            in s["maps"]
        assert s["processes"]["live"] > 0 and s["processes"]["max"] > 0
        ex = [e for e in s["events"] if e["type"] == "exec"][0]
        assert ex["seen"] >= ex["sent"] > 0 and ex["lost"] == 0
        assert s["recent_actions"] == []
        # the readable form
        p = cli("status", "--socket", sock)
        assert p.returncode == 0, p.stderr
        assert "mode: enforce" in p.stdout and "  - name=vg_exec kind=tracepoint" in p.stdout
        assert re.search(r"^rules: enabled=true loaded=1 active=1", p.stdout, re.M), p.stdout
        # actions: none yet, in both forms
        p = cli("actions", "5", "--socket", sock, "--json")
        assert p.returncode == 0 and json.loads(p.stdout) == {"verb": "actions", "actions": [],
                                                             "ok": True}
        p = cli("actions", "--socket", sock)
        assert p.returncode == 0 and p.stdout == "actions: (none)\n"
        p = cli("actions", "0", "--socket", sock)
        assert p.returncode == 2 and "N must be a number from 1 to" in p.stderr
        # every request is counted by verb and result
        port = re.search(r"\(port (\d+)\)", v.stderr()).group(1)
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        m = re.search(r'^vigil_control_requests_total\{verb="status",result="ok"\} (\d+)',
                      text, re.M)
        assert m and int(m.group(1)) >= 2, text
    finally:
        assert v.stop() == 0, v.stderr()
    assert not os.path.exists(sock), "the socket is removed at stop"


def test_other_users_are_refused(workdir):
    rules, _ = setup_files(workdir)
    v, sock = agent(workdir, rules)
    try:
        # the socket's mode alone keeps them out
        os.chmod(workdir, 0o755)
        p = cli("status", "--socket", sock, user=NOBODY)
        assert p.returncode == 1
        assert f"permission denied on {sock}" in p.stderr, p.stderr
        # and the peer's uid, should the mode be loosened
        os.chmod(os.path.dirname(sock), 0o755)
        os.chmod(sock, 0o666)
        p = cli("status", "--socket", sock, user=NOBODY)
        assert p.returncode == 1
        assert "serves uid 0 only (uid 65534 refused)" in p.stderr, p.stderr
        p = cli("reload", "--socket", sock, user=NOBODY)
        assert p.returncode == 1 and "refused" in p.stderr
        s = status(sock)
        assert s["control"]["refused"] == 2 and s["rules"]["reloads"] == 0
    finally:
        assert v.stop() == 0, v.stderr()


def test_a_stalled_client_holds_nothing_up(workdir):
    rules, _ = setup_files(workdir)
    v, sock = agent(workdir, rules)
    try:
        quiet = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        quiet.connect(sock)
        quiet.sendall(b"stat")  # and never the rest of the line
        t = time.time()
        s = status(sock)
        assert time.time() - t < 2
        assert s["ok"]
        time.sleep(0.5)
        assert quiet.recv(100) == b"", "dropped without a reply"
        quiet.close()
        assert status(sock)["control"]["stalled"] == 1
    finally:
        assert v.stop() == 0, v.stderr()


def test_reload_puts_new_rules_in_force_or_keeps_the_old(workdir):
    rules, (one, two) = setup_files(workdir)
    v, sock = agent(workdir, rules)
    try:
        pid = touch(one)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == pid)
        write(rules, RULE.format(name="Ctl one", path=one) + RULE.format(name="Ctl two",
                                                                         path=two))
        p = cli("reload", "--socket", sock)
        assert p.returncode == 0, p.stderr
        assert "rules reloaded and in force" in p.stdout and "rules_loaded: 2" in p.stdout
        # in force when the reply came: the new rule fires at once
        pid = touch(two)
        al = v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == pid)
        assert al["rule"] == "Ctl two"
        s = status(sock)
        assert s["rules"]["loaded"] == 2 and s["rules"]["reloads"] >= 1
        # a broken file: exit 1 with the rules' error; the running rules stay
        write(rules, RULE.format(name="Ctl one", path=one) + "\n- rule: broken\n  condition: (\n")
        p = cli("reload", "--socket", sock)
        assert p.returncode == 1
        assert "the rules did not load; the running rules stay" in p.stderr, p.stderr
        assert f"{rules}:" in p.stderr, "the error names the file"
        p = cli("reload", "--socket", sock, "--json")
        assert p.returncode == 1
        reply = json.loads(p.stdout)
        assert reply["ok"] is False and f"{rules}:" in reply["error"]
        assert reply["rules_loaded"] == 2
        pid = touch(two)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == pid)
        assert status(sock)["rules"]["reload_errors"] >= 2
    finally:
        assert v.stop() == 0, v.stderr()


def test_a_second_agent_on_the_socket_fails_to_start(workdir):
    rules, _ = setup_files(workdir)
    v, sock = agent(workdir, rules)
    try:
        p = cli("run", "--no-rules", "--metrics-listen", "off", "--control-socket", sock)
        assert p.returncode == 1
        assert f"another vigil is running on {sock}" in p.stderr, p.stderr
        assert status(sock)["pid"] == v.proc.pid, "the first one still serves"
    finally:
        assert v.stop() == 0, v.stderr()
    # a socket left behind by a dead agent is replaced
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    v = Vigil(workdir, ["--no-rules", "--control-socket", sock], events=False)
    try:
        assert status(sock)["pid"] == v.proc.pid
    finally:
        assert v.stop() == 0, v.stderr()


def test_no_agent_is_a_clear_message(workdir):
    sock = os.path.join(workdir, "none", "vigil.sock")
    for verb in ("status", "reload", "actions"):
        p = cli(verb, "--socket", sock)
        assert p.returncode == 1
        assert f"vigil {verb}: vigil is not running (no control socket at {sock})" in p.stderr
    p = cli("status", "extra", "--socket", sock)
    assert p.returncode == 2 and "usage: vigil status" in p.stderr
