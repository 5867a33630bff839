"""Fixtures: each test gets its own followupd on a private socket and
database in a scratch directory, stopped (and checked to exit 0) after."""

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
def daemon(make_daemon):
    return make_daemon()


@pytest.fixture
def conn(daemon):
    c = daemon.connect()
    yield c
    c.close()
