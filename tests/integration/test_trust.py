"""Whom the client trusts with a rep's requests, with real Unix users made
for the test: without XDG_RUNTIME_DIR the client finds the rep's own daemon
under the rep's home, where no one else can make a socket first; a socket
found there that is not the rep's alone, or a daemon answering there as
another user, is refused with a sentence naming the path and its owner.

Bad input tried: another user listening on the old fallback
/tmp/followupd-UID/followupd.sock, a directory of the rep's socket owned
by another user, a socket of the rep's answered by another user's process,
a directory of the daemon's socket that is not the rep's own.

Needs root (useradd); skipped otherwise.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from fu import FOLLOWUP, FOLLOWUPD, SRCDIR, account

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None or
    shutil.which("setpriv") is None, reason="needs root, useradd, setpriv")

RUN = "fu-r%d" % (os.getpid() % 100000)
REP, OTHER = RUN + "-rep", RUN + "-oth"

# A fake daemon: answer hello and every request as a real one would, and
# write each request it heard to the file given.
LISTENER = r"""
import json, os, socket, sys
path, heard, protocol = sys.argv[1], sys.argv[2], int(sys.argv[3])
uid, owner = int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_UNIX)
# Bound as root, the socket given to owner; then listen as uid.
s.bind(path)
os.chmod(path, 0o666)
os.chown(path, owner, -1)
os.setgid(uid)
os.setuid(uid)
s.listen(4)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    for line in f:
        with open(heard, "a") as out:
            out.write(line.decode())
        req = json.loads(line)
        res = {"protocol": protocol, "user": "x", "tz": "UTC"} \
            if req["op"] == "hello" else {"contact": {"id": 77}}
        f.write(json.dumps({"id": req["id"], "ok": True,
                            "result": res}).encode() + b"\n")
        f.flush()
    c.close()
"""


def protocol_version():
    text = open(os.path.join(SRCDIR, "include/followup/protocol.h")).read()
    return re.search(r"#define FU_PROTOCOL_VERSION\s+(\d+)", text).group(1)


def as_user(user, args):
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
            "--init-groups", "--"] + args


def user_env(user):
    """A login-less environment (cron, su): no XDG_RUNTIME_DIR."""
    pw = pwd.getpwnam(user)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("XDG_") and k != "FOLLOWUP_SOCKET"}
    env.update(HOME=pw.pw_dir, USER=user, TZ="UTC")
    return env


def _drop_users():
    for u in (REP, OTHER):
        account(["userdel", u], check=False)


@pytest.fixture
def users():
    _drop_users()
    top = tempfile.mkdtemp(prefix="fu-trust-", dir="/tmp")
    os.chmod(top, 0o755)
    home = os.path.join(top, "home")
    for u, h in ((REP, home), (OTHER, "/nonexistent")):
        account(["useradd", "-M", "-s", "/usr/sbin/nologin", "-d", h, u])
    rep = pwd.getpwnam(REP)
    os.mkdir(home, 0o700)
    os.chown(home, rep.pw_uid, rep.pw_gid)
    # Every user must reach the programs.
    for prog in (FOLLOWUP, FOLLOWUPD):
        shutil.copy(prog, top)
        os.chmod(os.path.join(top, os.path.basename(prog)), 0o755)
    procs = []
    squat = "/tmp/followupd-%d" % rep.pw_uid
    yield dict(top=top, home=home, rep=rep, other=pwd.getpwnam(OTHER),
               client=os.path.join(top, os.path.basename(FOLLOWUP)),
               daemon=os.path.join(top, os.path.basename(FOLLOWUPD)),
               procs=procs, squat=squat)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            p.wait(60)
    shutil.rmtree(top)
    shutil.rmtree(squat, ignore_errors=True)
    _drop_users()


def listen(users, path, as_who, heard, owner=None):
    """A fake daemon on path answering as as_who; the socket belongs to
    owner (as_who unless given)."""
    uid = pwd.getpwnam(as_who).pw_uid
    cmd = ["/usr/bin/python3", "-c", LISTENER, path, heard,
           protocol_version(), str(uid),
           str(pwd.getpwnam(owner or as_who).pw_uid)]
    with open(heard, "w"):
        os.chmod(heard, 0o666)
    p = subprocess.Popen(cmd)
    users["procs"].append(p)
    deadline = time.time() + 30
    while True:
        assert p.poll() is None and time.time() < deadline
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return p
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()


def rep_client(users, *args):
    out = subprocess.run(as_user(REP, [users["client"]] + list(args)),
                         capture_output=True, text=True, timeout=60,
                         env=user_env(REP), cwd="/")
    return out.returncode, out.stdout, out.stderr


def test_another_user_listening_on_the_old_tmp_path_hears_nothing(users):
    squat = users["squat"]
    subprocess.run(as_user(OTHER, ["mkdir", "-m", "0755", squat]),
                   check=True)
    heard = os.path.join(users["top"], "heard")
    listen(users, os.path.join(squat, "followupd.sock"), OTHER, heard)
    rc, out, err = rep_client(users, "contact", "add", "Big Deal Inc CEO",
                              "--note", "budget 2M")
    assert open(heard).read() == "", "another user heard the request"
    assert "Added contact" not in out
    assert rc != 0, (out, err)

    # The rep's own daemon starts all the same, under the rep's home.
    log = os.path.join(users["top"], "log")
    with open(log, "wb") as f:
        d = subprocess.Popen(as_user(REP, [users["daemon"], "-v"]),
                             env=user_env(REP), cwd="/", stdout=f,
                             stderr=subprocess.STDOUT)
    users["procs"].append(d)
    sock = os.path.join(users["home"], ".local/state/followupd",
                        "followupd.sock")
    deadline = time.time() + 30
    while not os.path.exists(sock):
        assert d.poll() is None, open(log).read()
        assert time.time() < deadline
        time.sleep(0.05)
    st = os.stat(os.path.dirname(sock))
    assert st.st_uid == users["rep"].pw_uid and st.st_mode & 0o777 == 0o700
    rc, out, err = rep_client(users, "contact", "add", "Big Deal Inc CEO",
                              "--note", "budget 2M")
    assert rc == 0 and "Added contact" in out, err
    rc, out, err = rep_client(users, "contact", "list")
    assert rc == 0 and "Big Deal Inc CEO" in out, err
    assert open(heard).read() == ""


def fallback_dir(users, owner, mode):
    """The rep's ~/.local/state/followupd, owned by owner."""
    rep = users["rep"]
    state = os.path.join(users["home"], ".local", "state")
    os.makedirs(state, 0o700)
    for d in (os.path.dirname(state), state):
        os.chown(d, rep.pw_uid, rep.pw_gid)
    d = os.path.join(state, "followupd")
    os.mkdir(d)
    os.chmod(d, mode)
    os.chown(d, pwd.getpwnam(owner).pw_uid, -1)
    return d


def test_a_socket_directory_of_another_user_is_refused(users):
    d = fallback_dir(users, OTHER, 0o755)
    heard = os.path.join(users["top"], "heard")
    listen(users, os.path.join(d, "followupd.sock"), OTHER, heard)
    rc, out, err = rep_client(users, "contact", "add", "Big Deal Inc CEO")
    assert rc == 3, (out, err)
    assert "refusing %s (owner %s" % (d, OTHER) in err, err
    assert open(heard).read() == ""

    # The rep's own daemon will not serve from it either.
    db = os.path.join(users["home"], "fu.db")
    out = subprocess.run(as_user(REP, [users["daemon"], "--database", db]),
                         env=user_env(REP),
                         cwd="/", capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0
    assert "%s is not a private directory of this user" % d in out.stderr
    assert "owner %s" % OTHER in out.stderr, out.stderr


def test_a_daemon_answering_as_another_user_is_refused(users):
    d = fallback_dir(users, REP, 0o700)
    sock = os.path.join(d, "followupd.sock")
    heard = os.path.join(users["top"], "heard")
    listen(users, sock, OTHER, heard, owner=REP)
    assert os.stat(sock).st_uid == users["rep"].pw_uid
    rc, out, err = rep_client(users, "contact", "add", "Big Deal Inc CEO")
    assert rc == 3, (out, err)
    assert "refusing %s: the daemon answering there runs as %s" % (
        sock, OTHER) in err, err
    assert open(heard).read() == ""
    # A socket the rep names is the rep's choice (a team daemon may run
    # under its own account): no check of who answers.
    rc, out, err = rep_client(users, "--socket", sock, "contact", "add",
                              "Named")
    assert rc == 0 and "Added contact 77" in out, err
