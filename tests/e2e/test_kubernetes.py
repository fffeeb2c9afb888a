"""Kubernetes manifests (deploy/kubernetes/), checked without a cluster:

- every object against the API's schemas, the Prometheus operator's CRD included, and
  for unknown fields (tests/k8s/validate.mjs, npm packages pinned in tests/k8s/), and
  the validator itself against deliberately broken copies;
- that the objects fit together (selectors, ports, volumes, paths, the config's files).
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import BUILD, REPO, VIGIL

K8S = os.path.join(REPO, "deploy", "kubernetes")
NPM_SRC = os.path.join(REPO, "tests", "k8s")
NODE_PREFIX = os.path.join(BUILD, "k8s-node")
DEFAULT_RULES = os.path.join(REPO, "rules", "vigil_rules.yaml")
# where the image holds the default ruleset
IMAGE_DEFAULT_RULES = "/etc/vigil/vigil_rules.yaml"


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
