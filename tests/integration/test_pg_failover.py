# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""A failover under way: followupd is given a primary and its streaming
standby (libpq's list of hosts), and the primary stops.  Only the
standby answers, and it answers reads only: reads are served from it,
writes are answered unavailable saying why and change nothing, status
and doctor say so, and no reminder goes out.  When the primary comes
back, writes work again on every lane (none stays on the standby).  When
the standby is promoted instead, writes work on it, and a reminder that
came due meanwhile goes out once.  Skipped, saying why, without
PostgreSQL or when followupd was built without libpq."""

import subprocess
import threading
import time

import pytest

import pgcluster
from fu import WRAPPER, Daemon, rfc3339

REP = "rep@test.invalid"
DB = "fu_failover"


@pytest.fixture(scope="module")
def primary():
    yield from pgcluster.module_cluster()


def sent_ids(sent):
    return sent.read_text().split() if sent.exists() else []


def wait_until(fn, timeout):
    deadline = time.time() + timeout * (3 if WRAPPER else 1)
    while True:
        r = fn()
        if r or time.time() > deadline:
            return r
        time.sleep(0.2)


def replicated(standby, table, count):
    """Has the standby replayed count rows of table?"""
    def replayed():
        try:
            return standby.psql("SELECT count(*) FROM %s" % table,
                                DB) == str(count)
        except subprocess.CalledProcessError:
            return False    # still starting up
    return wait_until(replayed, 30)


def at_once(d, op, args, n=8, each=5):
    """n connections each run op each times at once; their replies."""
    replies = []
    lock = threading.Lock()

    def run():
        c = d.connect()
        try:
            for _ in range(each):
                r = c.request(op, args)
                with lock:
                    replies.append(r)
        finally:
            c.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_a_standby_serves_reads_while_no_server_writes(primary, tmp_path):
    primary.createdb(DB)
    standby = pgcluster.Standby(primary)
    sent = tmp_path / "sent"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat >/dev/null\n"
                    "echo \"$FOLLOWUP_MESSAGE_ID\" >> %s\n" % sent)
    hook.chmod(0o755)
    db = "host=%s,%s port=%d,%d dbname=%s user=postgres" % (
        primary.sock, standby.sock, primary.port, standby.port, DB)
    d = Daemon(tmp_path, "[reminders]\nhook = %s\nhook_retry = 1s\n"
               "check_interval = 1s\n" % hook, database=db)
    d.start()
    try:
        d.call("user.set", email=REP)
        cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        assert replicated(standby, "contacts", 1)

        # The primary stops: reads come from the standby, on every lane.
        primary.stop()
        r = wait_until(lambda: d.connect().request(
            "contact.list", {}), 30)
        assert r["ok"], (r, d.log.read_text()[-3000:])
        assert [x["name"] for x in r["result"]["contacts"]] == \
            ["Ada Lovelace"]
        replies = at_once(d, "contact.get", {"id": cid})
        assert all(x["ok"] for x in replies), replies
        c = d.connect()
        e = c.error("contact.add", name="Lost in the failover")
        assert e["code"] == "unavailable", e
        assert "reads only" in e["message"], e
        e = c.error("followup.add", contact=cid,
                    due="2099-01-01T10:00:00Z")
        assert e["code"] == "unavailable", e
        st = c.call("status")
        assert st["offline"]["standby"] is True, st
        c.close()
        rc, out, err = d.client("status")
        assert rc == 0 and "answers reads only (a standby)" in out, out
        rc, out, err = d.client("doctor")
        assert rc == 1, out + err
        line = [l for l in out.splitlines() if "  database " in l][0]
        assert line.startswith("FAIL") and "reads only" in line, out
        assert "serves reads only (a standby)" in d.log.read_text()
        assert standby.psql("SELECT count(*) FROM contacts", DB) == "1"

        # The primary is back: writes work again, on every lane (a lane
        # left on the standby would answer them unavailable).
        primary.start()
        r = wait_until(lambda: d.connect().request(
            "contact.add", {"name": "Grace Hopper"})["ok"], 30)
        assert r, d.log.read_text()[-3000:]
        replies = at_once(d, "interaction.add", {
            "contact": cid, "kind": "call", "outcome": "reached",
            "no_next": True})
        assert all(x["ok"] for x in replies), \
            [x for x in replies if not x["ok"]][:3]
        st = d.call("status")
        assert "offline" not in st, st

        # Stopped again with a reminder about to come due, and the
        # standby promoted once it has passed: the standby sends nothing
        # (it cannot claim), the promoted server sends it, once.
        due = time.time() + (30 if WRAPPER else 10)
        d.call("followup.add", contact=cid, due=rfc3339(due),
               remind_before=0)
        assert replicated(standby, "followups", 1)
        primary.stop()
        assert wait_until(lambda: d.call("status").get(
            "offline", {}).get("standby"), 30)
        assert time.time() < due - 1, "the failover took too long"
        time.sleep(due + 3 - time.time())
        assert sent_ids(sent) == [], "a reminder went out from a standby"
        standby.promote()
        r = wait_until(lambda: d.connect().request(
            "contact.add", {"name": "Katherine Johnson"})["ok"], 30)
        assert r, d.log.read_text()[-3000:]
        assert wait_until(lambda: len(sent_ids(sent)) >= 1, 30)
        time.sleep(3)
        assert len(sent_ids(sent)) == 1, sent_ids(sent)
        names = sorted(x["name"] for x in d.call("contact.list")["contacts"])
        assert names == ["Ada Lovelace", "Grace Hopper", "Katherine Johnson"]
        assert len(d.call("interaction.list", contact=cid)[
            "interactions"]) == 40
    finally:
        d.stop()
        standby.close()
        try:
            primary.start()
        except Exception:
            pass
