# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""Several followupd on one PostgreSQL database (a throwaway cluster): a
follow-up added on one node is seen by another at once and reminded
once, by whichever node claims it; a change on one node wakes another
whose timer sleeps (NOTIFY); a node killed while its hook runs has the
delivery sent by another, with the same Message-ID; a node whose
clock runs an hour ahead leaves a live node's delivery alone; a burst of 3,000 reminders due within
a minute, on three nodes, goes out once each and on time; a node killed
with kill -9 in the middle of it loses nothing, and what goes out twice
carries the same Message-ID; a rep's digest, found due by three nodes
at once, goes out once; status and doctor list the live nodes.
The nodes' hook (one, as every node must have the same) is a no-op that
records, per message, the node (by the daemon's pid), its own clock and
the hook's input (one file per message, so that nodes writing at once
never mix their lines).  Skipped, saying why, without
PostgreSQL or when followupd was built without libpq."""

import datetime
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import pytest

import pgcluster
from fu import WRAPPER, Daemon, accounts_locked, clock_offset, rfc3339

REP = "rep@test.invalid"
BURST = 3000
REPS = 30
SPREAD = 60         # s over which the burst comes due
LEAD = 12           # s from the burst's setup to its first due time
STORE_NODE_BEAT = 5  # s between a node's heartbeats (followupd.h)


@pytest.fixture(scope="module")
def cluster():
    yield from pgcluster.module_cluster()


class Nodes:
    """n followupd on one fresh database, each with its own socket and
    the same [reminders] configuration but for its hook's name."""

    def __init__(self, cluster, tmp_path, name, n, extra="", faketime=None):
        self.uri = cluster.createdb(name)
        self.out = tmp_path / "sent"
        self.out.mkdir()
        # One hook for all (a delivery names its hook: every node must
        # have the same), telling the nodes apart by the daemon's pid.
        hook = tmp_path / "hook.sh"
        hook.write_text(
            "#!/bin/sh\n"
            # Every run, by the daemon's pid, in the file started.
            "echo $PPID >> %s/started\n"
            # A hook that hangs while the file hang exists, saying so.
            "if [ -e %s/hang ]; then echo \"$PPID $$\" > %s/hung.pid; "
            "cat > %s/hung.tmp; mv %s/hung.tmp %s/hung; "
            "exec sleep 600; fi\n"
            "t=$(date +%%s.%%N)\n"
            "gp=$(cut -d' ' -f4 /proc/$PPID/stat)\n"
            "f=%s/$PPID.$$.$t\n"
            "{ echo \"$PPID $gp $t\"; cat; } > \"$f.tmp\" && "
            "mv \"$f.tmp\" \"$f\"\n" % ((tmp_path,) * 6 + (self.out,)))
        hook.chmod(0o755)
        self.nodes = []
        for i in range(n):
            d = tmp_path / ("node%d" % i)
            d.mkdir()
            fu = Daemon(d, "[reminders]\nhook = %s\nhook_retry = 1s\n%s"
                        % (hook, extra), database=self.uri,
                        faketime=faketime)
            fu.name = "node%d" % i
            self.nodes.append(fu)
        self.names = {}
        # The first makes the schema; the others start together (on a
        # clock of their own, their clocks then agree within a moment).
        for i, fu in enumerate(self.nodes):
            fu.start(wait=i == 0)
            self.names[str(fu.proc.pid)] = fu.name
        for fu in self.nodes:
            fu.wait_ready()

    def stop(self):
        for fu in self.nodes:
            if fu.proc is not None:
                fu.stop()

    def deliveries(self):
        """(node, followup id, message id, lateness in s) per notice."""
        out = []
        for f in os.listdir(self.out):
            if f.endswith(".tmp"):
                continue
            head, body = (self.out / f).read_text().split("\n", 1)
            parent, grandparent, at = head.split()
            node = self.names.get(parent, self.names.get(grandparent,
                                                         "?"))
            msg = json.loads(body)
            for n in notices(msg["notices"]):
                due = datetime.datetime.fromisoformat(
                    n["followup"]["due_at"]).timestamp()
                out.append((node, n["followup"]["id"], msg["message_id"],
                            float(at) - due))
        return out


def notices(items):
    """The follow-ups' notices in a message, summaries opened."""
    for n in items:
        if "followup" in n:
            yield n
        for m in notices(n.get("notices", [])):
            yield m


def request(c, rid, op, args, user=None):
    r = {"id": rid, "op": op, "args": args}
    if user is not None:
        r["as"] = user
    c.send(json.dumps(r).encode() + b"\n")


def pipelined(conn, reqs):
    """Send (op, args, user) requests 100 at a time; their results."""
    out = []
    for start in range(0, len(reqs), 100):
        chunk = reqs[start:start + 100]
        for i, (op, args, user) in enumerate(chunk):
            request(conn, start + i, op, args, user)
        for _ in chunk:
            r = conn.reply()
            assert r["ok"], r
            out.append(r["result"])
    return out


def wait_for(cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return cond()


def test_a_followup_added_on_one_node_is_seen_and_reminded_once(
        cluster, tmp_path):
    ns = Nodes(cluster, tmp_path, "fu_across", 2)
    try:
        a, b = ns.nodes
        a.call("user.set", email=REP)
        cid = a.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        fid = a.call("followup.add", contact=cid,
                     due=rfc3339(time.time() + 2), remind_before=0,
                     reason="send the contract")["followup"]["id"]
        # Node B serves it at once: one database.
        listed = b.call("followup.list")["followups"]
        assert [f["id"] for f in listed] == [fid]
        assert wait_for(lambda: len(ns.deliveries()) >= 1,
                        60 if WRAPPER else 20)
        time.sleep(3)
        sent = ns.deliveries()
        assert len(sent) == 1, sent
        assert sent[0][1] == fid and sent[0][0] in ("node0", "node1")
    finally:
        ns.stop()


def test_a_change_on_one_node_rearms_the_others_at_once(cluster,
                                                        tmp_path):
    # Node A records a follow-up due in 3 s and is then frozen: only
    # node B can remind it, and B's own timer sleeps a minute
    # (check_interval) unless A's NOTIFY wakes it.
    ns = Nodes(cluster, tmp_path, "fu_notify", 2, "check_interval = 60s\n")
    a, b = ns.nodes
    try:
        time.sleep(1)       # B's first pass is behind it
        a.call("user.set", email=REP)
        cid = a.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        due = int(time.time()) + 3
        fid = a.call("followup.add", contact=cid, due=rfc3339(due),
                     remind_before=0, reason="call back")["followup"]["id"]
        a.proc.send_signal(signal.SIGSTOP)
        try:
            assert wait_for(lambda: len(ns.deliveries()) >= 1,
                            30 if WRAPPER else 15)
        finally:
            a.proc.send_signal(signal.SIGCONT)
        sent = ns.deliveries()
        assert [(d[0], d[1]) for d in sent] == [("node1", fid)], sent
        assert sent[0][3] < (10 if WRAPPER else 2), \
            "node B reminded %.2f s late" % sent[0][3]
    finally:
        ns.stop()


def test_a_reps_time_zone_set_on_one_node_is_what_hello_says_on_another(
        cluster, tmp_path):
    # hello answers a rep's time zone from memory on a PostgreSQL node:
    # a change made on another node (or this one) must not leave it
    # stale.
    ns = Nodes(cluster, tmp_path, "fu_hello_tz", 2)
    a, b = ns.nodes
    try:
        cb = b.connect()
        assert cb.call("hello")["tz"] is None
        assert cb.call("hello")["tz"] is None       # now from memory
        a.call("user.set", tz="Asia/Tokyo")
        assert wait_for(lambda: cb.call("hello")["tz"] == "Asia/Tokyo",
                        10), cb.call("hello")
        # On the node that made the change, at once.
        cb.call("user.set", tz="America/Chicago")
        assert cb.call("hello")["tz"] == "America/Chicago"
        ca = a.connect()
        assert wait_for(
            lambda: ca.call("hello")["tz"] == "America/Chicago", 10)
    finally:
        ns.stop()


def kill_hook(pid):
    """End a hanging hook (by its pid, as hung.pid gives it), if any."""
    if pid is None:
        return
    try:
        os.kill(int(pid), signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_delivery_in_flight_on_a_killed_node_is_sent_by_another(
        cluster, tmp_path):
    # The node running a reminder's hook dies (kill -9) with the hook
    # hanging: another node sends it, with the same Message-ID, once
    # the first attempt's time is up (hook_timeout, 30 s, and a margin:
    # the attempt was recorded in flight before the hook started).
    ns = Nodes(cluster, tmp_path, "fu_takeover", 2)
    (tmp_path / "hang").touch()
    hook_pid = None
    try:
        a = ns.nodes[0]
        a.call("user.set", email=REP)
        cid = a.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        fid = a.call("followup.add", contact=cid,
                     due=rfc3339(time.time() + 1), remind_before=0,
                     reason="call back")["followup"]["id"]
        hung = tmp_path / "hung"
        assert wait_for(hung.exists, 60 if WRAPPER else 20)
        first = json.loads(hung.read_text())
        parent, hook_pid = (tmp_path / "hung.pid").read_text().split()
        dead = [fu for fu in ns.nodes if str(fu.proc.pid) == parent][0]
        (tmp_path / "hang").unlink()
        killed_at = time.time()
        dead.kill9()
        assert wait_for(lambda: len(ns.deliveries()) >= 1, 120)
        took = time.time() - killed_at
        sent = ns.deliveries()
        assert [(d[0], d[1]) for d in sent] == [
            (ns.nodes[1 - ns.nodes.index(dead)].name, fid)], sent
        assert sent[0][2] == first["message_id"]
        print("in flight: sent %.1f s after the kill" % took)
        assert took < 60, "sent %.0f s after the kill" % took
    finally:
        kill_hook(hook_pid)
        ns.stop()


def test_a_node_whose_clock_runs_ahead_leaves_a_live_node_s_delivery(
        cluster, tmp_path):
    """Node B's clock is an hour ahead of node A's.  Heartbeats and
    leases are the database server's clock's, so B sees A live and
    leaves alone the delivery A's hook is still running: on B's own
    clock, A's heartbeat and lease would be an hour old, and B would
    run the hook a second time."""
    ns = Nodes(cluster, tmp_path, "fu_skew", 1)
    (tmp_path / "hang").touch()
    b = None
    hook_pid = None
    try:
        a = ns.nodes[0]
        a.call("user.set", email=REP)
        cid = a.call("contact.add", name="Ada Lovelace")["contact"]["id"]
        a.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
               remind_before=0, reason="call back")
        hung = tmp_path / "hung"
        assert wait_for(hung.exists, 60 if WRAPPER else 20)
        hook_pid = (tmp_path / "hung.pid").read_text().split()[1]
        d = tmp_path / "ahead"
        d.mkdir()
        offset = tmp_path / "ahead.faketime"
        offset.write_text(clock_offset(3600))
        conf = a.conf.read_text().split("\n", 2)[2]
        b = Daemon(d, conf, database=ns.uri, faketime=str(offset))
        b.start()
        assert b.call("followup.list")["followups"][0]["status"] == \
            "pending"
        # B's first passes, and a beat of each, are behind it.
        time.sleep(STORE_NODE_BEAT + 2)
        assert sorted(live(b)) == sorted(live(a)) and len(live(b)) == 2
        started = (tmp_path / "started").read_text().split()
        assert started == [str(a.proc.pid)], started
        # Each node's clock, as the server sees it; doctor warns of B's.
        offsets = {n["pid"]: n["clock_offset_ms"]
                   for n in a.call("status")["store"]["nodes"]}
        assert abs(offsets[a.proc.pid]) < 2000, offsets
        assert abs(offsets[b.proc.pid] - 3600 * 1000) < 2000, offsets
        rc, out, err = a.client("doctor")
        line = [ln for ln in out.splitlines() if " nodes " in ln]
        assert len(line) == 1 and line[0].startswith("WARN"), out
        assert re.search(r"is 3[56]\d\d\.\d s ahead of the database",
                         line[0]), out
    finally:
        kill_hook(hook_pid)
        if b is not None:
            b.stop()
        ns.stop()


def reps():
    """REPS reps: users of this system (as "as" needs).  As root, the
    missing ones are made (fu-rep1...); else fewer if the system has
    fewer."""
    with accounts_locked():
        names = [p.pw_name for p in pwd.getpwall()]
        if len(names) < REPS and os.geteuid() == 0 and \
                shutil.which("useradd") is not None:
            for i in range(1, REPS + 1):
                name = "fu-rep%d" % i
                if len(names) >= REPS:
                    break
                if name not in names:
                    subprocess.run(["useradd", "-M", "-r", "-s",
                                    "/usr/sbin/nologin", name], check=True)
                    names.append(name)
    return names[:REPS]


def burst(ns):
    """BURST follow-ups for the reps, due over SPREAD s from LEAD s on,
    added on every node at once (pipelined); their ids and the first due
    time."""
    team = reps()
    conns = [fu.connect(timeout=120) for fu in ns.nodes]
    setup = [("user.set", {"email": "%s@test.invalid" % u}, u)
             for u in team]
    setup += [("contact.add", {"name": "Contact of %s" % u}, u)
              for u in team]
    cids = [r["contact"]["id"] for r in pipelined(conns[0], setup)
            if "contact" in r]
    start = int(time.time()) + LEAD
    work = [[] for _ in conns]
    for i in range(BURST):
        rep = i % len(team)
        work[i % len(conns)].append((
            "followup.add",
            {"contact": cids[rep], "remind_before": 0,
             "due": rfc3339(start + i * SPREAD // BURST),
             "reason": "burst %d" % i}, team[rep]))
    ids = []
    # One connection per node, each sending its share in turn.
    pending = [list(w) for w in work]
    while any(pending):
        for c, w in zip(conns, pending):
            if w:
                ids += [r["followup"]["id"] for r in pipelined(c, w[:100])]
                del w[:100]
    for c in conns:
        c.close()
    assert time.time() < start, \
        "adding %d follow-ups took past their first due time" % BURST
    return ids, start


@pytest.mark.alone
@pytest.mark.skipif(WRAPPER != [], reason="a burst of 3,000 reminders "
                    "on three nodes measures lateness; under valgrind "
                    "it measures valgrind")
def test_a_burst_on_three_nodes_goes_out_once_and_on_time(cluster,
                                                          tmp_path):
    ns = Nodes(cluster, tmp_path, "fu_burst", 3)
    try:
        ids, start = burst(ns)
        assert len(set(ids)) == BURST
        assert wait_for(lambda: len({d[1] for d in ns.deliveries()}) >=
                        BURST, start + SPREAD + 60 - time.time())
        time.sleep(2)
        sent = ns.deliveries()
    finally:
        ns.stop()
    by_id = {}
    for node, fid, mid, late in sent:
        by_id.setdefault(fid, []).append((node, mid, late))
    assert set(by_id) == set(ids)
    twice = {fid: d for fid, d in by_id.items() if len(d) > 1}
    assert not twice, "delivered more than once: %r" % \
        list(twice.items())[:5]
    worst = max(d[0][2] for d in by_id.values())
    per_node = {}
    for node, _, _, _ in sent:
        per_node[node] = per_node.get(node, 0) + 1
    print("burst: %d reminders, %d reps, nodes %r, last %.2f s late" % (
        len(by_id), len(reps()), per_node, worst))
    assert worst < 2, "the latest reminder was %.2f s late" % worst


@pytest.mark.alone
@pytest.mark.skipif(WRAPPER != [], reason="a burst of 3,000 reminders "
                    "on three nodes; under valgrind it takes too long")
def test_a_node_killed_mid_burst_loses_nothing(cluster, tmp_path):
    ns = Nodes(cluster, tmp_path, "fu_kill", 3)
    try:
        ids, start = burst(ns)
        time.sleep(max(0, start + SPREAD / 2 - time.time()))
        ns.nodes[2].kill9()
        # Its claims are taken once its heartbeat is stale.
        assert wait_for(lambda: len({d[1] for d in ns.deliveries()}) >=
                        BURST, start + SPREAD + 90 - time.time())
        time.sleep(2)
        sent = ns.deliveries()
    finally:
        ns.stop()
    by_id = {}
    for node, fid, mid, late in sent:
        by_id.setdefault(fid, []).append((node, mid))
    assert set(by_id) == set(ids), "%d notices never went out" % \
        len(set(ids) - set(by_id))
    for fid, d in by_id.items():
        if len(d) > 1:
            assert len({mid for _, mid in d}) == 1, \
                "follow-up %d went out twice with different ids: %r" % (
                    fid, d)
    print("kill: %d notices went out twice, each with one Message-ID" %
          sum(1 for d in by_id.values() if len(d) > 1))


def live(fu):
    return [n["name"] for n in fu.call("status")["store"]["nodes"]]


def test_a_reps_digest_goes_out_once_whichever_node_sees_it_due(
        cluster, tmp_path):
    """Three nodes whose clocks reach the digest hour within a moment of
    one another: each finds the rep's digest due, and it goes out once
    (the outbox's ledger holds one digest per rep and day, whichever
    node records it)."""
    margin = 60 if WRAPPER else 15
    start = datetime.datetime(2026, 11, 23, 8, 0, 0) - \
        datetime.timedelta(seconds=margin)
    ns = Nodes(cluster, tmp_path, "fu_digest", 3, "digest = 08:00\n",
               faketime="@" + start.strftime("%Y-%m-%d %H:%M:%S"))
    try:
        a = ns.nodes[0]
        a.call("user.set", email=REP)
        cid = a.call("contact.add", name="Ida Digest")["contact"]["id"]
        a.call("followup.add", contact=cid, due="2026-11-23T15:00:00Z",
               remind_before=0)

        def digests():
            out = []
            for f in os.listdir(ns.out):
                if f.endswith(".tmp"):
                    continue
                head, body = (ns.out / f).read_text().split("\n", 1)
                msg = json.loads(body)
                if any(n.get("kind") == "digest" for n in msg["notices"]):
                    out.append((head.split()[0], msg["message_id"]))
            return out

        assert wait_for(lambda: digests(), margin + 30), \
            "no digest: %s" % [fu.log.read_text()[-2000:] for fu in ns.nodes]
        # Every node's clock is past 08:00 by now: none sends another.
        time.sleep(5)
        assert len(digests()) == 1, digests()
        rows = cluster.psql("SELECT count(*) FROM outbox WHERE "
                            "kind = 'digest'", "fu_digest")
        assert rows == "1"
    finally:
        ns.stop()


def test_status_and_doctor_list_the_live_nodes(cluster, tmp_path):
    ns = Nodes(cluster, tmp_path, "fu_status", 3)
    try:
        a = ns.nodes[0]
        st = a.call("status")["store"]
        assert st["backend"] == "postgresql"
        assert st["server_version"]
        assert st["schema"] >= 1
        assert len(st["nodes"]) == 3
        assert sorted(n["pid"] for n in st["nodes"]) == \
            sorted(fu.proc.pid for fu in ns.nodes)
        rc, out, err = a.client("doctor")
        assert rc == 0, out + err
        line = [ln for ln in out.splitlines() if " nodes " in ln]
        assert len(line) == 1 and "3 live nodes" in line[0], out
        assert line[0].startswith("ok") and ("clock +0." in line[0] or
                                             "clock -0." in line[0]), out
        assert all(abs(n["clock_offset_ms"]) < 2000 for n in st["nodes"])
        rc, out, err = a.client("status")
        assert rc == 0, out + err
        assert len(re.findall(r"heartbeat .*, clock [+-]0\.\d s$", out,
                              re.M)) == 3, out
        ns.nodes[2].stop()
        assert len(live(a)) == 2
        rc, out, err = a.client("doctor")
        assert "2 live nodes" in out, out
    finally:
        ns.stop()
