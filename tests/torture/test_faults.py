"""Faults around the daemon: hooks that fail, hang, print megabytes or
close their input early; a database locked by another program (while
running, and at start), read-only (its mode or its file system),
truncated, damaged inside, or not a database at start.  Each gets a
clear error (or a retry), the daemon keeps serving, and no reminder or
record is lost.
"""

import glob
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import SLOW, skip_loudly, userns_works
from fu import FOLLOWUPD


def wait_for(pred, timeout=60, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def hook_daemon(make_daemon, tmp_path, body, extra=""):
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(0o755)
    return make_daemon("[reminders]\nlead = 0\nhook = %s\nhook_retry = 1s\n"
                       "hook_timeout = 2s\n%s" % (hook, extra))


def due_soon(d, n=1, secs=1, reason=None):
    c = d.call("contact.add", name="Fault")["contact"]
    return [d.call("followup.add", contact=c["id"],
                   due="in %d seconds" % secs, remind_before=0,
                   reason=reason)["followup"]["id"] for _ in range(n)]


def test_failing_hook_is_retried_until_it_delivers_once(make_daemon,
                                                        tmp_path):
    # Fails twice, then delivers: one message in the end.
    d = hook_daemon(make_daemon, tmp_path,
                    "n=$(cat %s/count 2>/dev/null || echo 0)\n"
                    "echo $((n + 1)) > %s/count\n"
                    "[ $n -ge 2 ] || { echo 'relay said no' >&2; exit 1; }\n"
                    "cat > %s/delivered.$n\n" % ((tmp_path,) * 3))
    due_soon(d)
    assert wait_for(lambda: glob.glob(str(tmp_path / "delivered.*")), 30)
    time.sleep(1.5)
    assert len(glob.glob(str(tmp_path / "delivered.*"))) == 1
    assert (tmp_path / "count").read_text().strip() == "3"
    assert "relay said no" in d.log.read_text()
    assert d.call("status")["outbox_backlog"] == 0


def test_hanging_hook_is_stopped_and_the_daemon_keeps_serving(make_daemon,
                                                              tmp_path):
    d = hook_daemon(make_daemon, tmp_path, "sleep 600\n")
    due_soon(d)
    # While the hook hangs, requests are answered at once.
    t = time.time()
    for _ in range(20):
        d.call("hello")
        time.sleep(0.1)
    assert time.time() - t < 20
    assert wait_for(lambda: "timed out" in d.log.read_text() or
                    "time limit" in d.log.read_text(), 30), \
        d.log.read_text()[-2000:]
    assert d.call("status")["last_delivery_error"] is not None


def test_hook_printing_megabytes_is_cut_short_in_memory(make_daemon,
                                                        tmp_path):
    d = hook_daemon(make_daemon, tmp_path,
                    "cat > /dev/null\nhead -c 30000000 /dev/zero | "
                    "tr '\\0' 'x'\necho\necho the last line\nexit 3\n")
    due_soon(d)
    assert wait_for(lambda: d.call("status")["last_delivery_error"], 60)
    err = d.call("status")["last_delivery_error"]["error"]
    assert "the last line" in err and len(err) < 4096, err[:200]
    # The peak, not what is left once the output is freed: buffering the
    # 30 MB, even for a moment, would put it above 30 MiB.
    with open("/proc/%d/status" % d.proc.pid) as f:
        hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM")][0]
    with open("/proc/%d/maps" % d.proc.pid) as f:
        asan = "libasan" in f.read()
    print("hook megabytes: peak %d KiB resident" % hwm)
    # Under AddressSanitizer or valgrind the figure is the tool's.
    if not asan and not SLOW:
        assert hwm < 16 * 1024, "peak %d KiB resident" % hwm


def test_hook_closing_its_input_early_is_judged_by_its_exit(make_daemon,
                                                           tmp_path):
    # The message is far larger than a pipe: the daemon meets EPIPE.
    d = hook_daemon(make_daemon, tmp_path,
                    "exec 0<&-\necho ok >> %s/ran\nexit 0\n" % tmp_path)
    ids = due_soon(d, n=300, secs=2, reason="r" * 900)
    assert wait_for(lambda: (tmp_path / "ran").exists(), 30)
    assert wait_for(lambda: d.call("status")["outbox_backlog"] == 0, 30)
    assert d.call("hello")["server"] == "followupd"
    assert len(ids) == 300


def test_database_locked_by_another_program(make_daemon):
    d = make_daemon()
    c = d.connect(timeout=30)
    kept = c.call("contact.add", name="Before the lock")["contact"]["id"]
    other = sqlite3.connect(d.db, isolation_level=None, timeout=30)
    other.execute("BEGIN EXCLUSIVE")
    try:
        r = c.request("contact.add", {"name": "While locked"})
        assert not r["ok"] and r["error"]["code"] == "unavailable", r
        assert "locked" in r["error"]["message"]
        # Reads go on.
        assert c.call("contact.get", id=kept)["contact"]["name"] == \
            "Before the lock"
    finally:
        other.execute("ROLLBACK")
        other.close()
    r = c.request("contact.add", {"name": "After the lock"})
    assert r["ok"], r
    names = [x["name"] for x in c.call("contact.list")["contacts"]]
    assert names == ["Before the lock", "After the lock"]
    c.close()


def start_fails(tmp_path, db):
    p = subprocess.run([FOLLOWUPD, "--socket", str(tmp_path / "x.sock"),
                        "--database", str(db)], capture_output=True,
                       text=True, timeout=60, env=dict(os.environ,
                                                       TZ="UTC"))
    assert p.returncode == 1, p.stderr
    assert not (tmp_path / "x.sock").exists()
    return p.stderr


def test_damaged_database_at_start_is_a_clear_error(make_daemon, tmp_path):
    d = make_daemon()
    for i in range(300):
        d.call("contact.add", name="Contact %d" % i, notes="n" * 500)
    d.stop()
    good = open(d.db, "rb").read()
    bad = tmp_path / "bad"
    bad.mkdir()
    # Cut short: the schema pages are gone.
    trunc = bad / "truncated.db"
    trunc.write_bytes(good[:4096])
    err = start_fails(bad, trunc)
    assert ("malformed" in err or "cannot use" in err or
            "damaged" in err), err
    assert trunc.read_bytes() == good[:4096]      # left for inspection
    # Garbage over the header.
    junk = bad / "junk.db"
    junk.write_bytes(b"\xff" * 100 + good[100:])
    err = start_fails(bad, junk)
    assert "not a database" in err or "cannot use" in err, err
    assert junk.stat().st_size == len(good)


def spoil_page(path, table, kind):
    """Overwrite with junk one page of table's b-tree, of kind ("leaf",
    "internal"), from the middle of the file; return its number."""
    con = sqlite3.connect(path)
    pages = [r[0] for r in con.execute(
        "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = ? "
        "ORDER BY pageno", (table, kind))]
    size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    assert pages, "no %s page in %s" % (kind, table)
    page = pages[len(pages) // 2]
    with open(path, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xa5" * size)
    return page


def test_damaged_page_inside_a_small_database_fails_start(make_daemon,
                                                         tmp_path):
    # A database of a few MiB is checked whole at start (it costs a few
    # milliseconds), so a damaged one is refused before it is written to.
    d = make_daemon()
    for i in range(300):
        d.call("contact.add", name="Contact %d" % i, notes="n" * 500)
    d.stop()
    page = spoil_page(d.db, "contacts", "leaf")
    before = open(d.db, "rb").read()
    err = start_fails(tmp_path, d.db)
    assert "damaged" in err and d.db in err and "Page %d" % page in err, err
    assert "backup" in err, err
    assert open(d.db, "rb").read() == before      # left for inspection


def test_damaged_page_inside_a_large_database_is_reported(make_daemon,
                                                          tmp_path):
    # Past 64 MiB the start-up check would cost too much: the daemon
    # starts, a request that meets the damage says the file is damaged,
    # and followup doctor (a full quick check) fails on it.
    d = make_daemon()
    d.call("contact.add", name="First")
    d.stop()
    con = sqlite3.connect(d.db)
    now = int(time.time())
    with con:
        con.executemany(
            "INSERT INTO contacts (owner, name, stage, notes, created_at, "
            "updated_at) VALUES (?, ?, 'lead', ?, ?, ?)",
            ((os.environ.get("USER") or
              __import__("pwd").getpwuid(os.getuid()).pw_name,
              "Bulk %d" % i, "%05d" % i * 600, now, now)
             for i in range(24000)))
    con.close()
    assert os.path.getsize(d.db) > 64 * 1024 * 1024
    spoil_page(d.db, "contacts", "internal")
    d.start()
    c = d.connect(timeout=60)
    errors = []
    for cid in range(1, 24002, 97):
        r = c.request("contact.get", {"id": cid})
        if not r["ok"]:
            errors.append(r["error"])
    assert errors, "no request met the damaged page"
    assert all(e["code"] == "internal" and "damaged" in e["message"] and
               "doctor" in e["message"] for e in errors), errors[:3]
    assert c.call("hello")["server"] == "followupd"
    c.close()
    rc, out, err = d.client("doctor")
    assert rc == 1, out + err
    line = [l for l in out.splitlines() if "  database " in l][0]
    assert line.startswith("FAIL") and "damaged" in line, out


def hold_lock(db, how):
    """Another process's lock on db, as an sqlite3 connection."""
    other = sqlite3.connect(db, isolation_level=None, timeout=30)
    if how == "locking_mode":
        # The lock is taken by the first read and kept until closed.
        other.execute("PRAGMA locking_mode = EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("SELECT count(*) FROM contacts").fetchone()
        other.execute("COMMIT")
    else:
        other.execute("BEGIN EXCLUSIVE")
    return other


@pytest.mark.parametrize("how", ["begin_exclusive", "locking_mode"])
def test_database_locked_at_start_fails_after_a_wait(make_daemon, tmp_path,
                                                     how):
    # A daemon that started but could not write would refuse every change
    # while looking healthy: it waits a few seconds, then says why.
    d = make_daemon()
    d.call("contact.add", name="Kept")
    d.stop()
    other = hold_lock(d.db, how)
    try:
        t = time.monotonic()
        err = start_fails(tmp_path, d.db)
        waited = time.monotonic() - t
    finally:
        other.close()
    assert "locked by another process" in err and d.db in err, err
    assert waited >= 4, waited
    d.start()
    assert [x["name"] for x in d.call("contact.list")["contacts"]] == \
        ["Kept"]


def test_database_lock_released_during_the_wait_lets_it_start(make_daemon):
    d = make_daemon()
    d.stop()
    other = hold_lock(d.db, "begin_exclusive")
    d.start(wait=False)
    time.sleep(1.5)
    other.execute("ROLLBACK")
    other.close()
    d.wait_ready()
    assert d.call("contact.add", name="After")["contact"]["name"] == "After"


def test_read_only_database_file_at_start(make_daemon, tmp_path):
    # Its mode says no one writes it (root included): a clear error, and
    # the file is left as it was.
    d = make_daemon()
    d.call("contact.add", name="Frozen")
    d.stop()
    os.chmod(d.db, 0o444)
    before = open(d.db, "rb").read()
    err = start_fails(tmp_path, d.db)
    assert "cannot be written" in err and d.db in err, err
    assert open(d.db, "rb").read() == before
    assert os.stat(d.db).st_mode & 0o777 == 0o444


def test_database_named_without_a_directory(tmp_path):
    # --database fu.db: in the working directory.
    p = subprocess.Popen([FOLLOWUPD, "--socket", str(tmp_path / "x.sock"),
                          "--database", "fu.db"], cwd=str(tmp_path),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=dict(os.environ, TZ="UTC"))
    try:
        assert wait_for(lambda: (tmp_path / "x.sock").exists() or
                        p.poll() is not None, 10)
        assert p.poll() is None, p.stdout.read()
        assert (tmp_path / "fu.db").exists()
    finally:
        p.terminate()
        p.wait(30)
    assert p.returncode == 0


def test_read_only_file_system_at_start(make_daemon, tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    d = make_daemon()
    d.call("contact.add", name="On a read-only disk")
    d.stop()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs",
                        str(mnt)], capture_output=True, text=True)
    if r.returncode == 0:
        try:
            subprocess.run(["cp", d.db, str(mnt / "fu.db")], check=True)
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)],
                           check=True)
            err = start_fails(tmp_path, mnt / "fu.db")
        finally:
            subprocess.run(["umount", "-l", str(mnt)])
    elif userns_works():
        # The same in a mount namespace of our own.
        p = subprocess.run(
            ["unshare", "-Urm", "sh", "-c",
             'mount -t tmpfs -o size=4m tmpfs "$1" && cp "$2" "$1/fu.db" && '
             'mount -t tmpfs -o remount,ro tmpfs "$1" && '
             'exec "$3" --socket "$4" --database "$1/fu.db"', "sh", str(mnt), d.db, FOLLOWUPD,
             str(tmp_path / "x.sock")], capture_output=True, text=True,
            timeout=60, env=dict(os.environ, TZ="UTC"))
        assert p.returncode == 1, p.stderr
        err = p.stderr
    else:
        skip_loudly("a read-only file system", "cannot mount a tmpfs "
                    "here: " + r.stderr.strip())
    assert "cannot be written" in err and "Read-only" in err, err
