"""Isolation: `vigil isolate` and a rule with `actions: [isolate]` cut a real podman
container's network (every packet its sockets send or receive is dropped at the root
cgroup's cgroup_skb hooks) while host processes keep theirs; `vigil release` gives it
back. The container shares the host's network namespace (--network host) so that the
listener it tries to reach is the host's own, on loopback; nothing else is touched."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid

import pytest

import conftest
from conftest import PODMAN, PODMAN_RUN

RULES = """
- rule: test isolate who runs cat
  desc: cat in a container isolates it
  condition: evt.type = execve and proc.name = cat and container.id != host
  output: "test cat in %container.id"
  priority: CRITICAL
  actions: [isolate]
- rule: test isolate a host program
  desc: the same action for a process on the host
  condition: evt.type = execve and proc.name = vg-hostcat
  output: "test host cat"
  priority: CRITICAL
  actions: [isolate]
- rule: test isolate in monitor mode
  desc: ls in a container would isolate it
  condition: evt.type = execve and proc.name = ls and container.id != host
  output: "test ls in %container.id"
  priority: CRITICAL
  actions: [isolate]
  mode: monitor
"""


PEER_HOST_IP, PEER_IP = "10.231.88.1", "10.231.88.2"


class Peer:
    """A network namespace the test makes, joined to the host by a veth pair, with a
    listener: what an isolated container must not reach either."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.ns, self.hif, self.pif = f"vgpeer-{tag}", f"vgh{tag}", f"vgp{tag}"
        run = lambda *a: subprocess.run(a, check=True, capture_output=True, timeout=30)
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.hif, "type", "veth", "peer", "name", self.pif,
            "netns", self.ns)
        run("ip", "addr", "add", PEER_HOST_IP + "/24", "dev", self.hif)
        run("ip", "link", "set", self.hif, "up")
        run("ip", "netns", "exec", self.ns, "ip", "addr", "add", PEER_IP + "/24", "dev",
            self.pif)
        run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.pif, "up")
        # port: cut off from an isolated container; allowed: on actions.isolate_allow
        self.port, self.allowed = 18093, 18094
        self.servers = [subprocess.Popen(
            ["ip", "netns", "exec", self.ns, "python3", "-c",
             "import socket\ns = socket.socket()\ns.bind(('0.0.0.0', %d))\ns.listen(16)\n"
             "print('listening', flush=True)\nwhile True:\n    c, _ = s.accept()\n"
             "    c.sendall(b'hello\\n')\n    c.close()\n" % port],
            stdout=subprocess.PIPE, text=True) for port in (self.port, self.allowed)]
        for s in self.servers:
            assert s.stdout.readline().strip() == "listening"

    def close(self):
        for s in self.servers:
            s.kill()
            s.wait()
        subprocess.run(["ip", "link", "del", self.hif], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


def _listener():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(64)

    def serve():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.sendall(b"hello\n")
            c.close()
    threading.Thread(target=serve, daemon=True).start()
    return s


@pytest.fixture(scope="module")
def iso(busybox_image):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-iso-", dir="/var/tmp")
    os.chmod(d, 0o755)
    pin = f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES)
    os.chmod(rules, 0o644)
    cfg = os.path.join(d, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"actions:\n  pin_dir: {pin}\n  isolate_allow: [{PEER_IP}/32:18094]\n")
    lst = _listener()
    peer = Peer()
    cids, v = [], None
    try:
        for name in ("a", "b"):
            cidfile = os.path.join(d, name + ".cid")
            run = [a if a != "none" else "host" for a in PODMAN_RUN]
            subprocess.run(run + ["-d", "--cidfile", cidfile, busybox_image, "sleep", "300"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(cidfile) as f:
                cids.append(f.read().strip())
        args = ["--config", cfg, "--rules", rules]
        holder = {"v": conftest.Vigil(d, args, events=False), "dir": d, "args": args}
        v = holder["v"]
        holder["peer"] = peer
        yield v, cids, lst.getsockname()[1], holder
    finally:
        v = holder["v"] if "holder" in locals() else v
        rc = v.stop() if v else 0
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", *cids], capture_output=True)
        lst.close()
        peer.close()
        if os.path.isdir(pin):
            for n in os.listdir(pin):
                os.unlink(os.path.join(pin, n))
            os.rmdir(pin)
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0


def reach(cid, port, host="127.0.0.1"):
    """Whether the container reaches a listener (busybox nc, 2 s): the host's on
    loopback, or the peer namespace's."""
    r = subprocess.run(PODMAN + ["exec", cid, "busybox", "nc", "-w", "2", host, str(port)],
                       capture_output=True, text=True, timeout=60)
    return "hello" in r.stdout


def host_reaches(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
        return c.recv(16) == b"hello\n"


def cli(v, *argv):
    return subprocess.run([conftest.VIGIL, *argv, "--socket", v.control_socket],
                          capture_output=True, text=True, timeout=30)


def test_isolate_by_hand_cuts_one_container_and_release_gives_it_back(iso):
    v, (a, b), port, holder = iso
    peer = holder["peer"]
    assert reach(a, port) and reach(b, port)
    assert reach(a, peer.port, PEER_IP)
    r = cli(v, "isolate", a[:12], "--reason", "test by hand")
    assert r.returncode == 0, r.stderr
    assert not reach(a, port)
    assert not reach(a, peer.port, PEER_IP)
    assert reach(a, peer.allowed, PEER_IP), "actions.isolate_allow is cut off too"
    assert reach(b, port) and host_reaches(port)
    assert reach(b, peer.port, PEER_IP)
    st = json.loads(cli(v, "status", "--json").stdout)["enforcement"]
    got = {x["container"]: x for x in st["isolated"]}
    assert a[:12] in got and got[a[:12]]["dropped"] > 0 and got[a[:12]]["cgroups"] >= 1, got
    r = cli(v, "release", a[:12])
    assert r.returncode == 0, r.stderr
    assert reach(a, port)
    r = cli(v, "release", a[:12])
    assert r.returncode == 1 and "is not isolated" in r.stderr


def test_a_host_process_is_not_isolated_and_bad_ids_are_refused(iso):
    v, _, _, _ = iso
    r = cli(v, "isolate", "host")
    assert r.returncode == 1 and "not a container id" in r.stderr, r.stderr
    r = cli(v, "isolate", "0123456789ab")
    assert r.returncode == 1 and "no cgroup of container 0123456789ab" in r.stderr, r.stderr


def test_a_rule_isolates_the_container_its_process_runs_in(iso):
    v, (a, b), port, _ = iso
    r = subprocess.run(PODMAN + ["exec", b, "cat", "/etc/hostname"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    al = v.wait_alert(lambda x: x["rule"] == "test isolate who runs cat", what="isolate")
    act = al["actions"][0]
    assert act["kind"] == "isolate" and act["taken"] is True, act
    assert act["target"] == b[:12], act
    assert not reach(b, port)
    assert reach(a, port) and host_reaches(port)
    r = cli(v, "release", "--all")
    assert r.returncode == 0, r.stderr
    assert reach(b, port)


def test_an_isolation_holds_while_the_agent_is_down(iso):
    v, (a, b), port, holder = iso
    r = cli(v, "isolate", a[:12])
    assert r.returncode == 0, r.stderr
    assert v.stop() == 0
    assert not reach(a, port), "the isolation ended with the agent"
    holder["v"] = v = conftest.Vigil(holder["dir"], holder["args"], events=False)
    st = json.loads(cli(v, "status", "--json").stdout)["enforcement"]
    assert [x["container"] for x in st["isolated"]] == [a[:12]], st["isolated"]
    assert not reach(a, port)
    r = cli(v, "release", "--all")
    assert r.returncode == 0, r.stderr
    assert reach(a, port)


def test_a_host_process_is_not_isolated_and_monitor_mode_acts_on_nothing(iso):
    _, (a, b), port, holder = iso
    v = holder["v"]  # the agent the restart test started
    cat = os.path.join(holder["dir"], "vg-hostcat")
    shutil.copy("/bin/cat", cat)
    r = subprocess.run([cat, "/etc/hostname"], capture_output=True, timeout=30)
    assert r.returncode == 0
    al = v.wait_alert(lambda x: x["rule"] == "test isolate a host program", what="host")
    act = al["actions"][0]
    assert act["taken"] is False and act["reason"] == "the process is not in a container", act
    r = subprocess.run(PODMAN + ["exec", a, "ls", "/"], capture_output=True, timeout=60)
    assert r.returncode == 0
    al = v.wait_alert(lambda x: x["rule"] == "test isolate in monitor mode", what="monitor")
    act = al["actions"][0]
    assert act["taken"] is False and act["reason"] == "monitor mode", act
    assert act["target"] == a[:12], act
    assert reach(a, port)
