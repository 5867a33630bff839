"""A whole team on one daemon, with real Unix users made for the test: reps
see and change only their own records through every op, and only their own
deliveries' trouble in status and doctor; admins see the team, act for a
rep (--as, with the rep's powers only) and reassign contacts; admin
membership follows the configuration on SIGHUP; and a user outside the
socket's group cannot connect at all.

Bad input tried: another rep's ids on every op that takes one (each must
answer exactly like an id that does not exist), "as" from a rep, "as" an
unknown user, owner "*" from a rep, backup and reassign from a rep and
from an admin acting for one, a connection from a user outside the
socket's group, settings an admin sets for a rep (stored under the rep's
uid, not the admin's).

Needs root (useradd); skipped otherwise.
"""

import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from fu import FOLLOWUP, FOLLOWUPD, WRAPPER, Conn, account, rfc3339

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or
    shutil.which("setpriv") is None, reason="needs root, useradd, setpriv")

# Names of this run only, so two runs on one machine never share users.
RUN = "fu-t%d" % (os.getpid() % 100000)
TEAM, ADMINS = RUN + "-team", RUN + "-admins"
ANA, BEN, BOSS, OUT = RUN + "-ana", RUN + "-ben", RUN + "-boss", \
    RUN + "-out"
CAT = RUN + "-cat"
USERS = {ANA: [TEAM], BEN: [TEAM], BOSS: [TEAM, ADMINS], OUT: [],
         CAT: [TEAM]}

# Run as a user: send JSON requests on one connection, print the replies;
# with "watch" given, also collect events for that many seconds.
RAW = r"""
import json, socket, sys, time
path, watch = sys.argv[1], float(sys.argv[2])
reqs = json.load(sys.stdin)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(path)
except OSError as e:
    print(json.dumps([{"connect_error": e.errno}])); sys.exit(0)
f = s.makefile("rwb")
out = []
for r in reqs:
    f.write(json.dumps(r).encode() + b"\n"); f.flush()
    out.append(json.loads(f.readline()))
if watch > 0:
    s.settimeout(0.2)
    end = time.time() + watch
    buf = b""
    while time.time() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
    out += [json.loads(l) for l in buf.split(b"\n") if l]
print(json.dumps(out))
"""


def _drop_users():
    for u in USERS:
        account(["userdel", u], check=False)
    for g in (TEAM, ADMINS):
        account(["groupdel", g], check=False)


@pytest.fixture(scope="module")
def team():
    """The users and groups, and one daemon (root) serving group TEAM."""
    _drop_users()
    for g in (TEAM, ADMINS):
        account(["groupadd", g])
    for u, groups in USERS.items():
        cmd = ["useradd", "-M", "-s", "/usr/sbin/nologin", "-d",
               "/nonexistent", u]
        if groups:
            cmd[1:1] = ["-G", ",".join(groups)]
        account(cmd)
    # Every user must reach the socket and the client: a 0755 directory.
    top = tempfile.mkdtemp(prefix="fu-team-", dir="/tmp")
    os.chmod(top, 0o755)
    client = os.path.join(top, "followup")
    shutil.copy(FOLLOWUP, client)
    os.chmod(client, 0o755)
    d = start_daemon(top, "state")
    yield dict(d, client=client, top=top)
    rc = stop_daemon(d)
    shutil.rmtree(top)
    _drop_users()
    assert rc == 0


def start_daemon(top, name, extra=""):
    """A daemon (root) serving group TEAM, its files under top/name."""
    state = os.path.join(top, name)
    os.mkdir(state, 0o700)
    conf = os.path.join(state, "followupd.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nlog = stderr\nsocket_group = %s\n"
                "admin_group = %s\n%s" % (TEAM, ADMINS, extra))
    sock = os.path.join(top, "run-" + name, "followupd.sock")
    log = open(os.path.join(state, "log"), "wb")
    proc = subprocess.Popen(WRAPPER + [FOLLOWUPD, "-v", "--config", conf,
                                       "--socket", sock, "--database",
                                       os.path.join(state, "fu.db")],
                            stdout=log, stderr=subprocess.STDOUT,
                            env=dict(os.environ, TZ="UTC"))
    deadline = time.time() + 60
    while not os.path.exists(sock) and time.time() < deadline:
        assert proc.poll() is None, open(os.path.join(state, "log")).read()
        time.sleep(0.05)
    return {"sock": sock, "proc": proc, "conf": conf, "logf": log,
            "log": os.path.join(state, "log")}


def stop_daemon(d):
    d["proc"].send_signal(signal.SIGTERM)
    rc = d["proc"].wait(120)
    d["logf"].close()
    return rc


def as_user(user, args, **kw):
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--init-groups", "--"] + args


def raw(team, user, reqs, watch=0):
    """Send requests as user on one connection; the replies (and events)."""
    for i, r in enumerate(reqs):
        r.setdefault("id", i + 1)
    out = subprocess.run(as_user(user, ["/usr/bin/python3", "-c", RAW,
                                        team["sock"], str(watch)]),
                         input=json.dumps(reqs), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def call(team, user, op, **args):
    r = raw(team, user, [{"op": op, "args": args}])[0]
    assert r["ok"], r
    return r["result"]


def client(team, user, *args):
    out = subprocess.run(as_user(user, [team["client"], "--socket",
                                        team["sock"]] + list(args)),
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, TZ="UTC"))
    return out.returncode, out.stdout, out.stderr


def test_socket_belongs_to_the_team_group(team):
    st = os.stat(team["sock"])
    assert st.st_mode & 0o777 == 0o660
    assert st.st_gid == grp.getgrnam(TEAM).gr_gid


def test_callers_are_known_by_their_uid(team):
    h = call(team, ANA, "hello")
    assert h["user"] == ANA and h["caller"] == ANA and h["admin"] is False
    assert h["uid"] == pwd.getpwnam(ANA).pw_uid
    assert call(team, BOSS, "hello")["admin"] is True


def test_a_rep_cannot_see_or_touch_another_reps_records(team):
    c = call(team, ANA, "contact.add", name="Ana's prospect",
             email="p@example.com")["contact"]
    f = call(team, ANA, "followup.add", contact=c["id"],
             due="tomorrow 10:00", reason="quote")["followup"]
    call(team, ANA, "interaction.add", contact=c["id"], kind="call",
         outcome="reached", note="liked it")
    cb = call(team, ANA, "followup.add", contact=c["id"],
              due="tomorrow 14:00", kind="callback",
              reason="promised call")["followup"]
    cid, fid, cbid, missing = c["id"], f["id"], cb["id"], 999999

    def probes(contact, followup, callback):
        return [
            {"op": "contact.get", "args": {"id": contact}},
            {"op": "contact.update", "args": {"id": contact,
                                              "name": "Hijacked"}},
            {"op": "contact.archive", "args": {"id": contact}},
            {"op": "interaction.add", "args": {"contact": contact,
                                               "kind": "note",
                                               "note": "sneaky"}},
            {"op": "interaction.list", "args": {"contact": contact}},
            {"op": "followup.add", "args": {"contact": contact,
                                            "due": "tomorrow 11:00"}},
            {"op": "followup.list", "args": {"contact": contact}},
            {"op": "followup.get", "args": {"id": followup}},
            {"op": "followup.done", "args": {"id": followup}},
            {"op": "followup.snooze", "args": {"id": followup,
                                               "until": "in 2 days"}},
            {"op": "followup.reschedule", "args": {"id": followup,
                                                   "due": "in 3 days"}},
            {"op": "followup.cancel", "args": {"id": followup}},
            {"op": "followup.reagree", "args": {"id": callback,
                                                "due": "in 4 days",
                                                "note": "moved"}},
            {"op": "followup.confirm", "args": {"id": callback}},
            {"op": "followup.confirm", "args": {"id": callback,
                                                "dry_run": True}},
        ]
    theirs = raw(team, BEN, probes(cid, fid, cbid))
    nothing = raw(team, BEN, probes(missing, missing, missing))
    assert len(theirs) == len(nothing) == len(probes(0, 0, 0))
    for req, a, b in zip(probes(cid, fid, cbid), theirs, nothing):
        assert not a["ok"] and a["error"]["code"] == "not_found", (req, a)
        # Exactly like an id that does not exist: same code, same words.
        assert a["error"]["message"].replace(str(cid), "N").replace(
            str(fid), "N").replace(str(cbid), "N") == \
            b["error"]["message"].replace(str(missing), "N"), (req, a, b)

    # Lists and the agenda show none of it.
    lists = raw(team, BEN, [{"op": "contact.list"},
                            {"op": "followup.list",
                             "args": {"status": "all"}},
                            {"op": "agenda", "args": {"range": "week"}},
                            {"op": "contact.list",
                             "args": {"search": "prospect"}}])
    assert all(r["ok"] for r in lists), lists
    dump = json.dumps([r["result"] for r in lists])
    assert "Ana's prospect" not in dump and "quote" not in dump

    # Powers a rep does not have.
    refused = raw(team, BEN, [
        {"op": "contact.list", "args": {"owner": ANA}},
        {"op": "contact.list", "args": {"owner": "*"}},
        {"op": "agenda", "args": {"owner": ANA}},
        {"op": "contact.get", "args": {"id": cid}, "as": ANA},
        {"op": "contact.reassign", "args": {"id": cid, "to": BEN}},
        {"op": "backup", "args": {"path": team["top"] + "/stolen.db"}},
        {"op": "watch", "args": {"owner": "*"}},
    ])
    for r in refused:
        assert not r["ok"] and r["error"]["code"] == "forbidden", r
    assert not os.path.exists(team["top"] + "/stolen.db")

    # Ana's records are exactly as she left them.
    got = call(team, ANA, "contact.get", id=cid)
    assert got["contact"]["name"] == "Ana's prospect"
    assert got["contact"]["archived_at"] is None
    assert [x["note"] for x in got["interactions"]] == ["liked it"]
    assert [x["status"] for x in got["followups"]] == ["pending", "pending"]
    assert {x["id"]: x["due_at"] for x in got["followups"]} == {
        fid: f["due_at"], cbid: cb["due_at"]}


def test_each_rep_has_their_own_settings(team):
    call(team, ANA, "user.set", tz="America/New_York",
         email="ana@example.com")
    call(team, BEN, "user.set", tz="Europe/Berlin")
    assert call(team, ANA, "user.get")["user"]["tz"] == "America/New_York"
    ben = call(team, BEN, "user.get")["user"]
    assert ben["tz"] == "Europe/Berlin" and ben["email"] is None
    rc, out, err = client(team, BEN, "config", "tz")
    assert rc == 0 and "Europe/Berlin" in out, err


def test_an_admin_sees_the_team_and_acts_for_a_rep(team):
    c = call(team, ANA, "contact.add", name="Shared Lead")["contact"]
    call(team, BEN, "contact.add", name="Ben Lead")
    f = call(team, ANA, "followup.add", contact=c["id"],
             due="tomorrow 15:00", reason="demo")["followup"]
    done = call(team, ANA, "followup.add", contact=c["id"],
                due="tomorrow 16:00")["followup"]
    call(team, ANA, "followup.done", id=done["id"])

    # By id, any rep's record.
    assert call(team, BOSS, "contact.get", id=c["id"])["contact"][
        "owner"] == ANA
    # The whole team's list names the owners.
    rc, out, err = client(team, BOSS, "contact", "list", "--all")
    assert rc == 0, err
    assert "OWNER" in out and ANA in out and BEN in out
    assert "Shared Lead" in out and "Ben Lead" in out
    rc, out, err = client(team, BOSS, "contact", "list", "--owner", BEN)
    assert rc == 0 and "Ben Lead" in out and "Shared Lead" not in out

    # --as: exactly what the rep sees.
    rc, out, err = client(team, BOSS, "--as", ANA, "--json", "agenda",
                          "week")
    assert rc == 0, err
    assert f["id"] in [x["id"] for x in json.loads(out)["due"]]
    rc, out, err = client(team, BOSS, "--as", ANA, "--json", "status")
    assert rc == 0 and json.loads(out)["counts"]["contacts"] >= 1
    # An admin's --as add belongs to the rep, not to the admin.
    rc, out, err = client(team, BOSS, "--as", BEN, "--json", "contact",
                          "add", "Added For Ben")
    assert rc == 0, err
    assert json.loads(out)["contact"]["owner"] == BEN
    # A rep may not use --as; nobody may act as a user that does not exist.
    rc, out, err = client(team, ANA, "--as", BEN, "agenda")
    assert rc == 1 and "admin" in err
    rc, out, err = client(team, BOSS, "--as", "fu-no-such-user", "agenda")
    assert rc == 1 and "no user" in err

    # Reassign: the contact, its open follow-up and its history move.
    call(team, ANA, "interaction.add", contact=c["id"], kind="call",
         note="intro")
    rc, out, err = client(team, BOSS, "contact", "reassign", str(c["id"]),
                          BEN)
    assert rc == 0, err
    assert "now belongs to %s, with 1 open follow-up" % BEN in out
    got = call(team, BEN, "contact.get", id=c["id"])
    assert got["contact"]["owner"] == BEN
    assert [x["id"] for x in got["followups"]
            if x["status"] == "pending"] == [f["id"]]
    assert [x["note"] for x in got["interactions"]] == ["intro"]
    assert call(team, BEN, "followup.get", id=f["id"])["followup"][
        "owner"] == BEN
    r = raw(team, ANA, [{"op": "contact.get", "args": {"id": c["id"]}},
                        {"op": "followup.get", "args": {"id": f["id"]}}])
    assert [x["error"]["code"] for x in r] == ["not_found", "not_found"]
    # The follow-up Ana closed stays hers (her record of work done).
    assert call(team, ANA, "followup.get", id=done["id"])["followup"][
        "status"] == "done"
    # Reassigning to a user that does not exist changes nothing.
    r = raw(team, BOSS, [{"op": "contact.reassign",
                          "args": {"id": c["id"], "to": "fu-nobody-x"}}])
    assert r[0]["error"]["code"] == "not_found"
    assert call(team, BEN, "contact.get", id=c["id"])["contact"][
        "owner"] == BEN


def test_simulate_shows_a_rep_only_their_own_schedule(team):
    c = call(team, ANA, "contact.add", name="Ana's simulated lead")["contact"]
    f = call(team, ANA, "followup.add", contact=c["id"],
             due="tomorrow 10:00", kind="callback",
             reason="simulated quote")["followup"]

    # Ben's own schedule holds none of it; naming Ana or the team is
    # refused.
    r = raw(team, BEN, [{"op": "simulate"},
                        {"op": "simulate", "args": {"owner": ANA}},
                        {"op": "simulate", "args": {"owner": "*"}}])
    assert r[0]["ok"], r
    assert "simulated" not in json.dumps(r[0]["result"])
    assert all(e["owner"] == BEN for e in r[0]["result"]["events"])
    for x in r[1:]:
        assert not x["ok"] and x["error"]["code"] == "forbidden", x
    rc, out, err = client(team, BEN, "simulate", "--owner", ANA)
    assert rc == 1 and "admin" in err

    # Ana sees her callback's three notices.
    mine = [e["kind"] for e in call(team, ANA, "simulate")["events"]
            if e["followup"] and e["followup"]["id"] == f["id"]]
    assert mine == ["reminder", "due", "missed"]

    # An admin sees one rep's or the whole team's, owners named.
    theirs = call(team, BOSS, "simulate", owner=ANA)["events"]
    assert theirs and all(e["owner"] == ANA for e in theirs)
    assert f["id"] in [e["followup"]["id"] for e in theirs
                       if e["followup"]]
    rc, out, err = client(team, BOSS, "simulate", "--all")
    assert rc == 0, err
    assert "OWNER" in out and ANA in out and "Ana's simulated lead" in out


def test_watch_shows_a_rep_only_their_own_notices(team):
    c = call(team, ANA, "contact.add", name="Due Soon")["contact"]
    watchers = {}
    procs = {}
    for user, args in ((ANA, {}), (BEN, {}), (BOSS, {"owner": "*"})):
        procs[user] = subprocess.Popen(
            as_user(user, ["/usr/bin/python3", "-c", RAW, team["sock"],
                           "8"]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        procs[user].stdin.write(json.dumps([{"id": 1, "op": "watch",
                                             "args": args}]))
        procs[user].stdin.close()
    time.sleep(1.5)
    f = call(team, ANA, "followup.add", contact=c["id"], due="in 3 seconds",
             remind_before=0)["followup"]
    for user, p in procs.items():
        watchers[user] = json.loads(p.stdout.read())
        p.wait(60)
    for user in procs:
        assert watchers[user][0]["ok"], watchers[user]

    def seen(user):
        return [e for e in watchers[user][1:]
                if e.get("event") and e["notice"].get("followup", {}).get(
                    "id") == f["id"]]
    assert seen(ANA), watchers[ANA]
    assert seen(BOSS), watchers[BOSS]
    assert not seen(BEN) and len(watchers[BEN]) == 1, watchers[BEN]


def test_a_user_outside_the_group_cannot_connect(team):
    r = raw(team, OUT, [{"op": "hello"}])
    assert r == [{"connect_error": 13}]   # EACCES
    rc, out, err = client(team, OUT, "status")
    assert rc == 3 and "no permission" in err
    rc, out, err = client(team, OUT, "doctor")
    assert rc == 1
    assert "you may not connect" in out and "adduser %s %s" % (OUT, TEAM) \
        in out


def test_doctor_for_a_rep_checks_the_socket_and_the_daemon(team):
    rc, out, err = client(team, BEN, "doctor")
    lines = out.splitlines()
    sock = [l for l in lines if " socket " in l][0]
    assert sock.startswith("ok") and "group %s" % TEAM in sock
    assert any(l.startswith("ok") and " daemon " in l for l in lines)
    assert any(l.startswith("ok") and " database " in l for l in lines)
    # No hook is configured: a warning, not a failure.
    assert any(l.startswith("WARN") and " hooks " in l for l in lines)
    assert rc == 0, out


def test_a_root_caller_is_an_admin(team):
    c = Conn(team["sock"])
    try:
        h = c.call("hello")
        assert h["admin"] is True and h["user"] == "root"
        assert c.call("contact.list", owner="*")["contacts"]
    finally:
        c.close()


def test_an_admin_backs_up_only_where_the_admin_may_write(team):
    """The daemon runs as root; an admin who is not root must not get it
    to write, let alone replace, a file the admin could not: a backup is
    written by the client, as the admin."""
    import sqlite3
    locked = os.path.join(team["top"], "root-only")
    os.mkdir(locked, 0o700)
    secret = os.path.join(locked, "secret")
    with open(secret, "w") as f:
        f.write("root's own\n")
    made = os.path.join(locked, "made.db")
    rc, out, err = client(team, BOSS, "backup", "--force", secret)
    assert rc == 1, (out, err)
    assert "cannot create a file beside %s" % secret in err, err
    assert "Permission denied" in err, err
    r = raw(team, BOSS, [
        {"op": "backup", "args": {"path": secret, "force": True}},
        {"op": "backup", "args": {"path": made}},
    ])
    assert not r[0]["ok"] and r[0]["error"]["code"] == "bad_request", r
    assert sorted(os.listdir(locked)) == ["secret"], os.listdir(locked)
    with open(secret) as f:
        assert f.read() == "root's own\n"

    # Where the admin may write, the backup is the admin's own file.
    mine = os.path.join(team["top"], "boss")
    os.mkdir(mine, 0o700)
    boss = pwd.getpwnam(BOSS)
    os.chown(mine, boss.pw_uid, boss.pw_gid)
    copy = os.path.join(mine, "team.db")
    rc, out, err = client(team, BOSS, "backup", copy)
    assert rc == 0 and "Backed up the database to %s" % copy in out, err
    st = os.stat(copy)
    assert st.st_uid == boss.pw_uid and st.st_mode & 0o777 == 0o600
    db = sqlite3.connect(copy)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert sorted(os.listdir(mine)) == ["team.db"]


def test_report_shows_a_rep_only_their_own_figures(team):
    c = call(team, ANA, "contact.add", name="Ana's reported lead",
             stage="negotiation")["contact"]
    r = raw(team, BEN, [{"op": "report"},
                        {"op": "report", "args": {"owner": ANA}},
                        {"op": "report", "args": {"owner": "*"}}])
    assert r[0]["ok"], r
    assert [x["rep"] for x in r[0]["result"]["reps"]] == [BEN]
    assert "reported" not in json.dumps(r[0]["result"])
    for x in r[1:]:
        assert not x["ok"] and x["error"]["code"] == "forbidden", x
    rc, out, err = client(team, BEN, "report", "--rep", ANA)
    assert rc == 1 and "admin" in err
    # The admin sees Ana's, and the team's per rep with totals.
    mine = call(team, BOSS, "report", owner=ANA)["reps"][0]
    assert mine["rep"] == ANA and mine["pipeline"]["negotiation"] >= 1
    rc, out, err = client(team, BOSS, "report", "--all")
    assert rc == 0, err
    assert ANA in out and "the team" in out
    call(team, ANA, "contact.archive", id=c["id"])


# Run as a user: one connection kept open; each line on stdin is sent as a
# request and its reply printed at once.
CHAT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
for line in sys.stdin:
    f.write(line.encode()); f.flush()
    sys.stdout.write(f.readline().decode()); sys.stdout.flush()
"""


def test_admin_membership_follows_the_configuration_on_sighup(team):
    p = subprocess.Popen(as_user(BEN, ["/usr/bin/python3", "-c", CHAT,
                                       team["sock"]]),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         text=True)
    with open(team["conf"]) as f:
        original = f.read()

    def ask(op, **args):
        p.stdin.write(json.dumps({"id": 1, "op": op, "args": args}) + "\n")
        p.stdin.flush()
        return json.loads(p.stdout.readline())

    def reload(text):
        with open(team["conf"], "w") as f:
            f.write(text)
        team["proc"].send_signal(signal.SIGHUP)

    def wait_admin(want):
        deadline = time.time() + 30
        while time.time() < deadline:
            if call(team, BOSS, "hello")["admin"] == want[BOSS] and \
                    ask("hello")["result"]["admin"] == want[BEN]:
                return
            time.sleep(0.1)
        raise AssertionError("admin is not %r after SIGHUP" % want)
    try:
        assert ask("hello")["result"]["admin"] is False
        assert ask("contact.list", owner="*")["error"]["code"] == \
            "forbidden"
        # Ben's own group becomes the admin group: on the same connection
        # and on new ones, he sees the team; Boss no longer does.
        reload(original.replace("admin_group = %s" % ADMINS,
                                "admin_group = %s" % BEN))
        wait_admin({BEN: True, BOSS: False})
        assert ask("contact.list", owner="*")["ok"]
        assert call(team, BEN, "hello")["admin"] is True
        r = raw(team, BOSS, [{"op": "contact.list", "args": {"owner": "*"}}])
        assert r[0]["error"]["code"] == "forbidden"
        # And back.
        reload(original)
        wait_admin({BEN: False, BOSS: True})
        assert ask("contact.list", owner="*")["error"]["code"] == \
            "forbidden"
        assert call(team, BOSS, "contact.list", owner="*")["contacts"]
    finally:
        with open(team["conf"], "w") as f:
            f.write(original)
        team["proc"].send_signal(signal.SIGHUP)
        p.stdin.close()
        p.wait(30)


def test_an_admin_acting_for_a_rep_has_only_the_reps_powers(team):
    ana = call(team, ANA, "contact.add", name="Ana's As Lead")["contact"]
    ben = call(team, BEN, "contact.add", name="Ben's As Lead")["contact"]
    f = call(team, BEN, "followup.add", contact=ben["id"],
             due="tomorrow 11:00", reason="ben's quote")["followup"]
    assert call(team, BOSS, "contact.get", id=ben["id"])["contact"][
        "owner"] == BEN
    r = raw(team, BOSS, [
        {"op": "hello", "as": ANA},
        {"op": "contact.list", "as": ANA},
        {"op": "contact.list", "args": {"owner": "*"}, "as": ANA},
        {"op": "contact.list", "args": {"owner": BEN}, "as": ANA},
        {"op": "agenda", "args": {"owner": BEN}, "as": ANA},
        {"op": "followup.list", "args": {"owner": "*"}, "as": ANA},
        {"op": "report", "args": {"owner": "*"}, "as": ANA},
        {"op": "export", "args": {"format": "json", "owner": "*"},
         "as": ANA},
        {"op": "watch", "args": {"owner": "*"}, "as": ANA},
        {"op": "backup", "args": {"path": team["top"] + "/as.db"},
         "as": ANA},
        {"op": "contact.reassign", "args": {"id": ana["id"], "to": BEN},
         "as": ANA},
        {"op": "contact.get", "args": {"id": ben["id"]}, "as": ANA},
        {"op": "followup.get", "args": {"id": f["id"]}, "as": ANA},
        {"op": "contact.get", "args": {"id": 999999}, "as": ANA},
    ])
    assert r[0]["result"]["admin"] is False and r[0]["result"]["user"] == ANA
    assert r[0]["result"]["caller"] == BOSS
    owners = {c["owner"] for c in r[1]["result"]["contacts"]}
    assert owners == {ANA}, r[1]
    for x in r[2:11]:
        assert not x["ok"] and x["error"]["code"] == "forbidden", x
    # Another rep's ids answer like ids that do not exist.
    for x in r[11:13]:
        assert x["error"]["code"] == "not_found", x
    assert r[11]["error"]["message"].replace(str(ben["id"]), "N") == \
        r[13]["error"]["message"].replace("999999", "N")
    assert not os.path.exists(team["top"] + "/as.db")
    assert call(team, ANA, "contact.get", id=ana["id"])["contact"][
        "owner"] == ANA

    # The client: exactly what Ana would get.
    rc, out, err = client(team, BOSS, "--as", ANA, "contact", "list",
                          "--all")
    assert rc == 1 and "admin" in err, (out, err)
    rc, out, err = client(team, BOSS, "--as", ANA, "--json", "contact",
                          "list")
    assert rc == 0, err
    assert {c["owner"] for c in json.loads(out)["contacts"]} == {ANA}
    rc, out, err = client(team, BOSS, "--as", ANA, "--json", "status")
    assert rc == 0, err
    st = json.loads(out)
    assert "team" not in st and "delivery_by_rep" not in st
    assert st["delivery_scope"] == "yours"
    # Without --as the admin has the team again.
    rc, out, err = client(team, BOSS, "contact", "list", "--all")
    assert rc == 0 and ANA in out and BEN in out, err


def test_settings_set_for_a_rep_keep_the_reps_uid(team):
    ben_uid = pwd.getpwnam(BEN).pw_uid
    boss_uid = pwd.getpwnam(BOSS).pw_uid
    r = raw(team, BOSS, [
        {"op": "user.set", "args": {"digest": "07:30"}, "as": BEN},
        {"op": "user.get", "as": BEN},
        # A user with no settings yet: the uid is theirs all the same.
        {"op": "user.get", "as": OUT},
        {"op": "user.get"},
    ])
    assert r[0]["result"]["user"]["name"] == BEN
    assert r[0]["result"]["user"]["uid"] == ben_uid, r[0]
    assert r[1]["result"]["user"]["uid"] == ben_uid, r[1]
    assert r[2]["result"]["user"]["uid"] == pwd.getpwnam(OUT).pw_uid, r[2]
    assert r[3]["result"]["user"]["uid"] == boss_uid, r[3]
    u = call(team, BEN, "user.get")["user"]
    assert u["uid"] == ben_uid and u["digest"] == "07:30"
    # The same through the client's --as.
    rc, out, err = client(team, BOSS, "--as", BEN, "config", "digest",
                          "07:45")
    assert rc == 0, err
    u = call(team, BEN, "user.get")["user"]
    assert u["uid"] == ben_uid and u["digest"] == "07:45"


def test_an_admin_lists_a_reps_follow_ups_and_agendas(team):
    c = call(team, ANA, "contact.add", name="Ana's Listed Lead")["contact"]
    f = call(team, ANA, "followup.add", contact=c["id"],
             due="in 2 hours", reason="ana listed")["followup"]
    bc = call(team, BEN, "contact.add", name="Ben's Listed Lead")["contact"]
    bf = call(team, BEN, "followup.add", contact=bc["id"],
              due="in 3 hours", reason="ben listed")["followup"]

    # A rep's contact named: the rep's follow-ups on it.
    rc, out, err = client(team, BOSS, "--json", "list", "--contact",
                          str(c["id"]))
    assert rc == 0, err
    assert [x["id"] for x in json.loads(out)["followups"]] == [f["id"]]
    rc, out, err = client(team, BOSS, "list", "--contact", str(c["id"]))
    assert rc == 0 and "ana listed" in out, (out, err)
    # A rep naming another rep's contact learns nothing.
    rc, out, err = client(team, BEN, "list", "--contact", str(c["id"]))
    assert rc == 1 and "does not exist" in err

    # One rep's, or the team's with the owners named.
    rc, out, err = client(team, BOSS, "list", "--owner", BEN)
    assert rc == 0 and "ben listed" in out and "ana listed" not in out
    rc, out, err = client(team, BOSS, "list", "--all", "--limit", "500")
    assert rc == 0, err
    line = [l for l in out.splitlines() if "ana listed" in l][0]
    assert ANA in line
    assert any(BEN in l for l in out.splitlines() if "ben listed" in l)
    rc, out, err = client(team, BOSS, "--json", "agenda", "week",
                          "--owner", ANA)
    assert rc == 0, err
    ids = [x["id"] for x in json.loads(out)["due"]]
    assert f["id"] in ids and bf["id"] not in ids
    rc, out, err = client(team, BOSS, "agenda", "week", "--all")
    assert rc == 0, err
    assert [l for l in out.splitlines() if "ana listed" in l and ANA in l]
    assert [l for l in out.splitlines() if "ben listed" in l and BEN in l]
    rc, out, err = client(team, BOSS, "--json", "agenda", "week", "--all")
    assert {f["id"], bf["id"]} <= {x["id"] for x in json.loads(out)["due"]}

    # Reps may not.
    for args in (["list", "--all"], ["list", "--owner", ANA],
                 ["agenda", "--all"], ["agenda", "--owner", ANA]):
        rc, out, err = client(team, BEN, *args)
        assert rc == 1 and "admin" in err, (args, out, err)
    call(team, ANA, "followup.cancel", id=f["id"])
    call(team, BEN, "followup.cancel", id=bf["id"])


@pytest.fixture(scope="module")
def hooked(team):
    """A second daemon whose hook fails, naming the address, for Ana only."""
    hook = os.path.join(team["top"], "hook")
    with open(hook, "w") as f:
        f.write("#!/bin/sh\ncat > /dev/null\n"
                "if [ \"$FOLLOWUP_REP\" = %s ]; then\n"
                "  echo \"relay refused <$FOLLOWUP_REP_EMAIL>\" >&2\n"
                "  exit 75\nfi\nexit 0\n" % ANA)
    os.chmod(hook, 0o755)
    d = start_daemon(team["top"], "hooked",
                     "[reminders]\nhook = %s\nhook_retry = 60s\n" % hook)
    yield dict(team, sock=d["sock"], proc=d["proc"], conf=d["conf"],
               log=d["log"])
    assert stop_daemon(d) == 0


def test_a_rep_sees_only_their_own_deliveries(hooked):
    t = hooked
    secret = "ana.secret@example.com"
    call(t, ANA, "user.set", email=secret)
    call(t, BEN, "user.set", email="ben@example.com")
    for user in (ANA, BEN):
        c = call(t, user, "contact.add", name="Due For " + user)["contact"]
        call(t, user, "followup.add", contact=c["id"], due="in 2 seconds",
             remind_before=0)
    # Wait for Ana's failure and for all of Ben's deliveries (the journal's
    # and the hook's, which ends later, slower still under valgrind).
    # The admin's status is read again after the wait: Ben's last delivery
    # may end between the admin's status and Ben's.
    deadline = time.time() + 60
    while time.time() < deadline:
        st = call(t, BOSS, "status")
        ben = call(t, BEN, "status")
        if st["last_delivery_error"] is not None and \
                ben["last_delivery"] is not None and \
                ben["outbox_backlog"] == 0:
            break
        time.sleep(0.2)
    st = call(t, BOSS, "status")
    # The admin sees the team's: Ana's error, and Ana as the rep failing.
    assert secret in st["last_delivery_error"]["error"], st
    assert st["delivery_scope"] == "team"
    by_rep = {x["rep"]: x for x in st["delivery_by_rep"]}
    assert by_rep[ANA]["failing"] >= 1 and BEN not in by_rep, st
    assert st["team"]["reps"] >= 2
    rc, out, err = client(t, BOSS, "doctor")
    line = [l for l in out.splitlines() if "  last delivery " in l][0]
    assert line.startswith("FAIL") and ANA in line and secret in line, out
    rc, out, err = client(t, BOSS, "status")
    assert rc == 0 and secret in out and ANA in out, out

    # Ana sees her own.
    st = call(t, ANA, "status")
    assert st["delivery_scope"] == "yours"
    assert secret in st["last_delivery_error"]["error"]
    assert st["outbox_backlog"] >= 1 and st["deliveries_failing"] >= 1
    rc, out, err = client(t, ANA, "doctor")
    assert rc == 1, out
    line = [l for l in out.splitlines() if "  last delivery " in l][0]
    assert line.startswith("FAIL") and "relay refused" in line, out

    # Ben sees none of Ana's: no error, no backlog; his doctor passes.
    st = call(t, BEN, "status")
    assert st["last_delivery_error"] is None, st
    assert st["outbox_backlog"] == 0 and st["deliveries_failing"] == 0
    assert st["deliveries_failed"] == 0 and st["last_delivery"]
    assert "team" not in st and "delivery_by_rep" not in st
    rc, out, err = client(t, BEN, "--json", "status")
    assert rc == 0 and secret not in out and "relay" not in out, out
    rc, out, err = client(t, BEN, "status")
    assert rc == 0 and secret not in out and "relay" not in out, out
    rc, out, err = client(t, BEN, "doctor")
    assert rc == 0, out
    assert secret not in out and "relay" not in out and ANA not in out
    line = [l for l in out.splitlines() if "  last delivery " in l][0]
    assert line.startswith("ok"), out
    # The admin acting for Ben sees what Ben sees.
    rc, out, err = client(t, BOSS, "--as", BEN, "--json", "status")
    assert rc == 0 and secret not in out, out


def test_status_shows_a_rep_their_own_wakeup_and_watchers(team):
    # A rep's status showed the team's next wake-up and watcher count:
    # another rep's activity.  Now a rep sees their own; admins the team's.
    d = start_daemon(team["top"], "own-status")
    t = dict(team, sock=d["sock"])
    try:
        now = time.time()
        # Both reps' digests half a day away, whatever the time of day
        # (Ben's default 08:00 came first when run just before 08:00).
        digest = time.strftime("%H:%M", time.gmtime(now + 12 * 3600))
        call(t, ANA, "user.set", tz="UTC", digest=digest)
        call(t, BEN, "user.set", tz="UTC", digest=digest)
        ca = call(t, ANA, "contact.add", name="Later")["contact"]
        fa = call(t, ANA, "followup.add", contact=ca["id"],
                  due=rfc3339(now + 6 * 3600), remind_before=0)["followup"]
        cb = call(t, BEN, "contact.add", name="Sooner")["contact"]
        fb = call(t, BEN, "followup.add", contact=cb["id"],
                  due=rfc3339(now + 300), remind_before=0)["followup"]
        procs = []
        for user, args in ((BEN, {}), (BOSS, {"owner": "*"})):
            p = subprocess.Popen(
                as_user(user, ["/usr/bin/python3", "-c", RAW, t["sock"],
                               "6"]),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            p.stdin.write(json.dumps([{"id": 1, "op": "watch",
                                       "args": args}]))
            p.stdin.close()
            procs.append(p)
        deadline = time.time() + 30
        while call(t, BOSS, "status")["watchers"] < 2:
            assert time.time() < deadline
            time.sleep(0.1)
        ana = call(t, ANA, "status")
        assert ana["next_wakeup"] == fa["due_at"], ana
        assert ana["watchers"] == 0, ana
        ben = call(t, BEN, "status")
        assert ben["next_wakeup"] == fb["due_at"], ben
        assert ben["watchers"] == 1, ben
        boss = call(t, BOSS, "status")
        assert boss["next_wakeup"] <= fb["due_at"], boss
        assert boss["watchers"] == 2, boss
        for p in procs:
            p.stdout.read()
            p.wait(60)
    finally:
        assert stop_daemon(d) == 0


def test_status_shows_the_loops_longest_stall_to_admins_only(team):
    """An admin's status gives the loop's longest stall since the start
    (how long the whole team waited); a rep's shows no team figure."""
    st = call(team, BOSS, "status")
    assert isinstance(st["loop_stall_max_ms"], int), st
    assert st["loop_stall_max_ms"] >= 0
    assert "loop_stall_max_at" in st, st
    rc, out, err = client(team, BOSS, "status")
    assert rc == 0 and "longest stall" in out, (out, err)
    st = call(team, ANA, "status")
    assert "loop_stall_max_ms" not in st and "team" not in st, st
    rc, out, err = client(team, ANA, "status")
    assert rc == 0 and "stall" not in out, (out, err)


def test_the_daemon_runs_at_most_four_doctors_at_once(team):
    """Five users ask for doctor at once while each one's mail hook check
    takes a while: four run, the fifth is told the daemon is busy, and
    only four hook checks are started."""
    top = team["top"]
    checks = os.path.join(top, "doctor-checks")
    hook = os.path.join(top, "followup-mail")    # so that doctor runs it
    with open(hook, "w") as f:
        f.write("#!/bin/sh\necho start >> %s\nsleep 3\n"
                "echo \"mail hook ready\"\n" % checks)
    os.chmod(hook, 0o755)
    d = start_daemon(top, "doctors", "[reminders]\nhook = %s\n" % hook)
    try:
        got = {}

        def ask(user):
            got[user] = raw(d, user, [{"op": "doctor"}])[0]
        users = [ANA, BEN, BOSS, CAT]
        threads = [threading.Thread(target=ask, args=(u,)) for u in users]
        for t in threads:
            t.start()
        # Root is the fifth, once the four are running.
        deadline = time.time() + 60
        while (not os.path.exists(checks) or
               len(open(checks).read().split()) < 4):
            assert time.time() < deadline, got
            time.sleep(0.05)
        c = Conn(d["sock"], 60)
        r = c.request("doctor")
        assert not r["ok"] and r["error"]["code"] == "conflict", r
        assert "busy with 4 checks" in r["error"]["message"], r
        assert c.call("hello")["server"] == "followupd"
        c.close()
        for t in threads:
            t.join(120)
        assert all(got[u]["ok"] for u in users), got
        assert len(open(checks).read().split()) == 4
    finally:
        assert stop_daemon(d) == 0
