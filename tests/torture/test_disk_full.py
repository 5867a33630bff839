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


def test_backup_without_room_beside_the_database_is_refused_up_front(
        make_daemon, small_disk):
    """The daemon makes its copy beside the database: with no room for it
    there the backup is refused before it begins, rather than filling the
    disk the reps' writes need."""
    mnt, prefix = small_disk
    d = make_daemon()
    d.stop()
    d.db = str(mnt / "fu.db")
    if prefix:
        d.prefix = prefix
    d.start()
    disk = Path("/proc/%d/root%s" % (d.proc.pid, mnt)) if prefix else mnt
    c = d.connect(timeout=60)
    for i in range(40):
        c.call("contact.add", name="Kept %d" % i, notes="n" * 4000)
    used = sum(os.path.getsize(disk / f) for f in os.listdir(disk))
    # Leave room for half a copy.
    st = os.statvfs(disk)
    with open(disk / "filler", "wb") as out:
        out.write(b"\0" * max(0, st.f_bavail * st.f_frsize - used // 2))
    e = c.error("backup", path=str(d.dir / "b.db"))
    assert e["code"] == "unavailable", e
    assert "no room beside the database" in e["message"], e
    assert not c.fds
    assert sorted(os.listdir(disk)) == sorted(
        f for f in ("filler", "fu.db", "fu.db-wal", "fu.db-shm")
        if os.path.exists(disk / f))
    # The reps' writes go on.
    assert c.call("contact.add", name="After")["contact"]["name"] == "After"
    # With room again, the backup is made.
    os.unlink(disk / "filler")
    r = c.call("backup", path=str(d.dir / "b.db"))
    c.save_copy(str(d.dir / "b.db"))
    assert r["bytes"] == os.path.getsize(d.dir / "b.db")
    con = sqlite3.connect(str(d.dir / "b.db"))
    assert con.execute("SELECT count(*) FROM contacts").fetchone()[0] == 41
    con.close()
    c.close()
    d.stop()
