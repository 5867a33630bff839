# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""followupd on a real PostgreSQL (a throwaway cluster): it connects with
any libpq URI, makes its schema in an empty database once however many
daemons start together, and serves from it.  A database that does not
exist is refused naming libpq's reason and never echoing the URL.
Skipped, saying why, without PostgreSQL or when followupd was built
without libpq."""

import os
import signal
import subprocess
import time

import pytest

import pgcluster


@pytest.fixture(scope="module")
def cluster():
    yield from pgcluster.module_cluster()


def start(tmp_path, uri, n=1):
    """Start n daemons on uri together; each one's (exit code, stderr)
    once it exited on its own, or (0, stderr) once it was serving and
    stopped cleanly."""
    socks = [tmp_path / ("fu%d.sock" % i) for i in range(n)]
    procs = [subprocess.Popen(
        [os.environ["FOLLOWUPD"], "--socket", str(sock), "--database", uri],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TZ="UTC"))
        for sock in socks]
    out = []
    for p, sock in zip(procs, socks):
        deadline = time.time() + 60
        while p.poll() is None and not sock.exists() and \
                time.time() < deadline:
            time.sleep(0.05)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=60)
        out.append((p.returncode, err))
    return out


def test_an_empty_database_gets_the_schema_and_is_served(cluster, tmp_path):
    uri = cluster.createdb("fu_one")
    [(rc, err)] = start(tmp_path, uri)
    assert rc == 0, err
    assert "not complete" not in err
    assert cluster.psql("SELECT value FROM meta "
                        "WHERE key = 'schema_version'", "fu_one") == "3"


def test_daemons_starting_together_make_one_schema(cluster, tmp_path):
    uri = cluster.createdb("fu_many")
    results = start(tmp_path, uri, n=4)
    for rc, err in results:
        assert rc == 0, err
    assert cluster.psql("SELECT count(*) FROM meta", "fu_many") == "2"
    assert len(cluster.psql("SELECT value FROM meta "
                            "WHERE key = 'database_id'", "fu_many")) == 32
    assert cluster.psql("SELECT count(*) FROM pg_trigger "
                        "WHERE NOT tgisinternal", "fu_many") == "9"


def test_a_newer_schema_is_refused(cluster, tmp_path):
    uri = cluster.createdb("fu_newer")
    start(tmp_path, uri)
    cluster.psql("UPDATE meta SET value = '99' "
                 "WHERE key = 'schema_version'", "fu_newer")
    [(rc, err)] = start(tmp_path, uri)
    assert rc != 0
    assert "holds schema 99, newer than this followupd's 3" in err


def test_a_missing_database_is_refused_with_libpq_s_reason(
        cluster, tmp_path):
    uri = cluster.uri("no_such_db")
    [(rc, err)] = start(tmp_path, uri)
    assert rc != 0
    assert "cannot connect to the PostgreSQL database" in err
    assert 'database "no_such_db" does not exist' in err


def test_the_transactions_on_a_real_server(cluster):
    """tests/unit/test-pg against this cluster: the group transaction is
    open until its commit, and a connection lost mid-group is reported
    as the group's writes lost."""
    binary = os.path.join(os.environ["FU_BUILDDIR"], "tests", "unit",
                          "test-pg")
    if not os.access(binary, os.X_OK):
        pytest.skip("tests/unit/test-pg is not built (cmocka missing)")
    uri = cluster.createdb("fu_txn")
    p = subprocess.run([binary], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, FU_TEST_PG_URI=uri))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "17 test(s)" in p.stdout and "SKIPPED" not in p.stdout, p.stdout
