"""followup backup (a consistent copy while the daemon runs and is being
written to, and the restore the manual describes) and followup doctor
(each check fails when its cause is there, and says what to fix).

Bad input tried: a backup onto an existing file (kept unless --force), onto
the live database itself or its -wal, -shm or -journal file (by any name:
a symbolic link, a hard link, ".."), into a directory that does not exist,
a relative path, a "force" the daemon no longer takes (the client replaces
files, not the daemon); a hook whose sendmail does not exist, a hook program that
does not exist, a hook that fails every delivery, no daemon at all.
"""

import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from fu import BACKEND, FOLLOWUP_MAIL, WRAPPER

# What only the SQLite store does; PostgreSQL is backed up with pg_dump
# and checks its own files.
SQLITE_BACKUP = "followup backup copies the SQLite file"
SQLITE_CHECK = "doctor runs SQLite's quick_check on the file"


class WatchdogPings:
    """A NOTIFY_SOCKET that notes when each WATCHDOG=1 arrives."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.pings = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            if b"WATCHDOG=1" in data:
                self.pings.append(time.monotonic())

    def max_gap(self, start, end):
        """The longest time without a ping between start and end."""
        times = [start] + [t for t in self.pings if start < t < end] + [end]
        return max(b - a for a, b in zip(times, times[1:]))

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()


def check_copy(path):
    """Open a backup: integrity_check ok; return its contact count."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        return db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    finally:
        db.close()


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_backup_under_write_load_is_consistent_and_complete(daemon,
                                                           tmp_path):
    acked = []
    stop = threading.Event()
    lock = threading.Lock()

    def writer(n):
        c = daemon.connect()
        i = 0
        while not stop.is_set():
            r = c.call("contact.add", name="w%d-%d" % (n, i))
            c.call("followup.add", contact=r["contact"]["id"],
                   due="tomorrow 10:00")
            with lock:
                acked.append(r["contact"]["id"])
            i += 1
        c.close()
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    try:
        copies = []
        for k in range(3):
            time.sleep(0.4)
            with lock:
                before = len(acked)
            path = str(tmp_path / ("copy%d.db" % k))
            rc, out, err = daemon.client("backup", path)
            assert rc == 0, err
            assert "Backed up the database to %s" % path in out
            copies.append((path, before))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(acked) > 50
    for path, before in copies:
        # Everything acknowledged before the backup began is in it.
        assert check_copy(path) >= before
        assert not [f for f in os.listdir(tmp_path)
                    if ".tmp-" in f], "a temporary file was left behind"
    # Once the writers stop, a copy holds every acknowledged write.
    final = str(tmp_path / "final.db")
    assert daemon.backup(final)["bytes"] == os.path.getsize(final)
    assert check_copy(final) == len(acked)


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_backup_refuses_what_would_lose_data(daemon, tmp_path):
    daemon.call("contact.add", name="Kept")
    target = tmp_path / "b.db"
    target.write_text("an older backup")
    rc, out, err = daemon.client("backup", str(target))
    assert rc == 1 and "already exists" in err and "--force" in err
    assert target.read_text() == "an older backup"
    rc, out, err = daemon.client("backup", "--force", str(target))
    assert rc == 0, err
    assert check_copy(str(target)) == 1

    # Never over the live database, even with force.
    c = daemon.connect()
    e = c.error("backup", path=daemon.db)
    assert e["code"] == "unavailable" and "live database" in e["message"]
    e = c.error("backup", path="relative.db")
    assert e["code"] == "bad_request" and "absolute" in e["message"]
    # The daemon replaces no file: it takes no force.
    e = c.error("backup", path=str(tmp_path / "f.db"), force=True)
    assert e["code"] == "bad_request" and "force" in e["message"]
    assert not c.fds
    c.close()
    rc, out, err = daemon.client("backup",
                                 str(tmp_path / "no/such/dir/b.db"))
    assert rc == 1 and "no/such/dir" in err, err
    assert daemon.call("contact.list")["contacts"][0]["name"] == "Kept"

    # The client makes a relative FILE absolute: it lands where it ran.
    sub = tmp_path / "here"
    sub.mkdir()
    out = subprocess.run([os.environ.get("FOLLOWUP", "followup"),
                          "--socket", daemon.sock, "backup", "rel.db"],
                         cwd=sub, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert check_copy(str(sub / "rel.db")) == 1
    rc, out, err = daemon.client("backup")
    assert rc == 2 and "FILE" in err


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_backup_never_replaces_the_wal_shm_or_journal(daemon, tmp_path):
    """A copy renamed over the live write-ahead log throws away every
    write not yet checkpointed: refused under any name, even forced."""
    cid = daemon.call("contact.add", name="Acknowledged")["contact"]["id"]
    wal = daemon.db + "-wal"
    assert os.path.exists(wal) and os.path.exists(daemon.db + "-shm")
    wal_ino = os.stat(wal).st_ino
    alias = tmp_path / "alias"
    alias.symlink_to(tmp_path, target_is_directory=True)
    os.link(wal, tmp_path / "hardlink-to-wal")
    (tmp_path / "link-to-shm").symlink_to(daemon.db + "-shm")
    targets = {
        wal: "write-ahead log",
        daemon.db + "-shm": "shared-memory index",
        # Not there in WAL mode, but SQLite would use it: refused by name.
        daemon.db + "-journal": "rollback journal",
        str(alias / "fu.db-wal"): "write-ahead log",
        str(tmp_path / "sub" / ".." / "fu.db-wal"): "write-ahead log",
        str(tmp_path / "hardlink-to-wal"): "write-ahead log",
        str(tmp_path / "link-to-shm"): "shared-memory index",
        str(alias / "fu.db"): "the live database",
    }
    (tmp_path / "sub").mkdir()
    c = daemon.connect()
    for path, what in targets.items():
        e = c.error("backup", path=path)
        assert e["code"] == "unavailable", (path, e)
        assert what in e["message"] and path in e["message"], (path, e)
    c.close()
    rc, out, err = daemon.client("backup", "--force", wal)
    assert rc == 1 and "write-ahead log" in err, err
    assert os.stat(wal).st_ino == wal_ino
    assert not os.path.exists(daemon.db + "-journal")
    assert not [f for f in os.listdir(tmp_path)
                if ".tmp-" in f or ".backup-" in f]
    # Nothing was lost, even across a crash.
    daemon.kill9()
    daemon.start()
    assert daemon.call("contact.get", id=cid)["contact"]["name"] == \
        "Acknowledged"
    # A file that merely starts like one is fine.
    near = str(tmp_path / "fu.db-wal.bak")
    assert daemon.backup(near)["path"] == near
    assert check_copy(near) == 1


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_restore_as_the_manual_says(daemon, tmp_path):
    c = daemon.call("contact.add", name="Before Backup")["contact"]
    daemon.call("followup.add", contact=c["id"], due="tomorrow 9:00")
    backup = str(tmp_path / "backup.db")
    daemon.backup(backup)
    daemon.call("contact.add", name="After Backup")
    daemon.stop()
    for suffix in ("-wal", "-shm"):
        if os.path.exists(daemon.db + suffix):
            os.unlink(daemon.db + suffix)
    shutil.copy(backup, daemon.db)
    daemon.start()
    names = [x["name"] for x in daemon.call("contact.list")["contacts"]]
    assert names == ["Before Backup"]
    assert len(daemon.call("followup.list")["followups"]) == 1


def doctor(daemon):
    rc, out, err = daemon.client("doctor")
    return rc, {l.split()[1] if not l.startswith(" ") else None: l
                for l in out.splitlines()}, out


def test_doctor_passes_a_healthy_daemon_with_the_mail_hook(make_daemon):
    d = make_daemon("[reminders]\nhook = %s --sendmail /usr/bin/msmtp\n" %
                    FOLLOWUP_MAIL)
    d.call("user.set", email="rep@example.com")
    rc, out, err = d.client("doctor")
    assert rc == 0, out + err
    # A server's database is on the server's disk, not one doctor reads.
    for name in ("socket", "daemon", "database") + \
            (("disk space",) if BACKEND == "sqlite" else ()) + \
            ("time zones", "hook 1", "your address", "last delivery",
             "backlog"):
        line = [l for l in out.splitlines() if "  %s " % name in l]
        assert line and line[0].startswith("ok"), (name, out)
    assert "mail goes through /usr/bin/msmtp" in out
    assert "rep@example.com" in out
    assert out.rstrip().endswith("Reminders should reach you.")
    rc, out, err = d.client("--json", "doctor")
    doc = json.loads(out)
    assert rc == 0 and doc["failed"] == 0
    assert {c["status"] for c in doc["checks"]} <= {"ok", "warn"}


def test_doctor_fails_a_hook_that_cannot_mail(make_daemon):
    d = make_daemon("[reminders]\nhook = %s --sendmail /nonexistent/sendmail"
                    "\nhook = /nonexistent/hook --x\n" % FOLLOWUP_MAIL)
    rc, out, err = d.client("doctor")
    assert rc == 1, out
    lines = out.splitlines()
    h1 = [i for i, l in enumerate(lines) if "  hook 1 " in l][0]
    assert lines[h1].startswith("FAIL") and "/nonexistent/sendmail" in \
        lines[h1]
    assert "fix:" in lines[h1 + 1] and "msmtp" in lines[h1 + 1]
    h2 = [l for l in lines if "  hook 2 " in l][0]
    assert h2.startswith("FAIL") and "/nonexistent/hook" in h2
    assert "fix them" in lines[-1]


def setid_sendmails(tmp_path):
    """Two sendmails that need privileges: a setgid one (a script: the mode
    is what counts) reached through a symbolic link, and Postfix's shape,
    a plain sendmail beside a setgid postdrop."""
    script = "#!/bin/sh\ncat >/dev/null\nexit 0\n"
    setgid = tmp_path / "exim"
    setgid.write_text(script)
    setgid.chmod(0o2755)
    (tmp_path / "sendmail-link").symlink_to(setgid)
    postfix = tmp_path / "postfix"
    postfix.mkdir()
    (postfix / "sendmail").write_text(script)
    (postfix / "sendmail").chmod(0o755)
    (postfix / "postdrop").write_text(script)
    (postfix / "postdrop").chmod(0o2755)
    return [str(tmp_path / "sendmail-link"), str(postfix / "sendmail")]


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root (chmod g+s) and setpriv")
@pytest.mark.parametrize("no_new_privs", [True, False])
def test_doctor_fails_a_setid_sendmail_under_no_new_privileges(
        make_daemon, tmp_path, no_new_privs):
    sendmails = setid_sendmails(tmp_path)
    prefix = [shutil.which("setpriv"), "--no-new-privs"] \
        if no_new_privs else None
    d = make_daemon("".join("[reminders]\nhook = %s --sendmail %s\n" %
                            (FOLLOWUP_MAIL, s) for s in sendmails),
                    prefix=prefix)
    d.call("user.set", email="rep@example.com")
    status = open("/proc/%d/status" % d.proc.pid).read()
    assert ("NoNewPrivs:\t1" in status) == no_new_privs
    rc, out, err = d.client("doctor")
    lines = out.splitlines()
    hooks = [i for i, l in enumerate(lines) if re.match(r"\S+\s+hook \d ", l)]
    assert len(hooks) == 2, out
    if not no_new_privs:
        # Run by hand, with privileges to gain: these work.
        assert rc == 0, out
        assert all(lines[i].startswith("ok") for i in hooks), out
        return
    assert rc == 1, out
    for i, want in zip(hooks, ("is setgid", "postdrop")):
        assert lines[i].startswith("FAIL"), out
        assert want in lines[i] and "no new privileges" in lines[i], out
        assert "fix:" in lines[i + 1] and "msmtp" in lines[i + 1] and \
            "Mail from the sandbox" in lines[i + 1], out
    assert "%s (%s/exim) is setgid" % (sendmails[0], tmp_path) in out


def test_doctor_bounds_hanging_hook_checks_and_feeds_the_watchdog(
        make_daemon, tmp_path):
    """Three mail hooks whose --check hangs: doctor answers within the
    budget the hook checks share (8 s, not 3 x 5 s), the watchdog hears
    from the daemon all along, and a rep who asks meanwhile is served at
    once: the checks run beside the loop, not in it."""
    hang = tmp_path / "hang"
    hang.mkdir()
    hook = hang / "followup-mail"    # named so that doctor runs --check
    hook.write_text("#!/bin/sh\nexec sleep 60\n")
    hook.chmod(0o755)
    pings = WatchdogPings(str(tmp_path / "notify"))
    try:
        d = make_daemon("[reminders]\n" + "hook = %s\n" % hook * 3,
                        env={"NOTIFY_SOCKET": pings.path,
                             "WATCHDOG_USEC": "2000000"})
        other = d.connect(timeout=30)
        got = {}

        def rep_request():
            time.sleep(1)
            got["reply"] = other.request("contact.add", {"name": "Waits"})
            got["at"] = time.monotonic()
        t = threading.Thread(target=rep_request)
        start = time.monotonic()
        t.start()
        rc, out, err = d.client("doctor")
        took = time.monotonic() - start
        t.join(30)
        end = time.monotonic()
        assert rc == 1, out
        assert 7.5 < took < 11, (took, out)
        lines = {l.split()[1] + " " + l.split()[2]: l
                 for l in out.splitlines() if "  hook " in l}
        assert lines["hook 1"].startswith("FAIL") and \
            "did not finish within 5.0 s" in lines["hook 1"], out
        # Hook 2 gets what is left of the 8 s: about 3 s (the loop's
        # clock is read once a turn, and a slow build (valgrind) turns
        # slowly).
        assert lines["hook 2"].startswith("FAIL"), out
        left = re.search(r"did not finish within (\d+\.\d) s", lines["hook 2"])
        assert left and 2.0 <= float(left.group(1)) <= 3.5, out
        assert lines["hook 3"].startswith("WARN") and \
            "not checked" in lines["hook 3"], out
        # The rep who asked meanwhile was served before doctor answered.
        assert got["reply"]["ok"], got
        assert got["at"] < start + took, (got, took)
        assert other.call("hello")["server"] == "followupd"
        other.close()
        # systemd (WatchdogSec=2s here) would never have killed it.
        assert pings.max_gap(start, end) < 1.5, pings.pings
    finally:
        pings.close()


def ballast(tmp_path, mib=240):
    """A database of about mib MiB, so that a copy takes a while."""
    db = sqlite3.connect(str(tmp_path / "fu.db"))
    db.execute("CREATE TABLE ballast (b BLOB)")
    db.executemany("INSERT INTO ballast VALUES (randomblob(60000))",
                   [()] * (mib * 1024 * 1024 // 60000))
    db.commit()
    db.close()


def readable(conn):
    """Has conn a reply waiting (without reading it)?"""
    if b"\n" in conn.buf:
        return True
    return bool(select.select([conn.sock], [], [], 0)[0])


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_a_large_backup_holds_neither_the_loop_nor_the_writes(make_daemon,
                                                              tmp_path):
    """The copy is made a step at a time: meanwhile a rep's writes are
    acknowledged and land in the copy, systemd's watchdog hears from the
    daemon, and the admin's next request waits behind the backup."""
    ballast(tmp_path)
    pings = WatchdogPings(str(tmp_path / "notify"))
    try:
        d = make_daemon(env={"NOTIFY_SOCKET": pings.path,
                             "WATCHDOG_USEC": "500000"})
        copy = str(tmp_path / "copy.db")
        admin = d.connect(timeout=300)
        rep = d.connect()
        start = time.monotonic()
        admin.send({"id": 1, "op": "backup", "args": {"path": copy}})
        admin.send({"id": 2, "op": "hello"})
        # Count the writes acknowledged while the backup's reply had not
        # come: each of them must be in the copy.
        acked = 0
        while True:
            rep.call("contact.add", name="during %d" % acked)
            if readable(admin):
                break
            acked += 1
        first = admin.reply()
        end = time.monotonic()
        # Pipelined behind the backup on its connection: answered after.
        assert first["id"] == 1 and first["ok"], first
        assert admin.reply()["id"] == 2
        r = first["result"]
        admin.save_copy(copy)
        assert r["bytes"] > 200 << 20 and r["bytes"] == os.path.getsize(copy)
        print("backup of %d MiB took %.2f s; %d writes acknowledged "
              "meanwhile" % (r["bytes"] >> 20, end - start, acked))
        # Holding the loop, the copy would have let none through.
        assert acked >= 3, acked
        # Every write acknowledged before the backup's reply is in it.
        assert check_copy(copy) >= acked
        assert pings.max_gap(start, end) < 0.5, \
            [round(t - start, 3) for t in pings.pings]
        assert not [f for f in os.listdir(tmp_path)
                    if ".tmp-" in f or ".backup-" in f]
        admin.close()
        rep.close()
    finally:
        pings.close()


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_one_backup_at_a_time_and_none_left_half_made(make_daemon,
                                                      tmp_path):
    """A second backup while one is made gets conflict; a daemon stopped
    in the middle of one answers it unavailable, exits 0 and leaves no
    partial file behind."""
    ballast(tmp_path)
    d = make_daemon()
    a, b = d.connect(timeout=300), d.connect(timeout=300)
    a.send({"id": 1, "op": "backup",
            "args": {"path": str(tmp_path / "a.db")}})
    b.send({"id": 1, "op": "backup",
            "args": {"path": str(tmp_path / "b.db")}})
    replies = sorted([(a.reply(), a), (b.reply(), b)],
                     key=lambda r: r[0]["ok"])
    assert not replies[0][0]["ok"] and replies[1][0]["ok"], replies
    assert replies[0][0]["error"]["code"] == "conflict"
    assert "is being made; try again when it is done" in \
        replies[0][0]["error"]["message"]
    assert not replies[0][1].fds
    made = replies[1][0]["result"]["path"]
    replies[1][1].save_copy(made)
    check_copy(made)
    # The one refused was not begun: no file, not even a temporary one,
    # and the daemon's own copy went with the reply.
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".db")
                  or ".tmp-" in f or ".backup-" in f) == \
        sorted(["fu.db", os.path.basename(made)])

    # Once it is done, the next one may go; stop the daemon under it.
    a.send({"id": 2, "op": "backup",
            "args": {"path": str(tmp_path / "c.db")}})
    deadline = time.time() + 60
    while not [f for f in os.listdir(tmp_path)
               if f.startswith("fu.db.backup-")]:
        assert time.time() < deadline and not readable(a), \
            "the backup never began, or ended before it could be stopped"
        time.sleep(0.001)
    d.proc.send_signal(signal.SIGTERM)
    # Abandoned at once, and the admin told why.
    e = a.reply()
    assert not e["ok"] and e["error"]["code"] == "unavailable", e
    assert "the daemon is stopping: the backup to %s was not made" % \
        (tmp_path / "c.db") in e["error"]["message"], e
    assert d.proc.wait(60) == 0
    assert not [f for f in os.listdir(tmp_path)
                if f.startswith("c.db") or ".backup-" in f]
    assert not a.fds
    a.close()
    b.close()
    # The live database is whole.
    db = sqlite3.connect(str(tmp_path / "fu.db"))
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


@pytest.mark.sqlite_only(SQLITE_BACKUP)
def test_a_backup_stopped_either_end_leaves_no_file_where_it_was_going(
        make_daemon, tmp_path):
    """The client writes the file now: interrupted (^C) while the daemon
    copies, or told unavailable by a daemon that stops, it removes its
    temporary file, and the daemon its copy."""
    ballast(tmp_path)
    d = make_daemon()
    out = tmp_path / "out"
    out.mkdir()

    def start(name):
        p = subprocess.Popen([os.environ.get("FOLLOWUP", "followup"),
                              "--socket", d.sock, "backup",
                              str(out / name)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while not ([f for f in os.listdir(out) if ".tmp-" in f] and
                   [f for f in os.listdir(tmp_path) if ".backup-" in f]):
            assert time.time() < deadline and p.poll() is None, \
                "the backup never began, or ended before it was stopped"
            time.sleep(0.001)
        return p

    p = start("int.db")
    p.send_signal(signal.SIGINT)
    p.wait(60)
    assert os.listdir(out) == []
    deadline = time.time() + 60
    while [f for f in os.listdir(tmp_path) if ".backup-" in f]:
        assert time.time() < deadline, "the daemon kept its copy"
        time.sleep(0.01)

    p = start("term.db")
    d.proc.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 1, err
    assert "the daemon is stopping: the backup to %s was not made" % \
        (out / "term.db") in err, err
    assert d.proc.wait(60) == 0
    assert os.listdir(out) == []
    assert not [f for f in os.listdir(tmp_path) if ".backup-" in f]


@pytest.mark.sqlite_only("clears the backup copies left beside the "
                         "SQLite file")
def test_a_copy_left_by_a_killed_daemon_goes_at_the_next_start(daemon,
                                                               tmp_path):
    daemon.stop()
    left = tmp_path / "fu.db.backup-Ab3xYz"
    left.write_bytes(b"\0" * 65536)
    kept = [tmp_path / "fu.db.backup-notes.txt",
            tmp_path / "other.backup-Ab3xYz"]
    for k in kept:
        k.write_text("mine")
    daemon.start()
    # The daemon clears them once it serves; the line that says so may
    # follow the unlink by a moment (a slow build), so wait for it.
    line = "removed %s, a backup's copy left unfinished" % left
    deadline = time.time() + (60 if WRAPPER else 10)
    while line not in daemon.log.read_text():
        assert time.time() < deadline, daemon.log.read_text()[-3000:]
        time.sleep(0.05)
    assert not left.exists()
    assert all(k.read_text() == "mine" for k in kept)


def test_doctor_left_or_stopped_mid_check_leaves_nothing_running(
        make_daemon, tmp_path):
    """A rep who hangs up while a hook's check runs: the daemon serves on,
    and the check still ends at its limit.  A daemon stopped while one
    runs exits 0 at once and leaves no child behind."""
    hook = tmp_path / "followup-mail"
    hook.write_text("#!/bin/sh\nexec sleep 61.25\n")
    hook.chmod(0o755)
    d = make_daemon("[reminders]\nhook = %s\n" % hook)

    def sleeping():
        out = subprocess.run(["pgrep", "-f", "sleep 61.25"],
                             stdout=subprocess.PIPE, text=True).stdout
        return out.split()

    def doctor_checking():
        """A connection whose doctor request is running the check."""
        c = d.connect()
        c.send({"id": 1, "op": "doctor"})
        deadline = time.time() + 30
        while not sleeping():
            assert time.time() < deadline, "the check never started"
            time.sleep(0.01)
        return c

    c = doctor_checking()
    c.close()
    assert d.call("hello")["server"] == "followupd"
    deadline = time.time() + 30
    while sleeping():
        assert time.time() < deadline, "the check outlived its limit"
        time.sleep(0.1)
    assert d.call("hello")["server"] == "followupd"

    c = doctor_checking()
    t = time.monotonic()
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(60) == 0
    if not WRAPPER:
        # Not held by the check: gone well before its 5 s limit.
        assert time.monotonic() - t < 4
    assert c.line() == b""
    c.close()
    assert not sleeping(), "a check was left running"


def test_doctor_reports_a_failing_delivery(make_daemon, tmp_path):
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\necho 'relay refused the message' >&2\n"
                    "exit 75\n")
    hook.chmod(0o755)
    d = make_daemon("[reminders]\nhook = %s\nhook_retry = 60s\n" % hook)
    c = d.call("contact.add", name="Due Now")["contact"]
    d.call("followup.add", contact=c["id"], due="in 2 seconds",
           remind_before=0)
    deadline = time.time() + 60
    while time.time() < deadline:
        if d.call("status")["last_delivery_error"] is not None:
            break
        time.sleep(0.2)
    rc, out, err = d.client("doctor")
    assert rc == 1, out
    line = [l for l in out.splitlines() if "  last delivery " in l][0]
    assert line.startswith("FAIL") and "relay refused" in line, out


def test_doctor_without_a_daemon(tmp_path):
    out = subprocess.run([os.environ.get("FOLLOWUP", "followup"), "--socket",
                          str(tmp_path / "none.sock"), "doctor"],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert out.stdout.startswith("FAIL  socket")
    assert "FAIL  daemon" in out.stdout and "systemctl" in out.stdout


def counting_hook(tmp_path, sleep="0"):
    """A mail hook (named so that doctor runs its --check) that notes in
    tmp_path/checks when each check starts and ends, and sleeps as long
    as tmp_path/sleep says meanwhile."""
    hook = tmp_path / "followup-mail"
    (tmp_path / "sleep").write_text(sleep)
    hook.write_text("#!/bin/sh\necho start $$ >> %s\nsleep $(cat %s)\n"
                    "echo end $$ >> %s\necho \"mail hook ready\"\n" % (
                        tmp_path / "checks", tmp_path / "sleep",
                        tmp_path / "checks"))
    hook.chmod(0o755)
    return hook


def checks_run(tmp_path):
    path = tmp_path / "checks"
    return path.read_text().split("\n")[:-1] if path.exists() else []


@pytest.mark.sqlite_only(SQLITE_CHECK)
def test_doctor_checks_the_database_beside_the_loop(make_daemon, tmp_path):
    """doctor's quick_check of a large database runs on a thread with its
    own connection: a rep who says hello meanwhile is answered while the
    doctor is still checking, and the check still finds the file sound."""
    ballast(tmp_path)
    d = make_daemon()
    doc = d.connect(timeout=120)
    doc.send({"id": 1, "op": "doctor"})
    other = d.connect()
    assert other.call("hello")["server"] == "followupd"
    # Held in the loop, the check would have answered before the hello.
    assert not readable(doc), "doctor answered before a hello sent after it"
    r = json.loads(doc.line())
    assert r["ok"], r
    db = [c for c in r["result"]["checks"] if c["name"] == "database"]
    assert db and db[0]["status"] == "ok", r
    assert r["result"]["checks"][0]["name"] == "database", r
    other.close()
    doc.close()


@pytest.mark.sqlite_only(SQLITE_CHECK)
def test_sigterm_during_doctors_database_check(make_daemon, tmp_path):
    """A daemon stopped while doctor's database check runs stops the
    check, tells the rep, and exits 0 (cleanly under valgrind: the thread
    is joined)."""
    ballast(tmp_path)
    d = make_daemon()
    doc = d.connect(timeout=120)
    doc.send({"id": 1, "op": "doctor"})
    other = d.connect()
    assert other.call("hello")["server"] == "followupd"
    assert not readable(doc), "the check ran in the loop"
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(60) == 0
    d.proc = None
    d.logf.close()
    r = json.loads(doc.line())
    assert not r["ok"] and r["error"]["code"] == "unavailable", r
    assert "stopping" in r["error"]["message"], r
    other.close()
    doc.close()


def test_one_doctor_at_a_time_per_user(make_daemon, tmp_path):
    """Ten connections of one user ask for doctor at once: one runs, the
    others get conflict at once, and a single hook check is started;
    another connection is served meanwhile.  On one connection, 300
    pipelined doctors run one after another, never two checks at once."""
    counting_hook(tmp_path, sleep="3")
    d = make_daemon("[reminders]\nhook = %s\n" % (tmp_path /
                                                   "followup-mail"))
    conns = [d.connect(timeout=60) for _ in range(10)]
    for c in conns:
        c.send({"id": 1, "op": "doctor"})
    refused = []
    deadline = time.time() + 30
    while len(refused) < 9:
        assert time.time() < deadline, refused
        for c in conns:
            if c not in refused and readable(c):
                r = json.loads(c.line())
                assert not r["ok"], r
                assert r["error"]["code"] == "conflict", r
                assert "still running" in r["error"]["message"], r
                refused.append(c)
        time.sleep(0.01)
    running = [c for c in conns if c not in refused]
    assert len(running) == 1
    assert d.call("hello")["server"] == "followupd"
    r = json.loads(running[0].line())
    assert r["ok"], r
    assert len([l for l in checks_run(tmp_path) if l.startswith("start")]) \
        == 1, checks_run(tmp_path)
    for c in conns:
        c.close()

    (tmp_path / "checks").unlink()
    (tmp_path / "sleep").write_text("0")
    c = d.connect(timeout=300)
    c.send(b"".join(json.dumps({"id": i, "op": "doctor"}).encode() + b"\n"
                    for i in range(300)))
    assert d.call("hello")["server"] == "followupd"
    for i in range(300):
        r = json.loads(c.line())
        assert r["ok"] and r["id"] == i, r
    c.close()
    lines = checks_run(tmp_path)
    assert len(lines) == 600, lines
    # Each check ends before the next starts.
    for a, b in zip(lines[0::2], lines[1::2]):
        assert a.split()[0] == "start" and b == "end " + a.split()[1], lines
