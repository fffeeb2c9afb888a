"""Precision of the default rules: ordinary administration and development work on a host
raises no alert of priority warning or above.

One vigil with the built-in rules watches the module. Each test does one kind of work
for real: building vigil from a clone and running its unit tests, git, installing,
reinstalling and purging a package, a podman container's life, a cron daemon running a
job and being restarted as a service, python and shell tooling, ssh-keygen. The alerts
of the processes the work started (followed through fork events, in stream order, so a
pid the kernel hands out again later is not mistaken for one of them) are collected:
none may be warning or above, and the last test prints how many notices there were.

The event stream is printed to follow the forks. That widens the kernel prefilter,
which can only add alerts: "no alert" holds as deployed too.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

import conftest
from conftest import PODMAN, PODMAN_RUN, REPO

CHUNK = 16 << 20
LOUD = {"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING"}
NOTICES = {}  # test name -> the notice-level alerts its work raised

HELLO_C = "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n"
HELLO_MK = "hello: hello.c\n\t$(CC) -O2 -o $@ $<\nrun: hello\n\t./hello\n"


class Lineage:
    """The processes descending from one root, followed through the agent's stream.
    An alert is written after the events evaluated with it, so it may come after its
    process's exit: a pid that exited stays the lineage's for alerts of events before
    its exit (alerts carry their event's time), until a fork gives the pid out again."""

    def __init__(self, path, root):
        self.path, self.offset, self.partial = path, 0, b""
        self.live = {root}
        self.exited = {}  # pid -> the time of its exit event (RFC 3339, fixed width)
        self.root = root
        self.alerts = []

    def ours(self, pid, when):
        return pid in self.live or (pid in self.exited and when <= self.exited[pid])

    def read(self):
        """Follows the stream to its current end, a bounded chunk at a time (building
        vigil makes a stream of gigabytes)."""
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            while True:
                data = f.read(CHUNK)
                if not data:
                    return
                self.offset += len(data)
                lines = (self.partial + data).split(b"\n")
                self.partial = lines.pop()
                self.follow(lines)

    def follow(self, lines):
        for line in lines:
            # only alerts, forks and exits matter: the rest is not even parsed (an event
            # line starts with its time, then its type)
            if line.startswith(b'{"hostname"'):
                obj = json.loads(line)
                # the root itself only sets the work up (e.g. writes a cron table)
                pid = obj["output_fields"].get("proc.pid")
                if pid != self.root and self.ours(pid, obj["time"]):
                    self.alerts.append(obj)
            elif b'"type":"fork"' in line[:64]:
                obj = json.loads(line)
                child = obj["child"]["pid"]
                # a new thread's id is no process's (alerts name the process)
                if not obj["child"]["thread"]:
                    self.exited.pop(child, None)
                    if obj["proc"]["pid"] in self.live:
                        self.live.add(child)
                    else:
                        self.live.discard(child)
            elif b'"type":"exit"' in line[:64]:
                obj = json.loads(line)
                pid = obj["proc"]["pid"]
                if pid in self.live and pid != self.root:
                    self.live.discard(pid)
                    self.exited[pid] = obj["time"]

    def take(self):
        """The alerts of the lineage read since the last take."""
        self.read()
        got, self.alerts = self.alerts, []
        return got


@pytest.fixture(scope="module")
def agent(tmp_path_factory, request):
    conftest._check_can_run()
    v = conftest.Vigil(str(tmp_path_factory.mktemp("vigil-benign")), [], events=True)
    yield v
    assert v.stop() == 0, "vigil did not stop cleanly:\n" + v.stderr()
    # for the record: the notices the work raised, by rule
    by_rule = {}
    for alerts in NOTICES.values():
        for a in alerts:
            by_rule[a["rule"]] = by_rule.get(a["rule"], 0) + 1
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nbenign work ({len(NOTICES)} tests): {sum(by_rule.values())} notice alerts"
              + "".join(f"; {r}: {n}" for r, n in sorted(by_rule.items())))


@pytest.fixture(scope="module")
def lineage(agent):
    return Lineage(agent.out_path, os.getpid())


@pytest.fixture()
def quiet(agent, lineage, request):
    """Yields a function running a command as part of the work; afterwards, a canary
    (a read of /etc/shadow, which alerts) proves the agent saw everything up to it, and
    the work's alerts are checked."""
    lineage.read()
    lineage.take()  # what came before is no part of this work

    def run(cmd, **kw):
        kw.setdefault("timeout", 900)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)
        assert p.returncode == 0, f"{cmd} exited {p.returncode}:\n{p.stdout.decode()[-3000:]}"
        return p.stdout.decode()

    yield run
    canary = subprocess.Popen(["cat", "/etc/shadow"], stdout=subprocess.DEVNULL)
    canary.wait()
    deadline = time.time() + 120
    while not any(a["output_fields"].get("proc.pid") == canary.pid for a in lineage.alerts):
        assert agent.proc.poll() is None, "vigil died:\n" + agent.stderr()
        assert time.time() < deadline, "no alert for the canary's read of /etc/shadow"
        time.sleep(0.2)
        lineage.read()
    alerts = [a for a in lineage.take() if a["output_fields"].get("proc.pid") != canary.pid]
    loud = [f"{a['priority']} {a['rule']}: {a['output']}" for a in alerts
            if a["priority"].upper() in LOUD]
    NOTICES[request.node.name] = [a for a in alerts if a["priority"].upper() not in LOUD]
    assert not loud, "ordinary work raised alerts:\n" + "\n".join(loud)


@pytest.fixture(scope="module")
def clone():
    """A clone of this repository below /srv: where people build, unlike /tmp, and not
    below /home, whose every read-open the printed stream would carry."""
    os.makedirs("/srv", exist_ok=True)
    d = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/srv")
    subprocess.run(["git", "clone", "-q", REPO, os.path.join(d, "vigil")], check=True)
    yield os.path.join(d, "vigil")
    shutil.rmtree(d, ignore_errors=True)


GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="e2e", GIT_AUTHOR_EMAIL="e2e@localhost",
               GIT_COMMITTER_NAME="e2e", GIT_COMMITTER_EMAIL="e2e@localhost")


def test_building_vigil_and_running_its_unit_tests(quiet, clone):
    # the unit tests read Falco's ruleset from beside this repository, not the clone
    falco = os.path.join(os.path.dirname(REPO), "shared", "compat", "falco_rules.yaml")
    quiet(["make", "-C", clone, "-j2", "all", "unit"], timeout=1800,
          env=dict(os.environ, VIGIL_FALCO_RULES=falco))


def test_git(quiet, clone, tmp_path):
    work = str(tmp_path / "work")
    quiet(["git", "clone", "-q", clone, work], env=GIT_ENV)
    for cmd in (["checkout", "-q", "-b", "topic"], ["log", "--oneline", "-n", "5"],
                ["status", "--short"], ["grep", "-q", "vigil"], ["blame", "README.md"]):
        quiet(["git", "-C", work, *cmd], env=GIT_ENV)
    with open(os.path.join(work, "NOTES"), "w") as f:
        f.write("a note\n")
    quiet(["git", "-C", work, "add", "NOTES"], env=GIT_ENV)
    quiet(["git", "-C", work, "commit", "-q", "-m", "a note"], env=GIT_ENV)
    quiet(["git", "-C", work, "stash", "list"], env=GIT_ENV)
    quiet(["git", "-C", work, "gc", "-q"], env=GIT_ENV)


def test_c_build_and_package_install_reinstall_and_purge(quiet, tmp_path):
    src = tmp_path / "hello"
    src.mkdir()
    (src / "hello.c").write_text(HELLO_C)
    (src / "Makefile").write_text(HELLO_MK)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    quiet(["make", "-C", str(src), "hello", "run"])
    deb = build_deb(str(tmp_path), quiet)
    try:
        quiet(["apt-get", "install", "-y", deb], env=env)
        quiet(["apt-get", "install", "-y", "--reinstall", deb], env=env)
        quiet(["dpkg", "-i", deb], env=env)
        quiet(["apt-get", "remove", "--purge", "-y", "vigil-e2e-tune"], env=env)
    finally:
        subprocess.run(["dpkg", "--purge", "vigil-e2e-tune"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def build_deb(d, run):
    """A tiny package touching the places the rules watch: a command in /usr/bin (one
    of them setuid), a conffile in /etc, a systemd unit, and a postinst running
    ldconfig."""
    root = os.path.join(d, "pkg")
    files = {
        "DEBIAN/control": "Package: vigil-e2e-tune\nVersion: 1.0\nArchitecture: all\n"
                          "Maintainer: vigil tests <root@localhost>\n"
                          "Description: vigil tuning test package\n",
        "DEBIAN/conffiles": "/etc/vigil-e2e-tune.conf\n",
        "DEBIAN/postinst": "#!/bin/sh\nset -e\nldconfig\n",
        "usr/bin/vigil-e2e-tune": "#!/bin/sh\necho tune\n",
        "usr/bin/vigil-e2e-tune-suid": "#!/bin/sh\necho suid scripts run unprivileged\n",
        "etc/vigil-e2e-tune.conf": "# nothing\n",
        "usr/lib/systemd/system/vigil-e2e-tune.service":
            "[Service]\nExecStart=/usr/bin/vigil-e2e-tune\n",
    }
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755 if "bin/" in rel or "postinst" in rel else 0o644)
    os.chmod(os.path.join(root, "usr/bin/vigil-e2e-tune-suid"), 0o4755)
    deb = os.path.join(d, "vigil-e2e-tune_1.0_all.deb")
    run(["dpkg-deb", "--build", "--root-owner-group", root, deb])
    return deb


def test_a_podman_containers_life(quiet, busybox_image):
    name = "vigil-benign-" + os.urandom(4).hex()
    try:
        quiet(PODMAN + ["run", "-d", "--name", name, "--network", "none",
                        *PODMAN_RUN[PODMAN_RUN.index("--ulimit"):], busybox_image,
                        "sleep", "300"])
        quiet(PODMAN + ["exec", name, "ls", "/"])
        quiet(PODMAN + ["exec", name, "sh", "-c", "echo hi > /hi && cat /hi"])
        quiet(PODMAN + ["logs", name])
        quiet(PODMAN + ["inspect", name])
        quiet(PODMAN + ["stop", "-t", "1", name])
        quiet(PODMAN + ["start", name])
        quiet(PODMAN + ["stop", "-t", "1", name])
    finally:
        subprocess.run(PODMAN + ["rm", "-f", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def cron_running():
    return subprocess.run(["service", "cron", "status"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def test_a_cron_run_and_a_service_restart(quiet):
    """The cron service started (or restarted, when it runs), a job of /etc/cron.d run by
    it, then the service restarted; left as it was found."""
    assert shutil.which("cron"), "cron is missing: run 'make deps' (scripts/deps.sh)"
    was_running = cron_running()
    tag = "vigil-e2e-benign-" + os.urandom(4).hex()
    marker = f"/var/tmp/{tag}.ran"
    job = f"/etc/cron.d/{tag.replace('.', '-')}"
    with open(job, "w") as f:
        f.write(f"* * * * * root cd /var/tmp && tar czf {tag}.tgz -C /etc hostname "
                f"&& gzip -t {tag}.tgz && date > {marker}\n")
    try:
        quiet(["service", "cron", "restart" if was_running else "start"])
        deadline = time.time() + 150  # cron looks at its tables once a minute
        while not os.path.exists(marker):
            assert time.time() < deadline, "the cron job did not run"
            time.sleep(1)
        quiet(["service", "cron", "restart"])
    finally:
        os.unlink(job)
        for p in (marker, f"/var/tmp/{tag}.tgz"):
            if os.path.exists(p):
                os.unlink(p)
        if not was_running:
            subprocess.run(["service", "cron", "stop"], stdout=subprocess.DEVNULL)


def test_python_and_shell_tooling(quiet, clone, tmp_path):
    venv = str(tmp_path / "venv")
    quiet(["python3", "-m", "venv", venv])
    quiet([os.path.join(venv, "bin", "pip"), "--version"])
    quiet([os.path.join(venv, "bin", "python"), "-c", "import json, sqlite3, ssl"])
    quiet(["python3", "-m", "compileall", "-q", os.path.join(clone, "tests", "e2e")])
    script = (f"cd {clone} && find . -name '*.c' | xargs grep -l include | sort | head -5 "
              "&& grep -rn TODO src | wc -l && sed -n 1,5p README.md | awk '{print NF}' "
              f"&& tar czf {tmp_path}/src.tgz src && tar tzf {tmp_path}/src.tgz | wc -l "
              "&& ps aux | head -3 && id && uname -a && df -h . && du -sh src")
    quiet(["bash", "-c", script])


def test_ssh_keygen(quiet):
    home = tempfile.mkdtemp(prefix="vigil-e2e-", dir="/home")
    try:
        env = dict(os.environ, HOME=home)
        os.mkdir(os.path.join(home, ".ssh"), 0o700)
        key = os.path.join(home, ".ssh", "id_ed25519")
        quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", key], env=env)
        quiet(["ssh-keygen", "-l", "-f", key], env=env)
        quiet(["ssh-keygen", "-y", "-f", key], env=env)
        quiet(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "",
               "-f", os.path.join(home, ".ssh", "id_rsa")], env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


