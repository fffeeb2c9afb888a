"""packet_storm.py - the traffic section of the benchmarks: the cost of vigil's XDP
and egress programs when traffic monitoring counts every packet.

A veth pair joins two network namespaces made here (a "node" and a "peer", addresses
in 10.213.250.0/30). The peer sends small UDP datagrams as fast as it can for a few
seconds (workloads/packet_storm.c); the node's receiver counts what arrives. Under:
  baseline  no program on the veth
  floor     an empty XDP program on the node's veth and an empty cgroup_skb egress
            program at the cgroup v2 root (floor/floor_xdp.bpf.c): the kernel's cost
            of running programs there
  vigil     vigil run with traffic.enabled on the node's veth (its XDP program counts
            per port and source, then checks the blocks; its egress program likewise)
The figure is the received packets a second (median of the rounds), and vigil's
ratio to the floor (floor pps / vigil pps: 1.0 is free)."""
import os
import statistics
import subprocess
import time
import uuid

NODE_IP, PEER_IP = "10.213.250.1", "10.213.250.2"
PORT = 9

CONDITIONS = ["baseline", "floor", "vigil"]


def _sh(*argv, check=True):
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=60)


class Topology:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.node, self.peer = f"vgbn-{tag}", f"vgbp-{tag}"
        self.nif, self.pif = f"vgbn{tag}", f"vgbp{tag}"
        _sh("ip", "netns", "add", self.node)
        _sh("ip", "netns", "add", self.peer)
        _sh("ip", "link", "add", self.nif, "netns", self.node, "type", "veth", "peer", "name",
            self.pif, "netns", self.peer)
        for ns, dev, ip in ((self.node, self.nif, NODE_IP), (self.peer, self.pif, PEER_IP)):
            _sh("ip", "-n", ns, "addr", "add", ip + "/30", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")

    def close(self):
        _sh("ip", "netns", "del", self.node, check=False)
        _sh("ip", "netns", "del", self.peer, check=False)


class Floor:
    """The empty programs, loaded with bpftool and pinned under a directory of ours."""

    def __init__(self, h, topo, cgroup_root):
        self.h, self.topo, self.cg = h, topo, cgroup_root
        self.pin = f"/sys/fs/bpf/vigil-bench-floor-{uuid.uuid4().hex[:8]}"

    def start(self):
        _sh("bpftool", "prog", "loadall", self.h.bin("floor_xdp.bpf.o"), self.pin)
        # nsenter, not ip netns exec (which remounts /sys, hiding the pins)
        _sh("nsenter", f"--net=/run/netns/{self.topo.node}", "bpftool", "net", "attach", "xdp",
            "pinned", f"{self.pin}/floor_xdp", "dev", self.topo.nif)
        _sh("bpftool", "cgroup", "attach", self.cg, "egress", "pinned",
            f"{self.pin}/floor_egress", "multi")

    def stop(self):
        _sh("nsenter", f"--net=/run/netns/{self.topo.node}", "bpftool", "net", "detach", "xdp",
            "dev", self.topo.nif, check=False)
        _sh("bpftool", "cgroup", "detach", self.cg, "egress", "pinned",
            f"{self.pin}/floor_egress", check=False)
        for name in ("floor_xdp", "floor_egress"):
            try:
                os.unlink(os.path.join(self.pin, name))
            except FileNotFoundError:
                pass
        try:
            os.rmdir(self.pin)
        except OSError:
            pass


class Vigil:
    """vigil run in the node's namespace, counting traffic on its veth."""

    def __init__(self, h, topo):
        self.h, self.topo = h, topo

    def start(self):
        cfg = os.path.join(self.h.scratch, "packet_storm.yaml")
        with open(cfg, "w") as f:
            f.write(f"actions:\n  interfaces: [{self.topo.nif}]\n  pin_dir: \"\"\n"
                    "traffic:\n  enabled: true\n")
        self.err = os.path.join(self.h.scratch, "packet_storm_vigil.stderr")
        with open(self.err, "wb") as e:
            self.proc = self.h.spawn(["nsenter", f"--net=/run/netns/{self.topo.node}",
                                      self.h.vigil, "run", *self.h.vigil_common_args,
                                      "--config", cfg],
                                     stdout=subprocess.DEVNULL, stderr=e,
                                     stdin=subprocess.DEVNULL)
        deadline = time.time() + 180
        while True:
            with open(self.err, "rb") as f:
                text = f.read()
            if b"vigil: monitoring" in text:
                break
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("vigil did not start:\n" + text.decode()[-2000:])
            time.sleep(0.1)
        if b"counting traffic" not in text:
            raise RuntimeError("vigil does not count traffic:\n" + text.decode()[-2000:])

    def stop(self):
        proc = getattr(self, "proc", None)
        if not proc:
            return
        if proc.poll() is None:
            proc.send_signal(2)
            proc.wait(timeout=60)
        self.h.children.remove(proc)


def _one_run(h, topo, seconds):
    recv = subprocess.Popen(["ip", "netns", "exec", topo.node, h.bin("packet_storm"), "recv",
                             str(PORT), str(seconds + 1.0)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert recv.stdout.readline().strip() == "ready"
        send = _sh("ip", "netns", "exec", topo.peer, h.bin("packet_storm"), "send", NODE_IP,
                   str(PORT), str(seconds))
        out, _ = recv.communicate(timeout=seconds + 30)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    sent = int(send.stdout.split()[1])
    got, first, last = out.split()[1:4]
    got = int(got)
    return {"sent": sent, "received": got, "rx_pps": got / seconds, "tx_pps": sent / seconds}


def cgroup2_root():
    """Where the cgroup v2 hierarchy is mounted (hybrid hosts: not /sys/fs/cgroup)."""
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, path, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return path
    raise RuntimeError("no cgroup v2 hierarchy is mounted")


def run(h, cgroup_root=None, rounds=None, seconds=None):
    """The section's report: per condition the runs and the median received pps."""
    cgroup_root = cgroup_root or cgroup2_root()
    quick = h.args.quick
    rounds = rounds or (1 if quick else 5)
    seconds = seconds or (1.0 if quick else 3.0)
    topo = Topology()
    res = {"seconds": seconds, "rounds": rounds, "conditions": {}}
    try:
        for cond in CONDITIONS:
            mon = None if cond == "baseline" else (Floor(h, topo, cgroup_root)
                                                   if cond == "floor" else Vigil(h, topo))
            try:
                if mon:
                    mon.start()
                _one_run(h, topo, 0.5)  # warm-up: ARP, caches
                runs = [_one_run(h, topo, seconds) for _ in range(rounds)]
            finally:
                if mon:
                    mon.stop()
            res["conditions"][cond] = {
                "runs": runs,
                "rx_pps_median": statistics.median(r["rx_pps"] for r in runs),
                "tx_pps_median": statistics.median(r["tx_pps"] for r in runs),
            }
    finally:
        topo.close()
    c = res["conditions"]
    if c["vigil"]["rx_pps_median"] > 0:
        res["vigil_vs_floor"] = round(c["floor"]["rx_pps_median"] / c["vigil"]["rx_pps_median"],
                                      3)
    if c["floor"]["rx_pps_median"] > 0:
        res["floor_vs_baseline"] = round(
            c["baseline"]["rx_pps_median"] / c["floor"]["rx_pps_median"], 3)
    return res


def markdown(sec):
    """The section's lines of bench.md."""
    lines = ["## Packet storm (traffic counters in XDP)", "",
             f"UDP datagrams from a peer namespace over a veth pair, {sec['seconds']:g} s per "
             f"run, {sec['rounds']} runs per condition (median). Received: what the node's "
             "socket got; the ratio is floor pps / vigil pps (1.0: free).", "",
             "| condition | received pps | sent pps |", "| --- | --- | --- |"]
    for cond, c in sec["conditions"].items():
        lines.append(f"| {cond} | {c['rx_pps_median']:,.0f} | {c['tx_pps_median']:,.0f} |")
    lines.append("")
    if "vigil_vs_floor" in sec:
        lines.append(f"vigil vs floor: **{sec['vigil_vs_floor']:.3f}x**"
                     + (f" (floor vs baseline {sec['floor_vs_baseline']:.3f}x)"
                        if "floor_vs_baseline" in sec else ""))
        lines.append("")
    return lines
