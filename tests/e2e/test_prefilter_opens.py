"""The kernel prefilter of opens as deployed: an O_RDONLY open only reaches rules on reads,
and a file's own name (one read in the kernel) decides before its path is walked. Each
evasion of the name test is tried: a symlink with another name, a bind mount of another
file over the watched one, an O_RDWR open, io_uring, a relative name."""
import json
import os
import subprocess

from conftest import VIGIL, Vigil, helper

RULES = """
- rule: Key read
  desc: a read of the watched key
  condition: evt.type in (open, openat, openat2) and evt.is_open_read = true
    and fd.name = {d}/secret.key
  output: key read (file=%fd.name pid=%proc.pid)
  priority: WARNING
  tags: [test]
- rule: Write below dir
  desc: a write anywhere below the directory
  condition: evt.type in (open, openat, openat2) and evt.is_open_write = true
    and fd.name startswith {d}/
  output: write below (file=%fd.name pid=%proc.pid)
  priority: WARNING
  tags: [test]
"""


def probe(*args):
    out = subprocess.run([helper("file_probe"), *map(str, args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def setup_dir(workdir):
    d = os.path.join(os.path.realpath(workdir), "watched")
    os.makedirs(d)
    for name in ("secret.key", "other.txt", "decoy"):
        with open(os.path.join(d, name), "w") as f:
            f.write(name)
    rules = os.path.join(workdir, "rules.yaml")
    with open(rules, "w") as f:
        f.write(RULES.format(d=d))
    return d, rules


def test_reads_and_writes_get_the_slots_their_rules_need(workdir):
    d, rules = setup_dir(workdir)
    shown = subprocess.run([VIGIL, "rules", "prefilter", rules], capture_output=True, text=True,
                           check=True).stdout
    lines = {l.split()[0]: l.split()[1:] for l in shown.splitlines()}
    # reads: the key alone, by name first; writes: the whole directory, and the key's name
    # cannot narrow it (O_RDWR opens read as well)
    assert lines["open.read"] == ["match", f"{d}/secret.key", "leaf=secret.key"], shown
    assert lines["open"] == ["match", f"{d}/*"], shown


def test_reads_the_rules_cannot_match_never_leave_the_kernel(workdir):
    """2,000 reads of a file below the watched directory drop in the kernel (the recording
    of what was sent holds none of them); the key's read, an O_RDWR open and a write of
    the other file go up and alert."""
    d, rules = setup_dir(workdir)
    rec = os.path.join(workdir, "rec.bin")
    v = Vigil(workdir, ["--rules", rules, "--record", rec], events=False)
    try:
        storm = probe("storm", 2000, f"{d}/other.txt")
        key = probe("openat", "-", f"{d}/secret.key", os.O_RDONLY)
        rdwr = probe("openat", "-", f"{d}/secret.key", os.O_RDWR)
        wr = probe("openat", "-", f"{d}/other.txt", os.O_WRONLY)
        for pid, rule in ((key["pid"], "Key read"), (rdwr["pid"], "Key read"),
                          (rdwr["pid"], "Write below dir"), (wr["pid"], "Write below dir")):
            v.wait_alert(lambda a: a["rule"] == rule and
                         a["output_fields"]["proc.pid"] == pid, what=f"{rule} of {pid}")
    finally:
        assert v.stop() == 0, v.stderr()
    line = [l for l in v.stderr().splitlines() if l.startswith("vigil: open ")][0]
    filtered = int(line.split("filtered=")[1].split()[0])
    assert filtered >= 2000, line
    out = subprocess.run([VIGIL, "replay", rec, "--events"], capture_output=True, text=True,
                         check=True).stdout
    sent = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    opens = [e for e in sent if e["type"] == "open"]
    mine = [e for e in opens if e["proc"]["pid"] == storm["pid"]]
    assert not mine, mine[:3]
    assert any(e["proc"]["pid"] == key["pid"] for e in opens)


def test_the_name_test_cannot_be_evaded(workdir):
    """The key opened through a symlink of another name, through io_uring, by a relative
    name, and read where another file is bind-mounted over it (the mounted file's own name
    is "decoy": a mount root is never judged by its name) all alert."""
    d, rules = setup_dir(workdir)
    os.symlink(f"{d}/secret.key", f"{d}/innocent")
    v = Vigil(workdir, ["--rules", rules], events=False)
    try:
        pids = [probe("openat", "-", f"{d}/innocent", os.O_RDONLY)["pid"],
                probe("openat", d, "secret.key", os.O_RDONLY)["pid"]]
        ur = subprocess.run([helper("uring_probe"), "open", f"{d}/secret.key", "0", "0"],
                            capture_output=True, text=True)
        assert ur.returncode == 0, ur.stderr
        pids.append(json.loads(ur.stdout.splitlines()[0])["pid"])
        mnt = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "sh", "-c",
             f"mount --bind {d}/decoy {d}/secret.key && "
             f"{helper('file_probe')} openat - {d}/secret.key 0"],
            capture_output=True, text=True)
        assert mnt.returncode == 0, mnt.stderr
        pids.append(json.loads(mnt.stdout)["pid"])
        for pid in pids:
            al = v.wait_alert(lambda a: a["rule"] == "Key read" and
                              a["output_fields"]["proc.pid"] == pid, what=f"key read of {pid}")
            assert al["output_fields"]["fd.name"] == f"{d}/secret.key"
    finally:
        assert v.stop() == 0, v.stderr()
