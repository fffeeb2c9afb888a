"""Rules scoped to a container (container.id) act in the kernel on that container alone:
the cgroups of a running container are entered when the plan is written, those of a
container started later when the runtime makes its cgroup (before its first
instruction). Another container, and the host, run the same programs unhindered. Real
podman containers from the test image; the agent runs as deployed (events=False)."""
import os
import shutil
import subprocess
import tempfile

import pytest

import conftest
from conftest import PODMAN, PODMAN_RUN

RULES = """
- rule: test kill cat in the scoped containers
  desc: cat run in the containers the test names
  condition: evt.type = execve and proc.name = cat and container.id in ({ids})
  output: "test cat in %container.id"
  priority: CRITICAL
  actions: [kill]
- rule: test deny port 9 in the scoped containers
  desc: a connect to port 9 from the containers the test names
  condition: evt.type = connect and fd.rport = 9 and container.id in ({ids})
  output: "test connect to 9 in %container.id"
  priority: CRITICAL
  actions: [deny]
"""

NC = ["busybox", "nc", "127.0.0.1", "9"]


def _write_rules(path, ids):
    with open(path, "w") as f:
        f.write(RULES.format(ids=", ".join(ids)))
    os.chmod(path, 0o644)


def _detached(image, d, name):
    cidfile = os.path.join(d, name + ".cid")
    subprocess.run(PODMAN_RUN + ["-d", "--cidfile", cidfile, image, "sleep", "300"], check=True,
                   stdout=subprocess.DEVNULL)
    with open(cidfile) as f:
        return f.read().strip()


def _exec(cid, *argv):
    return subprocess.run(PODMAN + ["exec", cid, *argv], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def scoped(busybox_image):
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-scope-", dir="/var/tmp")
    os.chmod(d, 0o755)
    cids = []
    v = None
    try:
        target = _detached(busybox_image, d, "target")
        other = _detached(busybox_image, d, "other")
        cids += [target, other]
        # a container made now and started after the agent: its cgroup does not exist yet
        later = subprocess.run(PODMAN + ["create"] + PODMAN_RUN[len(PODMAN) + 2:] +
                               [busybox_image, "cat", "/etc/hostname"],
                               capture_output=True, text=True, check=True).stdout.strip()
        cids.append(later)
        rules = os.path.join(d, "rules.yaml")
        _write_rules(rules, [target[:12], later[:12]])
        v = conftest.Vigil(d, ["--rules", rules], events=False)
        yield v, target, other, later
    finally:
        rc = v.stop() if v else 0
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", *cids], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, "vigil did not stop cleanly"


def _alert(v, rule, cid):
    al = v.wait_alert(lambda a: a["rule"] == rule and a["output_fields"].get("container.id") ==
                      cid[:12], what=rule + " in " + cid[:12])
    assert len(al["actions"]) == 1, al
    return al["actions"][0]


def test_a_running_container_in_scope_is_acted_on_in_the_kernel(scoped):
    v, target, other, _ = scoped
    r = _exec(target, "cat", "/etc/hostname")
    assert r.returncode == 137 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    act = _alert(v, "test kill cat in the scoped containers", target)
    assert act["taken"] is True and act["where"] == "kernel", act


def test_another_container_runs_the_same_program(scoped):
    v, target, other, _ = scoped
    r = _exec(other, "cat", "/etc/hostname")
    assert r.returncode == 0 and r.stdout.strip(), (r.returncode, r.stderr)


def test_the_host_runs_the_same_program(scoped):
    r = subprocess.run(["cat", "/etc/hostname"], capture_output=True, text=True)
    assert r.returncode == 0


def test_a_connect_from_the_scoped_container_is_denied(scoped):
    v, target, other, _ = scoped
    r = _exec(target, *NC)
    assert "Operation not permitted" in r.stderr, r.stderr
    act = _alert(v, "test deny port 9 in the scoped containers", target)
    assert act["kind"] == "deny" and act["taken"] is True and act["where"] == "kernel", act
    # the same connect elsewhere reaches the (closed) port
    r = _exec(other, *NC)
    assert "Connection refused" in r.stderr, r.stderr


def test_a_container_started_later_is_in_scope_from_its_first_instruction(scoped):
    v, _, _, later = scoped
    r = subprocess.run(PODMAN + ["start", "-a", later], capture_output=True, text=True,
                       timeout=60)
    # its command is cat itself: killed at its exec, it printed nothing
    assert r.stdout == "", r.stdout
    st = subprocess.run(PODMAN + ["inspect", "--format", "{{.State.ExitCode}}", later],
                        capture_output=True, text=True, check=True).stdout.strip()
    assert st == "137", st
    act = _alert(v, "test kill cat in the scoped containers", later)
    assert act["taken"] is True and act["where"] == "kernel", act


@pytest.fixture(scope="module")
def allowlisted(busybox_image):
    """A kill rule scoped to three containers, two of them on actions.allow_container: one
    running when the agent starts, one started after it."""
    conftest._check_can_run()
    d = tempfile.mkdtemp(prefix="vigil-allow-", dir="/var/tmp")
    os.chmod(d, 0o755)
    cids, v = [], None
    try:
        allowed = _detached(busybox_image, d, "allowed")
        victim = _detached(busybox_image, d, "victim")
        cids += [allowed, victim]
        later = subprocess.run(PODMAN + ["create"] + PODMAN_RUN[len(PODMAN) + 2:] +
                               [busybox_image, "cat", "/etc/hostname"],
                               capture_output=True, text=True, check=True).stdout.strip()
        cids.append(later)
        rules = os.path.join(d, "rules.yaml")
        _write_rules(rules, [allowed[:12], victim[:12], later[:12]])
        cfg = os.path.join(d, "vigil.yaml")
        with open(cfg, "w") as f:
            f.write(f"actions:\n  allow_container: [{allowed[:12]}, {later[:12]}]\n")
        v = conftest.Vigil(d, ["--config", cfg, "--rules", rules], events=False)
        yield v, allowed, victim, later
    finally:
        rc = v.stop() if v else 0
        subprocess.run(PODMAN + ["rm", "-f", "-t", "0", *cids], capture_output=True)
        shutil.rmtree(d, ignore_errors=True)
    assert rc == 0, "vigil did not stop cleanly"


def test_an_allowlisted_container_is_never_acted_on(allowlisted):
    v, allowed, victim, _ = allowlisted
    r = _exec(allowed, "cat", "/etc/hostname")
    assert r.returncode == 0 and r.stdout.strip(), (r.returncode, r.stderr)
    act = _alert(v, "test kill cat in the scoped containers", allowed)
    assert act["taken"] is False and act["reason"] == "allowlisted", act
    assert act["where"] == "kernel", act
    r = _exec(victim, "cat", "/etc/hostname")
    assert r.returncode == 137, (r.returncode, r.stderr)


def test_an_allowlisted_container_started_later_is_spared_from_its_start(allowlisted):
    v, _, _, later = allowlisted
    r = subprocess.run(PODMAN + ["start", "-a", later], capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.strip(), "the allowlisted container's cat was killed"
    act = _alert(v, "test kill cat in the scoped containers", later)
    assert act["taken"] is False and act["reason"] == "allowlisted", act
