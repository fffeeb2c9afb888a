"""The exec output in the real agent: a rule fires on a real action and the agent runs
a script that records the alert; the metrics count the delivery, a hanging script is
killed at its timeout and counted, no child is left behind, and a program that does
not exist stops the agent at start with a message naming the output and the key."""
import json
import os
import subprocess

from conftest import VIGIL, Vigil, helper
from servers import metrics_text, run_id, wait_until  # noqa: F401 - run_id is a fixture

RULE = """
- rule: Exec output {run}
  desc: e2e rule
  condition: evt.type in (open, openat) and fd.name = {path}
  output: watched read (file=%fd.name proc=%proc.name pid=%proc.pid)
  priority: CRITICAL
  tags: [test]
"""


def children(pid):
    """(pid, state) of the processes whose parent is pid."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append((int(d), fields[0]))
    return out


def write_setup(workdir, run, script, extra=""):
    path = os.path.join(os.path.realpath(workdir), "secret.txt")
    with open(path, "w") as f:
        f.write("x")
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULE.format(run=run, path=path))
    hook = os.path.join(workdir, "hook.sh")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\n" + script)
    os.chmod(hook, 0o755)
    cfg = os.path.join(workdir, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"""rules_files: [{rules}]
outputs:
  - type: stdout
  - type: exec
    name: playbook
    program: {hook}
    args: [{workdir}]
{extra}""")
    return path, cfg


def trigger(path):
    out = subprocess.run([helper("file_probe"), "openat", "-", path, "0"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["pid"]


def test_exec_output_runs_a_script_with_the_alert(workdir, run_id):
    path, cfg = write_setup(workdir, run_id,
                      'cat > "$1/alert.tmp"\nmv "$1/alert.tmp" "$1/alert.json"\n'
                      'echo "$VIGIL_RULE" > "$1/rule"\n')
    v = Vigil(workdir, ["--config", cfg], events=False)
    try:
        pid = trigger(path)
        rule = f"Exec output {run_id}"
        v.wait_alert(lambda a: a["rule"] == rule)
        recorded = os.path.join(workdir, "alert.json")
        wait_until(lambda: os.path.exists(recorded), 10, "the script's record of the alert")
        with open(recorded) as f:
            text = f.read()
        assert text.endswith("}\n") and text.count("\n") == 1, text
        al = json.loads(text)
        assert al["rule"] == rule
        assert al["priority"] == "Critical"
        assert al["output_fields"]["fd.name"] == path
        assert al["output_fields"]["proc.pid"] == pid
        with open(os.path.join(workdir, "rule")) as f:
            assert f.read() == rule + "\n"
        series = 'vigil_output_deliveries_total{sink="playbook",type="exec"} 1\n'
        wait_until(lambda: series in metrics_text(v), 10, "the delivery in /metrics")
        text = metrics_text(v)
        assert 'vigil_output_up{sink="playbook",type="exec"} 1\n' in text
        assert ('vigil_output_failures_total{sink="playbook",type="exec",reason="timeout"} 0\n'
                in text)
        assert not children(v.proc.pid), "the script was not reaped"
    finally:
        assert v.stop() == 0, v.stderr()


def test_exec_output_kills_a_hanging_script_at_its_timeout(workdir, run_id):
    path, cfg = write_setup(workdir, run_id,
                      'sleep 60 &\necho $! > "$1/child"\necho "cordon: api hangs" >&2\nwait\n',
                      "    timeout: 500ms\n")
    v = Vigil(workdir, ["--config", cfg], events=False)
    try:
        trigger(path)
        series = 'vigil_output_failures_total{sink="playbook",type="exec",reason="timeout"} 1\n'
        wait_until(lambda: series in metrics_text(v), 10, "the timeout in /metrics")
        assert 'vigil_output_up{sink="playbook",type="exec"} 0\n' in metrics_text(v)
        with open(os.path.join(workdir, "child")) as f:
            child = int(f.read())

        def gone():
            try:
                with open(f"/proc/{child}/stat") as f:
                    return f.read().split(") ")[1][0] == "Z"
            except OSError:
                return True
        wait_until(gone, 5, "the script's child killed with it")
        assert not children(v.proc.pid), "the script was not reaped"
        wait_until(lambda: "ran past its timeout of 0.5 s" in v.stderr(), 5, "the log line")
        assert "stderr: cordon: api hangs" in v.stderr()
        # the agent goes on: the next alert runs the script again
        trigger(path)
        wait_until(lambda: series.replace("} 1", "} 2") in metrics_text(v), 10,
                   "the second run")
    finally:
        assert v.stop() == 0, v.stderr()


def test_exec_output_with_a_missing_program_refuses_to_start(workdir, run_id):
    path, cfg = write_setup(workdir, run_id, "exit 0\n")
    os.unlink(os.path.join(workdir, "hook.sh"))
    r = subprocess.run([VIGIL, "run", "--config", cfg, "--metrics-listen", "127.0.0.1:0",
                        "--control-socket", os.path.join(workdir, "vigil.sock")],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "output playbook (exec, line 4): program: cannot use " in r.stderr, r.stderr
    assert "hook.sh: No such file or directory; install it or fix the path" in r.stderr
