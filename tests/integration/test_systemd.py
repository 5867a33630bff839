"""followupd as a systemd service: what make install places, the units as
systemd-analyze reads them, the sysusers/tmpfiles snippets applied to a
scratch root, socket activation through systemd-socket-activate, the
sd_notify messages on a test NOTIFY_SOCKET (STATUS= with counts that follow
records and connections, rate-limited, and no delivery error text), and
the bash completion.

Bad input tried: a config file with errors on two lines (--check-config
names the first, by line), SIGHUP with a broken config (the old one
stays, READY follows RELOADING anyway).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from fu import FOLLOWUP, FOLLOWUPD, SRCDIR, WRAPPER, Conn

BUILDDIR = os.environ.get("FU_BUILDDIR",
                          os.path.dirname(os.path.dirname(FOLLOWUPD)))


def have(prog):
    return shutil.which(prog) is not None


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """make install into a scratch prefix, every directory under it."""
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        pytest.skip("no build directory to install from")
    root = tmp_path_factory.mktemp("inst")
    dirs = {
        "prefix": root / "usr",
        "localstatedir": "/var",
        "sysconfdir": root / "etc",
        "systemdsystemunitdir": root / "lib/systemd/system",
        "systemduserunitdir": root / "usr/lib/systemd/user",
        "sysusersdir": root / "usr/lib/sysusers.d",
        "tmpfilesdir": root / "usr/lib/tmpfiles.d",
        "bashcompletiondir": root / "usr/share/bash-completion/completions",
    }
    subprocess.run(["make", "-s", "-C", BUILDDIR, "install"] +
                   ["%s=%s" % kv for kv in dirs.items()], check=True,
                   stdout=subprocess.DEVNULL)
    return root


def test_install_places_every_part(installed):
    r = installed
    for path in ("usr/bin/followup", "usr/sbin/followupd",
                 "usr/libexec/followup/followup-mail",
                 "etc/followupd.conf",
                 "lib/systemd/system/followupd.service",
                 "lib/systemd/system/followupd.socket",
                 "usr/lib/systemd/user/followupd.service",
                 "usr/lib/systemd/user/followupd.socket",
                 "usr/lib/sysusers.d/followupd.conf",
                 "usr/lib/tmpfiles.d/followupd.conf",
                 "usr/share/bash-completion/completions/followup",
                 "usr/share/man/man1/followup.1",
                 "usr/share/man/man8/followupd.8",
                 "usr/share/man/man8/followup-mail.8",
                 "usr/share/man/man5/followupd.conf.5",
                 "usr/share/man/man7/followup-protocol.7"):
        assert (r / path).exists(), path
    assert os.access(r / "usr/sbin/followupd", os.X_OK)
    unit = (r / "lib/systemd/system/followupd.service").read_text()
    # The units name the installed programs, not build paths.
    assert "ExecStart=%s/usr/sbin/followupd" % r in unit
    assert not re.search(r"@[a-z_]+@", unit), unit
    # The installed example configuration is accepted as it is.
    out = subprocess.run([str(r / "usr/sbin/followupd"), "--check-config",
                          "--config", str(r / "etc/followupd.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_install_keeps_an_admins_configuration(installed):
    conf = installed / "etc/followupd.conf"
    conf.write_text("[reminders]\nlead = 5m\n")
    subprocess.run(["make", "-s", "-C", BUILDDIR, "install-data-local",
                    "sysconfdir=%s" % (installed / "etc")], check=True,
                   stdout=subprocess.DEVNULL)
    assert conf.read_text() == "[reminders]\nlead = 5m\n"


@pytest.mark.skipif(not have("systemd-analyze"), reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify(installed):
    units = [str(installed / "lib/systemd/system" / u)
             for u in ("followupd.socket", "followupd.service")]
    out = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units,
                         capture_output=True, text=True)
    # verify can exit 0 while printing problems: read what it says.
    text = (out.stdout + out.stderr).strip()
    lines = [l for l in text.splitlines()
             if "followupd" in l or "Unknown" in l or "rror" in l]
    assert out.returncode == 0 and not lines, text


@pytest.mark.skipif(not have("systemd-analyze"), reason="no systemd-analyze")
def test_user_units_pass_systemd_analyze_verify(installed):
    units = [str(installed / "usr/lib/systemd/user" / u)
             for u in ("followupd.socket", "followupd.service")]
    out = subprocess.run(["systemd-analyze", "--user", "verify", "--man=no"]
                         + units, capture_output=True, text=True,
                         env=dict(os.environ, XDG_RUNTIME_DIR="/run/user/0"))
    text = (out.stdout + out.stderr).strip()
    lines = [l for l in text.splitlines()
             if "followupd" in l and "sysinit" not in l]
    assert not lines, text


@pytest.mark.skipif(not have("systemd-analyze"), reason="no systemd-analyze")
def test_service_is_hardened(installed):
    unit = str(installed / "lib/systemd/system/followupd.service")
    out = subprocess.run(["systemd-analyze", "security", "--offline=true",
                          "--no-pager", unit],
                         capture_output=True, text=True)
    m = re.search(r"Overall exposure level for followupd.service: "
                  r"([0-9.]+)", out.stdout)
    assert m, out.stdout + out.stderr
    print("systemd-analyze security: exposure %s" % m.group(1))
    # What remains open is what the daemon needs: loopback SMTP for the
    # mail hook, and the real uids of its callers (no PrivateUsers).
    assert float(m.group(1)) <= 1.5, out.stdout
    text = open(unit).read()
    for opt in ("NoNewPrivileges=yes", "ProtectSystem=strict",
                "CapabilityBoundingSet=\n", "WatchdogSec=",
                "Type=notify", "Restart=on-failure", "User=followupd",
                "StateDirectory=followupd", "IPAddressAllow=localhost"):
        assert opt in text, opt


@pytest.mark.skipif(not have("systemd-sysusers") or
                    not have("systemd-tmpfiles"),
                    reason="no systemd-sysusers/tmpfiles")
def test_sysusers_and_tmpfiles_make_the_user_and_directories(installed,
                                                            tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for f in ("passwd", "group", "shadow", "gshadow"):
        (root / "etc" / f).write_text("")
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc/group").write_text("root:x:0:\n")
    out = subprocess.run(["systemd-sysusers", "--root", str(root),
                          str(installed / "usr/lib/sysusers.d/followupd.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    passwd = (root / "etc/passwd").read_text()
    group = (root / "etc/group").read_text()
    assert re.search(r"^followupd:x:\d+:\d+:followup service:/var/lib/"
                     r"followupd:/usr/sbin/nologin$", passwd, re.M), passwd
    assert re.search(r"^followup:x:\d+:", group, re.M), group
    uid = int(re.search(r"^followupd:x:(\d+):", passwd, re.M).group(1))
    assert uid < 1000   # a system account: it uses the system paths

    out = subprocess.run(["systemd-tmpfiles", "--root", str(root),
                          "--create",
                          str(installed / "usr/lib/tmpfiles.d/followupd.conf")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for d in ("var/lib/followupd", "var/lib/followupd/backups"):
        st = os.stat(root / d)
        assert st.st_mode & 0o777 == 0o700, d
        assert st.st_uid == uid, d


def test_default_prefix_install_keeps_state_where_the_unit_does(tmp_path):
    """Installed with the configured prefix (/usr/local unless told), the
    user's home, the tmpfiles directories and the unit's StateDirectory=
    are one place: /var/lib/followupd, the only one the sandbox lets the
    daemon write."""
    if not os.path.exists(os.path.join(BUILDDIR, "Makefile")):
        pytest.skip("no build directory to install from")
    dest = tmp_path / "dest"
    subprocess.run(["make", "-s", "-C", BUILDDIR, "install",
                    "DESTDIR=%s" % dest], check=True,
                   stdout=subprocess.DEVNULL)
    found = {}
    for top, dirs, files in os.walk(dest):
        for f in files:
            kind = os.path.basename(top)
            if f in ("followupd.conf", "followupd.service") and kind in (
                    "sysusers.d", "tmpfiles.d", "system"):
                found[kind] = open(os.path.join(top, f)).read()
    assert set(found) == {"sysusers.d", "tmpfiles.d", "system"}, found
    assert "StateDirectory=followupd\n" in found["system"]
    assert re.search(r'^u followupd - "followup service" /var/lib/followupd '
                     r'/usr/sbin/nologin$', found["sysusers.d"], re.M), \
        found["sysusers.d"]
    dirs = re.findall(r"^d (\S+) ", found["tmpfiles.d"], re.M)
    assert dirs == ["/var/lib/followupd", "/var/lib/followupd/backups"], \
        found["tmpfiles.d"]


def run_until_ready(cmd, env, sock, log):
    proc = subprocess.Popen(cmd, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.time() + (60 if WRAPPER else 10)
    while not os.path.exists(sock):
        assert proc.poll() is None and time.time() < deadline, \
            "followupd did not start"
        time.sleep(0.02)
    return proc


@pytest.mark.parametrize("configured", [False, True])
def test_database_goes_in_systemds_state_directory(tmp_path, configured):
    """StateDirectory= sets $STATE_DIRECTORY (several, colon-separated,
    when the unit names several): with no database configured the daemon
    keeps it in the first, whatever it was built with; a configured one
    still wins."""
    state = tmp_path / "state"
    other = tmp_path / "other"
    conf = tmp_path / "c.conf"
    mine = tmp_path / "mine" / "fu.db"
    conf.write_text("[daemon]\nlog = stderr\n" +
                    ("database = %s\n" % mine if configured else ""))
    sock = str(tmp_path / "s.sock")
    env = dict(os.environ, TZ="UTC",
               STATE_DIRECTORY="%s/:%s" % (state, other))
    log = open(tmp_path / "d.log", "wb")
    proc = run_until_ready(WRAPPER + [FOLLOWUPD, "--config", str(conf),
                                      "--socket", sock], env, sock, log)
    try:
        out = subprocess.run([FOLLOWUP, "--socket", sock, "contact", "add",
                              "Kept Here"], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        log.close()
    text = (tmp_path / "d.log").read_text()
    want = mine if configured else state / "followup.db"
    assert want.exists(), text
    assert "database %s" % want in text, text
    assert not other.exists()
    if configured:
        assert not state.exists()


@pytest.mark.skipif(not have("systemd-socket-activate"),
                    reason="no systemd-socket-activate")
def test_socket_activation_starts_the_daemon_on_first_connection(tmp_path):
    sock = str(tmp_path / "a.sock")
    db = tmp_path / "fu.db"
    conf = tmp_path / "c.conf"
    conf.write_text("[daemon]\nlog = stderr\n")
    log = open(tmp_path / "d.log", "wb")
    proc = subprocess.Popen(["systemd-socket-activate", "-l", sock] +
                            WRAPPER + [FOLLOWUPD, "-v", "--config",
                                       str(conf), "--database", str(db)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 10
        while not os.path.exists(sock) and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.2)
        assert not db.exists(), "the daemon started before any client"
        out = subprocess.run([FOLLOWUP, "--socket", sock, "--json",
                              "status"], capture_output=True, text=True,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        assert '"socket": "%s"' % sock in out.stdout
        assert db.exists()
        assert "using the socket systemd passed" in \
            (tmp_path / "d.log").read_text()
        out = subprocess.run([FOLLOWUP, "--socket", sock, "contact", "add",
                              "Ana"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        log.close()
    # Handed over by systemd, the socket is systemd's to remove.
    assert os.path.exists(sock)


class Notify:
    """A NOTIFY_SOCKET that records each message with its arrival time."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []

    def read(self, until, stop=None):
        """Collect messages until the deadline or a message stop holds."""
        while time.time() < until:
            self.sock.settimeout(max(0.01, until - time.time()))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                break
            self.msgs.append((time.time(), data))
            if stop is not None and stop(data):
                return data
        return None

    def has(self, prefix):
        return [t for t, m in self.msgs
                for line in m.split("\n") if line.startswith(prefix)]


def test_sd_notify_ready_status_watchdog_reloading_stopping(tmp_path):
    n = Notify(str(tmp_path / "notify"))
    conf = tmp_path / "c.conf"
    # A hook that fails, saying the rep's address, as a relay would.
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\ncat > /dev/null\n"
                    "echo \"relay refused <$FOLLOWUP_REP_EMAIL>\" >&2\n"
                    "exit 75\n")
    hook.chmod(0o755)
    conf.write_text("[daemon]\nlog = stderr\n[reminders]\nhook = %s\n"
                    "hook_retry = 60s\n" % hook)
    env = dict(os.environ, NOTIFY_SOCKET=n.path, WATCHDOG_USEC="600000",
               TZ="UTC")
    log = open(tmp_path / "d.log", "wb")
    proc = subprocess.Popen(WRAPPER + [FOLLOWUPD, "--config", str(conf),
                                       "--socket", str(tmp_path / "s.sock"),
                                       "--database", str(tmp_path / "fu.db")],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert n.read(time.time() + 60, lambda m: "READY=1" in m), \
            (tmp_path / "d.log").read_text()
        n.read(time.time() + 3)
        assert n.has("STATUS="), n.msgs
        status = [m for _, m in n.msgs if m.startswith("STATUS=")][-1]
        assert re.search(r"next wake-up .*; \d+ deliveries waiting", status)
        # Counts an admin can read, and the wake-up as a clock reads it.
        assert status.startswith("STATUS=0 reps, 0 contacts, 0 pending "
                                 "follow-ups; 0 connections; "), status
        assert re.search(r"next wake-up (\d\d:\d\d:\d\d|\w{3} \d\d \w{3} "
                         r"\d\d:\d\d) UTC;", status), status
        pings = n.has("WATCHDOG=1")
        # Pinged at half the watchdog interval: never a gap near 600 ms.
        assert len(pings) >= 4, n.msgs
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        assert max(gaps) < 0.6, gaps

        def statuses():
            return [m[len("STATUS="):] for _, m in n.msgs
                    if m.startswith("STATUS=")]

        def wait_status(text):
            n.read(time.time() + 10,
                   lambda m: m.startswith("STATUS=") and text in m)
            assert any(text in m for m in statuses()), statuses()

        # The counts follow the records and the connections as they come
        # and go, not only when the schedule changes.
        c = Conn(str(tmp_path / "s.sock"))
        wait_status("0 pending follow-ups; 1 connection;")
        c.call("user.set", email="ana.secret@example.com")
        cid = c.call("contact.add", name="Ana")["contact"]["id"]
        c.call("contact.add", name="Ben")
        c.call("followup.add", contact=cid, due="in 2 seconds",
               remind_before=0)
        wait_status("1 rep, 2 contacts, 1 pending follow-up; 1 connection;")
        c.close()
        wait_status("1 rep, 2 contacts, 1 pending follow-up; 0 connections;")
        # A burst of connections does not flood systemd: at most one line
        # a second.
        n.msgs.clear()
        t0 = time.time()
        conns = []
        for _ in range(30):
            conns.append(Conn(str(tmp_path / "s.sock")))
            n.read(time.time() + 0.05)
        n.read(t0 + 3)
        sent = [t for t, m in n.msgs if m.startswith("STATUS=")]
        assert 1 <= len(sent) <= 4, statuses()
        gaps = [b - a for a, b in zip(sent, sent[1:])]
        assert not gaps or min(gaps) > 0.8, gaps
        assert "; 30 connections;" in statuses()[-1], statuses()
        for x in conns:
            x.close()
        wait_status("; 0 connections;")
        # A failing delivery shows as a count; its text (which names the
        # rep's address) stays out of what any local user can read.
        wait_status("1 failing, see the journal")
        assert "relay refused" in (tmp_path / "d.log").read_text()
        for m in statuses():
            assert "@" not in m and "relay" not in m, m

        n.msgs.clear()
        proc.send_signal(signal.SIGHUP)
        assert n.read(time.time() + 30, lambda m: "READY=1" in m)
        kinds = [m.split("\n")[0] for _, m in n.msgs
                 if not m.startswith("WATCHDOG") and
                 not m.startswith("STATUS")]
        assert kinds[0] == "RELOADING=1" and kinds[-1] == "READY=1", kinds
        assert "MONOTONIC_USEC=" in [m for _, m in n.msgs
                                     if m.startswith("RELOADING")][0]

        # A broken file: the reload fails, the daemon stays ready.
        conf.write_text("[daemon]\nlog = stderr\nbogus = 1\n")
        n.msgs.clear()
        proc.send_signal(signal.SIGHUP)
        assert n.read(time.time() + 30, lambda m: "READY=1" in m)
        assert proc.poll() is None

        n.msgs.clear()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        n.read(time.time() + 1)
        assert n.has("STOPPING=1"), n.msgs
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        n.sock.close()
    assert "reload failed" in (tmp_path / "d.log").read_text()


def test_check_config_names_the_first_bad_line(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text("[daemon]\nlog = stderr\n\n[reminders]\nlead = soon\n"
                    "digest = 25:00\n")
    out = subprocess.run([FOLLOWUPD, "--check-config", "--config",
                          str(conf)], capture_output=True, text=True)
    assert out.returncode == 1
    assert "%s:5:" % conf in out.stderr and "lead" in out.stderr


@pytest.mark.skipif(not os.path.exists(
    "/usr/share/bash-completion/bash_completion"),
    reason="no bash-completion")
def test_bash_completion_offers_commands_and_subcommands():
    script = os.path.join(SRCDIR, "completions", "followup")

    def complete(line):
        words = line.split(" ")
        prog = ("source /usr/share/bash-completion/bash_completion\n"
                "source %s\n"
                "COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=%r; "
                "COMP_POINT=${#COMP_LINE}\n"
                "_followup followup\n"
                'printf "%%s\\n" "${COMPREPLY[@]}"\n') % (
                    script, " ".join("'%s'" % w for w in words),
                    len(words) - 1, line)
        out = subprocess.run(["bash", "-c", prog], capture_output=True,
                             text=True, env=dict(os.environ,
                                                 FOLLOWUP_SOCKET="/nonexistent"))
        return set(out.stdout.split())

    assert {"doctor", "done"} <= complete("followup do")
    assert complete("followup con") == {"contact", "config", "confirm"}
    assert "reassign" in complete("followup contact re")
    assert complete("followup contact list --a") == {"--archived", "--after",
                                                     "--all"}
    assert complete("followup log 3 vo") == {"voicemail"}
    assert complete("followup --j") == {"--json"}
