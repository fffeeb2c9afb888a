"""Deny rules at BPF-LSM hooks: the call fails with EPERM before it happens (an open, an
exec, ptrace, mount, bpf(), a module load), kill rules of those calls are upgraded to
refuse and kill, and every alert says what was done. One agent, as deployed (its rules'
own prefilter), for the whole module: in an emulated guest it takes minutes to load.

Where the kernel runs BPF LSM programs (Debian's 6.1 and 6.12 under `make
test-kernels`) the deny tests run; where it refuses them (this host's 6.18) they are
not applicable, and the fallback is tested instead: the deny rule kills, with a notice,
and its alert says why the deny was not given. A kernel that lists bpf among its LSMs
but whose programs vigil did not load fails, it is not skipped."""
import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import conftest
from conftest import Vigil, helper

OPENS = "evt.type in (open, openat, openat2, creat)"

RULES = """
- rule: lsm deny keys
  desc: the keys directory, read or write, whatever the path's spelling
  condition: {opens} and fd.name startswith {d}/keys/
  output: "denied open of %fd.name by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny writes to ro
  desc: a file that may be read, not written
  condition: {opens} and fd.name = {d}/ro and evt.is_open_write = true
  output: "denied write open of %fd.name by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny io_uring opener
  desc: a file one program may not open, tested by its name
  condition: {opens} and fd.name = {d}/uring-file and proc.name = uring_probe
  output: "denied open of %fd.name by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny by name
  desc: a file name, in any directory
  condition: {opens} and fd.filename = lsm-leaf-secret
  output: "denied open of %fd.name by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny by inode
  desc: one file, under any of its names (hard links)
  condition: {opens} and fd.ino = {ino}
  output: "denied open of %fd.name (inode %fd.ino) by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm watch
  desc: a deny rule in monitor mode
  condition: {opens} and fd.name = {d}/watched
  output: "would deny open of %fd.name by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
  mode: monitor
- rule: lsm deny exec
  desc: programs under bin
  condition: evt.type = execve and proc.exepath startswith {d}/bin/
  output: "denied exec of %proc.exepath as %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm kill exec
  desc: programs under kbin, kill upgraded
  condition: evt.type = execve and proc.exepath startswith {d}/kbin/
  output: "refused and killed exec of %proc.exepath (%evt.res)"
  priority: CRITICAL
  actions: [kill]
- rule: lsm deny ptrace
  desc: the test's tracer
  condition: evt.type = ptrace and proc.name = lsm-priv
  output: "denied ptrace by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny mount
  desc: the test's mounter
  condition: evt.type = mount and proc.name = lsm-priv
  output: "denied mount by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny bpf
  desc: the test's bpf() caller
  condition: evt.type = bpf and proc.name = lsm-priv
  output: "denied bpf by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
- rule: lsm deny module
  desc: the test's module loader
  condition: evt.type in (init_module, finit_module) and proc.name = lsm-priv
  output: "denied module load by %proc.name (%evt.res)"
  priority: CRITICAL
  actions: [deny]
"""


def kernel_lists_bpf_lsm():
    try:
        with open("/sys/kernel/security/lsm") as f:
            return "bpf" in f.read().split(",")
    except OSError:
        return False


@pytest.fixture(scope="module")
def lsm(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("lsm"))
    os.chmod(d, 0o755)
    for sub in ("keys", "bin", "kbin", "other"):
        os.makedirs(os.path.join(d, sub))
    for name, text in (("keys/k", "topsecret\n"), ("ro", "read me\n"), ("uring-file", "u\n"),
                       ("watched", "w\n"), ("other/plain", "plain\n"),
                       ("other/lsm-leaf-secret", "leaf\n"), ("other/lsm-leaf-secret2", "near\n"),
                       ("inode-file", "by inode\n")):
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    shutil.copy("/bin/true", os.path.join(d, "bin", "t"))
    shutil.copy("/bin/true", os.path.join(d, "kbin", "x"))
    shutil.copy(helper("priv_probe"), os.path.join(d, "other", "lsm-priv"))
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(d=d, opens=OPENS, ino=os.stat(os.path.join(d, "inode-file")).st_ino))
    v = Vigil(d, ["--rules", rules], events=False)
    err = v.stderr()
    m = re.search(r"kernel features:.* lsm (yes|no)", err)
    assert m, err
    v.has_lsm = m.group(1) == "yes" and "BPF-LSM programs are not loaded" not in err
    v.d = d
    yield v
    v.stop()


@pytest.fixture
def with_lsm(lsm):
    if not lsm.has_lsm:
        assert not kernel_lists_bpf_lsm(), \
            "the kernel lists bpf among its LSMs, yet vigil did not load its BPF-LSM " \
            "programs:\n" + lsm.stderr()
        pytest.skip("this kernel does not run BPF LSM programs: the deny tests are for "
                    "kernels that do (make test-kernels); the fallback is tested here")
    return lsm


def run(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, **kw)


def probe_json(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def action(al, kind):
    return next((a for a in al["actions"] if a["kind"] == kind), None)


def alert_for(v, rule, pred=lambda al: True, what=None):
    return v.wait_alert(lambda al: al["rule"] == rule and pred(al), timeout=30,
                        what=what or rule)


def assert_denied(al):
    a = action(al, "deny")
    assert a and a["taken"] is True and a["where"] == "kernel", al
    assert al["output_fields"]["evt.res"] == "EPERM", al


def test_denied_open_returns_eperm_and_leaves_the_file_untouched(with_lsm):
    v, d = with_lsm, with_lsm.d
    key = os.path.join(d, "keys", "k")
    p = run("cat", key)
    assert p.returncode == 1 and "Operation not permitted" in p.stderr, p
    # O_WRONLY | O_TRUNC: the hook runs before the truncation
    p = run(helper("file_probe"), "open", key, str(os.O_WRONLY | os.O_TRUNC), "0")
    r = probe_json(p)[0]
    assert r["ret"] == -1 and r["errno"] == errno.EPERM, p.stdout
    with open(key) as f:  # the test itself is allowlisted: vigil's parent chain
        assert f.read() == "topsecret\n"
    assert os.stat(key).st_size == len("topsecret\n")
    al = alert_for(v, "lsm deny keys", lambda al: al["output_fields"]["proc.name"] == "cat")
    assert_denied(al)
    assert al["output_fields"]["fd.name"] == key


def test_every_spelling_and_call_of_the_path_is_refused(with_lsm):
    d = with_lsm.d
    key = os.path.join(d, "keys", "k")
    link = os.path.join(d, "other", "link")
    os.symlink(key, link)
    cases = [
        ("open", [key, "0", "0"]),
        ("openat", [os.path.join(d, "keys"), "k", "0"]),
        ("openat2", [d, "other/../keys/k", "0"]),
        ("openat", ["-", link, "0"]),  # a symlink elsewhere
        ("creat", [key, "0644"]),
    ]
    for call, args in cases:
        p = run(helper("file_probe"), call, *args, cwd=d)
        r = probe_json(p)[0]
        assert r["ret"] == -1 and r["errno"] == errno.EPERM, (call, args, p.stdout, p.stderr)
    # a relative name from inside the directory
    p = run(helper("file_probe"), "open", "k", "0", "0", cwd=os.path.join(d, "keys"))
    assert probe_json(p)[0]["errno"] == errno.EPERM, p.stdout
    # a near miss: the file next door opens
    p = run("cat", os.path.join(d, "other", "plain"))
    assert p.returncode == 0 and p.stdout == "plain\n", p


def test_a_file_name_and_an_inode_are_refused_under_any_path(with_lsm):
    """fd.filename and fd.ino are the file's own: a copy of the name elsewhere, and a hard
    link to the inode under another name, are refused too."""
    v, d = with_lsm, with_lsm.d
    elsewhere = os.path.join(d, "bin", "lsm-leaf-secret")
    with open(elsewhere, "w") as f:
        f.write("x\n")
    for path in (os.path.join(d, "other", "lsm-leaf-secret"), elsewhere):
        p = run("cat", path)
        assert p.returncode == 1 and "Operation not permitted" in p.stderr, (path, p)
    assert run("cat", os.path.join(d, "other", "lsm-leaf-secret2")).stdout == "near\n"
    # (the test itself, which wrote the copy, is vigil's parent: never refused)
    assert_denied(alert_for(v, "lsm deny by name",
                            lambda al: al["output_fields"]["proc.name"] == "cat"))
    target = os.path.join(d, "inode-file")
    hard = os.path.join(d, "other", "hard-link")
    os.link(target, hard)
    for path in (target, hard):
        p = run("cat", path)
        assert p.returncode == 1 and "Operation not permitted" in p.stderr, (path, p)
    al = alert_for(v, "lsm deny by inode", lambda al: al["output_fields"]["fd.name"] == hard)
    assert_denied(al)
    assert al["output_fields"]["fd.ino"] == os.stat(target).st_ino


def test_read_allowed_write_refused(with_lsm):
    v, d = with_lsm, with_lsm.d
    ro = os.path.join(d, "ro")
    p = run("cat", ro)
    assert p.returncode == 0 and p.stdout == "read me\n", p
    p = run(helper("file_probe"), "open", ro, str(os.O_RDWR), "0")
    assert probe_json(p)[0]["errno"] == errno.EPERM, p.stdout
    assert_denied(alert_for(v, "lsm deny writes to ro"))
    with open(ro) as f:
        assert f.read() == "read me\n"


@pytest.mark.parametrize("mode", [[], ["--async"]], ids=["inline", "io-wq"])
def test_io_uring_open_is_refused_and_named(with_lsm, mode):
    """The hook is below io_uring: an open submitted through the ring is refused, run
    inline or by a kernel worker thread, and a proc.name test sees the process's name,
    not the worker's (iou-wrk-N)."""
    v, d = with_lsm, with_lsm.d
    target = os.path.join(d, "uring-file")
    p = run(helper("uring_probe"), *mode, "open", target, "0", "0")
    reps = probe_json(p)
    assert reps and reps[0]["op"] == "open" and reps[0]["ret"] == -errno.EPERM, p.stdout
    al = alert_for(v, "lsm deny io_uring opener",
                   lambda al: al["output_fields"]["proc.name"] == "uring_probe")
    assert_denied(al)
    assert al["output_fields"]["fd.name"] == target
    # another program opens it freely
    assert run("cat", target).stdout == "u\n"


def test_monitor_mode_opens_and_says_what_it_would_have_done(with_lsm):
    v, d = with_lsm, with_lsm.d
    p = run("cat", os.path.join(d, "watched"))
    assert p.returncode == 0 and p.stdout == "w\n", p
    al = alert_for(v, "lsm watch")
    a = action(al, "deny")
    assert a["taken"] is False and a["reason"] == "monitor mode", al


def test_denied_exec_returns_eperm_and_the_caller_goes_on(with_lsm):
    v, d = with_lsm, with_lsm.d
    prog = os.path.join(d, "bin", "t")
    with pytest.raises(PermissionError) as e:
        subprocess.run([prog], timeout=30)
    assert e.value.errno == errno.EPERM
    # through a symlink, and as a script's interpreter
    link = os.path.join(d, "other", "t-link")
    os.symlink(prog, link)
    script = os.path.join(d, "other", "script")
    with open(script, "w") as f:
        f.write(f"#!{prog}\n")
    os.chmod(script, 0o755)
    for path in (link, script):
        p = run("sh", "-c", f"{path}; echo rc=$?")
        assert "rc=126" in p.stdout and "Operation not permitted" in p.stderr, (path, p)
    al = alert_for(v, "lsm deny exec")
    assert_denied(al)
    assert al["output_fields"]["proc.exepath"] == prog
    assert al["output_fields"]["proc.name"] == "t"


def test_kill_rule_is_upgraded_to_refuse_and_kill(with_lsm):
    v, d = with_lsm, with_lsm.d
    prog = os.path.join(d, "kbin", "x")
    p = run("sh", "-c", f"exec {prog}")
    assert p.returncode == -signal.SIGKILL, p
    al = alert_for(v, "lsm kill exec")
    k, dn = action(al, "kill"), action(al, "deny")
    assert k and k["taken"] is True and k["where"] == "kernel", al
    assert dn and dn["taken"] is True and dn["where"] == "kernel", al
    assert al["output_fields"]["evt.res"] == "EPERM", al


def test_ptrace_mount_bpf_and_module_loads_are_refused(with_lsm, tmp_path):
    v, d = with_lsm, with_lsm.d
    priv = os.path.join(d, "other", "lsm-priv")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    notmod = tmp_path / "not-a-module"
    notmod.write_bytes(b"\0" * 64)
    ops = {}
    for args in (["ptrace"], ["mount", str(mnt)], ["bpf"], ["module", str(notmod)]):
        for o in probe_json(run(priv, *args)):
            ops.setdefault(o["op"], o)
    # the probe's first mount is the remount that makes its namespace private
    assert "mount_private" in ops and "mount" not in ops, ops
    for op in ("ptrace_attach", "ptrace_seize", "mount_private", "bpf_map_create",
               "finit_module", "init_module"):
        assert ops[op]["ret"] == -errno.EPERM, (op, ops[op])
    for rule in ("lsm deny ptrace", "lsm deny mount", "lsm deny bpf", "lsm deny module"):
        assert_denied(alert_for(v, rule))


def test_without_bpf_lsm_a_deny_kills_and_says_why(lsm):
    """Where the kernel refuses BPF LSM: one notice at start, each such deny rule named
    with its fallback, and the process killed at the open's exit."""
    v, d = lsm, lsm.d
    if v.has_lsm:
        pytest.skip("this kernel runs BPF LSM programs: the deny tests cover it")
    err = v.stderr()
    assert len(re.findall(r"vigil: notice: \d+ BPF-LSM programs are not loaded", err)) == 1
    assert re.search(r"notice: rule 'lsm deny keys': deny of \w+ needs a BPF-LSM hook, and "
                     r"there is no BPF-LSM hook here \(.*\): killed instead", err), err
    p = run("cat", os.path.join(d, "keys", "k"))
    assert p.returncode == -signal.SIGKILL, p
    al = alert_for(v, "lsm deny keys")
    k, dn = action(al, "kill"), action(al, "deny")
    assert k["taken"] is True and k["where"] == "kernel", al
    assert dn["taken"] is False and dn["reason"].startswith("no BPF-LSM hook here"), al
