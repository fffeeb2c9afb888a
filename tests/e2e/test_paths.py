"""Every way of spelling a path reaches the rules as the same path: doubled slashes,
"." and "..", a trailing slash, a directory that is a symlink, AT_EMPTY_PATH, and a
chroot (the host's path, and the one the process saw). The agent runs as deployed:
the default rules and the prefilter derived from them, no --events and no
--no-prefilter, so a form the kernel dropped would show as a missing alert.
"""
import ctypes
import errno
import os
import shutil
import struct
import subprocess
import time
import uuid

import pytest

import conftest

LOG_RULE = "Log file truncated or deleted"
HISTORY_RULE = "Shell history tampered"
SETUID_RULE = "Setuid or setgid bit set"
CHROOT_RULE = "Chroot on the host"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    conftest._check_can_run()
    v = conftest.Vigil(str(tmp_path_factory.mktemp("vigil-paths")), [], events=False)
    yield v
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


def nonce():
    return "vigil-e2e-" + uuid.uuid4().hex[:10]


def run(cmd, cwd=None):
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, f"{cmd} exited {p.returncode}: {p.stderr.decode()}"


def alert(v, rule, timeout=15.0, **fields):
    """The alert of rule whose output fields (fd_name: fd.name, evt_arg_path:
    evt.arg.path) equal the values given."""
    want = {k.replace("evt_arg_", "evt.arg.").replace("_", ".", 1): w for k, w in fields.items()}

    def pred(a):
        return a["rule"] == rule and all(a["output_fields"].get(k) == w
                                         for k, w in want.items())
    return v.wait_alert(pred, timeout, f"alert '{rule}' {fields}")


@pytest.fixture()
def log_file():
    """A fresh file below /var/log, removed afterwards if the test did not."""
    path = os.path.join("/var/log", nonce())
    open(path, "w").close()
    yield path
    if os.path.lexists(path):
        os.unlink(path)


def test_doubled_slash_in_a_relative_name(deployed, log_file):
    name = "var//log//" + os.path.basename(log_file)
    run(["rm", name], cwd="/")
    alert(deployed, LOG_RULE, fd_name=log_file, proc_name="rm")


def test_dotdot_in_an_absolute_name(deployed, log_file):
    run(["rm", "/var/tmp/../log/./" + os.path.basename(log_file)])
    alert(deployed, LOG_RULE, fd_name=log_file, proc_name="rm")


def test_dotdot_through_a_dirfd(deployed, log_file):
    # python's os.unlink with dir_fd: unlinkat(dirfd, "tmp/../log/NAME")
    code = ("import os, sys; d = os.open('/var', os.O_RDONLY | os.O_DIRECTORY); "
            "os.unlink('tmp/../log/' + sys.argv[1], dir_fd=d)")
    run(["python3", "-c", code, os.path.basename(log_file)])
    alert(deployed, LOG_RULE, fd_name=log_file, proc_name="python3")


def test_name_through_a_symlinked_directory(deployed, log_file):
    link = os.path.join("/tmp", nonce())
    os.symlink("/var/log", link)
    try:
        run(["rm", os.path.join(link, os.path.basename(log_file))])
        alert(deployed, LOG_RULE, fd_name=log_file, proc_name="rm")
    finally:
        os.unlink(link)


def test_relative_name_through_a_symlinked_directory(deployed, log_file):
    link = nonce()
    os.symlink("/var/log", os.path.join("/tmp", link))
    try:
        run(["rm", link + "/" + os.path.basename(log_file)], cwd="/tmp")
        alert(deployed, LOG_RULE, fd_name=log_file, proc_name="rm")
    finally:
        os.unlink(os.path.join("/tmp", link))


def test_trailing_slash(deployed):
    home = os.path.join("/home", nonce())
    hist = os.path.join(home, ".bash_history")
    os.makedirs(hist)
    try:
        # rm -d: unlinkat(AT_FDCWD, "NAME/.bash_history/", AT_REMOVEDIR)
        run(["rm", "-d", os.path.basename(home) + "/.bash_history/"], cwd="/home")
        a = alert(deployed, HISTORY_RULE, fd_name=hist, proc_name="rm")
        assert a["output_fields"]["evt.type"] == "unlinkat"
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_plain_names_elsewhere_stay_quiet(deployed):
    """The near miss: the same forms outside /var/log raise nothing."""
    d = os.path.join("/var/tmp", nonce())
    os.makedirs(os.path.join(d, "log"))
    names = []
    for i in range(3):
        names.append(os.path.join(d, "log", f"f{i}"))
        open(names[-1], "w").close()
    run(["rm", d + "//log/f0", d + "/log/../log/f1", d + "/./log/f2"])
    # a barrier: a log file deleted afterwards alerts, so the misses were judged
    probe = os.path.join("/var/log", nonce())
    open(probe, "w").close()
    run(["rm", probe])
    alert(deployed, LOG_RULE, fd_name=probe)
    time.sleep(0.3)
    bad = [a for a in deployed.alerts() if a["rule"] == LOG_RULE
           and (a["output_fields"].get("fd.name") or "").startswith(d)]
    assert not bad, bad
    shutil.rmtree(d)


def test_at_empty_path_names_the_fd(deployed, workdir):
    path = os.path.join(workdir, "suid")
    open(path, "w").close()
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        AT_EMPTY_PATH = 0x1000
        SYS_fchmodat2 = 452
        r = libc.syscall(SYS_fchmodat2, fd, b"", 0o4755, AT_EMPTY_PATH)
        err = ctypes.get_errno()
    finally:
        os.close(fd)
    if r != 0 and err == errno.ENOSYS:
        pytest.skip("this kernel has no fchmodat2 (6.6): a chmod cannot name its file by "
                    "AT_EMPTY_PATH here")
    assert r == 0, os.strerror(err)
    a = alert(deployed, SETUID_RULE, fd_name=path)
    assert a["output_fields"]["evt.type"] == "fchmodat2"


def test_at_empty_path_event(vigil, workdir):
    """fchownat(fd, "", ..., AT_EMPTY_PATH): the object is the fd, named without a '/'."""
    path = os.path.join(workdir, "owned")
    open(path, "w").close()
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        r = libc.fchownat(fd, b"", 0, 0, 0x1000)
        assert r == 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(fd)
    e = vigil.wait_for(lambda e: e["type"] == "chown" and e["syscall"] == "fchownat"
                       and e["proc"]["pid"] == os.getpid() and e["file"]["raw"] == ""
                       and e["file"]["path"] == path, what="fchownat AT_EMPTY_PATH")
    assert e["file"]["joined"] is False


def elf_interpreter(path):
    """True when the 64-bit ELF at path names a program interpreter (is dynamically linked)."""
    with open(os.path.realpath(path), "rb") as f:
        elf = f.read()
    assert elf[:5] == b"\x7fELF\x02", f"{path} is not a 64-bit ELF file"
    phoff, = struct.unpack_from("<Q", elf, 32)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    return any(struct.unpack_from("<I", elf, phoff + i * phentsize)[0] == 3  # PT_INTERP
               for i in range(phnum))


@pytest.fixture()
def chroot_busybox():
    """A static busybox below /var/tmp: inside a chroot to /var it is /tmp/NAME/busybox."""
    busybox = shutil.which("busybox")
    assert busybox, "busybox missing: scripts/deps.sh installs busybox-static"
    assert not elf_interpreter(busybox), f"{busybox} is not static: install busybox-static"
    d = os.path.join("/var/tmp", nonce())
    os.makedirs(d)
    shutil.copy(busybox, os.path.join(d, "busybox"))
    os.chmod(os.path.join(d, "busybox"), 0o755)
    yield "/tmp/" + os.path.basename(d) + "/busybox"
    shutil.rmtree(d)


def test_chroot_reports_the_host_path(deployed, vigil, chroot_busybox, log_file):
    inside = "/log/" + os.path.basename(log_file)
    p = subprocess.Popen(["chroot", "/var", chroot_busybox, "rm", inside])
    assert p.wait(timeout=30) == 0
    assert not os.path.exists(log_file)
    # the rules match the host's path
    a = alert(deployed, LOG_RULE, fd_name=log_file, proc_name="busybox")
    assert a["output_fields"]["proc.pid"] == p.pid
    alert(deployed, CHROOT_RULE, proc_pid=p.pid, evt_arg_path="/var")
    # the event carries both: the host's path and the one the process used
    e = vigil.wait_for(lambda e: e["type"] == "unlink" and e["proc"]["pid"] == p.pid,
                       what="unlink inside the chroot")
    assert e["file"]["path"] == log_file
    assert e["file"]["chroot_path"] == inside
    assert e["file"]["raw"] == inside
    x = vigil.wait_for(lambda e: e["type"] == "exec" and e["proc"]["pid"] == p.pid
                       and e["proc"]["comm"] == "busybox", what="exec inside the chroot")
    assert x["proc"]["exe"] == "/var" + chroot_busybox
    assert x["exec"]["exe_chroot"] == chroot_busybox
    assert x["proc"]["cwd"] == "/var"  # chroot(1) changes to the new root
    assert x["exec"]["cwd_chroot"] == "/"


def test_chroot_relative_name_and_symlink_inside(deployed, chroot_busybox, log_file):
    """Inside the chroot, an absolute symlink resolves against the chroot's root."""
    link = os.path.join("/var/tmp", nonce())
    os.symlink("/log", link)  # inside the chroot: /tmp/NAME -> /log = /var/log
    try:
        inside = "/tmp/" + os.path.basename(link) + "/" + os.path.basename(log_file)
        p = subprocess.Popen(["chroot", "/var", chroot_busybox, "rm", inside])
        assert p.wait(timeout=30) == 0
        assert not os.path.exists(log_file)
        alert(deployed, LOG_RULE, fd_name=log_file, proc_name="busybox")
    finally:
        os.unlink(link)
