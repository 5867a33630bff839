"""followup watch under a burst of notices, through the real client.  A
watch is a view of the delivery: one that falls behind (its terminal
stopped) must not be cut off, nor hold the daemon's memory without bound;
it skips notices past its allowance, says how many once it has caught up,
and goes on.  Faults tried: a watching client whose output nobody reads
while 8,000 notices come due in the same second."""

import json
import os
import select
import socket
import subprocess
import time

import pytest

from fu import FOLLOWUP, WRAPPER, rfc3339

pytestmark = pytest.mark.skipif(
    WRAPPER != [], reason="8,000 notices at once: too slow under valgrind")

BURST = 8000


def add_burst(d, cid, due, n):
    """n follow-ups due at due, pipelined on one connection."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(d.sock)
    f = s.makefile("rwb")
    reason = "call back about the quote " + "x" * 300
    for start in range(0, n, 500):
        k = min(500, n - start)
        f.write(b"".join(json.dumps({
            "id": start + i, "op": "followup.add",
            "args": {"contact": cid, "due": rfc3339(due),
                     "remind_before": 0, "reason": reason}}).encode() +
            b"\n" for i in range(k)))
        f.flush()
        for _ in range(k):
            assert json.loads(f.readline())["ok"]
    s.close()


def burst_unread(d, cid):
    """Once the watch is set up, BURST notices due together; return when
    every one is delivered (none of the watch's output read meanwhile)."""
    time.sleep(1)
    add_burst(d, cid, int(time.time()) + 3, BURST)
    deadline = time.time() + 60
    while d.call("status")["outbox_backlog"] and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)


def read_lines(p, until, pred):
    """Lines from p's stdout until pred(lines) holds or until passes."""
    lines, buf = [], b""
    fd = p.stdout.fileno()
    while time.time() < until and not pred(lines):
        r, _, _ = select.select([fd], [], [], 0.5)
        if not r:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        buf += chunk
        *done, buf = buf.split(b"\n")
        lines += [x.decode() for x in done]
    return lines


def test_a_watcher_that_falls_behind_is_told_what_it_skipped(make_daemon):
    d = make_daemon()
    cid = d.call("contact.add", name="Burst Test")["contact"]["id"]
    p = subprocess.Popen([FOLLOWUP, "--socket", d.sock, "--json", "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TZ="UTC"))
    try:
        # Nobody reads the watch's output until the burst is over.
        burst_unread(d, cid)
        assert p.poll() is None, "the watch was cut off"

        def accounted(ls):
            evs = [json.loads(x) for x in ls if x.startswith("{")]
            due_n = sum(1 for e in evs if e["event"] == "due")
            skipped = sum(e["notice"]["count"] for e in evs
                          if e["event"] == "skipped")
            return due_n + skipped >= BURST
        lines = read_lines(p, time.time() + 60, accounted)
        events = [json.loads(x) for x in lines if x.startswith("{")]
        due_n = sum(1 for e in events if e["event"] == "due")
        skipped = [e["notice"]["count"] for e in events
                   if e["event"] == "skipped"]
        # It fell behind by more than its allowance: some were skipped,
        # and it was told exactly how many.
        assert skipped, "no notice was skipped: the burst was too small"
        assert due_n + sum(skipped) == BURST, (due_n, skipped)
        assert due_n > 1000
        # The watch goes on: the next notice arrives.
        d.call("followup.add", contact=cid, due=rfc3339(int(time.time()) + 2),
               remind_before=0, reason="after the burst")
        more = read_lines(p, time.time() + 15,
                          lambda ls: any("after the burst" in x for x in ls))
        assert any("after the burst" in x for x in more)
        # The daemon's memory went back: the watcher's buffer drained,
        # and the notice is recorded as delivered (on a database server
        # its result is written just after the watch is told).
        deadline = time.time() + 30
        while d.call("status")["outbox_backlog"] and time.time() < deadline:
            time.sleep(0.1)
        assert d.call("status")["outbox_backlog"] == 0
    finally:
        p.terminate()
        p.wait(10)


def test_the_client_prints_the_skipped_count(make_daemon):
    """The human form of the same: a SKIPPED line with the count."""
    d = make_daemon()
    cid = d.call("contact.add", name="Burst Test")["contact"]["id"]
    p = subprocess.Popen([FOLLOWUP, "--socket", d.sock, "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TZ="UTC"))
    try:
        burst_unread(d, cid)
        lines = read_lines(p, time.time() + 60,
                           lambda ls: any("SKIPPED" in x for x in ls))
        (skip,) = [x for x in lines if "SKIPPED" in x]
        n = int(skip.split("SKIPPED")[1].split()[0])
        lines += read_lines(p, time.time() + 1, lambda ls: False)
        shown = sum(1 for x in lines if " DUE " in x)
        assert n > 0 and shown + n == BURST, (shown, n)
        assert "delivered all the same" in skip
    finally:
        p.terminate()
        p.wait(10)
