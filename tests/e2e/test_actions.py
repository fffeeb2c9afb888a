"""Rules that act: `actions: [kill]` carried out in the kernel where the rule's condition
lets the sensors decide it, from user space where it does not, never on an allowlisted
program, and only reported in monitor mode. Real binaries, real signals; the agents run
as deployed (events=False: the prefilter their rules derive)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading

import pytest

import conftest

RULES = """
- rule: test kill exec under bin
  desc: a program run from the test's bin directory
  condition: evt.type = execve and proc.exepath startswith {d}/bin/
  output: "test exec killed %proc.exepath"
  priority: CRITICAL
  actions: [kill]
- rule: test kill secret read
  desc: the protected file opened for reading
  condition: evt.type in (open, openat, openat2) and fd.name = {d}/secret and evt.is_open_read = true
  output: "test secret read by %proc.name"
  priority: CRITICAL
  actions: [kill]
- rule: test kill vault read but by the reader
  desc: an exception list of exe paths, decided in the kernel from the exe seen at exec
  condition: evt.type in (open, openat, openat2) and fd.name = {d}/vault and not proc.exepath in ({d}/tools/reader)
  output: "test vault read by %proc.exepath"
  priority: CRITICAL
  actions: [kill]
- rule: test kill parent read
  desc: the agent's parent (this test process) opening a file
  condition: evt.type in (open, openat, openat2) and fd.name = {d}/parent-file
  output: "test parent read by %proc.name"
  priority: CRITICAL
  actions: [kill]
- rule: test kill by cmdline
  desc: user space decides this one (contains)
  condition: evt.type = execve and proc.cmdline contains zz-vigil-kill-mark
  output: "test cmdline kill %proc.cmdline"
  priority: CRITICAL
  actions: [kill]
"""

QUIET = """
- rule: test quiet
  desc: no actions
  condition: evt.type = execve and proc.exepath startswith {d}/bin/
  output: "test exec seen %proc.exepath"
  priority: CRITICAL
"""


def _setup(d):
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "bin"))
    for name in ("evil", "allowed"):
        shutil.copy("/bin/touch", os.path.join(d, "bin", name))
    os.makedirs(os.path.join(d, "tools"))
    shutil.copy("/bin/cat", os.path.join(d, "tools", "reader"))
    os.symlink(os.path.join(d, "tools", "reader"), os.path.join(d, "bin", "reader"))
    with open(os.path.join(d, "vault"), "w") as f:
        f.write("vault\n")
    with open(os.path.join(d, "secret"), "w") as f:
        f.write("the secret\n")
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(d=d))
    os.chmod(rules, 0o644)
    cfg = os.path.join(d, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"actions:\n  allow_exe: [{d}/bin/allowed]\n")
    return rules, cfg


def _start(d, *extra):
    rules, cfg = _setup(d)
    return conftest.Vigil(d, ["--config", cfg, "--rules", rules, *extra], events=False)


@pytest.fixture(scope="module")
def enforcing():
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-act-", dir="/var/tmp")
    v = _start(d)
    yield v, d
    rc = v.stop()
    shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


def _lsm_in_use(v):
    """Whether the agent runs its BPF-LSM programs (Debian's 6.1 and 6.12 do; this host's
    kernel refuses them)."""
    err = v.stderr()
    m = re.search(r"kernel features:.* lsm (yes|no)", err)
    assert m, err
    return m.group(1) == "yes" and "BPF-LSM programs are not loaded" not in err


def _action(v, rule, pred, what, upgraded=True):
    """The rule's kill action. Where the agent runs BPF LSM, a kill rule the kernel decides
    on an open or an exec is upgraded (docs/ACTIONS.md): the call is refused as well, and
    the alert carries that deny after the kill, taken or not for the same reason."""
    al = v.wait_alert(lambda a: a["rule"] == rule and pred(a), what=what)
    acts = al["actions"]
    if upgraded and _lsm_in_use(v):
        assert [a["kind"] for a in acts] == ["kill", "deny"], al
        kill, deny = acts
        assert (deny["taken"], deny["where"], deny.get("reason")) == \
            (kill["taken"], kill["where"], kill.get("reason")), al
    else:
        assert len(acts) == 1, al
    return acts[0]


def test_exec_is_killed_in_the_kernel_before_the_image_runs(enforcing):
    v, d = enforcing
    marker = os.path.join(d, "marker-exec")
    r = subprocess.run([os.path.join(d, "bin", "evil"), marker])
    assert r.returncode == -signal.SIGKILL
    assert not os.path.exists(marker), "the killed image ran and made its marker"
    act = _action(v, "test kill exec under bin",
                  lambda a: a["output_fields"]["proc.exepath"].endswith("/bin/evil"), "exec kill")
    assert act["kind"] == "kill" and act["taken"] is True and act["where"] == "kernel", act
    assert act["latency_us"] >= 0


def test_a_renamed_copy_is_killed_too(enforcing):
    v, d = enforcing
    other = os.path.join(d, "bin", "renamed-evil")
    shutil.copy("/bin/touch", other)
    marker = os.path.join(d, "marker-renamed")
    r = subprocess.run([other, marker])
    assert r.returncode == -signal.SIGKILL and not os.path.exists(marker)


def test_allowlisted_exe_is_never_acted_on(enforcing):
    v, d = enforcing
    marker = os.path.join(d, "marker-allowed")
    r = subprocess.run([os.path.join(d, "bin", "allowed"), marker])
    assert r.returncode == 0 and os.path.exists(marker)
    act = _action(v, "test kill exec under bin",
                  lambda a: a["output_fields"]["proc.exepath"].endswith("/bin/allowed"),
                  "allowlisted exec alert")
    assert act["taken"] is False and act["reason"] == "allowlisted", act


def test_the_agents_parent_is_never_acted_on(enforcing):
    v, d = enforcing
    # this process started the agent: a rule matching what it does alerts, never kills
    with open(os.path.join(d, "parent-file"), "w") as f:
        f.write("x")
    act = _action(v, "test kill parent read", lambda a: True, "parent open alert")
    assert act["taken"] is False and act["reason"] == "vigil or its parent", act
    assert act["where"] == "kernel"


def test_reading_the_protected_file_dies_before_a_byte_is_read(enforcing):
    v, d = enforcing
    r = subprocess.run(["cat", os.path.join(d, "secret")], capture_output=True)
    assert r.returncode == -signal.SIGKILL
    assert r.stdout == b""
    act = _action(v, "test kill secret read", lambda a: a["output_fields"]["proc.name"] == "cat",
                  "open kill")
    assert act["taken"] is True and act["where"] == "kernel", act


def test_a_relative_path_to_the_protected_file_is_killed_as_well(enforcing):
    v, d = enforcing
    r = subprocess.run(["head", "-c1", "./bin/../secret"], cwd=d, capture_output=True)
    assert r.returncode == -signal.SIGKILL and r.stdout == b""


@pytest.mark.parametrize("mode", [[], ["--async"], ["--sqpoll"]],
                         ids=["inline", "io-wq", "sqpoll"])
def test_an_io_uring_open_of_the_protected_file_is_killed_too(enforcing, mode):
    v, d = enforcing
    r = subprocess.run([conftest.helper("uring_probe"), *mode, "open",
                        os.path.join(d, "secret"), "0", "0"], capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stdout + r.stderr
    assert '"op": "open"' not in r.stdout, "the open completed and was reported to the process"


def test_an_exe_exception_is_decided_in_the_kernel(enforcing):
    v, d = enforcing
    vault = os.path.join(d, "vault")
    r = subprocess.run(["cat", vault], capture_output=True)
    assert r.returncode == -signal.SIGKILL and r.stdout == b""
    act = _action(v, "test kill vault read but by the reader",
                  lambda a: a["output_fields"]["proc.exepath"] == "/usr/bin/cat", "vault kill")
    assert act["taken"] is True and act["where"] == "kernel", act
    # the excepted program, even run through a symlink: the exe is the resolved file
    r = subprocess.run([os.path.join(d, "bin", "reader"), vault], capture_output=True)
    assert r.returncode == 0 and r.stdout == b"vault\n"


def test_writing_is_not_reading(enforcing):
    v, d = enforcing
    with open(os.path.join(d, "secret"), "a") as f:  # O_WRONLY: not a read
        f.write("more\n")


def test_a_rule_the_kernel_cannot_decide_kills_from_user_space(enforcing):
    v, d = enforcing
    # a program that takes the mark as an argument and would wait 30 s (sleep would
    # reject the mark and exit at once, racing the kill)
    p = subprocess.Popen(["python3", "-c", "import time; time.sleep(30)", "zz-vigil-kill-mark"])
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("the process was not killed")
    assert rc == -signal.SIGKILL
    act = _action(v, "test kill by cmdline",
                  lambda a: "zz-vigil-kill-mark" in a["output_fields"]["proc.cmdline"],
                  "user-space kill", upgraded=False)
    assert act["taken"] is True and act["where"] == "user", act


def test_rules_list_says_where_each_rule_acts(enforcing):
    v, d = enforcing
    out = subprocess.run([conftest.VIGIL, "rules", "list", os.path.join(d, "rules.yaml")],
                         capture_output=True, text=True, check=True).stdout
    assert "test kill exec under bin: kill in kernel" in out
    assert "test kill by cmdline: kill in user ('contains' on proc.cmdline)" in out


def test_actions_verb_lists_what_was_done(enforcing):
    v, d = enforcing
    subprocess.run([os.path.join(d, "bin", "evil"), os.path.join(d, "m2")])
    v.wait_alert(lambda a: a["rule"] == "test kill exec under bin", what="exec kill")
    out = subprocess.run([conftest.VIGIL, "actions", "50", "--json", "--socket",
                          v.control_socket], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"kind":"kill"' in out.stdout and '"where":"kernel"' in out.stdout
    st = subprocess.run([conftest.VIGIL, "status", "--json", "--socket", v.control_socket],
                        capture_output=True, text=True)
    assert st.returncode == 0, st.stderr
    enf = json.loads(st.stdout)["enforcement"]
    assert st.returncode == 0 and json.loads(st.stdout)["mode"] == "enforce"
    assert enf["in_kernel"] == 4 and enf["in_user_space"] == 1, enf
    assert enf["kill_taken"] >= 1
    where = {r["rule"]: r["where"] for r in enf["rules"]}
    assert where["test kill by cmdline"].startswith("user (")


def test_monitor_mode_acts_on_nothing_and_says_what_it_would_have_done():
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-mon-", dir="/var/tmp")
    v = _start(d, "--mode", "monitor")
    try:
        marker = os.path.join(d, "marker-mon")
        r = subprocess.run([os.path.join(d, "bin", "evil"), marker])
        assert r.returncode == 0 and os.path.exists(marker)
        r = subprocess.run(["cat", os.path.join(d, "secret")], capture_output=True)
        assert r.returncode == 0 and r.stdout == b"the secret\n"
        act = _action(v, "test kill exec under bin", lambda a: True, "monitor exec alert")
        assert act["taken"] is False and act["reason"] == "monitor mode", act
        act = _action(v, "test kill secret read", lambda a: True, "monitor open alert")
        assert act["taken"] is False and act["reason"] == "monitor mode", act
    finally:
        v.stop()
        shutil.rmtree(d, ignore_errors=True)


def _reload(v):
    r = subprocess.run([conftest.VIGIL, "reload", "--socket", v.control_socket],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reload_from_a_kill_rule_to_none_and_200_reloads_never_let_it_run():
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-rel-", dir="/var/tmp")
    v = _start(d)
    rules = os.path.join(d, "rules.yaml")
    evil = os.path.join(d, "bin", "evil")
    try:
        # 200 reloads of a file that keeps the kill rule while the binary runs in a loop
        stop = threading.Event()
        ran = []
        tries = [0]

        def hammer():
            while not stop.is_set():
                marker = os.path.join(d, "marker-loop")
                r = subprocess.run([evil, marker])
                tries[0] += 1
                if r.returncode != -signal.SIGKILL or os.path.exists(marker):
                    ran.append(r.returncode)

        t = threading.Thread(target=hammer)
        t.start()
        try:
            for _ in range(200):
                os.utime(rules)
                _reload(v)
        finally:
            stop.set()
            t.join()
        assert tries[0] > 0
        assert ran == [], f"the protected binary ran {len(ran)} times out of {tries[0]}"

        # a deny no kernel can carry out (no hook refuses setuid): refused at its place,
        # the old rules stay
        with open(rules + ".new", "w") as f:
            f.write(QUIET.format(d=d).replace("evt.type = execve", "evt.type = setuid")
                    + "  actions: [deny]\n")
        os.chmod(rules + ".new", 0o644)
        os.rename(rules + ".new", rules)
        r = subprocess.run([conftest.VIGIL, "reload", "--socket", v.control_socket],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"{rules}:7:13: error: rule 'test quiet': deny is not possible for setuid on " \
               "this kernel: use kill" in r.stdout + r.stderr
        r = subprocess.run([evil, os.path.join(d, "marker-refused")])
        assert r.returncode == -signal.SIGKILL, "the old kill rule is no longer in force"

        # the same rule without actions: it runs again, with no restart
        with open(rules + ".new", "w") as f:
            f.write(QUIET.format(d=d))
        os.chmod(rules + ".new", 0o644)
        os.rename(rules + ".new", rules)
        _reload(v)
        marker = os.path.join(d, "marker-after")
        r = subprocess.run([evil, marker])
        assert r.returncode == 0 and os.path.exists(marker)
    finally:
        v.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_a_rule_file_others_can_write_is_refused():
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-ww-", dir="/var/tmp")
    try:
        rules, cfg = _setup(d)
        os.chmod(rules, 0o666)
        r = subprocess.run([conftest.VIGIL, "run", "--rules", rules, "--metrics-listen", "off",
                            "--control-socket", ""], capture_output=True, text=True, timeout=120)
        assert r.returncode != 0
        assert "writable by group or others" in r.stderr and rules in r.stderr
    finally:
        shutil.rmtree(d, ignore_errors=True)
