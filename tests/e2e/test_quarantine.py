"""Quarantine: a rule with `actions: [quarantine]` and `vigil quarantine` cut the node off
— XDP on its interface drops what comes in, the root cgroup's hooks drop what the
sockets of the quarantine's cgroup send and receive — except actions.quarantine_allow and
loopback, until the dead-man timer (actions.quarantine_max) lifts it in the kernel, or
`vigil release --node` does. The node and peer network namespaces of test_block.py; the
quarantine's cgroup is one the test makes, so nothing else on the machine is cut off."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
from test_block import NODE_IP, PEER_IP, SERVER, Topology, connect, ping

RULES = """
- rule: test quarantine on port {watched}
  desc: a connection to the watched port quarantines the node
  condition: evt.type in (accept, accept4) and fd.sport = {watched}
  output: "test connection to %fd.sport from %fd.rip"
  priority: CRITICAL
  actions: [quarantine]
"""


def cgroup2():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            if parts[parts.index("-") + 1] == "cgroup2":
                return parts[4]
    pytest.fail("no cgroup v2 mount")


def in_cgroup(cg, ns, *argv):
    """argv in the node's network namespace, in cgroup cg."""
    return subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "sh", "-c",
                           f'echo $$ > {cg}/cgroup.procs && exec "$@"', "sh", *argv],
                          capture_output=True, text=True, timeout=30)


def node_pings_peer(t):
    return in_cgroup(t.cg, t.node, "ping", "-c", "1", "-W", "1", PEER_IP).returncode == 0


@pytest.fixture(scope="module")
def topo():
    conftest._check_can_run()
    t = Topology()
    d = tempfile.mkdtemp(prefix="vigil-quar-", dir="/var/tmp")
    os.chmod(d, 0o755)
    t.dir, t.pin_dir = d, f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    t.watched, t.allowed = 18091, 18092
    rel = f"/vigil-test-q-{uuid.uuid4().hex[:6]}"
    t.cg = cgroup2() + rel
    os.mkdir(t.cg)
    t.servers = [subprocess.Popen(["nsenter", f"--net=/run/netns/{t.node}", "sh", "-c",
                                   f'echo $$ > {t.cg}/cgroup.procs && exec "$@"', "sh",
                                   "python3", "-c", SERVER, str(p)],
                                  stdout=subprocess.PIPE, text=True)
                 for p in (t.watched, t.allowed)]
    for s in t.servers:
        assert s.stdout.readline().strip() == "listening"
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(watched=t.watched))
    os.chmod(rules, 0o644)
    cfg = os.path.join(d, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"actions:\n  interfaces: [{t.nif}]\n  pin_dir: {t.pin_dir}\n"
                f"  quarantine_max: 8s\n"
                f"  quarantine_allow: [{PEER_IP}/32:{t.allowed}]\n")
    t.vigil = conftest.Vigil(d, ["--config", cfg, "--rules", rules, "--quarantine-scope", rel],
                             events=False,
                             prefix=["nsenter", f"--net=/run/netns/{t.node}"])
    try:
        yield t
    finally:
        t.vigil.stop()
        for s in t.servers:
            s.kill()
            s.wait()
        if os.path.isdir(t.pin_dir):
            for n in os.listdir(t.pin_dir):
                os.unlink(os.path.join(t.pin_dir, n))
            os.rmdir(t.pin_dir)
        t.close()
        os.rmdir(t.cg)
        shutil.rmtree(d, ignore_errors=True)


def cli(t, *argv):
    return subprocess.run([conftest.VIGIL, *argv, "--socket", t.vigil.control_socket],
                          capture_output=True, text=True, timeout=30)


def test_a_rule_quarantines_the_node_until_the_dead_man_timer(topo):
    assert ping(topo.peer, NODE_IP) and node_pings_peer(topo)
    assert connect(topo.peer, NODE_IP, topo.watched) == "hello"
    placed = time.time()
    al = topo.vigil.wait_alert(lambda a: a["rule"].startswith("test quarantine"),
                               what="quarantine")
    act = al["actions"][0]
    assert act["kind"] == "quarantine" and act["taken"] is True, act
    assert act["target"] == "node" and act["for_s"] == 8, act
    # in: XDP drops all but the allowlisted port; out: the cgroup's sockets
    assert not ping(topo.peer, NODE_IP)
    assert connect(topo.peer, NODE_IP, topo.watched).startswith("error")
    assert connect(topo.peer, NODE_IP, topo.allowed) == "hello"
    assert not node_pings_peer(topo)
    st = json.loads(cli(topo, "status", "--json").stdout)["enforcement"]["quarantine"]
    assert st and st["dropped"] > 0 and st["left_s"] <= 8, st
    assert time.time() - placed < 7, "the checks took longer than the quarantine"
    # the kernel lifts it by itself
    time.sleep(max(0, placed + 8.5 - time.time()))
    assert ping(topo.peer, NODE_IP) and node_pings_peer(topo)


def test_quarantine_by_hand_and_release(topo):
    r = cli(topo, "quarantine", "--for", "1h", "--reason", "test by hand")
    assert r.returncode == 0, r.stderr
    st = json.loads(cli(topo, "status", "--json").stdout)["enforcement"]["quarantine"]
    assert st["left_s"] <= 8, "a quarantine is held to actions.quarantine_max"
    assert not ping(topo.peer, NODE_IP)
    r = cli(topo, "release", "--node")
    assert r.returncode == 0, r.stderr
    assert ping(topo.peer, NODE_IP)
    r = cli(topo, "release", "--node")
    assert r.returncode == 1 and "not quarantined" in r.stderr
