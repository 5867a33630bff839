"""Load: 2,000 connections at once, 200 slow clients sending a byte a
second, 50 that pipeline requests and never read a reply.  A normal client
must still be served promptly, and the daemon's memory must stay bounded
by its per-connection limits.

The figures are printed.  The bounds: the normal client's p99 stays within
ten times its unloaded p99, or 20 ms, whichever is more (unloaded p99 is
a fraction of a millisecond, loaded p99 on two busy cores under one), and
the time it spends in calls slower than that stays under 2.5% of the hold
(p99 misses rare stalls: a loop blocked 100 ms every few seconds fails
this instead; not under AddressSanitizer, whose own pauses it would
count); the daemon holds all 2,000
connections while it is measured; each deaf client costs at most its two
buffer limits from daemon/conn.c, and each idle one a few KiB.  Skipped
under valgrind; TORTURE_LONG=1 holds the load ten times longer.
"""

import os
import re
import resource
import socket
import threading
import time

import pytest

from conftest import LONG, SLOW

pytestmark = pytest.mark.skipif(SLOW, reason="too slow under valgrind")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def conn_limits_kib():
    """What one connection may buffer, from the daemon's own constants:
    (unread replies, unprocessed input) in KiB."""
    src = os.environ.get("FU_SRCDIR",
                         os.path.join(os.path.dirname(__file__), "..", ".."))
    with open(os.path.join(src, "daemon", "conn.c")) as f:
        conn = f.read()
    with open(os.path.join(src, "include", "followup", "protocol.h")) as f:
        proto = f.read()
    out = re.search(r"#define\s+CONN_OUTPUT_HIGH\s+\((\d+) \* 1024\)",
                    conn)
    inp = re.search(r"#define\s+CONN_INPUT_HIGH\s+\((\d+) \* "
                    r"\(FU_LINE_MAX \+ 2\)\)", conn)
    line = re.search(r"#define\s+FU_LINE_MAX\s+(\d+)", proto)
    assert out and inp and line, "conn.c's buffer limits changed form"
    return (int(out.group(1)),
            int(inp.group(1)) * (int(line.group(1)) + 2) / 1024.0)


def latencies(d, n):
    c = d.connect(timeout=30)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        c.call("hello")
        out.append(time.perf_counter() - t)
    c.close()
    out.sort()
    return out


def pct(xs, p):
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def test_normal_client_is_served_under_hostile_load(make_daemon):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4096:
        pytest.skip("descriptor limit %d too low" % hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = make_daemon("max_connections_per_user = 5000\n")
    pid = d.proc.pid
    latencies(d, 200)           # warm up
    base = latencies(d, 3000)
    time.sleep(0.2)             # the daemon has closed that connection
    rss0 = rss_kib(pid)
    fds0 = fds(pid)

    idle = []
    for _ in range(2000 - 250):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        idle.append(s)
    slow = []
    for _ in range(200):
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
        s.setblocking(False)
        slow.append(s)
    stop = threading.Event()
    line = b'{"id":1,"op":"hello"}\n'

    def trickle():
        i = 0
        while not stop.is_set():
            for s in slow:
                try:
                    s.send(line[i % len(line):i % len(line) + 1])
                except OSError:
                    pass
            i += 1
            stop.wait(1.0)
    t = threading.Thread(target=trickle)
    t.start()
    time.sleep(1)
    rss_conns = rss_kib(pid)

    # Clients that pipeline and never read: the daemon must stop reading
    # them, not buffer without end.
    burst = b'{"op":"status"}\n' * 4000
    deaf = []

    def flood(n):
        for _ in range(n):
            s = socket.socket(socket.AF_UNIX)
            s.connect(d.sock)
            s.setblocking(False)
            off, full = 0, 0
            while full < 3:     # until the daemon stops taking more
                try:
                    off += s.send(burst[off % len(burst):])
                except BlockingIOError:
                    full += 1
                    time.sleep(0.005)
            deaf.append(s)
    flood(25)
    time.sleep(1)
    rss25 = rss_kib(pid)
    flood(25)
    time.sleep(1)
    try:
        # Long enough for the slow clients to send several bytes each.
        hold = 80 if LONG else 8
        held = [fds(pid)]
        end = time.time() + hold
        loaded = []
        while time.time() < end:
            loaded += latencies(d, 100)
            held.append(fds(pid))
        loaded.sort()
        rss50 = rss_kib(pid)
        status = d.call("status")
        # The slow clients are still connected, mid-line.
        for s in slow[:10]:
            assert s.send(b"x") == 1
    finally:
        stop.set()
        t.join()
        for s in idle + slow + deaf:
            s.close()
    out_kib, in_kib = conn_limits_kib()
    per_conn = (rss_conns - rss0) / 1950.0
    per_deaf = (rss50 - rss25) / 25.0
    bound = max(10 * pct(base, .99), 0.020)
    stalled = sum(x for x in loaded if x > bound)
    print("load: unloaded p50 %.3f ms p99 %.3f ms; loaded p50 %.3f ms "
          "p99 %.3f ms max %.1f ms over %d calls in %d s (bound %.1f ms, "
          "%.0f ms in calls over it); "
          "descriptors %d..%d; RSS %d KiB idle, %d KiB with 1,950 "
          "connections (%.1f KiB each), %d KiB with 25 deaf clients, "
          "%d KiB with 50 (%.0f KiB each; limit %.0f + %.0f)" % (
              pct(base, .5) * 1e3, pct(base, .99) * 1e3,
              pct(loaded, .5) * 1e3, pct(loaded, .99) * 1e3,
              loaded[-1] * 1e3, len(loaded), hold, bound * 1e3,
              stalled * 1e3,
              min(held), max(held), rss0, rss_conns, per_conn, rss25,
              rss50, per_deaf, out_kib, in_kib))
    assert status["uptime"] >= 0
    # The load was there all along: every connection held open.
    assert min(held) >= fds0 + 2000, held
    # Served promptly: a small multiple of the unloaded figure, with a
    # floor for scheduler noise on a busy two-core machine.
    assert pct(loaded, .99) < bound
    # Under AddressSanitizer freed memory sits in quarantine (half a GiB
    # here) and the process pauses to fault in its shadow: neither the
    # stall budget nor the memory figures hold there.
    with open("/proc/%d/maps" % pid) as f:
        asan = "libasan" in f.read()
    if not asan:
        assert stalled < 0.025 * hold, "%.0f ms stalled" % (stalled * 1e3)
        # Bounded.  An idle connection: its bufferevent and a little bookkeeping.
        assert per_conn < 8, "%.1f KiB per idle connection" % per_conn
        # A deaf client: unread replies up to CONN_OUTPUT_HIGH (plus the
        # batch that crosses it), unprocessed input up to CONN_INPUT_HIGH.
        assert per_deaf < out_kib + in_kib + 32, \
            "%.0f KiB per deaf client" % per_deaf
        assert rss50 < rss_conns + 50 * (out_kib + in_kib + 32), rss50
    # The daemon is still whole and answers a new client.
    assert d.call("hello")["server"] == "followupd"
