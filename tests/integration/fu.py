"""Shared helpers for the integration tests: the real followupd in a scratch
directory, a raw protocol client, and the real followup client.

FOLLOWUPD, FOLLOWUP and FOLLOWUP_MAIL name the built binaries (make check
sets them). FOLLOWUP_TEST_WRAPPER (e.g. "valgrind -q --error-exitcode=99")
wraps the daemon; FOLLOWUP_TEST_DAEMON=/path/to.sock reuses a daemon that
is already running (one started under gdb) instead of starting one.
FU_TEST_BACKEND=postgresql runs every Daemon on a fresh database of one
throwaway PostgreSQL cluster (conftest.py starts it) instead of a SQLite
file; sqlite, the default, keeps the file.
"""

import array
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

FOLLOWUPD = os.environ.get("FOLLOWUPD", "followupd")
FOLLOWUP = os.environ.get("FOLLOWUP", "followup")
FOLLOWUP_MAIL = os.environ.get("FOLLOWUP_MAIL", "followup-mail")
SRCDIR = os.environ.get("FU_SRCDIR",
                        os.path.join(os.path.dirname(__file__), "..", ".."))
WRAPPER = os.environ.get("FOLLOWUP_TEST_WRAPPER", "").split()
REUSE = os.environ.get("FOLLOWUP_TEST_DAEMON")
FAKETIME_LIB = next((p for p in (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1") if os.path.exists(p)), None)

# run-at-clock shifts every clock of a run by this many seconds: the tests'
# own time.time() here, and through libfaketime each process they start
# (daemons, clients, hooks), so all of them agree on the time.  A daemon
# started on a clock of its own (faketime=...) keeps that clock.
CLOCK_SHIFT = int(os.environ.get("FU_TEST_CLOCK_SHIFT", "0") or 0)
if CLOCK_SHIFT and FAKETIME_LIB is not None:
    _real_time = time.time
    time.time = lambda: _real_time() + CLOCK_SHIFT
    os.environ.update(LD_PRELOAD=FAKETIME_LIB,
                      FAKETIME="%+d" % CLOCK_SHIFT,
                      FAKETIME_DONT_FAKE_MONOTONIC="1")


BACKEND = os.environ.get("FU_TEST_BACKEND", "") or "sqlite"
BACKENDS = ("sqlite", "postgresql")


class PgDatabases:
    """The databases of a PostgreSQL run, one per daemon directory as the
    SQLite file is, so that a daemon started again in the same directory
    (by the same Daemon or a new one) finds its data; dropped after each
    test so that hundreds of tests do not fill the disk."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.made = {}      # directory -> database name
        self.count = 0

    def uri_for(self, directory):
        key = os.path.realpath(str(directory))
        if key not in self.made:
            self.count += 1
            name = "fu_%d_%d" % (os.getpid(), self.count)
            self.cluster.createdb(name)
            self.made[key] = name
        return self.cluster.uri(self.made[key])

    def query(self, directory, text, timeout=60):
        """Run text on the database of directory; its rows, values as
        text.  Unit and record separators keep any value whole."""
        c = self.cluster
        name = self.made[os.path.realpath(str(directory))]
        p = subprocess.run(
            [os.path.join(c.bin, "psql"), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-F", "\x1f", "-R", "\x1e",
             "-h", c.sock, "-p", str(c.port), "-U", "postgres",
             "-d", name, "-c", text],
            capture_output=True, encoding="utf-8", timeout=timeout,
            env=dict(os.environ, LC_ALL="C", PGCLIENTENCODING="UTF8"))
        assert p.returncode == 0, "psql: %s" % p.stderr
        out = p.stdout[:-1] if p.stdout.endswith("\n") else p.stdout
        return [tuple(row.split("\x1f")) for row in out.split("\x1e")
                if row]

    def drop_all(self):
        # FORCE: a daemon a test left running must not keep its
        # database, and the next test's names never collide anyway.
        for name in self.made.values():
            self.cluster.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' %
                              name)
        self.made = {}


# The suite's files run in several processes at once (pytest-xdist); the
# system's account tools refuse to run beside one another, so the files
# that make users and groups take this lock around it.
ACCOUNTS_LOCK = "/tmp/followup-tests-accounts.lock"


@contextlib.contextmanager
def accounts_locked():
    """Hold the suite's lock on the system's users and groups."""
    with open(ACCOUNTS_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def account(cmd, check=True):
    """Run useradd, groupadd, userdel or groupdel under accounts_locked()."""
    with accounts_locked():
        return subprocess.run(cmd, check=check, stderr=None if check
                              else subprocess.DEVNULL)


PG = None   # PgDatabases of a PostgreSQL run, set by conftest.py


def pg_literal(value):
    """value as a PostgreSQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'%s'" % str(value).replace("'", "''")


def database_for(directory):
    """The --database of a daemon whose scratch directory is directory."""
    if BACKEND == "sqlite":
        return str(directory / "fu.db")
    if PG is None:
        raise RuntimeError("FU_TEST_BACKEND=postgresql needs the cluster "
                           "that tests/integration/conftest.py starts")
    return PG.uri_for(directory)


def pinned_digest():
    """A digest time twelve hours from the tests' now (UTC, the zone of the
    tests' reps): a test that does not ask for a digest never runs into
    one, whatever the time of day it runs at."""
    return "digest = %s\n" % time.strftime(
        "%H:%M", time.gmtime(time.time() + 12 * 3600))


def clock_offset(seconds):
    """A faketime file's relative offset: seconds from the tests' now."""
    return "%+d\n" % (seconds + CLOCK_SHIFT)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Conn:
    """One raw protocol connection."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX)
        # A blocking connect waits for room in the listen backlog, as the
        # real client does; replies then have a deadline.
        self.sock.connect(path)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.next_id = 0
        self.fds = []       # descriptors that came with replies

    def recv(self):
        """Read what has come, keeping any descriptors passed with it."""
        data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(cdata[:len(cdata) - len(cdata) % 4])
                self.fds += list(fds)
        return data

    def save_copy(self, path):
        """Write the backup copy that came with a reply to path."""
        assert self.fds, "no descriptor came with the reply"
        fd = self.fds.pop(0)
        with os.fdopen(fd, "rb") as src, open(path, "wb") as dst:
            shutil.copyfileobj(src, dst)

    def send(self, data):
        if isinstance(data, dict):
            data = json.dumps(data).encode() + b"\n"
        self.sock.sendall(data)

    def line(self):
        """One reply line as bytes, without the newline; b"" at EOF."""
        while b"\n" not in self.buf:
            chunk = self.recv()
            if not chunk:
                rest, self.buf = self.buf, b""
                return rest
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def reply(self):
        line = self.line()
        assert line, "the daemon closed the connection"
        return json.loads(line)

    def request(self, op, args=None, rid=None):
        if rid is None:
            self.next_id += 1
            rid = self.next_id
        req = {"id": rid, "op": op}
        if args is not None:
            req["args"] = args
        self.send(req)
        return self.reply()

    def call(self, op, **args):
        """Run op; return its result, failing the test on an error."""
        r = self.request(op, args)
        assert r["ok"], r
        return r["result"]

    def error(self, op, **args):
        """Run op expecting an error; return the error object."""
        r = self.request(op, args)
        assert not r["ok"], r
        return r["error"]

    def closed(self, timeout=5):
        """Has the daemon closed this connection?"""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.recv()
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []
        self.sock.close()


class Daemon:
    """The real followupd in a scratch directory."""

    def __init__(self, tmp, config="", home=None, faketime=None, env=None,
                 prefix=None, database=None):
        self.dir = tmp
        self.sock = str(tmp / "s.sock")
        # A database given (a server's, by URL), else the run's: a file
        # in tmp, or on PostgreSQL a database made for tmp.
        self.db = database or database_for(tmp)
        self.log = tmp / "followupd.log"
        self.conf = tmp / "followupd.conf"
        if faketime is None and "digest" not in config:
            config += "\n[reminders]\n" + pinned_digest()
        self.conf.write_text("[daemon]\nlog = stderr\n" + config)
        self.home = home
        self.faketime = faketime
        self.env = env or {}
        self.prefix = prefix or []    # e.g. setpriv --no-new-privs
        self.proc = None

    def start(self, wait=True):
        if REUSE:
            self.sock = REUSE
            return
        env = dict(os.environ, TZ="UTC")
        env.update(self.env)
        if self.home is not None:
            env["HOME"] = str(self.home)
        cmd = [FOLLOWUPD, "-v", "--config", str(self.conf),
               "--socket", self.sock, "--database", self.db]
        if self.faketime is not None:
            env.pop("FAKETIME", None)
            env["LD_PRELOAD"] = FAKETIME_LIB
            if self.faketime.startswith("@"):
                env["FAKETIME"] = self.faketime   # start there, then run
            else:
                env["FAKETIME_TIMESTAMP_FILE"] = self.faketime
                env["FAKETIME_NO_CACHE"] = "1"
            env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + \
                ":verify_asan_link_order=0"
        else:
            cmd = WRAPPER + cmd
        cmd = self.prefix + cmd
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()

    def wait_ready(self):
        deadline = time.time() + (60 if WRAPPER else 10)
        while time.time() < deadline:
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.sock)
                s.close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("followupd exited %d:\n%s" % (
                        self.proc.returncode, self.log.read_text()))
                time.sleep(0.02)
        raise AssertionError("followupd did not start:\n" +
                             self.log.read_text())

    def stop(self):
        """SIGTERM, and the daemon must exit 0 (under valgrind: cleanly)."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(120)
        self.proc = None
        self.logf.close()
        assert rc == 0, "followupd exited %d:\n%s" % (
            rc, self.log.read_text()[-5000:])

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None
        self.logf.close()

    def restart(self):
        self.stop()
        self.start()

    def connect(self, timeout=10):
        return Conn(self.sock, timeout)

    def sql(self, query, params=()):
        """Run query on the daemon's database beside it, as another program
        would (to make state the protocol refuses, or read it back); its
        rows.  ? marks a parameter; the SQL must suit both stores, whose
        tables have the same columns.  On PostgreSQL every value comes back
        as text."""
        if BACKEND == "sqlite":
            db = sqlite3.connect(self.db, timeout=30)
            try:
                with db:
                    return db.execute(query, params).fetchall()
            finally:
                db.close()
        parts = query.split("?")
        assert len(parts) == len(params) + 1, query
        text = parts[0]
        for value, part in zip(params, parts[1:]):
            text += pg_literal(value) + part
        return PG.query(self.dir, text)

    def call(self, op, **args):
        c = self.connect()
        try:
            return c.call(op, **args)
        finally:
            c.close()

    def backup(self, path):
        """A backup written to path as the client writes it; its result."""
        c = self.connect(timeout=300)
        try:
            r = c.call("backup", path=path)
            c.save_copy(path)
            return r
        finally:
            c.close()

    def client(self, *args, input=None, env=None):
        """Run the real followup client: (exit code, stdout, stderr)."""
        e = dict(os.environ, TZ="UTC")
        e.pop("FOLLOWUP_SOCKET", None)
        if env:
            e.update(env)
        p = subprocess.run([FOLLOWUP, "--socket", self.sock] + list(args),
                           input=input, capture_output=True, text=True,
                           env=e, timeout=60)
        return p.returncode, p.stdout, p.stderr
