"""Blocks: a rule with `actions: [block]` and `vigil block` drop traffic from and to an
address — at XDP on the node's interface, at the root cgroup's egress — for a while, and
hold while the agent restarts. A topology of two network namespaces the test makes (a
"node" where the agent runs and a "peer"), joined by a veth pair with addresses of the
test's own; no other traffic."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

import conftest

NODE_IP, PEER_IP = "10.231.77.1", "10.231.77.2"

RULES = """
- rule: test block who takes port {watched}
  desc: a connection to the watched port blocks its client
  condition: evt.type in (accept, accept4) and fd.sport = {watched}
  output: "test connection to %fd.sport from %fd.rip"
  priority: CRITICAL
  actions: [block]
  block_for: 10s
"""


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


def in_ns(ns, *argv, check=True, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          check=check, timeout=timeout)


class Topology:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.node, self.peer = f"vgnode-{tag}", f"vgpeer-{tag}"
        self.nif, self.pif = f"vgn{tag}", f"vgp{tag}"
        sh("ip", "netns", "add", self.node)
        sh("ip", "netns", "add", self.peer)
        sh("ip", "link", "add", self.nif, "netns", self.node, "type", "veth", "peer", "name",
           self.pif, "netns", self.peer)
        for ns, dev, ip in ((self.node, self.nif, NODE_IP), (self.peer, self.pif, PEER_IP)):
            in_ns(ns, "ip", "addr", "add", ip + "/24", "dev", dev)
            in_ns(ns, "ip", "link", "set", dev, "up")
            in_ns(ns, "ip", "link", "set", "lo", "up")

    def close(self):
        sh("ip", "netns", "del", self.node, check=False)
        sh("ip", "netns", "del", self.peer, check=False)


def ping(ns, ip):
    return in_ns(ns, "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0


SERVER = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\n")
    c.close()
"""

CLIENT = r"""
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
    print(c.recv(16).decode().strip())
except OSError as e:
    print("error", e.__class__.__name__)
"""


def connect(ns, ip, port):
    return in_ns(ns, "python3", "-c", CLIENT, ip, str(port)).stdout.strip()


@pytest.fixture(scope="module")
def topo():
    conftest._check_can_run()
    t = Topology()
    d = tempfile.mkdtemp(prefix="vigil-block-", dir="/var/tmp")
    os.chmod(d, 0o755)
    t.dir = d
    t.pin_dir = f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    t.watched, t.other = 18081, 18082
    t.servers = [subprocess.Popen(["ip", "netns", "exec", t.node, "python3", "-c", SERVER,
                                   str(p)], stdout=subprocess.PIPE, text=True)
                 for p in (t.watched, t.other)]
    for s in t.servers:
        assert s.stdout.readline().strip() == "listening"
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(watched=t.watched))
    os.chmod(rules, 0o644)
    t.cfg = os.path.join(d, "vigil.yaml")
    with open(t.cfg, "w") as f:
        f.write(f"actions:\n  interfaces: [{t.nif}]\n  pin_dir: {t.pin_dir}\n")
    t.args = ["--config", t.cfg, "--rules", rules]
    t.vigil = None
    try:
        yield t
    finally:
        if t.vigil:
            t.vigil.stop()
        for s in t.servers:
            s.kill()
            s.wait()
        # whatever a failed test left: the agent's own command first, then the pins
        if os.path.isdir(t.pin_dir):
            for name in os.listdir(t.pin_dir):
                os.unlink(os.path.join(t.pin_dir, name))
            os.rmdir(t.pin_dir)
        t.close()
        shutil.rmtree(d, ignore_errors=True)


def start(t):
    # nsenter --net: the node's network, the host's mounts (ip netns exec would remount
    # /sys, hiding bpffs and the cgroup hierarchy from the agent)
    t.vigil = conftest.Vigil(t.dir, t.args, events=False,
                             prefix=["nsenter", f"--net=/run/netns/{t.node}"])
    return t.vigil


def cli(t, *argv):
    r = subprocess.run([conftest.VIGIL, *argv, "--socket", t.vigil.control_socket],
                       capture_output=True, text=True, timeout=30)
    return r


def blocks(t):
    r = cli(t, "block", "list", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["blocks"]


def test_the_topology_works_before_any_block(topo):
    start(topo)
    assert ping(topo.peer, NODE_IP)
    assert connect(topo.peer, NODE_IP, topo.other) == "hello"


def test_a_rule_blocks_the_client_then_the_block_expires(topo):
    v = topo.vigil
    # the watched port: the connection itself is accepted, its alert blocks the peer
    assert connect(topo.peer, NODE_IP, topo.watched) == "hello"
    al = v.wait_alert(lambda a: a["rule"] == "test block who takes port 18081", what="block")
    act = al["actions"][0]
    assert act["kind"] == "block" and act["taken"] is True, act
    assert act["target"] == PEER_IP + "/32" and act["for_s"] == 10, act
    placed = time.time()
    # from the peer: another port, and ping (dropped at XDP before the stack)
    assert connect(topo.peer, NODE_IP, topo.other).startswith("error")
    assert not ping(topo.peer, NODE_IP)
    # to the peer: the node's own sockets (dropped at the root cgroup's egress)
    assert not ping(topo.node, PEER_IP)
    listed = blocks(topo)
    assert [b["target"] for b in listed] == [PEER_IP + "/32"], listed
    assert listed[0]["by"] == "rule" and listed[0]["dropped"] > 0, listed
    assert time.time() - placed < 9, "the checks took longer than the block: make it longer"
    # it lifts by itself
    time.sleep(max(0, placed + 10.5 - time.time()))
    assert ping(topo.peer, NODE_IP)
    assert connect(topo.peer, NODE_IP, topo.other) == "hello"
    deadline = time.time() + 5
    while blocks(topo) and time.time() < deadline:
        time.sleep(0.2)
    assert blocks(topo) == []


def test_a_block_by_hand_and_its_removal(topo):
    r = cli(topo, "block", "add", PEER_IP, "--for", "1h", "--reason", "test by hand")
    assert r.returncode == 0, r.stderr
    assert not ping(topo.peer, NODE_IP)
    b = blocks(topo)
    assert b[0]["reason"] == "test by hand" and b[0]["by"] == "hand", b
    assert 3500 < b[0]["left_s"] <= 3600, b
    r = cli(topo, "block", "del", PEER_IP)
    assert r.returncode == 0, r.stderr
    assert ping(topo.peer, NODE_IP)
    r = cli(topo, "block", "del", PEER_IP)
    assert r.returncode == 1 and "is not blocked" in r.stderr


def test_loopback_and_bad_addresses_are_refused(topo):
    r = cli(topo, "block", "add", "127.0.0.1")
    assert r.returncode == 1 and "loopback or on the allowlist" in r.stderr, r.stderr
    r = cli(topo, "block", "add", "10.0.0.300")
    assert r.returncode == 1 and "not an IP address or prefix" in r.stderr, r.stderr


def test_a_block_holds_while_the_agent_is_down_and_release_all_lifts_it(topo):
    r = cli(topo, "block", "add", PEER_IP + "/32", "--reason", "survives")
    assert r.returncode == 0, r.stderr
    assert topo.vigil.stop() == 0
    topo.vigil = None
    # no agent: the pinned programs and trie still drop
    assert not ping(topo.peer, NODE_IP)
    start(topo)
    b = blocks(topo)
    assert [x["target"] for x in b] == [PEER_IP + "/32"] and b[0]["left_s"] is None, b
    assert not ping(topo.peer, NODE_IP)
    r = cli(topo, "release", "--all")
    assert r.returncode == 0, r.stderr
    assert ping(topo.peer, NODE_IP)
    assert blocks(topo) == []
    # nothing of vigil's is left attached: only the (empty) maps stay pinned
    assert sorted(os.listdir(topo.pin_dir)) == ["net_blocks", "net_isolated", "net_quarantine"]
