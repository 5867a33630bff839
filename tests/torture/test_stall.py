"""One rep's large request holds up nobody: the stall scenario.

A database of many follow-ups and contacts (built straight into the
schema the daemon made); meanwhile a reader exports everything and reads
it, 100 connections ask for an export or a contact.list of 1,000 and never
read, one more asks for an export and hangs up.  Under that load a canary
connection's hello is always answered, a reminder that comes due is
delivered exactly once, and the daemon's memory stays bounded: every
unread connection holds at most its output limit, not its reply.

Counts and memory only, never wall-clock times (the benchmark,
tests/bench/stall-bench, prints those).  Size: 50,000 follow-ups and
5,000 contacts; 5,000 and 500 under valgrind; FU_STALL_FULL=1 asks for the
benchmark's 1,000,000 and 100,000.
"""

import json
import os
import socket
import sqlite3
import threading
import time

from conftest import SLOW
from fu import rfc3339

FULL = os.environ.get("FU_STALL_FULL") == "1"
if FULL:
    FOLLOWUPS, CONTACTS = 1000000, 100000
elif SLOW:
    FOLLOWUPS, CONTACTS = 5000, 500
else:
    FOLLOWUPS, CONTACTS = 50000, 5000
DEAF = 100
# The daemon's peak resident memory, without a sanitizer or valgrind.
RSS_MAX_KIB = 128 * 1024


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def under_a_tool(d):
    with open("/proc/%d/maps" % d.proc.pid) as f:
        return "libasan" in f.read() or "valgrind" in " ".join(d.proc.args)


def fill(d, user, stage, followups=FOLLOWUPS, contacts=CONTACTS):
    """contacts contacts and followups follow-ups for user, half of them
    done, the others pending months ahead with no notice due: the
    reminders stay the test's own.  The daemon is stopped.  (The
    benchmark, tests/bench/stall-bench, fills its database with this.)"""
    now = int(time.time())
    db = sqlite3.connect(d.db)
    db.execute("PRAGMA journal_mode = WAL")
    with db:
        db.executemany(
            "INSERT INTO contacts (owner, name, company, email, stage, "
            "notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            ((user, "Contact %d" % i, "Company %d" % (i % 97),
              "c%d@example.com" % i, stage, "Met at the fair; call again.",
              now, now) for i in range(contacts)))
        first = db.execute("SELECT min(id) FROM contacts").fetchone()[0]
        db.executemany(
            "INSERT INTO followups (contact_id, owner, kind, status, due_at, "
            "reason, remind_before, remind_at, created_at, updated_at, "
            "done_at) VALUES (?, ?, 'followup', ?, ?, ?, 0, ?, ?, ?, ?)",
            ((first + i % contacts, user,
              "done" if i % 2 else "pending",
              now + 90 * 86400 + i, "Send the quote %d" % i,
              now + 90 * 86400 + i, now, now, now if i % 2 else None)
             for i in range(followups)))
    db.close()


def test_large_and_unread_replies_hold_up_nobody(make_daemon):
    asan_quarantine = {"ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") +
                       ":quarantine_size_mb=16"}
    d = make_daemon("max_connections_per_user = 1000\n", env=asan_quarantine)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]
    d.stop()
    fill(d, cid["owner"], cid["stage"])
    d.start()
    pid = d.proc.pid

    # Warm up: one export read to its end, so the page cache and the
    # daemon's own caches are what they will be.
    warm = d.connect(timeout=600)
    warm.send({"id": 1, "op": "export", "args": {"format": "csv",
                                                  "what": "followups"}})
    while "chunk" in json.loads(warm.line()):
        pass
    warm.close()
    rss0 = status_kib(pid, "VmRSS")

    # A reminder that comes due while the load runs.
    watcher = d.connect(timeout=600)
    assert watcher.request("watch")["ok"]
    due = int(time.time()) + (20 if SLOW else 6)
    fu = d.call("followup.add", contact=cid["id"], due=rfc3339(due),
                remind_before=0, reason="the canary reminder")["followup"]

    deaf = []
    for i in range(DEAF):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        if i % 10 == 0:
            req = {"id": i, "op": "contact.list", "args": {"limit": 1000}}
        else:
            req = {"id": i, "op": "export",
                   "args": {"format": "json" if i % 2 else "ics"}}
        s.sendall(json.dumps(req).encode() + b"\n")
        deaf.append(s)
    gone = socket.socket(socket.AF_UNIX)
    gone.connect(d.sock)
    gone.sendall(b'{"id":1,"op":"export","args":{"format":"json"}}\n')
    gone.close()

    # A reader exporting everything, as fast as it reads.
    got = {}

    def reader():
        c = d.connect(timeout=600)
        c.send({"id": 1, "op": "export", "args": {"format": "json"}})
        pieces = []
        while True:
            r = json.loads(c.line())
            if "chunk" not in r:
                break
            pieces.append(r["chunk"])
        got["reply"] = r
        got["doc"] = json.loads("".join(pieces))
        c.close()
    t = threading.Thread(target=reader)
    t.start()

    # The canary: hellos one after another until the reminder is out.
    canary = d.connect(timeout=600)
    answered = 0
    peak = 0
    events = []
    watcher.sock.settimeout(0.05)
    def due_events():
        return [e for e in events if e["event"] == "due" and
                e["notice"]["followup"]["id"] == fu["id"]]
    while not due_events() or answered < 200:
        assert canary.call("hello")["server"] == "followupd"
        answered += 1
        peak = max(peak, status_kib(pid, "VmRSS"))
        try:
            events.append(watcher.reply())
        except (socket.timeout, TimeoutError):
            pass
        assert time.time() < due + 600, "the reminder never came"
    t.join(600)
    assert not t.is_alive(), "the reader's export did not finish"

    assert answered >= 200
    assert len(due_events()) == 1, events
    assert got["reply"]["ok"], got["reply"]
    assert len(got["doc"]["followups"]) == FOLLOWUPS + 1
    assert len(got["doc"]["contacts"]) == CONTACTS + 1
    # Exactly once: it does not come due again.
    time.sleep(1)
    try:
        while True:
            events.append(watcher.reply())
    except (socket.timeout, TimeoutError):
        pass
    assert len(due_events()) == 1, events

    hwm = status_kib(pid, "VmHWM")
    peak = max(peak, status_kib(pid, "VmRSS"))
    # Each unread connection holds its output limit (about 64 KiB and a
    # piece) or one contact.list page, never a whole export.
    assert peak - rss0 < 96 * 1024, (rss0, peak)
    if not under_a_tool(d):
        assert hwm < RSS_MAX_KIB, hwm
    for s in deaf:
        s.close()
    canary.close()
    watcher.close()
    # The daemon is still whole and answers.
    assert d.call("hello")["server"] == "followupd"
    print("stall: %d follow-ups, rss0 %d KiB, peak %d KiB, hwm %d KiB, "
          "%d hellos" % (FOLLOWUPS, rss0, peak, hwm, answered))
