# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""The PostgreSQL store's schema on a real PostgreSQL (a throwaway
cluster): it applies to an empty database and again over itself, brings
version 1 and 2 databases to version 3, keeps
each rep's counts as the SQLite triggers do, and refuses a second notice
for the same follow-up and time (the ledger every node relies on).
Skipped, saying why, where PostgreSQL is not installed."""

import os
import subprocess

import pytest

import pgcluster

SCHEMA = os.path.join(os.environ.get("FU_SRCDIR", os.path.join(
    os.path.dirname(__file__), "..", "..")), "daemon", "store-pg-schema.sql")


@pytest.fixture(scope="module")
def cluster():
    if pgcluster.pg_bin() is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    c = pgcluster.Cluster()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def db(cluster, request):
    name = "t_" + request.node.name.lower()[:40]
    cluster.createdb(name)
    with open(SCHEMA) as f:
        cluster.psql(f.read(), name)
    return lambda sql: cluster.psql(sql, name)


def test_the_schema_applies_twice_and_says_its_version(db):
    with open(SCHEMA) as f:
        db(f.read())
    assert db("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
    tables = set(db("SELECT tablename FROM pg_tables "
                    "WHERE schemaname = 'public'").split())
    assert {"meta", "users", "contacts", "interactions", "followups",
            "promises", "outbox", "deliveries", "nodes",
            "owner_counts"} <= tables


def test_a_version_1_database_is_brought_to_version_3(db):
    """Version 1 had no clock offset for the nodes: applying the schema
    over it adds the column, keeps the rows and says version 3."""
    db("ALTER TABLE nodes DROP COLUMN clock_offset_ms")
    db("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db("INSERT INTO nodes (name, host, pid, version, started_at, "
       "heartbeat_at) VALUES ('old', 'h', 1, '0.1.0', 1, 2)")
    with open(SCHEMA) as f:
        db(f.read())
    assert db("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
    assert db("SELECT name, heartbeat_at, clock_offset_ms FROM nodes") == \
        "old|2|0"


def test_a_version_2_database_is_brought_to_version_3(db):
    """Version 2 did not keep when the interaction that proposed an
    automatic follow-up happened: applying the schema over it adds the
    column, empty for the follow-ups already there, and keeps them."""
    db("ALTER TABLE followups DROP COLUMN proposed_at")
    db("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db("INSERT INTO contacts (owner, name, stage, created_at, updated_at) "
       "VALUES ('ann', 'A', 'lead', 1, 1)")
    db("INSERT INTO followups (contact_id, owner, kind, due_at, remind_at, "
       "created_at, updated_at, automatic) "
       "VALUES (1, 'ann', 'call', 10, 9, 5, 5, 1)")
    with open(SCHEMA) as f:
        db(f.read())
    assert db("SELECT value FROM meta WHERE key = 'schema_version'") == "3"
    assert db("SELECT automatic, created_at, proposed_at IS NULL "
              "FROM followups") == "1|5|t"


def test_the_counts_follow_every_change(db):
    db("INSERT INTO contacts (owner, name, stage, created_at, updated_at) "
       "VALUES ('ann', 'A', 'lead', 1, 1), ('ann', 'B', 'lead', 1, 1)")
    db("UPDATE contacts SET archived_at = 5 WHERE name = 'B'")
    db("INSERT INTO followups (contact_id, owner, kind, due_at, remind_at, "
       "created_at, updated_at) VALUES (1, 'ann', 'call', 10, 9, 1, 1), "
       "(1, 'ann', 'call', 11, 9, 1, 1)")
    db("UPDATE followups SET status = 'done' WHERE id = 2")
    db("INSERT INTO interactions (contact_id, owner, kind, at, created_at) "
       "VALUES (1, 'ann', 'call', 1, 1)")
    db("UPDATE contacts SET owner = 'bob' WHERE id = 1")
    assert db("SELECT owner, contacts, interactions, pending "
              "FROM owner_counts ORDER BY owner").splitlines() == \
        ["ann|0|1|1", "bob|1|0|0"]
    db("DELETE FROM followups WHERE id = 1")
    assert db("SELECT pending FROM owner_counts WHERE owner = 'ann'") == "0"


def test_the_counts_follow_statements_of_many_rows(db):
    """An import or a move writes thousands of rows in one statement; the
    counts follow it once per statement, per owner."""
    db("INSERT INTO contacts (owner, name, stage, created_at, updated_at, "
       "archived_at) SELECT (ARRAY['ann', 'bob', 'cy'])[1 + g % 3], "
       "'c' || g, 'lead', 1, 1, CASE WHEN g % 10 = 0 THEN 5 END "
       "FROM generate_series(1, 3000) AS g")
    db("INSERT INTO followups (contact_id, owner, kind, due_at, remind_at, "
       "created_at, updated_at) SELECT id, owner, 'call', 10, 9, 1, 1 "
       "FROM contacts")
    db("UPDATE followups SET status = 'done' WHERE id % 4 = 0")
    db("UPDATE contacts SET notes = 'no count changes'")
    db("DELETE FROM followups WHERE id % 5 = 0")
    assert db("SELECT owner, contacts, pending FROM owner_counts "
              "ORDER BY owner").splitlines() == db(
        "SELECT o, (SELECT count(*) FROM contacts WHERE owner = o AND "
        "archived_at IS NULL), (SELECT count(*) FROM followups WHERE "
        "owner = o AND status = 'pending') FROM unnest(ARRAY['ann', 'bob', "
        "'cy']) AS o ORDER BY o").splitlines()
    assert db("SELECT sum(contacts) FROM owner_counts") == "2700"


def test_an_id_given_is_kept_and_the_next_follows_on(db):
    """A move from SQLite keeps every id; new rows must not collide."""
    db("INSERT INTO contacts (id, owner, name, stage, created_at, "
       "updated_at) VALUES (41, 'ann', 'Moved', 'lead', 1, 1)")
    db("SELECT setval(pg_get_serial_sequence('contacts', 'id'), "
       "(SELECT max(id) FROM contacts))")
    assert db("INSERT INTO contacts (owner, name, stage, created_at, "
              "updated_at) VALUES ('ann', 'New', 'lead', 1, 1) "
              "RETURNING id") == "42"


def test_the_ledger_takes_one_notice_per_followup_and_time(db):
    ins = ("INSERT INTO outbox (owner, kind, followup_id, due_at, fire_at, "
           "created_at, payload) VALUES ('ann', 'due', NULL, 100, 100, 1, "
           "'{}') ON CONFLICT DO NOTHING RETURNING id")
    assert db(ins) == "1"
    assert db(ins) == ""
    with pytest.raises(subprocess.CalledProcessError):
        db("INSERT INTO outbox (owner, kind, due_at, fire_at, created_at, "
           "payload) VALUES ('ann', 'due', 100, 100, 1, '{}')")
