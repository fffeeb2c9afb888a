"""Default rules for credential access, execution, persistence, privilege escalation
and container escapes (docs/RULES.md), end to end on real actions.

Each rule fires on a real action, in a real podman container for the container-only
rules, and stays silent on a near miss; where an attacker could spell the action
another way (another path to the same file, a renamed binary, another decoder
syntax), the other spelling is tried too. The fixtures are test_rules.py's: one
deployed vigil (`rv`) under the kernel prefilter derived from the rules.
"""
import base64
import ctypes
import os
import platform
import subprocess
import sys
import time

import pytest

from conftest import PODMAN_RUN
from test_rules import (  # noqa: F401 - rv, home, etc_file, vartmp: fixtures
    NOBODY, copy_exe, etc_file, fired, home, nonce, not_fired, of, run, rv, vartmp,
    write_file)


def in_container(a):
    return of(a, "container.id") not in (None, "host")


def sleeper():
    return subprocess.Popen(["sleep", "60"])


def stop(p):
    p.kill()
    p.wait()


# ---------------------------------------------------------------------------
# credential access
# ---------------------------------------------------------------------------

# mimipenguin's way: the target's maps for its writable regions, then its mem there
MIMI = """
import os, sys
pid = sys.argv[1]
with open(f"/proc/{pid}/maps") as f:
    regions = [l.split()[0] for l in f if l.split()[1].startswith("rw")]
fd = os.open(sys.argv[2] if len(sys.argv) > 2 else f"/proc/{pid}/mem", os.O_RDONLY)
lo, hi = (int(x, 16) for x in regions[0].split("-"))
os.lseek(fd, lo, 0)
assert os.read(fd, 64)
os.close(fd)
"""

# the same through a dirfd on the process's directory: the path passed is only "mem"
MIMI_DIRFD = """
import os, sys
d = os.open(f"/proc/{sys.argv[1]}/task/{sys.argv[1]}", os.O_RDONLY | os.O_DIRECTORY)
os.close(os.open("mem", os.O_RDONLY, dir_fd=d))
"""


def test_process_memory_read_through_proc(rv, workdir):
    rule = "Process memory read through /proc"
    target = sleeper()
    try:
        time.sleep(0.2)
        pid, _ = run([sys.executable, "-c", MIMI, str(target.pid)])
        a = fired(rv, rule, proc_pid=pid, fd_name=f"/proc/{target.pid}/mem")
        assert of(a, "fd.nameraw") == f"/proc/{target.pid}/mem", a
        # a thread's mem, opened by name relative to a dirfd
        pid2, _ = run([sys.executable, "-c", MIMI_DIRFD, str(target.pid)])
        fired(rv, rule, proc_pid=pid2,
              fd_name=f"/proc/{target.pid}/task/{target.pid}/mem", fd_nameraw="mem")
        # a copy of cat named gdb is no debugger: debuggers are known by their executable
        fake = copy_exe("/bin/cat", os.path.join(workdir, "gdb"))
        pid3, _ = run([fake, f"/proc/{target.pid}/mem"], check=False)  # EIO at offset 0
        fired(rv, rule, proc_pid=pid3)
        # near misses: a process reading its own memory, another one's maps (ps-like
        # tools), and gdb itself reading the target through its mem file
        own, _ = run([sys.executable, "-c", MIMI, "self", "/proc/self/mem"])
        maps, _ = run(["cat", f"/proc/{target.pid}/maps"])
        gdb, out = run(["gdb", "-batch", "-nx", "-p", str(target.pid), "-ex", "x/2xg $sp"],
                       check=False)
    finally:
        stop(target)
    not_fired(rv, rule, proc_pid=own)
    not_fired(rv, rule, proc_pid=maps)
    not_fired(rv, rule, proc_pid=gdb)


def test_shell_history_read_by_another_program(rv, home, workdir):
    rule = "Shell history read by another program"
    hist = os.path.join(home, ".bash_history")
    zhist = os.path.join(home, ".zsh_history")
    write_file(hist, b"mysql -uroot -phunter2\n")
    write_file(zhist, b": 1700000000:0;export TOKEN=abc\n")
    pid, _ = run(["cat", hist])
    fired(rv, rule, proc_pid=pid, fd_name=hist)
    pid, _ = run(["grep", "-c", "TOKEN", zhist])
    fired(rv, rule, proc_pid=pid, fd_name=zhist)
    # through a symlink: the path is resolved from the opened file
    link = os.path.join(workdir, "h")
    os.symlink(hist, link)
    pid, _ = run(["cat", link])
    fired(rv, rule, proc_pid=pid, fd_name=hist)
    # a copy of cat named bash is not the shell (known by its executable)
    fake = copy_exe("/bin/cat", os.path.join(workdir, "bash"))
    pid, _ = run([fake, hist])
    fired(rv, rule, proc_pid=pid, fd_name=hist)
    # near misses: interactive bash loading (and appending to) its own history, and a
    # write-only append by another program
    env = dict(os.environ, HOME=home, HISTFILE=hist)
    p = subprocess.Popen(["bash", "-i"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=env)
    p.communicate(b"history -r\nexit\n", timeout=60)
    fd = os.open(hist, os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"ls\n")
    os.close(fd)
    not_fired(rv, rule, proc_pid=p.pid)
    not_fired(rv, rule, proc_pid=os.getpid(), fd_name=hist)


# ---------------------------------------------------------------------------
# execution / defense evasion: decoded payloads
# ---------------------------------------------------------------------------

def payload():
    """A command echoing a fresh token, its base64 and hex forms."""
    cmd = f"echo {nonce()} >/dev/null\n".encode()
    return base64.b64encode(cmd).decode(), cmd.hex()


def mentions(text):
    def pred(a):
        return text in (of(a, "proc.cmdline") or "") or text in (of(a, "proc.pcmdline") or "")
    return pred


def test_decoded_payload_run_by_a_shell(rv, workdir):
    rule = "Decoded payload run by a shell"
    spellings = [
        "echo {b} | base64 -d | sh",
        "echo {b}|base64 --decode|bash",
        "echo '{b}' | base64 -di | bash -s",
        "printf %s {h} | xxd -r -p | /bin/sh",
        "printf %s {h} | xxd -p -r | sh",
        "echo {b} | openssl enc -d -base64 | sh",
        "echo {b} | openssl base64 -d -A |   dash",
        "echo {b} | base64 -d | cat | sh",
        'bash -c "$(echo {b} | base64 -d)"',
        'eval "$(echo {b} | base64 --decode)"',
        "bash <(echo {b} | base64 -d)",
        "echo {b} | base64${{IFS}}-d | env bash",
        "echo {b} | /usr/bin/base64 -d | nohup /bin/bash -s",
        "base64 --de <<< {b} | sh",
        "python3 -c \"import base64; print(base64.b64decode('{b}').decode())\" | sh",
    ]
    for s in spellings:
        b, h = payload()
        run(["bash", "-c", s.format(b=b, h=h)])
        text = h if "{h}" in s else b
        a = fired(rv, rule, pred=mentions(text))
        assert of(a, "proc.name") in ("sh", "bash", "dash"), (s, a)
    # an interpreter reading decoded code from the pipe, or running it from inline code
    b = base64.b64encode(f"print('{nonce()}')".encode()).decode()
    run(["sh", "-c", f"echo {b} | base64 -d | python3"])
    a = fired(rv, rule, pred=mentions(b))
    assert of(a, "proc.name").startswith("python"), a
    b, _ = payload()
    pid, _ = run([sys.executable, "-c", f"import base64,os;exec(base64.b64decode('{b}')"
                  ".decode().replace('echo', 'print(1) #'))"])
    fired(rv, rule, proc_pid=pid)
    pid, _ = run(["perl", "-MMIME::Base64", "-e", f"eval decode_base64('{b}')"])
    fired(rv, rule, proc_pid=pid)
    # near misses: decoded into a file (then only read), decoded to a program that is
    # no shell, a shell reading a pipe that nothing decoded, an interpreter that decodes
    # and prints
    near = []
    for s in ["echo {b} | base64 -d > {f}; cat {f}", "echo {b} | base64 -d | wc -c",
              "echo {b} | sh -c 'cat >/dev/null'", "echo 'echo {b}' | sh",
              "base64 {f} | sh -c 'cat >/dev/null'"]:
        b, _ = payload()
        run(["bash", "-c", s.format(b=b, f=os.path.join(workdir, "decoded"))])
        near.append(b)
    b, _ = payload()
    pid, _ = run([sys.executable, "-c", f"import base64; print(base64.b64decode('{b}'))"])
    not_fired(rv, rule, proc_pid=pid)
    for b in near:
        not_fired(rv, rule, pred=mentions(b))


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------

def test_systemd_timer_created(rv, etc_file):
    rule = "Systemd timer created"
    timer = etc_file("/etc/systemd/system", nonce() + ".timer")
    service = etc_file("/etc/systemd/system", nonce() + ".service")
    write_file(timer, b"[Timer]\nOnCalendar=hourly\n")
    write_file(service, b"[Service]\nExecStart=/bin/true\n")
    fired(rv, rule, fd_name=timer, proc_pid=os.getpid())
    # a service is the unit rule's, not this one's (and the timer is not the unit rule's)
    fired(rv, "Systemd unit written", fd_name=service, proc_pid=os.getpid())
    unit = "vigil-e2e-" + nonce()
    # a transient timer (refused here without a systemd manager: the request is the sign)
    pid, _ = run(["systemd-run", "--on-active=1h", f"--unit={unit}", "/bin/true"],
                 check=False)
    subprocess.run(["systemctl", "stop", unit + ".timer"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    fired(rv, rule, proc_pid=pid)
    near, _ = run(["systemd-run", "--version"])
    not_fired(rv, rule, proc_pid=near)
    not_fired(rv, rule, fd_name=service)
    not_fired(rv, "Systemd unit written", fd_name=timer)


# ---------------------------------------------------------------------------
# privilege escalation
# ---------------------------------------------------------------------------

def test_sudo_timestamp_written_by_another_program(rv, etc_file, workdir):
    rule = "Sudo timestamp written by another program"
    ts = etc_file("/run/sudo/ts", nonce())
    write_file(ts, b"\x00" * 56)
    fired(rv, rule, fd_name=ts, proc_pid=os.getpid())
    # through the /var/run symlink, by a copy of touch named sudo
    other = os.path.join(os.path.dirname(ts), nonce())
    fake = copy_exe("/usr/bin/touch", os.path.join(workdir, "sudo"))
    try:
        pid, _ = run([fake, "/var/run/sudo/ts/" + os.path.basename(other)])
    finally:
        if os.path.exists(other):
            os.unlink(other)
    fired(rv, rule, fd_name=other, proc_pid=pid)
    # near miss: reading a timestamp
    near, _ = run(["cat", ts])
    not_fired(rv, rule, proc_pid=near)


SYS_EXECVEAT = {"x86_64": 322, "aarch64": 281}[platform.machine()]
AT_EMPTY_PATH = 0x1000


def exec_empty_argv(path, uid=None, at=False):
    """Forks a child that executes path with a NULL argv (as uid, when given; with
    execveat(fd, "", AT_EMPTY_PATH) when at); returns its pid."""
    pid = os.fork()
    if pid == 0:
        try:
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
            libc = ctypes.CDLL(None, use_errno=True)
            if at:
                fd = os.open(path, os.O_RDONLY)
                libc.syscall(SYS_EXECVEAT, fd, b"", None, None, AT_EMPTY_PATH)
            else:
                libc.execve(path.encode(), None, None)
        finally:
            os._exit(127)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) != 127, f"execve({path}, NULL) failed"
    return pid


def test_program_executed_with_an_empty_argument_list(rv, vartmp):
    rule = "Program executed with an empty argument list"
    pid = exec_empty_argv("/usr/bin/true")
    a = fired(rv, rule, proc_pid=pid)
    assert of(a, "proc.exepath") == "/usr/bin/true", a
    # the other exec call, on an fd
    pid = exec_empty_argv("/usr/bin/true", at=True)
    a = fired(rv, rule, proc_pid=pid)
    assert of(a, "evt.arg.filename").startswith("/dev/fd/"), a
    # the pkexec pattern: a setuid-root program run by an unprivileged user with argc 0
    os.chmod(vartmp, 0o755)
    suid = copy_exe("/usr/bin/true", os.path.join(vartmp, "suid-true"))
    os.chmod(suid, 0o4755)
    pid = exec_empty_argv(suid, uid=NOBODY)
    a = fired(rv, rule, proc_pid=pid)
    assert of(a, "user.uid") == 0, a  # the effective uid after the setuid exec
    # near miss: the same programs with their argv[0]
    near, _ = run(["/usr/bin/true"])
    not_fired(rv, rule, proc_pid=near)


# ---------------------------------------------------------------------------
# container escapes
# ---------------------------------------------------------------------------

# One container run makes every in-container action; each test checks its part.
DEPTH_SCRIPT = """
bb=/bin/busybox
$bb mkdir -p /opt/t
for n in docker ctr unshare base64 wget; do $bb ln -s $bb /opt/t/$n; done
/opt/t/docker -H unix:///var/run/docker.sock ps
/opt/t/wget -q -O - http://vigil-e2e-docker.sock/containers/json
/opt/t/ctr --version
/opt/t/unshare -r /bin/true
/opt/t/unshare -u /bin/true
$bb cat /proc/1/root/etc/hostname
$bb cat /proc/self/status >/dev/null
echo {b} | /opt/t/base64 -d | /bin/sh
true
"""


@pytest.fixture(scope="module")
def depth_container(rv, busybox_image):
    b, _ = payload()
    p = subprocess.run(PODMAN_RUN + [busybox_image, "sh", "-c", DEPTH_SCRIPT.format(b=b)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0, p.stdout.decode()
    return b


def test_user_namespace_created_in_container(rv, depth_container):
    rule = "User namespace created in container"
    a = fired(rv, rule, proc_name="unshare",
              pred=lambda a: "CLONE_NEWUSER" in of(a, "evt.arg.flags"))
    assert in_container(a)
    # on the host it is the host rule's; in the container the host rule stays silent
    host, _ = run(["unshare", "--user", "true"])
    fired(rv, "User namespace created", proc_pid=host)
    not_fired(rv, rule, proc_pid=host)
    not_fired(rv, rule, pred=lambda a: "CLONE_NEWUSER" not in of(a, "evt.arg.flags"))
    not_fired(rv, "User namespace created", pred=in_container)


def test_container_runtime_used_from_a_container(rv, depth_container, workdir):
    rule = "Container runtime used from a container"
    a = fired(rv, rule, proc_name="docker")
    assert in_container(a) and "docker.sock" in of(a, "proc.cmdline"), a
    fired(rv, rule, proc_name="ctr", pred=in_container)
    # a runtime socket named in another tool's command line
    fired(rv, rule, proc_name="wget", pred=in_container)
    # near misses: the runtime's clients on the host; runc's own init in the new
    # container's cgroup while it starts it (every podman run makes one)
    near, _ = run(["podman", "--version"])
    not_fired(rv, rule, proc_pid=near)
    not_fired(rv, rule, proc_name="runc")


def test_host_root_reached_through_proc_in_container(rv, depth_container):
    rule = "Host root reached through /proc in container"
    a = fired(rv, rule, pred=lambda a: "/proc/1/root/etc/hostname" in of(a, "proc.cmdline"))
    assert in_container(a)
    # near misses: /proc/self/... in the container; /proc/1/root on the host
    near, _ = run(["cat", "/proc/1/root/etc/hostname"], check=False)
    not_fired(rv, rule, proc_pid=near)
    # (the container's sh -c names both: its alert is a true one)
    not_fired(rv, rule, pred=lambda a: of(a, "proc.cmdline").endswith("/proc/self/status"))


def test_decoded_payload_run_by_a_shell_in_container(rv, depth_container):
    a = fired(rv, "Decoded payload run by a shell", pred=mentions(depth_container))
    assert in_container(a) and of(a, "proc.stdin.type") == "pipe", a
