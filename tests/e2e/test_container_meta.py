"""Container metadata in real alerts, from real runtimes: podman (its OCI runtime spec on
disk and its Docker-compatible API), containerd started here with `ctr` (the spec alone),
and the annotation layout containerd's CRI plugin writes for a kubelet (set by hand).
A rule scoped to one image fires there and not on the host or in a container of another
image; a stopped API socket leaves the fields <NA> while alerts keep flowing, counted;
200 short-lived containers in a row leave the container table as it was."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest

import conftest
from conftest import PODMAN, PODMAN_RUN, PodmanApi, Vigil
from servers import metrics_text, wait_until

OTHER_IMAGE = "localhost/vigil-test-other:latest"
FIELDS = ("cid=%container.id name=%container.name image=%container.image "
          "repo=%container.image.repository tag=%container.image.tag iid=%container.image.id "
          "priv=%container.privileged app=%container.label[app] "
          "mnt=%container.mount.dest[{share}] pod=%k8s.pod.name ns=%k8s.ns.name "
          "uid=%k8s.pod.uid kc=%k8s.container.name plabels=%k8s.pod.labels "
          "rt=%container.runtime")

RULES = """
- rule: Marker read in the test image
  desc: e2e, scoped to one image
  condition: >
    evt.type in (open, openat, openat2) and fd.name = {marker}
    and container.image.repository = localhost/vigil-test-busybox
  output: "in-image ({fields})"
  priority: WARNING
- rule: Marker read anywhere
  desc: e2e, the host included
  condition: evt.type in (open, openat, openat2) and fd.name = {marker}
  output: "anywhere ({fields})"
  priority: WARNING
"""


def parse(output):
    """The key=value pairs of an alert's output."""
    inner = output[output.index("(") + 1:output.rindex(")")]
    return dict(re.findall(r"(\w+)=(\S*)", inner))


def status(v):
    st = subprocess.run([conftest.VIGIL, "status", "--json", "--socket", v.control_socket],
                        capture_output=True, text=True, timeout=10)
    assert st.returncode == 0, st.stderr
    return json.loads(st.stdout)["containers"]


@pytest.fixture(scope="module")
def share():
    """A host directory bound at the same path into the containers: the marker file has
    one name on the host and in every container."""
    d = f"/srv/vigil-e2e-{uuid.uuid4().hex[:8]}"
    os.makedirs(d)
    with open(os.path.join(d, "marker"), "w") as f:
        f.write("marker\n")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start_agent(d, share, sockets=(), state_dirs=()):
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(marker=os.path.join(share, "marker"),
                             fields=FIELDS.format(share=share)))
    os.chmod(rules, 0o600)
    cfg = os.path.join(d, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write("containers:\n")
        f.write(f"  api_sockets: [{', '.join(sockets)}]\n" if sockets else "")
        f.write(f"  state_dirs: [{', '.join(state_dirs)}]\n" if state_dirs else "")
        f.write("  api_timeout: 2s\n")
    return Vigil(d, ["--config", cfg, "--rules", rules], events=False)


def run_detached(image, name, share, *extra):
    r = subprocess.run(PODMAN_RUN + ["-d", "--name", name, "-v", f"{share}:{share}:ro",
                                     *extra, image, "sleep", "600"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def podman_exec(cid, *argv):
    r = subprocess.run(PODMAN + ["exec", cid, *argv], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return r


def alert_of(v, rule_prefix, cid, timeout=20):
    seen = lambda: "; ".join(a["output"] for a in v.alerts())  # noqa: E731
    return parse(v.wait_alert(lambda a: f" {rule_prefix} (" in a["output"] and
                              parse(a["output"])["cid"] == cid[:12],
                              timeout, f"'{rule_prefix}' alert of {cid[:12]} "
                              f"(status {status(v)}; alerts: {seen()})")["output"])


def test_podman_names_images_labels_mounts_and_an_image_scoped_rule(busybox_image, share):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-meta-", dir="/var/tmp")
    subprocess.run(PODMAN + ["tag", busybox_image, OTHER_IMAGE], check=True)
    api = PodmanApi(d)
    names = [f"vigil-meta-a-{os.getpid()}", f"vigil-meta-b-{os.getpid()}"]
    v = None
    try:
        # one container before the agent (found in /proc), one after (its first events)
        a = run_detached(busybox_image, names[0], share, "-l", "app=shop")
        v = start_agent(d, share, sockets=[api.path])
        b = run_detached(OTHER_IMAGE, names[1], share, "-l", "app=other")
        wait_until(lambda: status(v)["api_ok"] >= 2, 30, "both containers' metadata")
        podman_exec(a, "cat", os.path.join(share, "marker"))
        podman_exec(b, "cat", os.path.join(share, "marker"))
        subprocess.run(["cat", os.path.join(share, "marker")], check=True,
                       stdout=subprocess.DEVNULL)

        got = alert_of(v, "in-image", a)
        assert got["name"] == names[0]
        assert got["image"] == busybox_image
        assert got["repo"] == "localhost/vigil-test-busybox"
        assert got["tag"] == "latest"
        inspect = subprocess.run(PODMAN + ["inspect", "--format", "{{.Image}}", a],
                                 capture_output=True, text=True, check=True)
        assert got["iid"] == inspect.stdout.strip()
        assert got["priv"] == "false"
        assert got["app"] == "shop"
        assert got["mnt"] == share
        assert got["rt"] == "podman"
        assert got["pod"] == "<NA>", "a podman container outside a pod has no pod"

        other = alert_of(v, "anywhere", b)
        assert other["name"] == names[1]
        assert other["image"] == OTHER_IMAGE
        assert other["app"] == "other"
        v.wait_alert(lambda al: " anywhere (" in al["output"] and
                     parse(al["output"])["cid"] == "host", 20, "the host's read")
        # the image-scoped rule: its container only
        scoped = [parse(al["output"])["cid"] for al in v.alerts()
                  if " in-image (" in al["output"]]
        assert set(scoped) == {a[:12]}, scoped
        st = status(v)
        assert st["spec_read"] >= 2 and st["api_failed"] == 0, st
    finally:
        if v:
            v.stop()
        api.stop()
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", *names], capture_output=True)
        subprocess.run(PODMAN + ["rmi", OTHER_IMAGE], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


class Containerd:
    """A containerd of the test's own: private root, state and socket."""

    def __init__(self, d, image):
        self.root = os.path.join(d, "ctrd-root")
        self.state = os.path.join(d, "ctrd-state")
        self.address = os.path.join(d, "containerd.sock")
        self.log = open(os.path.join(d, "containerd.log"), "wb")
        self.proc = subprocess.Popen(["containerd", "--root", self.root, "--state", self.state,
                                      "--address", self.address],
                                     stdout=self.log, stderr=self.log,
                                     preexec_fn=conftest._die_with_parent)
        wait_until(lambda: os.path.exists(self.address), 30, "containerd's socket")
        tar = os.path.join(d, "image.tar")
        subprocess.run(PODMAN + ["save", "--format", "oci-archive", "-o", tar, image],
                       check=True, capture_output=True)
        self.ctr(["images", "import", "--base-name", image.rsplit(":", 1)[0], tar])
        self.ids = []

    def ctr(self, args, **kw):
        r = subprocess.run(["ctr", "--address", self.address, "-n", "vigil-e2e", *args],
                           capture_output=True, text=True, timeout=120, **kw)
        assert r.returncode == 0, f"ctr {args}: {r.stderr}"
        return r

    def run(self, image, cgroup, cid, share, annotations=()):
        ann = [x for k, val in annotations for x in ("--annotation", f"{k}={val}")]
        self.ctr(["run", "-d", "--cgroup", cgroup, *ann,
                  "--mount", f"type=bind,src={share},dst={share},options=rbind:ro",
                  image, cid, "sleep", "600"])
        self.ids.append(cid)

    def stop(self):
        for cid in self.ids:
            subprocess.run(["ctr", "--address", self.address, "-n", "vigil-e2e", "task", "kill",
                            "-s", "9", cid], capture_output=True)
        time.sleep(0.5)
        for cid in self.ids:
            subprocess.run(["ctr", "--address", self.address, "-n", "vigil-e2e", "task",
                            "delete", "-f", cid], capture_output=True)
            subprocess.run(["ctr", "--address", self.address, "-n", "vigil-e2e", "container",
                            "delete", cid], capture_output=True)
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def test_containerd_spec_and_cri_annotations(busybox_image, share):
    conftest._check_can_run()
    if not shutil.which("containerd") or not shutil.which("ctr"):
        pytest.fail("containerd and ctr are missing: scripts/deps.sh installs them")
    d = tempfile.mkdtemp(prefix="vigil-ctrd-", dir="/var/tmp")
    ctrd = Containerd(d, busybox_image)
    v = None
    try:
        # the runc shim keeps its state below /run/containerd/runc/NAMESPACE whatever
        # containerd's own state dir: the default state dirs find it
        v = start_agent(d, share)
        uid = str(uuid.uuid4())
        pod = uuid.uuid4().hex + uuid.uuid4().hex
        plain = uuid.uuid4().hex + uuid.uuid4().hex
        # what a kubelet makes of a pod "web-0" in namespace "shop" (systemd layout)
        slice_ = f"kubepods-besteffort-pod{uid.replace('-', '_')}.slice"
        ctrd.run(busybox_image,
                 f"/kubepods.slice/kubepods-besteffort.slice/{slice_}/cri-containerd-{pod}.scope",
                 pod, share,
                 [("io.kubernetes.cri.container-type", "container"),
                  ("io.kubernetes.cri.image-name", "docker.io/library/nginx:1.25"),
                  ("io.kubernetes.cri.sandbox-name", "web-0"),
                  ("io.kubernetes.cri.sandbox-namespace", "shop"),
                  ("io.kubernetes.cri.sandbox-uid", uid),
                  ("io.kubernetes.cri.container-name", "nginx")])
        # a container ctr made by hand: no annotations, the spec alone
        ctrd.run(busybox_image, f"/kubepods/besteffort/pod{uid}/{plain}", plain, share)
        wait_until(lambda: status(v)["spec_read"] >= 2, 30, "both containers' specs")
        for cid in (pod, plain):
            ctrd.ctr(["task", "exec", "--exec-id", "m" + cid[:8], cid, "cat",
                      os.path.join(share, "marker")])

        got = alert_of(v, "anywhere", pod)
        assert got["pod"] == "web-0", (got, status(v))
        assert got["ns"] == "shop"
        assert got["uid"] == uid
        assert got["kc"] == "nginx"
        assert got["name"] == "nginx", "in Kubernetes, container.name is the pod spec's name"
        assert got["image"] == "docker.io/library/nginx:1.25"
        assert got["repo"] == "docker.io/library/nginx" and got["tag"] == "1.25"
        assert got["priv"] == "false"
        assert got["mnt"] == share
        assert got["rt"] == "containerd"
        assert got["plabels"] == "", "the pod is known, its labels are not in the spec"

        bare = alert_of(v, "anywhere", plain)
        assert bare["pod"] == "<NA>" and bare["name"] == "<NA>" and bare["image"] == "<NA>"
        assert bare["priv"] == "false" and bare["mnt"] == share, "from its spec"
        # neither is of the scoped image
        assert not [al for al in v.alerts() if " in-image (" in al["output"]]
    finally:
        if v:
            v.stop()
        ctrd.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_stopped_api_socket_leaves_na_and_counts(busybox_image, share):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-meta-", dir="/var/tmp")
    api = PodmanApi(d)
    name = f"vigil-meta-down-{os.getpid()}"
    v = None
    try:
        v = start_agent(d, share, sockets=[api.path])
        api.stop()  # the runtime's socket goes away under a running agent
        cid = run_detached(busybox_image, name, share)
        wait_until(lambda: status(v)["api_failed"] >= 1, 30, "the failed API lookup")
        podman_exec(cid, "cat", os.path.join(share, "marker"))
        got = alert_of(v, "anywhere", cid)
        assert got["name"] == "<NA>" and got["image"] == "<NA>" and got["app"] == "<NA>"
        assert got["priv"] == "false", "what the spec on disk says is still there"
        assert got["rt"] == "podman"
        wait_until(lambda: re.search(r'vigil_container_metadata_total\{source="api",'
                                     r'result="failed"\} [1-9]', metrics_text(v)), 15,
                   "the failure in /metrics")
    finally:
        if v:
            v.stop()
        api.stop()
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", name], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_short_lived_containers_leave_no_leak(busybox_image, share):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-meta-", dir="/var/tmp")
    v = None
    try:
        v = start_agent(d, share)
        wait_until(lambda: status(v)["inflight"] == 0, 30, "the start's lookups")
        before = status(v)
        rss_before = rss_kb(v.proc.pid)
        # 200 containers, four at a time
        script = f"{' '.join(PODMAN_RUN)} {busybox_image} true"
        r = subprocess.run(["sh", "-c", f"seq 200 | xargs -P 4 -I{{}} {script}"],
                           capture_output=True, text=True, timeout=1200)
        assert r.returncode == 0, r.stderr[-2000:]
        # every container's entry goes within two sweeps (10 s apart) of its cgroup
        wait_until(lambda: status(v)["entries"] <= before["entries"] + 2, 40,
                   "the exited containers' entries to go")
        after = status(v)
        assert after["pruned"] - before["pruned"] >= 190, (before, after)
        assert after["filled"] - before["filled"] >= 190, (before, after)
        assert after["inflight"] == 0
        grown = rss_kb(v.proc.pid) - rss_before
        assert grown < 8 * 1024, f"RSS grew by {grown} kB over 200 containers"
        assert v.proc.poll() is None
    finally:
        if v:
            v.stop()
        shutil.rmtree(d, ignore_errors=True)


ENV_RULE = """
- rule: Marker read with the environment
  desc: e2e, proc.env and the namespace's pids
  condition: evt.type in (open, openat, openat2) and fd.name = {marker} and proc.name = cat
  output: "env (cid=%container.id mark=%proc.env[VIGIL_MARK] vpid=%proc.vpid
    vpgid=%proc.vpgid leader=%proc.is_vpgid_leader pid=%proc.pid)"
  priority: WARNING
"""


def test_environment_and_pids_in_the_containers_namespace(busybox_image, share):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-env-", dir="/var/tmp")
    marker = os.path.join(share, "marker")
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(ENV_RULE.format(marker=marker))
    os.chmod(rules, 0o600)
    v = Vigil(d, ["--rules", rules], events=False)
    try:
        small = {"VIGIL_MARK": "on-host", "PATH": "/usr/bin:/bin"}
        subprocess.run(["cat", marker], env=small, check=True, stdout=subprocess.DEVNULL)
        # an environment over the bound: cut, and counted
        subprocess.run(["cat", marker], env={"BIG": "y" * 3000, **small}, check=True,
                       stdout=subprocess.DEVNULL)
        # the container's shell is its pid 1 and its group's leader; cat its child
        r = subprocess.run(PODMAN_RUN + ["-e", "VIGIL_MARK=in-" + "x" * 40,
                                         "-v", f"{share}:{share}:ro", busybox_image,
                                         "sh", "-c", f"cat {marker}; true"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        host = parse(v.wait_alert(lambda a: "mark=on-host" in a["output"], 20,
                                  "the host's read: " + str([a["output"] for a in
                                                             v.alerts()]))["output"])
        assert host["cid"] == "host" and host["vpid"] == host["pid"]
        got = parse(v.wait_alert(lambda a: "mark=in-" in a["output"], 20,
                                 "the container's read")["output"])
        assert got["mark"] == "in-" + "x" * 40
        assert got["cid"] != "host"
        assert int(got["vpid"]) < 10 < int(got["pid"]), got
        assert got["vpgid"] == "1" and got["leader"] == "false", got
        st = subprocess.run([conftest.VIGIL, "status", "--json", "--socket",
                             v.control_socket], capture_output=True, text=True, timeout=10)
        assert json.loads(st.stdout)["processes"]["env_truncated"] >= 1
        cut = [a["output"] for a in v.alerts() if "mark=<NA>" in a["output"]]
        assert cut, "the variable past the bound is not there"
    finally:
        v.stop()
        shutil.rmtree(d, ignore_errors=True)


KILL_RULE = """
- rule: Kill sleep in the test image
  desc: e2e, a kill scoped to one image by the runtime's metadata
  condition: >
    evt.type = execve and proc.name = sleep
    and container.image.repository = localhost/vigil-test-busybox
  output: "image kill (cid=%container.id image=%container.image)"
  priority: CRITICAL
  actions: [kill]
"""


def test_an_image_scoped_kill_acts_only_in_containers_of_that_image(busybox_image, share):
    """container.image* comes from the runtime, after the container started: once it is
    in, the agent puts the container's cgroup in the rule's scope and the kernel kills
    a sleep there at its exec; the same sleep in another image's container and on the
    host runs on."""
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-kill-", dir="/var/tmp")
    subprocess.run(PODMAN + ["tag", busybox_image, OTHER_IMAGE], check=True)
    api = PodmanApi(d)
    names = [f"vigil-kill-a-{os.getpid()}", f"vigil-kill-b-{os.getpid()}"]
    rules = os.path.join(d, "rules.yaml")
    with open(rules, "w") as f:
        f.write(KILL_RULE)
    os.chmod(rules, 0o600)
    v = None
    try:
        # one before the agent (entered when the plan is put in force), one after (as
        # its metadata comes in)
        ids = [run_detached(busybox_image, names[0], share)]
        v = Vigil(d, ["--rules", rules, "--container-socket", api.path], events=False)
        ids.append(run_detached(OTHER_IMAGE, names[1], share))
        names.append(f"vigil-kill-c-{os.getpid()}")
        ids.append(run_detached(busybox_image, names[2], share))
        wait_until(lambda: status(v)["api_ok"] >= 3, 30, "the containers' metadata")
        for cid in (ids[0], ids[2]):
            killed = subprocess.run(PODMAN + ["exec", cid, "sleep", "5"], capture_output=True,
                                    timeout=60)
            assert killed.returncode == 137, killed
        other = subprocess.run(PODMAN + ["exec", ids[1], "sleep", "1"], capture_output=True,
                               timeout=60)
        assert other.returncode == 0, "the other image's sleep runs on"
        assert subprocess.run(["sleep", "1"]).returncode == 0, "the host's sleep runs on"
        for cid in (ids[0], ids[2]):
            al = v.wait_alert(lambda a: a["output_fields"]["container.id"] == cid[:12], 30,
                              "the kill in the image's container")
            assert len(al["actions"]) == 1, al
            act = al["actions"][0]
            assert act["kind"] == "kill" and act["taken"] is True and \
                act["where"] == "kernel", act
        assert not [a for a in v.alerts()
                    if a["output_fields"]["container.id"] == ids[1][:12]], v.alerts()
    finally:
        if v:
            v.stop()
        api.stop()
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", *names], capture_output=True)
        subprocess.run(PODMAN + ["rmi", OTHER_IMAGE], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
