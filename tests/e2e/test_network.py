"""Network events from the real kernel: connect, accept, bind and listen over TCP,
UDP, IPv4, IPv6 and unix sockets, all on loopback, and the in-kernel port prefilter.

The net_probe helper makes the calls with plain syscalls and prints the pid, fds and
ports it used, so each test knows exactly which event vigil must report and what
the kernel returned."""
import errno
import json
import os
import re
import socket
import subprocess
import time

from conftest import Vigil, helper, raw


def probe(*args):
    """Runs one net_probe scenario; returns what it printed."""
    out = subprocess.run([helper("net_probe"), *args], check=True, stdout=subprocess.PIPE,
                         timeout=30).stdout
    return json.loads(out)


def net_event(vigil, kind, pid, fd):
    """The event of type kind made by pid on socket fd."""
    return vigil.wait_for(lambda e: e["type"] == kind and e["proc"]["pid"] == pid and
                          e["net"]["fd"] == fd, what=f"{kind} of pid {pid} on fd {fd}")


def inet(ip, port):
    return {"ip": ip, "port": port}


def test_tcp4_blocking_connect(vigil):
    r = probe("tcp4")
    ev = net_event(vigil, "connect", r["pid"], r["client_fd"])
    assert r["connect_ret"] == 0
    assert ev["syscall"] == "connect"
    assert ev["ret"] == 0 and ev["error"] is None
    n = ev["net"]
    assert (n["family"], n["sock_type"], n["protocol"]) == ("inet", "stream", "tcp")
    assert n["remote"] == inet("127.0.0.1", r["port"])
    assert n["local"] == inet("127.0.0.1", r["client_port"])
    assert n["nonblocking"] is False
    assert n["peer_from_arg"] is False


def test_tcp4_accept_reports_the_new_connection(vigil):
    r = probe("tcp4")
    ev = net_event(vigil, "accept", r["pid"], r["listen_fd"])
    assert ev["syscall"] == "accept"
    assert ev["ret"] == r["accept_fd"]
    n = ev["net"]
    # the peer of the accepted socket is the connecting socket's own end
    assert n["remote"] == inet("127.0.0.1", r["client_port"])
    assert n["local"] == inet("127.0.0.1", r["port"])
    assert (n["family"], n["protocol"]) == ("inet", "tcp")


def test_tcp4_bind_and_listen(vigil):
    r = probe("tcp4")
    ev = net_event(vigil, "bind", r["pid"], r["listen_fd"])
    assert ev["ret"] == 0
    assert ev["net"]["local"] == inet("127.0.0.1", r["port"])
    assert ev["net"]["remote"] is None
    assert ev["net"]["local_from_arg"] is False
    ev = net_event(vigil, "listen", r["pid"], r["listen_fd"])
    assert ev["ret"] == 0
    assert ev["net"]["local"] == inet("127.0.0.1", r["port"])
    assert ev["net"]["backlog"] == r["backlog"] == 7


def test_nonblocking_connect_to_closed_port(vigil):
    r = probe("nonblock")
    # loopback may deliver the RST before connect returns; either answer is the kernel's
    assert r["ret"] in (-errno.EINPROGRESS, -errno.ECONNREFUSED)
    ev = net_event(vigil, "connect", r["pid"], r["fd"])
    assert ev["ret"] == r["ret"]
    assert ev["error"] == errno.errorcode[-r["ret"]]
    n = ev["net"]
    assert n["nonblocking"] is True
    assert n["remote"] == inet("127.0.0.1", r["port"])
    assert n["protocol"] == "tcp"


def test_refused_blocking_connect_takes_peer_from_sockaddr(vigil):
    r = probe("refused")
    assert r["ret"] == -errno.ECONNREFUSED
    ev = net_event(vigil, "connect", r["pid"], r["fd"])
    assert ev["ret"] == -errno.ECONNREFUSED
    assert ev["error"] == "ECONNREFUSED"
    n = ev["net"]
    # the failed connect reset the socket: the address is the caller's, and says so
    assert n["peer_from_arg"] is True
    assert n["remote"] == inet("127.0.0.1", r["port"])
    assert n["nonblocking"] is False


def test_ipv6_connect_and_accept(vigil):
    r = probe("tcp6")
    ev = net_event(vigil, "connect", r["pid"], r["client_fd"])
    assert ev["ret"] == 0
    assert ev["net"]["family"] == "inet6"
    assert ev["net"]["remote"] == inet("::1", r["port"])
    assert ev["net"]["local"] == inet("::1", r["client_port"])
    ev = net_event(vigil, "accept", r["pid"], r["listen_fd"])
    assert ev["ret"] == r["accept_fd"]
    assert ev["net"]["remote"] == inet("::1", r["client_port"])
    assert ev["net"]["local"] == inet("::1", r["port"])


def test_udp_connect(vigil):
    r = probe("udp")
    ev = net_event(vigil, "connect", r["pid"], r["client_fd"])
    assert ev["ret"] == 0
    n = ev["net"]
    assert (n["family"], n["sock_type"], n["protocol"]) == ("inet", "dgram", "udp")
    assert n["remote"] == inet("127.0.0.1", r["port"])
    assert n["local"] == inet("127.0.0.1", r["client_port"])
    ev = net_event(vigil, "bind", r["pid"], r["server_fd"])
    assert ev["net"]["local"] == inet("127.0.0.1", r["port"])
    assert ev["net"]["protocol"] == "udp"


def test_bind_to_busy_port_reports_requested_address(vigil):
    r = probe("bind-busy")
    assert r["ret"] == -errno.EADDRINUSE
    ev = net_event(vigil, "bind", r["pid"], r["fd"])
    assert ev["ret"] == -errno.EADDRINUSE
    assert ev["net"]["local"] == inet("127.0.0.1", r["port"])
    assert ev["net"]["local_from_arg"] is True


def test_unix_socket_bind_listen_connect_accept(vigil, workdir):
    path = os.path.join(workdir, "srv.sock").encode()
    r = probe("unix", path.hex())
    assert r["connect_ret"] == 0
    ev = net_event(vigil, "bind", r["pid"], r["listen_fd"])
    assert ev["ret"] == 0
    assert ev["net"]["family"] == "unix" and ev["net"]["sock_type"] == "stream"
    assert ev["net"]["protocol"] is None
    assert raw(ev["net"]["local"]["path"]) == path
    ev = net_event(vigil, "listen", r["pid"], r["listen_fd"])
    assert raw(ev["net"]["local"]["path"]) == path
    assert ev["net"]["backlog"] == 5
    ev = net_event(vigil, "connect", r["pid"], r["client_fd"])
    assert ev["ret"] == 0
    assert raw(ev["net"]["remote"]["path"]) == path
    assert ev["net"]["peer_from_arg"] is False
    ev = net_event(vigil, "accept", r["pid"], r["listen_fd"])
    assert ev["ret"] == r["accept_fd"]
    assert raw(ev["net"]["local"]["path"]) == path


def test_unix_abstract_name_with_hostile_bytes(vigil):
    # abstract names are raw bytes: NULs, newlines, quotes and invalid UTF-8 included
    name = b"\0vigil-abs-%d\0nul\nnew\"q\xff" % os.getpid()
    shown = b"@" + name[1:]
    r = probe("unix", name.hex())
    assert r["connect_ret"] == 0
    ev = net_event(vigil, "bind", r["pid"], r["listen_fd"])
    assert raw(ev["net"]["local"]["path"]) == shown
    ev = net_event(vigil, "connect", r["pid"], r["client_fd"])
    assert raw(ev["net"]["remote"]["path"]) == shown
    assert ev["net"]["peer_from_arg"] is False
    ev = net_event(vigil, "accept", r["pid"], r["listen_fd"])
    assert raw(ev["net"]["local"]["path"]) == shown


def test_unix_connect_to_missing_name_takes_path_from_sockaddr(vigil, workdir):
    path = os.path.join(workdir, "nobody-here.sock").encode()
    r = probe("unix-missing", path.hex())
    assert r["ret"] == -errno.ENOENT
    ev = net_event(vigil, "connect", r["pid"], r["fd"])
    assert ev["ret"] == -errno.ENOENT
    assert raw(ev["net"]["remote"]["path"]) == path
    assert ev["net"]["peer_from_arg"] is True


def counters(stderr, kind):
    m = re.search(r"vigil: %s\s+seen=(\d+) filtered=(\d+) sent=(\d+)" % kind, stderr)
    assert m, f"no {kind} counters in vigil's stderr:\n{stderr}"
    return tuple(int(x) for x in m.groups())


def test_prefilter_sends_only_the_listed_port(workdir):
    a, b = socket.socket(), socket.socket()
    try:
        for s in (a, b):
            s.bind(("127.0.0.1", 0))
            s.listen(4)
        port_a, port_b = a.getsockname()[1], b.getsockname()[1]
        v = Vigil(workdir, ["--filter", f"connect=port={port_a}"])
        try:
            rb = probe("connect4", str(port_b))
            ra = probe("connect4", str(port_a))
            assert ra["ret"] == 0 and rb["ret"] == 0
            ev = v.wait_for(lambda e: e["type"] == "connect" and e["proc"]["pid"] == ra["pid"],
                            what="connect to the listed port")
            assert ev["net"]["remote"] == inet("127.0.0.1", port_a)
            # the one to port B went into the ring first, had it been sent
            time.sleep(0.2)
            assert not [e for e in v.events()
                        if e["type"] == "connect" and e["proc"]["pid"] == rb["pid"]]
        finally:
            rc = v.stop()
        assert rc == 0, v.stderr()
        seen, filtered, sent = counters(v.stderr(), "connect")
        assert filtered >= 1
        assert sent >= 1
        assert seen >= filtered + sent
    finally:
        a.close()
        b.close()


def test_prefilter_path_matches_unix_names_only(workdir):
    inside = os.path.join(workdir, "watched")
    os.makedirs(inside)
    watched = os.path.join(inside, "w.sock").encode()
    other = os.path.join(workdir, "other.sock").encode()
    v = Vigil(workdir, ["--filter", f"connect={inside}/"])
    try:
        r_other = probe("unix", other.hex())
        r_tcp = probe("tcp4")
        r_watched = probe("unix", watched.hex())
        ev = v.wait_for(lambda e: e["type"] == "connect" and
                        e["proc"]["pid"] == r_watched["pid"], what="connect to the watched name")
        assert raw(ev["net"]["remote"]["path"]) == watched
        time.sleep(0.2)
        assert not [e for e in v.events() if e["type"] == "connect" and
                    e["proc"]["pid"] in (r_other["pid"], r_tcp["pid"])]
        # the filter names connect only: the other types still go up
        v.wait_for(lambda e: e["type"] == "bind" and e["proc"]["pid"] == r_other["pid"],
                   what="bind of the unwatched name")
    finally:
        rc = v.stop()
    assert rc == 0, v.stderr()
    seen, filtered, sent = counters(v.stderr(), "connect")
    assert filtered >= 2


def test_udp_sendto_and_sendmsg_naming_the_destination_are_send_events(vigil):
    """An unconnected UDP socket's sendto and sendmsg name where the datagram goes:
    send events whose remote is that address (from the caller's sockaddr) and whose
    local end is the port the kernel bound the socket to. A send on a connected
    socket names nothing and is no event (its connect was one)."""
    r = probe("udp-send", "39127")
    assert r["sendto_ret"] == 5 and r["sendmsg_ret"] == 5 and r["send_ret"] == 5
    for syscall in ("sendto", "sendmsg"):
        ev = vigil.wait_for(lambda e: e["type"] == "send" and e["proc"]["pid"] == r["pid"] and
                            e["syscall"] == syscall, what=syscall)
        assert ev["ret"] == 5 and "is_io_uring" not in ev
        n = ev["net"]
        assert (n["family"], n["sock_type"], n["protocol"]) == ("inet", "dgram", "udp")
        assert n["fd"] == r["fd"] and n["remote"] == inet("127.0.0.1", 39127)
        assert n["local"] == inet("0.0.0.0", r["local_port"])
        assert n["peer_from_arg"] is True
    ev = net_event(vigil, "connect", r["pid"], r["connected_fd"])
    assert ev["net"]["remote"] == inet("127.0.0.1", 39127)
    time.sleep(0.3)
    assert not [e for e in vigil.events() if e["type"] == "send" and
                e["proc"]["pid"] == r["pid"] and e["net"]["fd"] == r["connected_fd"]]


def test_udp_recvfrom_and_recvmsg_asking_for_the_source_are_recv_events(vigil):
    """A receive that asks for the datagram's source: a recv event whose remote is the
    sender (the address the kernel wrote back). One that does not ask is no event."""
    r = probe("udp-recv")
    assert r["recvfrom_ret"] == r["recvmsg_ret"] == r["plain_ret"] == 5
    for syscall in ("recvfrom", "recvmsg"):
        ev = vigil.wait_for(lambda e: e["type"] == "recv" and e["proc"]["pid"] == r["pid"] and
                            e["syscall"] == syscall, what=syscall)
        assert ev["ret"] == 5 and ev["net"]["fd"] == r["fd"]
        assert ev["net"]["remote"] == inet("127.0.0.1", r["from_port"])
        assert ev["net"]["local"] == inet("127.0.0.1", r["port"])
        assert ev["net"]["peer_from_arg"] is True
    time.sleep(0.3)
    mine = [e for e in vigil.events() if e["type"] == "recv" and e["proc"]["pid"] == r["pid"]]
    assert len(mine) == 2, mine


def test_unix_datagram_sendto_names_the_destination(vigil, workdir):
    name = os.path.join(workdir, "dgram.sock").encode()
    r = probe("unix-dgram", name.hex())
    assert r["ret"] == 5
    ev = vigil.wait_for(lambda e: e["type"] == "send" and e["proc"]["pid"] == r["pid"],
                        what="unix sendto")
    assert ev["syscall"] == "sendto" and ev["net"]["family"] == "unix"
    assert raw(ev["net"]["remote"]["path"]) == name and ev["net"]["local"] is None


def test_other_spellings_of_an_ipv4_destination_name_its_port(vigil):
    """The kernel sends an IPv4 socket's datagram to a sockaddr_in whose family is
    AF_UNSPEC, and an IPv6 socket's to an IPv4 sockaddr: the events name the
    destination all the same (IPv4-mapped on the IPv6 socket)."""
    r = probe("udp-send-other", "39129")
    assert r["unspec_ret"] == 5 and r["inet6_ret"] == 5
    ev = net_event(vigil, "send", r["pid"], r["unspec_fd"])
    assert ev["net"]["family"] == "inet" and ev["net"]["remote"] == inet("127.0.0.1", 39129)
    ev = net_event(vigil, "send", r["pid"], r["inet6_fd"])
    assert ev["net"]["family"] == "inet6"
    assert ev["net"]["remote"] == inet("::ffff:127.0.0.1", 39129)


def test_miner_rule_fires_on_udp_sendto_a_pool_port_as_deployed(workdir):
    """`vigil run` with the built-in rules, alerts only (the prefilter derived from the
    rules): a datagram sent with sendto or sendmsg to 127.0.0.1 on a miner pool port
    raises "Crypto-miner pool port connection", however the address is spelled;
    sends to other ports are dropped in the kernel (counted as filtered), and a
    connected send is no event at all."""
    from test_detect import AlertsOnly
    v = AlertsOnly(workdir)
    try:
        other = probe("udp-send", "39128")
        r = probe("udp-send", "3333")
        assert r["sendto_ret"] == 5
        a = v.wait_alert(lambda a: a["rule"] == "Crypto-miner pool port connection" and
                         a["output_fields"].get("proc.pid") == r["pid"], 15, "miner alert")
        assert a["output_fields"]["fd.sport"] == 3333
        v.wait_alert(lambda _: len([x for x in v.alerts() if x["output_fields"].get(
            "proc.pid") == r["pid"]]) >= 3, 15, "the sendmsg's and the connect's alerts")
        spelled = probe("udp-send-other", "4444")
        v.wait_alert(lambda _: len([x for x in v.alerts() if x["output_fields"].get(
            "proc.pid") == spelled["pid"] and x["output_fields"].get("fd.sport") == 4444]) >= 2,
                     15, "alerts for the AF_UNSPEC and the IPv4-on-IPv6 sends")
        time.sleep(0.3)
        assert not [a for a in v.alerts() if a["output_fields"].get("proc.pid") == other["pid"]]
        # sendto, sendmsg, and the UDP connect(2) to the pool port; its send(2) none
        assert len([a for a in v.alerts() if a["output_fields"].get("proc.pid") == r["pid"]]) == 3
    finally:
        rc = v.stop()
    assert rc == 0, v.stderr()
    seen, filtered, sent = counters(v.stderr(), "send")
    assert filtered >= 2 and sent >= 2, (seen, filtered, sent)


# ---------------------------------------------------------------------------
# socket creation
# ---------------------------------------------------------------------------

# a child python makes the sockets and prints its pid and what each call returned. The
# interpreter's own start may make and close a socket (a name-service lookup reaches nscd over
# a unix socket), so the low fds are taken first: the sockets made here get fds no earlier
# call of this pid returned.
SOCKETS_PY = r"""
import json, os, socket
while os.open("/dev/null", os.O_RDONLY) < 40:
    pass
out = {"pid": os.getpid()}
def make(name, *args):
    try:
        s = socket.socket(*args)
        out[name] = s.detach()
    except OSError as e:
        out[name] = -e.errno
make("packet", socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
make("icmp", socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
make("udp6", socket.AF_INET6, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
make("refused", socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_UDP)
print(json.dumps(out))
"""


def make_sockets():
    out = subprocess.run(["python3", "-c", SOCKETS_PY], check=True, stdout=subprocess.PIPE,
                         timeout=30).stdout
    return json.loads(out)


def test_socket_creation_is_an_event_with_its_arguments(vigil):
    """socket(2) of a packet socket, a raw ICMP socket, a non-blocking UDP6 socket and a
    refused call: socket events with the family, type (flags apart), protocol and the
    new fd or the error. Python adds SOCK_CLOEXEC to every type."""
    r = make_sockets()
    pid = r["pid"]

    def sock(fd):
        return vigil.wait_for(lambda e: e["type"] == "socket" and e["proc"]["pid"] == pid and
                              e["ret"] == fd, what=f"socket of pid {pid} returning {fd}")
    assert r["packet"] >= 0 and r["icmp"] >= 0 and r["udp6"] >= 0
    ev = sock(r["packet"])
    assert ev["syscall"] == "socket" and ev["error"] is None
    n = ev["net"]
    assert (n["family"], n["sock_type"], n["protocol"], n["fd"]) == \
        ("packet", "raw", "eth_all", r["packet"])
    assert (n["nonblocking"], n["cloexec"], n["local"], n["remote"]) == (False, True, None, None)
    n = sock(r["icmp"])["net"]
    assert (n["family"], n["sock_type"], n["protocol"]) == ("inet", "raw", "icmp")
    n = sock(r["udp6"])["net"]
    assert (n["family"], n["sock_type"], n["protocol"], n["nonblocking"]) == \
        ("inet6", "dgram", None, True)
    assert r["refused"] == -errno.EPROTONOSUPPORT
    ev = sock(r["refused"])
    assert ev["error"] == "EPROTONOSUPPORT" and ev["net"]["fd"] == -1
    assert (ev["net"]["family"], ev["net"]["sock_type"], ev["net"]["protocol"]) == \
        ("inet", "stream", "udp")


SOCKET_RULES = """
- rule: Packet socket created
  desc: Falco's packet-socket condition, on the host
  condition: evt.type = socket and evt.arg.domain contains AF_PACKET
  output: >
    packet socket (socket_info=%evt.args domain=%evt.arg.domain type=%evt.arg.type
    proto=%evt.arg.proto flags=%evt.arg.flags fd_type=%fd.type fd_proto=%fd.l4proto
    pid=%proc.pid uring=%evt.is_io_uring)
  priority: NOTICE
  tags: [test]
- rule: Raw IP socket created
  desc: a raw socket of the IP families
  condition: evt.type = socket and evt.arg.domain in (AF_INET, AF_INET6) and fd.l4proto = raw
  output: >
    raw socket (domain=%evt.arg.domain proto=%evt.arg.proto fd=%fd.num fd_type=%fd.type
    fd_proto=%fd.l4proto pid=%proc.pid)
  priority: WARNING
  tags: [test]
"""


def rules_file(workdir, text):
    path = os.path.join(workdir, "rules.yaml")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    return path


def test_packet_and_raw_socket_rules_fire_as_deployed(workdir):
    """`vigil run --rules` with rules on socket creation, alerts only (the prefilter the
    rules derive: every socket goes up, no comm narrows them): a packet socket and a
    raw ICMP socket raise their rules with Falco's renderings of the arguments; the
    same packet socket made through io_uring (IORING_OP_SOCKET) too; a UDP socket
    raises nothing."""
    from test_detect import AlertsOnly
    v = AlertsOnly(workdir, ["--rules", rules_file(workdir, SOCKET_RULES)])
    try:
        r = make_sockets()
        pid = r["pid"]
        a = v.wait_alert(lambda a: a["rule"] == "Packet socket created" and
                         a["output_fields"].get("proc.pid") == pid, 15, "packet socket alert")
        f = a["output_fields"]
        # Python's socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), SOCK_CLOEXEC added
        assert (f["evt.arg.domain"], f["evt.arg.type"], f["evt.arg.proto"],
                f["evt.arg.flags"]) == ("AF_PACKET", "524291", "768", "O_CLOEXEC"), f
        assert f["evt.args"] == \
            f"fd={r['packet']} domain=AF_PACKET type=524291 proto=768 flags=O_CLOEXEC", f
        assert f["evt.is_io_uring"] is False
        a = v.wait_alert(lambda a: a["rule"] == "Raw IP socket created" and
                         a["output_fields"].get("proc.pid") == pid, 15, "raw socket alert")
        f = a["output_fields"]
        assert (f["evt.arg.domain"], f["evt.arg.proto"], f["fd.num"], f["fd.type"],
                f["fd.l4proto"]) == ("AF_INET", "1", r["icmp"], "ipv4", "raw"), f

        p = subprocess.run([helper("uring_probe"), "socket", "17", "3", "768"],
                           capture_output=True, text=True, timeout=30, check=True)
        rep = json.loads(p.stdout)
        assert rep["ret"] >= 0, rep
        a = v.wait_alert(lambda a: a["rule"] == "Packet socket created" and
                         a["output_fields"].get("proc.pid") == rep["pid"], 15,
                         "io_uring packet socket alert")
        f = a["output_fields"]
        assert f["evt.is_io_uring"] is True and f["evt.arg.type"] == "3", f
        assert f["evt.args"] == f"fd={rep['ret']} domain=AF_PACKET type=3 proto=768 " \
            "flags=O_NONE", f
        time.sleep(0.3)
        assert len([a for a in v.alerts() if a["output_fields"].get("proc.pid") == pid]) == 2
    finally:
        rc = v.stop()
    assert rc == 0, v.stderr()


def test_sockets_stay_in_the_kernel_when_no_rule_wants_them(workdir):
    """Rules with nothing on socket creation: every socket is counted by the kernel
    and filtered there; none reaches user space, not even while the agent starts (a
    loop makes sockets all through its start)."""
    from test_detect import AlertsOnly
    storm = subprocess.Popen(["python3", "-c", "import socket\nwhile True: socket.socket().close()"])
    try:
        v = AlertsOnly(workdir, ["--rules", rules_file(workdir, """
- rule: Connect to a pool port
  desc: nothing about sockets
  condition: evt.type = connect and fd.sport = 3333
  output: connect (pid=%proc.pid)
  priority: WARNING
  tags: [test]
""")])
    finally:
        storm.kill()
        storm.wait()
    try:
        make_sockets()
        make_sockets()
    finally:
        rc = v.stop()
    assert rc == 0, v.stderr()
    seen, filtered, sent = counters(v.stderr(), "socket")
    assert filtered >= 8 and filtered == seen and sent == 0, (seen, filtered, sent)
