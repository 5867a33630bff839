"""Durability: a clean restart keeps everything, kill -9 right after
acknowledged writes loses none, nor does SIGTERM (and the daemon exits 0)
or kill -9 while eight clients are writing, and a database from the
future or a file that is not a database is refused with a clear error,
never replaced."""

import json
import os
import signal
import sqlite3
import threading
import time

import pytest

from fu import BACKEND, Conn


def check_integrity(daemon):
    """SQLite checks its file; PostgreSQL keeps its own pages whole."""
    if BACKEND == "sqlite":
        db = sqlite3.connect(daemon.db)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()


def test_clean_restart_keeps_everything(daemon):
    c = daemon.connect()
    cid = c.call("contact.add", name="Kept", company="Acme")["contact"]["id"]
    fid = c.call("followup.add", contact=cid,
                 due="2030-01-01T10:00:00Z")["followup"]["id"]
    c.call("interaction.add", contact=cid, kind="note", note="n")
    c.call("user.set", tz="Europe/Paris")
    before = c.call("contact.get", id=cid)
    c.close()
    daemon.restart()
    c = daemon.connect()
    assert c.call("contact.get", id=cid) == before
    assert c.call("followup.get", id=fid)["followup"]["due_at"] == \
        "2030-01-01T10:00:00Z"
    assert c.call("user.get")["user"]["tz"] == "Europe/Paris"
    c.close()


def test_kill9_after_acknowledged_writes_loses_none(daemon):
    cid = daemon.call("contact.add", name="Durable")["contact"]["id"]
    acked = []
    lock = threading.Lock()

    def writer(n):
        c = daemon.connect()
        lines = b"".join(json.dumps({
            "id": "%d-%d" % (n, i), "op": "followup.add",
            "args": {"contact": cid, "due": "2030-01-01T10:00:00Z",
                     "reason": "w%d-%d" % (n, i)}}).encode() + b"\n"
            for i in range(50))
        c.send(lines)
        for _ in range(50):
            r = c.reply()
            assert r["ok"], r
            with lock:
                acked.append(r["result"]["followup"]["id"])
        c.close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(acked) == 200
    daemon.kill9()
    daemon.start()
    c = daemon.connect()
    stored = {f["id"] for f in c.call("followup.list", contact=cid,
                                      limit=1000)["followups"]}
    assert set(acked) <= stored
    c.close()
    check_integrity(daemon)


def write_until_stopped(daemon, sig):
    """Eight clients write, ten requests in flight each, until the daemon
    gets sig a second into it.  Its exit code and the acknowledged ids;
    then, restarted, it must hold every one of them."""
    cid = daemon.call("contact.add", name="Busy")["contact"]["id"]
    acked = []
    lock = threading.Lock()
    go = threading.Barrier(9)

    def writer(n):
        c = daemon.connect(timeout=30)
        go.wait()
        i = 0
        try:
            while True:
                # Ten requests in flight at a time, until the daemon goes.
                c.send(b"".join(json.dumps({
                    "id": i + k, "op": "followup.add",
                    "args": {"contact": cid, "due": "2030-01-01T10:00:00Z",
                             "reason": "w%d-%d" % (n, i + k)}}).encode() +
                    b"\n" for k in range(10)))
                for _ in range(10):
                    line = c.line()
                    if not line:
                        return
                    r = json.loads(line)
                    if r["ok"]:
                        with lock:
                            acked.append(r["result"]["followup"]["id"])
                i += 10
        except OSError:
            return     # reset or broken pipe: the daemon has gone
        finally:
            c.close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    go.wait()
    time.sleep(1)
    with lock:
        before = len(acked)
    daemon.proc.send_signal(sig)
    rc = daemon.proc.wait(60)
    daemon.proc = None
    daemon.logf.close()
    for t in threads:
        t.join(60)
        assert not t.is_alive()
    assert before > 0 and len(acked) >= before
    daemon.start()
    stored = {int(r[0]) for r in daemon.sql(
        "SELECT id FROM followups WHERE contact_id = ?", (cid,))}
    check_integrity(daemon)
    missing = set(acked) - stored
    assert not missing, "%d acknowledged writes lost" % len(missing)
    # And the daemon serves them after the restart.
    assert daemon.call("followup.get", id=max(acked))["followup"][
        "contact_id"] == cid
    return rc


def test_sigterm_while_eight_clients_write_keeps_every_acknowledged_write(
        daemon):
    # It stops cleanly, in the middle of the writing.
    assert write_until_stopped(daemon, signal.SIGTERM) == 0, \
        daemon.log.read_text()[-3000:]


def test_kill9_while_eight_clients_write_loses_no_acknowledged_write(
        daemon):
    """kill -9 in the middle of the writing: a reply was sent only once
    its write was committed (SQLite's fsync, PostgreSQL's
    synchronous_commit), so every acknowledged one is there."""
    assert write_until_stopped(daemon, signal.SIGKILL) == -signal.SIGKILL


def test_database_from_a_newer_followupd_is_refused(daemon):
    daemon.stop()
    if BACKEND == "sqlite":
        db = sqlite3.connect(daemon.db)
        db.execute("PRAGMA user_version = 99")
        db.commit()
        db.close()
    else:
        daemon.sql("UPDATE meta SET value = '99' "
                   "WHERE key = 'schema_version'")
    daemon.start(wait=False)
    assert daemon.proc.wait(30) == 1
    daemon.proc = None
    daemon.logf.close()
    assert "newer" in daemon.log.read_text()


@pytest.mark.sqlite_only("writes junk over the database file")
def test_a_file_that_is_not_a_database_is_refused_not_replaced(
        make_daemon, tmp_path):
    d = make_daemon()
    d.stop()
    junk = b"this is not a database, it is a shopping list\n" * 100
    with open(d.db, "wb") as f:
        f.write(junk)
    for suffix in ("-wal", "-shm"):
        try:
            import os
            os.unlink(d.db + suffix)
        except FileNotFoundError:
            pass
    d.start(wait=False)
    assert d.proc.wait(30) == 1
    d.proc = None
    d.logf.close()
    assert "cannot use" in d.log.read_text()
    with open(d.db, "rb") as f:
        assert f.read() == junk


def test_another_daemon_on_the_same_socket_is_refused(daemon, tmp_path):
    import subprocess
    from fu import FOLLOWUPD
    p = subprocess.run([FOLLOWUPD, "--socket", daemon.sock, "--database",
                        str(tmp_path / "other.db")], capture_output=True,
                       text=True, timeout=30, env={"TZ": "UTC",
                                                   "PATH": "/usr/bin:/bin"})
    assert p.returncode == 1
    assert "already listening" in p.stderr
    assert Conn(daemon.sock).request("hello")["ok"]


def test_the_socket_appears_only_once_it_listens(tmp_path):
    """followupd binds its socket under a name of its own and renames it
    into place once it listens, so whoever sees the file can connect (a
    socket bound in place refused connections until listen(), and a
    script waiting for the file met that).  A leftover of that name, from
    a daemon killed between the two, is replaced, and none is left."""
    from fu import REUSE, Daemon
    if REUSE:
        pytest.skip("starts its own daemon")
    d = Daemon(tmp_path)
    leftover = d.sock + ".new"
    with open(leftover, "w") as f:
        f.write("left by a crash")
    d.start()
    try:
        assert not os.path.exists(leftover)
        assert Conn(d.sock).request("hello")["ok"]
    finally:
        d.stop()


def burst(d, n):
    """n contact.add requests pipelined on one connection, all answered;
    returns the largest -wal file seen between its batches of 100."""
    c = d.connect(timeout=60)
    note = "n" * 1000
    largest = 0
    for start in range(0, n, 100):
        c.send(b"".join(json.dumps({"id": i, "op": "contact.add", "args": {
            "name": "Burst %d" % i, "notes": note}}).encode() + b"\n"
            for i in range(start, min(n, start + 100))))
        for _ in range(start, min(n, start + 100)):
            assert c.reply()["ok"]
        largest = max(largest, wal_size(d))
    c.close()
    return largest


def wal_size(d):
    try:
        return os.path.getsize(d.db + "-wal")
    except FileNotFoundError:
        return 0


@pytest.mark.sqlite_only("checks the size of SQLite's -wal file")
def test_write_ahead_log_is_truncated_once_writes_rest(daemon):
    # After a burst the log stayed as big as the burst had made it (1.5 MB
    # on a 2 MB file system holding 480 KB of data).  Now it is cut back
    # to nothing once writes rest, and never kept past 1 MiB meanwhile.
    burst(daemon, 3000)
    deadline = time.time() + 30
    while wal_size(daemon) > 0:
        assert time.time() < deadline, wal_size(daemon)
        time.sleep(0.1)
    assert daemon.call("status")["counts"]["contacts"] == 3000


@pytest.mark.sqlite_only("checks the size of SQLite's -wal file")
def test_write_ahead_log_stays_short_while_writes_go_on(daemon):
    # The log is folded into the database beside the loop from 768 kB on,
    # while the writes go on, and by the loop at 1 MiB if the writes never
    # left the thread a moment to catch up: 3,000 contacts with 1 kB notes
    # write many MiB of log pages, which without a checkpoint would all
    # stay in it.  (A group committed while the thread checkpoints may take
    # it a little past 1 MiB.)
    largest = burst(daemon, 3000)
    assert 0 < largest <= 4 << 20, largest
    assert daemon.call("status")["counts"]["contacts"] == 3000
    db = [c for c in daemon.call("doctor")["checks"]
          if c["name"] == "database"]
    assert db and db[0]["status"] == "ok", db


@pytest.mark.sqlite_only("checks the size of SQLite's -wal file")
def test_write_ahead_log_left_by_a_crash_is_truncated_at_start(daemon):
    daemon.stop()
    daemon.start()
    burst(daemon, 1000)
    daemon.kill9()
    assert wal_size(daemon) > 0
    daemon.start()
    assert wal_size(daemon) == 0
    assert daemon.call("status")["counts"]["contacts"] == 1000
