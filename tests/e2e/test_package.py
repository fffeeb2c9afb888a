"""The Debian package (`make deb`) in a minimal Debian 12 root: it installs with its
dependencies from the apt mirror; the agent, its configuration, rules and unit are where
they belong; the installed agent, started as the unit starts it (its ExecStart, under its
capability bounding set and NoNewPrivileges), loads the installed rules, raises an alert
into the installed log directory and reloads on SIGHUP (ExecReload); systemd-analyze
verify accepts the unit; and purge leaves nothing of the package behind.

The root is a copy of the debootstrap base that ../shared/tools/fresh-root.sh caches
(/var/tmp/fresh-bookworm; made here the same way when missing, a few minutes). It runs in a mount
namespace of its own with the host's /proc, /sys and /dev and a bpffs of its own: the
package's postrm removes /sys/fs/bpf/vigil, which must never be the host's. The agent
gets a network namespace of its own too, so the installed configuration's metrics port
cannot meet another agent's on this machine."""
import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import BUILD, REPO

BASE = os.environ.get("FRESH_DIR", "/var/tmp/fresh-bookworm")
UNIT = "/lib/systemd/system/vigil.service"
CONFIG = "/etc/vigil/vigil.yaml"
RULES = "/etc/vigil/vigil_rules.yaml"
LOCAL_RULES = "/etc/vigil/vigil_rules.local.yaml"
ALERTS = "/var/log/vigil/alerts.jsonl"
ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
       "HOME=/root", "DEBIAN_FRONTEND=noninteractive"]

# Run by `unshare --mount --fork` with the root's path: the root becomes the namespace's
# root (pivot_root, as fresh-root.sh does), then this shell says its pid and sleeps; every
# step enters its namespace and root with nsenter.
ANCHOR = r"""
set -e
r=$1
mount --make-rprivate /
mount --bind "$r" "$r"
for m in proc sys dev; do mount --rbind "/$m" "$r/$m"; done
mount -t bpf bpf "$r/sys/fs/bpf"
cd "$r"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
echo "ready $$"
exec sleep infinity
"""


def apt_mirror():
    """The Debian mirror this machine's apt uses (deb822 .sources or sources.list), as
    fresh-root.sh reads it; not the security archive."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        with open(path) as f:
            found += [u for line in f if line.startswith("URIs:") for u in line.split()[1:]]
    if os.path.exists("/etc/apt/sources.list"):
        with open("/etc/apt/sources.list") as f:
            found += [line.split()[1] for line in f if line.startswith("deb ")
                      and len(line.split()) > 1]
    found = [u for u in found if "security" not in u]
    assert found, "no Debian mirror in /etc/apt/sources.list{,.d/*.sources}"
    return found[0]


def ensure_base():
    """The cached debootstrap base, made as fresh-root.sh makes it (same packages, same
    place and marker, so either reuses the other's) when this machine has none yet. Made
    here rather than through that script: it also runs inside a minimal root, whose apt
    sources are a sources.list."""
    if os.path.exists(os.path.join(BASE, ".done")):
        return
    assert shutil.which("debootstrap"), "debootstrap is missing: run 'make deps'"
    shutil.rmtree(BASE, ignore_errors=True)
    os.makedirs(BASE)
    with open(BASE + ".log", "w") as log:
        p = subprocess.run(["debootstrap", "--variant=minbase",
                            "--include=ca-certificates,git,make,sudo", "bookworm", BASE,
                            apt_mirror()], stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    assert p.returncode == 0, f"debootstrap of {BASE} failed ({p.returncode}): see {BASE}.log"
    try:
        shutil.copy("/etc/resolv.conf", os.path.join(BASE, "etc", "resolv.conf"))
    except OSError:
        pass  # fresh-root.sh's "|| true": name resolution is the mirror's only need
    open(os.path.join(BASE, ".done"), "w").close()


class Root:
    """A copy of the base root, as the root of its own mount namespace."""

    def __init__(self, base):
        self.path = tempfile.mkdtemp(prefix="vigil-pkg-", dir="/var/tmp")
        subprocess.run(["cp", "-a", base + "/.", self.path], check=True)
        self.anchor = subprocess.Popen(["unshare", "--mount", "--fork", "bash", "-c", ANCHOR,
                                        "anchor", self.path], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True)
        line = self.anchor.stdout.readline().split()
        if len(line) != 2 or line[0] != "ready":
            self.anchor.kill()
            pytest.fail("the root's namespace could not be set up:\n" + self.anchor.stderr.read())
        self.pid = int(line[1])

    def file(self, path):
        """A path of the root as the host sees it (not below /proc, /sys or /dev)."""
        return os.path.join(self.path, path.lstrip("/"))

    def cmd(self, *args):
        return ["nsenter", "-t", str(self.pid), "-m", "-r", "-w", "--", "env", "-i", *ENV,
                *args]

    def run(self, *args, check=True, timeout=600):
        p = subprocess.run(self.cmd(*args), capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        if check and p.returncode != 0:
            pytest.fail(f"in the root, {shlex.join(args)} exited {p.returncode}:\n"
                        f"{p.stdout[-3000:]}{p.stderr[-3000:]}")
        return p

    def close(self):
        os.kill(self.pid, signal.SIGKILL)
        self.anchor.wait()
        shutil.rmtree(self.path, ignore_errors=True)


def unit_service(path):
    """The [Service] section of a unit file: key -> list of values, in order."""
    section, keys = None, {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]":
                k, _, v = line.partition("=")
                keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def unit_caps(svc):
    """CapabilityBoundingSet= as setpriv's --bounding-set: the unit's set and no other."""
    caps = [c for v in svc.get("CapabilityBoundingSet", []) for c in v.split()]
    assert caps and not any(c.startswith("~") for c in caps), \
        f"the unit should list the capabilities it keeps: {caps}"
    return "-all," + ",".join("+" + c.lower().removeprefix("cap_") for c in caps)


@pytest.fixture(scope="module")
def deb():
    p = subprocess.run(["make", "-s", "--no-print-directory", "deb", f"BUILD={BUILD}"],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"make deb failed:\n{p.stdout}{p.stderr}"
    path = p.stdout.strip().splitlines()[-1]
    path = os.path.join(REPO, path)
    assert re.fullmatch(r"vigil_[0-9][A-Za-z0-9.+~]*_[a-z0-9]+\.deb", os.path.basename(path)), path
    assert os.path.isfile(path), path
    return path


@pytest.fixture()
def root():
    assert os.geteuid() == 0, "the package test installs into a root of its own: run as root"
    ensure_base()
    r = Root(BASE)
    yield r
    r.close()


def start_as_the_unit_does(root, svc):
    """The unit's ExecStart in the root, with its bounding set and no new privileges,
    in a network namespace of its own with loopback up; stdout and stderr to files."""
    assert svc.get("NoNewPrivileges") == ["yes"], "the unit should set NoNewPrivileges=yes"
    assert "User" not in svc, "the agent runs as root (BPF, /proc of every process)"
    exec_start = shlex.split(svc["ExecStart"][-1])
    assert exec_start[0].startswith("/"), exec_start
    # systemd makes the RuntimeDirectory with its mode before the start
    for d in svc.get("RuntimeDirectory", []):
        os.makedirs(root.file("/run/" + d), exist_ok=True)
        os.chmod(root.file("/run/" + d), int(svc.get("RuntimeDirectoryMode", ["0755"])[-1], 8))
    ip = shutil.which("ip")
    assert ip, "ip (iproute2) is missing: run 'make deps'"
    out = open(root.file("/tmp/agent.out"), "wb")
    err = open(root.file("/tmp/agent.err"), "wb")
    cmd = ["unshare", "--net", "--", "sh", "-c", f'{ip} link set lo up && exec "$@"', "agent",
           *root.cmd("setpriv", "--no-new-privs", "--inh-caps=-all",
                     "--bounding-set=" + unit_caps(svc), "--", *exec_start)]
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    out.close()
    err.close()
    return proc


def agent_log(root):
    with open(root.file("/tmp/agent.err"), errors="replace") as f:
        return f.read()


def wait(pred, timeout, what, proc=None, log=lambda: ""):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the agent exited ({proc.returncode}) waiting for {what}:\n{log()}")
        if time.time() > deadline:
            pytest.fail(f"no {what} within {timeout} s:\n{log()}")
        time.sleep(0.2)


def status(root):
    p = root.run("vigil", "status", "--json")
    return json.loads(p.stdout)


def alerts(root):
    try:
        with open(root.file(ALERTS)) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def test_package_installs_runs_and_purges(deb, root):
    name = os.path.basename(deb)
    shutil.copy(deb, root.file("/tmp/" + name))

    # --- install: the dependencies come from the mirror ---
    root.run("apt-get", "update", "-q")
    root.run("apt-get", "install", "-y", "-q", "/tmp/" + name)
    st = root.run("dpkg-query", "-W", "-f", "${Status} ${Version}", "vigil").stdout
    assert st == "install ok installed " + name.split("_")[1], st
    # the binary is the one this tree built (the version names it)
    built = subprocess.run([os.path.join(BUILD, "vigil"), "version"], capture_output=True,
                           text=True, check=True).stdout.split()[:2]
    assert root.run("vigil", "version").stdout.split()[:2] == built

    listed = root.run("dpkg", "-L", "vigil").stdout.split("\n")
    files = [p for p in listed if p.startswith("/") and not os.path.isdir(root.file(p))]
    for path in ("/usr/sbin/vigil", CONFIG, RULES, LOCAL_RULES, UNIT, "/var/log/vigil",
                 "/usr/share/doc/vigil/copyright", "/usr/share/doc/vigil/examples/vigil.yaml"):
        assert path in listed, f"{path} is not in the package: {listed}"
        assert os.path.exists(root.file(path)), f"{path} was not installed"
    with open(root.file("/var/lib/dpkg/info/vigil.conffiles")) as f:
        assert sorted(f.read().split()) == sorted([CONFIG, RULES, LOCAL_RULES])

    # the rule files the configuration names are the built-in ruleset, and they pass check
    root.run("vigil", "rules", "check", RULES, LOCAL_RULES)
    builtin = root.run("vigil", "rules", "list").stdout
    assert builtin and root.run("vigil", "rules", "list", RULES, LOCAL_RULES).stdout == builtin

    svc = unit_service(root.file(UNIT))
    assert svc.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], svc.get("ExecReload")
    assert os.access(root.file("/bin/kill"), os.X_OK), "/bin/kill (procps) was not installed"
    assert svc.get("Restart") == ["on-failure"]
    assert shlex.split(svc["ExecStart"][-1])[-2:] == ["--config", CONFIG]

    # --- the agent as the unit starts it, with a rule of the administrator's ---
    marker = f"vigil-pkg-{os.getpid()}-{time.monotonic_ns()}"
    with open(root.file(LOCAL_RULES), "a") as f:
        f.write(f"""
- rule: Package test marker
  desc: the package test ran its marker command
  condition: evt.type in (execve, execveat) and proc.cmdline contains "{marker}"
  output: marker seen (cmdline=%proc.cmdline)
  priority: NOTICE
  tags: [test]
""")
    agent = start_as_the_unit_does(root, svc)
    try:
        log = lambda: agent_log(root)  # noqa: E731
        wait(lambda: "vigil: monitoring" in agent_log(root), 180, "'vigil: monitoring'", agent,
             log)
        s = status(root)
        assert s["rule_files"] == [RULES, LOCAL_RULES]
        n_builtin = len(re.findall(r"^- rule: ", open(root.file(RULES)).read(), re.M))
        assert s["rules"]["loaded"] == n_builtin + 1, s["rules"]
        assert all(p["enabled"] for p in s["programs"] if p["kind"] == "tracepoint"), \
            s["programs"]
        # the configuration's metrics endpoint, in the agent's network namespace
        ready = subprocess.run(["nsenter", f"--net=/proc/{agent.pid}/ns/net", sys.executable, "-c",
                                "import urllib.request as u; "
                                "print(u.urlopen('http://127.0.0.1:9376/readyz').status)"],
                               capture_output=True, text=True, timeout=30)
        assert ready.stdout.strip() == "200", ready.stdout + ready.stderr

        root.run("sh", "-c", "exit 0", marker)
        al = wait(lambda: [a for a in alerts(root) if a.get("rule") == "Package test marker"],
                  30, "alert in " + ALERTS, agent, log)[0]
        assert marker in al["output"]
        with open(root.file("/tmp/agent.out"), errors="replace") as f:
            assert marker in f.read(), "the stdout output (the journal) did not get the alert"

        # systemctl reload: ExecReload's SIGHUP reloads the rule files
        before = s["rules"]["reloads"]
        os.kill(agent.pid, signal.SIGHUP)
        wait(lambda: status(root)["rules"]["reloads"] > before, 60, "reload after SIGHUP",
             agent, log)
        assert status(root)["rules"]["reload_errors"] == 0

        # systemctl stop: SIGTERM, and a clean exit
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=60) == 0, agent_log(root)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()

    # --- the unit, where systemd is installed ---
    root.run("apt-get", "install", "-y", "-q", "systemd")
    v = root.run("systemd-analyze", "verify", UNIT, check=False)
    assert v.returncode == 0 and not v.stdout.strip() and not v.stderr.strip(), \
        f"systemd-analyze verify ({v.returncode}):\n{v.stdout}{v.stderr}"
    root.run("systemctl", "enable", "vigil.service")
    wants = root.file("/etc/systemd/system/multi-user.target.wants/vigil.service")
    assert os.path.islink(wants)

    # --- purge: nothing of the package is left ---
    root.run("apt-get", "purge", "-y", "-q", "vigil")
    gone = root.run("dpkg-query", "-W", "-f", "${Status}", "vigil", check=False)
    assert gone.returncode != 0 or gone.stdout.startswith("unknown ok not-installed"), \
        gone.stdout
    left = [p for p in files if os.path.lexists(root.file(p))]
    assert not left, f"purge left the package's files: {left}"
    assert not os.path.lexists(wants), "purge left the enablement link"
    assert not os.path.exists(root.file("/etc/vigil"))
    assert not os.path.exists(root.file("/var/log/vigil"))
    assert root.run("test", "-e", "/sys/fs/bpf/vigil", check=False).returncode == 1, \
        "purge left the agent's pin directory"
    named = root.run("find", "/", "-xdev", "-name", "*vigil*", "!", "-path", "/tmp/" + name)
    assert not named.stdout.strip(), f"left after purge:\n{named.stdout}"
