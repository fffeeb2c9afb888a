"""End-to-end harness: runs the real vigil daemon (real BPF in this kernel) and
reads its JSON event stream while the tests make real processes do things.

Needs root and a kernel with BTF; without them every test fails loudly, never skips.
"""
import collections
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(REPO, "build"))
VIGIL = os.path.join(BUILD, "vigil")
HELPERS = os.path.join(BUILD, "helpers")

PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
# this kind of machine refuses raising rlimits for a container's init: keep them low
PODMAN_RUN = PODMAN + ["run", "--rm", "--network", "none",
                       "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
TEST_IMAGE = "localhost/vigil-test-busybox:latest"

# how long an agent may take to load and attach: the verifier is most of it, seconds
# here, minutes in an emulated guest (scripts/kernels.sh sets it there)
READY_TIMEOUT = float(os.environ.get("VIGIL_READY_TIMEOUT", "60"))


def _die_with_parent():
    """Run in the child before exec: the agent stops if the test process dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# events kept per agent: a busy machine writes millions; tests look at recent ones
MAX_EVENTS = 300000
# the stream is read this much at a time: a backlog of gigabytes never sits in memory whole
READ_CHUNK = 16 << 20

# the agents running now whose stream is read: each test reads its own events
_READERS = []


def helper(name):
    path = os.path.join(HELPERS, name)
    assert os.access(path, os.X_OK), f"{path} missing: run 'make e2e' (it builds the helpers)"
    return path


def in_child(fn, *args, **kwargs):
    """Runs fn in a forked child and returns (errno of the OSError it raised or 0, the
    child's pid). vigil never acts on its own parents, and the test process started the
    agent: what a rule should act on has to be done by another process."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fn(*args, **kwargs)
        except OSError as e:
            code = e.errno or 255
        except BaseException:
            code = 254
        os.write(wfd, code.to_bytes(2, "little"))
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    assert len(data) == 2, "the child died before it reported"
    code = int.from_bytes(data, "little")
    assert code != 254, "the child failed other than with an OSError"
    return code, pid


def bind_errno(family, kind, host, port):
    """0, or the errno of a bind, done by a child process."""
    def op():
        s = socket.socket(family, kind)
        try:
            s.bind((host, port))
        finally:
            s.close()
    return in_child(op)[0]


def raw(s):
    """The exact bytes of a string from vigil's JSON (invalid UTF-8 comes as \\uDCxx)."""
    return s.encode("utf-8", "surrogateescape")


# the oldest kernel vigil runs on: its sensors need bpf_loop (5.17) and
# bpf_task_pt_regs (5.15); on an older one the start fails, saying so (test_loader.py)
MIN_KERNEL = (5, 17)


def kernel_version():
    rel = os.uname().release
    parts = rel.split("-")[0].split(".")
    return tuple(int(p) for p in parts[:2] if p.isdigit())


def skip_below_min_kernel():
    if kernel_version() < MIN_KERNEL:
        pytest.skip(f"vigil runs on Linux {MIN_KERNEL[0]}.{MIN_KERNEL[1]} and later; this "
                    f"kernel is {os.uname().release} (its refusal is tested in test_loader.py)")


class Vigil:
    """One running `vigil run`, its stdout (alerts, and events when printed) captured to
    a file.

    events=True prints the event stream (--events=json) for tests of the stream itself.
    Printing events widens the kernel prefilter (the default's sensitive set is merged in
    and every type but opens goes up whole), so a test that asserts what rules raise
    passes events=False: the agent runs as deployed, under the prefilter derived from
    its rules alone."""

    def __init__(self, workdir, args=(), events=True, prefix=()):
        skip_below_min_kernel()
        self.out_path = os.path.join(workdir, "events.jsonl" if events else "alerts.jsonl")
        self.err_path = os.path.join(workdir, "vigil.stderr")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        # port 0 and a control socket of its own: several agents run at once in the tests
        if not any(a.startswith("--control-socket") for a in args):
            self.control_socket = os.path.join(workdir, "vigil.sock")
            args = ["--control-socket", self.control_socket, *args]
        # prefix: e.g. nsenter --net=..., which execs the agent (the pid stays the agent's)
        self.proc = subprocess.Popen([*prefix, VIGIL, "run", *(["--events=json"] if events else []),
                                      "--metrics-listen", "127.0.0.1:0", *args],
                                     stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        self._start_reading()
        deadline = time.time() + READY_TIMEOUT
        while b"vigil: monitoring" not in self.stderr_bytes():
            if self.proc.poll() is not None:
                pytest.fail(f"vigil exited with {self.proc.returncode} before it was ready:\n"
                            + self.stderr())
            if time.time() > deadline:
                self.stop()
                pytest.fail(f"vigil was not ready after {READY_TIMEOUT:g} s:\n" + self.stderr())
            time.sleep(0.05)

    def stderr_bytes(self):
        with open(self.err_path, "rb") as f:
            return f.read()

    def stderr(self):
        return self.stderr_bytes().decode("utf-8", "replace")

    def alerts(self):
        """Every alert read so far (lines with a "rule" key), in order."""
        self.events()
        return self._alerts

    def wait_alert(self, pred, timeout=10.0, what="alert"):
        """The first alert for which pred is true; fails after timeout seconds."""
        deadline = time.time() + timeout
        while True:
            for al in self.alerts():
                if pred(al):
                    return al
            if self.proc.poll() is not None:
                pytest.fail(f"vigil died ({self.proc.returncode}) waiting for {what}:\n"
                            + self.stderr())
            if time.time() > deadline:
                pytest.fail(f"no {what} within {timeout} s; {len(self._alerts)} alerts seen")
            time.sleep(0.02)

    def _start_reading(self):
        self._events = collections.deque(maxlen=MAX_EVENTS)
        self._total = 0  # events ever appended: lets wait_for look at new ones only
        self._alerts = []
        self._offset = 0
        self._partial = b""
        _READERS.append(self)

    def stop_reading(self):
        if self in _READERS:
            _READERS.remove(self)

    def skip_to_now(self):
        """Reads the stream up to now keeping only its alerts: a test looks at its own
        events, not at a whole session's backlog (gigabytes, too much to parse or keep)."""
        self.events(alerts_only=True)
        self._events.clear()

    def events(self, alerts_only=False):
        """Every event read so far, in order (alerts are kept apart). alerts_only: what
        is read now keeps its alerts only, its events are not even parsed."""
        with open(self.out_path, "rb") as f:
            f.seek(self._offset)
            while True:
                data = f.read(READ_CHUNK)  # bounded: a backlog may be gigabytes
                if not data:
                    break
                self._offset += len(data)
                lines = (self._partial + data).split(b"\n")
                self._partial = lines.pop()
                self._take(lines, alerts_only)
        return self._events

    def _take(self, lines, alerts_only):
        for line in lines:
            # an alert's line starts with its hostname, an event's with its time
            if alerts_only and not line.startswith(b'{"hostname"'):
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                pytest.fail(f"vigil wrote a line that is not JSON ({e}): {line[:300]!r}")
            if "rule" in obj:
                self._alerts.append(obj)
            else:
                self._events.append(obj)
                self._total += 1

    def wait_for(self, pred, timeout=10.0, what="event"):
        """The first event for which pred is true; fails after timeout seconds."""
        deadline = time.time() + timeout
        evs = self.events()
        fresh = list(evs)  # first look: everything kept; later: what arrived since
        while True:
            for ev in fresh:
                if pred(ev):
                    return ev
            if self.proc.poll() is not None:
                pytest.fail(f"vigil died ({self.proc.returncode}) waiting for {what}:\n"
                            + self.stderr())
            if time.time() > deadline:
                pytest.fail(f"no {what} within {timeout} s; {len(self._events)} events kept")
            time.sleep(0.02)
            before = self._total
            evs = self.events()
            new = min(self._total - before, len(evs))
            fresh = [evs[i] for i in range(len(evs) - new, len(evs))]

    def wait_exec(self, pid, args=None, timeout=10.0):
        """The exec event of pid (with argv equal to args, when given: a pid may exec
        several times, e.g. a helper that re-executes itself)."""
        return self.wait_for(lambda e: e["type"] == "exec" and e["proc"]["pid"] == pid and
                             (args is None or e["proc"]["args"] == args),
                             timeout, f"exec of pid {pid} {args or ''}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        self.err.close()
        self.stop_reading()
        return self.proc.returncode


class PodmanApi:
    """podman's REST API on a socket of the test's own (the CLI's containers, same store)."""

    def __init__(self, d):
        self.path = os.path.join(d, "podman.sock")
        self.proc = subprocess.Popen(PODMAN + ["system", "service", "--time=0",
                                               "unix://" + self.path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent)
        deadline = time.time() + 30
        while not os.path.exists(self.path):
            if self.proc.poll() is not None or time.time() > deadline:
                pytest.fail("podman's API service did not start")
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        if os.path.exists(self.path):
            os.unlink(self.path)


def _check_can_run():
    if os.geteuid() != 0:
        pytest.fail("end-to-end tests load BPF programs and need root (sudo make test)")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.fail("end-to-end tests need kernel BTF (/sys/kernel/btf/vmlinux)")
    if not os.access(VIGIL, os.X_OK):
        pytest.fail(f"{VIGIL} is missing: run 'make e2e'")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Before a test's fixtures are set up, every agent still running from earlier tests
    (the session's agent, a module's) drops the events of earlier tests, unparsed, and
    keeps their alerts: the test reads its own events and those of its fixtures."""
    for v in list(_READERS):
        if v.proc.poll() is not None or not os.path.exists(v.out_path):
            v.stop_reading()  # it ended (or its directory went): nothing more comes
        else:
            v.skip_to_now()


def pytest_collection_modifyitems(session, config, items):
    """The check that every default rule fired runs after every test that fires one,
    whichever file holds it."""
    last = [i for i in items if i.name == "test_every_rule_fired"]
    items[:] = [i for i in items if i.name != "test_every_rule_fired"] + last


@pytest.fixture(scope="session")
def prestarted():
    """A process started before vigil, so vigil can only know it from /proc."""
    p = subprocess.Popen(["sh", "-c", "sleep 600", "vigil-prestarted"])
    time.sleep(0.2)
    yield p
    p.kill()
    p.wait()


@pytest.fixture(scope="session")
def vigil(prestarted, tmp_path_factory):
    _check_can_run()
    v = Vigil(str(tmp_path_factory.mktemp("vigil")))
    yield v
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


@pytest.fixture()
def workdir():
    d = tempfile.mkdtemp(prefix="vigil-e2e-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def busybox_image(tmp_path_factory):
    """A container image from Debian's busybox-static (no registry is reachable here)."""
    root = tmp_path_factory.mktemp("rootfs")
    os.makedirs(root / "bin")
    shutil.copy("/bin/busybox", root / "bin" / "busybox")
    for name in ("sh", "true", "sleep", "cat", "echo", "ls"):
        os.symlink("busybox", root / "bin" / name)
    tar = str(tmp_path_factory.mktemp("image") / "rootfs.tar")
    subprocess.run(["tar", "-C", str(root), "-cf", tar, "."], check=True)
    subprocess.run(PODMAN + ["import", tar, TEST_IMAGE], check=True,
                   stdout=subprocess.DEVNULL)
    return TEST_IMAGE
