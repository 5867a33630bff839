"""followup backup (a consistent copy while the daemon runs and is being
written to, and the restore the manual describes) and followup doctor
(each check fails when its cause is there, and says what to fix).

Bad input tried: a backup onto an existing file (kept unless --force), onto
the live database itself or its -wal, -shm or -journal file (by any name:
a symbolic link, a hard link, ".."), into a directory that does not exist,
a relative path; a hook whose sendmail does not exist, a hook program that
does not exist, a hook that fails every delivery, no daemon at all.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time

import pytest

from fu import FOLLOWUP_MAIL


def check_copy(path):
    """Open a backup: integrity_check ok; return its contact count."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        return db.execute("SELECT count(*) FROM contacts").fetchone()[0]
    finally:
        db.close()


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
    assert daemon.call("backup", path=final)["bytes"] == \
        os.path.getsize(final)
    assert check_copy(final) == len(acked)


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
    e = c.error("backup", path=daemon.db, force=True)
    assert e["code"] == "unavailable" and "live database" in e["message"]
    e = c.error("backup", path=str(tmp_path / "no/such/dir/b.db"))
    assert e["code"] == "unavailable" and "no/such/dir" in e["message"]
    e = c.error("backup", path="relative.db")
    assert e["code"] == "bad_request" and "absolute" in e["message"]
    c.close()
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
        e = c.error("backup", path=path, force=True)
        assert e["code"] == "unavailable", (path, e)
        assert what in e["message"] and path in e["message"], (path, e)
    c.close()
    rc, out, err = daemon.client("backup", "--force", wal)
    assert rc == 1 and "write-ahead log" in err, err
    assert os.stat(wal).st_ino == wal_ino
    assert not os.path.exists(daemon.db + "-journal")
    assert not [f for f in os.listdir(tmp_path) if ".tmp-" in f]
    # Nothing was lost, even across a crash.
    daemon.kill9()
    daemon.start()
    assert daemon.call("contact.get", id=cid)["contact"]["name"] == \
        "Acknowledged"
    # A file that merely starts like one is fine.
    near = str(tmp_path / "fu.db-wal.bak")
    assert daemon.call("backup", path=near)["path"] == near


def test_restore_as_the_manual_says(daemon, tmp_path):
    c = daemon.call("contact.add", name="Before Backup")["contact"]
    daemon.call("followup.add", contact=c["id"], due="tomorrow 9:00")
    backup = str(tmp_path / "backup.db")
    daemon.call("backup", path=backup)
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
    for name in ("socket", "daemon", "database", "disk space",
                 "time zones", "hook 1", "your address", "last delivery",
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
