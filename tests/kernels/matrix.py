#!/usr/bin/env python3
"""The kernel x test matrix of a `scripts/kernels.sh test` run, from the JUnit XML each
guest wrote (OUT/<kernel>/junit.xml) and what the host noted (OUT/<kernel>/run.env).

    matrix.py OUT KERNEL...                   prints the matrix, exits 1 if anything failed
    matrix.py OUT KERNEL... --markdown FILE   also writes it as Markdown (docs/KERNELS.md)

A test is pass, FAIL (failure or error), n/a (skipped: the reason is listed) or - (not
run on that kernel). A kernel whose guest left no JUnit file (timeout, crash, no boot)
counts as failed, with the reason."""
import argparse
import os
import sys
import xml.etree.ElementTree as ET


def read_env(path):
    env = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                if k:
                    env[k] = v
    except FileNotFoundError:
        pass
    return env


def read_junit(path):
    """{test id: (status, detail)}, status in pass/fail/skip."""
    results = {}
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        cls = case.get("classname", "")
        mod = cls.split(".")[-1] if cls else "?"
        tid = f"{mod}.py::{case.get('name')}"
        status, detail = "pass", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "fail"
                detail = (child.get("message") or child.tag).strip().splitlines()[0][:300] \
                    if (child.get("message") or "").strip() else child.tag
                # a test that failed and then errored in teardown stays failed
                break
            if child.tag == "skipped":
                status = "skip"
                detail = (child.get("message") or "").strip()
        if tid in results and results[tid][0] == "fail":
            continue  # setup/teardown errors come as a second record
        results[tid] = (status, detail)
    return results


MARK = {"pass": "pass", "fail": "FAIL", "skip": "n/a"}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="the results dir (build/kernels/out)")
    ap.add_argument("kernels", nargs="+")
    ap.add_argument("--markdown", metavar="FILE", help="also write the matrix as Markdown")
    a = ap.parse_args()

    per = {}     # kernel -> {test: (status, detail)}
    notes = {}   # kernel -> run.env
    broken = {}  # kernel -> why it has no results
    for k in a.kernels:
        env = read_env(os.path.join(a.out, k, "run.env"))
        notes[k] = env
        junit = os.path.join(a.out, k, "junit.xml")
        if not os.path.exists(junit):
            broken[k] = env.get("reason") or "no JUnit results (the guest did not run the tests)"
            per[k] = {}
            continue
        try:
            per[k] = read_junit(junit)
        except ET.ParseError as e:
            broken[k] = f"{junit}: unreadable JUnit XML: {e}"
            per[k] = {}
            continue
        if env.get("rc") not in (None, "0", "1"):
            # pytest: 0 all passed, 1 some failed; anything else is the run itself failing
            broken[k] = env.get("reason") or f"the guest's pytest exited with {env.get('rc')}"

    tests = sorted({t for r in per.values() for t in r})
    failed = bool(broken) or any(s == "fail" for r in per.values() for s, _ in r.values())

    # ---- text ----
    w = max([len(t) for t in tests] + [20])
    cols = [max(len(k), 5) for k in a.kernels]
    lines = ["test".ljust(w) + "  " + "  ".join(k.ljust(c) for k, c in zip(a.kernels, cols))]
    for t in tests:
        row = [MARK[per[k][t][0]] if t in per[k] else "-" for k in a.kernels]
        lines.append(t.ljust(w) + "  " + "  ".join(r.ljust(c) for r, c in zip(row, cols)))
    print("\n".join(lines))
    print()
    for k in a.kernels:
        r = per[k]
        n = {s: sum(1 for v in r.values() if v[0] == s) for s in ("pass", "fail", "skip")}
        env = notes[k]
        print(f"{k} ({env.get('kver', '?')}): {n['pass']} pass, {n['fail']} fail, {n['skip']} n/a"
              + (f", {env['seconds']} s" if env.get("seconds") else "")
              + (f"; NO RESULT: {broken[k]}" if k in broken else ""))
    for k in a.kernels:
        for t in tests:
            if t in per[k] and per[k][t][0] == "fail":
                print(f"FAIL {k} {t}: {per[k][t][1]}")
    for k in a.kernels:
        for t in tests:
            if t in per[k] and per[k][t][0] == "skip":
                print(f"n/a  {k} {t}: {per[k][t][1]}")

    # ---- markdown ----
    if a.markdown:
        md = ["| kernel | Debian package | result | time | finished |", "|---|---|---|---|---|"]
        for k in a.kernels:
            r = per[k]
            n = {s: sum(1 for v in r.values() if v[0] == s) for s in ("pass", "fail", "skip")}
            env = notes[k]
            res = f"{n['pass']} pass, {n['fail']} fail, {n['skip']} n/a"
            if k in broken:
                res += f"; no result: {broken[k]}"
            secs = env.get("seconds")
            md.append(f"| {k} ({env.get('kver', '?')}) | {env.get('package', '?')} | {res} | "
                      f"{f'{int(secs) // 60} min {int(secs) % 60} s' if secs else '?'} | "
                      f"{env.get('date', '?')} |")
        md += ["", "| test | " + " | ".join(a.kernels) + " |",
               "|---|" + "---|" * len(a.kernels)]
        for t in tests:
            row = [MARK[per[k][t][0]] if t in per[k] else "-" for k in a.kernels]
            md.append(f"| `{t}` | " + " | ".join(row) + " |")
        details = []
        for k in a.kernels:
            for t in tests:
                if t in per[k] and per[k][t][0] != "pass":
                    what = "FAIL" if per[k][t][0] == "fail" else "n/a"
                    msg = per[k][t][1].replace("|", "\\|")
                    details.append(f"- {what} on {k}: `{t}`: {msg}")
        if details:
            md += ["", "Not passed:", ""] + details
        with open(a.markdown, "w") as f:
            f.write("\n".join(md) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
