"""The torture suite reuses the integration suite's helpers (fu.py): the
real followupd in a scratch directory, raw connections, the real client."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..",
                                "integration"))

from fu import Daemon, WRAPPER  # noqa: E402

# TORTURE_LONG=1 runs the long variants (more rounds, more load).
LONG = os.environ.get("TORTURE_LONG") == "1"
# Under valgrind everything is ~30 times slower: fewer rounds.
SLOW = bool(WRAPPER)


@pytest.fixture
def make_daemon(tmp_path):
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
