#!/usr/bin/env python3
"""Makes the fuzzers' seed corpora (fuzz/corpus/) from what the project already has.

    python3 fuzz/seeds.py records REC OUTDIR NAME
        Cuts a recording (vigil run --record) into small recordings: per event type,
        its first record with the exec records of its process and parent (so the
        process table knows them), and mixed.rec holding all of those. Only the
        workload's processes count: the one whose exec record holds NAME and its
        descendants (a recording also holds whatever else ran on the machine).
    python3 fuzz/seeds.py rules OUTDIR
        The default ruleset whole, each of its rules alone with the lists and macros
        it uses, and every rule file the unit and e2e tests write.
    python3 fuzz/seeds.py config OUTDIR
        deploy/vigil.yaml and every configuration the tests write.
"""
import ast
import glob
import hashlib
import os
import re
import struct
import sys

HDR = 24  # "VIGILREC", u32 version, u32 header size, i64 boot-to-real offset
EXEC = 1
VG_XF_SEED = 1 << 16


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    head, off, out = data[:HDR], HDR, []
    while off + 4 <= len(data):
        n, = struct.unpack_from("<I", data, off)
        if off + 4 + n > len(data):
            break
        out.append(data[off + 4:off + 4 + n])
        off += 4 + n
    return head, out


def cut_recording(rec, outdir, name):
    head, recs = records(rec)
    name = name.encode()
    os.makedirs(outdir, exist_ok=True)
    last_exec, chosen, mixed, ours = {}, {}, set(), set()
    for i, r in enumerate(recs):
        rtype, _, flags, pid, _, ppid = struct.unpack_from("<HHIIII", r, 24)
        if rtype == EXEC and not flags & VG_XF_SEED and name in r and not ours:
            ours.add(pid)  # the workload starts: its file name is in its exec record
        elif ppid in ours:
            ours.add(pid)
        if pid not in ours:
            continue
        if rtype == EXEC:
            last_exec[pid] = i
        if rtype in chosen:
            continue
        keep = sorted({last_exec[p] for p in (ppid, pid) if p in last_exec} | {i})
        chosen[rtype] = keep
        mixed.update(keep)

    def write(name, idx):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(head)
            for i in idx:
                f.write(struct.pack("<I", len(recs[i])) + recs[i])

    for rtype, idx in chosen.items():
        write(f"type{rtype:03d}.rec", idx)
    write("mixed.rec", sorted(mixed))


C_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def c_strings(path):
    """Adjacent C string literals, joined and unescaped."""
    text, out, cur, end = open(path).read(), [], None, -1
    for m in C_STRING.finditer(text):
        lit = m.group(1).encode().decode("unicode_escape")
        if cur is not None and text[end:m.start()].strip() == "":
            cur += lit
        else:
            if cur is not None:
                out.append(cur)
            cur = lit
        end = m.end()
    if cur is not None:
        out.append(cur)
    return out


def py_strings(path):
    return [n.value for n in ast.walk(ast.parse(open(path).read()))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_texts(keys):
    """Every string a test writes that holds one of keys."""
    found = []
    for path in sorted(glob.glob("tests/unit/*.c")):
        found += c_strings(path)
    for path in sorted(glob.glob("tests/e2e/*.py")):
        found += py_strings(path)
    return [t for t in found if any(k in t for k in keys)]


def write_texts(outdir, prefix, texts):
    os.makedirs(outdir, exist_ok=True)
    for t in texts:
        data = t.encode("utf-8", "surrogateescape")
        digest = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(outdir, f"{prefix}-{digest}.yaml"), "wb") as f:
            f.write(data)


NAME = re.compile(r"^- (rule|macro|list): *(.*?) *$")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


def ruleset_items(path):
    """Top-level items of a rules file, as written: (kind, name, text)."""
    items = []
    for line in open(path).read().splitlines(keepends=True):
        m = NAME.match(line)
        if m or (line.startswith("- ") and items):
            items.append([m.group(1) if m else "", m.group(2) if m else "", line])
        elif items:
            items[-1][2] += line
    return items


def rule_seeds(outdir):
    path = "rules/vigil_rules.yaml"
    items = ruleset_items(path)
    defs = {name: i for i, (kind, name, _) in enumerate(items) if kind in ("macro", "list")}
    alone = []
    for i, (kind, name, text) in enumerate(items):
        if kind != "rule":
            continue
        need, todo = set(), [text]
        while todo:
            for w in WORD.findall(todo.pop()):
                if w in defs and defs[w] not in need:
                    need.add(defs[w])
                    todo.append(items[defs[w]][2])
        alone.append("".join(items[j][2] for j in sorted(need)) + text)
    write_texts(outdir, "default", [open(path).read()] + alone)
    write_texts(outdir, "test", test_texts(["- rule:", "- macro:", "- list:"]))


def config_seeds(outdir):
    write_texts(outdir, "deploy", [open("deploy/vigil.yaml").read()])
    write_texts(outdir, "test", test_texts(["outputs:", "metrics:", "rate_limit:",
                                            "rules_files:", "process_table:"]))


if __name__ == "__main__":
    if sys.argv[1] == "records":
        cut_recording(*sys.argv[2:5])
    elif sys.argv[1] == "rules":
        rule_seeds(sys.argv[2])
    elif sys.argv[1] == "config":
        config_seeds(sys.argv[2])
    else:
        sys.exit(__doc__)
