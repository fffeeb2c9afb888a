"""The rules in the running agent: alerts, hot reload without losing events, a
broken reload that keeps the old rules, the kernel prefilter derived from the
rules (never dropping an event a rule matches), record/replay, rules check."""
import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import VIGIL, Vigil, helper

RULES_A = """
- rule: Watched read
  desc: test rule
  condition: evt.type in (open, openat) and fd.name = {watched}
  output: watched file read (file=%fd.name proc=%proc.name pid=%proc.pid)
  priority: WARNING
  tags: [test, mitre_discovery, T1083]
"""

RULES_B = """
- rule: Watched dir write
  desc: test rule B
  condition: evt.type in (open, openat) and fd.name startswith {prefix} and evt.is_open_write=true
  output: write below the watched dir (file=%fd.name)
  priority: ERROR
  tags: [test, mitre_persistence, T1546]
"""

# several event types and fields, so the derived prefilter has work on each
RULES_MIX = """
- list: mix_ports
  items: [{port}]
- macro: mix_open
  condition: evt.type in (open, openat, openat2)
- rule: Mix read below dir
  desc: prefix rule
  condition: mix_open and fd.name startswith {prefix}/secret
  output: read %fd.name
  priority: WARNING
  tags: [test]
- rule: Mix exact file
  desc: exact rule
  condition: mix_open and fd.name in ({prefix}/exact.txt, {outside})
  output: exact %fd.name
  priority: WARNING
  tags: [test]
- rule: Mix unlink
  desc: unlink rule
  condition: evt.type in (unlink, unlinkat) and fd.name pmatch ({prefix}/gone)
  output: unlink %fd.name
  priority: WARNING
  tags: [test]
- rule: Mix connect
  desc: port rule
  condition: evt.type = connect and fd.sport in (mix_ports)
  output: connect %fd.name
  priority: WARNING
  tags: [test]
- rule: Mix exec
  desc: exec rule
  condition: evt.type = execve and proc.name = mixmarker
  output: exec %proc.cmdline
  priority: WARNING
  tags: [test]
"""


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def probe(*args):
    out = subprocess.run([helper("file_probe"), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def wait_stderr(v, text, timeout=10):
    deadline = time.time() + timeout
    while text not in v.stderr():
        assert time.time() < deadline, f"no '{text}' in vigil's stderr:\n{v.stderr()}"
        time.sleep(0.05)


@pytest.fixture()
def watched(workdir):
    d = os.path.join(os.path.realpath(workdir), "watched")
    os.makedirs(d)
    f = os.path.join(d, "file.txt")
    with open(f, "w") as fh:
        fh.write("x")
    return d, f


def test_alert_shape_and_reload_keeps_old_rules_on_error(workdir, watched):
    d, f = watched
    rules = os.path.join(workdir, "rules.yaml")
    write(rules, RULES_A.format(watched=f))
    v = Vigil(workdir, ["--rules", rules], events=False)
    try:
        one = probe("openat", "-", f, os.O_RDONLY)
        al = v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == one["pid"])
        assert al["rule"] == "Watched read" and al["priority"] == "Warning"
        assert al["source"] == "syscall" and al["output_fields"]["fd.name"] == f
        assert "T1083" in al["tags"] and al["hostname"]
        assert al["output"].endswith(f"watched file read (file={f} proc=file_probe pid={one['pid']})")
        # a broken file: the error is reported, the old rules keep running
        write(rules, RULES_A.format(watched=f) + "\n- rule: broken\n  condition: (\n")
        wait_stderr(v, "the running rules stay")
        assert f"{rules}:" in v.stderr(), "the error names the file"
        two = probe("openat", "-", f, os.O_RDONLY)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == two["pid"])
        # a good file replaces them
        write(rules, RULES_B.format(prefix=d))
        wait_stderr(v, "rules reloaded")
        probe("openat", "-", f, os.O_RDONLY)
        w = probe("openat", "-", os.path.join(d, "new.txt"), os.O_WRONLY | os.O_CREAT)
        al = v.wait_alert(lambda a: a["rule"] == "Watched dir write")
        assert al["output_fields"]["fd.name"] == os.path.join(d, "new.txt")
        time.sleep(0.5)
        late = [a for a in v.alerts() if a["rule"] == "Watched read" and
                a["output_fields"]["proc.pid"] not in (one["pid"], two["pid"])]
        assert late == [], "the removed rule still fired"
        assert w["ret"] >= 0
    finally:
        assert v.stop() == 0, v.stderr()


def test_reload_while_events_flow_loses_none(workdir, watched):
    d, f = watched
    rules = os.path.join(workdir, "rules.yaml")
    write(rules, RULES_A.format(watched=f))
    v = Vigil(workdir, ["--rules", rules], events=False)
    n = 3000
    try:
        storm = subprocess.Popen([helper("file_probe"), "storm", str(n), f],
                                 stdout=subprocess.PIPE, text=True)
        for _ in range(10):
            v.proc.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        out, _ = storm.communicate(timeout=60)
        pid = json.loads(out)["pid"]
        deadline = time.time() + 20
        while len([a for a in v.alerts() if a["output_fields"].get("proc.pid") == pid]) < n:
            assert time.time() < deadline, "alerts were lost across reloads"
            time.sleep(0.1)
    finally:
        assert v.stop() == 0
    got = [a for a in v.alerts() if a["output_fields"].get("proc.pid") == pid]
    assert len(got) == n
    assert v.stderr().count("rules reloaded") >= 5
    assert "lost=0" in [l for l in v.stderr().splitlines() if "vigil: open" in l][0]


def mixed_workload(prefix, port, outside):
    """Actions some of which the mix rules match, most of which they do not."""
    os.makedirs(os.path.join(prefix, "other"), exist_ok=True)
    os.makedirs(os.path.dirname(outside), exist_ok=True)
    with open(outside, "w") as fh:
        fh.write("x")
    for name in ("secret1", "secretdir.txt", "exact.txt", "other/x", "gone", "gone2"):
        with open(os.path.join(prefix, name), "w") as fh:
            fh.write("x")
    srv = subprocess.Popen(["python3", "-c", f"""
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port})); s.listen(64); time.sleep(4)
"""])
    time.sleep(0.3)
    pids = []
    for name in ("secret1", "secretdir.txt", "exact.txt", "other/x", "nope.txt"):
        pids.append(probe("openat", "-", os.path.join(prefix, name), os.O_RDONLY)["pid"])
    pids.append(probe("openat", "-", outside, os.O_RDONLY)["pid"])
    pids.append(probe("openat", prefix, "other/../secret1", os.O_RDONLY)["pid"])
    pids.append(probe("unlink", os.path.join(prefix, "gone"))["pid"])
    pids.append(probe("unlink", os.path.join(prefix, "gone2"))["pid"])
    subprocess.run(["sh", "-c", f"exec -a mixmarker sleep 0"])
    for p in (port, port + 1):
        subprocess.run(["python3", "-c", f"""
import socket
s = socket.socket()
try: s.connect(("127.0.0.1", {p}))
except OSError: pass
"""])
    srv.kill()
    srv.wait()
    return pids


def alert_keys(alerts):
    return sorted((a["rule"], a["output"].split(": ", 1)[1]) for a in alerts
                  if a["rule"].startswith("Mix "))


def test_derived_prefilter_never_drops_a_matching_event(workdir):
    prefix = os.path.join(os.path.realpath(workdir), "mix")
    os.makedirs(prefix)
    # an exact path in another directory, which no other process on the host opens
    # (host-wide files such as /etc/hostname differ between the two agents' windows)
    outside = os.path.join(os.path.realpath(workdir), "elsewhere", "exact2.txt")
    port = 38411
    rules = os.path.join(workdir, "mix.yaml")
    write(rules, RULES_MIX.format(prefix=prefix, port=port, outside=outside))
    shown = subprocess.run([VIGIL, "rules", "prefilter", rules], capture_output=True, text=True)
    lines = {l.split()[0]: l.split()[1:] for l in shown.stdout.splitlines()}
    assert lines["open"][0] == "match" and f"{prefix}/secret*" in lines["open"], shown.stdout
    assert f"{prefix}/exact.txt" in lines["open"] and outside in lines["open"]
    assert lines["unlink"] == ["match", f"{prefix}/gone*"] or \
        lines["unlink"] == ["match", f"{prefix}/gone/*", f"{prefix}/gone"] or \
        lines["unlink"][0] == "match", shown.stdout
    assert lines["connect"] == ["match", "port=38411"]
    assert lines["chmod"] == ["none"] and lines["exec"] == ["all"]
    d1, d2 = os.path.join(workdir, "derived"), os.path.join(workdir, "all")
    os.makedirs(d1)
    os.makedirs(d2)
    derived = Vigil(d1, ["--rules", rules], events=False)
    full = Vigil(d2, ["--rules", rules, "--no-prefilter", "--record",
                      os.path.join(workdir, "rec.bin")])
    try:
        mixed_workload(prefix, port, outside)
        full.wait_alert(lambda a: a["rule"] == "Mix connect")
        derived.wait_alert(lambda a: a["rule"] == "Mix connect")
        time.sleep(1.0)
    finally:
        assert derived.stop() == 0
        assert full.stop() == 0
    want = alert_keys(full.alerts())
    assert len(want) >= 6, want
    assert alert_keys(derived.alerts()) == want
    dropped = [l for l in derived.stderr().splitlines() if l.startswith("vigil: open")][0]
    assert " filtered=0 " not in dropped, "the derived prefilter dropped nothing"
    # the same stream offline: replayed through the simulated prefilter, same alerts
    rec = os.path.join(workdir, "rec.bin")
    plain = subprocess.run([VIGIL, "replay", rec, "--rules", rules], capture_output=True,
                           text=True, check=True)
    pf = subprocess.run([VIGIL, "replay", rec, "--rules", rules, "--prefilter", "--stats"],
                        capture_output=True, text=True, check=True)
    a1 = alert_keys(json.loads(l) for l in plain.stdout.splitlines())
    a2 = alert_keys(json.loads(l) for l in pf.stdout.splitlines())
    assert a1 == a2 == want
    assert " 0 dropped by the prefilter" not in pf.stderr, pf.stderr


def test_rules_check_reports_file_line_col(workdir):
    bad = os.path.join(workdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("- rule: r\n  desc: d\n  condition: proc.nme = x\n  output: o\n"
                "  priority: WARNING\n")
    p = subprocess.run([VIGIL, "rules", "check", bad], capture_output=True, text=True)
    assert p.returncode == 1
    assert f"{bad}:3:14: error: unknown field 'proc.nme'" in p.stdout + p.stderr
    good = os.path.join(workdir, "good.yaml")
    write(good, RULES_A.format(watched="/x"))
    p = subprocess.run([VIGIL, "rules", "check", good], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    p = subprocess.run([VIGIL, "rules", "list"], capture_output=True, text=True, check=True)
    assert "priority:" in p.stdout and "events:" in p.stdout


def test_unknown_field_fails_or_disables_just_that_rule(workdir):
    rules = os.path.join(workdir, "unknown.yaml")
    write(rules, RULES_A.format(watched="/x") + """
- rule: Needs k8s audit
  desc: d (a field of Falco's k8saudit plugin, which vigil does not have)
  condition: evt.type = execve and ka.user.name = admin
  output: o
  priority: WARNING
  tags: [test]
""")
    p = subprocess.run([VIGIL, "run", "--rules", rules], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1 and "unknown field 'ka.user.name'" in p.stderr
    v = Vigil(workdir, ["--rules", rules, "--skip-unknown-fields"], events=False)
    try:
        assert "rule 'Needs k8s audit' disabled" in v.stderr()
    finally:
        assert v.stop() == 0


def test_broken_rules_at_start_are_a_clear_error(workdir):
    bad = os.path.join(workdir, "bad.yaml")
    with open(bad, "w") as f:
        f.write("- rule: r\n  condition: evt.type = open and (\n")
    p = subprocess.run([VIGIL, "run", "--rules", bad], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1
    assert f"{bad}:" in p.stderr and "the rules did not load" in p.stderr


OLDUID_RULE = """
- rule: Uid dropped
  desc: test of the ids a set*id call replaced
  condition: evt.type = setresuid and evt.arg.olduid = 0 and evt.arg.uid = 65534
  output: "uid from %evt.arg.olduid to %evt.arg.uid (pid=%proc.pid)"
  priority: NOTICE
  tags: [test]
"""


def test_setid_rules_see_the_old_ids(workdir):
    rules = os.path.join(workdir, "olduid.yaml")
    write(rules, OLDUID_RULE)
    v = Vigil(workdir, ["--rules", rules], events=False)
    try:
        out = subprocess.run([helper("priv_probe"), "setid"], capture_output=True, text=True,
                             check=True)
        pid = json.loads(out.stdout.splitlines()[0])["pid"]
        al = v.wait_alert(lambda a: a["rule"] == "Uid dropped")
        assert al["output"].endswith(f"uid from 0 to 65534 (pid={pid})")
    finally:
        assert v.stop() == 0


# ---------------------------------------------------------------------------
# the prefilter fails closed: what the kernel cannot compare goes up whole
# ---------------------------------------------------------------------------

class AlertsOnly(Vigil):
    """`vigil run --rules FILE` printing alerts only, as an operator runs it: the kernel
    prefilter is the one derived from the rules, as deployed (printing events would
    merge in the default set and widen it)."""

    def __init__(self, workdir, args=()):
        super().__init__(workdir, args, events=False)

    def metrics(self):
        m = re.search(r"vigil: metrics on http://\S+ \(port (\d+)\)", self.stderr())
        assert m, self.stderr()
        with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=10) as r:
            return r.read().decode()


PORT_ZERO_RULE = """
- rule: Connect to port zero or {port}
  desc: a value the kernel's port set cannot hold (it never looks up port 0)
  condition: evt.type = connect and fd.sport in (0, {port})
  output: connect to port %fd.sport (pid=%proc.pid)
  priority: WARNING
  tags: [test]
"""


def test_prefilter_sends_a_type_whole_when_a_value_cannot_be_compared(workdir):
    """fd.sport in (0, P): the kernel never looks up port 0, so connects go up whole
    (counted, with a notice) and a connect to port 0 still reaches the rule, live and
    in a replay through the simulated prefilter."""
    port = 38413
    rules = os.path.join(workdir, "port0.yaml")
    write(rules, PORT_ZERO_RULE.format(port=port))
    shown = subprocess.run([VIGIL, "rules", "prefilter", rules], capture_output=True, text=True,
                           check=True)
    line = [l for l in shown.stdout.splitlines() if l.split()[0] == "connect"][0]
    assert line.split()[1] == "all" and "(unfiltered: fd.sport 0 " in line, shown.stdout
    assert f"port={port}" not in line, "never the other port alone"
    rec = os.path.join(workdir, "rec.bin")
    v = AlertsOnly(workdir, ["--rules", rules, "--record", rec])
    try:
        assert "vigil: prefilter: every connect event goes up, unfiltered: fd.sport 0" in \
            v.stderr()
        out = subprocess.run([helper("net_probe"), "connect4", "0"], capture_output=True,
                             text=True, check=True)
        pid = json.loads(out.stdout)["pid"]
        al = v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == pid)
        assert al["output_fields"]["fd.sport"] == 0
        assert 'vigil_prefilter_fallbacks_total{type="connect",reason="value"} 1' in v.metrics()
    finally:
        assert v.stop() == 0, v.stderr()
    pf = subprocess.run([VIGIL, "replay", rec, "--rules", rules, "--prefilter"],
                        capture_output=True, text=True, check=True)
    assert "every connect event goes up, unfiltered" in pf.stderr, pf.stderr
    assert any(json.loads(l)["output_fields"].get("proc.pid") == pid
               for l in pf.stdout.splitlines()), pf.stdout[-2000:]


MANY_PORTS_RULE = """
- list: many_ports
  items: [{ports}]
- rule: Connect to one of many ports
  desc: more ports than the kernel's port map holds (4096)
  condition: evt.type = connect and fd.sport in (many_ports)
  output: connect to port %fd.sport (pid=%proc.pid)
  priority: WARNING
  tags: [test]
"""


def test_prefilter_sends_a_type_whole_when_its_map_is_full(workdir):
    """5000 ports do not fit the kernel's port map: connects go up whole (counted, with a
    notice) instead of with the first 4096 ports only, so a connect to one of the last
    ports still reaches the rule."""
    rules = os.path.join(workdir, "ports.yaml")
    write(rules, MANY_PORTS_RULE.format(ports=", ".join(str(p) for p in range(1, 5001))))
    v = AlertsOnly(workdir, ["--rules", rules])
    try:
        assert "every connect event goes up, unfiltered: more entries than the kernel map " \
            "filter_ports holds" in v.stderr(), v.stderr()
        out = subprocess.run([helper("net_probe"), "connect4", "4999"], capture_output=True,
                             text=True, check=True)
        pid = json.loads(out.stdout)["pid"]
        al = v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == pid)
        assert al["output_fields"]["fd.sport"] == 4999
        assert 'vigil_prefilter_fallbacks_total{type="connect",reason="map_full"} 1' in \
            v.metrics()
    finally:
        assert v.stop() == 0, v.stderr()


RULES_HOSTILE = """
- rule: Hostile name opened
  desc: test rule
  condition: evt.type in (open, openat) and fd.name startswith {prefix}/
  output: hostile open (file=%fd.name pid=%proc.pid)
  priority: CRITICAL
  tags: [test]
"""


def test_text_alerts_escape_control_bytes(workdir):
    """A file name forging a second alert line and a terminal escape comes out as one
    line with the bytes as \\xNN in the text forms (stdout, syslog MSG and structured
    data); the JSON alert keeps the exact name."""
    import socket
    d = os.path.join(os.path.realpath(workdir), "hostile")
    os.makedirs(d)
    forged = "\n2026-01-01T00:00:00.000000000Z: Critical Forged alert\r\x1b[2J\x1b]0;t\x07"
    name = os.path.join(d, "x" + forged)
    escaped = os.path.join(d, "x") + ("\\x0a2026-01-01T00:00:00.000000000Z: Critical Forged "
                                      "alert\\x0d\\x1b[2J\\x1b]0;t\\x07")
    rules = os.path.join(workdir, "rules.yaml")
    write(rules, RULES_HOSTILE.format(prefix=d))
    sock_path = os.path.join(workdir, "log.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(10)
    cfg = os.path.join(workdir, "vigil.yaml")
    write(cfg, f"""rules_files: [{rules}]
outputs:
  - type: stdout
    format: text
  - type: syslog
    transport: unix
    socket: {sock_path}
""")
    v = Vigil(workdir, ["--config", cfg], events=False)
    try:
        pid = probe("openat", "-", name, os.O_WRONLY | os.O_CREAT)["pid"]
        msg = sock.recv(65536)
        deadline = time.time() + 10
        while True:
            with open(v.out_path, "rb") as f:
                text = [ln for ln in f.read().split(b"\n") if b"hostile open" in ln and
                        not ln.startswith(b"{")]
            if text or time.time() > deadline:
                break
            time.sleep(0.05)
    finally:
        assert v.stop() == 0, v.stderr()
        sock.close()
    want = f"Critical hostile open (file={escaped} pid={pid})".encode()
    assert len(text) == 1, text
    assert text[0].endswith(want), text[0]
    assert b"\x1b" not in text[0] and b"\r" not in text[0] and b"\x07" not in text[0]
    with open(v.out_path, "rb") as f:
        whole = f.read()
    assert b"\x1b" not in whole and b"\r" not in whole, "no raw escape anywhere on stdout"
    assert b"\nCritical Forged" not in whole and b"\n2026-01-01T00:00:00.000000000Z" not in whole
    assert msg.endswith(want), msg
    assert b"\n" not in msg and b"\x1b" not in msg and b"\r" not in msg, msg
    sd_value = escaped.replace("]", "\\]")  # RFC 5424 escapes ']' in SD values
    assert f'fd.name="{sd_value}"'.encode() in msg, msg.decode()


LAUGHS = """
- rule: laughs
  desc: d
  condition: proc.name = x
  output: o
  priority: WARNING
  actions:
    - &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]
    - &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    - &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    - &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    - &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    - &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
    - &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
    - &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
    - &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def test_hostile_rules_files_refused_old_rules_stay(workdir, watched):
    """A rules file others can write is refused at start; at reload, it and a file of
    nested YAML aliases (billions of nodes expanded) leave the running rules in place."""
    d, f = watched
    rules = os.path.join(workdir, "rules.yaml")
    write(rules, RULES_A.format(watched=f))
    os.chmod(rules, 0o646)
    out = subprocess.run([VIGIL, "run", "--rules", rules, "--metrics-listen", "off"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode != 0
    assert (f"{rules}: error: rules file writable by group or others (mode 0646): refused; "
            f"run `chmod go-w {rules}`") in out.stderr, out.stderr
    os.chmod(rules, 0o644)
    v = Vigil(workdir, ["--rules", rules], events=False)
    try:
        one = probe("openat", "-", f, os.O_RDONLY)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == one["pid"])
        # others may write it: refused, the old rules keep running
        os.chmod(rules, 0o666)
        os.kill(v.proc.pid, signal.SIGHUP)
        wait_stderr(v, "the running rules stay")
        assert "rules file writable by group or others (mode 0666): refused" in v.stderr()
        two = probe("openat", "-", f, os.O_RDONLY)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == two["pid"])
        # billion laughs at reload: refused quickly, the agent lives on the old rules
        os.chmod(rules, 0o644)
        write(rules, LAUGHS)
        wait_stderr(v, f"{rules}:8:")
        err = v.stderr()
        assert "YAML aliases expand beyond 100000 nodes" in err, err
        deadline = time.time() + 10
        while "the running rules stay" not in v.stderr()[err.index(f"{rules}:8:"):]:
            assert v.proc.poll() is None, v.stderr()
            assert time.time() < deadline, v.stderr()
            time.sleep(0.05)
        three = probe("openat", "-", f, os.O_RDONLY)
        v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == three["pid"])
    finally:
        assert v.stop() == 0, v.stderr()
