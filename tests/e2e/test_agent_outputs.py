"""The real agent feeding the real integrations: a rule fires on a real action, and
the alert reaches a webhook, a rotated file, Alertmanager; the agent's own metrics
are scraped and pass promtool."""
import json
import os
import re
import subprocess

from conftest import Vigil, helper
from servers import *  # noqa: F401,F403 - fixtures and helpers

RULE = """
- rule: Agent outputs {run}
  desc: e2e rule
  condition: evt.type in (open, openat) and fd.name = {path}
  output: watched read (file=%fd.name proc=%proc.name pid=%proc.pid)
  priority: CRITICAL
  tags: [test, mitre_credential_access, T1552]
"""


def metrics_port(v):
    m = re.search(r"vigil: metrics on http://\S+ \(port (\d+)\)", v.stderr())
    assert m, v.stderr()
    return int(m.group(1))


def test_agent_alert_reaches_every_sink_and_metrics(workdir, webhook, alertmanager, prometheus,
                                                    run_id):
    path = os.path.join(os.path.realpath(workdir), "secret.txt")
    with open(path, "w") as f:
        f.write("x")
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULE.format(run=run_id, path=path))
    alerts_file = os.path.join(workdir, "alerts.jsonl")
    cfg = os.path.join(workdir, "vigil.yaml")
    with open(cfg, "w") as f:
        f.write(f"""rules_files: [{rules}]
outputs:
  - type: stdout
  - type: file
    path: {alerts_file}
  - type: webhook
    url: {webhook.url}
  - type: alertmanager
    url: {alertmanager.url}
    resend_interval: 1s
""")
    v = Vigil(workdir, ["--config", cfg], events=False)
    try:
        out = subprocess.run([helper("file_probe"), "openat", "-", path, "0"],
                             capture_output=True, text=True, check=True)
        pid = json.loads(out.stdout)["pid"]
        rule = f"Agent outputs {run_id}"
        al = v.wait_alert(lambda a: a["rule"] == rule)
        assert al["output_fields"]["proc.pid"] == pid
        hook = wait_until(lambda: [a for a in webhook.alerts() if a["rule"] == rule], 10,
                          "the alert at the webhook")
        assert hook[0]["priority"] == "Critical" and hook[0]["output_fields"]["fd.name"] == path
        am = wait_until(lambda: alertmanager.alerts(alertname=rule), 20,
                        "the alert in Alertmanager")
        assert am[0]["labels"]["mitre_technique"] == "T1552"
        assert am[0]["labels"]["container_id"] == "host"
        wait_until(lambda: os.path.exists(alerts_file) and
                   any(json.loads(l)["rule"] == rule for l in open(alerts_file)), 10,
                   "the alert in the file")
        port = metrics_port(v)
        status, headers, body = http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        text = body.decode() if isinstance(body, bytes) else body
        assert re.search(r'vigil_alerts_total\{[^}]*rule="' + re.escape(rule) + r'"[^}]*\} 1',
                         text), text[:2000]
        m = re.search(r'vigil_events_seen_total\{type="open"\} (\d+)', text)
        assert m and int(m.group(1)) > 0
        assert re.search(r'vigil_rules_loaded \d', text)
        lint = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                              capture_output=True)
        assert lint.returncode == 0, lint.stdout + lint.stderr
        # Prometheus scrapes the agent itself; the counter is queryable
        job = f"vigil-agent-{run_id}"
        prometheus.scrape(job, f"127.0.0.1:{port}")
        prometheus.wait_value(f'sum(vigil_alerts_total{{job="{job}", rule="{rule}"}})',
                              lambda x: x >= 1)
        prometheus.wait_value(f'sum(rate(vigil_events_seen_total{{job="{job}"}}[1m])) >= 0',
                              lambda x: x >= 0)
        assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200
    finally:
        assert v.stop() == 0, v.stderr()
