"""File events from the real kernel: paths resolved from kernel objects (relative,
symlinks, dirfd, "..", /proc/self/fd), every file syscall, errors, and the
in-kernel prefilter."""
import errno
import json
import os
import re
import subprocess

import pytest

from conftest import Vigil, helper, raw


@pytest.fixture(scope="module")
def vall(tmp_path_factory):
    """A daemon that sends every open, so read-only opens are visible."""
    v = Vigil(str(tmp_path_factory.mktemp("vigil-files")), ["--filter", "open=all"])
    yield v
    assert v.stop() == 0, v.stderr()


@pytest.fixture()
def tree(workdir):
    """workdir/real/data.txt, workdir/real/sub/, workdir/link -> real/data.txt."""
    real = os.path.join(os.path.realpath(workdir), "real")
    os.makedirs(os.path.join(real, "sub"))
    data = os.path.join(real, "data.txt")
    with open(data, "w") as f:
        f.write("x")
    os.symlink(data, os.path.join(workdir, "link"))
    return {"root": os.path.realpath(workdir), "real": real, "data": data}


def probe(*args, cwd=None):
    out = subprocess.run([helper("file_probe"), *map(str, args)], capture_output=True,
                         text=True, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def file_event(v, info, etype, syscall=None, raw_arg=None):
    """The event of the probe's call (the probe's own setup opens come first)."""
    return v.wait_for(lambda e: e["type"] == etype and e["proc"]["pid"] == info["pid"] and
                      (syscall is None or e["syscall"] == syscall) and
                      (raw_arg is None or e["file"]["raw"] == raw_arg),
                      what=f"{etype} event of pid {info['pid']}")


def test_open_relative_from_chdir(vall, tree):
    info = probe("openat", "-", "data.txt", os.O_RDONLY, cwd=tree["real"])
    ev = file_event(vall, info, "open", "openat")
    assert ev["file"]["path"] == tree["data"]
    assert ev["file"]["raw"] == "data.txt"
    assert ev["ret"] == info["ret"] >= 0
    assert ev["file"]["fd"] == info["ret"]
    assert ev["file"]["ino"] == os.stat(tree["data"]).st_ino


def test_open_through_symlink(vall, tree):
    info = probe("openat", "-", os.path.join(tree["root"], "link"), os.O_RDONLY)
    ev = file_event(vall, info, "open")
    assert ev["file"]["path"] == tree["data"]
    assert ev["file"]["raw"] == os.path.join(tree["root"], "link")


def test_open_with_dirfd_and_dotdot(vall, tree):
    info = probe("openat", os.path.join(tree["real"], "sub"), "../data.txt", os.O_RDONLY)
    ev = file_event(vall, info, "open", raw_arg="../data.txt")
    assert ev["file"]["path"] == tree["data"]
    assert ev["file"]["raw"] == "../data.txt"
    assert ev["file"]["dirfd"] >= 0


def test_open_through_proc_self_fd(vall, tree):
    # a shell opens the file on fd 7, then cat reopens it through /proc/self/fd/7
    p = subprocess.run(["sh", "-c", f'exec 7<"{tree["data"]}"; exec cat /proc/self/fd/7'],
                       capture_output=True)
    assert p.returncode == 0
    ev = vall.wait_for(lambda e: e["type"] == "open" and e["file"]["raw"] == "/proc/self/fd/7",
                       what="open through /proc/self/fd")
    assert ev["file"]["path"] == tree["data"]


def test_open_syscall_variants_and_created(vall, tree):
    target = os.path.join(tree["real"], "new-open")
    info = probe("open", target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    ev = file_event(vall, info, "open", "open")
    assert ev["file"]["path"] == target and ev["file"]["created"] is True
    assert ev["file"]["flags"] & os.O_CREAT and ev["file"]["mode"] == 0o640
    info = probe("open", target, os.O_WRONLY, 0)
    assert file_event(vall, info, "open", "open")["file"]["created"] is False
    info = probe("creat", os.path.join(tree["real"], "new-creat"), 0o600)
    ev = file_event(vall, info, "open", "creat")
    assert ev["file"]["created"] is True and ev["file"]["path"].endswith("/new-creat")
    info = probe("openat2", tree["real"], "data.txt", os.O_RDONLY)
    ev = file_event(vall, info, "open", "openat2", raw_arg="data.txt")
    assert ev["file"]["path"] == tree["data"]


def test_failed_open_reports_error_and_folded_path(vall, tree):
    info = probe("openat", "-", "sub/../missing.txt", os.O_RDONLY, cwd=tree["real"])
    assert info["errno"] == errno.ENOENT
    ev = file_event(vall, info, "open")
    assert ev["ret"] == -errno.ENOENT and ev["error"] == "ENOENT"
    assert ev["file"]["path"] == os.path.join(tree["real"], "missing.txt")
    assert ev["file"]["joined"] is True
    assert ev["file"]["raw"] == "sub/../missing.txt"


def test_hostile_file_name_bytes_survive(vall, tree):
    name = b"evil\nname \xff\xfe \"quoted\""
    path = os.path.join(tree["real"].encode(), name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    ev = vall.wait_for(lambda e: e["type"] == "open" and e["file"]["path"] is not None and
                       raw(e["file"]["path"]) == path, what="open of the hostile name")
    assert ev["file"]["created"] is True


def test_unlink_rmdir_mkdir(vall, tree):
    victim = os.path.join(tree["real"], "victim")
    open(victim, "w").close()
    info = probe("unlink", victim)
    ev = file_event(vall, info, "unlink", "unlink")
    assert ev["file"]["path"] == victim and ev["ret"] == 0
    info = probe("mkdirat", tree["real"], "newdir", 0o750)
    ev = file_event(vall, info, "mkdir", "mkdirat")
    assert ev["file"]["path"] == os.path.join(tree["real"], "newdir")
    assert ev["file"]["mode"] == 0o750
    info = probe("rmdir", os.path.join(tree["real"], "newdir"))
    ev = file_event(vall, info, "unlink", "rmdir")
    assert ev["file"]["path"] == os.path.join(tree["real"], "newdir")
    open(victim, "w").close()
    info = probe("unlinkat", tree["real"], "victim", 0)
    assert file_event(vall, info, "unlink", "unlinkat")["file"]["path"] == victim
    info = probe("mkdir", os.path.join(tree["real"], "d2"), 0o700)
    assert file_event(vall, info, "mkdir", "mkdir")["file"]["path"].endswith("/real/d2")


def test_rename_over_existing_file(vall, tree):
    src = os.path.join(tree["real"], "src.txt")
    open(src, "w").close()
    info = probe("rename", src, tree["data"])
    ev = file_event(vall, info, "rename", "rename")
    assert ev["ret"] == 0
    assert ev["file"]["path"] == src and ev["file"]["path2"] == tree["data"]
    open(src, "w").close()
    info = probe("renameat2", tree["real"], "src.txt", "data.txt", 2)  # RENAME_EXCHANGE
    ev = file_event(vall, info, "rename", "renameat2")
    assert ev["file"]["flags"] == 2 and ev["file"]["path2"] == tree["data"]


def test_chmod_family(vall, tree):
    info = probe("chmod", tree["data"], 0o600)
    ev = file_event(vall, info, "chmod", "chmod")
    assert ev["file"]["path"] == tree["data"] and ev["file"]["mode"] == 0o600
    info = probe("fchmod", tree["data"], 0o4755)
    ev = file_event(vall, info, "chmod", "fchmod")
    # fchmod names no path: it is resolved from the descriptor
    assert ev["file"]["path"] == tree["data"] and ev["file"]["mode"] == 0o4755
    assert ev["file"]["joined"] is False
    info = probe("fchmodat", tree["real"], "data.txt", 0o644)
    assert file_event(vall, info, "chmod", "fchmodat")["file"]["path"] == tree["data"]


def test_chown_family(vall, tree):
    info = probe("chown", tree["data"], 65534, 65534)
    ev = file_event(vall, info, "chown", "chown")
    assert ev["file"]["uid"] == 65534 and ev["file"]["gid"] == 65534
    info = probe("fchown", tree["data"], 0, -1)
    ev = file_event(vall, info, "chown", "fchown")
    assert ev["file"]["path"] == tree["data"] and ev["file"]["uid"] == 0
    assert ev["file"]["gid"] == -1
    info = probe("lchown", os.path.join(tree["root"], "link"), 0, 0)
    ev = file_event(vall, info, "chown", "lchown")
    assert ev["file"]["path"] == os.path.join(tree["root"], "link")
    info = probe("fchownat", tree["real"], "data.txt", 0, 0, 0)
    assert file_event(vall, info, "chown", "fchownat")["file"]["path"] == tree["data"]


def test_links_and_truncate(vall, tree):
    hard = os.path.join(tree["real"], "hard")
    info = probe("link", tree["data"], hard)
    ev = file_event(vall, info, "link", "link")
    assert ev["file"]["path"] == tree["data"] and ev["file"]["path2"] == hard
    info = probe("linkat", tree["real"], "data.txt", "hard2", 0)
    assert file_event(vall, info, "link", "linkat")["file"]["path2"].endswith("/real/hard2")
    lnk = os.path.join(tree["real"], "sym")
    info = probe("symlink", "/etc/shadow", lnk)
    ev = file_event(vall, info, "symlink", "symlink")
    assert ev["file"]["path"] == lnk and ev["file"]["raw2"] == "/etc/shadow"
    info = probe("symlinkat", "../x", tree["real"], "sym2")
    ev = file_event(vall, info, "symlink", "symlinkat")
    assert ev["file"]["path"] == os.path.join(tree["real"], "sym2")
    assert ev["file"]["raw2"] == "../x"
    info = probe("truncate", tree["data"], 0)
    ev = file_event(vall, info, "truncate", "truncate")
    assert ev["file"]["path"] == tree["data"] and ev["file"]["length"] == 0
    info = probe("ftruncate", tree["data"], 5)
    ev = file_event(vall, info, "truncate", "ftruncate")
    assert ev["file"]["path"] == tree["data"] and ev["file"]["length"] == 5


def counters(stderr, etype):
    m = re.search(rf"vigil: {etype}\s+seen=(\d+) filtered=(\d+) sent=(\d+) lost=(\d+)", stderr)
    assert m, stderr
    return dict(zip(("seen", "filtered", "sent", "lost"), map(int, m.groups())))


def test_prefilter_drops_unwatched_opens_in_the_kernel(workdir):
    watched = os.path.join(os.path.realpath(workdir), "watched")
    os.makedirs(watched)
    hot = os.path.join(watched, "secret")
    cold = os.path.join(os.path.realpath(workdir), "cold.txt")
    for p in (hot, cold):
        open(p, "w").close()
    v = Vigil(workdir, ["--filter", f"open={watched}/"])
    try:
        storm = probe("storm", 100000, cold)
        one = probe("openat", "-", hot, os.O_RDONLY)
        v.wait_for(lambda e: e["type"] == "open" and e["proc"]["pid"] == one["pid"],
                   what="the watched open")
    finally:
        assert v.stop() == 0
    sent_cold = [e for e in v.events()
                 if e["type"] == "open" and e["proc"]["pid"] == storm["pid"]]
    assert sent_cold == [], "opens outside the watched prefix reached user space"
    c = counters(v.stderr(), "open")
    assert c["filtered"] >= 100000, c
    assert c["lost"] == 0
