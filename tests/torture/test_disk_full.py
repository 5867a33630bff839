"""A full disk: the database on a small tmpfs that the test fills.  Writes
get `unavailable` with a clear message, reads keep working, nothing stored
is damaged, and writing resumes as soon as space comes back.

Needs root (mount), or else unprivileged user namespaces: the daemon then
runs in its own mount namespace (unshare -Urm) with the tmpfs, and the test
reaches that file system through /proc/PID/root.  Skipped loudly if neither
works.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import skip_loudly, userns_works


@pytest.fixture
def small_disk(tmp_path):
    """(mount point, command prefix for the daemon or None)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if r.returncode == 0:
        yield mnt, None
        subprocess.run(["umount", "-l", str(mnt)])
    elif userns_works():
        yield mnt, ["unshare", "-Urm", "sh", "-c",
                    'mount -t tmpfs -o size=3m tmpfs "$0" && exec "$@"',
                    str(mnt)]
    else:
        skip_loudly("a full disk", "cannot mount a tmpfs here: " +
                    r.stderr.strip())


def test_full_disk_refuses_writes_keeps_reads_and_recovers(make_daemon,
                                                          small_disk):
    mnt, prefix = small_disk
    d = make_daemon()
    d.stop()
    d.db = str(mnt / "fu.db")
    if prefix:
        d.prefix = prefix
    d.start()
    # The file system as the daemon sees it.
    disk = Path("/proc/%d/root%s" % (d.proc.pid, mnt)) if prefix else mnt
    c = d.connect(timeout=60)
    kept = [c.call("contact.add", name="Kept %d" % i)["contact"]["id"]
            for i in range(20)]
    f = c.call("followup.add", contact=kept[0], due="tomorrow 10:00")
    # Take nearly all the space, then write until the disk refuses.
    st = os.statvfs(disk)
    filler = disk / "filler"
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 256 * 1024))
    note = "x" * 4000
    err = None
    for i in range(2000):
        r = c.request("contact.add", {"name": "Filler %d" % i,
                                      "notes": note})
        if not r["ok"]:
            err = r["error"]
            break
    assert err is not None, "the disk never filled"
    assert err["code"] == "unavailable", err
    assert "full" in err["message"], err
    # Refused again, and nothing half-written shows up.
    r = c.request("followup.add", {"contact": kept[1],
                                   "due": "tomorrow 11:00"})
    assert not r["ok"] and r["error"]["code"] == "unavailable"
    # Reads keep working.
    names = [x["name"] for x in c.call("contact.list",
                                       limit=500)["contacts"]]
    assert names[:20] == ["Kept %d" % i for i in range(20)]
    assert c.call("followup.get", id=f["followup"]["id"])["followup"][
        "status"] == "pending"
    assert "due" in c.call("agenda", range="week")
    assert c.call("status")["counts"]["contacts"] == len(names)
    # Nothing stored is damaged.
    db = disk / "fu.db"
    if prefix:
        # SQLite resolves /proc/PID/root to "/": check a copy (the daemon
        # is idle, so the file and its WAL are consistent).
        db = d.dir / "copy.db"
        for ext in ("", "-wal"):
            if os.path.exists(str(disk / "fu.db") + ext):
                shutil.copy(str(disk / "fu.db") + ext, str(db) + ext)
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    # Space comes back: writing works again, on the same connection.
    filler.unlink()
    r = c.request("contact.add", {"name": "After"})
    assert r["ok"], r
    assert c.call("contact.get", id=r["result"]["contact"]["id"])[
        "contact"]["name"] == "After"
    c.close()
    d.stop()
    log = d.log.read_text()
    assert "full" in log
