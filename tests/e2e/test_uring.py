"""io_uring end to end: file and network operations submitted through a ring (the
uring_probe helper, built on liburing, never makes their syscalls) become the same
events as the syscall forms, flagged io_uring, attributed to the submitting process
(also when the kernel's io-wq or SQPOLL threads run them), and raise the default
rules with the prefilter derived from them, as deployed. Programs that do not use
io_uring see no change."""
import errno
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid

import pytest

import conftest
from conftest import VIGIL, helper
from test_detect import AlertsOnly

O_WRONLY, O_CREAT = 0o1, 0o100


def uring(*args, cwd=None):
    """Runs uring_probe; returns (pid, {op: [report, ...]})."""
    p = subprocess.run([helper("uring_probe"), *args], capture_output=True, text=True,
                       timeout=60, cwd=cwd)
    assert p.returncode == 0, p.stderr
    reps = [json.loads(line) for line in p.stdout.splitlines()]
    by_op = {}
    for r in reps:
        by_op.setdefault(r["op"], []).append(r)
    return next(r["pid"] for r in reps if "pid" in r), by_op


def nonce():
    return "vigil-e2e-" + uuid.uuid4().hex[:10]


def of_pid(pid, etype, **want):
    """A predicate: an event of pid and type whose fields (dotted keys) equal want."""
    def pred(e):
        if e["type"] != etype or e["proc"]["pid"] != pid:
            return False
        for key, val in want.items():
            obj = e
            for part in key.split("."):
                obj = obj.get(part) if isinstance(obj, dict) else None
            if obj != val:
                return False
        return True
    return pred


@pytest.fixture()
def vartmp():
    """A directory on the root file system (links to /etc need one)."""
    d = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/var/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_file_operations_are_the_syscall_forms_events(vigil, workdir):
    """open, openat2, mkdir, rename, symlink, link, unlink, rmdir through the ring: the
    records of openat, openat2, mkdirat, renameat2, symlinkat, linkat and unlinkat, with
    the operation's result, paths joined to the cwd as for the syscalls (the names are
    the kernel's copies), the opened file's path from its new fd, and is_io_uring true."""
    new = os.path.join(workdir, "new")
    pid, r = uring("open", "/etc/hostname", "0", "0",
                   "openat2", "/etc/hostname", "0",
                   "open", "new", str(O_WRONLY | O_CREAT), "0640",
                   "mkdir", "d", "0750",
                   "rename", "d", "e",
                   "symlink", "/etc/shadow", "sl",
                   "link", "new", "hard",
                   "unlink", "sl",
                   "rmdir", "e",
                   "unlink", "missing", cwd=workdir)
    ev = vigil.wait_for(of_pid(pid, "open", syscall="openat", **{"file.path": "/etc/hostname"}))
    assert ev["is_io_uring"] is True and ev["ret"] == r["open"][0]["ret"] >= 0
    assert ev["file"]["fd"] == ev["ret"] and ev["file"]["raw"] == "/etc/hostname"
    ev = vigil.wait_for(of_pid(pid, "open", syscall="openat2"))
    assert ev["is_io_uring"] is True and ev["file"]["path"] == "/etc/hostname"
    ev = vigil.wait_for(of_pid(pid, "open", **{"file.path": new}))
    assert ev["is_io_uring"] is True and ev["file"]["created"] is True and ev["file"]["raw"] == "new"
    assert ev["file"]["mode"] == 0o640 and ev["ret"] == r["open"][1]["ret"] >= 0
    ev = vigil.wait_for(of_pid(pid, "mkdir", **{"file.path": os.path.join(workdir, "d")}))
    assert (ev["syscall"], ev["ret"], ev["is_io_uring"]) == ("mkdirat", 0, True)
    assert ev["file"]["mode"] == 0o750 and ev["file"]["raw"] == "d"
    ev = vigil.wait_for(of_pid(pid, "rename", **{"file.path": os.path.join(workdir, "d")}))
    assert (ev["syscall"], ev["ret"], ev["is_io_uring"]) == ("renameat2", 0, True)
    assert ev["file"]["path2"] == os.path.join(workdir, "e")
    ev = vigil.wait_for(of_pid(pid, "symlink", **{"file.path": os.path.join(workdir, "sl")}))
    assert (ev["syscall"], ev["is_io_uring"], ev["file"]["raw2"]) == ("symlinkat", True, "/etc/shadow")
    ev = vigil.wait_for(of_pid(pid, "link", **{"file.path": new}))
    assert (ev["syscall"], ev["ret"], ev["is_io_uring"]) == ("linkat", 0, True)
    assert ev["file"]["path2"] == os.path.join(workdir, "hard")
    ev = vigil.wait_for(of_pid(pid, "unlink", **{"file.path": os.path.join(workdir, "sl")}))
    assert (ev["syscall"], ev["ret"], ev["is_io_uring"]) == ("unlinkat", 0, True)
    ev = vigil.wait_for(of_pid(pid, "unlink", **{"file.path": os.path.join(workdir, "e")}))
    assert ev["file"]["flags"] == 0x200 and ev["is_io_uring"] is True  # AT_REMOVEDIR
    # the result is the operation's, from its completion
    ev = vigil.wait_for(of_pid(pid, "unlink", **{"file.path": os.path.join(workdir, "missing")}))
    assert (ev["ret"], ev["error"]) == (-2, "ENOENT") == (r["unlink"][1]["ret"], "ENOENT")
    # the ring's creation is an event of its own
    ev = vigil.wait_for(of_pid(pid, "io_uring", syscall="io_uring_setup"))
    assert ev["ret"] >= 0 and ev["io_uring"]["entries"] == 8
    # each operation once: nothing else reported it
    mine = [e for e in vigil.events() if e["proc"]["pid"] == pid and e["type"] == "unlink"]
    assert len(mine) == 3, mine


def test_network_operations_are_the_syscall_forms_events(vigil):
    """connect and accept through the ring: connect and accept4 records with the
    socket's addresses and the result."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    try:
        pid, r = uring("connect", str(port), "accept")
    finally:
        srv.close()
    ev = vigil.wait_for(of_pid(pid, "connect", **{"net.remote.port": port}))
    assert (ev["syscall"], ev["ret"], ev["is_io_uring"]) == ("connect", 0, True)
    assert ev["net"]["remote"]["ip"] == "127.0.0.1" and ev["net"]["local"]["port"] > 0
    lport = r["listening"][0]["port"]
    ev = vigil.wait_for(of_pid(pid, "accept", **{"net.local.port": lport}))
    assert (ev["syscall"], ev["is_io_uring"]) == ("accept4", True)
    assert ev["ret"] == r["accept"][0]["ret"] >= 0 and ev["net"]["remote"]["ip"] == "127.0.0.1"


def test_socket_operations_are_socket_events(vigil):
    """IORING_OP_SOCKET: a socket event of syscall socket with the arguments and the new
    fd, flagged io_uring; one made into a registered-file slot (a direct descriptor)
    has no fd, its result being the slot; a refused one its error."""
    pid, r = uring("socket", "17", "3", "768", "socket", "2", "3", "1",
                   "socket-direct", "2", "2", "0", "socket", "2", "1", "17")
    pkt, icmp, bad = r["socket"]
    assert pkt["ret"] >= 0 and icmp["ret"] >= 0 and bad["ret"] == -errno.EPROTONOSUPPORT, r
    ev = vigil.wait_for(of_pid(pid, "socket", ret=pkt["ret"], **{"net.family": "packet"}))
    assert (ev["syscall"], ev["is_io_uring"], ev["net"]["fd"]) == ("socket", True, pkt["ret"])
    assert (ev["net"]["sock_type"], ev["net"]["protocol"], ev["net"]["cloexec"]) == \
        ("raw", "eth_all", False)
    ev = vigil.wait_for(of_pid(pid, "socket", ret=icmp["ret"], **{"net.family": "inet",
                                                                  "net.sock_type": "raw"}))
    assert ev["net"]["protocol"] == "icmp" and ev["is_io_uring"] is True
    direct = r["socket-direct"][0]["ret"]
    assert direct >= 0, r
    ev = vigil.wait_for(of_pid(pid, "socket", ret=direct, **{"net.sock_type": "dgram"}))
    assert ev["net"]["fd"] == -1 and ev["is_io_uring"] is True
    ev = vigil.wait_for(of_pid(pid, "socket", ret=bad["ret"]))
    assert (ev["error"], ev["net"]["fd"], ev["net"]["protocol"]) == \
        ("EPROTONOSUPPORT", -1, "udp")


def test_sends_naming_a_destination_and_receives_asking_the_source_are_events(vigil):
    """SEND (with addr2), SENDMSG, SEND_ZC and SENDMSG_ZC naming a destination: send
    events of sendto (SEND, SEND_ZC) and sendmsg, the destination being the kernel's
    copy taken while preparing the request; a SEND on a connected socket names none
    and is no event; RECVMSG asking for the source: a recv event of recvmsg whose
    remote is the sender, read back at completion."""
    pid, r = uring("sendto", "39131", "sendmsg", "39132", "send-zc", "39133",
                   "sendmsg-zc", "39134", "send-connected", "39135", "recvmsg")
    assert all(x["ret"] == 5 for x in sum(r.values(), []) if "ret" in x), r
    for port, syscall in ((39131, "sendto"), (39132, "sendmsg"), (39133, "sendto"),
                          (39134, "sendmsg")):
        ev = vigil.wait_for(of_pid(pid, "send", syscall=syscall,
                                   **{"net.remote.port": port}), what=f"{syscall} {port}")
        assert (ev["ret"], ev["is_io_uring"], ev["net"]["peer_from_arg"]) == (5, True, True)
        assert ev["net"]["remote"]["ip"] == "127.0.0.1" and ev["net"]["protocol"] == "udp"
        assert ev["net"]["local"]["port"] > 0
    rcv = r["receiving"][0]
    ev = vigil.wait_for(of_pid(pid, "recv", syscall="recvmsg"), what="recvmsg")
    assert (ev["ret"], ev["is_io_uring"]) == (5, True)
    assert ev["net"]["remote"] == {"ip": "127.0.0.1", "port": rcv["from"]}
    assert ev["net"]["local"] == {"ip": "127.0.0.1", "port": rcv["port"]}
    # the connected socket's connect(2) is an event; its send through the ring is not
    vigil.wait_for(of_pid(pid, "connect", **{"net.remote.port": 39135}))
    mine = [e for e in vigil.events() if e["proc"]["pid"] == pid and e["type"] == "send"]
    assert len(mine) == 4 and 39135 not in [e["net"]["remote"]["port"] for e in mine], mine


def test_each_connection_of_a_multishot_accept_is_an_event(vigil):
    """A multishot accept: one request, one completion per connection, all but the last
    posted without the request (only its ring and user_data say whose they are)."""
    pid, r = uring("accept-multi", "3")
    port = r["accepted"][0]["port"]
    fds = sorted(x["ret"] for x in r["accepted"])
    assert len(fds) == 3 and fds[0] >= 0, r
    for fd in fds:
        ev = vigil.wait_for(of_pid(pid, "accept", ret=fd, **{"net.local.port": port}))
        assert (ev["syscall"], ev["is_io_uring"]) == ("accept4", True)
        assert ev["net"]["remote"]["ip"] == "127.0.0.1" and ev["net"]["remote"]["port"] > 0


def test_records_name_the_submitter_not_the_kernel_io_threads(vigil):
    """With IOSQE_ASYNC the kernel's io-wq thread (iou-wrk-PID) runs the open and posts
    its completion; with SQPOLL its SQPOLL thread (iou-sqp-PID) submits it. Both are
    threads of the process: the record keeps the process and names the submitting
    thread (the SQPOLL thread submits for any thread: the main one is named)."""
    name = "vigil-urng-" + uuid.uuid4().hex[:4]
    pid, _ = uring("--async", "--name", name, "open", "/etc/hostname", "0", "0")
    ev = vigil.wait_for(of_pid(pid, "open", syscall="openat", **{"file.path": "/etc/hostname"}))
    assert (ev["proc"]["comm"], ev["proc"]["tid"], ev["is_io_uring"]) == (name, pid, True)
    pid, _ = uring("--sqpoll", "--name", name, "open", "/etc/hostname", "0", "0")
    ev = vigil.wait_for(of_pid(pid, "open", syscall="openat", **{"file.path": "/etc/hostname"}))
    assert (ev["proc"]["comm"], ev["proc"]["tid"], ev["is_io_uring"]) == (name, pid, True)
    ev = vigil.wait_for(of_pid(pid, "io_uring"))
    assert ev["io_uring"]["flags"] == ["IORING_SETUP_SQPOLL"]


def test_an_operation_without_a_completion_is_still_seen(vigil, workdir):
    """IOSQE_CQE_SKIP_SUCCESS: the kernel posts no completion when the operation
    succeeds, so the record goes at submission, its result unknown (0)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    try:
        pid, _ = uring("--skip", "mkdir", "skipped", "0755", "connect", str(port), cwd=workdir)
    finally:
        srv.close()
    ev = vigil.wait_for(of_pid(pid, "mkdir", **{"file.path": os.path.join(workdir, "skipped")}))
    assert (ev["ret"], ev["is_io_uring"]) == (0, True)
    assert os.path.isdir(os.path.join(workdir, "skipped"))
    # not connected yet at submission: the peer is the kernel's copy of the sockaddr
    ev = vigil.wait_for(of_pid(pid, "connect", **{"net.remote.port": port}))
    assert (ev["ret"], ev["is_io_uring"], ev["net"]["peer_from_arg"]) == (0, True, True)


def test_syscall_forms_are_unchanged(vigil, workdir):
    """A program that uses no ring: its records carry no io_uring flag and no ring
    event, exactly as before."""
    path = os.path.join(workdir, "plain")
    out = subprocess.run([helper("file_probe"), "openat", "-", path, "0x41"],
                         capture_output=True, text=True, check=True)
    pid = json.loads(out.stdout)["pid"]
    ev = vigil.wait_for(of_pid(pid, "open", syscall="openat", **{"file.path": path}))
    assert "is_io_uring" not in ev
    subprocess.run([helper("file_probe"), "unlink", path], check=True, capture_output=True)
    ev = vigil.wait_for(lambda e: e["type"] == "unlink" and e["file"]["path"] == path)
    assert "is_io_uring" not in ev and ev["syscall"] == "unlink"
    assert not [e for e in vigil.events() if e["type"] == "io_uring" and
                e["proc"]["pid"] == pid]


def test_default_rules_fire_for_io_uring_operations_as_deployed(workdir, vartmp):
    """`vigil run` with the built-in rules, printing alerts only (the kernel prefilter is
    the one derived from the rules): reading /etc/shadow, writing below /etc, deleting
    a log, renaming into a binary directory, symlinking and hard-linking to /etc/shadow,
    connecting to a miner pool port and sending a datagram to one, all through io_uring, raise the rules that
    fire for the syscall forms. The events that reached the rules, recorded and played
    back, carry is_io_uring true. cat reading /etc/shadow still raises its rule, and no
    ring rule."""
    conftest._check_can_run()
    rec = os.path.join(workdir, "rec.vgrec")
    v = AlertsOnly(workdir, ["--record", rec])
    etc = os.path.join("/etc", nonce())
    log = os.path.join("/var/log", nonce() + ".log")
    tool = os.path.join(vartmp, "tool")
    binary = os.path.join("/usr/local/bin", nonce())
    sl, hard = os.path.join(vartmp, "sl"), os.path.join(vartmp, "shadow-link")
    pool = None
    for p in (3333, 4444, 5555, 7777, 14444, 45700):
        pool = socket.socket()
        try:
            pool.bind(("127.0.0.1", p))
            pool.listen(4)
            break
        except OSError:
            pool.close()
            pool = None
    assert pool, "no miner pool port is free on 127.0.0.1"
    with open(log, "w") as f:
        f.write("x\n")
    with open(tool, "w") as f:
        f.write("#!/bin/sh\n")
    try:
        pid, r = uring("open", "/etc/shadow", "0", "0",
                       "open", etc, str(O_WRONLY | O_CREAT), "0644",
                       "unlink", log,
                       "rename", tool, binary,
                       "symlink", "/etc/shadow", sl,
                       "link", "/etc/shadow", hard,
                       "connect", str(pool.getsockname()[1]),
                       "sendto", str(pool.getsockname()[1]))
        assert all(x["ret"] >= 0 for x in sum(r.values(), []) if "ret" in x), r
        cat = subprocess.run(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL, check=True)
        for rule, field, value in [
                ("Read of password hash file", "fd.name", "/etc/shadow"),
                ("Write below etc", "fd.name", etc),
                ("Log file truncated or deleted", "fd.name", log),
                ("Write below binary directory", "evt.arg.newpath", binary),
                ("Symlink to sensitive file", "evt.arg.target", "/etc/shadow"),
                ("Hardlink to sensitive file", "fd.name", "/etc/shadow"),
                ("Crypto-miner pool port connection", "fd.sport", pool.getsockname()[1]),
                ("io_uring ring created by unexpected program", "proc.name", "uring_probe")]:
            v.wait_alert(lambda a: a["rule"] == rule and a["output_fields"].get("proc.pid") == pid
                         and a["output_fields"].get(field) == value, 15, rule)
        v.wait_alert(lambda a: a["rule"] == "Read of password hash file" and
                     a["output_fields"].get("proc.name") == "cat", 15, "cat's alert")
        # the connect's alert, and the datagram's (a UDP send through the ring)
        v.wait_alert(lambda a: len([x for x in v.alerts() if x["rule"] ==
                                    "Crypto-miner pool port connection" and
                                    x["output_fields"].get("proc.pid") == pid]) >= 2,
                     15, "the send's miner alert")
        assert not [a for a in v.alerts() if a["rule"].startswith("io_uring") and
                    a["output_fields"].get("proc.name") == "cat"]
    finally:
        pool.close()
        for path in (etc, log, binary, hard):
            if os.path.lexists(path):
                os.unlink(path)
        assert v.stop() == 0, v.stderr()
    out = subprocess.run([VIGIL, "replay", rec, "--events"], capture_output=True, text=True,
                         check=True).stdout
    mine = [e for e in map(json.loads, out.splitlines())
            if "rule" not in e and e["proc"]["pid"] == pid]
    seen = {(e["type"], e["syscall"]) for e in mine if e.get("is_io_uring") is True}
    assert {("open", "openat"), ("unlink", "unlinkat"), ("rename", "renameat2"),
            ("symlink", "symlinkat"), ("link", "linkat"), ("connect", "connect"),
            ("send", "sendto")} <= seen, mine
    # the probe is static: every file or network event of it came through the ring
    assert all(e.get("is_io_uring") is True for e in mine if e["type"] in
               ("open", "unlink", "rename", "symlink", "link", "connect", "send")), mine
