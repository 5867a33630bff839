"""Fixtures: each test gets its own followupd on a private socket and
database in a scratch directory, stopped (and checked to exit 0) after."""

import time

import pytest

from fu import Daemon


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
