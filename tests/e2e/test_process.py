"""Process lifecycle events from the real kernel: exec, fork, exit, ancestry,
container identity, and the daemon's own errors."""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time

from conftest import PODMAN, PODMAN_RUN, VIGIL, Vigil, helper, raw, skip_below_min_kernel


def run(argv, **kw):
    """Runs argv to completion and returns its pid."""
    p = subprocess.Popen(argv, **kw)
    p.wait()
    return p.pid


def test_exec_absolute_path_resolves_symlinked_dirs(vigil):
    # /bin is a symlink to /usr/bin on Debian: the kernel's exe is the real file
    pid = run(["/bin/true", "absolute"])
    ev = vigil.wait_exec(pid)
    assert ev["exec"]["filename"] == "/bin/true"
    assert ev["proc"]["exe"] == os.path.realpath("/bin/true")
    assert ev["proc"]["args"] == ["/bin/true", "absolute"]
    assert ev["proc"]["comm"] == "true"
    assert ev["container"]["id"] == "host"
    assert ev["exec"]["exe_ino"] == os.stat("/bin/true").st_ino


def test_exec_relative_path(vigil, workdir):
    shutil.copy("/usr/bin/true", os.path.join(workdir, "reltrue"))
    pid = run(["./reltrue", "rel"], cwd=workdir)
    ev = vigil.wait_exec(pid)
    assert ev["exec"]["filename"] == "./reltrue"
    assert ev["proc"]["exe"] == os.path.join(os.path.realpath(workdir), "reltrue")
    assert ev["proc"]["cwd"] == os.path.realpath(workdir)


def test_exec_through_symlink_and_dotdot(vigil, workdir):
    os.makedirs(os.path.join(workdir, "real", "sub"))
    target = os.path.join(workdir, "real", "target-bin")
    shutil.copy("/usr/bin/true", target)
    link = os.path.join(workdir, "link-bin")
    os.symlink(target, link)
    pid = run([link])
    ev = vigil.wait_exec(pid)
    assert ev["exec"]["filename"] == link
    assert ev["proc"]["exe"] == os.path.realpath(target)
    pid = run(["../target-bin"], cwd=os.path.join(workdir, "real", "sub"))
    ev = vigil.wait_exec(pid)
    assert ev["proc"]["exe"] == os.path.realpath(target)


def test_argv_bytes_pass_through_intact(vigil):
    args = [b"/bin/echo", b"with space", b"quote\"s and 'single'", b"new\nline",
            b"tab\there", b"\xff\xfe not utf-8 \xc3", b"caf\xc3\xa9", b"back\\slash", b""]
    pid = run(args, stdout=subprocess.DEVNULL)
    ev = vigil.wait_exec(pid)
    assert [raw(a) for a in ev["proc"]["args"]] == args


def test_exec_from_memfd(vigil):
    pid = run([helper("exec_memfd"), "/usr/bin/true", "from-memfd"])
    ev = vigil.wait_exec(pid, ["/usr/bin/true", "from-memfd"])
    assert ev["exec"]["exe_memfd"] is True
    assert ev["proc"]["exe"].startswith("/memfd:vigil-test")
    assert ev["proc"]["args"] == ["/usr/bin/true", "from-memfd"]


def test_exec_of_deleted_binary(vigil, workdir):
    copy = os.path.join(workdir, "gone-bin")
    pid = run([helper("exec_deleted"), "/usr/bin/true", copy, "deleted-arg"])
    ev = vigil.wait_exec(pid, ["/usr/bin/true", "deleted-arg"])
    assert ev["exec"]["exe_deleted"] is True
    assert ev["exec"]["exe_memfd"] is False
    assert ev["proc"]["exe"] == os.path.join(os.path.realpath(workdir), "gone-bin")
    assert not os.path.exists(copy)


def test_fork_without_exec_and_exit_code(vigil):
    out = subprocess.run([helper("forker"), "exit", "7"], capture_output=True, check=True)
    info = json.loads(out.stdout)
    fork = vigil.wait_for(lambda e: e["type"] == "fork" and e["child"]["pid"] == info["child"],
                          what="fork event")
    assert fork["proc"]["pid"] == info["pid"]
    assert fork["child"]["thread"] is False
    ex = vigil.wait_for(lambda e: e["type"] == "exit" and e["proc"]["pid"] == info["child"],
                        what="exit event")
    assert ex["exit"]["code"] == 7 and ex["exit"]["signal"] == 0
    # never exec'd: the child is known as its parent's image
    assert ex["proc"]["exe"] == os.path.realpath(helper("forker"))
    assert ex["proc"]["ppid"] == info["pid"]


def test_death_by_signal(vigil):
    out = subprocess.run([helper("forker"), "signal", "9"], capture_output=True, check=True)
    info = json.loads(out.stdout)
    ex = vigil.wait_for(lambda e: e["type"] == "exit" and e["proc"]["pid"] == info["child"],
                        what="exit event")
    assert ex["exit"]["signal"] == 9 and ex["exit"]["code"] == 0


def test_thread_creation_is_flagged(vigil):
    out = subprocess.run([helper("forker"), "thread"], capture_output=True, check=True)
    info = json.loads(out.stdout)
    ev = vigil.wait_for(lambda e: e["type"] == "fork" and e["child"]["tid"] == info["thread_tid"],
                        what="thread fork event")
    assert ev["child"]["thread"] is True
    assert ev["child"]["pid"] == info["pid"]


def test_ppid_and_ancestry(vigil):
    marker = "ancestry-marker"
    pid_file = f"/tmp/vigil-e2e-{os.getpid()}.pid"
    outer = subprocess.Popen(["sh", "-c", f"sh -c 'echo $$ > {pid_file}; exec /bin/true {marker}'"])
    outer.wait()
    with open(pid_file) as f:
        inner = int(f.read())
    os.unlink(pid_file)
    ev = vigil.wait_exec(inner, ["/bin/true", marker])
    anc = ev["ancestry"]
    assert anc[0]["pid"] == outer.pid
    assert ev["proc"]["ppid"] == outer.pid
    assert anc[0]["exe"] == os.path.realpath("/bin/sh")
    assert anc[0]["args"][:2] == ["sh", "-c"]
    assert anc[1]["pid"] == os.getpid()


def test_process_started_before_vigil(vigil, prestarted):
    prestarted.send_signal(signal.SIGTERM)
    prestarted.wait()
    ev = vigil.wait_for(lambda e: e["type"] == "exit" and e["proc"]["pid"] == prestarted.pid,
                        what="exit of the process started before vigil")
    assert ev["proc"]["exe"] == os.path.realpath("/bin/sh")
    assert ev["proc"]["args"] == ["sh", "-c", "sleep 600", "vigil-prestarted"]
    assert ev["exit"]["signal"] == signal.SIGTERM


def test_container_exec_carries_container_id(vigil, busybox_image, workdir):
    cidfile = os.path.join(workdir, "cid")
    subprocess.run(PODMAN_RUN + ["--cidfile", cidfile, busybox_image,
                                 "/bin/sh", "-c", "/bin/true container-marker"], check=True)
    with open(cidfile) as f:
        cid = f.read().strip()
    ev = vigil.wait_for(lambda e: e["type"] == "exec" and
                        e["proc"]["args"] == ["/bin/true", "container-marker"],
                        what="exec inside the container")
    assert ev["container"]["id"] == cid[:12]
    assert ev["container"]["full_id"] == cid
    assert ev["container"]["runtime"] == "podman"
    # paths are the container's view of its own filesystem
    assert ev["proc"]["exe"] == "/bin/busybox"
    assert ev["exec"]["ns"]["pid"] != vigil.wait_exec(run(["/bin/true"]))["exec"]["ns"]["pid"]


FORGOTTEN_RULE = """
- rule: Forgotten container process exits
  desc: test rule
  condition: evt.type = procexit and container.runtime = podman and proc.ancestry_unknown = true
  output: "exit (container=%container.id ancestry_unknown=%proc.ancestry_unknown pid=%proc.pid)"
  priority: WARNING
"""


def release(fifo, timeout=10.0):
    """Writes a line to fifo once a reader has it open; False when none came in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO or time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
            continue
        os.write(fd, b"go\n")
        os.close(fd)
        return True


def test_container_identity_survives_a_full_process_table(busybox_image, workdir):
    """A container process the process table has forgotten (a tiny table, crowded
    by host processes) still reports its container, from its record's cgroup id."""
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        f.write(FORGOTTEN_RULE)
    # the event stream is what this test reads; its one rule fires on exit, which the
    # prefilter always sends, printed events or not
    v = Vigil(workdir, ["--proc-max", "64", "--rules", rules], events=True)
    crowd = []
    go = os.path.join(workdir, "go")
    os.mkfifo(go)
    try:
        cidfile = os.path.join(workdir, "cid")
        # the shell forks once (sleep 0), then waits on the FIFO without forking: it
        # exits when the test says, after the crowd below has filled the table, at any
        # pace (under emulation 150 processes take many seconds to start)
        subprocess.run(PODMAN_RUN + ["-d", "--cidfile", cidfile, "-v", f"{workdir}:/w",
                                     busybox_image, "/bin/sh", "-c",
                                     "sleep 0; read x < /w/go; exit 3"],
                       check=True, stdout=subprocess.DEVNULL)
        with open(cidfile) as f:
            cid = f.read().strip()
        shell = int(subprocess.run(PODMAN + ["inspect", "--format", "{{.State.Pid}}", cid],
                                   capture_output=True, text=True, check=True).stdout)
        # with 64 entries on a busy host the shell may be forgotten already
        first = v.wait_for(lambda e: e["type"] == "fork" and e["proc"]["pid"] == shell,
                           what="the container shell's first fork")
        assert first["container"]["id"] == cid[:12]
        # more live host processes than the table holds: the waiting shell is forgotten
        crowd = [subprocess.Popen(["sleep", "600"]) for _ in range(150)]
        v.wait_exec(crowd[-1].pid)
        assert release(go), "the container's shell never opened the FIFO"
        ev = v.wait_for(lambda e: e["type"] == "exit" and e["proc"]["pid"] == shell,
                        timeout=30, what="exit of the container's shell")
        assert ev["exit"]["code"] == 3
        assert ev["proc"]["exe"] is None, "the shell is no longer in the table"
        assert ev["container"]["id"] == cid[:12]
        assert ev["container"]["full_id"] == cid
        assert ev["container"]["runtime"] == "podman"
        assert ev["ancestry"] == [] and ev["ancestry_unknown"] is True
        # the rules see the same: container.* from the cgroup, ancestry unknown
        al = v.wait_alert(lambda a: a["output_fields"].get("proc.pid") == shell,
                          what="the forgotten container process's alert")
        assert al["output_fields"]["container.id"] == cid[:12]
        assert al["output_fields"]["proc.ancestry_unknown"] is True
        assert al["ancestry_unknown"] is True, "the alert itself says so"
        assert al["output"].endswith(f"(container={cid[:12]} ancestry_unknown=true pid={shell})")
        # every crowd process was tracked: its exec event names its image
        assert v.wait_exec(crowd[-1].pid)["proc"]["exe"] == \
            os.path.realpath(shutil.which("sleep"))
    finally:
        release(go, 0)
        for p in crowd:
            p.kill()
            p.wait()
        rc = v.stop()
    assert rc == 0, v.stderr()
    evicted_live = re.search(r"evicted_live=(\d+)", v.stderr())
    assert evicted_live and int(evicted_live.group(1)) > 0, v.stderr()


def test_not_root_is_a_clear_error():
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        VIGIL, "run"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "must run as root" in p.stderr


def test_bad_ring_buffer_size_is_a_clear_error():
    # the size is refused when the ring buffer is made: on an older kernel the refusal
    # of the kernel comes first
    skip_below_min_kernel()
    p = subprocess.run([VIGIL, "run", "--ringbuf-size", "12345"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "ring buffer size 12345" in p.stderr


def test_missing_btf_is_a_clear_error():
    p = subprocess.run([VIGIL, "run", "--btf", "/nonexistent/vmlinux.btf"], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 1
    assert "--btf /nonexistent/vmlinux.btf: No such file or directory" in p.stderr


def test_btf_file_is_used_for_core(tmp_path):
    skip_below_min_kernel()
    # the running kernel's BTF given as a file: CO-RE relocations resolve against it
    btf = tmp_path / "vmlinux.btf"
    btf.write_bytes(open("/sys/kernel/btf/vmlinux", "rb").read())
    v = subprocess.Popen([VIGIL, "run", "--no-rules", "--metrics-listen", "off",
                          "--control-socket", "", "--btf",
                          str(btf)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = v.stderr.readline()
    while line and "monitoring" not in line:
        line = v.stderr.readline()
    v.send_signal(signal.SIGINT)
    v.wait(timeout=20)
    assert "monitoring" in line and v.returncode == 0


def test_version_and_help():
    p = subprocess.run([VIGIL, "version"], capture_output=True, text=True, check=True)
    assert p.stdout.startswith("vigil ")
    p = subprocess.run([VIGIL, "--help"], capture_output=True, text=True, check=True)
    assert "usage: vigil" in p.stdout
    p = subprocess.run([VIGIL, "frobnicate"], capture_output=True, text=True)
    assert p.returncode == 2 and "unknown command 'frobnicate'" in p.stderr
