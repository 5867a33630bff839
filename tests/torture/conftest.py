"""The torture suite reuses the integration suite's helpers (fu.py): the
real followupd in a scratch directory, raw connections, the real client."""

import os
import subprocess
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


def userns_works():
    """Can this user make a user and mount namespace (unshare -Urm) and
    mount a tmpfs in it?  The tests that need a small or read-only file
    system use one when they are not root."""
    if os.environ.get("TORTURE_NO_USERNS") == "1":
        return False
    try:
        r = subprocess.run(["unshare", "-Urm", "sh", "-c",
                            "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def skip_loudly(what, why):
    """Skip with a reason that says what went untested (run-torture lists
    skip reasons): these tests guard real behaviour and must not vanish
    from a run unnoticed."""
    pytest.skip("NOT TESTED: %s: %s (run as root, or allow unprivileged "
                "user namespaces)" % (what, why))
