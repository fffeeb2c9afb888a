"""vigil's container image (make image), run the way a DaemonSet runs it: privileged, in
the host's pid, cgroup, network and UTS namespaces, with the host's BTF, bpffs, tracefs
and cgroup tree, the container runtimes' sockets and state, and its rules from a mounted
directory laid out as a ConfigMap volume is. From inside its container it must see what
the host and the other containers do, and pick up edits of the mounted rules."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from conftest import BUILD, PODMAN, PODMAN_RUN, REPO, VIGIL, PodmanApi, Vigil

IMAGE = "localhost/vigil:latest"
# conftest's: this machine refuses raising a container's rlimits
ULIMITS = PODMAN_RUN[PODMAN_RUN.index("--ulimit"):]
RULES_DIR = "/etc/vigil/rules.d"  # where the image's configuration looks for rules.yaml
NONCE = f"{os.getpid()}-{int(time.time())}"
CANARY = f"/tmp/vigil-image-canary-{NONCE}"  # read on the host and inside a container

# the output names the container three ways: the id from the cgroup, and the name and
# image that the runtime's metadata gives
CANARY_RULE = f"""
- rule: Image test canary read
  desc: test rule
  condition: evt.type in (open, openat, openat2) and fd.name = {CANARY}
  output: "canary read (file=%fd.name proc=%proc.name pid=%proc.pid container=%container.id
    name=%container.name image=%container.image.repository)"
  priority: WARNING
  tags: [test]
"""


def marker_rule(n):
    """A rule that only the n-th edit of the rules file brings in."""
    return f"""
- rule: Image test marker {n}
  desc: test rule added by an edit
  condition: evt.type in (open, openat, openat2) and fd.name = {CANARY}-marker-{n}
  output: "marker {n} read (file=%fd.name pid=%proc.pid)"
  priority: WARNING
  tags: [test]
"""


# What a DaemonSet gives the agent, as podman flags; README's "Run as a container" says
# why each is there.
DAEMONSET_FLAGS = [
    "--privileged",        # BPF programs, perf/tracefs, bpffs, /proc/PID/root of all
    "--pid=host",          # its /proc is the host's: the process table, ancestry, roots
    "--cgroupns=host",     # /proc/PID/cgroup paths from the host's root, not its own
    "--network=host",      # XDP and socket responses on the host's interfaces, metrics
    "--uts=host",          # the alerts' hostname is the node's
    "-v", "/sys/kernel/btf:/sys/kernel/btf:ro",
    "-v", "/sys/kernel/tracing:/sys/kernel/tracing",
    "-v", "/sys/fs/bpf:/sys/fs/bpf",       # pinned blocks outlive the container
    "-v", "/sys/fs/cgroup:/sys/fs/cgroup",  # the host's whole tree, v2 included
]


def runtime_mounts(api_socket):
    """The runtimes' sockets and state, read-only at the same paths: the container
    metadata (names, images) comes from them. podman's (runc's state, the bundles'
    config.json, and its API socket, at the path the agent asks by default) must be
    there; containerd's when it exists."""
    # runc makes its state directory with the first container: make it now, as it would
    os.makedirs("/run/runc", mode=0o700, exist_ok=True)
    bundles = "/var/lib/containers/storage/overlay-containers"
    assert os.path.isdir(bundles), f"{bundles} is missing: podman's storage is not set up"
    paths = ["/run/runc", bundles]
    # /run/containerd holds containerd.sock too
    paths += [p for p in ("/run/containerd",) if os.path.exists(p)]
    return [a for p in paths for a in ("-v", f"{p}:{p}:ro")] + [
        "-v", f"{api_socket}:/run/podman/podman.sock"]


class ImageAgent(Vigil):
    """vigil in its image, started detached; its alerts are read from `podman logs -f`,
    as a cluster's log collector would. Vigil's readers work unchanged on the files."""

    def __init__(self, workdir, name, run_args):
        self.name = name
        self.out_path = os.path.join(workdir, "alerts.jsonl")
        self.err_path = os.path.join(workdir, "vigil.stderr")
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self._start_reading()
        p = subprocess.run(PODMAN + ["run", "-d", "--name", name, *run_args],
                           capture_output=True, text=True)
        assert p.returncode == 0, f"the agent's container did not start:\n{p.stderr}"
        self.proc = subprocess.Popen(PODMAN + ["logs", "-f", name], stdout=self.out,
                                     stderr=self.err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 120
        while b"vigil: monitoring" not in self.stderr_bytes():
            if self.proc.poll() is not None or time.time() > deadline:
                pytest.fail("vigil in its container was not ready ("
                            + self.state() + "):\n" + self.stderr())
            time.sleep(0.1)

    def state(self):
        p = subprocess.run(PODMAN + ["inspect", "--format", "{{.State.Status}} exit={{.State.ExitCode}}",
                                     self.name], capture_output=True, text=True)
        return p.stdout.strip() or p.stderr.strip()

    def reloads(self):
        return self.stderr().count("vigil: rules reloaded")

    def wait_reloads(self, n, timeout=20):
        deadline = time.time() + timeout
        while self.reloads() < n:
            assert time.time() < deadline, (f"no reload #{n} within {timeout} s:\n"
                                             + self.stderr()[-3000:])
            time.sleep(0.05)

    def stop(self):
        """Stops the container as a node drain does (SIGTERM); its exit code."""
        subprocess.run(PODMAN + ["stop", "-t", "30", self.name], capture_output=True)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.err.close()
        self.stop_reading()
        p = subprocess.run(PODMAN + ["inspect", "--format", "{{.State.ExitCode}}", self.name],
                           capture_output=True, text=True, check=True)
        return int(p.stdout)


def write_in_place(path, text):
    """An edit as `cat > rules.yaml` makes it: the same file, truncated and rewritten."""
    with open(path, "w") as f:
        f.write(text)


def cat_pid(path):
    """A host process (not the test itself) opens path; its pid."""
    p = subprocess.Popen(["cat", path], stdout=subprocess.DEVNULL)
    assert p.wait(timeout=10) == 0
    return p.pid


@pytest.fixture(scope="module")
def image():
    """Builds the image (a cached Debian root: quick after the first build)."""
    if os.geteuid() != 0:
        pytest.fail("the image test builds an image and runs a privileged container: needs root")
    p = subprocess.run(["make", "-C", REPO, "--no-print-directory", "image", f"BUILD={BUILD}"],
                       capture_output=True, text=True, timeout=1800)
    assert p.returncode == 0, f"make image failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    assert "image: localhost/vigil:" in p.stdout, p.stdout
    return IMAGE


@pytest.fixture(scope="module")
def rules_dir():
    d = tempfile.mkdtemp(prefix="vigil-image-rules-")
    with open(os.path.join(d, "rules.yaml"), "w") as f:
        f.write(CANARY_RULE)
    with open(CANARY, "w") as f:
        f.write("canary\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)
    for p in (CANARY, *(f"{CANARY}-marker-{n}" for n in range(1, 4))):
        if os.path.exists(p):
            os.unlink(p)


@pytest.fixture(scope="module")
def agent(image, rules_dir, tmp_path_factory):
    name = f"vigil-image-agent-{NONCE}"
    api = PodmanApi(str(tmp_path_factory.mktemp("podman-api")))
    args = [*ULIMITS, "--log-driver", "k8s-file", *DAEMONSET_FLAGS, *runtime_mounts(api.path),
            "-v", f"{rules_dir}:{RULES_DIR}:ro",
            # the image's command line, with a metrics port of its own: tests run
            # beside other agents on this host's network
            image, "run", "--config", "/etc/vigil/vigil.yaml", "--metrics-listen", "127.0.0.1:0"]
    try:
        a = ImageAgent(str(tmp_path_factory.mktemp("image-agent")), name, args)
        yield a
        rc = a.stop()
        assert rc == 0, f"vigil in its container did not stop cleanly ({rc}):\n" + a.stderr()
    finally:
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], capture_output=True)
        api.stop()


@pytest.fixture(scope="module")
def probe(busybox_image, agent):
    """Another container that reads the canary inside itself (after the agent is up)."""
    name = f"vigil-image-probe-{NONCE}"
    try:
        p = subprocess.run(PODMAN_RUN + ["-d", "--name", name, busybox_image, "/bin/sh", "-c",
                                         f"echo x > {CANARY}; cat {CANARY}; sleep 120"],
                           capture_output=True, text=True)
        assert p.returncode == 0, f"the probe container did not start:\n{p.stderr}"
        yield p.stdout.strip(), name
    finally:
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], capture_output=True)


def canary_alert(agent, pred, what):
    return agent.wait_alert(lambda a: a["rule"] == "Image test canary read" and pred(a),
                            timeout=20, what=what)


def probe_read(agent, cid):
    """The alert of the probe's cat (its shell's `echo >` opens the canary too)."""
    return canary_alert(agent, lambda a: a["output_fields"]["container.id"] == cid[:12] and
                        a["output_fields"]["proc.name"] == "cat", "the probe container's cat")


def test_image_is_small_with_vigil_and_no_compiler(image):
    fmt = "{{.Size}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} " \
          "{{index .Config.Labels \"org.opencontainers.image.version\"}}"
    out = subprocess.run(PODMAN + ["image", "inspect", "--format", fmt, image],
                         capture_output=True, text=True, check=True).stdout.split(" ", 3)
    size, entrypoint, cmd, version = int(out[0]), json.loads(out[1]), json.loads(out[2]), out[3].strip()
    assert size < 150_000_000, f"the image is {size / 1e6:.0f} MB"
    assert entrypoint == ["/usr/bin/vigil"]
    assert cmd == ["run", "--config", "/etc/vigil/vigil.yaml"]
    built = subprocess.run([VIGIL, "version"], capture_output=True, text=True, check=True).stdout
    assert version == built.split()[1], "the tag and label are the built binary's version"
    # inside: the binary runs, its configuration and rules check, and nothing compiles
    script = ("vigil version && vigil rules check /etc/vigil/vigil_rules.yaml "
              "/etc/vigil/rules.d/rules.yaml && "
              "for c in gcc cc c99 clang tcc as ld cpp; do "
              "  command -v $c && exit 3; done; ls /usr/share/man /usr/share/doc/*/changelog* "
              "/var/lib/apt/lists/*_Packages 2>/dev/null && exit 4; true")
    p = subprocess.run(PODMAN_RUN + ["--entrypoint", "/bin/sh", image, "-c", script],
                       capture_output=True, text=True)
    assert p.returncode == 0, f"exit {p.returncode}:\n{p.stdout}\n{p.stderr}"
    assert p.stdout.startswith("vigil " + built.split()[1])
    assert "2 file(s) OK" in p.stdout


def test_sees_a_host_process(agent):
    pid = cat_pid(CANARY)
    al = canary_alert(agent, lambda a: a["output_fields"]["proc.pid"] == pid,
                      "the host's canary read")
    f = al["output_fields"]
    assert f["fd.name"] == CANARY and f["proc.name"] == "cat"
    assert f["container.id"] == "host"
    assert al["hostname"] == socket.gethostname(), "--uts=host: the node's name"


def test_sees_a_process_in_another_container(agent, probe):
    cid, _ = probe
    al = probe_read(agent, cid)
    f = al["output_fields"]
    assert f["fd.name"] == CANARY
    assert (f"canary read (file={CANARY} proc=cat pid={f['proc.pid']} container={cid[:12]} "
            in al["output"])


def test_names_the_other_containers_name_and_image(agent, probe, busybox_image):
    """The name and image come from the runtime, after the container's first events:
    once the agent has them, a read in the probe carries them."""
    cid, name = probe
    repository = busybox_image.rsplit(":", 1)[0]
    deadline = time.time() + 60
    while True:
        subprocess.run(PODMAN + ["exec", name, "cat", CANARY], capture_output=True, timeout=60)
        named = [a for a in agent.alerts() if a["rule"] == "Image test canary read" and
                 a["output_fields"]["container.id"] == cid[:12] and
                 a["output_fields"]["container.name"] == name]
        if named:
            break
        assert time.time() < deadline, "no alert names the probe container: " + str(
            [a["output_fields"] for a in agent.alerts()][-3:])
        time.sleep(1)
    f = named[0]["output_fields"]
    assert f["container.image.repository"] == repository
    assert f"name={name} image={repository})" in named[0]["output"]


def test_edits_of_the_mounted_rules_reload(agent, rules_dir):
    path = os.path.join(rules_dir, "rules.yaml")
    for n in (1, 2, 3):
        with open(f"{CANARY}-marker-{n}", "w") as f:
            f.write("marker\n")

    def fires(n):
        pid = cat_pid(f"{CANARY}-marker-{n}")
        agent.wait_alert(lambda a: a["rule"] == f"Image test marker {n}" and
                         a["output_fields"]["proc.pid"] == pid, timeout=20,
                         what=f"marker {n}'s alert")

    # 1. the file rewritten in place, as a host path mount is edited
    before = agent.reloads()
    write_in_place(path, CANARY_RULE + marker_rule(1))
    agent.wait_reloads(before + 1)
    fires(1)

    # 2. the directory becomes a ConfigMap volume as the kubelet writes one: the data in a
    #    timestamped directory, "..data" pointing at it, rules.yaml a symlink through it
    os.mkdir(os.path.join(rules_dir, "..v1"))
    write_in_place(os.path.join(rules_dir, "..v1", "rules.yaml"),
                   CANARY_RULE + marker_rule(1) + marker_rule(2))
    os.symlink("..v1", os.path.join(rules_dir, "..data"))
    os.symlink("..data/rules.yaml", os.path.join(rules_dir, "rules.yaml.new"))
    before = agent.reloads()
    os.rename(os.path.join(rules_dir, "rules.yaml.new"), path)
    agent.wait_reloads(before + 1)
    fires(2)

    # 3. the ConfigMap changes: the kubelet writes a new directory and swaps "..data" in
    #    one rename; rules.yaml itself is not touched
    os.mkdir(os.path.join(rules_dir, "..v2"))
    write_in_place(os.path.join(rules_dir, "..v2", "rules.yaml"),
                   CANARY_RULE + marker_rule(3))
    os.symlink("..v2", os.path.join(rules_dir, "..data_tmp"))
    before = agent.reloads()
    os.rename(os.path.join(rules_dir, "..data_tmp"), os.path.join(rules_dir, "..data"))
    shutil.rmtree(os.path.join(rules_dir, "..v1"))
    agent.wait_reloads(before + 1)
    fires(3)
    # the rules the swap removed are gone
    pid = cat_pid(f"{CANARY}-marker-1")
    time.sleep(1)
    assert not [a for a in agent.alerts() if a["rule"] == "Image test marker 1" and
                a["output_fields"]["proc.pid"] == pid], "a removed rule still fired"


def test_health_and_control_reach_the_agent(agent):
    # the mounts give it all it has on the host (without the host's cgroup v2 tree it
    # says "blocking and isolation are not available")
    assert "not available" not in agent.stderr(), agent.stderr()
    port = None
    for line in agent.stderr().splitlines():
        if line.startswith("vigil: metrics on ") and "(port " in line:
            port = int(line.rsplit("(port ", 1)[1].rstrip(")"))
    assert port, agent.stderr()
    # --network=host: the node's probes reach it
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
        assert r.status == 200
    p = subprocess.run(PODMAN + ["exec", agent.name, "vigil", "status", "--json"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    st = json.loads(p.stdout)
    assert st["ok"] is True
