"""The deny enforcer's decisions given a policy in its maps: the real vigil object with its
cgroup programs (bpf/enforcers/deny.bpf.c) attached at the cgroup v2 root, and deny rules
written straight into the enforcement maps (include/vigil/events.h, "Enforcement") with
bpftool, as src/respond/policy.c will write them. Only loopback.

Checked: a TCP connect and a UDP sendto to a denied port fail with EPERM and the listener
accepts / receives nothing, while other ports work; IPv6 and IPv4 take the same rule; a bind
to a denied port fails with EPERM; the protocol a rule needs is honoured; a rule in monitor
mode lets every call through (and still reports); vigil's own connects are never denied.

The maps are found through the agent's own file descriptors (/proc/PID/fdinfo gives each
map's id), never by name alone: other agents may be running on the machine."""
import errno
import os
import re
import socket
import struct
import subprocess
import time

import pytest

import conftest

from conftest import Vigil
from servers import WebhookReceiver, wait_until

# include/vigil/events.h and syscalls.h
VG_SYS_MAX = 128
VG_SYS_CONNECT, VG_SYS_BIND, VG_SYS_SENDTO, VG_SYS_SENDMSG = 40, 43, 45, 46
VG_EV_ACTION = 4
ALL = (1 << 64) - 1
# struct vg_enf_gen, in order (include/vigil/events.h)
GEN_FIELDS = ("comm_free", "path_free", "port_free", "addr_free", "need_write", "need_read",
              "need_tcp", "need_udp", "monitor", "kill", "deny", "rate", "exe_free",
              "exe_tested", "entry", "scope_free", "need_raw", "not_v4", "not_v6", "lsm",
              "lsm_kill", "leaf_free", "leaf_tested", "ino_free", "ino_tested")

# The deny programs are attached only while a deny rule is in force: the agent gets one
# that nothing here does (its maps are then overwritten by EnfMaps.install).
RULE = """
- rule: Deny maps test alert
  desc: gives the agent an alert to post to its webhook
  condition: evt.type in (open, openat) and fd.name = {path}
  output: watched open (file=%fd.name)
  priority: CRITICAL

- rule: Deny maps test keeps the deny programs attached
  desc: matches no call the tests make
  condition: evt.type = connect and fd.rport = 1 and proc.name = vg-never-runs
  output: never (port=%fd.rport)
  priority: CRITICAL
  actions: [deny]
"""


def hexbytes(b):
    return ["hex"] + [f"{x:02x}" for x in b]


class EnfMaps:
    """The enforcement maps of one running vigil, written with bpftool."""

    def __init__(self, pid):
        self.ids = {}
        fdinfo = f"/proc/{pid}/fdinfo"
        for fd in os.listdir(fdinfo):
            try:
                with open(os.path.join(fdinfo, fd)) as f:
                    m = re.search(r"^map_id:\s+(\d+)", f.read(), re.M)
            except OSError:
                continue
            if not m:
                continue
            out = subprocess.run(["bpftool", "map", "show", "id", m.group(1)],
                                 capture_output=True, text=True).stdout
            name = re.search(r"name (\S+)", out)
            if name:
                self.ids[name.group(1)] = m.group(1)
        for want in ("enf_state", "enf_gens", "enf_codes", "enf_ports", "counters"):
            assert want in self.ids, f"vigil {pid} has no map {want}: {sorted(self.ids)}"
        self.ports = set()  # enf_ports keys written, to clear

    def update(self, name, key, value):
        subprocess.run(["bpftool", "map", "update", "id", self.ids[name], "key",
                        *hexbytes(key), "value", *hexbytes(value)], check=True)

    def delete(self, name, key):
        subprocess.run(["bpftool", "map", "delete", "id", self.ids[name], "key",
                        *hexbytes(key)], check=True)

    def install(self, rules, monitor=0):
        """Writes generation 0 with rules: a list of dicts {bit, codes, port, proto}
        (proto "tcp", "udp" or None) and turns enforcement on. Rules without a port
        test do not occur here; every rule is comm-, path- and address-free."""
        self.disable()
        for key in self.ports:
            self.delete("enf_ports", struct.pack("<HH", 0, key))
        self.ports = set()
        g = dict.fromkeys(GEN_FIELDS, 0)
        g.update(comm_free=ALL, path_free=ALL, addr_free=ALL, exe_free=ALL, scope_free=ALL,
                 leaf_free=ALL, ino_free=ALL, monitor=monitor)
        codes, ports = {}, {}
        for r in rules:
            bit = 1 << r["bit"]
            g["deny"] |= bit
            if r.get("proto") == "tcp":
                g["need_tcp"] |= bit
            if r.get("proto") == "udp":
                g["need_udp"] |= bit
            for c in r["codes"]:
                codes[c] = codes.get(c, 0) | bit
            ports[r["port"]] = ports.get(r["port"], 0) | bit
        g["port_free"] = ALL & ~sum(1 << r["bit"] for r in rules)
        self.update("enf_gens", struct.pack("<I", 0), struct.pack(f"<{len(GEN_FIELDS)}Q", *(g[f] for f in GEN_FIELDS)))
        for c in range(VG_SYS_MAX):
            self.update("enf_codes", struct.pack("<I", c), struct.pack("<Q", codes.get(c, 0)))
        for port, bits in ports.items():
            self.update("enf_ports", struct.pack("<HH", 0, port), struct.pack("<QQ", bits, 0))
            self.ports.add(port)
        # struct vg_enf_state: gen, enabled, lsm (no BPF-LSM rule here), pad
        self.update("enf_state", struct.pack("<I", 0), struct.pack("<IIII", 0, 1, 0, 0))

    def disable(self):
        self.update("enf_state", struct.pack("<I", 0), struct.pack("<IIII", 0, 0, 0, 0))

    def actions_sent(self):
        """VG_EV_ACTION records written to the ring (the per-CPU counters summed)."""
        out = subprocess.run(["bpftool", "map", "lookup", "id", self.ids["counters"], "key",
                              *hexbytes(struct.pack("<I", VG_EV_ACTION))],
                             capture_output=True, text=True, check=True).stdout
        total = 0
        # "value (CPU 00): 00 00 ..." lines, or the BTF form with "sent": N
        for m in re.finditer(r'"sent": (\d+)', out):
            total += int(m.group(1))
        if not re.search(r'"sent"', out):
            for block in re.findall(r"value \(CPU \d+\):((?:\s+[0-9a-f]{2})+)", out):
                raw = bytes(int(x, 16) for x in block.split())
                total += struct.unpack_from("<5Q", raw)[2]
        return total


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listener(port, family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(8)
    s.setblocking(False)
    return s


def udp_receiver(port, family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((host, port))
    s.setblocking(False)
    return s


def nothing_pending(s, what):
    time.sleep(0.2)
    with pytest.raises(BlockingIOError):
        s.accept() if s.type == socket.SOCK_STREAM else s.recvfrom(100)


def tcp_connect(port, family=socket.AF_INET, host="127.0.0.1"):
    """0, or the errno of a failed connect, made by a child (vigil spares its parents)."""
    def op():
        c = socket.socket(family, socket.SOCK_STREAM)
        c.settimeout(5)
        try:
            c.connect((host, port))
        finally:
            c.close()
    return conftest.in_child(op)[0]


def udp_sendto(port, family=socket.AF_INET, host="127.0.0.1", use_sendmsg=False):
    """0, or the errno of a failed send, made by a child."""
    def op():
        c = socket.socket(family, socket.SOCK_DGRAM)
        try:
            if use_sendmsg:
                c.sendmsg([b"ping"], [], 0, (host, port))
            else:
                c.sendto(b"ping", (host, port))
        finally:
            c.close()
    return conftest.in_child(op)[0]


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    """One vigil whose webhook is a loopback port the self test denies; its maps."""
    d = str(tmp_path_factory.mktemp("deny-maps"))
    hook = WebhookReceiver()
    watched = os.path.join(os.path.realpath(d), "watched.txt")
    with open(watched, "w") as f:
        f.write("x")
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULE.format(path=watched))
    cfg = os.path.join(d, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"rules_files: [{rules}]\noutputs:\n  - type: stdout\n"
                f"  - type: webhook\n    url: {hook.url}\n")
    v = Vigil(d, ["--config", cfg], events=False)
    assert "vg_deny" not in v.stderr(), "a deny program was switched off:\n" + v.stderr()
    maps = EnfMaps(v.proc.pid)
    yield v, maps, hook, watched
    maps.disable()
    hook.stop()
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


@pytest.fixture
def maps(agent):
    m = agent[1]
    yield m
    m.disable()


def test_tcp_connect_to_denied_port_fails_with_eperm(maps):
    denied, other = free_port(), free_port()
    ls, lo = listener(denied), listener(other)
    try:
        maps.install([{"bit": 0, "codes": [VG_SYS_CONNECT], "port": denied, "proto": "tcp"}])
        before = maps.actions_sent()
        assert tcp_connect(denied) == errno.EPERM
        nothing_pending(ls, "the denied listener")
        assert tcp_connect(other) == 0
        conn, _ = lo.accept()
        conn.close()
        # the same rule on IPv6 (connect6), including an IPv4-mapped peer
        assert tcp_connect(denied, socket.AF_INET6, "::1") == errno.EPERM
        assert tcp_connect(denied, socket.AF_INET6, "::ffff:127.0.0.1") == errno.EPERM
        nothing_pending(ls, "the denied listener")
        # a rule that needs TCP does not deny a UDP connect to the port
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("127.0.0.1", denied))
        u.close()
        # each denied call was reported (VG_EV_ACTION), the allowed ones were not matched
        assert maps.actions_sent() - before == 3
        # with enforcement off the port works again
        maps.disable()
        assert tcp_connect(denied) == 0
    finally:
        ls.close()
        lo.close()


def test_udp_sendto_to_denied_port_fails_with_eperm(maps):
    denied, other = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    rs, ro = udp_receiver(denied), udp_receiver(other)
    rs6 = udp_receiver(denied, socket.AF_INET6, "::1")
    try:
        # a rule on sendto denies sendmsg too (one hook serves both)
        maps.install([{"bit": 5, "codes": [VG_SYS_SENDTO], "port": denied, "proto": "udp"}])
        assert udp_sendto(denied) == errno.EPERM
        assert udp_sendto(denied, use_sendmsg=True) == errno.EPERM
        assert udp_sendto(denied, socket.AF_INET6, "::1") == errno.EPERM
        nothing_pending(rs, "the denied receiver")
        nothing_pending(rs6, "the denied IPv6 receiver")
        assert udp_sendto(other) == 0
        time.sleep(0.1)
        assert ro.recvfrom(100)[0] == b"ping"
        # and a rule on sendmsg alone denies sendto
        maps.install([{"bit": 6, "codes": [VG_SYS_SENDMSG], "port": denied, "proto": "udp"}])
        assert udp_sendto(denied) == errno.EPERM
        nothing_pending(rs, "the denied receiver")
    finally:
        rs.close()
        ro.close()
        rs6.close()


def test_bind_to_denied_port_fails_with_eperm(maps):
    denied, other = free_port(), free_port()
    maps.install([{"bit": 63, "codes": [VG_SYS_BIND], "port": denied}])
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0"),
                         (socket.AF_INET6, "::1"), (socket.AF_INET6, "::")):
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            assert conftest.bind_errno(family, kind, host, denied) == errno.EPERM
    assert conftest.bind_errno(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", other) == 0


def test_monitor_mode_rules_let_the_calls_through(maps):
    tcp, udp, bport = free_port(), free_port(socket.SOCK_DGRAM), free_port()
    ls, ru = listener(tcp), udp_receiver(udp)
    try:
        maps.install([{"bit": 0, "codes": [VG_SYS_CONNECT], "port": tcp, "proto": "tcp"},
                      {"bit": 1, "codes": [VG_SYS_SENDTO, VG_SYS_SENDMSG], "port": udp,
                       "proto": "udp"},
                      {"bit": 2, "codes": [VG_SYS_BIND], "port": bport}],
                     monitor=0b111)
        before = maps.actions_sent()
        assert tcp_connect(tcp) == 0
        ls.setblocking(True)
        ls.settimeout(5)
        conn, _ = ls.accept()
        conn.close()
        assert udp_sendto(udp) == 0
        time.sleep(0.1)
        assert ru.recvfrom(100)[0] == b"ping"
        assert conftest.bind_errno(socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1", bport) == 0
        # matched and reported all the same
        assert maps.actions_sent() - before == 3
    finally:
        ls.close()
        ru.close()


def test_vigil_itself_is_never_denied(agent, maps):
    v, _, hook, watched = agent
    maps.install([{"bit": 3, "codes": [VG_SYS_CONNECT], "port": hook.port, "proto": "tcp"}])
    # the test process is denied the webhook's port...
    assert tcp_connect(hook.port) == errno.EPERM
    before = maps.actions_sent()
    # ...vigil posting an alert to it is not
    with open(watched) as f:
        f.read()
    v.wait_alert(lambda a: a["rule"] == "Deny maps test alert")
    wait_until(lambda: [a for a in hook.alerts() if a["rule"] == "Deny maps test alert"], 15,
               "the alert at the webhook (vigil's connect to a denied port)")
    # its connect matched the rule and was reported, not acted on
    assert maps.actions_sent() > before
