"""The default rules on what vigil knows at exec, end to end, as deployed (`rv`: the
built-in rules, alerts only, under the prefilter they derive): the exe's last writer
(proc.exe_writer.*, from the file sensors' map of inodes opened for writing), a
container's drifted executables, the dynamic linker's environment (proc.env[LD_*])
and thread renames (prctl PR_SET_NAME, native and ia32).

Each rule fires on a real action and stays silent on a near miss; the field tests
check the writer is the real one (a rename into place and a hard link keep it; an
io_uring open and a 32-bit open name it), that a 32-bit prctl is seen and that drift is
seen through a container's overlay.
"""
import ctypes
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import PODMAN_RUN, REPO, helper
from test_rules import (  # noqa: F401 - rv: a fixture
    build_ia32, fired, ia32_refused, in_container, nonce, not_fired, of, run, rv)

PR_SET_NAME = 15
PRCTL32 = os.path.join(REPO, "tests", "e2e", "helpers32", "prctl32.c")
WRITE32 = os.path.join(REPO, "tests", "e2e", "helpers32", "write32.c")

DRIFT = "Drifted executable run in container"
HOST_NEW = "Newly written program run on host"
LOADER_ENV = "Dynamic linker hijacking through the environment"
RENAMED = "Process renamed to a system name"


@pytest.fixture()
def workdir():
    """A directory on the root file system, off the temporary directories' rules."""
    d = tempfile.mkdtemp(prefix="vigil-e2e-exec-", dir="/var/lib")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_copy(src, dst):
    """Copies src to dst in this process (open for writing, write, chmod)."""
    with open(src, "rb") as f:
        data = f.read()
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return dst


# ---------------------------------------------------------------------------
# the exe's writer, on the host
# ---------------------------------------------------------------------------

def test_program_written_then_run_names_its_writer(rv, workdir):
    exe = write_copy("/bin/true", os.path.join(workdir, "dropped"))
    pid, _ = run([exe])
    a = fired(rv, HOST_NEW, proc_pid=pid)
    assert of(a, "proc.exepath") == exe
    assert of(a, "proc.exe_writer.pid") == os.getpid()
    assert of(a, "proc.exe_writer.exepath") == os.path.realpath(
        "/proc/self/exe"), a["output"]
    assert of(a, "proc.exe_age") is not None and of(a, "proc.exe_age") < 600
    # a program vigil saw no one write: silent
    old, _ = run(["/bin/true"])
    not_fired(rv, HOST_NEW, proc_pid=old)


def test_rename_into_place_and_hard_link_keep_the_writer(rv, workdir):
    tmp = os.path.join(workdir, ".part")
    final = os.path.join(workdir, "installed")
    link = os.path.join(workdir, "linked")
    writer, _ = run(["sh", "-c", f"cat /bin/true > {tmp} && chmod 755 {tmp}"])
    os.rename(tmp, final)
    pid, _ = run([final])
    a = fired(rv, HOST_NEW, proc_pid=pid)
    assert of(a, "proc.exe_writer.pid") == writer
    assert of(a, "proc.exe_writer.name") == "sh"
    os.link(final, link)
    pid, _ = run([link])
    a = fired(rv, HOST_NEW, proc_pid=pid)
    assert of(a, "proc.exepath") == link and of(a, "proc.exe_writer.pid") == writer


def test_io_uring_open_for_writing_names_the_writer(rv, workdir):
    exe = os.path.join(workdir, "uring-written")
    shutil.copy("/bin/true", exe)
    os.chmod(exe, 0o755)
    p = subprocess.run([helper("uring_probe"), "open", exe, "1", "0"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout.splitlines()[0])
    assert report["ret"] >= 0, report
    pid, _ = run([exe])
    a = fired(rv, HOST_NEW, proc_pid=pid)
    assert of(a, "proc.exe_writer.pid") == report["pid"]
    assert of(a, "proc.exe_writer.name") == "uring_probe"


def build32(src, exe, define):
    return build_ia32(os.path.dirname(exe), os.path.basename(exe), define, src=src)


def test_ia32_open_for_writing_names_the_writer(rv, workdir):
    why = ia32_refused(workdir)
    if why:
        pytest.skip(why)
    exe = os.path.join(workdir, "ia32-written")
    shutil.copy("/bin/true", exe)
    os.chmod(exe, 0o755)
    writer = build32(WRITE32, os.path.join(workdir, "write32"), f'PATH="{exe}"')
    wpid, _ = run([writer])
    pid, _ = run([exe])
    a = fired(rv, HOST_NEW, proc_pid=pid)
    assert of(a, "proc.exe_writer.pid") == wpid
    assert of(a, "proc.exe_writer.exepath") == writer


def test_linker_and_package_manager_output_is_not_news(rv, workdir):
    src = os.path.join(workdir, "hello.c")
    with open(src, "w") as f:
        f.write("int main(void) { return 0; }\n")
    built = os.path.join(workdir, "hello")
    run(["gcc", "-o", built, src])
    built_pid, _ = run([built])

    # a package whose binary dpkg writes (into /usr/bin: purging a package removes the
    # directories it lists that no other package does, once empty, as /usr/local/bin is
    # on a fresh system)
    name = nonce()
    root = os.path.join(workdir, "pkg")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, "usr", "bin"))
    shutil.copy("/bin/true", os.path.join(root, "usr", "bin", name))
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
                "Maintainer: vigil tests <root@localhost>\nDescription: test package\n")
    deb = os.path.join(workdir, name + ".deb")
    run(["dpkg-deb", "--build", "--root-owner-group", root, deb])
    try:
        run(["dpkg", "-i", deb])
        pkg_pid, _ = run([os.path.join("/usr/bin", name)])
    finally:
        subprocess.run(["dpkg", "--purge", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
    not_fired(rv, HOST_NEW, proc_pid=built_pid)
    not_fired(rv, HOST_NEW, proc_pid=pkg_pid)


# ---------------------------------------------------------------------------
# drift in a container
# ---------------------------------------------------------------------------

def test_drifted_executable_in_container(rv, busybox_image):
    tag = nonce()
    # busybox runs the applet its file is named after
    script = ("/bin/busybox mkdir /dropped && /bin/busybox cp /bin/busybox /dropped/true && "
              f"/dropped/true && /bin/sleep 0 && echo {tag}")
    p = subprocess.run(PODMAN_RUN + [busybox_image, "sh", "-c", script],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0 and tag in p.stdout.decode(), p.stdout.decode()
    a = fired(rv, DRIFT, proc_exepath="/dropped/true")
    assert in_container(a)
    assert of(a, "proc.is_exe_upper_layer") is True
    # the write was seen through the overlay: the inode exec sees is the one written
    assert of(a, "proc.exe_written") is True, a["output"]
    assert of(a, "proc.exe_writer.name") == "busybox"
    # what the image ships is no drift
    not_fired(rv, DRIFT, pred=lambda x: in_container(x) and
              of(x, "proc.exepath") == "/bin/busybox")


# ---------------------------------------------------------------------------
# the dynamic linker's environment
# ---------------------------------------------------------------------------

def run_env(extra):
    env = {"PATH": "/usr/bin:/bin", **extra}
    pid, _ = run(["/bin/true"], env=env)
    return pid


def test_dynamic_linker_hijacking_through_environment(rv):
    lib = "/dev/shm/" + nonce() + ".so"
    pid = run_env({"LD_PRELOAD": lib})
    a = fired(rv, LOADER_ENV, proc_pid=pid)
    assert f"ld_preload={lib} " in a["output"], a["output"]
    pid = run_env({"LD_AUDIT": lib})
    fired(rv, LOADER_ENV, proc_pid=pid)
    pid = run_env({"LD_LIBRARY_PATH": "/usr/lib:/tmp/" + nonce()})
    fired(rv, LOADER_ENV, proc_pid=pid)
    # known preloads, an ordinary library path, nothing set
    near = [run_env({"LD_PRELOAD": "libeatmydata.so"}),
            run_env({"LD_PRELOAD": "libfakeroot-sysv.so",
                     "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/libfakeroot"}),
            run_env({"LD_LIBRARY_PATH": "/usr/local/lib"}),
            run_env({})]
    for n in near:
        not_fired(rv, LOADER_ENV, proc_pid=n)


# ---------------------------------------------------------------------------
# renames
# ---------------------------------------------------------------------------

def rename_child(name):
    """A child that renames itself with prctl(PR_SET_NAME); returns its pid."""
    pid = os.fork()
    if pid == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)
        os._exit(0 if rc == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return pid


def test_process_renamed_to_system_name(rv):
    pid = rename_child("sshd")
    a = fired(rv, RENAMED, proc_pid=pid)
    assert of(a, "proc.name") == "sshd"
    pid = rename_child("kworker/u8:3")
    fired(rv, RENAMED, proc_pid=pid, proc_name="kworker/u8:3")
    near = rename_child("vigil-e2e-ok")
    not_fired(rv, RENAMED, proc_pid=near)


def test_process_renamed_through_ia32_prctl(rv, tmp_path):
    why = ia32_refused(str(tmp_path))
    if why:
        pytest.skip(why)
    exe = build32(PRCTL32, str(tmp_path / "prctl32"), 'NAME="kworker/0:7"')
    pid, _ = run([exe])
    a = fired(rv, RENAMED, proc_pid=pid)
    # the program makes its calls through int $0x80 only: the alert is the ia32 call's
    assert of(a, "proc.name") == "kworker/0:7" and of(a, "proc.exepath") == exe
    assert of(a, "thread.tid") == pid
