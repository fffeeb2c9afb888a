"""Default rules on file times and inode flags set explicitly, end to end.

Timestomping (utimensat, futimesat, utimes, utime with times of their own) and
chattr-style flag changes (ioctl FS_IOC_SETFLAGS / FS_IOC_FSSETXATTR) on files below
system directories, with the rules as deployed (`rv`: alerts only, the kernel prefilter
derived from the rules). Each rule fires on a real action and stays silent on near
misses; the evasions are other spellings of the same call (futimens on an fd, utimensat
with AT_EMPTY_PATH, futimesat with a NULL name, the 32-bit forms through int $0x80).
"""
import ctypes
import errno
import fcntl
import json
import os
import shutil
import struct
import subprocess
import uuid

import pytest

from conftest import REPO, helper
from test_rules import (  # noqa: F401 - rv, etc_file, workdir: fixtures
    FIRED, build_ia32, etc_file, fired, ia32_refused, nonce, not_fired, of, run, rv, write_file)

TIMESTOMP = "Timestomping of system files"
CHATTR = "Immutable or append-only flag changed on a system file"
PROCMEM = "Process memory written through /proc/PID/mem"
VMWRITE = "Process memory written with process_vm_writev"

# x86-64 syscall numbers and flags (the kernel's)
NR_UTIME, NR_UTIMES, NR_FUTIMESAT, NR_UTIMENSAT = 132, 235, 261, 280
NR_PROCESS_VM_READV, NR_PROCESS_VM_WRITEV = 310, 311
AT_FDCWD, AT_EMPTY_PATH = -100, 0x1000
FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR = 0x801c581f, 0x401c5820
FS_IMMUTABLE_FL, FS_APPEND_FL, FS_NODUMP_FL = 0x10, 0x20, 0x40
FS_XFLAG_APPEND = 0x10

T0 = 1000000000  # 2001-09-09: each call below sets mtime T0 + k, so its alert is its own

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def sysc(*args):
    """A raw x86-64 syscall; raises OSError when it fails."""
    conv = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    r = libc.syscall(*conv)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def timespecs(sec):
    return (ctypes.c_long * 4)(sec, 0, sec, 0)


def stomped(v, path, mtime, evt_type, pid=None, compat=None):
    """Waits for the timestomping alert of the call that set path's mtime to mtime."""
    want = f"{mtime}.000000000"

    def pred(a):
        return (of(a, "evt.arg.mtime") == want and of(a, "evt.type") == evt_type
                and (compat is None or of(a, "evt.is_compat") in (None, compat)))
    return fired(v, TIMESTOMP, pred, fd_name=path, proc_pid=pid or os.getpid())


def chattr_alert(v, path, new, old, pid=None, request=None):
    def pred(a):
        return (of(a, "fs.attr.new") == new and of(a, "fs.attr.old") == old
                and (request is None or of(a, "evt.arg.request") == request))
    return fired(v, CHATTR, pred, fd_name=path, proc_pid=pid or os.getpid())


@pytest.fixture()
def sysfile(etc_file):
    """A new file below /usr/local/lib (a system directory), its inode flags cleared
    again afterwards so that it can be removed."""
    made = []

    def make():
        path = etc_file("/usr/local/lib/vigil-e2e", nonce())
        write_file(path, b"vigil end-to-end test data\n")
        made.append(path)
        return path
    yield make
    for path in made:
        subprocess.run(["chattr", "-i", "-a", path], stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------
# Timestomping
# ---------------------------------------------------------------------------

def test_timestomp_touch(rv, sysfile, workdir):
    path, near = sysfile(), os.path.join(workdir, "plain")
    write_file(near)
    # near misses: times set to now on the system file, an old time on a file in /tmp,
    # and cp -p (a tool that copies times on purpose) into a system directory
    now, _ = run(["touch", path])
    tmp, _ = run(["touch", "-d", "2001-01-01 00:00:00 UTC", near])
    copy = path + ".copy"
    cp, _ = run(["cp", "-p", "/etc/hostname", copy])
    pid, _ = run(["touch", "-d", "2001-01-01 00:00:00 UTC", path])
    a = fired(rv, TIMESTOMP, fd_name=path, proc_pid=pid)
    assert of(a, "evt.arg.mtime") == "978307200.000000000", a["output"]
    assert of(a, "evt.type") == "utimensat"
    assert int(of(a, "fs.times.age")) > 20 * 365 * 86400
    try:
        for p in (now, tmp, cp):
            not_fired(rv, TIMESTOMP, proc_pid=p)
    finally:
        os.unlink(copy)


def test_timestomp_touch_reference(rv, sysfile):
    """touch -r: another file's times, the usual way to make a file look as old as its
    neighbours."""
    path = sysfile()
    pid, _ = run(["touch", "-r", "/etc/debian_version", path])
    st = os.stat("/etc/debian_version")
    a = fired(rv, TIMESTOMP, fd_name=path, proc_pid=pid)
    assert of(a, "evt.arg.mtime").startswith(f"{int(st.st_mtime)}."), a["output"]


def test_timestomp_native_syscalls(rv, sysfile):
    """Each 64-bit call, and the spellings that name the file by an fd: futimens
    (utimensat with a NULL name), utimensat with AT_EMPTY_PATH and an empty name,
    futimesat with a NULL name."""
    path = sysfile()
    bpath = path.encode()
    sysc(NR_UTIMENSAT, AT_FDCWD, bpath, timespecs(T0 + 11), 0)
    sysc(NR_FUTIMESAT, AT_FDCWD, bpath, timespecs(T0 + 12))  # timeval: usec 0
    sysc(NR_UTIMES, bpath, timespecs(T0 + 13))
    sysc(NR_UTIME, bpath, (ctypes.c_long * 2)(T0 + 14, T0 + 14))
    fd = os.open(path, os.O_RDONLY)
    try:
        os.utime(fd, ns=((T0 + 15) * 10**9, (T0 + 15) * 10**9))  # futimens
        sysc(NR_UTIMENSAT, fd, b"", timespecs(T0 + 16), AT_EMPTY_PATH)
        sysc(NR_FUTIMESAT, fd, None, timespecs(T0 + 17))
    finally:
        os.close(fd)
    for k, t in ((11, "utimensat"), (12, "futimesat"), (13, "utimes"), (14, "utime"),
                 (15, "utimensat"), (16, "utimensat"), (17, "futimesat")):
        stomped(rv, path, T0 + k, t)
    # UTIME_OMIT for atime, an explicit mtime: still timestomping
    omit = (ctypes.c_long * 4)(0, (1 << 30) - 2, T0 + 18, 0)
    sysc(NR_UTIMENSAT, AT_FDCWD, bpath, omit, 0)
    a = stomped(rv, path, T0 + 18, "utimensat")
    assert of(a, "evt.arg.atime") == "UTIME_OMIT"


def test_timestomp_near_misses(rv, sysfile):
    """Both times UTIME_NOW / UTIME_OMIT, NULL times, a failed call: no alert."""
    path = sysfile()
    bpath = path.encode()
    pid = os.fork()
    if pid == 0:
        try:
            sysc(NR_UTIMENSAT, AT_FDCWD, bpath,
                 (ctypes.c_long * 4)(0, (1 << 30) - 1, 0, (1 << 30) - 2), 0)
            sysc(NR_UTIMENSAT, AT_FDCWD, bpath, None, 0)
            sysc(NR_UTIMES, bpath, None)
            try:  # a bad nsec: EINVAL
                sysc(NR_UTIMENSAT, AT_FDCWD, bpath, (ctypes.c_long * 4)(T0, 2**31, T0, 0), 0)
            except OSError:
                pass
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    not_fired(rv, TIMESTOMP, proc_pid=pid)


def build32(workdir, path):
    """ia32_fattr.c as a static 32-bit program working on path."""
    return build_ia32(workdir, "ia32-fattr-" + uuid.uuid4().hex[:6], f'PATH="{path}"',
                      src=os.path.join(REPO, "tests", "e2e", "helpers32", "ia32_fattr.c"))


def test_32bit_times_and_flags(rv, sysfile, workdir):
    """utimensat (32- and 64-bit timespecs), futimesat, utimes, utime and
    FS_IOC32_SETFLAGS made through int $0x80 are the same events and raise the same
    rules (a 32-bit chattr's old flags are unknown: no entry tracepoint sees it)."""
    off = ia32_refused(workdir)
    if off:
        pytest.skip(off)
    path = sysfile()
    exe = build32(workdir, path)
    pid, _ = run([exe])
    for k, t in ((1, "utimensat"), (2, "utimensat"), (3, "futimesat"), (4, "utimes"),
                 (5, "utime")):
        a = stomped(rv, path, T0 + k, t, pid=pid)
        assert of(a, "proc.exepath") == exe
    chattr_alert(rv, path, "i", "?", pid=pid, request="FS_IOC32_SETFLAGS")
    chattr_alert(rv, path, "", "?", pid=pid, request="FS_IOC32_SETFLAGS")
    # its process_vm_writev into this process (an attempt: EFAULT)
    a = fired(rv, VMWRITE, proc_pid=pid, evt_arg_pid=str(os.getpid()))
    assert of(a, "evt.res") == "EFAULT", a["output"]


# ---------------------------------------------------------------------------
# chattr
# ---------------------------------------------------------------------------

def ioctl_flags(path, req, flags):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, req, struct.pack("i", flags))
    finally:
        os.close(fd)


def test_chattr_immutable_set_and_cleared(rv, sysfile, workdir):
    path = sysfile()
    near_tmp = os.path.join(workdir, "tmpfile")
    write_file(near_tmp)
    # near misses: +i on a file in /tmp; +d (no dump) on the system file
    tmp, _ = run(["chattr", "+i", near_tmp])
    run(["chattr", "-i", near_tmp])
    nodump, _ = run(["chattr", "+d", path])
    plus, _ = run(["chattr", "+i", path])
    a = chattr_alert(rv, path, "i", "", pid=plus, request="FS_IOC_SETFLAGS")
    assert "FS_IMMUTABLE_FL" in of(a, "evt.arg.flags")
    minus, _ = run(["chattr", "-i", path])
    chattr_alert(rv, path, "", "i", pid=minus)
    for p in (tmp, nodump):
        not_fired(rv, CHATTR, proc_pid=p)


def test_chattr_append_only_by_ioctl(rv, sysfile):
    """FS_IOC_SETFLAGS from a program of its own, and FS_IOC_FSSETXATTR (the xfs-style
    interface, FS_XFLAG_APPEND) for the same flag."""
    path = sysfile()
    ioctl_flags(path, FS_IOC_SETFLAGS, FS_APPEND_FL)
    chattr_alert(rv, path, "a", "")
    ioctl_flags(path, FS_IOC_SETFLAGS, 0)
    chattr_alert(rv, path, "", "a")
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(fcntl.ioctl(fd, FS_IOC_FSGETXATTR, bytes(28)))
        xflags = struct.unpack_from("I", buf)[0]
        struct.pack_into("I", buf, 0, xflags | FS_XFLAG_APPEND)
        fcntl.ioctl(fd, FS_IOC_FSSETXATTR, bytes(buf))
        a = chattr_alert(rv, path, "a", "", request="FS_IOC_FSSETXATTR")
        assert "FS_XFLAG_APPEND" in of(a, "evt.arg.flags")
        struct.pack_into("I", buf, 0, xflags)
        fcntl.ioctl(fd, FS_IOC_FSSETXATTR, bytes(buf))
        chattr_alert(rv, path, "", "a", request="FS_IOC_FSSETXATTR")
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# process memory
# ---------------------------------------------------------------------------

@pytest.fixture()
def sleeper():
    p = subprocess.Popen(["sleep", "120"])
    yield p.pid
    p.kill()
    p.wait()


def test_proc_mem_write_to_another_process(rv, sleeper):
    """/proc/PID/mem and a thread's /proc/PID/task/TID/mem opened for writing; near
    misses: the process's own memory file for writing, the other one's for reading."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            for path in ("/proc/self/mem", f"/proc/{os.getpid()}/task/{os.getpid()}/mem"):
                os.close(os.open(path, os.O_RDWR))
            os.close(os.open(f"/proc/{sleeper}/mem", os.O_RDONLY))
        except OSError:
            code = 1
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0
    not_fired(rv, PROCMEM, proc_pid=pid)
    for path in (f"/proc/{sleeper}/mem", f"/proc/{sleeper}/task/{sleeper}/mem"):
        os.close(os.open(path, os.O_RDWR))
        a = fired(rv, PROCMEM, fd_name=path, proc_pid=os.getpid())
        assert of(a, "fs.procmem.pid") == sleeper, a["output"]


def test_process_vm_writev(rv, workdir):
    """A real write into a child's memory; near misses: a write into the caller's own
    memory (not an event) and a read of the child's (process_vm_readv)."""
    buf = ctypes.create_string_buffer(b"before", 16)
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(w)
        os.read(r, 1)  # until the parent has written
        os._exit(0 if buf.value == b"injected" else 1)
    os.close(r)
    src = ctypes.create_string_buffer(b"injected", 16)

    def iov(b):
        return (ctypes.c_void_p * 2)(ctypes.addressof(b), 16)
    try:
        near = os.fork()
        if near == 0:
            ok = True
            try:
                sysc(NR_PROCESS_VM_WRITEV, os.getpid(), iov(src), 1, iov(buf), 1, 0)
                sysc(NR_PROCESS_VM_READV, child, iov(src), 1, iov(buf), 1, 0)
            except OSError:
                ok = False
            os._exit(0 if ok else 1)
        assert os.waitpid(near, 0)[1] == 0
        assert sysc(NR_PROCESS_VM_WRITEV, child, iov(src), 1, iov(buf), 1, 0) == 16
    finally:
        os.write(w, b"x")
        os.close(w)
    assert os.waitpid(child, 0)[1] == 0, "the child's memory was not written"
    a = fired(rv, VMWRITE, proc_pid=os.getpid(), evt_arg_pid=str(child))
    assert of(a, "evt.res") == "SUCCESS", a["output"]
    not_fired(rv, VMWRITE, proc_pid=near)


# ---------------------------------------------------------------------------
# module loading through the raw sys_exit dispatcher
# ---------------------------------------------------------------------------

NR_INIT_MODULE = 175
NOBODY = 65534


def test_init_module_refused_to_non_root_is_an_event(rv):
    """init_module, finit_module and delete_module have no per-syscall tracepoint on a
    kernel without module support: their sensors are reached only through the raw
    sys_exit dispatcher, by syscall number, on every kernel (this one included), so
    this test runs that path. An init_module of garbage by nobody fails before the
    kernel looks at the image (EPERM; ENOSYS on a kernel without module support, such
    as this one): still an attempt, and the rule fires."""
    want = "ENOSYS" if not os.path.exists(
        "/sys/kernel/tracing/events/syscalls/sys_exit_init_module") else "EPERM"
    image = ctypes.create_string_buffer(b"\x7fELF not a module", 64)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            sysc(NR_INIT_MODULE, image, 64, b"vigil_e2e=1")
        except OSError as e:
            code = 0 if errno.errorcode.get(e.errno) == want else 2
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0, f"init_module by nobody did not fail with {want}"
    a = fired(rv, "Kernel module loaded", proc_pid=pid, evt_type="init_module")
    assert of(a, "evt.res") == want, a["output"]
    assert of(a, "user.uid") == NOBODY, a["output"]


def test_ptrace_seize_is_an_attach(rv, sleeper):
    """PTRACE_SEIZE (attach without stopping the tracee) answers as an attach."""
    PTRACE_SEIZE, PTRACE_DETACH = 0x4206, 17
    libc.ptrace.restype = ctypes.c_long
    pid = os.fork()
    if pid == 0:
        code = 0 if libc.ptrace(ctypes.c_long(PTRACE_SEIZE), ctypes.c_long(sleeper),
                                None, None) == 0 else 1
        libc.ptrace(ctypes.c_long(PTRACE_DETACH), ctypes.c_long(sleeper), None, None)
        os._exit(code)
    assert os.waitpid(pid, 0)[1] == 0, "PTRACE_SEIZE failed"
    a = fired(rv, "Ptrace attach to another process", proc_pid=pid,
              evt_arg_request="PTRACE_SEIZE")
    assert of(a, "evt.arg.pid") == str(sleeper), a["output"]


def test_proc_mem_opened_through_io_uring(rv, sleeper):
    """The open of another process's /proc/PID/mem submitted through io_uring
    (IORING_OP_OPENAT, no openat syscall) raises the rule too."""
    path = f"/proc/{sleeper}/mem"
    p = subprocess.run([helper("uring_probe"), "open", path, str(os.O_RDWR), "0"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rep = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert rep and rep[0]["ret"] >= 0, p.stdout
    fired(rv, PROCMEM, fd_name=path, proc_pid=rep[0]["pid"])
