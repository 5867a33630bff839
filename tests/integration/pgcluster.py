# SPDX-License-Identifier: ISC
# Copyright (c) 2026 The followup authors
"""A throwaway PostgreSQL cluster for the tests.

initdb and pg_ctl in a temporary directory: the server listens on a Unix
socket in that directory and on a free loopback port, with fsync on (the
tests check durability), and is stopped and removed at the end.  Run as
root, the cluster belongs to an unprivileged user made for it, since
PostgreSQL refuses to run as root.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

from fu import accounts_locked

PG_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]
PG_USER = "fu-pgtest"


def pg_bin():
    """The directory holding initdb and pg_ctl, or None."""
    for d in PG_BIN_DIRS:
        if os.access(os.path.join(d, "initdb"), os.X_OK) and \
                os.access(os.path.join(d, "pg_ctl"), os.X_OK):
            return d
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _owner():
    """(uid, gid, name) the cluster runs as: ourselves, or a made user."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return pw.pw_uid, pw.pw_gid, pw.pw_name
    with accounts_locked():
        try:
            pw = pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(["useradd", "-M", "-r", "-s", "/usr/sbin/nologin",
                            "-d", "/nonexistent", PG_USER], check=True)
            pw = pwd.getpwnam(PG_USER)
    return pw.pw_uid, pw.pw_gid, pw.pw_name


class ToolError(subprocess.CalledProcessError):
    """A PostgreSQL tool failed; its message says what it printed."""

    def __str__(self):
        return "%s: %s" % (super().__str__(), (self.stderr or "").strip())


class Cluster:
    """A running cluster; .uri(dbname) gives a libpq URI to it."""

    def __init__(self):
        self._dirs(_owner())
        self._run([os.path.join(self.bin, "initdb"), "-D", self.data,
                   "-U", "postgres", "-A", "trust", "-E", "UTF8",
                   "--locale", "C", "--no-instructions"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = '127.0.0.1'\n"
                    "fsync = on\nsynchronous_commit = on\n"
                    "max_connections = 200\n")
        self._listen()
        self.start()

    def _dirs(self, owner):
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL's initdb and pg_ctl are missing")
        self.uid, self.gid, self.user = owner
        self.dir = tempfile.mkdtemp(prefix="fu-pg.")
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        os.chown(self.dir, self.uid, self.gid)
        os.chown(self.sock, self.uid, self.gid)
        self.port = free_port()
        self.log = os.path.join(self.dir, "server.log")

    def _listen(self):
        """Its own port and socket directory (a later line wins)."""
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("port = %d\nunix_socket_directories = '%s'\n" % (
                self.port, self.sock))

    def _run(self, argv, check=True):
        def drop():
            os.setgid(self.gid)
            os.setuid(self.uid)
        r = subprocess.run(
            argv, capture_output=True, text=True,
            preexec_fn=drop if os.geteuid() == 0 else None,
            env=dict(os.environ, LC_ALL="C"))
        if check and r.returncode != 0:
            raise ToolError(r.returncode, argv, r.stdout, r.stderr)
        return r

    def ctl(self, *args):
        return self._run([os.path.join(self.bin, "pg_ctl"), "-D",
                          self.data, "-l", self.log, "-w", "-t", "60"] +
                         list(args))

    def start(self):
        self.ctl("start")

    def stop(self, mode="fast"):
        self.ctl("stop", "-m", mode)

    def restart(self):
        self.ctl("restart", "-m", "fast")

    def psql(self, sql, dbname="postgres"):
        """Run sql; return its output, rows as lines, fields by '|'."""
        r = self._run([os.path.join(self.bin, "psql"), "-X", "-q", "-A",
                       "-t", "-v", "ON_ERROR_STOP=1", "-h", self.sock,
                       "-p", str(self.port), "-U", "postgres", "-d",
                       dbname, "-c", sql])
        return r.stdout.strip()

    def createdb(self, name):
        """A new, empty database for one test."""
        self.psql('CREATE DATABASE "%s"' % name)
        return self.uri(name)

    def uri(self, dbname):
        return "postgresql:///%s?host=%s&port=%d&user=postgres" % (
            dbname, self.sock, self.port)

    def close(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Standby(Cluster):
    """A streaming standby of primary (pg_basebackup): it answers reads
    only, until promote() makes it a server that writes."""

    def __init__(self, primary):
        self._dirs((primary.uid, primary.gid, primary.user))
        self._run([os.path.join(self.bin, "pg_basebackup"), "-D",
                   self.data, "-R", "-X", "stream", "-c", "fast",
                   "-h", primary.sock, "-p", str(primary.port),
                   "-U", "postgres"])
        self._listen()
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\n")     # its socket only
        self.start()

    def promote(self):
        self.ctl("promote")


def wait_ready(cluster, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        try:
            cluster.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def built_with_postgresql():
    """Whether the followupd under test was built with libpq."""
    config = os.path.join(os.environ.get("FU_BUILDDIR", "."), "config.h")
    try:
        with open(config) as f:
            return "#define HAVE_POSTGRESQL 1" in f.read()
    except OSError:
        return False


def module_cluster():
    """A test module's cluster fixture: skipped, saying why, without
    PostgreSQL or a followupd built with libpq; removed at the end."""
    import pytest
    if pg_bin() is None:
        pytest.skip("PostgreSQL's initdb and pg_ctl are not installed")
    if not built_with_postgresql():
        pytest.skip("followupd was built without libpq")
    c = Cluster()
    try:
        yield c
    finally:
        c.close()
