# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""The real followupd serving from a PostgreSQL database (a throwaway
cluster): a reminder reaches its hook once, a restart keeps the data and
sends nothing twice, a server restart is ridden out (every op meanwhile
says the server cannot be reached but status, which answers what it
knows and says since when it is offline, and doctor fails its database line,
the daemon connects again by itself, a reminder due meanwhile goes out
once after; a try to connect again that is never answered holds no
request up; a hook that ended while the server was away is recorded once
it is back, not run again; a restart under write load loses no
acknowledged write), a backup is refused saying to use pg_dump, status
and the log show the database without its password, doctor's database
line is ok and points to the server's own tools, and a database that
does not exist fails the start with libpq's reason, never echoing the
URL; a request waiting on a locked table holds no one else, nor
does a reminder's claim waiting on one, and
pipelined requests run on the lanes answer in order, before a line too
long that follows them is refused.  Skipped, saying why, without PostgreSQL or when followupd was
built without libpq."""

import json
import os
import socket
import subprocess
import threading
import time

import pytest

import pgcluster
from fu import WRAPPER, Daemon, rfc3339

REP = "rep@test.invalid"


@pytest.fixture(scope="module")
def cluster():
    yield from pgcluster.module_cluster()


@pytest.fixture
def pg_daemon(cluster, tmp_path, request):
    """followupd on a fresh database of its own, with a hook that logs
    the Message-ID of each message it is given."""
    name = "fu_%s" % request.node.name[len("test_"):][:50]
    uri = cluster.createdb(name)
    sent = tmp_path / "sent"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat >/dev/null\n"
                    "echo \"$FOLLOWUP_MESSAGE_ID\" >> %s\n" % sent)
    hook.chmod(0o755)
    d = Daemon(tmp_path, "[reminders]\nhook = %s\nhook_retry = 1s\n"
               "check_interval = 1s\n" % hook, database=uri)
    d.sent = sent
    d.start()
    yield d
    if d.proc is not None:
        d.stop()


def sent_ids(d):
    return d.sent.read_text().split() if d.sent.exists() else []


def wait_sent(d, count):
    deadline = time.time() + (60 if WRAPPER else 20)
    while time.time() < deadline and len(sent_ids(d)) < count:
        time.sleep(0.1)
    return sent_ids(d)


def test_a_reminder_reaches_the_hook_once_and_a_restart_keeps_it(
        pg_daemon, cluster):
    d = pg_daemon
    d.call("user.set", email=REP)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    fid = d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
                 remind_before=0, reason="send the contract")[
                     "followup"]["id"]
    ids = wait_sent(d, 1)
    assert len(ids) == 1 and ids[0].startswith("<followup.")
    time.sleep(2)
    assert sent_ids(d) == ids, "the reminder went out twice"

    d.stop()
    d.start()
    contacts = d.call("contact.list")["contacts"]
    assert [c["name"] for c in contacts] == ["Ada Lovelace"]
    f = d.call("followup.get", id=fid)["followup"]
    assert f["reason"] == "send the contract"
    time.sleep(3)
    assert sent_ids(d) == ids, "a restart sent the reminder again"
    # Nothing is left claimed: the stop gave back what it held.
    db = d.db.split("?")[0].rsplit("/", 1)[1]
    assert cluster.psql("SELECT count(*) FROM deliveries "
                        "WHERE status <> 'sent' OR claimed_by IS NOT NULL",
                        db) == "0"


def test_a_server_restart_is_ridden_out(pg_daemon, cluster):
    """The server stops (a restart, an upgrade, a failover): meanwhile a
    request fails saying the database server cannot be reached and
    changes nothing, the daemon keeps running, connects again by itself
    once the server is back, and a reminder that came due in the outage
    goes out once, after it."""
    d = pg_daemon
    d.call("user.set", email=REP)
    cid = d.call("contact.add", name="Grace Hopper")["contact"]["id"]
    fid = d.call("followup.add", contact=cid, due=rfc3339(time.time() + 3),
                 remind_before=0)["followup"]["id"]
    cluster.stop()
    try:
        c = d.connect()
        try:
            e = c.error("contact.add", name="Lost in the outage")
            assert e["code"] == "unavailable", e
            assert "cannot be reached" in e["message"], e
            # Every op meets the outage and says so (none crashes the
            # daemon or hangs); hello needs no database, and status
            # answers what the daemon knows without it.
            later = "2099-01-01T10:00:00Z"
            for op, args in [
                    ("hello", {}), ("user.get", {}),
                    ("user.set", {"display_name": "Ada"}),
                    ("contact.get", {"id": cid}),
                    ("contact.update", {"id": cid, "notes": "x"}),
                    ("contact.list", {}), ("contact.archive", {"id": cid}),
                    ("contact.import", {"contacts": [{"name": "Imp"}]}),
                    ("interaction.add", {"contact": cid, "kind": "call",
                                         "outcome": "reached",
                                         "no_next": True}),
                    ("interaction.list", {"contact": cid}),
                    ("followup.add", {"contact": cid, "due": later}),
                    ("followup.get", {"id": fid}),
                    ("followup.snooze", {"id": fid, "until": later}),
                    ("followup.reschedule", {"id": fid, "due": later}),
                    ("followup.done", {"id": fid}),
                    ("followup.list", {}), ("agenda", {}),
                    ("simulate", {}), ("report", {}),
                    ("export", {"format": "json"})]:
                r = c.request(op, args)
                while "id" not in r:        # an export's chunks
                    r = c.reply()
                if op == "hello":
                    assert r["ok"], r
                else:
                    assert r["error"]["code"] == "unavailable", (op, r)
            assert d.proc.poll() is None, d.log.read_text()[-3000:]
            st = c.call("status")
            assert st["counts"] is None and st["next_due"] is None, st
            assert st["offline"]["since"] <= st["now"], st
            assert "outbox_backlog" not in st and "team" not in st, st
            assert st["store"]["backend"] == "postgresql", st
            assert st["uptime"] >= 0 and st["pid"] == d.proc.pid
            rc, out, err = d.client("status")
            assert rc == 0, out + err
            assert "offline    the database server cannot be reached, " \
                "since " in out, out
            assert "yours" not in out, out
            # The reminder comes due while the server is away.
            time.sleep(5)
            e = c.error("contact.list")
            assert e["code"] == "unavailable", e
        finally:
            c.close()
        rc, out, err = d.client("doctor")
        assert rc == 1, out + err
        line = [l for l in out.splitlines() if "  database " in l][0]
        assert line.startswith("FAIL") and "cannot be reached" in line, out
        assert d.proc.poll() is None, "the daemon gave up"
        assert sent_ids(d) == []
    finally:
        cluster.start()
    # Back within the longest wait between tries (the first ones are 1,
    # 2 and 4 s apart).
    deadline = time.time() + (90 if WRAPPER else 30)
    while True:
        r = d.connect().request("contact.list", {})
        if r["ok"] or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r["ok"], r
    assert [x["name"] for x in r["result"]["contacts"]] == ["Grace Hopper"]
    ids = wait_sent(d, 1)
    assert len(ids) == 1, ids
    time.sleep(3)
    assert sent_ids(d) == ids, "the reminder went out twice"
    log = d.log.read_text()
    assert "connection to the PostgreSQL database is lost" in log, log
    assert "connected to the PostgreSQL database again" in log, log
    # Writes work again.
    d.call("contact.add", name="After the outage")


class Link:
    """A TCP link to the cluster's port that can go dead as a network
    does: the connections it carries break, and new ones are taken but
    never answered (no reset, no refusal), until it is mended."""

    def __init__(self, port):
        self.port = port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.address = self.lsock.getsockname()
        self.dead = False
        self.carried = []
        self.held = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            with self.lock:
                if self.dead:
                    self.held.append(c)
                    continue
                u = socket.create_connection(("127.0.0.1", self.port))
                self.carried += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b),
                                 daemon=True).start()

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def go_dead(self):
        with self.lock:
            self.dead = True
            for s in self.carried:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.carried = []

    def mend(self):
        with self.lock:
            self.dead = False
            for s in self.held:
                s.close()
            self.held = []

    def close(self):
        self.go_dead()
        self.mend()
        self.lsock.close()


def test_a_try_to_connect_that_hangs_never_holds_the_daemon(
        cluster, tmp_path):
    """The network to the server goes dead: the connection breaks, and
    each try to connect again is taken but never answered.  followupd
    goes on answering meanwhile (hello at once, a request that needs the
    database unavailable at once) while its try waits on its own, given
    up after 5 s (libpq's connect_timeout): a try that held the loop would
    hold every rep that long.  Once the link is mended, it connects again
    by itself and has lost nothing."""
    cluster.createdb("fu_dead_link")
    link = Link(cluster.port)
    d = Daemon(tmp_path, database="postgresql://postgres@%s:%d/fu_dead_link"
               % link.address)
    d.start()
    try:
        d.call("contact.add", name="Ada Lovelace")
        link.go_dead()
        c = d.connect()
        worst = 0.0
        unavailable = 0
        end = time.time() + 12     # two tries given up, and a third
        while time.time() < end:
            t = time.monotonic()
            r = c.request("contact.list", {})
            worst = max(worst, time.monotonic() - t)
            if not r["ok"]:
                assert r["error"]["code"] == "unavailable", r
                unavailable += 1
            t = time.monotonic()
            assert c.request("hello", {})["ok"]
            worst = max(worst, time.monotonic() - t)
            time.sleep(0.1)
        c.close()
        log = d.log.read_text()
        assert "connection to the PostgreSQL database is lost" in log, log
        assert "no answer in time" in log, log
        assert unavailable > 10
        assert worst < (4 if WRAPPER else 2), \
            "a request waited %.1f s behind a try to connect" % worst
        link.mend()
        deadline = time.time() + (90 if WRAPPER else 45)
        while True:
            r = d.connect().request("contact.list", {})
            if r["ok"] or time.time() > deadline:
                break
            time.sleep(0.5)
        assert r["ok"], (r, d.log.read_text()[-3000:])
        assert [x["name"] for x in r["result"]["contacts"]] == \
            ["Ada Lovelace"]
        assert "connected to the PostgreSQL database again" in \
            d.log.read_text()
    finally:
        d.stop()
        link.close()


def test_a_hook_that_ends_in_an_outage_is_not_sent_again(
        cluster, tmp_path):
    """A hook runs while the server goes away and ends before it is back
    (its result cannot be written), and the server stays away past the
    delivery's lease: the daemon keeps the result and writes it once the
    server is back, rather than taking the delivery for undelivered and
    running the hook again."""
    uri = cluster.createdb("fu_hook_in_outage")
    sent = tmp_path / "sent"
    started = tmp_path / "started"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat >/dev/null\ntouch %s\nsleep 2\n"
                    "echo \"$FOLLOWUP_MESSAGE_ID\" >> %s\n"
                    % (started, sent))
    hook.chmod(0o755)
    # The lease of a started delivery: hook_timeout and 5 s.
    d = Daemon(tmp_path, "[reminders]\nhook = %s\nhook_timeout = 4s\n"
               "hook_retry = 1s\ncheck_interval = 1s\n" % hook,
               database=uri)
    d.sent = sent
    d.start()
    try:
        cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
               remind_before=0)
        deadline = time.time() + (60 if WRAPPER else 20)
        while not started.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert started.exists(), d.log.read_text()
        t0 = time.time()
        cluster.stop()
        try:
            # The hook ends (2 s) and the lease runs out (4 + 5 s).
            time.sleep(max(0, t0 + 12 - time.time()))
            assert sent_ids(d) and len(sent_ids(d)) == 1
        finally:
            cluster.start()
        deadline = time.time() + (90 if WRAPPER else 30)
        while "connected to the PostgreSQL database again" not in \
                d.log.read_text() and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(5)
        log = d.log.read_text()
        assert "kept until the database can be written" in log, log
        assert len(sent_ids(d)) == 1, "the hook ran again:\n" + log
        assert cluster.psql("SELECT DISTINCT status FROM deliveries",
                            "fu_hook_in_outage") == "sent"
    finally:
        d.stop()


def test_a_server_restart_under_write_load_loses_no_acknowledged_write(
        pg_daemon, cluster):
    """Four clients add contacts, and two add follow-ups (whose reply is
    written straight as text), as fast as they are answered while the
    server restarts (pg_ctl restart -m fast): every contact and follow-up
    whose add was answered ok is in the database once, every failure says
    the server cannot be reached with the id of its request, and writes
    work again after."""
    d = pg_daemon
    stop = threading.Event()
    acked, errors, fu_acked, wrong_id = [], [], [], []
    cid = d.call("contact.add", name="Follow-ups under load")["contact"]["id"]

    def writer(k):
        c = d.connect()
        try:
            i = 0
            while not stop.is_set():
                name = "w%d-%d" % (k, i)
                i += 1
                if k < 4:
                    r = c.request("contact.add", {"name": name})
                else:
                    r = c.request("followup.add", {
                        "contact": cid, "reason": name,
                        "due": "2099-01-01T10:00:00Z"})
                if r.get("id") != c.next_id:
                    wrong_id.append((c.next_id, r))
                if r["ok"] and k < 4:
                    acked.append((name, r["result"]["contact"]["id"]))
                elif r["ok"]:
                    fu_acked.append((name, r["result"]["followup"]["id"]))
                else:
                    errors.append(r["error"])
                    time.sleep(0.05)
        finally:
            c.close()

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.5)
        before = len(acked)
        cluster.restart()
        # Go on until a write is answered after the restart (the daemon
        # connects again within its back-off), however busy the machine.
        restarted = len(acked)
        deadline = time.time() + (90 if WRAPPER else 30)
        while len(acked) <= restarted and time.time() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert before > 0 and errors, (before, errors[:3])
    assert not wrong_id, "replies with another id: %s" % wrong_id[:3]
    for e in errors:
        assert e["code"] == "unavailable" and \
            "cannot be reached" in e["message"], e
    deadline = time.time() + (90 if WRAPPER else 30)
    while True:
        r = d.connect().request("contact.add", {"name": "after"})
        if r["ok"] or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r["ok"], r
    assert len(acked) > restarted, "no write was answered after the restart"
    db = d.db.split("?")[0].rsplit("/", 1)[1]
    rows = cluster.psql("SELECT id, name FROM contacts", db).splitlines()
    stored = {}
    for row in rows:
        cid, name = row.split("|", 1)
        stored.setdefault(name, []).append(int(cid))
    lost = [(n, i) for n, i in acked if stored.get(n) != [i]]
    assert not lost, "acknowledged but not stored once: %s" % lost[:10]
    rows = cluster.psql("SELECT id, reason FROM followups", db).splitlines()
    stored = {}
    for row in rows:
        fid, reason = row.split("|", 1)
        stored.setdefault(reason, []).append(int(fid))
    assert fu_acked, "no follow-up add was answered"
    lost = [(n, i) for n, i in fu_acked if stored.get(n) != [i]]
    assert not lost, "acknowledged but not stored once: %s" % lost[:10]


def test_a_request_waiting_on_the_server_holds_no_one_else(cluster,
                                                          tmp_path):
    """One rep's request waits on the server (here a table another
    program has locked; in life a slow link or a long statement): it
    holds one of the daemon's lanes, never the loop; so does a status,
    whose counts read a locked table.  Meanwhile another rep's hello and
    a request that needs no locked table are answered, and once the lock
    goes the waiting requests get their right answers.
    A daemon whose loop waited on the server answered nobody until the
    lock went."""
    uri = cluster.createdb("fu_lanes")
    d = Daemon(tmp_path, "[reminders]\ncheck_interval = 1h\n",
               database=uri)
    d.start()
    lock = None
    try:
        cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        other = d.connect()
        assert other.call("hello")["user"] == "root"
        lock = subprocess.Popen(
            [os.path.join(cluster.bin, "psql"), "-X", "-q", "-h",
             cluster.sock, "-p", str(cluster.port), "-U", "postgres",
             "-d", "fu_lanes", "-v", "ON_ERROR_STOP=1", "-A", "-t"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        lock.stdin.write("BEGIN;\nLOCK TABLE contacts, followups IN ACCESS "
                         "EXCLUSIVE MODE;\nSELECT 'locked';\n")
        lock.stdin.flush()
        assert lock.stdout.readline().strip() == "locked"
        waiting = d.connect(timeout=60)
        waiting.send({"id": 1, "op": "contact.get", "args": {"id": cid}})
        # status counts the follow-ups: it waits on the lock too, on a
        # lane of its own, not on the loop.
        counting = d.connect(timeout=60)
        counting.send({"id": 2, "op": "status"})
        # The schedule's own question (when is the next notice due?)
        # may wait on the lock too, on its lane, when its pass comes
        # late: it is not one of the two.
        waits = "SELECT count(*) FROM pg_stat_activity WHERE " \
            "datname = 'fu_lanes' AND wait_event_type = 'Lock' AND " \
            "query NOT LIKE 'SELECT (SELECT min(notice_at)%'"
        deadline = time.time() + 30
        while cluster.psql(waits) != "2":
            assert time.time() < deadline, "the requests never reached " \
                "the server: " + cluster.psql(
                    "SELECT string_agg(left(query, 60), ' | ') FROM "
                    "pg_stat_activity WHERE datname = 'fu_lanes' AND "
                    "wait_event_type = 'Lock'")
            time.sleep(0.05)
        # The loop is free: hello, and a read of another table.
        for _ in range(20):
            assert other.call("hello")["user"] == "root"
        assert other.call("user.get")["user"]["name"] == "root"
        assert cluster.psql(waits) == "2", "the lock went too soon"
        waiting.sock.setblocking(False)
        try:
            early = waiting.sock.recv(1)
        except BlockingIOError:
            early = None
        assert early is None, "answered while the table was locked"
        waiting.sock.setblocking(True)
        lock.stdin.write("COMMIT;\n")
        lock.stdin.close()
        lock.wait(30)
        lock = None
        r = waiting.reply()
        assert r["ok"] and r["id"] == 1, r
        assert r["result"]["contact"]["name"] == "Ada Lovelace", r
        r = counting.reply()
        assert r["ok"] and r["id"] == 2, r
        assert r["result"]["counts"]["contacts"] == 1, r
        # What the loop adds to it: the connections (these three).
        assert r["result"]["team"]["connections"] == 3, r
        assert "loop_stall_max_ms" in r["result"], r
    finally:
        if lock is not None:
            lock.kill()
            lock.wait()
        d.stop()


def test_a_claim_waiting_on_the_server_holds_no_one(pg_daemon, cluster):
    """A reminder comes due while another program holds the outbox (in
    life: a slow link, a long statement): its claim waits on the
    schedule's lane, and meanwhile hello and another request are
    answered.  Once the lock goes the reminder goes out, once.  A daemon
    that claimed on its loop answered nobody until the lock went."""
    d = pg_daemon
    db = d.db.split("?")[0].rsplit("/", 1)[1]
    d.call("user.set", email=REP)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
           remind_before=0)
    lock = subprocess.Popen(
        [os.path.join(cluster.bin, "psql"), "-X", "-q", "-h", cluster.sock,
         "-p", str(cluster.port), "-U", "postgres", "-d", db, "-v",
         "ON_ERROR_STOP=1", "-A", "-t"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        # Reads go on; the claim's insert waits.
        lock.stdin.write("BEGIN;\nLOCK TABLE outbox IN SHARE MODE;\n"
                         "SELECT 'locked';\n")
        lock.stdin.flush()
        assert lock.stdout.readline().strip() == "locked"
        waits = "SELECT count(*) FROM pg_stat_activity WHERE " \
            "datname = '%s' AND wait_event_type = 'Lock'" % db
        deadline = time.time() + 30
        while cluster.psql(waits) != "1":
            assert time.time() < deadline, "the claim never came"
            time.sleep(0.05)
        other = d.connect(timeout=5)
        for _ in range(20):
            assert other.call("hello")["user"] == "root"
        assert other.call("contact.get", id=cid)["contact"]["id"] == cid
        other.close()
        assert cluster.psql(waits) == "1", "the lock went too soon"
        assert sent_ids(d) == []
        lock.stdin.write("COMMIT;\n")
        lock.stdin.close()
        lock.wait(30)
        lock = None
        ids = wait_sent(d, 1)
        assert len(ids) == 1, ids
        time.sleep(2)
        assert sent_ids(d) == ids, "the reminder went out twice"
    finally:
        if lock is not None:
            lock.kill()
            lock.wait()


def test_pipelined_requests_on_the_lanes_answer_in_order(pg_daemon):
    """A client's pipelined requests go to a lane together, up to a
    batch, while those that run on the loop (hello, status) and those
    that cannot be read wait for the batch's replies: the replies come
    in the order of the requests, and each request sees the writes
    before it."""
    d = pg_daemon
    c = d.connect()
    reqs = []
    for i in range(40):
        kind = i % 5
        if kind == 0:
            reqs.append({"id": i, "op": "contact.add",
                         "args": {"name": "Pipelined %d" % i}})
        elif kind == 1:
            reqs.append({"id": i, "op": "contact.list",
                         "args": {"search": "Pipelined %d" % (i - 1)}})
        elif kind == 2:
            reqs.append({"id": i, "op": "hello"})
        elif kind == 3:
            reqs.append({"id": i, "op": "contact.get", "args": {"id": 0}})
        else:
            reqs.append({"id": i, "op": "status"})
    data = b"".join(json.dumps(r).encode() + b"\n" for r in reqs)
    data += b"{not json\n"
    c.send(data)
    for i, req in enumerate(reqs):
        r = c.reply()
        assert r["id"] == i, (i, r)
        if req["op"] == "contact.list":
            names = [x["name"] for x in r["result"]["contacts"]]
            assert names == ["Pipelined %d" % (i - 1)], (i, r)
        elif req["op"] == "contact.get":
            assert r["error"]["code"] == "bad_request", r
        else:
            assert r["ok"], r
    r = c.reply()
    assert r["id"] is None and r["error"]["code"] == "bad_request", r


def test_a_line_too_long_after_pipelined_requests_is_refused_after_them(
        pg_daemon):
    """Requests on their way to a lane, then a line over the limit: the
    requests are answered first, then the line is refused and the
    connection closed; the requests' writes are kept."""
    d = pg_daemon
    c = d.connect()
    data = b"".join(json.dumps({"id": i, "op": "contact.add", "args": {
        "name": "Before the long line %d" % i}}).encode() + b"\n"
        for i in range(3))
    c.send(data + b"x" * (65536 + 100) + b"\n")
    for i in range(3):
        r = c.reply()
        assert r["id"] == i and r["ok"], r
    r = c.reply()
    assert r["error"]["code"] == "too_large", r
    assert c.line() == b""
    names = [x["name"] for x in d.call("contact.list")["contacts"]]
    assert names == ["Before the long line %d" % i for i in range(3)]


def test_backup_says_to_use_pg_dump(pg_daemon, tmp_path):
    target = tmp_path / "copy.db"
    rc, out, err = pg_daemon.client("backup", str(target))
    assert rc != 0
    assert "this database is PostgreSQL; back it up with pg_dump" in err
    assert not target.exists()


def test_doctor_leaves_the_database_check_to_the_server(pg_daemon):
    rc, out, err = pg_daemon.client("doctor")
    assert rc == 0, out + err
    database = [line for line in out.splitlines()
                if line.split()[1:2] == ["database"]]
    assert len(database) == 1 and database[0].startswith("ok"), out
    assert "server's tools" in database[0], out
    assert "FAIL" not in out, out


def test_status_and_the_log_never_show_the_password(cluster, tmp_path):
    uri = cluster.createdb("fu_password") + "&password=s3cret"
    d = Daemon(tmp_path, database=uri)
    d.start()
    try:
        rc, out, err = d.client("status")
        assert rc == 0, err
        assert "postgresql:///fu_password?" in out
        assert "s3cret" not in out
    finally:
        d.stop()
    assert "s3cret" not in d.log.read_text()


def test_a_database_that_does_not_exist_fails_the_start(cluster, tmp_path):
    uri = cluster.uri("no_such_db")
    d = Daemon(tmp_path, database=uri)
    d.start(wait=False)
    try:
        rc = d.proc.wait(60 if WRAPPER else 20)
    except subprocess.TimeoutExpired:
        d.stop()
        raise AssertionError("followupd served a database that does not "
                             "exist")
    d.proc = None
    d.logf.close()
    log = d.log.read_text()
    assert rc != 0
    assert "cannot connect to the PostgreSQL database" in log, log
    assert 'database "no_such_db" does not exist' in log, log
    assert uri not in log
