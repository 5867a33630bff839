"""A full disk: the database on a small tmpfs that the test fills.  Writes
get `unavailable` with a clear message, reads keep working, nothing stored
is damaged, and writing resumes as soon as space comes back.

Needs root (mount), or else unprivileged user namespaces: the daemon then
runs in its own mount namespace (unshare -Urm) with the tmpfs, and the test
reaches that file system through /proc/PID/root.  Skipped loudly if neither
works.
"""

import errno
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from conftest import SLOW, skip_loudly, userns_works
from fu import rfc3339


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


def daemon_on_small_disk(make_daemon, small_disk):
    """A daemon whose database is on the small disk, and that file system
    as the daemon sees it (through /proc/PID/root in a namespace)."""
    mnt, prefix = small_disk
    d = make_daemon()
    d.stop()
    d.db = str(mnt / "fu.db")
    if prefix:
        d.prefix = prefix
    d.start()
    disk = Path("/proc/%d/root%s" % (d.proc.pid, mnt)) if prefix else mnt
    return d, disk


def test_full_disk_refuses_writes_keeps_reads_and_recovers(make_daemon,
                                                          small_disk):
    d, disk = daemon_on_small_disk(make_daemon, small_disk)
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
    assert r["id"] == c.next_id, r
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
    if small_disk[1]:
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
    d, disk = daemon_on_small_disk(make_daemon, small_disk)
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


def fill_up(path):
    """Write path until the file system refuses."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError as e:
        assert e.errno == errno.ENOSPC, e
    os.close(fd)


def cpu_seconds(pid):
    """User and system CPU time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_reminder_due_on_a_full_disk_backs_off_then_goes_out(make_daemon,
                                                             small_disk):
    # A reminder came due on a full disk: each pass claimed it, the commit
    # failed and the next pass began at once: 83 s of CPU in 100 s and
    # 15,000 log lines a second.  Now the passes back off (1 s doubling
    # up to 60 s), the failure is logged once a minute with a count, and
    # the reminder goes out once space returns.
    d, disk = daemon_on_small_disk(make_daemon, small_disk)
    c = d.connect(timeout=60)
    cid = c.call("contact.add", name="Due on a full disk")["contact"]["id"]
    due = time.time() + (40 if SLOW else 4)
    fid = c.call("followup.add", contact=cid,
                 due=rfc3339(due))["followup"]["id"]
    filler = disk / "filler"
    fill_up(filler)
    r = c.request("contact.add", {"name": "Refused"})
    assert not r["ok"] and r["error"]["code"] == "unavailable", r
    while time.time() < due + 1:
        time.sleep(0.2)
    # The window: the reminder is due and cannot be recorded.
    window = 30 if SLOW else 10
    lines0 = len(d.log.read_text().splitlines())
    cpu0, t0 = cpu_seconds(d.proc.pid), time.monotonic()
    time.sleep(window)
    cpu = cpu_seconds(d.proc.pid) - cpu0
    elapsed = time.monotonic() - t0
    log = d.log.read_text().splitlines()[lines0:]
    assert cpu < 0.2 * elapsed, "%.1f s of CPU in %.1f s" % (cpu, elapsed)
    assert len(log) < 40, "%d log lines in %.1f s:\n%s" % (
        len(log), elapsed, "\n".join(log[:20]))
    assert d.proc.poll() is None
    # Space comes back: the reminder goes out (within the backoff's cap).
    filler.unlink()
    pattern = re.compile(r"due( \(late\))?: followup %d with" % fid)
    deadline = time.time() + 150
    while not pattern.search(d.log.read_text()):
        assert time.time() < deadline, d.log.read_text()[-3000:]
        time.sleep(0.2)
    assert "can be written again" in d.log.read_text()
    c.close()
    d.stop()


def test_kill9_on_a_full_disk_then_space_freed_writes_again(make_daemon,
                                                            small_disk):
    # A daemon killed on a full disk left a write-ahead log as big as the
    # free space; after space was freed the log went on growing (each
    # commit appends its index and count pages again, several times the
    # data) and the database was soon unwritable again, until the file
    # system was grown.  Now the log is checkpointed at start, at 1 MiB,
    # on a full disk and when idle, and cut back: the freed space holds
    # that much more data.
    mnt, prefix = small_disk
    if prefix:
        skip_loudly("a restart on a full disk", "the tmpfs of a user "
                    "namespace ends with the daemon")
    d = make_daemon()
    d.stop()
    d.db = str(mnt / "fu.db")
    d.start()
    c = d.connect(timeout=60)
    for i in range(20):
        c.call("contact.add", name="Kept %d" % i)
    st = os.statvfs(mnt)
    filler = mnt / "filler"
    with open(filler, "wb") as out:
        out.write(b"\0" * max(0, st.f_bavail * st.f_frsize - 1024 * 1024))
    note = "x" * 4000
    for i in range(2000):
        r = c.request("contact.add", {"name": "Filler %d" % i,
                                      "notes": note})
        if not r["ok"]:
            break
    assert not r["ok"] and r["error"]["code"] == "unavailable", r
    c.close()
    d.kill9()
    d.start()
    filler.unlink()
    c = d.connect(timeout=60)
    # 0.8 MB of data: a log never checkpointed filled the disk again
    # after 60 of these.
    for i in range(200):
        deadline = time.time() + 10
        while True:
            r = c.request("contact.add", {"name": "After %d" % i,
                                          "notes": note})
            if r["ok"]:
                break
            assert time.time() < deadline, (i, r, os.statvfs(mnt).f_bavail,
                                            d.log.read_text()[-3000:])
            time.sleep(0.5)
    # The notes make more than one page (a page ends at 512 KiB).
    names, after = [], None
    while True:
        args = {"limit": 1000}
        if after is not None:
            args["after"] = after
        page = c.call("contact.list", **args)
        names += [x["name"] for x in page["contacts"]]
        if (after := page["next_after"]) is None:
            break
    assert names[:20] == ["Kept %d" % i for i in range(20)]
    assert "After 199" in names
    # Idle, the write-ahead log goes back to (nearly) nothing.
    wal = Path(str(mnt / "fu.db") + "-wal")
    deadline = time.time() + 30
    while wal.exists() and wal.stat().st_size > 64 * 1024:
        assert time.time() < deadline, wal.stat().st_size
        time.sleep(0.2)
    c.close()
    d.stop()
