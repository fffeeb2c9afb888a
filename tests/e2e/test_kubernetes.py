"""Kubernetes manifests (deploy/kubernetes/), checked without a cluster:

- every object against the API's schemas, the Prometheus operator's CRD included, and
  for unknown fields (tests/k8s/validate.mjs, npm packages pinned in tests/k8s/), and
  the validator itself against deliberately broken copies;
- that the objects fit together (selectors, ports, volumes, paths, the config's files);
- the rules ConfigMap's hot reload: a running agent on the deployed configuration,
  its rules in a directory laid out as the kubelet lays out a ConfigMap volume, updated
  the way the kubelet updates it (a new directory, one rename of the ..data link);
- the DaemonSet's privileges, host namespaces, mounts and limits, given to runc through
  podman: the agent starts with exactly those, answers its probes, sees the host's
  processes and stops cleanly.
"""
import copy
import ctypes
import glob
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

import conftest
from conftest import BUILD, PODMAN, REPO, VIGIL, Vigil

K8S = os.path.join(REPO, "deploy", "kubernetes")
NPM_SRC = os.path.join(REPO, "tests", "k8s")
NODE_PREFIX = os.path.join(BUILD, "k8s-node")
DEFAULT_RULES = os.path.join(REPO, "rules", "vigil_rules.yaml")
# where the image holds the default ruleset, and where the DaemonSet mounts the rules
IMAGE_DEFAULT_RULES = "/etc/vigil/vigil_rules.yaml"
RULES_MOUNT = "/etc/vigil/rules.d"
TEST_IMAGE = "localhost/vigil-k8s-test:latest"


# ---- the manifests ----

def load_manifests():
    """Every YAML document below deploy/kubernetes/, as [(source, object)], in the
    order `kubectl apply -f` takes them (file names, then documents)."""
    files = sorted(glob.glob(os.path.join(K8S, "**", "*.yaml"), recursive=True))
    assert files, f"no manifests in {K8S}"
    out = []
    for path in files:
        with open(path) as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                assert isinstance(doc, dict), f"{path}: document {i} is not a mapping"
                out.append((f"{os.path.relpath(path, REPO)}#{i}", doc))
    return out


def find(objs, kind, name=None):
    hits = [o for _, o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(hits) == 1, f"expected one {kind} {name or ''} in {K8S}, found {len(hits)}"
    return hits[0]


def configmap_data(objs, name):
    return find(objs, "ConfigMap", name)["data"]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


# ---- the validator (npm, pinned by tests/k8s/package-lock.json) ----

@pytest.fixture(scope="module")
def validator():
    """The directory where tests/k8s/ is installed with `npm ci`, reinstalled whenever
    the lock file changes."""
    with open(os.path.join(NPM_SRC, "package-lock.json")) as f:
        lock = f.read()
    stamp = os.path.join(NODE_PREFIX, ".installed-lock")
    installed = open(stamp).read() if os.path.exists(stamp) else None
    if installed != lock or not os.path.isdir(os.path.join(NODE_PREFIX, "node_modules")):
        for tool in ("node", "npm"):
            if not shutil.which(tool):
                pytest.fail(f"{tool} is missing: run 'make deps' (scripts/deps.sh installs it)")
        os.makedirs(NODE_PREFIX, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(NPM_SRC, name), NODE_PREFIX)
        r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_PREFIX,
                           capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"npm ci in {NODE_PREFIX} failed:\n{r.stderr[-3000:]}"
        with open(stamp, "w") as f:
            f.write(lock)
    # ESM resolves packages from the script's own directory: run it from the prefix
    shutil.copy(os.path.join(NPM_SRC, "validate.mjs"), NODE_PREFIX)
    return NODE_PREFIX


def validate(prefix, items):
    """validate.mjs over [(source, object)]: {source: [errors]}."""
    payload = json.dumps([{"source": s, "doc": d} for s, d in items])
    r = subprocess.run(["node", "validate.mjs"], cwd=prefix, input=payload, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, f"validate.mjs failed ({r.returncode}):\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout)
    assert [o["source"] for o in out] == [s for s, _ in items]
    return {o["source"]: o["errors"] for o in out}


def broken_copies(objs):
    """(what is wrong, the broken object, a piece of the message that must say so)."""
    ds, sm = find(objs, "DaemonSet"), find(objs, "ServiceMonitor")
    out = []

    d = copy.deepcopy(ds)
    d["spec"]["template"]["spec"]["hostPID"] = "yes"
    out.append(("hostPID as a string", d, "/spec/template/spec/hostPID: must be boolean"))

    d = copy.deepcopy(ds)
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["readinesProbe"] = c.pop("readinessProbe")
    out.append(("a misspelt field", d, "'\"readinesProbe\"' does not exist in type 'IContainer'"))

    d = copy.deepcopy(ds)
    del d["spec"]["template"]["spec"]["containers"][0]["name"]
    out.append(("a container without a name", d,
                "/spec/template/spec/containers/0: must have required property"))

    d = copy.deepcopy(ds)
    d["spec"]["template"]["spec"]["volumes"][0]["hostPath"] = {"path": "/x", "type": "Dir"}
    out.append(("a hostPath type that does not exist", d, "/hostPath/type: must be equal to one of"))

    d = copy.deepcopy(sm)
    d["spec"]["endpoints"][0]["interval"] = 30
    out.append(("a ServiceMonitor interval as a number", d,
                "/spec/endpoints/0/interval: must be string"))

    d = copy.deepcopy(sm)
    d["spec"]["endpoints"][0]["relabelings"][0]["action"] = "rename"
    out.append(("a relabeling action the operator does not know", d,
                "/spec/endpoints/0/relabelings/0/action: must be equal to one of"))

    d = copy.deepcopy(sm)
    d["kind"] = "ServiceMonitr"
    out.append(("a kind with no schema", d, "no schema for apiVersion monitoring.coreos.com/v1"))
    return out


@pytest.fixture(scope="module")
def verdicts(validator):
    """One run of the validator over the manifests and the broken copies."""
    objs = load_manifests()
    broken = [(f"broken: {what}", doc) for what, doc, _ in broken_copies(objs)]
    return validate(validator, objs + broken)


def test_manifests_pass_the_kubernetes_and_operator_schemas(verdicts):
    objs = load_manifests()
    kinds = sorted(o["kind"] for _, o in objs)
    assert kinds == ["ConfigMap", "ConfigMap", "DaemonSet", "Namespace", "Service",
                     "ServiceMonitor"], kinds
    bad = {s: e for s, e in verdicts.items() if not s.startswith("broken: ") and e}
    assert not bad, "manifests the API would refuse or silently change:\n" + \
        "\n".join(f"{s}: {m}" for s, errs in bad.items() for m in errs)


def test_the_validator_rejects_broken_manifests(verdicts):
    for what, _, expect in broken_copies(load_manifests()):
        errors = verdicts[f"broken: {what}"]
        assert errors, f"the validator accepted {what}"
        assert any(expect in e for e in errors), f"{what}: no error says {expect!r}: {errors}"


# ---- the objects fit together ----

def test_manifests_fit_together():
    objs = load_manifests()
    ns = find(objs, "Namespace")["metadata"]["name"]
    assert objs[0][1]["kind"] == "Namespace", "the namespace must be applied first"
    assert find(objs, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] \
        == "privileged"
    for src, o in objs[1:]:
        assert o["metadata"].get("namespace") == ns, f"{src}: not in namespace {ns}"

    ds = find(objs, "DaemonSet")
    tmpl = ds["spec"]["template"]
    spec, labels = tmpl["spec"], tmpl["metadata"]["labels"]
    assert selects(ds["spec"]["selector"]["matchLabels"], labels)
    assert spec["hostPID"] is True and spec["hostNetwork"] is True
    assert spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["priorityClassName"] == "system-node-critical"
    assert {"operator": "Exists"} in spec["tolerations"], "must tolerate every taint"
    assert spec["automountServiceAccountToken"] is False
    assert not [o for _, o in objs if o["kind"] in ("Role", "ClusterRole", "RoleBinding",
                                                   "ClusterRoleBinding", "ServiceAccount")]
    upd = ds["spec"]["updateStrategy"]
    assert upd["type"] == "RollingUpdate" and upd["rollingUpdate"]["maxSurge"] == 0
    assert upd["rollingUpdate"]["maxUnavailable"]

    [c] = spec["containers"]
    assert c["image"].startswith("localhost/vigil:")
    res = c["resources"]
    assert set(res) == {"requests", "limits"}
    assert set(res["requests"]) == set(res["limits"]) == {"cpu", "memory"}
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert "metrics" in ports
    for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                        ("readinessProbe", "/readyz")):
        get = c[probe]["httpGet"]
        assert (get["path"], get["port"]) == (path, "metrics"), probe
    assert f"--metrics-listen=$(NODE_IP):{ports['metrics']}" in c["args"]
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"

    # every mount has its volume, every ConfigMap volume its ConfigMap
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    assert len(mounts) == len(c["volumeMounts"])
    for m in c["volumeMounts"]:
        assert m["name"] in volumes, f"mount {m['mountPath']}: no volume {m['name']}"
        assert "subPath" not in m, f"{m['mountPath']}: a subPath mount is never updated"
    for v in volumes.values():
        if "configMap" in v:
            find(objs, "ConfigMap", v["configMap"]["name"])
    host = {m["mountPath"]: volumes[m["name"]]["hostPath"]["path"]
            for m in c["volumeMounts"] if "hostPath" in volumes[m["name"]]}
    for path in ("/sys/kernel/btf", "/sys/fs/bpf", "/sys/kernel/tracing", "/sys/fs/cgroup",
                 "/run/containerd", "/run/crio", "/run/runc"):
        assert host.get(path) == path, f"the node's {path} is not mounted at {path}"
    for path in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/run/containerd",
                 "/run/crio", "/run/runc"):
        assert mounts[path].get("readOnly") is True, f"{path} should be read-only"

    # the files the agent is told to read are where the volumes put them
    def mounted_key(path):
        """The (ConfigMap, key) a file path inside the container comes from."""
        d, key = os.path.split(path)
        m = mounts.get(d)
        assert m and "configMap" in volumes[m["name"]], f"{path}: not in a ConfigMap mount"
        cm = volumes[m["name"]]["configMap"]["name"]
        assert key in configmap_data(objs, cm), f"{path}: ConfigMap {cm} has no key {key}"
        return cm, key

    config_arg = [a for a in c["args"] if a.startswith("--config=")]
    assert len(config_arg) == 1
    cm, key = mounted_key(config_arg[0].split("=", 1)[1])
    config = yaml.safe_load(configmap_data(objs, cm)[key])
    assert config["rules_files"][0] == IMAGE_DEFAULT_RULES
    for f in config["rules_files"][1:]:
        mounted_key(f)
    assert os.path.dirname(config["control_socket"]) in mounts
    assert "emptyDir" in volumes[mounts[os.path.dirname(config["control_socket"])]["name"]]
    assert config["actions"]["pin_dir"].startswith("/sys/fs/bpf/")

    # the Service selects the agents, the ServiceMonitor the Service
    svc = find(objs, "Service")
    assert svc["spec"]["type"] == "ClusterIP"
    assert selects(svc["spec"]["selector"], labels)
    [sport] = svc["spec"]["ports"]
    assert sport["name"] == "metrics" and sport["targetPort"] == "metrics"
    assert sport["port"] == ports["metrics"]
    assert svc["metadata"]["name"] == "vigil", "deploy/prometheus/vigil-alerts.yml expects job=vigil"
    sm = find(objs, "ServiceMonitor")
    assert sm["apiVersion"] == "monitoring.coreos.com/v1"
    assert selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
    assert ns in sm["spec"]["namespaceSelector"]["matchNames"]
    assert [e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"]


def test_the_rules_configmap_loads_after_the_default_rules(workdir):
    objs = load_manifests()
    rules = configmap_data(objs, "vigil-rules")["rules.yaml"]
    path = os.path.join(workdir, "rules.yaml")
    with open(path, "w") as f:
        f.write(rules)
    # its commented example, uncommented, must load too
    example = re.findall(r"^# ?(- macro:.*\n(?:#   .*\n)+)", rules, re.M)
    assert len(example) == 1, "the example in vigil-rules is gone"
    with open(os.path.join(workdir, "example.yaml"), "w") as f:
        f.write(re.sub(r"^# ?", "", example[0], flags=re.M))
    for extra in (path, os.path.join(workdir, "example.yaml")):
        r = subprocess.run([VIGIL, "rules", "check", DEFAULT_RULES, extra], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr


# ---- a ConfigMap volume, as the kubelet writes it ----

class ConfigMapVolume:
    """A directory laid out and updated as the kubelet's atomic writer does for a
    ConfigMap volume: each key is a symbolic link KEY -> ..data/KEY, and ..data a link
    to a directory named after the time. An update writes a new such directory, points
    a new link ..data_tmp at it, renames that over ..data (the one atomic step), adds
    links for new keys and removes the old directory. The files are never written in
    place: the names a program was given never change."""

    def __init__(self, path, data, mode=0o444):
        os.makedirs(path)
        os.chmod(path, 0o777)  # the emptyDir under every ConfigMap volume
        self.path, self.mode, self.current = path, mode, None
        self.update(data)

    def update(self, data):
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()) + uuid.uuid4().hex[:9]
        new = os.path.join(self.path, stamp)
        os.mkdir(new)
        os.chmod(new, 0o755)
        for key, text in data.items():
            with open(os.path.join(new, key), "w") as f:
                f.write(text)
            os.chmod(os.path.join(new, key), self.mode)
        tmp = os.path.join(self.path, "..data_tmp")
        os.symlink(stamp, tmp)
        os.rename(tmp, os.path.join(self.path, "..data"))
        for key in data:
            link = os.path.join(self.path, key)
            if not os.path.islink(link):
                os.symlink(os.path.join("..data", key), link)
        if self.current:
            shutil.rmtree(self.current)
        self.current = new


class InotifyLog:
    """The events vigil's watch asks for (close-write, moved-to, create, delete) in one
    directory, to say what an agent saw when it did not react."""
    MASKS = {0x8: "IN_CLOSE_WRITE", 0x80: "IN_MOVED_TO", 0x100: "IN_CREATE",
             0x200: "IN_DELETE", 0x40000000: "IN_ISDIR"}

    def __init__(self, path):
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.fd >= 0 and libc.inotify_add_watch(self.fd, path.encode(), 0x388) >= 0

    def read(self):
        events = []
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            buf = b""
        finally:
            os.close(self.fd)
        p = 0
        while p < len(buf):
            _, mask, _, n = struct.unpack_from("iIII", buf, p)
            name = buf[p + 16:p + 16 + n].rstrip(b"\0").decode()
            events.append("|".join(v for k, v in self.MASKS.items() if mask & k) + " " + name)
            p += 16 + n
        return events


def deployed_config(objs, default_rules, rules_dir, pin_dir):
    """The ConfigMap's vigil.yaml with the container's paths made this machine's: the
    default ruleset at default_rules (the image's copy), the rules from rules_dir, pins
    in a directory of this test's own."""
    text = configmap_data(objs, "vigil-config")["vigil.yaml"]
    for old, new in ((IMAGE_DEFAULT_RULES, default_rules), (RULES_MOUNT + "/", rules_dir + "/"),
                     ("pin_dir: /sys/fs/bpf/vigil\n", f"pin_dir: {pin_dir}\n")):
        assert old in text, f"vigil-config no longer says {old!r}: update this test"
        text = text.replace(old, new)
    return text


def remove_pins(pin_dir):
    if os.path.isdir(pin_dir):
        for name in os.listdir(pin_dir):
            os.unlink(os.path.join(pin_dir, name))
        os.rmdir(pin_dir)


def agent_status(sock):
    r = subprocess.run([VIGIL, "status", "--socket", sock, "--json"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


SWAP_RULE = """
- rule: ConfigMap swap {token}
  desc: added by a ConfigMap update (tests/e2e/test_kubernetes.py)
  condition: evt.type in (execve, execveat) and proc.cmdline contains {token}
  output: "ConfigMap rule (cmdline=%proc.cmdline)"
  priority: WARNING
"""


def test_a_configmap_update_reloads_the_rules(workdir):
    """The deployed configuration and rules, in volumes laid out as the kubelet's; an
    update of the rules ConfigMap, done as the kubelet does it, is in force within
    seconds, without a signal or a restart."""
    conftest._check_can_run()
    objs = load_manifests()
    rules_text = configmap_data(objs, "vigil-rules")["rules.yaml"]
    rules = ConfigMapVolume(os.path.join(workdir, "rules.d"), {"rules.yaml": rules_text})
    # installed as the image has it (0644: a checkout's mode follows its umask)
    default_rules = os.path.join(workdir, "vigil_rules.yaml")
    shutil.copy(DEFAULT_RULES, default_rules)
    os.chmod(default_rules, 0o644)
    pin_dir = f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    config = ConfigMapVolume(os.path.join(workdir, "config"), {
        "vigil.yaml": deployed_config(objs, default_rules, rules.path, pin_dir)})
    v = Vigil(workdir, args=["--config", os.path.join(config.path, "vigil.yaml")], events=False)
    try:
        before = agent_status(v.control_socket)
        assert before["rule_files"] == [default_rules, os.path.join(rules.path, "rules.yaml")]
        token = f"k8s-swap-{uuid.uuid4().hex[:10]}"
        seen = InotifyLog(rules.path)
        rules.update({"rules.yaml": rules_text + SWAP_RULE.format(token=token)})
        deadline = time.time() + 10
        while True:
            now = agent_status(v.control_socket)["rules"]
            if now["reloads"] > before["rules"]["reloads"] or time.time() > deadline:
                break
            time.sleep(0.1)
        events = seen.read()
        assert now["reloads"] == before["rules"]["reloads"] + 1, (
            f"no reload 10 s after the ConfigMap update; in {rules.path} the agent's watch "
            f"saw: {', '.join(events)}\n" + v.stderr()[-2000:])
        assert now["reload_errors"] == 0 and now["loaded"] == before["rules"]["loaded"] + 1
        subprocess.run(["/bin/true", token], check=True)
        v.wait_alert(lambda a: a["rule"] == f"ConfigMap swap {token}", what="the new rule's alert")
    finally:
        rc = v.stop()
        remove_pins(pin_dir)
    assert rc == 0, v.stderr()


# ---- the DaemonSet's security context, mounts and limits, in runc ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quantity(q, unit):
    """A Kubernetes quantity as podman takes it: memory in MiB, CPUs as a number."""
    if unit == "cpu":
        return str(int(q[:-1]) / 1000 if q.endswith("m") else float(q))
    m = re.fullmatch(r"(\d+)(Mi|Gi)", q)
    assert m, f"memory quantity {q}: this test knows Mi and Gi"
    return f"{int(m[1]) * (1024 if m[2] == 'Gi' else 1)}m"


@pytest.fixture(scope="module")
def agent_image(tmp_path_factory):
    """An image with what the DaemonSet expects of localhost/vigil (scripts/image.sh):
    /usr/bin/vigil, the libraries it links, the default ruleset at
    /etc/vigil/vigil_rules.yaml. Built from build/vigil, no registry."""
    conftest._check_can_run()
    root = tmp_path_factory.mktemp("k8s-rootfs")
    for d in ("usr/bin", "lib64", "etc/vigil/rules.d", "run", "tmp", "proc", "sys", "dev"):
        os.makedirs(root / d, exist_ok=True)
    shutil.copy(VIGIL, root / "usr/bin/vigil")
    ldd = subprocess.run(["ldd", VIGIL], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"(/\S+) \(0x", ldd)
    assert libs, ldd
    for lib in libs:
        dst = root / lib.lstrip("/")
        os.makedirs(dst.parent, exist_ok=True)
        shutil.copy(lib, dst)  # follows the links: the file under the name asked for
    shutil.copy(DEFAULT_RULES, root / IMAGE_DEFAULT_RULES.lstrip("/"))
    (root / "etc/vigil/rules.d/rules.yaml").write_text("")
    for f in (IMAGE_DEFAULT_RULES, RULES_MOUNT + "/rules.yaml"):
        os.chmod(root / f.lstrip("/"), 0o644)  # as installed; a checkout's mode follows its umask
    tar = str(tmp_path_factory.mktemp("k8s-image") / "rootfs.tar")
    subprocess.run(["tar", "-C", str(root), "--owner=0", "--group=0", "-cf", tar, "."], check=True)
    subprocess.run(PODMAN + ["import", tar, TEST_IMAGE], check=True, stdout=subprocess.DEVNULL)
    yield TEST_IMAGE
    subprocess.run(PODMAN + ["rmi", "-f", TEST_IMAGE], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def podman_run_args(objs, ds, workdir, port, pin_dir):
    """`podman run` arguments for the DaemonSet's one container: its privileges, host
    namespaces, limits and mounts, the ConfigMaps laid out as the kubelet does."""
    spec = ds["spec"]["template"]["spec"]
    [c] = spec["containers"]
    sc = c["securityContext"]
    args = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]  # see conftest
    if spec.get("hostPID"):
        args += ["--pid", "host"]
    if spec.get("hostNetwork"):
        args += ["--network", "host"]
    assert not sc.get("privileged"), "the test is written for the capability set"
    for cap in sc["capabilities"].get("drop", []):
        args += ["--cap-drop", "all" if cap == "ALL" else f"CAP_{cap}"]
    for cap in sc["capabilities"].get("add", []):
        args += ["--cap-add", f"CAP_{cap}"]
    # RuntimeDefault: the runtime's default profile, which podman applies too
    assert sc["seccompProfile"]["type"] == "RuntimeDefault"
    if sc.get("readOnlyRootFilesystem"):
        args.append("--read-only")
    lim = c["resources"]["limits"]
    args += ["--memory", quantity(lim["memory"], "memory"), "--cpus", quantity(lim["cpu"], "cpu")]
    volumes = {v["name"]: v for v in spec["volumes"]}
    for m in c["volumeMounts"]:
        v, ro = volumes[m["name"]], ":ro" if m.get("readOnly") else ""
        if "configMap" in v:
            data = dict(configmap_data(objs, v["configMap"]["name"]))
            if "vigil.yaml" in data:  # pins of its own: other agents may run here
                data["vigil.yaml"] = data["vigil.yaml"].replace(
                    "pin_dir: /sys/fs/bpf/vigil\n", f"pin_dir: {pin_dir}\n")
                assert pin_dir in data["vigil.yaml"]
            vol = ConfigMapVolume(os.path.join(workdir, m["name"]), data,
                                  v["configMap"].get("defaultMode", 0o644))
            args += ["-v", f"{vol.path}:{m['mountPath']}{ro}"]
        elif "emptyDir" in v:
            args += ["--tmpfs", m["mountPath"]]
        else:
            hp = v["hostPath"]
            if not os.path.exists(hp["path"]):
                # the kubelet would fail the pod (Directory) or make an empty
                # directory (DirectoryOrCreate): on a machine of others, leave it
                assert hp["type"] == "DirectoryOrCreate", f"{hp['path']} is missing here"
                continue
            args += ["-v", f"{hp['path']}:{m['mountPath']}{ro}"]
    node_ip = "127.0.0.1"  # what status.hostIP is to this machine's agent
    env = {"NODE_IP": node_ip}
    argv = [re.sub(r"\$\((\w+)\)", lambda x: env[x[1]], a) for a in c["args"]]
    metrics_port = {p["name"]: p["containerPort"] for p in c["ports"]}["metrics"]
    listen = f"--metrics-listen={node_ip}:{metrics_port}"
    assert listen in argv
    argv[argv.index(listen)] = f"--metrics-listen={node_ip}:{port}"  # 9376 may be taken here
    return args, c["command"] + argv


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError as e:
        return None, str(e)


def test_the_daemonsets_privileges_and_mounts_run_the_agent(agent_image, workdir):
    """The container the DaemonSet describes, in runc through podman (the kubelet's
    runtimes use runc too): with exactly its capabilities, host namespaces, mounts and
    limits the agent loads, answers the probes, watches the host's processes (a host
    process reading /etc/shadow raises the default rule's alert), serves the control
    socket in its emptyDir, and exits 0 on the SIGTERM a pod's deletion sends."""
    objs = load_manifests()
    ds = find(objs, "DaemonSet")
    port = free_port()
    pin_dir = f"/sys/fs/bpf/vigil-test-{uuid.uuid4().hex[:8]}"
    name = f"vigil-k8s-{uuid.uuid4().hex[:8]}"
    args, argv = podman_run_args(objs, ds, workdir, port, pin_dir)
    spec = ds["spec"]["template"]["spec"]
    [c] = spec["containers"]
    r = subprocess.run(PODMAN + ["run", "-d", "--name", name, *args, agent_image, *argv],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"podman run {' '.join(args)}:\n{r.stderr}"

    def logs():
        out = subprocess.run(PODMAN + ["logs", name], capture_output=True, text=True, timeout=60)
        return out.stdout, out.stderr

    try:
        # the startup probe's budget
        budget = c["startupProbe"]["periodSeconds"] * c["startupProbe"]["failureThreshold"]
        deadline = time.time() + budget
        while "vigil: monitoring" not in logs()[1]:
            state = subprocess.run(PODMAN + ["inspect", "-f", "{{.State.Status}}", name],
                                   capture_output=True, text=True).stdout.strip()
            assert state == "running", f"the agent's container is {state}:\n{logs()[1][-3000:]}"
            assert time.time() < deadline, f"not started in {budget} s:\n{logs()[1][-3000:]}"
            time.sleep(0.5)
        for probe in ("livenessProbe", "readinessProbe"):
            status, body = http_get(port, c[probe]["httpGet"]["path"])
            assert status == 200, f"{probe}: {status} {body}"
        token = f"k8s-pod-{uuid.uuid4().hex[:10]}"
        subprocess.run(["cat", "/etc/shadow", f"/nonexistent/{token}"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        deadline = time.time() + 15
        while True:
            alerts = [json.loads(line) for line in logs()[0].splitlines() if line.startswith("{")]
            hit = [a for a in alerts if a["rule"] == "Read of password hash file" and
                   token in a["output"]]
            if hit or time.time() > deadline:
                break
            time.sleep(0.2)
        assert hit, f"no alert for the host's read of /etc/shadow; {len(alerts)} alerts:\n" + \
            logs()[1][-2000:]
        assert hit[0]["output_fields"]["container.id"] == "host", hit[0]
        st = subprocess.run(PODMAN + ["exec", name, "/usr/bin/vigil", "status", "--json"],
                            capture_output=True, text=True, timeout=60)
        assert st.returncode == 0, st.stdout + st.stderr
        st = json.loads(st.stdout)
        assert st["rule_files"] == [IMAGE_DEFAULT_RULES, RULES_MOUNT + "/rules.yaml"]
        grace = spec["terminationGracePeriodSeconds"]
        subprocess.run(PODMAN + ["stop", "-t", str(grace), name], check=True,
                       stdout=subprocess.DEVNULL, timeout=grace + 30)
        code = subprocess.run(PODMAN + ["inspect", "-f", "{{.State.ExitCode}}", name],
                              capture_output=True, text=True).stdout.strip()
        assert code == "0", f"exit {code} on SIGTERM:\n{logs()[1][-2000:]}"
    finally:
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        remove_pins(pin_dir)
