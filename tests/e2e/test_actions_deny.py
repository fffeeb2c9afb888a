"""Rules with `actions: [deny]` through the whole agent: a YAML rule is compiled into the
enforcement maps (src/respond/policy.c), the cgroup programs of bpf/enforcers/deny.bpf.c
refuse the call with EPERM, and the rule's alert says what was done:
`"actions":[{"kind":"deny","taken":true,"where":"kernel","latency_us":N}]`.

These tests depend on the policy compiler (src/respond/policy.c, issue 14); until it lands
they fail, by design. The enforcer's own decisions, given a policy written straight into
its maps, are tested in test_deny_maps.py. Only loopback."""
import errno
import json
import os
import subprocess
import socket
import time

import pytest

import conftest
from conftest import Vigil

RULES = """
- rule: Deny connect {tcp}
  desc: test
  condition: evt.type = connect and fd.rport = {tcp}
  output: "denied connect to %fd.rport by %proc.name"
  priority: CRITICAL
  actions: [deny]

- rule: Deny sendto {udp}
  desc: test
  condition: evt.type in (sendto, sendmsg) and fd.rport = {udp}
  output: "denied send to %fd.rport by %proc.name"
  priority: CRITICAL
  actions: [deny]

- rule: Deny bind {bind}
  desc: test
  condition: evt.type = bind and fd.sport = {bind}
  output: "denied bind to %fd.sport by %proc.name"
  priority: CRITICAL
  actions: [deny]

- rule: Deny raw sockets
  desc: test
  condition: evt.type = socket and evt.arg.domain in (AF_INET, AF_INET6) and fd.l4proto = raw and proc.name in (vg-rawsock, uring_probe)
  output: "denied raw socket (domain=%evt.arg.domain) by %proc.name"
  priority: CRITICAL
  actions: [deny]

- rule: Deny IPv6 UDP sockets
  desc: test
  condition: evt.type = socket and evt.arg.domain = AF_INET6 and fd.l4proto = udp and proc.name = vg-udp6
  output: "denied udp6 socket by %proc.name"
  priority: CRITICAL
  actions: [deny]

- rule: Monitor connect {mon}
  desc: test
  condition: evt.type = connect and fd.rport = {mon}
  output: "would deny connect to %fd.rport by %proc.name"
  priority: CRITICAL
  actions: [deny]
  mode: monitor
"""


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("actions-deny"))
    ports = {"tcp": free_port(), "udp": free_port(socket.SOCK_DGRAM), "bind": free_port(),
             "mon": free_port(), "other": free_port()}
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(**ports))
    os.chmod(rules, 0o600)
    v = Vigil(d, ["--rules", rules], events=False)
    v.rules_path = rules
    yield v, ports
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


def deny_action(al):
    """The alert's one action, checked to be a deny."""
    acts = al.get("actions")
    assert isinstance(acts, list) and len(acts) == 1, al
    a = acts[0]
    assert a["kind"] == "deny", al
    return a


def assert_taken_in_kernel(al):
    a = deny_action(al)
    assert a["taken"] is True, al
    assert a["where"] == "kernel", al
    assert isinstance(a["latency_us"], int) and 0 <= a["latency_us"] < 1000000, al


def test_tcp_connect_denied_by_rule(agent):
    v, p = agent
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lo = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", p["tcp"]))
    lo.bind(("127.0.0.1", p["other"]))
    ls.listen(8)
    lo.listen(8)
    ls.setblocking(False)
    try:
        def connect(port):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                c.connect(("127.0.0.1", port))
            finally:
                c.close()

        err, pid = conftest.in_child(connect, p["tcp"])
        assert err == errno.EPERM
        time.sleep(0.2)
        with pytest.raises(BlockingIOError):
            ls.accept()
        assert conftest.in_child(connect, p["other"])[0] == 0
        al = v.wait_alert(lambda a: a["rule"] == f"Deny connect {p['tcp']}")
        assert al["output_fields"]["fd.rport"] == p["tcp"] and pid
        assert_taken_in_kernel(al)
    finally:
        ls.close()
        lo.close()


def test_udp_sendto_denied_by_rule(agent):
    v, p = agent
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    r.bind(("127.0.0.1", p["udp"]))
    r.setblocking(False)
    try:
        def send():
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                c.sendto(b"ping", ("127.0.0.1", p["udp"]))
            finally:
                c.close()

        assert conftest.in_child(send)[0] == errno.EPERM
        time.sleep(0.2)
        with pytest.raises(BlockingIOError):
            r.recvfrom(100)
        al = v.wait_alert(lambda a: a["rule"] == f"Deny sendto {p['udp']}")
        assert_taken_in_kernel(al)
    finally:
        r.close()


def test_bind_denied_by_rule(agent):
    v, p = agent
    assert conftest.bind_errno(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1",
                               p["bind"]) == errno.EPERM
    al = v.wait_alert(lambda a: a["rule"] == f"Deny bind {p['bind']}")
    assert_taken_in_kernel(al)


def test_monitor_mode_rule_lets_the_connect_through(agent):
    v, p = agent
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", p["mon"]))
    ls.listen(8)
    ls.settimeout(5)
    try:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.connect(("127.0.0.1", p["mon"]))
        conn, _ = ls.accept()
        conn.close()
        c.close()
        al = v.wait_alert(lambda a: a["rule"] == f"Monitor connect {p['mon']}")
        a = deny_action(al)
        assert a["taken"] is False, al
        assert "monitor" in str(a), al
    finally:
        ls.close()


def test_io_uring_connect_and_send_are_denied_too(agent):
    """The cgroup hooks sit in the socket layer: a ring's connect and its send to an
    address meet them as the syscalls do."""
    v, p = agent
    for op, port in (("connect", p["tcp"]), ("sendto", p["udp"])):
        r = subprocess.run([conftest.helper("uring_probe"), op, str(port)],
                           capture_output=True, text=True, timeout=30)
        reports = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
        got = [x for x in reports if x.get("op") == op]
        assert got and got[0]["ret"] == -errno.EPERM, r.stdout + r.stderr


def _named_socket(name, family, kind, proto=0):
    """socket(family, kind, proto) by a child process named name (its comm)."""
    def op():
        with open("/proc/self/comm", "w") as f:
            f.write(name)
        socket.socket(family, kind, proto).close()
    return conftest.in_child(op)[0]


def test_socket_creation_is_denied_by_family_and_protocol(agent):
    """cgroup/sock_create: the socket is refused with EPERM before the call returns it."""
    v, _ = agent
    assert _named_socket("vg-rawsock", socket.AF_INET, socket.SOCK_RAW,
                         socket.IPPROTO_ICMP) == errno.EPERM
    assert _named_socket("vg-rawsock", socket.AF_INET6, socket.SOCK_RAW,
                         socket.IPPROTO_ICMPV6) == errno.EPERM
    al = v.wait_alert(lambda a: a["rule"] == "Deny raw sockets", what="raw socket deny")
    a = deny_action(al)
    assert a["taken"] is True and a["where"] == "kernel", a
    assert al["output_fields"]["evt.arg.domain"] in ("AF_INET", "AF_INET6"), al
    # the same name, another protocol; another name, the same protocol
    assert _named_socket("vg-rawsock", socket.AF_INET, socket.SOCK_STREAM) == 0
    assert _named_socket("vg-other", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) == 0
    # the family counts: IPv6 UDP is refused, IPv4 UDP is not
    assert _named_socket("vg-udp6", socket.AF_INET6, socket.SOCK_DGRAM) == errno.EPERM
    assert _named_socket("vg-udp6", socket.AF_INET, socket.SOCK_DGRAM) == 0
    al = v.wait_alert(lambda a: a["rule"] == "Deny IPv6 UDP sockets", what="udp6 deny")
    assert deny_action(al)["taken"] is True


def test_an_io_uring_socket_is_denied_too(agent):
    """The hook is in inet_create: IORING_OP_SOCKET meets it as socket(2) does."""
    v, _ = agent
    r = subprocess.run([conftest.helper("uring_probe"), "socket", str(int(socket.AF_INET)),
                        str(int(socket.SOCK_RAW)), str(int(socket.IPPROTO_ICMP))],
                       capture_output=True, text=True, timeout=30)
    reports = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    got = [x for x in reports if x.get("op") == "socket"]
    assert got and got[0]["ret"] == -errno.EPERM, r.stdout + r.stderr
    al = v.wait_alert(lambda a: a["rule"] == "Deny raw sockets" and
                      a["output_fields"]["proc.name"] == "uring_probe", what="uring socket deny")
    assert deny_action(al)["taken"] is True


def _deny_attachments(v):
    st = subprocess.run([conftest.VIGIL, "status", "--json", "--socket", v.control_socket],
                        capture_output=True, text=True, timeout=30)
    assert st.returncode == 0, st.stderr
    progs = {p["name"]: p for p in json.loads(st.stdout)["programs"]}
    names = [n for n in progs if n.startswith("vg_deny_")]
    assert len(names) == 7, progs.keys()
    return {progs[n]["attachments"] for n in names}


def _reload(v, text):
    with open(v.rules_path, "w") as f:
        f.write(text)
    r = subprocess.run([conftest.VIGIL, "reload", "--socket", v.control_socket],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_deny_programs_run_only_while_a_rule_needs_them(agent):
    """They run at every connect, send, bind and socket of the host: with no deny rule in
    force they are detached, and the calls they would refuse go through; a reload that
    brings deny rules back attaches them before the rules are in force."""
    v, p = agent
    assert _deny_attachments(v) == {1}
    try:
        _reload(v, """
- rule: Connects, seen only
  desc: test
  condition: evt.type = connect and fd.rport = {tcp}
  output: "connect to %fd.rport by %proc.name"
  priority: NOTICE
""".format(**p))
        assert _deny_attachments(v) == {0}
        assert _named_socket("vg-udp6", socket.AF_INET6, socket.SOCK_DGRAM) == 0
    finally:
        _reload(v, RULES.format(**p))
    assert _deny_attachments(v) == {1}
    assert _named_socket("vg-udp6", socket.AF_INET6, socket.SOCK_DGRAM) == errno.EPERM
