"""Crashes: kill -9 at a random moment under eight writing clients, round
after round, while reminders come due.  After each restart every
acknowledged write is there and the database passes integrity_check; at
the end every reminder was delivered, and none twice beyond the message a
hook was running when the daemon died.

Rounds: 20 (3 under valgrind; 100 with TORTURE_LONG=1).
"""

import array
import fcntl
import glob
import json
import os
import random
import sqlite3
import termios
import threading
import time

from conftest import LONG, SLOW


def integrity(db):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def test_kill9_rounds_lose_no_write_and_no_reminder(make_daemon, tmp_path):
    rounds = int(os.environ.get("TORTURE_ROUNDS",
                                100 if LONG else 3 if SLOW else 20))
    out = tmp_path / "delivered"
    out.mkdir()
    hook = tmp_path / "hook"
    # Each delivery leaves its message in a file of its own.
    hook.write_text("#!/bin/sh\nexec cat > \"%s/msg.$$.$(date +%%s%%N)\"\n"
                    % out)
    hook.chmod(0o755)
    d = make_daemon("[reminders]\nlead = 0\nhook = %s\nhook_max = 1\n"
                    "hook_retry = 1s\nhook_timeout = 3s\n" % hook)
    rng = random.Random(20261122)
    acked = {}                      # follow-up id -> due_at
    lock = threading.Lock()
    contacts = [d.call("contact.add", name="Crash %d" % n)["contact"]["id"]
                for n in range(8)]
    kills = 0

    for r in range(rounds):
        stop = threading.Event()

        def writer(n):
            try:
                c = d.connect(timeout=30)
                while not stop.is_set():
                    f = c.call("followup.add", contact=contacts[n],
                               due="in %d seconds" % rng.randint(1, 4),
                               remind_before=0)["followup"]
                    with lock:
                        acked[f["id"]] = f["due_at"]
            except (OSError, AssertionError, ValueError):
                pass        # the daemon died under us: expected
        threads = [threading.Thread(target=writer, args=(n,))
                   for n in range(8)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 1.2) * (5 if SLOW else 1))
        d.kill9()
        kills += 1
        stop.set()
        for t in threads:
            t.join(60)
        d.start()
        assert integrity(d.db) == "ok", "round %d" % r
        # Every acknowledged follow-up is there, as acknowledged.
        c = d.connect(timeout=60)
        with lock:
            want = dict(acked)
        items = list(want.items())
        for i in range(0, len(items), 200):     # pipelined, a window deep
            for fid, due in items[i:i + 200]:
                c.send({"id": fid, "op": "followup.get",
                        "args": {"id": fid}})
            for fid, due in items[i:i + 200]:
                rep = c.reply()
                assert rep["ok"], ("round %d: acknowledged follow-up "
                                   "lost" % r, rep)
                assert rep["result"]["followup"]["due_at"] == due
        c.close()

    # Let every reminder come due and go out.
    last_due = max(time.mktime(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
                   - time.timezone for v in acked.values())
    deadline = time.time() + (last_due - time.time()) + (120 if SLOW
                                                          else 45)
    seen = {}
    while time.time() < deadline:
        seen = {}
        messages = []
        for path in glob.glob(str(out / "msg.*")):
            try:
                msg = json.load(open(path))
            except ValueError:
                continue        # a hook still writing it
            messages.append(msg)
            for n in msg["notices"]:
                key = (n["followup"]["id"], n["kind"])
                seen.setdefault(key, []).append(msg["message_id"])
        if all((fid, "due") in seen for fid in acked) and \
                d.call("status")["outbox_backlog"] == 0:
            break
        time.sleep(0.5)
    lost = [fid for fid in acked if (fid, "due") not in seen]
    if lost and os.environ.get("TORTURE_DEBUG"):
        import subprocess
        print(d.call("status"))
        print(subprocess.run(["sqlite3", d.db, "select f.id, f.status, "
                              "f.due_at, f.notice_stage, f.notice_at, "
                              "o.id, o.kind, d.channel, d.status, "
                              "d.attempts from followups f left join outbox "
                              "o on o.followup_id = f.id left join "
                              "deliveries d on d.outbox_id = o.id "
                              "where f.id in (%s) limit 20" %
                              ",".join(map(str, lost[:20]))],
                             capture_output=True, text=True).stdout)
    assert not lost, "%d of %d reminders never delivered" % (len(lost),
                                                              len(acked))
    # Twice only for what a hook was delivering when the daemon died:
    # with one hook at a time, at most one message per kill.
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    assert all(len(v) == 2 for v in twice.values()), twice
    in_flight = {tuple(sorted(set(v))) for v in twice.values()}
    assert len(in_flight) <= kills, (kills, twice)
    d.stop()
    assert integrity(d.db) == "ok"
    print("crash: %d rounds, %d follow-ups acknowledged, %d reminders, "
          "%d delivered twice" % (rounds, len(acked), len(seen),
                                  len(twice)))


SYNC_GATE_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hold every sync of a write-ahead log while the gate file exists. */
static void
gate(int fd)
{
	const char	*g = getenv("SYNC_GATE");
	char		 p[64], l[PATH_MAX];
	ssize_t		 n;

	if (g == NULL)
		return;
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	if ((n = readlink(p, l, sizeof l - 1)) < 4)
		return;
	l[n] = '\0';
	if (strcmp(l + n - 4, "-wal") != 0)
		return;
	while (access(g, F_OK) == 0)
		usleep(5000);
}

int
fdatasync(int fd)
{
	int	(*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	gate(fd);
	return real(fd);
}

int
fsync(int fd)
{
	int	(*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	gate(fd);
	return real(fd);
}
"""


def gated_daemon(make_daemon, tmp_path, config=""):
    """A daemon whose syncs of the write-ahead log wait while the file
    it returns exists."""
    import shutil
    import subprocess
    import pytest
    from fu import WRAPPER
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or WRAPPER:
        pytest.skip("needs a C compiler, and no valgrind wrapper")
    src = tmp_path / "syncgate.c"
    src.write_text(SYNC_GATE_C)
    lib = tmp_path / "syncgate.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(lib), str(src),
                    "-ldl"], check=True)
    gate = tmp_path / "gate"
    d = make_daemon(config, env={"LD_PRELOAD": str(lib),
                                 "SYNC_GATE": str(gate),
                         "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "")
                         + ":verify_asan_link_order=0"})
    return d, gate


def test_acks_wait_for_the_log_sync_which_runs_beside_the_loop(
        make_daemon, tmp_path):
    """While the sync of the write-ahead log is held, the daemon goes on
    reading and running the next writes (their rows reach the file) but
    acknowledges none of them; once it returns, the replies come in
    order, and a kill -9 right after them loses nothing."""
    d, gate = gated_daemon(make_daemon, tmp_path)
    cid = d.call("contact.add", name="Gate")["contact"]["id"]

    gate.write_text("")
    a, b = d.connect(timeout=30), d.connect(timeout=30)
    a.send({"id": 1, "op": "followup.add", "args": {
        "contact": cid, "due": "2099-01-01T10:00:00Z", "reason": "first"}})
    time.sleep(0.05)
    for n in range(2, 5):
        b.send({"id": n, "op": "followup.add", "args": {
            "contact": cid, "due": "2099-01-01T10:00:00Z",
            "reason": "behind %d" % n}})

    def unread(sock):
        """Bytes sent on sock the daemon has not read yet (SIOCOUTQ)."""
        buf = array.array("i", [0])
        fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
        return buf[0]
    end = time.time() + 20
    while unread(b.sock) > 0 and time.time() < end:
        time.sleep(0.02)
    read = unread(b.sock) == 0
    # Nothing was acknowledged while the sync was held.
    for c in (a, b):
        c.sock.setblocking(False)
        try:
            early = c.sock.recv(1)
        except BlockingIOError:
            early = b""
        c.sock.setblocking(True)
        c.sock.settimeout(30)
        assert early == b"", "a reply came before the log was synced"
    gate.unlink()
    assert read, "the loop waited for the sync instead of going on"
    assert not (tmp_path / "gate.loop").exists(), \
        "the loop itself waited for the sync"
    assert a.reply()["id"] == 1
    got = [b.reply() for _ in range(3)]
    assert [r["id"] for r in got] == [2, 3, 4]
    assert all(r["ok"] for r in got), got
    ids = [r["result"]["followup"]["id"] for r in got]
    d.kill9()
    d.start()
    assert integrity(d.db) == "ok"
    c = d.connect(timeout=30)
    for fid in ids:
        assert c.call("followup.get", id=fid)["followup"]["id"] == fid


def test_a_confirmation_waits_for_the_sync_of_its_commit(make_daemon,
                                                         tmp_path):
    """A request that queues a notice of its own (here the confirmation
    a callback sends the contact) has it delivered only once the commit
    that holds it is synced: mail that left before a power cut must not
    be missing from the database after it."""
    out = tmp_path / "delivered"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat > %s.tmp && mv %s.tmp %s\n"
                    % (out, out, out))
    hook.chmod(0o755)
    d, gate = gated_daemon(make_daemon, tmp_path,
                           "[reminders]\nhook = %s\nhook_retry = 1s\n"
                           "check_interval = 1s\n" % hook)
    d.call("user.set", email="rep@test.invalid")
    cid = d.call("contact.add", name="Grace", email="grace@test.invalid",
                 tz="UTC")["contact"]["id"]
    gate.write_text("")
    c = d.connect(timeout=30)
    c.send({"id": 1, "op": "followup.add", "args": {
        "contact": cid, "due": "2099-01-01T10:00:00Z", "kind": "callback",
        "reason": "the order", "confirm": True}})
    time.sleep(2.5)
    held = not out.exists()
    gate.unlink()
    r = c.reply()
    assert r["ok"], r
    assert held, "the confirmation went out before its commit was synced"
    end = time.time() + 20
    while not out.exists() and time.time() < end:
        time.sleep(0.1)
    assert "confirmation" in out.read_text()


def test_stop_answers_the_writes_whose_sync_was_under_way(make_daemon,
                                                          tmp_path):
    """SIGTERM while a write's sync is held: the daemon waits for the sync
    and answers the write before it leaves."""
    import signal
    d, gate = gated_daemon(make_daemon, tmp_path)
    cid = d.call("contact.add", name="Stop")["contact"]["id"]
    gate.write_text("")
    c = d.connect(timeout=30)
    c.send({"id": 7, "op": "followup.add", "args": {
        "contact": cid, "due": "2099-01-01T10:00:00Z", "reason": "last"}})
    time.sleep(0.3)
    d.proc.send_signal(signal.SIGTERM)
    time.sleep(1.0)         # longer than the stop's drain of replies
    gate.unlink()
    r = c.reply()
    assert r["id"] == 7 and r["ok"], r
    assert d.proc.wait(30) == 0
    d.proc = None
