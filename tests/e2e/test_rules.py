"""The default ruleset (rules/vigil_rules.yaml, built into vigil) end to end.

For every rule: a real action on this machine that makes it fire (the alert's rule
name and a key output field are checked) and a near miss that must not. Actions are
harmless: they work in temporary directories, restore whatever they touch below
/etc, /root and /home, fail when failing is enough (a refused setuid, a mount a
container may not make), and only ever talk to loopback.

A near miss is checked after a barrier: an action whose alert comes after the near
miss's event in the stream, so when the barrier's alert is in, the near miss has
been evaluated.

Then, with `vigil run` printing alerts only (so the kernel prefilter is the one
derived from the rules), actions of each kind still reach their rules. (Ordinary work
raising nothing is test_benign.py's.)
"""
import base64
import ctypes
import errno
import glob
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

import conftest
from conftest import PODMAN_RUN, REPO, VIGIL, helper
from test_dns import dig_pid, zone  # noqa: F401 - zone: dnsmasq on a loopback address

RULES_FILE = os.path.join(REPO, "rules", "vigil_rules.yaml")
NOBODY = 65534

# rule names whose firing a test has seen; the last test checks none was left out
FIRED = set()


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rv(tmp_path_factory):
    """One vigil with the built-in rules for the whole module, as deployed: alerts only,
    under the kernel prefilter derived from the rules (no event printing to widen it)."""
    conftest._check_can_run()
    v = conftest.Vigil(str(tmp_path_factory.mktemp("vigil-rules")), [], events=False)
    yield v
    rc = v.stop()
    assert rc == 0, "vigil did not stop cleanly:\n" + v.stderr()


@pytest.fixture(scope="module")
def home():
    """A throwaway home directory below /home, where the ~/ rules look."""
    d = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/home")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture()
def vartmp():
    """A directory on the root file system (hard links to /etc need one)."""
    d = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/var/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def nonce():
    return "vigil-e2e-" + uuid.uuid4().hex[:10]


def run(cmd, check=True, **kw):
    """Runs cmd to completion; returns (pid, stdout)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    out, err = p.communicate(timeout=120)
    if check:
        assert p.returncode == 0, f"{cmd} exited {p.returncode}: {err.decode()}"
    return p.pid, out.decode()


def probe(*args, exe=None, check=True, **kw):
    """Runs rule_probe (or a copy of it at exe); returns its JSON reports."""
    _, out = run([exe or helper("rule_probe"), *args], check=check, **kw)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def copy_exe(src, dst):
    shutil.copy(src, dst)
    os.chmod(dst, 0o755)
    return dst


def script(path, body):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\nexit 0\n")
    os.chmod(path, 0o755)
    return path


def write_file(path, data=b"", flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC):
    fd = os.open(path, flags, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def of(alert, field):
    return alert["output_fields"].get(field)


def field_name(key):
    """fd_name -> fd.name, evt_arg_dir -> evt.arg.dir."""
    return key.replace("evt_arg_", "evt.arg.").replace("_", ".", 1)


def is_rule(rule, **fields):
    """A predicate on alerts: this rule, and each output field equal to the value given
    (keys name fields with _ for ., see field_name)."""
    want = {field_name(k): v for k, v in fields.items()}

    def pred(a):
        return a["rule"] == rule and all(of(a, k) == v for k, v in want.items())
    return pred


def fired(v, rule, pred=None, timeout=15.0, **fields):
    """Waits for an alert of rule (matching fields and pred); returns it."""
    base = is_rule(rule, **fields)
    a = v.wait_alert(lambda a: base(a) and (pred is None or pred(a)), timeout,
                     f"alert '{rule}' {fields}")
    FIRED.add(rule)
    return a


def barrier(v):
    """Returns once everything before it was evaluated: a search for a private key
    pattern alerts, and events are evaluated in order."""
    token = nonce()
    pid, _ = run(["grep", "-q", "PRIVATE KEY " + token, "/dev/null"], check=False)
    fired(v, "Search for private keys or credentials", proc_pid=pid)
    time.sleep(0.3)


def not_fired(v, rule, pred=None, **fields):
    """After a barrier, no alert of rule matches fields and pred."""
    barrier(v)
    base = is_rule(rule, **fields)
    bad = [a for a in v.alerts() if base(a) and (pred is None or pred(a))]
    assert not bad, f"near miss raised '{rule}': {bad[0]['output']}"


class EtcFile:
    """A file created for a test below a system directory, removed afterwards with
    the directories made for it."""

    def __init__(self, directory, name):
        self.made = []
        d = directory
        while not os.path.isdir(d):
            self.made.insert(0, d)
            d = os.path.dirname(d)
        for d in self.made:
            os.mkdir(d, 0o755)
        self.path = os.path.join(directory, name)

    def close(self):
        if os.path.lexists(self.path):
            os.unlink(self.path)
        for d in reversed(self.made):
            os.rmdir(d)


@pytest.fixture()
def etc_file():
    made = []

    def make(directory, name=None):
        f = EtcFile(directory, name or nonce())
        made.append(f)
        return f.path
    yield make
    for f in made:
        f.close()


# ---------------------------------------------------------------------------
# the ruleset itself
# ---------------------------------------------------------------------------

def rules_listing(*files):
    out = subprocess.run([VIGIL, "rules", "list", *files], check=True,
                         stdout=subprocess.PIPE).stdout.decode()
    rules, cur = {}, None
    for line in out.splitlines():
        if not line.startswith(" "):
            cur = rules[line] = {}
        elif line.strip().startswith("priority:"):
            cur["priority"] = line.split(":", 1)[1].strip()
        elif line.strip().startswith("tags:"):
            cur["tags"] = line.split(":", 1)[1].split()
    return rules


def test_rules_check_is_clean():
    p = subprocess.run([VIGIL, "rules", "check", RULES_FILE], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    assert p.returncode == 0, p.stdout.decode()
    assert b"warning" not in p.stdout.lower(), p.stdout.decode()


def test_rules_check_warns_of_names_longer_than_a_comm(tmp_path):
    """A proc.name literal longer than the 15-byte comm cannot match: `rules check` says
    where (the default ruleset has none, see test_rules_check_is_clean)."""
    path = tmp_path / "long.yaml"
    path.write_text("- rule: r\n  desc: d\n"
                    "  condition: evt.type = openat and not proc.name = systemd-tmpfiles\n"
                    "  output: o\n  priority: INFO\n")
    p = subprocess.run([VIGIL, "rules", "check", str(path)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert f"{path}:3:52: warning: rule 'r': proc.name is the task comm" in out, out
    assert "'systemd-tmpfiles' (16 bytes)" in out and "proc.exepath" in out, out


def test_rules_with_actions_are_refused(tmp_path):
    """An `actions:` key is typed, and an action given wrong (a block of a field that is no
    IP address) or that cannot be carried out for these events on any kernel (deny of
    setuid: no hook of vigil's refuses it) is a load error at file:line:col, for `rules
    check` and for `run` alike."""
    head = ("- rule: r\n  desc: d\n  condition: evt.type = setuid and proc.name = x\n"
            "  output: o\n  priority: WARNING\n")
    cases = [
        ("  actions: [kill, {block: true}]\n",
         ":6:27: error: rule 'r': parameters of action 'block' must be a mapping"),
        ("  actions: [{block: {address: proc.name}}]\n",
         ":6:13: error: rule 'r': block address 'proc.name' is not an IP address field"),
        ("  actions: [deny]\n",
         ":6:13: error: rule 'r': deny is not possible for setuid on this kernel: use kill"),
        ("  actions:\n    - nuke\n", ":7:7: error: rule 'r': unknown action 'nuke'"),
    ]
    for i, (actions, want) in enumerate(cases):
        path = str(tmp_path / f"actions{i}.yaml")
        with open(path, "w") as f:
            f.write(head + actions)
        p = subprocess.run([VIGIL, "rules", "check", path], capture_output=True, text=True)
        assert p.returncode == 1 and path + want in p.stdout + p.stderr, p.stdout + p.stderr
    p = subprocess.run([VIGIL, "run", "--rules", path], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 1 and path + want in p.stderr, p.stderr


def test_builtin_rules_are_the_file():
    assert rules_listing() == rules_listing(RULES_FILE), \
        "build/vigil embeds an older rules/vigil_rules.yaml: rebuild it (make)"


def test_every_rule_has_a_mitre_tag_and_priority():
    rules = rules_listing(RULES_FILE)
    assert len(rules) >= 40
    for name, r in rules.items():
        tags = r.get("tags", [])
        assert any(t.startswith("mitre_") for t in tags), f"{name}: no mitre_ tactic tag"
        assert any(t[0] == "T" and t[1:5].isdigit() for t in tags), f"{name}: no technique"
        assert r.get("priority"), name


TECHNIQUE = re.compile(r"T\d{4}(\.\d{3})?$")


def coverage_table():
    """The rows of docs/RULES.md's "ATT&CK coverage" table: (technique, rule, test),
    test as FILE::FUNCTION."""
    with open(os.path.join(REPO, "docs", "RULES.md")) as f:
        text = f.read()
    section = text.split("\n## ATT&CK coverage\n", 1)
    assert len(section) == 2, "docs/RULES.md has no '## ATT&CK coverage' section"
    rows = []
    for line in section[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and TECHNIQUE.match(cells[0]):
            rows.append(tuple(cells))
    return rows


def test_coverage_table_names_every_technique_of_every_rule_and_a_real_test():
    rules = rules_listing(RULES_FILE)
    rows = coverage_table()
    here = os.path.dirname(os.path.abspath(__file__))
    for technique, rule, test in rows:
        assert rule in rules, f"coverage table: '{rule}' is not a default rule"
        assert technique in rules[rule].get("tags", []), \
            f"coverage table: '{rule}' is not tagged {technique}"
        path, _, func = test.partition("::")
        with open(os.path.join(here, path)) as f:
            assert re.search(rf"^def {re.escape(func)}\(", f.read(), re.M), \
                f"coverage table: {test} does not exist"
    # the counts at the top of the page
    with open(os.path.join(REPO, "docs", "RULES.md")) as f:
        text = f.read()
    assert re.search(rf"^{len(rules)} rules\. ", text, re.M), \
        f"docs/RULES.md does not say {len(rules)} rules"
    prios = [r["priority"].lower() for r in rules.values()]
    said = re.search(r"^Priorities: (\d+) critical, (\d+) error, (\d+) warning, (\d+) notice",
                     text, re.M)
    assert said and [int(x) for x in said.groups()] == \
        [prios.count(p) for p in ("critical", "error", "warning", "notice")], \
        "docs/RULES.md's priority counts are not the rules'"
    listed = {(t, r) for t, r, _ in rows}
    missing = [(t, name) for name, r in rules.items() for t in r.get("tags", [])
               if TECHNIQUE.match(t) and (t, name) not in listed]
    assert not missing, f"coverage table lacks rows for {missing}"


# ---------------------------------------------------------------------------
# credential access
# ---------------------------------------------------------------------------

def test_read_of_password_hash_file(rv, workdir):
    # near miss: a program that authenticates users (by name) reads it
    chk = copy_exe("/bin/cat", os.path.join(workdir, "unix_chkpwd"))
    near, _ = run([chk, "/etc/shadow"])
    read_file("/etc/shadow")
    fired(rv, "Read of password hash file", fd_name="/etc/shadow", proc_pid=os.getpid())
    not_fired(rv, "Read of password hash file", proc_pid=near)


def two_files(v, rule, hit, near, read=False):
    """Writes near and then hit (and reads them back in that order when read is true):
    only hit may fire rule."""
    for path in (near, hit):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_file(path, b"vigil end-to-end test data, not a secret\n")
    for path in (near, hit) if read else ():
        read_file(path)
    fired(v, rule, fd_name=hit)
    not_fired(v, rule, fd_name=near)


def test_read_of_ssh_private_key(rv, home):
    ssh = os.path.join(home, ".ssh")
    two_files(rv, "Read of SSH private key", os.path.join(ssh, "id_ed25519"),
              os.path.join(ssh, "id_ed25519.pub"), read=True)


def test_read_of_cloud_credentials(rv, home):
    aws = os.path.join(home, ".aws")
    two_files(rv, "Read of cloud or cluster credentials", os.path.join(aws, "credentials"),
              os.path.join(aws, "config"), read=True)


def test_search_for_private_keys(rv, workdir):
    near, _ = run(["grep", "-rl", "hello", workdir], check=False)
    pid, _ = run(["grep", "-rl", "BEGIN RSA PRIVATE KEY", workdir], check=False)
    a = fired(rv, "Search for private keys or credentials", proc_pid=pid)
    assert "PRIVATE KEY" in of(a, "proc.cmdline")
    not_fired(rv, "Search for private keys or credentials", proc_pid=near)


def test_symlink_to_sensitive_file(rv, workdir):
    near, link = os.path.join(workdir, "near"), os.path.join(workdir, "shadow-link")
    os.symlink("/etc/hostname", near)
    os.symlink("/etc/shadow", link)
    a = fired(rv, "Symlink to sensitive file", fd_name=link)
    assert of(a, "evt.arg.target") == "/etc/shadow"
    not_fired(rv, "Symlink to sensitive file", fd_name=near)


def test_hardlink_to_sensitive_file(rv, vartmp):
    near, link = os.path.join(vartmp, "near"), os.path.join(vartmp, "shadow-link")
    os.link("/etc/debian_version", near)
    os.link("/etc/shadow", link)
    try:
        fired(rv, "Hardlink to sensitive file", fd_name="/etc/shadow",
              pred=lambda a: of(a, "evt.arg.newpath") == link)
        not_fired(rv, "Hardlink to sensitive file", fd_name="/etc/debian_version")
    finally:
        os.unlink(link)


# ---------------------------------------------------------------------------
# persistence
# ---------------------------------------------------------------------------

def write_then_read_near_miss(v, rule, path):
    """Fires rule by creating path; the near miss is reading the same file back."""
    write_file(path, b"# vigil end-to-end test, removed right away\n",
               os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    fired(v, rule, fd_name=path)
    read_file(path)
    reads = lambda a: of(a, "evt.is_open_write") is False  # noqa: E731
    not_fired(v, rule, pred=reads, fd_name=path)
    n = sum(1 for a in v.alerts() if is_rule(rule, fd_name=path)(a))
    assert n == 1, f"{n} alerts for one write of {path}"


def test_cron_job_written(rv, etc_file):
    write_then_read_near_miss(rv, "Cron job written", etc_file("/etc/cron.d"))


def test_systemd_unit_written(rv, etc_file):
    two_files(rv, "Systemd unit written", etc_file("/etc/systemd/system", nonce() + ".service"),
              etc_file("/etc/systemd", nonce() + ".conf"))


def test_init_script_written(rv, etc_file):
    write_then_read_near_miss(rv, "Init script written", etc_file("/etc/init.d"))


def test_shell_startup_file_written(rv, home):
    two_files(rv, "Shell startup file written", os.path.join(home, ".bashrc"),
              os.path.join(home, "notes.txt"))


def test_ssh_authorized_keys_written(rv, home):
    ssh = os.path.join(home, ".ssh")
    two_files(rv, "SSH authorized_keys written", os.path.join(ssh, "authorized_keys"),
              os.path.join(ssh, "known_hosts"))


def test_kernel_module_config_written(rv, etc_file):
    write_then_read_near_miss(rv, "Kernel module config written",
                              etc_file("/etc/modules-load.d", nonce() + ".conf"))


def test_udev_rule_written(rv, etc_file):
    write_then_read_near_miss(rv, "Udev rule written",
                              etc_file("/etc/udev/rules.d", "99-" + nonce() + ".rules"))


def test_pam_configuration_written(rv, etc_file):
    write_then_read_near_miss(rv, "PAM configuration written", etc_file("/etc/pam.d"))


def test_user_account_tool_run(rv):
    near, _ = run(["getent", "passwd", "root"])
    # an unknown option: useradd prints its usage and changes nothing
    pid, _ = run(["useradd", "--vigil-e2e-no-such-option"], check=False)
    fired(rv, "User account tool run", proc_pid=pid, proc_name="useradd")
    not_fired(rv, "User account tool run", proc_pid=near)


def test_user_database_written_by_untrusted_program(rv, workdir):
    # tee -a with nothing on stdin opens /etc/passwd for appending and writes nothing
    vipw = copy_exe(shutil.which("tee"), os.path.join(workdir, "vipw"))
    near, _ = run([vipw, "-a", "/etc/passwd"], stdin=subprocess.DEVNULL)
    pid, _ = run(["tee", "-a", "/etc/passwd"], stdin=subprocess.DEVNULL)
    fired(rv, "User database written by untrusted program", fd_name="/etc/passwd",
          proc_pid=pid)
    not_fired(rv, "User database written by untrusted program", proc_pid=near)


SYSUSERS = "/usr/bin/systemd-sysusers"


@pytest.mark.skipif(not os.path.exists(SYSUSERS), reason="systemd-sysusers not installed")
def test_user_database_written_by_trusted_tool_is_known_by_exe_path(rv, workdir):
    """systemd-sysusers' name is longer than a comm (15 bytes): the rule trusts it by its
    executable, which a renamed copy cannot fake. tee bind-mounted over the real binary in
    a private mount namespace runs with that exe path (the host is not touched); a copy
    of tee named systemd-sysusers elsewhere has the same comm and still raises the rule."""
    tee = shutil.which("tee")
    trusted, _ = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                      f'mount --bind "$1" {SYSUSERS} && exec {SYSUSERS} -a /etc/passwd',
                      "sh", tee], stdin=subprocess.DEVNULL)
    fake = copy_exe(tee, os.path.join(workdir, "systemd-sysusers"))
    pid, _ = run([fake, "-a", "/etc/passwd"], stdin=subprocess.DEVNULL)
    fired(rv, "User database written by untrusted program", fd_name="/etc/passwd",
          proc_pid=pid, proc_name="systemd-sysuser", proc_exepath=fake)
    not_fired(rv, "User database written by untrusted program", proc_pid=trusted)


# syscall numbers for the module calls (on a kernel without module support they
# fail with ENOSYS, and the attempt is still an event)
MODULE_NR = {"x86_64": (313, 176), "aarch64": (273, 106)}


def stop_with_parent():
    """In a child before exec: SIGINT when the test process dies, so that a killed
    test run leaves no agent behind."""
    ctypes.CDLL(None).prctl(1, signal.SIGINT)  # PR_SET_PDEATHSIG


def start_plain(args, stdout):
    """vigil run ARGS without event printing; returns once it monitors. Its metrics go
    to a port of its own, and it has no control socket: several agents may run at once."""
    p = subprocess.Popen([VIGIL, "run", "--metrics-listen", "127.0.0.1:0",
                          "--control-socket", "", *args],
                         stdout=stdout, stderr=subprocess.PIPE, preexec_fn=stop_with_parent)
    seen = b""
    while b"vigil: monitoring" not in seen:
        line = p.stderr.readline()
        assert line, "vigil exited before it was ready:\n" + seen.decode()
        seen += line
    return p


def test_kernel_module_loaded(rv):
    finit, delete = MODULE_NR[platform.machine()]
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/dev/null", "rb") as f:
        libc.syscall(delete, b"vigil_e2e_no_such_module", 0)  # near miss: unload
        libc.syscall(finit, f.fileno(), b"", 0)  # refused: /dev/null is no module
    fired(rv, "Kernel module loaded", proc_pid=os.getpid())
    not_fired(rv, "Kernel module loaded", proc_pid=os.getpid(),
              pred=lambda a: of(a, "evt.type") == "delete_module")


def test_write_below_root_home_directory(rv):
    cache = "/root/.cache"
    made_cache = not os.path.isdir(cache)
    os.makedirs(cache, exist_ok=True)
    near = os.path.join(cache, nonce())
    path = os.path.join("/root", nonce())
    try:
        write_file(near, b"x")
        write_file(path, b"x")
        fired(rv, "Write below root home directory", fd_name=path)
        not_fired(rv, "Write below root home directory", fd_name=near)
    finally:
        for p in (near, path):
            if os.path.exists(p):
                os.unlink(p)
        if made_cache:
            os.rmdir(cache)


def test_write_below_binary_directory(rv, workdir):
    # near miss: the same write by a package manager (by name)
    dpkg = copy_exe(shutil.which("tee"), os.path.join(workdir, "dpkg"))
    near = os.path.join("/usr/local/bin", nonce())
    opened = os.path.join("/usr/local/bin", nonce())
    renamed = os.path.join("/usr/local/bin", nonce())
    staged = os.path.join(workdir, "staged")
    try:
        run([dpkg, near], stdin=subprocess.DEVNULL)
        write_file(opened, b"#!/bin/sh\n")
        write_file(staged, b"#!/bin/sh\n")
        os.rename(staged, renamed)
        fired(rv, "Write below binary directory", fd_name=opened)
        fired(rv, "Write below binary directory",
              pred=lambda a: of(a, "evt.arg.newpath") == renamed)
        not_fired(rv, "Write below binary directory", fd_name=near)
    finally:
        for p in (near, opened, renamed):
            if os.path.exists(p):
                os.unlink(p)


def test_write_below_etc(rv, etc_file):
    # near miss: ldconfig rewriting its cache (an exception of the rule)
    near, _ = run(["ldconfig"])
    path = etc_file("/etc")
    write_file(path, b"x")
    fired(rv, "Write below etc", fd_name=path)
    not_fired(rv, "Write below etc", proc_pid=near)


# ---------------------------------------------------------------------------
# privilege escalation
# ---------------------------------------------------------------------------

def test_setuid_or_setgid_bit_set(rv, workdir):
    near, path = os.path.join(workdir, "plain"), os.path.join(workdir, "suid")
    for p in (near, path):
        write_file(p, b"#!/bin/sh\n")
    os.chmod(near, 0o755)
    os.chmod(path, 0o4755)
    a = fired(rv, "Setuid or setgid bit set", fd_name=path)
    assert of(a, "evt.arg.mode") == "04755"
    not_fired(rv, "Setuid or setgid bit set", fd_name=near)


def as_nobody(*cmd):
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]


def test_setuid_to_root_by_non_root_process(rv, workdir):
    os.chmod(workdir, 0o755)
    capped = copy_exe(helper("rule_probe"), os.path.join(workdir, "capped"))
    subprocess.run(["setcap", "cap_setuid+ep", capped], check=True)
    # near misses: root asking for root, nobody asking for nobody
    near_root = probe("setuid", "0")[0]
    _, out = run(as_nobody(helper("rule_probe"), "setuid", str(NOBODY)))
    near_nobody = json.loads(out)
    # refused: nobody asking for root
    _, out = run(as_nobody(helper("rule_probe"), "setuid", "0"))
    refused = json.loads(out)
    assert refused["ret"] == -1, refused
    # granted: a file-capability binary run by nobody makes itself root
    _, out = run(as_nobody(capped, "setuid", "0"))
    granted = json.loads(out)
    assert granted["ret"] == 0 and granted["uid"] == 0, granted
    rule = "Setuid to root by non-root process"
    fired(rv, rule, proc_pid=refused["pid"], evt_res="EPERM")
    a = fired(rv, rule, proc_pid=granted["pid"], evt_res="SUCCESS")
    assert of(a, "user.uid") == 0 and "CAP_SETUID" in of(a, "thread.cap_effective")
    not_fired(rv, rule, proc_pid=near_root["pid"])
    not_fired(rv, rule, proc_pid=near_nobody["pid"])


def test_sudoers_written(rv, etc_file):
    write_then_read_near_miss(rv, "Sudoers written", etc_file("/etc/sudoers.d"))


def test_user_namespace_created(rv):
    near, _ = run(["unshare", "--uts", "true"])
    pid, _ = run(["unshare", "--user", "true"])
    a = fired(rv, "User namespace created", proc_pid=pid)
    assert "CLONE_NEWUSER" in of(a, "evt.arg.flags")
    not_fired(rv, "User namespace created", proc_pid=near)


def test_cgroup_release_agent_written(rv):
    # cgroup v1 hierarchies have one at their root; opening it writes nothing
    agents = glob.glob("/sys/fs/cgroup/*/release_agent") or ["/sys/fs/cgroup/release_agent"]
    path = agents[0]
    with open(path, "rb"):
        pass
    try:
        os.close(os.open(path, os.O_WRONLY))
    except OSError:
        pass  # cgroup v2 only: the refused attempt is what the rule sees
    fired(rv, "Cgroup release_agent written", fd_name=path, proc_pid=os.getpid())
    n = sum(1 for a in rv.alerts() if is_rule("Cgroup release_agent written", fd_name=path,
                                                 proc_pid=os.getpid())(a))
    barrier(rv)
    assert n == 1, "the read-only open of release_agent raised an alert too"


# One container run makes every in-container action; each test checks its part.
CONTAINER_SCRIPT = """
bb=/bin/busybox
$bb mkdir -p /opt/t /mnt/a
for n in apk gcc nsenter chroot mount arping; do $bb ln -s $bb /opt/t/$n; done
/opt/t/apk vigil-e2e-pkg
/opt/t/gcc vigil-e2e-cc
/opt/t/mount -t tmpfs vigil-e2e-tmpfs /mnt/a
/opt/t/mount -t cgroup -o memory vigil-e2e-cgroup /mnt/a
/opt/t/mount /dev/vigil-e2e-disk /mnt/a
/opt/t/nsenter -t 1 -u /bin/true
/opt/t/chroot / /bin/true
/opt/t/arping -c 1 -w 1 -I lo 127.0.0.1
true
"""


@pytest.fixture(scope="module")
def container_run(rv, busybox_image):
    p = subprocess.run(PODMAN_RUN + [busybox_image, "sh", "-c", CONTAINER_SCRIPT],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    assert p.returncode == 0, p.stdout.decode()
    return p.stdout.decode()


def in_container(a):
    return of(a, "container.id") not in (None, "host")


def test_cgroup_filesystem_mounted_in_container(rv, container_run):
    a = fired(rv, "Cgroup filesystem mounted in container", evt_arg_source="vigil-e2e-cgroup")
    assert of(a, "evt.arg.fstype") == "cgroup" and in_container(a)
    not_fired(rv, "Cgroup filesystem mounted in container", evt_arg_source="vigil-e2e-tmpfs")


def test_host_device_mounted_in_container(rv, container_run):
    a = fired(rv, "Host device mounted in container", evt_arg_source="/dev/vigil-e2e-disk")
    assert in_container(a)
    not_fired(rv, "Host device mounted in container", evt_arg_source="vigil-e2e-tmpfs")


def test_nsenter_into_another_process(rv):
    target = subprocess.Popen(["sleep", "30"])
    try:
        near, _ = run(["nsenter", "--version"])
        pid, _ = run(["nsenter", "-t", str(target.pid), "-u", "true"])
    finally:
        target.kill()
        target.wait()
    fired(rv, "Nsenter into another process's namespaces", proc_pid=pid)
    not_fired(rv, "Nsenter into another process's namespaces", proc_pid=near)
    # the same setns on the host is not a container leaving its namespaces
    not_fired(rv, "Namespace change inside a container", proc_pid=pid)


def test_namespace_change_inside_a_container(rv, container_run):
    a = fired(rv, "Namespace change inside a container", proc_name="nsenter")
    assert in_container(a)


def test_chroot_on_the_host(rv, container_run):
    pid, _ = run(["chroot", "/", "true"])
    a = fired(rv, "Chroot on the host", proc_pid=pid, evt_arg_path="/")
    assert not in_container(a)
    # the container's chroot is the container rule's, not this one's
    not_fired(rv, "Chroot on the host", pred=in_container)


def test_chroot_inside_a_container(rv, container_run):
    near, _ = run(["chroot", "/", "true"])
    a = fired(rv, "Chroot inside a container", proc_name="chroot")
    assert in_container(a)
    not_fired(rv, "Chroot inside a container", proc_pid=near)


def test_packet_socket_created_in_container(rv, container_run):
    # busybox arping opens socket(AF_PACKET, SOCK_DGRAM, 0) before anything else
    a = fired(rv, "Packet socket created in container", proc_name="arping")
    assert in_container(a) and of(a, "evt.args").startswith("fd="), a
    assert " domain=AF_PACKET type=2 proto=0 " in of(a, "evt.args"), a
    # the host's packet sockets (DHCP clients, tcpdump) are not the rule's
    pid, _ = run(["python3", "-c", "import socket; socket.socket(socket.AF_PACKET, "
                  "socket.SOCK_RAW, socket.htons(3))"])
    not_fired(rv, "Packet socket created in container", proc_pid=pid)


def test_reverse_shell(rv):
    # a socket to a listener on loopback put on 0, 1 and 2, then a shell: its stdio at exec
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    port = lst.getsockname()[1]
    code = ("import os, socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))"
            "; [os.dup2(s.fileno(), f) for f in (0, 1, 2)]; os.execv('/bin/sh', ['sh', '-c', "
            "'read x'])")
    p = subprocess.Popen([sys.executable, "-c", code, str(port)])
    lst.settimeout(30)
    c, peer = lst.accept()
    c.sendall(b"x\n")
    p.wait(30)
    c.close()
    lst.close()
    a = fired(rv, "Reverse shell", proc_pid=p.pid)
    assert of(a, "proc.stdin.name") == f"127.0.0.1:{peer[1]}->127.0.0.1:{port}", a
    assert of(a, "proc.stdout.type") == "ipv4", a
    # a shell reading a pipe is not one
    near, _ = run(["sh", "-c", "echo x | sh -c 'read x'"])
    not_fired(rv, "Reverse shell", proc_pid=near)


def test_dns_rules(rv, zone):
    """The DNS rules on real lookups (dig against dnsmasq on loopback): the query is what
    they judge, seen at the packet hooks."""
    addr, _, _ = zone
    pid, _ = dig_pid(addr, "pool.supportxmr.com")
    fired(rv, "DNS lookup of a mining pool", proc_pid=pid)
    pid, _ = dig_pid(addr, "pastebin.com")
    fired(rv, "DNS lookup of a paste site", proc_pid=pid)
    label = base64.b32encode(os.urandom(35)).decode().rstrip("=").lower()  # 56 characters
    pid, _ = dig_pid(addr, f"{label}.t.ordinary.test")
    a = fired(rv, "DNS tunnelling name", proc_pid=pid)
    assert of(a, "dns.query.max_label") == len(label), a
    # 30 TXT queries from one process within the minute (dig asks them in turn)
    queries = [x for i in range(30) for x in (f"n{i}.ordinary.test", "TXT")]
    pid, _ = run(["dig", "+short", "+tries=1", "+time=2", f"@{addr}", *queries], check=False)
    a = fired(rv, "Burst of DNS TXT queries", proc_pid=pid)
    assert of(a, "dns.txt_count") == 30, a
    # an ordinary name, asked once, is none of them
    near, _ = dig_pid(addr, "www.ordinary.test")
    for rule in ("DNS lookup of a mining pool", "DNS lookup of a paste site",
                 "DNS tunnelling name", "Burst of DNS TXT queries"):
        not_fired(rv, rule, proc_pid=near)


def test_ptrace_attach_to_another_process(rv, workdir):
    gdb = copy_exe(helper("rule_probe"), os.path.join(workdir, "gdb"))
    near = probe("ptrace-attach", exe=gdb)[0]
    done = probe("ptrace-attach")[0]
    assert done["ret"] == 0, done
    a = fired(rv, "Ptrace attach to another process", proc_pid=done["pid"])
    assert of(a, "evt.arg.request") == "PTRACE_ATTACH"
    assert of(a, "evt.arg.pid") == str(done["target"])
    not_fired(rv, "Ptrace attach to another process", proc_pid=near["pid"])


def test_ptrace_code_injection(rv, workdir):
    gdb = copy_exe(helper("rule_probe"), os.path.join(workdir, "gdb"))
    near = probe("ptrace-poke", exe=gdb)
    done = probe("ptrace-poke")
    assert done[1]["ret"] == 0, done
    a = fired(rv, "Ptrace code injection", proc_pid=done[1]["pid"])
    assert of(a, "evt.arg.request") == "PTRACE_POKEDATA"
    not_fired(rv, "Ptrace code injection", proc_pid=near[1]["pid"])


# ---------------------------------------------------------------------------
# defense evasion
# ---------------------------------------------------------------------------

def test_fileless_execution_from_memfd(rv):
    near = probe("memfd-only")[0]
    pid, _ = run([helper("rule_probe"), "memfd-exec", "/bin/true"])
    a = fired(rv, "Fileless execution from memfd", proc_pid=pid)
    assert of(a, "proc.exepath").startswith("/memfd:")
    not_fired(rv, "Fileless execution from memfd", proc_pid=near["pid"])


def test_executable_deleted_before_it_ran(rv, workdir):
    kept = copy_exe("/bin/true", os.path.join(workdir, "kept"))
    gone = copy_exe("/bin/true", os.path.join(workdir, "gone"))
    near, _ = run([kept])
    fd = os.open(gone, os.O_RDONLY)
    try:
        os.unlink(gone)
        pid, _ = run([f"/proc/self/fd/{fd}"], pass_fds=(fd,))
    finally:
        os.close(fd)
    fired(rv, "Executable deleted before it ran", proc_pid=pid)
    not_fired(rv, "Executable deleted before it ran", proc_pid=near)


def test_process_masquerading_as_kernel_thread(rv):
    near = probe("masq-bind", "vigil-e2e-ok")[0]
    renamed = probe("masq-bind", "kworker/0:1")[0]
    a = fired(rv, "Process masquerading as kernel thread", proc_pid=renamed["pid"])
    assert of(a, "proc.name") == "kworker/0:1" and of(a, "evt.type") == "bind"
    # argv[0] bracketed like a kernel thread in ps
    pid, _ = run(["[kworker/1:2]"], executable="/bin/true")
    a = fired(rv, "Process masquerading as kernel thread", proc_pid=pid)
    assert of(a, "proc.exe") == "[kworker/1:2]"
    not_fired(rv, "Process masquerading as kernel thread", proc_pid=near["pid"])


def test_log_file_truncated_or_deleted(rv):
    path = os.path.join("/var/log", nonce() + ".log")
    rule = "Log file truncated or deleted"
    try:
        write_file(path, b"created\n")  # O_TRUNC on a file it creates: no alert
        write_file(path, b"appended\n", os.O_WRONLY | os.O_APPEND)
        os.truncate(path, 0)
        fired(rv, rule, fd_name=path, evt_type="truncate")
        write_file(path, b"x\n")  # O_TRUNC on an existing log
        fired(rv, rule, fd_name=path, evt_type="openat")
        os.unlink(path)
        fired(rv, rule, fd_name=path, evt_type="unlink")
        n_open = sum(1 for a in rv.alerts() if is_rule(rule, fd_name=path, evt_type="openat")(a))
        barrier(rv)
        assert n_open == 1, "creating or appending to a log raised an alert"
    finally:
        if os.path.exists(path):
            os.unlink(path)


def test_shell_history_tampered(rv, home):
    hist = os.path.join(home, ".bash_history")
    rule = "Shell history tampered"
    write_file(hist, b"ls\n")  # created: no alert
    write_file(hist, b"id\n", os.O_WRONLY | os.O_APPEND)  # appended: no alert
    not_fired(rv, rule, fd_name=hist)
    write_file(hist, b"")  # existing history opened with O_TRUNC
    fired(rv, rule, fd_name=hist, evt_type="openat")
    os.unlink(hist)
    os.symlink("/dev/null", hist)
    fired(rv, rule, fd_name=hist, evt_type="unlink")
    fired(rv, rule, fd_name=hist, evt_type="symlink")


def test_security_tool_disabled(rv):
    unit = nonce() + "-vigil.service"
    # systemd is not running here: both calls fail, and are still seen
    near, _ = run(["systemctl", "status", unit], check=False)
    pid, _ = run(["systemctl", "stop", unit], check=False)
    fired(rv, "Security tool disabled", proc_pid=pid)
    not_fired(rv, "Security tool disabled", proc_pid=near)


def test_bpf_program_loaded_by_unexpected_process(rv):
    near = probe("bpf-map")[0]
    done = probe("bpf-prog")[0]
    a = fired(rv, "BPF program loaded by unexpected process", proc_pid=done["pid"])
    assert of(a, "evt.arg.cmd") == "BPF_PROG_LOAD"
    not_fired(rv, "BPF program loaded by unexpected process", proc_pid=near["pid"])


def test_io_uring_ring_created_by_unexpected_program(rv, workdir):
    # near miss: the same program under the name of a known io_uring user
    fio = copy_exe(helper("uring_probe"), os.path.join(workdir, "fio"))
    near, _ = run([fio, "open", "/etc/hostname", "0", "0"])
    pid, _ = run([helper("uring_probe"), "--sqpoll", "open", "/etc/hostname", "0", "0"])
    a = fired(rv, "io_uring ring created by unexpected program", proc_pid=pid)
    assert of(a, "evt.arg.flags") == "IORING_SETUP_SQPOLL"
    not_fired(rv, "io_uring ring created by unexpected program", proc_pid=near)


def test_ptrace_traceme_anti_debugging(rv, workdir):
    gdb = copy_exe(helper("rule_probe"), os.path.join(workdir, "gdb"))
    near = probe("traceme", exe=gdb)[0]
    done = probe("traceme")[0]
    assert done["ret"] == 0, done
    fired(rv, "PTRACE_TRACEME anti-debugging", proc_pid=done["pid"])
    not_fired(rv, "PTRACE_TRACEME anti-debugging", proc_pid=near["pid"])


def test_process_hidden_by_mount_over_proc(rv, workdir):
    victim = subprocess.Popen(["sleep", "30"])
    a_dir, b_dir = os.path.join(workdir, "a"), os.path.join(workdir, "b")
    os.mkdir(a_dir)
    os.mkdir(b_dir)
    try:
        # in a private mount namespace of its own: nothing outside sees these mounts
        run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
             f"mount --bind {a_dir} {b_dir} && mount --bind {a_dir} /proc/{victim.pid}"])
    finally:
        victim.kill()
        victim.wait()
    a = fired(rv, "Process hidden by a mount over /proc", evt_arg_dir=f"/proc/{victim.pid}")
    assert of(a, "evt.arg.source") == a_dir
    not_fired(rv, "Process hidden by a mount over /proc", evt_arg_dir=b_dir)


def test_dynamic_linker_preload_file_written(rv, etc_file):
    near = etc_file("/etc", "ld.so.preload." + nonce())
    write_file(near)
    path = "/etc/ld.so.preload"
    if os.path.exists(path):
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND))  # writes nothing
    else:
        try:
            write_file(path, b"", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        finally:
            os.unlink(path)  # empty, and gone at once: no program loads anything
    fired(rv, "Dynamic linker preload file written", fd_name=path)
    not_fired(rv, "Dynamic linker preload file written", fd_name=near)


# ---------------------------------------------------------------------------
# execution
# ---------------------------------------------------------------------------

def test_execution_from_dev_shm(rv):
    path = os.path.join("/dev/shm", nonce())
    copy_exe("/bin/true", path)
    try:
        near, _ = run(["/bin/true"], cwd="/dev/shm")
        pid, _ = run([path])
    finally:
        os.unlink(path)
    a = fired(rv, "Execution from /dev/shm", proc_pid=pid)
    assert of(a, "proc.exepath") == path
    not_fired(rv, "Execution from /dev/shm", proc_pid=near)


def test_execution_from_temporary_directory(rv, workdir):
    prog = copy_exe("/bin/true", os.path.join(workdir, "payload"))
    with open(os.path.join(workdir, "Makefile"), "w") as f:
        f.write(f"check:\n\t{prog}\n")
    # near miss: the same program run by a build tool
    run(["make", "-s", "-C", workdir, "check"])
    # through a shell that waits (no exec), so the ancestry is sh, pytest, ... and not
    # the make that may run the test suite itself (the rule exempts build tools)
    run(["sh", "-c", f"{prog}; true"])
    fired(rv, "Execution from temporary directory", proc_pname="sh",
          pred=lambda a: of(a, "proc.exepath") == os.path.realpath(prog))
    not_fired(rv, "Execution from temporary directory", proc_pname="make")


def test_shell_spawned_by_server_process(rv, workdir):
    os.mkdir(os.path.join(workdir, "near"))
    near = script(os.path.join(workdir, "near", "nginx"), "/bin/true")
    srv = script(os.path.join(workdir, "nginx"), "/bin/sh -c 'echo " + nonce() + "'")
    near_pid, _ = run([near])
    pid, _ = run([srv])
    a = fired(rv, "Shell spawned by server process", proc_pname="nginx",
              pred=lambda a: of(a, "proc.pcmdline").endswith(srv))
    assert of(a, "proc.name") == "sh"
    not_fired(rv, "Shell spawned by server process",
              pred=lambda a: of(a, "proc.pcmdline").endswith(near))


def test_netcat_style_reverse_shell(rv, workdir):
    nc = copy_exe("/bin/true", os.path.join(workdir, "nc"))
    near, _ = run([nc, "-z", "127.0.0.1", "9"])
    pid, _ = run([nc, "-e", "/bin/sh", "127.0.0.1", "9"])
    fired(rv, "Netcat-style reverse shell", proc_pid=pid)
    not_fired(rv, "Netcat-style reverse shell", proc_pid=near)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_reverse_shell_through_shell_redirection(rv):
    port = closed_port()
    near, _ = run(["bash", "-c", "echo /dev/null"])
    # connects to a closed loopback port: refused at once
    pid, _ = run(["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{port}"], check=False)
    fired(rv, "Reverse shell through shell redirection", proc_pid=pid)
    not_fired(rv, "Reverse shell through shell redirection", proc_pid=near)


def test_interpreter_reverse_shell_one_liner(rv):
    near, _ = run([sys.executable, "-c", "import socket; print(socket.gethostname())"])
    pid, _ = run([sys.executable, "-c",
                  "import socket, pty; s = socket.socket(); s.close(); print('pty.spawn')"])
    fired(rv, "Interpreter reverse shell one-liner", proc_pid=pid)
    not_fired(rv, "Interpreter reverse shell one-liner", proc_pid=near)


def test_shell_spawned_by_network_tool(rv, workdir):
    os.mkdir(os.path.join(workdir, "near"))
    near = script(os.path.join(workdir, "near", "socat"), "/bin/true")
    tool = script(os.path.join(workdir, "socat"), "/bin/sh -c 'echo " + nonce() + "'")
    run([near])
    run([tool])
    fired(rv, "Shell spawned by network tool", proc_pname="socat",
          pred=lambda a: of(a, "proc.pcmdline").endswith(tool))
    not_fired(rv, "Shell spawned by network tool",
              pred=lambda a: of(a, "proc.pcmdline").endswith(near))


def test_package_manager_run_in_container(rv, workdir, container_run):
    apk = copy_exe("/bin/true", os.path.join(workdir, "apk"))
    near, _ = run([apk, "vigil-e2e-host"])
    a = fired(rv, "Package manager run in container", proc_name="apk",
              pred=lambda a: "vigil-e2e-pkg" in of(a, "proc.cmdline"))
    assert in_container(a)
    not_fired(rv, "Package manager run in container", proc_pid=near)


def test_compiler_run_in_container(rv, container_run):
    near, _ = run(["cc", "--version"])
    a = fired(rv, "Compiler run in container", proc_name="gcc",
              pred=lambda a: "vigil-e2e-cc" in of(a, "proc.cmdline"))
    assert in_container(a)
    not_fired(rv, "Compiler run in container", proc_pid=near)


# ---------------------------------------------------------------------------
# impact and discovery
# ---------------------------------------------------------------------------

def listener(ports):
    """A loopback listener on the first free port of ports."""
    for port in ports:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            s.listen(4)
            return s
        except OSError:
            s.close()
    pytest.fail(f"none of the ports {ports} is free on 127.0.0.1")


def connect_to(srv):
    c = socket.create_connection(srv.getsockname(), timeout=5)
    name = "%s:%d->%s:%d" % (c.getsockname() + c.getpeername())
    c.close()
    return name


def test_crypto_miner_pool_port_connection(rv):
    pool, other = listener([3333, 4444, 5555, 7777, 14444, 45700]), listener([0])
    try:
        near = connect_to(other)
        conn = connect_to(pool)
    finally:
        pool.close()
        other.close()
    a = fired(rv, "Crypto-miner pool port connection", fd_name=conn)
    assert of(a, "fd.sport") == int(conn.rsplit(":", 1)[1])
    not_fired(rv, "Crypto-miner pool port connection", fd_name=near)


def test_stratum_protocol_in_command_line(rv):
    near, _ = run(["sh", "-c", "true stratum vigil-e2e"])
    pid, _ = run(["sh", "-c", "true stratum+tcp://pool.vigil-e2e.invalid:3333"])
    fired(rv, "Stratum protocol in command line", proc_pid=pid)
    not_fired(rv, "Stratum protocol in command line", proc_pid=near)


def test_crypto_miner_binary_run(rv, workdir):
    near, _ = run([copy_exe("/bin/true", os.path.join(workdir, "xmrig-notes"))])
    pid, _ = run([copy_exe("/bin/true", os.path.join(workdir, "xmrig"))])
    fired(rv, "Crypto-miner binary run", proc_pid=pid, proc_name="xmrig")
    not_fired(rv, "Crypto-miner binary run", proc_pid=near)


def test_data_destruction_tool_run(rv, workdir):
    victim, other = os.path.join(workdir, "victim"), os.path.join(workdir, "other")
    write_file(victim, b"secret\n")
    write_file(other, b"secret\n")
    near, _ = run(["rm", other])
    pid, _ = run(["shred", "-u", victim])
    fired(rv, "Data destruction tool run", proc_pid=pid, proc_name="shred")
    not_fired(rv, "Data destruction tool run", proc_pid=near)


def test_network_scanner_run(rv, workdir):
    near, _ = run([copy_exe("/bin/true", os.path.join(workdir, "nmap-report"))])
    pid, _ = run([copy_exe("/bin/true", os.path.join(workdir, "nmap")), "-sT", "127.0.0.1"])
    fired(rv, "Network scanner run", proc_pid=pid)
    not_fired(rv, "Network scanner run", proc_pid=near)


# ---------------------------------------------------------------------------
# 32-bit (ia32) programs
# ---------------------------------------------------------------------------

IA32_PROBE = os.path.join(REPO, "tests", "e2e", "helpers32", "ia32_probe.c")


def build_ia32(workdir, name, *defines, src=IA32_PROBE):
    """Builds a program of tests/e2e/helpers32 (ia32_probe.c unless src names another) as
    a static 32-bit program with no libc; returns its path."""
    exe = os.path.join(workdir, name)
    cmd = ["clang", "-m32", "-nostdlib", "-static", "-ffreestanding", "-fno-pic", "-O1",
           *[f"-D{d}" for d in defines], "-o", exe, src]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, f"cannot build a 32-bit program ({' '.join(cmd)}; " \
        f"scripts/deps.sh installs clang): {r.stderr.decode()}"
    return exe


# why this kernel runs no 32-bit code (None: it does), found once
IA32_OFF = []


def ia32_refused(workdir):
    """None when this kernel runs ia32 code. A kernel with ia32 emulation off (built so,
    booted with ia32_emulation=off, or overridden by its hypervisor) makes no 32-bit
    syscall at all, so there is nothing for vigil to see: that is checked both ways an
    attacker would try (a 32-bit image, and int $0x80 from 64-bit code), and the reason
    is returned for the test to report as skipped. Any other outcome fails."""
    if IA32_OFF:
        return IA32_OFF[0]
    exe = build_ia32(workdir, "ia32-probe", "EXIT_ONLY", "PORT=1", 'SRC="/"')
    try:
        r = subprocess.run([exe], timeout=10)
    except OSError as e:
        assert e.errno == errno.ENOEXEC, e
    else:
        assert r.returncode == 0, f"the 32-bit probe failed: {r.returncode}"
        IA32_OFF.append(None)
        return None
    src, i80 = os.path.join(workdir, "int80.c"), os.path.join(workdir, "int80")
    with open(src, "w") as f:
        f.write("int main(void) { long r; __asm__ volatile(\"int $0x80\" : \"=a\"(r) : "
                "\"a\"(20L) : \"memory\"); return r > 0 ? 0 : 1; }\n")
    subprocess.run(["clang", "-O1", "-o", i80, src], check=True)
    r = subprocess.run([i80])
    assert r.returncode == -signal.SIGSEGV, \
        f"32-bit images are refused but int $0x80 from 64-bit code returned {r.returncode}"
    IA32_OFF.append("this kernel has ia32 emulation off: a 32-bit image is refused "
                    "(ENOEXEC) and int $0x80 from 64-bit code is killed (SIGSEGV), so no "
                    "32-bit syscall can be made here")
    return IA32_OFF[0]


def test_32bit_program_executed(rv, workdir):
    off = ia32_refused(workdir)
    if off:
        pytest.skip(off)
    exe = build_ia32(workdir, "ia32-" + uuid.uuid4().hex[:6], "EXIT_ONLY", "PORT=1",
                     'SRC="/"')
    near, _ = run([shutil.which("true")])
    pid, _ = run([exe])
    fired(rv, "32-bit program executed", proc_pid=pid, proc_exepath=exe)
    not_fired(rv, "32-bit program executed", proc_pid=near)


# what the ia32 probe does, and the rule each action raises when made the 64-bit way
IA32_RULES = [
    ("32-bit program executed", "execve"),
    ("Read of password hash file", "open"),
    ("Read of password hash file", "openat"),
    ("Crypto-miner pool port connection", "connect"),  # through socketcall
    ("Crypto-miner pool port connection", "connect"),  # socket() + connect()
    ("PTRACE_TRACEME anti-debugging", "ptrace"),
    ("Ptrace attach to another process", "ptrace"),
    ("Ptrace code injection", "ptrace"),
    ("User namespace created", "unshare"),
    ("Process hidden by a mount over /proc", "mount"),
    ("BPF program loaded by unexpected process", "bpf"),
    ("Kernel module loaded", "init_module"),
    ("Setuid to root by non-root process", "setuid"),
]


def test_32bit_syscalls_raise_the_rules_as_deployed(workdir):
    """A static 32-bit program making every call through int $0x80 raises each rule
    the 64-bit form of its actions raises, with vigil run as deployed (no event
    printing: the kernel prefilter is the one derived from the default rules). The
    records behind the alerts, recorded by that agent, say evt.is_compat and
    proc.is_compat; a 64-bit program's do not."""
    conftest._check_can_run()
    off = ia32_refused(workdir)
    if off:
        pytest.skip(off)
    name = "ia32p" + uuid.uuid4().hex[:6]
    src = os.path.join(workdir, "mnt-src")
    os.mkdir(src)
    pool = listener([3333, 4444, 5555, 7777, 14444, 45700])
    exe = build_ia32(workdir, name, f"PORT={pool.getsockname()[1]}", f'SRC="{src}"')
    rec, out_path = os.path.join(workdir, "rec"), os.path.join(workdir, "alerts.jsonl")
    with open(out_path, "wb") as out:
        p = start_plain(["--record=" + rec], out)
        try:
            pid, _ = run([exe])
            native, _ = run(["cat", "/etc/shadow"])
            deadline = time.time() + 20
            while True:
                with open(out_path, "rb") as f:
                    alerts = [json.loads(x) for x in f.read().splitlines()
                              if x.startswith(b"{")]
                mine = sorted((a["rule"], of(a, "evt.type")) for a in alerts
                              if name in a["output"]
                              and a["rule"] != "Execution from temporary directory")
                seen_native = any(of(a, "proc.pid") == native for a in alerts)
                if (mine == sorted(IA32_RULES) and seen_native) or time.time() > deadline:
                    break
                time.sleep(0.1)
            assert mine == sorted(IA32_RULES)
            assert seen_native
        finally:
            pool.close()
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=20) == 0
    FIRED.update(rule for rule, _ in IA32_RULES)

    out = subprocess.run([VIGIL, "replay", rec, "--events"], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    events = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    events = [e for e in events if "rule" not in e]
    ia32 = [e for e in events if e["proc"]["comm"] == name]
    assert {e["syscall"] for e in ia32 if "syscall" in e} >= \
        {t for _, t in IA32_RULES} - {"execve"}
    for e in ia32:
        assert e["proc"]["compat"] is True, e
        # an exit is made through the 32-bit ABI when it is the exit call; the traced
        # child the probe SIGKILLs may die stopped, in no syscall at all
        if not (e["type"] == "exit" and e["exit"]["signal"]):
            assert e["compat"] is True, e
    # socketcall(SYS_SOCKET) and socket(2) by number: socket events (the default rules
    # have one on socket creation, so they were recorded)
    socks = [e for e in ia32 if e["type"] == "socket"]
    assert [(e["net"]["family"], e["net"]["sock_type"], e["net"]["fd"] == e["ret"] >= 0)
            for e in socks] == [("inet", "stream", True)] * 2, socks
    # the ids each ia32 setuid replaced, though no entry tracepoint saw the calls
    setids = [e["setid"] for e in ia32 if e["type"] == "setid"]
    assert [(s["args"], s["uid_old"], s["uid_new"]) for s in setids] == [
        ([NOBODY], [0, 0, 0], [NOBODY] * 3), ([0], [NOBODY] * 3, [NOBODY] * 3)], setids
    cat = [e for e in events if e["proc"]["pid"] == native and e["type"] == "open"]
    assert cat and all(e["compat"] is False and e["proc"]["compat"] is False for e in cat)

    # the rule fields, through the rule engine, on the same records
    rules = os.path.join(workdir, "compat.yaml")
    with open(rules, "w") as f:
        f.write(f"""- rule: ia32 call
  desc: a call through the 32-bit ABI by a 32-bit program
  condition: >
    evt.type in (execve, open, openat, connect, ptrace, unshare, mount, bpf, init_module, setuid)
    and evt.is_compat=true and proc.is_compat=true and proc.name={name}
  output: "%evt.type"
  priority: WARNING
- rule: native call
  desc: an open through the 64-bit ABI
  condition: evt.type in (open, openat) and evt.is_compat=false and proc.pid={native}
  output: "%evt.type"
  priority: WARNING
""")
    os.chmod(rules, 0o644)
    out = subprocess.run([VIGIL, "replay", rec, "--rules", rules], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    alerts = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert {of(a, "evt.type") for a in alerts if a["rule"] == "ia32 call"} == \
        {t for _, t in IA32_RULES}
    assert any(a["rule"] == "native call" for a in alerts)


# ---------------------------------------------------------------------------
# the kernel prefilter derived from the rules, and tuning
# ---------------------------------------------------------------------------

class AlertsOnly:
    """`vigil run --min-priority=warning` as an operator runs it: alerts only, so the
    kernel prefilter is the one derived from the rules."""

    def __init__(self, workdir):
        self.out_path = os.path.join(workdir, "alerts.jsonl")
        self.out = open(self.out_path, "wb")
        self.proc = start_plain(["--min-priority=warning"], self.out)

    def alerts(self):
        with open(self.out_path, "rb") as f:
            return [json.loads(x) for x in f.read().splitlines() if x.startswith(b"{")]

    def wait_alert(self, pred, timeout, what):
        deadline = time.time() + timeout
        while not any(pred(a) for a in self.alerts()):
            assert self.proc.poll() is None, "vigil died"
            assert time.time() < deadline, f"no {what} within {timeout} s"
            time.sleep(0.05)
        return next(a for a in self.alerts() if pred(a))

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout=20)
        self.out.close()
        return rc


def test_derived_prefilter_passes_what_the_rules_need(workdir, home):
    """With no event printing, the kernel sends only what the rules derived; each of
    these actions must still reach its rule."""
    conftest._check_can_run()
    v = AlertsOnly(workdir)
    log = os.path.join("/var/log", nonce() + ".log")
    hist = os.path.join(home, ".zsh_history")
    pool = listener([3333, 4444, 5555, 7777, 14444, 45700])
    try:
        read_file("/etc/shadow")
        write_file(log, b"x\n")
        os.truncate(log, 0)
        write_file(hist, b"x\n")
        os.unlink(hist)
        conn = connect_to(pool)
        for rule, field, value in [
                ("Read of password hash file", "fd.name", "/etc/shadow"),
                ("Log file truncated or deleted", "fd.name", log),
                ("Shell history tampered", "fd.name", hist),
                ("Crypto-miner pool port connection", "fd.name", conn)]:
            v.wait_alert(lambda a: a["rule"] == rule and of(a, field) == value, 15, rule)
    finally:
        pool.close()
        if os.path.exists(log):
            os.unlink(log)
        assert v.stop() == 0


def test_every_rule_fired(request):
    """Every default rule whose test (in the coverage table) ran in this session fired;
    the whole suite runs them all. conftest runs this test last."""
    ran = {os.path.basename(item.nodeid.split("::")[0]) + "::" + item.name.split("[")[0]
           for item in request.session.items}
    tested = {rule for _, rule, test in coverage_table() if test in ran}
    missing = set(rules_listing(RULES_FILE)) & tested - FIRED
    if IA32_OFF and IA32_OFF[0]:
        # the one rule only a 32-bit program raises cannot fire where none can run
        missing -= {"32-bit program executed"}
    assert not missing, f"rules no test made fire: {sorted(missing)}"
