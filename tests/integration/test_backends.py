"""The suite runs on the store FU_TEST_BACKEND names (make check: SQLite,
make check-pg: PostgreSQL).  Each test's daemon is on that store, finds
its data again when started again in its directory, and a test of what
only SQLite has is skipped on PostgreSQL, saying why."""

import os

import pytest

from fu import BACKEND, Daemon


def test_the_daemon_runs_on_the_store_of_the_run(daemon, tmp_path):
    cid = daemon.call("contact.add", name="Stored")["contact"]["id"]
    rows = daemon.sql("SELECT name FROM contacts WHERE id = ?", (cid,))
    assert rows == [("Stored",)]
    if BACKEND == "postgresql":
        assert daemon.db.startswith("postgresql://")
        assert not os.path.exists(tmp_path / "fu.db")
    else:
        assert daemon.db == str(tmp_path / "fu.db")
        assert os.path.exists(daemon.db)


def test_a_daemon_started_again_keeps_its_database(make_daemon, tmp_path):
    d = make_daemon()
    cid = d.call("contact.add", name="Kept")["contact"]["id"]
    d.restart()
    assert d.call("contact.get", id=cid)["contact"]["name"] == "Kept"
    d.stop()
    # Another daemon in the same directory, as after a crash and a new
    # start: the same database, as it would be the same file.
    again = Daemon(tmp_path)
    assert again.db == d.db
    again.start()
    try:
        assert again.call("contact.get", id=cid)["contact"]["name"] == "Kept"
    finally:
        again.stop()


def test_each_test_has_a_database_of_its_own(daemon):
    # No contact made by another test is here.
    assert daemon.call("status")["counts"]["contacts"] == 0


@pytest.mark.sqlite_only("checks that the marker skips on PostgreSQL")
def test_a_sqlite_only_test_runs_on_sqlite_alone():
    assert BACKEND == "sqlite"
