"""DNS from the real kernel: queries and answers on port 53 seen by the cgroup_skb
programs, against a real DNS server on loopback (Debian's dnsmasq, from dnsmasq-base)
serving a local zone, and a small hostile server written here.

The agent runs as deployed (events=False): the default ruleset, under the prefilter
it derives, plus a rule file of the test's. Lookups go out through dig over UDP and
TCP, and through glibc's resolver (getent ahosts: A and AAAA in one sendmmsg) with
/etc/resolv.conf bind-mounted in a mount namespace of its own, so the host's resolver
is never touched. Every address is a 127.0.0.x one picked per run, free on port 53."""
import json
import os
import random
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import VIGIL, Vigil
from servers import metrics_text

MINING_RULE = "DNS lookup of a mining pool"
PORT_RULE = "Crypto-miner pool port connection"


def free_addr(taken=()):
    """A 127.0.0.x address where nothing listens on port 53 (UDP or TCP)."""
    for _ in range(200):
        a = f"127.0.0.{random.randint(60, 250)}"
        if a in taken:
            continue
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((a, 53))
                finally:
                    s.close()
        except OSError:
            continue
        return a
    pytest.fail("no 127.0.0.x address with port 53 free")


@pytest.fixture()
def zone(workdir):
    """dnsmasq on ADDR:53 with the zone: supportxmr.com and below -> POOL,
    www.ordinary.test -> PLAIN. Yields (addr, pool, plain)."""
    addr = free_addr()
    pool = free_addr((addr,))
    plain = free_addr((addr, pool))
    p = subprocess.Popen(
        ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
         "--no-hosts", "--bind-interfaces", f"--listen-address={addr}", "--port=53",
         f"--pid-file={workdir}/dnsmasq.pid", "--log-facility=-",
         f"--address=/supportxmr.com/{pool}", f"--host-record=www.ordinary.test,{plain}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while dig(addr, "www.ordinary.test") != [plain]:
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            pytest.fail("dnsmasq did not answer: " + p.stderr.read().decode())
        time.sleep(0.1)
    yield addr, pool, plain
    p.terminate()
    p.wait()


def dig(server, name, *opts, qtype="A"):
    out = subprocess.run(["dig", "+short", "+tries=1", "+time=2", *opts, f"@{server}", name,
                          qtype], capture_output=True, text=True, timeout=30).stdout
    return [line for line in out.split() if line and not line.startswith(";")]


def dig_pid(server, name, *opts, qtype="A"):
    """Runs dig; returns its pid and what it printed."""
    p = subprocess.Popen(["dig", "+short", "+tries=1", "+time=2", *opts, f"@{server}", name,
                          qtype], stdout=subprocess.PIPE, text=True)
    out, _ = p.communicate(timeout=30)
    return p.pid, out.split()


def agent(workdir, extra_rules=""):
    rules = os.path.join(workdir, "extra.yaml")
    with open(rules, "w") as f:
        f.write(extra_rules or "- list: never_used_dns_test_list\n  items: [x]\n")
    repo_rules = os.path.join(os.path.dirname(VIGIL), "..", "rules", "vigil_rules.yaml")
    return Vigil(workdir, ["--rules", repo_rules, "--rules", rules], events=False)


def pool_alerts(v, rule, pid=None):
    return [a for a in v.alerts() if a["rule"] == rule and
            (pid is None or a["output_fields"]["proc.pid"] == pid)]


def test_lookups_over_udp_tcp_and_glibc_raise_the_rule_near_misses_do_not(workdir, zone):
    addr, pool, plain = zone
    v = agent(workdir)
    try:
        # near misses first: a name that only ends like a pool's, an ordinary name
        pid_near, _ = dig_pid(addr, "notsupportxmr.com")
        pid_plain, out = dig_pid(addr, "www.ordinary.test")
        assert out == [plain]
        pid_udp, out = dig_pid(addr, "pool.supportxmr.com")
        assert out == [pool]
        pid_tcp, out = dig_pid(addr, "gulf.supportxmr.com", "+tcp")
        assert out == [pool]
        al = v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                          a["output_fields"]["proc.pid"] == pid_udp, what="UDP lookup alert")
        assert al["output_fields"]["dns.query"] == "pool.supportxmr.com"
        assert al["output_fields"]["dns.type"] == "A"
        assert al["output_fields"]["dns.server"] == addr
        assert al["priority"] == "Critical"
        al = v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                          a["output_fields"]["proc.pid"] == pid_tcp, what="TCP lookup alert")
        assert al["output_fields"]["dns.query"] == "gulf.supportxmr.com"

        # glibc's resolver: A and AAAA sent together with sendmmsg, from getent
        conf = os.path.join(workdir, "resolv.conf")
        with open(conf, "w") as f:
            f.write(f"nameserver {addr}\noptions timeout:2 attempts:1\n")
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            f"mount --bind {conf} /etc/resolv.conf && "
                            "exec getent ahosts xmr.supportxmr.com"],
                           capture_output=True, text=True, timeout=30)
        assert pool in p.stdout, p.stderr
        al = v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                          a["output_fields"]["dns.query"] == "xmr.supportxmr.com" and
                          a["output_fields"]["proc.name"] == "getent", what="getent alert")
        types = {a["output_fields"]["dns.type"] for a in v.alerts()
                 if a["rule"] == MINING_RULE and
                 a["output_fields"]["dns.query"] == "xmr.supportxmr.com"}
        assert types == {"A", "AAAA"}, types

        time.sleep(0.5)
        assert not pool_alerts(v, MINING_RULE, pid_near)
        assert not pool_alerts(v, MINING_RULE, pid_plain)
        assert not [a for a in v.alerts() if a["rule"] == MINING_RULE and
                    a["output_fields"]["dns.query"] in ("notsupportxmr.com",
                                                        "www.ordinary.test")]
    finally:
        assert v.stop() == 0, v.stderr()


CONNECT_RULE = """
- rule: Connect to a name from DNS
  desc: a connect whose server address a recent answer named
  condition: evt.type = connect and fd.sip = {ip}
  output: "connect to %fd.sip.name (%fd.sip:%fd.sport) by %proc.name"
  priority: NOTICE
"""


def test_a_connect_to_an_answered_address_carries_its_name(workdir, zone):
    addr, pool, plain = zone
    v = agent(workdir, CONNECT_RULE.format(ip=plain))
    srv = socket.socket()
    srv2 = socket.socket()
    try:
        srv.bind((pool, 3333))
        srv.listen()
        srv2.bind((plain, 0))
        srv2.listen()
        # before any answer: the connect has no name
        socket.create_connection(srv2.getsockname(), timeout=5).close()
        al = v.wait_alert(lambda a: a["rule"] == "Connect to a name from DNS",
                          what="connect before the lookup")
        assert al["output_fields"]["fd.sip.name"] is None

        assert dig(addr, "www.ordinary.test") == [plain]
        assert dig(addr, "pool.supportxmr.com", "+tcp") == [pool]
        time.sleep(0.3)
        socket.create_connection(srv2.getsockname(), timeout=5).close()
        al = v.wait_alert(lambda a: a["rule"] == "Connect to a name from DNS" and
                          a["output_fields"]["fd.sip.name"] is not None,
                          what="connect with a name")
        assert al["output_fields"]["fd.sip.name"] == "www.ordinary.test"
        # the default pool-port rule names the pool the address was looked up as
        socket.create_connection((pool, 3333), timeout=5).close()
        al = v.wait_alert(lambda a: a["rule"] == PORT_RULE and
                          a["output_fields"]["fd.name"].endswith(f"->{pool}:3333"),
                          what="pool port alert")
        assert al["output_fields"]["fd.sip.name"] == "pool.supportxmr.com"
        assert "name=pool.supportxmr.com" in al["output"]
    finally:
        srv.close()
        srv2.close()
        assert v.stop() == 0, v.stderr()


def hostile_server(addr, replies):
    """A UDP server on addr:53 answering each query with the next reply built from it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    s.settimeout(0.2)
    stop = threading.Event()

    def run():
        i = 0
        while not stop.is_set():
            try:
                q, peer = s.recvfrom(2048)
            except socket.timeout:
                continue
            s.sendto(replies[min(i, len(replies) - 1)](q), peer)
            i += 1
        s.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return stop, t


def loop_answer(q):
    """The question echoed with one answer whose name is a pointer to itself."""
    qid = q[:2]
    end = 12
    while q[end]:
        end += 1 + q[end]
    question = q[12:end + 5]  # the name, its terminator, type and class (no EDNS record)
    at = 12 + len(question)
    return (qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0) + question +
            struct.pack(">H", 0xc000 | at) + struct.pack(">HHIH", 1, 1, 60, 4) +
            bytes([127, 0, 0, 9]))


def short_answer(q):
    return q[:2] + b"\x81\x80\x00"


def malformed(v):
    body = metrics_text(v)
    out = {}
    for line in body.splitlines():
        if line.startswith("vigil_dns_messages_malformed_total{"):
            reason = line.split('reason="')[1].split('"')[0]
            out[reason] = float(line.split()[-1])
    return out


def test_hostile_answers_are_survived_and_counted(workdir, zone):
    addr, pool, plain = zone
    bad = free_addr((addr, pool, plain))
    stop, t = hostile_server(bad, [loop_answer, short_answer])
    v = agent(workdir)
    try:
        dig(bad, "loop.supportxmr.com")
        dig(bad, "short.supportxmr.com")
        deadline = time.time() + 10
        while True:
            m = malformed(v)
            if m.get("loop", 0) >= 1 and m.get("short", 0) >= 1:
                break
            assert time.time() < deadline, m
            time.sleep(0.3)
        # the queries themselves were fine: both raised the rule
        v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                     a["output_fields"]["dns.query"] == "short.supportxmr.com",
                     what="alert for the query before the short answer")
        # still working
        pid, out = dig_pid(addr, "after.supportxmr.com")
        assert out == [pool]
        v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                     a["output_fields"]["proc.pid"] == pid, what="alert after hostile answers")
        p = subprocess.run([VIGIL, "status", "--socket", v.control_socket, "--json"],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        st = json.loads(p.stdout)
        dns = st.get("dns") or st.get("status", {}).get("dns")
        assert dns["messages_malformed"]["loop"] >= 1
        assert dns["messages_malformed"]["short"] >= 1
        assert dns["answer_cache_max"] == 4096
    finally:
        stop.set()
        t.join()
        assert v.stop() == 0, v.stderr()


def test_no_dns_rule_no_dns_records(workdir, zone):
    """Rules that need no DNS leave the programs idle: nothing is read or sent."""
    addr, pool, plain = zone
    rules = os.path.join(workdir, "only.yaml")
    with open(rules, "w") as f:
        f.write("- rule: opens\n  desc: d\n  output: o\n  priority: INFO\n"
                "  condition: evt.type = open and fd.name = /nonexistent/x\n")
    v = Vigil(workdir, ["--rules", rules], events=False)
    try:
        for _ in range(5):
            dig(addr, "pool.supportxmr.com")
        body = metrics_text(v)
        sent = [line for line in body.splitlines()
                if line.startswith("vigil_events_") and 'type="dns"' in line]
        assert all(float(line.split()[-1]) == 0 for line in sent), sent
    finally:
        assert v.stop() == 0, v.stderr()


def dns_query(name, qtype=1, qid=0x4242):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", qtype, 1)


def test_a_tcp_query_split_across_segments_is_still_seen(workdir, zone):
    """Evasion: the 2-byte length and the message in two writes (two segments), and
    the message itself cut in the middle of the name."""
    addr, pool, plain = zone
    v = agent(workdir)
    try:
        for name, cut in (("split.supportxmr.com", 2), ("cut.supportxmr.com", 9)):
            q = dns_query(name)
            stream = struct.pack(">H", len(q)) + q
            s = socket.create_connection((addr, 53), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.send(stream[:cut])
            time.sleep(0.2)
            s.send(stream[cut:])
            ln = s.recv(2)
            assert len(ln) == 2
            s.close()
            v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                         a["output_fields"]["dns.query"] == name, what=f"alert for {name}")
        p = subprocess.run([VIGIL, "status", "--socket", v.control_socket, "--json"],
                           capture_output=True, text=True, timeout=30)
        st = json.loads(p.stdout)
        dns = st.get("dns") or st.get("status", {}).get("dns")
        assert dns["tcp_messages_joined"] >= 2
    finally:
        assert v.stop() == 0, v.stderr()


def test_a_lookup_in_another_network_namespace_is_seen(workdir):
    """Evasion: a process in a network namespace of its own (as a container's), with
    its own loopback and its own DNS server: the hook is on the socket's cgroup, not
    on an interface of the host's namespace."""
    v = agent(workdir)
    try:
        script = ("ip link set lo up && "
                  "dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces "
                  "--listen-address=127.0.0.1 --port=53 "
                  f"--pid-file={workdir}/ns-dnsmasq.pid "
                  "--address=/supportxmr.com/127.0.0.7 && sleep 0.5 && "
                  "dig +short +tries=1 +time=2 @127.0.0.1 ns.supportxmr.com; "
                  f"kill $(cat {workdir}/ns-dnsmasq.pid)")
        p = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True,
                           text=True, timeout=60)
        assert "127.0.0.7" in p.stdout, p.stdout + p.stderr
        al = v.wait_alert(lambda a: a["rule"] == MINING_RULE and
                          a["output_fields"]["dns.query"] == "ns.supportxmr.com",
                          what="alert from the other namespace")
        assert al["output_fields"]["dns.server"] == "127.0.0.1"
    finally:
        assert v.stop() == 0, v.stderr()
