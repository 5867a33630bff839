"""The daemon depends one way: server -> conn -> ops -> handlers -> sched
-> outbox -> channels -> events, hooks and the store.  Nothing calls up;
what a lower part tells an upper one goes through the events registry.
The architecture section of the README names every daemon source file."""

import glob
import os
import re

from fu import SRCDIR

DAEMON = os.path.join(SRCDIR, "daemon")

# Layers from the top, each with its files and its functions' prefixes;
# a file may call its own layer and those below.  The handlers (op-*.c)
# and the runner (ops.c) are one layer: ops.c gives handlers their API.
LAYERS = [
    (["server.c"], ["server_"]),
    (["conn.c"], ["conn_"]),
    (["ops.c", "op-*.c"], ["ops_", "op_", "reply_"]),
    (["sched.c"], ["sched_"]),
    (["outbox*.c"], ["outbox_"]),
    (["channel*.c"], ["channel_"]),
    (["events.c"], ["events_"]),
]


def calls(path):
    """The function calls in a C file, comments and strings left out."""
    text = open(path).read()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'"(\\.|[^"\\])*"', '""', text)
    return set(re.findall(r"\b([a-z_]+)\s*\(", text))


def files_of(patterns):
    out = []
    for pat in patterns:
        out += glob.glob(os.path.join(DAEMON, pat))
    return sorted(out)


def owner_layer(func):
    """The layer a function belongs to, by its prefix (None: not one)."""
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(func.startswith(p) for p in prefixes):
            return i
    return None


def test_no_layer_calls_up():
    bad = []
    for i, (patterns, _) in enumerate(LAYERS):
        for path in files_of(patterns):
            for func in calls(path):
                j = owner_layer(func)
                if j is not None and j < i:
                    bad.append("%s calls %s" % (os.path.basename(path),
                                                func))
    assert not bad, bad


def test_the_store_knows_no_event_loop():
    """The store is driven (commit.c): no store file holds an event, so
    a backend can be driven the same way whatever it talks to."""
    bad = []
    for path in files_of(["store*.c", "store*.h"]):
        text = open(path).read()
        if "event2/" in text or re.search(r"\bevent_\w+\(", text):
            bad.append(os.path.basename(path))
    assert not bad, bad


def test_handlers_reach_no_connection():
    for path in files_of(["op-*.c"]):
        text = open(path).read()
        assert "ctx->conn" not in text, os.path.basename(path)


def test_readme_architecture_names_every_daemon_file():
    readme = open(os.path.join(SRCDIR, "README.md")).read()
    arch = readme[readme.index("## Architecture"):]
    arch = arch[:arch.index("\n## ", 1)]
    missing = []
    for path in sorted(glob.glob(os.path.join(DAEMON, "*.[ch]"))):
        name = os.path.basename(path)
        stem = re.sub(r"\.[ch]$", "", name)
        family = re.sub(r"-.*", "", stem)
        if name in arch or "`%s`" % name in arch:
            continue
        if family + "*.c" in arch or family + "-*.c" in arch:
            continue
        missing.append(name)
    assert not missing, missing
