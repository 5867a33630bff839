"""Fixtures: each test gets its own followupd on a private socket and
database in a scratch directory, stopped (and checked to exit 0) after.

FU_TEST_BACKEND=postgresql (make check-pg) runs the suite on PostgreSQL:
one throwaway cluster for the whole run, a fresh database for each
daemon.  A test of what only the SQLite store has (its file, WAL, backup
copies) is marked @pytest.mark.sqlite_only("why") and skipped there,
saying why."""

import os
import time

import pytest

import fu
import pgcluster
from fu import Daemon


def built_with_postgresql():
    config = os.path.join(os.environ.get("FU_BUILDDIR", "."), "config.h")
    try:
        with open(config) as f:
            return "#define HAVE_POSTGRESQL 1" in f.read()
    except OSError:
        return False


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "sqlite_only(reason): checks what only the SQLite store "
        "has (its file, WAL, backup copies, the sqlite3 tools); skipped "
        "on PostgreSQL with the reason")
    config.addinivalue_line(
        "markers", "alone: measures how late something comes; run-pytest "
        "runs it by itself, after the files it runs in parallel")
    if fu.BACKEND not in fu.BACKENDS:
        raise pytest.UsageError("FU_TEST_BACKEND=%s: not one of %s" % (
            fu.BACKEND, ", ".join(fu.BACKENDS)))
    if fu.BACKEND != "postgresql":
        return
    # Asked for by name, PostgreSQL missing is an error, not a run of
    # skips that looks like a pass.
    if pgcluster.pg_bin() is None:
        raise pytest.UsageError("FU_TEST_BACKEND=postgresql: PostgreSQL's "
                                "initdb and pg_ctl are not installed")
    if not built_with_postgresql():
        raise pytest.UsageError("FU_TEST_BACKEND=postgresql: followupd "
                                "was built without libpq")


def pytest_collection_modifyitems(config, items):
    for item in items:
        m = item.get_closest_marker("sqlite_only")
        if m is None:
            continue
        reason = m.args[0] if m.args else m.kwargs.get("reason")
        if not reason:
            raise pytest.UsageError("%s: sqlite_only needs the reason "
                                    "as its argument" % item.nodeid)
        if fu.BACKEND != "sqlite":
            item.add_marker(pytest.mark.skip(reason="SQLite only: " +
                                             reason))


@pytest.fixture(scope="session", autouse=True)
def pg_cluster():
    """On PostgreSQL, the one cluster of the run."""
    if fu.BACKEND != "postgresql":
        yield None
        return
    cluster = pgcluster.Cluster()
    fu.PG = fu.PgDatabases(cluster)
    try:
        yield cluster
    finally:
        fu.PG = None
        cluster.close()


@pytest.fixture(autouse=True)
def pg_databases(pg_cluster):
    """The databases a test's daemons ran on are dropped after it (an
    autouse fixture: torn down after the daemons have stopped)."""
    yield
    if fu.PG is not None:
        fu.PG.drop_all()


@pytest.fixture
def make_daemon(tmp_path):
    """Start a daemon with extra configuration; stopped at teardown."""
    daemons = []

    def make(config="", **kw):
        d = Daemon(tmp_path, config, **kw)
        d.start()
        daemons.append(d)
        return d
    yield make
    for d in daemons:
        if d.proc is not None:
            d.stop()


@pytest.fixture
def clock(tmp_path):
    """A clock for a daemon started with faketime=clock.path: write
    "@YYYY-MM-DD HH:MM:SS" (UTC) to move it."""
    path = tmp_path / "clock"

    def set_to(when):
        path.write_text("@%s\n" % when)
        time.sleep(0.05)
    set_to.path = str(path)
    return set_to


@pytest.fixture
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture
def conn(daemon):
    c = daemon.connect()
    yield c
    c.close()
