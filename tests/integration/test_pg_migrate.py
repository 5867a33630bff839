# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""Moving a team from SQLite to PostgreSQL (followupd --migrate-to) on a
real PostgreSQL (a throwaway cluster): every contact, its history, its
follow-ups and promises and the reps' settings come back the same from the
daemon on PostgreSQL, ids included; a reminder already delivered before
the move is not delivered again, one owed is still delivered, and new rows
get ids after the moved ones.  Refused, with the target left as it was: a
database that is not empty, a missing SQLite file, a target that is not
PostgreSQL.  Skipped, saying why, where PostgreSQL is not installed or the
build has no PostgreSQL backend."""

import json
import os
import sqlite3
import subprocess
import time

import pytest

import pgcluster
from fu import FOLLOWUPD, WRAPPER, Daemon, rfc3339


@pytest.fixture(scope="module")
def cluster():
    if pgcluster.pg_bin() is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", "/dev/null",
                        "--database", "postgresql:///x"],
                       capture_output=True, text=True)
    if "without the PostgreSQL backend" in p.stderr:
        pytest.skip("this build has no PostgreSQL backend")
    c = pgcluster.Cluster()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def target(cluster, request):
    name = "m_" + request.node.name.lower()[:40]
    cluster.createdb(name)
    return cluster.uri(name), (lambda sql: cluster.psql(sql, name))


def hook_config(tmp_path):
    out = tmp_path / "delivered"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\n{ cat; echo; } >> %s\n" % out)
    hook.chmod(0o755)
    return out, ("[reminders]\nhook = %s\nhook_retry = 1s\n"
                 "check_interval = 1s\nmissed_grace = 1h\n" % hook)


def delivered_ids(out):
    """The follow-up of every notice the hook was given, one per notice."""
    ids = []
    if not out.exists():
        return ids
    text, dec, at = out.read_text(), json.JSONDecoder(), 0
    while text[at:].strip():
        while text[at].isspace():
            at += 1
        msg, at = dec.raw_decode(text, at)
        ids += [n["followup"]["id"] for n in msg["notices"]
                if "followup" in n]
    return ids


def message_domains(out):
    text, dec, at, domains = out.read_text(), json.JSONDecoder(), 0, set()
    while text[at:].strip():
        while text[at].isspace():
            at += 1
        msg, at = dec.raw_decode(text, at)
        domains.add(msg["message_id"].split("@")[1])
    return domains


def wait_for(pred, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.2)
    return pred()


def timeless(contact):
    """A contact.get reply without what the clock alone changes: the
    follow-up owed after the move is overdue by the time it is read."""
    for f in contact["followups"]:
        f.pop("overdue", None)
    return contact


def migrate(d, uri):
    """followupd --migrate-to, from d's SQLite file (whichever store the
    rest of the suite runs on)."""
    return subprocess.run(WRAPPER + [FOLLOWUPD, "--config", str(d.conf),
                                     "--database", d.db, "--migrate-to",
                                     uri],
                          capture_output=True, text=True, timeout=120)


def test_a_moved_team_finds_everything_and_nothing_is_sent_twice(
        tmp_path, target):
    uri, psql = target
    out, config = hook_config(tmp_path)
    d = Daemon(tmp_path, config, database=str(tmp_path / "fu.db"))
    d.start()
    try:
        d.call("user.set", email="ada@test.invalid", tz="Europe/London",
               lead="15m")
        ids = []
        # Texts COPY must carry unchanged: tabs, line breaks, backslashes.
        for name, notes in (("Ada", "tab\there\nnew line \\N back\\slash"),
                            ("Émile Zoë", None), ("Grace", "plain")):
            args = dict(name=name, company="Engines", phone="+44 20 7946 1")
            if notes is not None:
                args["notes"] = notes
            ids.append(d.call("contact.add", **args)["contact"]["id"])
        d.call("interaction.add", contact=ids[0], kind="call",
               outcome="voicemail", note="left a message")
        sent = d.call("followup.add", contact=ids[0],
                      due=rfc3339(time.time() + 1), remind_before=0,
                      reason="sent before the move")["followup"]["id"]
        owed = d.call("followup.add", contact=ids[1],
                      due=rfc3339(time.time() + 4), remind_before=0,
                      reason="owed after the move")["followup"]["id"]
        d.call("followup.add", contact=ids[2], kind="callback",
               due="2031-03-04T10:00:00Z", reason="call back")
        assert wait_for(lambda: sent in delivered_ids(out))
        before = {cid: d.call("contact.get", id=cid) for cid in ids}
        user = d.call("user.get")["user"]
        status = d.call("status")
    finally:
        d.stop()
    db_id = sqlite3.connect(d.db).execute(
        "SELECT value FROM meta WHERE key = 'database_id'").fetchone()[0]

    p = migrate(d, uri)
    assert p.returncode == 0, p.stderr
    counts = {line.split()[0]: line.split()[1:] for line in
              p.stdout.splitlines()[1:-1]}
    assert counts["contacts"] == ["3", "3"], p.stdout
    assert counts["interactions"][0] == counts["interactions"][1] != "0"
    # The voicemail logged made a next step of its own: four in all.
    assert counts["followups"] == ["4", "4"], p.stdout
    # With the time of the call that proposed it, by which a later call
    # answers it.
    assert psql("SELECT count(*) FROM followups WHERE automatic = 1 AND "
                "proposed_at > 0") == "1"
    assert counts["outbox"][0] == counts["outbox"][1] != "0"
    assert "every count matches" in p.stdout
    assert psql("SELECT value FROM meta WHERE key = 'database_id'") == db_id

    time.sleep(5)    # the owed reminder comes due while no daemon runs
    d.db = uri
    d.start()
    try:
        for cid in ids:
            assert timeless(d.call("contact.get", id=cid)) == \
                timeless(before[cid])
        assert d.call("user.get")["user"] == user
        st = d.call("status")
        for k in ("contacts", "pending", "interactions"):
            if k in status:
                assert st[k] == status[k], k
        assert wait_for(lambda: owed in delivered_ids(out))
        fresh = d.call("contact.add", name="After")["contact"]["id"]
        assert fresh > max(ids)
        time.sleep(3)
        got = delivered_ids(out)
        assert got.count(sent) == 1, "a delivered reminder came again"
        assert got.count(owed) == 1
        # Mail from before and after the move names the same database.
        assert message_domains(out) == {db_id + ".followupd>"}
    finally:
        d.stop()


def test_a_database_that_is_not_empty_is_left_alone(tmp_path, target):
    uri, psql = target
    d = Daemon(tmp_path, database=str(tmp_path / "fu.db"))
    d.start()
    d.call("contact.add", name="First")
    d.stop()
    assert migrate(d, uri).returncode == 0
    psql("UPDATE contacts SET name = 'Changed on PostgreSQL'")
    p = migrate(d, uri)
    assert p.returncode == 1
    assert "not empty" in p.stderr and "left as it was" in p.stderr
    assert psql("SELECT count(*) || ' ' || min(name) FROM contacts") == \
        "1 Changed on PostgreSQL"


def test_a_missing_file_or_a_target_that_is_not_postgresql_is_refused(
        tmp_path, target):
    uri, psql = target
    d = Daemon(tmp_path, database=str(tmp_path / "fu.db"))
    p = migrate(d, uri)    # never started: no file
    assert p.returncode == 1 and "No such file" in p.stderr
    assert not os.path.exists(d.db), "the move made an empty file"
    d.start()
    d.stop()
    p = migrate(d, str(tmp_path / "other.db"))
    assert p.returncode == 1 and "must be PostgreSQL" in p.stderr
    assert psql("SELECT count(*) FROM pg_tables WHERE schemaname = "
                "'public'") == "0", "a refused move touched the target"
