"""Traffic monitoring: the block programs count packets per port and source (XDP in,
the root cgroup's egress out), the detectors raise SYN flood, UDP flood and port scan
alerts within a second, /metrics and `vigil top` show the ports, and with
`traffic.response: block` in enforce mode the flooding source is dropped in XDP.

The traffic runs only between two network namespaces the test makes (a "node" where
the agent runs, a "peer" that floods), joined by a veth pair in 10.213.0.0/30, and is
bounded in count and time by the generator (helpers/flood.c)."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
import test_integrations

NODE_IP, PEER_IP = "10.213.0.1", "10.213.0.2"
SYN_PORT, UDP_PORT, FRAG_PORT, SCAN_BASE = 18301, 18302, 18303, 30000

CONFIG = """
actions:
  mode: {mode}
  interfaces: [{nif}]
  pin_dir: {pin_dir}
traffic:
  enabled: true
  syn_flood_pps: 2000
  udp_flood_pps: 2000
  source_pps: 1000000
  scan_ports: 150
  scan_window: 10s
  response: block
  block_for: 30s
"""

# Counts the UDP datagrams it receives into a file, so the test can read the count.
LISTENER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, 33, 1 << 24)  # SO_RCVBUFFORCE: a slow reader loses nothing
s.bind(("0.0.0.0", int(sys.argv[1])))
s.settimeout(0.05)
n, shown, end = 0, -1, time.time() + 300
print("listening", flush=True)
while time.time() < end:
    try:
        s.recv(64)
        n += 1
    except socket.timeout:
        pass
    if n != shown:
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(str(n))
        import os
        os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        shown = n
"""


def sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=30)


def in_ns(ns, *argv, check=True, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                          check=check, timeout=timeout)


def flood(t, kind, port, *extra):
    """Runs the generator in the peer; returns the packets it sent."""
    r = in_ns(t.peer, conftest.helper("flood"), kind, NODE_IP, str(port), *extra, timeout=90)
    assert r.returncode == 0, r.stderr
    return int(r.stdout.split()[1])


def flood_bg(t, kind, port, *extra):
    return subprocess.Popen(["ip", "netns", "exec", t.peer, conftest.helper("flood"), kind,
                             NODE_IP, str(port), *extra], stdout=subprocess.PIPE, text=True)


def cli(t, *argv):
    return subprocess.run([conftest.VIGIL, *argv, "--socket", t.vigil.control_socket],
                          capture_output=True, text=True, timeout=30)


def metrics(t):
    port = int(t.vigil.stderr().split("(port ")[1].split(")")[0])
    r = in_ns(t.node, "python3", "-c",
              f"import urllib.request; print(urllib.request.urlopen("
              f"'http://127.0.0.1:{port}/metrics', timeout=5).read().decode())")
    return r.stdout


def unblock(t):
    r = cli(t, "block", "del", PEER_IP)
    assert r.returncode == 0, r.stderr


def make_topology(mode):
    """The two namespaces, the listener and an agent in actions.mode `mode`; a generator
    that cleans up whatever was made."""
    conftest._check_can_run()
    t = type("Topology", (), {})()
    tag = uuid.uuid4().hex[:6]
    t.node, t.peer = f"vgtn-{tag}", f"vgtp-{tag}"
    t.nif, t.pif = f"vgtn{tag}", f"vgtp{tag}"
    t.dir = tempfile.mkdtemp(prefix="vigil-traffic-", dir="/var/tmp")
    os.chmod(t.dir, 0o755)
    t.pin_dir = f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    t.vigil = None
    t.listener = None
    try:
        sh("ip", "netns", "add", t.node)
        sh("ip", "netns", "add", t.peer)
        sh("ip", "link", "add", t.nif, "netns", t.node, "type", "veth", "peer", "name", t.pif,
           "netns", t.peer)
        for ns, dev, ip in ((t.node, t.nif, NODE_IP), (t.peer, t.pif, PEER_IP)):
            in_ns(ns, "ip", "addr", "add", ip + "/30", "dev", dev)
            in_ns(ns, "ip", "link", "set", dev, "up")
            in_ns(ns, "ip", "link", "set", "lo", "up")
        t.count_file = os.path.join(t.dir, "received")
        t.listener = subprocess.Popen(["ip", "netns", "exec", t.node, "python3", "-c", LISTENER,
                                       str(UDP_PORT), t.count_file],
                                      stdout=subprocess.PIPE, text=True)
        assert t.listener.stdout.readline().strip() == "listening"
        cfg = os.path.join(t.dir, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(mode=mode, nif=t.nif, pin_dir=t.pin_dir))
        # nsenter --net: the node's network, the host's mounts (bpffs, cgroups)
        t.vigil = conftest.Vigil(t.dir, ["--config", cfg], events=False,
                                 prefix=["nsenter", f"--net=/run/netns/{t.node}"])
        yield t
    finally:
        if t.vigil:
            t.vigil.stop()
        if t.listener:
            t.listener.kill()
            t.listener.wait()
        if os.path.isdir(t.pin_dir):
            for name in os.listdir(t.pin_dir):
                os.unlink(os.path.join(t.pin_dir, name))
            os.rmdir(t.pin_dir)
        sh("ip", "netns", "del", t.node, check=False)
        sh("ip", "netns", "del", t.peer, check=False)
        shutil.rmtree(t.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def topo():
    yield from make_topology("enforce")


def received(t):
    try:
        with open(t.count_file) as f:
            return int(f.read() or 0)
    except FileNotFoundError:
        return 0


def settled(t, deadline, quiet=0.5):
    """The listener's count once it stayed the same for quiet seconds (or at deadline),
    and whether it did."""
    n, since = received(t), time.time()
    while time.time() < deadline:
        time.sleep(0.05)
        m = received(t)
        if m != n:
            n, since = m, time.time()
        elif time.time() - since >= quiet:
            return n, True
    return n, False


def test_a_syn_flood_is_alerted_within_a_second_and_its_source_blocked(topo):
    t = topo
    start = time.time()
    p = flood_bg(t, "syn", SYN_PORT, "--count", "12000", "--seconds", "3", "--pps", "4000")
    try:
        al = t.vigil.wait_alert(lambda a: a["rule"] == "SYN flood", timeout=10, what="SYN flood")
    finally:
        p.wait(timeout=30)
    of = al["output_fields"]
    assert al["source"] == "traffic" and al["priority"] == "Critical", al
    assert "mitre_impact" in al["tags"] and "T1499" in al["tags"], al
    assert of["traffic.port"] == SYN_PORT and of["traffic.proto"] == "tcp", of
    assert of["traffic.src"] == PEER_IP and of["traffic.syn_pps"] >= 2000, of
    assert of["evt.time"] / 1e9 - start < 1.0, f"alert {of['evt.time'] / 1e9 - start:.2f} s in"
    act = al["actions"][0]
    assert act["kind"] == "block" and act["taken"] is True, act
    assert act["target"] == PEER_IP + "/32" and act["for_s"] == 30, act
    listed = json.loads(cli(t, "block", "list", "--json").stdout)["blocks"]
    assert listed[0]["by"] == "detector" and listed[0]["reason"] == "SYN flood", listed
    # the rest of the flood hit the block in XDP
    assert listed[0]["dropped"] > 1000, listed
    unblock(t)


def test_the_flood_shows_in_metrics_and_top(topo):
    t = topo
    text = metrics(t)
    series = [ln for ln in text.splitlines()
              if ln.startswith("vigil_traffic_packets_total{") and f'port="{SYN_PORT}"' in ln
              and 'direction="in"' in ln]
    assert series and float(series[0].split()[-1]) >= 4000, series or text[-2000:]
    syn = [ln for ln in text.splitlines()
           if ln.startswith("vigil_traffic_tcp_syn_total{") and f'port="{SYN_PORT}"' in ln
           and 'direction="in"' in ln]
    assert syn and float(syn[0].split()[-1]) >= 4000, syn
    assert 'vigil_traffic_alerts_total{detector="SYN flood"} 1' in text
    # the number of series is bounded: the configured ports plus one "other" per
    # direction and protocol
    n = len([ln for ln in text.splitlines() if ln.startswith("vigil_traffic_packets_total{")])
    assert n <= 20 + 2 * 8, n
    # every series the dashboard's Traffic row plots is there
    with open(os.path.join(conftest.REPO, "deploy", "grafana", "vigil.json")) as f:
        dash = json.load(f)
    names = set()
    for p in dash["panels"]:
        if p["title"] in test_integrations.traffic_panel_titles(dash):
            for tg in p["targets"]:
                names |= set(re.findall(r"(vigil_traffic_\w+)\{", tg["expr"]))
    assert len(names) >= 4, names
    for name in names:
        assert f"\n{name}{{" in text, f"{name} is not in /metrics"
    # vigil top: JSON for scripts, one table for a terminal
    r = cli(t, "top", "--json", "--rows", "50")
    assert r.returncode == 0, r.stderr
    top = json.loads(r.stdout)
    assert any(p["port"] == SYN_PORT and p["direction"] == "in" and p["packets"] >= 4000
               for p in top["ports"]), top["ports"]
    assert any(s["addr"] == PEER_IP and s["direction"] == "in" for s in top["sources"]), top
    r = cli(t, "top", "--once")
    assert r.returncode == 0 and "PKT/S" in r.stdout and PEER_IP in r.stdout, r.stdout


def test_fragments_count_on_their_datagrams_port_not_on_their_payload(topo):
    """An evasion: a fragment past the first carries payload where the ports would be
    (here 'AA' = port 16705); counting it there would hide a flood and invent ports."""
    t = topo
    flood(t, "udp", FRAG_PORT, "--count", "300", "--pps", "300", "--size", "3000")
    time.sleep(1.2)  # two readings
    top = json.loads(cli(t, "top", "--json", "--rows", "10000").stdout)
    inudp = {p["port"]: p["packets"] for p in top["ports"]
             if p["direction"] == "in" and p["proto"] == "udp"}
    assert inudp.get(FRAG_PORT, 0) >= 300, inudp
    assert inudp.get(0, 0) >= 600, inudp  # two more fragments of each datagram
    assert 0x4141 not in inudp, inudp
    # the egress side sees the datagram whole, before the stack cuts it up
    r = in_ns(t.node, conftest.helper("flood"), "udp", PEER_IP, str(FRAG_PORT), "--count", "50",
              "--pps", "100", "--size", "3000")
    assert r.returncode == 0, r.stderr
    time.sleep(1.2)
    top = json.loads(cli(t, "top", "--json", "--rows", "10000").stdout)
    out = [p for p in top["ports"] if p["direction"] == "out" and p["port"] == FRAG_PORT]
    assert out and out[0]["packets"] >= 50, out
    assert any(s["addr"] == PEER_IP and s["direction"] == "out" for s in top["sources"]), top


def test_a_udp_flood_is_blocked_and_stops_reaching_the_listener(topo):
    t = topo
    before = received(t)
    start = time.time()
    p = flood_bg(t, "udp", UDP_PORT, "--count", "36000", "--seconds", "6", "--pps", "6000")
    try:
        al = t.vigil.wait_alert(lambda a: a["rule"] == "UDP flood", timeout=10, what="UDP flood")
        of = al["output_fields"]
        assert of["evt.time"] / 1e9 - start < 1.0, f"{of['evt.time'] / 1e9 - start:.2f} s"
        assert of["traffic.port"] == UDP_PORT and of["traffic.src"] == PEER_IP, of
        assert "T1498" in al["tags"], al
        assert al["actions"][0]["taken"] is True, al["actions"]
        # the listener drains what was queued before the block, then nothing more comes
        # while the flood goes on
        at_block, still = settled(t, deadline=time.time() + 2.5)
        assert p.poll() is None, "the flood ended before the count settled: make it longer"
    finally:
        out, _ = p.communicate(timeout=30)
    sent = int(out.split()[1])
    time.sleep(0.3)
    after = received(t)
    # the flood went on for seconds after the block, and none of it arrived
    assert sent >= 30000, out
    assert still and after == at_block, (before, at_block, after)
    assert after - before < sent / 2, (before, after, sent)
    listed = json.loads(cli(t, "block", "list", "--json").stdout)["blocks"]
    assert listed[0]["dropped"] >= sent - (after - before) - 100, (listed, sent, after - before)
    unblock(t)
    # unblocked: it reaches the listener again
    flood(t, "udp", UDP_PORT, "--count", "50", "--pps", "100")
    deadline = time.time() + 3
    while received(t) < after + 50 and time.time() < deadline:
        time.sleep(0.05)
    assert received(t) >= after + 50


def test_a_scan_of_200_ports_is_alerted(topo):
    t = topo
    flood(t, "syn", SCAN_BASE, "--ports", "200", "--count", "200", "--pps", "400")
    al = t.vigil.wait_alert(lambda a: a["rule"] == "Port scan", timeout=5, what="port scan")
    of = al["output_fields"]
    assert of["traffic.src"] == PEER_IP and of["traffic.ports"] >= 150, of
    assert "mitre_discovery" in al["tags"] and "T1046" in al["tags"], al
    assert al["priority"] == "Warning", al
    # each port had one SYN: no port was flooded
    assert not [a for a in t.vigil.alerts()
                if a["rule"] == "SYN flood" and a["output_fields"]["traffic.port"] >= SCAN_BASE]
    unblock(t)


def test_status_says_traffic_is_on_and_the_programs_go_with_the_agent(topo):
    t = topo
    st = json.loads(cli(t, "status", "--json").stdout)
    assert st["traffic"] is True
    assert st["enforcement"]["blocking"].startswith("xdp on 1 interface"), st["enforcement"]
    links = in_ns(t.node, "ip", "link", "show", t.nif).stdout
    assert "xdp" in links, links
    rc = t.vigil.stop()
    t.vigil = None
    assert rc == 0
    # no block left: the hold went with the agent, so did the XDP program and the pins
    links = in_ns(t.node, "ip", "link", "show", t.nif).stdout
    assert "xdp" not in links, links
    assert not [n for n in os.listdir(t.pin_dir) if n.startswith("link_")], os.listdir(t.pin_dir)


@pytest.fixture(scope="module")
def topo_monitor():
    yield from make_topology("monitor")


def test_in_monitor_mode_the_alert_says_what_would_have_been_blocked(topo_monitor):
    t = topo_monitor
    before = received(t)
    sent = flood(t, "udp", UDP_PORT, "--count", "6000", "--seconds", "2", "--pps", "4000")
    al = t.vigil.wait_alert(lambda a: a["rule"] == "UDP flood", timeout=5, what="UDP flood")
    act = al["actions"][0]
    assert act["kind"] == "block" and act["taken"] is False, act
    assert act["reason"] == "monitor mode" and act["target"] == PEER_IP + "/32", act
    # nothing was blocked: the whole flood reached the listener
    deadline = time.time() + 3
    while received(t) < before + sent and time.time() < deadline:
        time.sleep(0.05)
    # (a block would have stopped it half a second in, at a third of it)
    assert received(t) - before >= sent * 0.8, (received(t) - before, sent)
    listed = json.loads(cli(t, "block", "list", "--json").stdout)["blocks"]
    assert listed == [], listed
    text = metrics(t)
    assert 'vigil_actions_total{action="block",where="user",result="monitor"} 1' in text


def test_traffic_off_is_refused_by_top(workdir):
    conftest._check_can_run()
    v = conftest.Vigil(workdir, [], events=False)
    try:
        r = subprocess.run([conftest.VIGIL, "top", "--once", "--socket", v.control_socket],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1 and "traffic monitoring is off" in r.stderr, r.stderr
    finally:
        assert v.stop() == 0
