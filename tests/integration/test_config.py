"""Configuration at run time: SIGHUP reloads without dropping connections,
a broken file on reload keeps the old configuration, and a missing
--config file stops the start with one clear sentence.  The file itself:
long lines (a hook command of kilobytes) are read and errors name the
real line, a directory is no configuration, and a hook whose program
cannot run fails --check-config and is warned of at start and reload."""

import os
import signal
import subprocess
import time

import pytest

from fu import FOLLOWUPD


def test_sighup_reloads_without_dropping_connections(make_daemon):
    d = make_daemon("[reminders]\nlead = 15m\n")
    c = d.connect()
    cid = c.call("contact.add", name="Reload")["contact"]["id"]
    f = c.call("followup.add", contact=cid, due="2030-01-01T10:00:00Z")
    assert f["followup"]["remind_at"] == "2030-01-01T09:45:00Z"
    d.conf.write_text("[daemon]\nlog = stderr\n[reminders]\nlead = 1h\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "configuration reloaded" not in d.log.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    f = c.call("followup.add", contact=cid, due="2030-01-01T10:00:00Z")
    assert f["followup"]["remind_at"] == "2030-01-01T09:00:00Z"
    c.close()


def test_broken_file_on_reload_keeps_the_old_configuration(make_daemon):
    d = make_daemon("[reminders]\nlead = 5m\n")
    d.conf.write_text("[reminders]\nlead = whenever\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "keeping the old configuration" not in d.log.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    c = d.connect()
    cid = c.call("contact.add", name="Old")["contact"]["id"]
    f = c.call("followup.add", contact=cid, due="2030-01-01T10:00:00Z")
    assert f["followup"]["remind_at"] == "2030-01-01T09:55:00Z"
    c.close()


def test_missing_config_file_stops_the_start(tmp_path):
    p = subprocess.run([FOLLOWUPD, "--config", str(tmp_path / "nope.conf"),
                        "--socket", str(tmp_path / "s"), "--database",
                        str(tmp_path / "db")], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1
    assert "nope.conf" in p.stderr and "No such file" in p.stderr


def check_config(path):
    return subprocess.run([FOLLOWUPD, "--check-config", "--config",
                           str(path)], capture_output=True, text=True,
                          timeout=30)


def test_long_lines_are_read_and_errors_name_the_real_line(tmp_path):
    # A 5 KiB hook command and a 300-byte comment: lines the file may hold.
    hook = "/bin/true " + " ".join("--arg%d=%s" % (i, "x" * 40)
                                    for i in range(120))
    assert len(hook) > 4096
    conf = tmp_path / "long.conf"
    conf.write_text("# " + "c" * 300 + "\n[reminders]\nhook = %s\n" % hook)
    p = check_config(conf)
    assert p.returncode == 0, p.stderr
    # An error after a long line names its own line, not a line the file
    # does not have.
    conf.write_text("# " + "c" * 300 + "\n[reminders]\nlead = soon\n")
    p = check_config(conf)
    assert p.returncode == 1
    assert "long.conf:3:" in p.stderr and "lead" in p.stderr, p.stderr
    conf.write_text("[reminders]\n# " + "c" * 300 + "\nfrob = 1\n")
    p = check_config(conf)
    assert p.returncode == 1
    assert "long.conf:3:" in p.stderr and "frob" in p.stderr, p.stderr


def test_a_folded_value_continues_on_indented_lines(tmp_path):
    conf = tmp_path / "fold.conf"
    conf.write_text("[reminders]\nhook = /bin/true --one\n    --two ; why\n"
                    "lead = 15m ; a comment\n\n  [stages]\n"
                    "open = lead\n\tcontacted\nclosed = won lost\n"
                    "digest = soon\n")
    p = check_config(conf)
    # [stages] has no digest: the error is on line 10, after the folds.
    assert p.returncode == 1
    assert "fold.conf:10:" in p.stderr and "digest" in p.stderr, p.stderr
    conf.write_text("[stages]\nopen = lead\n  contacted\nclosed = won\n"
                    "  contacted\n")
    p = check_config(conf)
    # Folded, "contacted" is in both lists, which only the whole values
    # can show.
    assert p.returncode == 1 and '"contacted" is both' in p.stderr, p.stderr


def test_a_longer_than_allowed_line_is_refused_by_number(tmp_path):
    conf = tmp_path / "huge.conf"
    conf.write_text("[reminders]\n# short\nhook = /bin/true %s\n" %
                    ("y" * 70000))
    p = check_config(conf)
    assert p.returncode == 1
    assert "huge.conf:3:" in p.stderr and "longer than" in p.stderr


def test_a_directory_as_the_configuration_is_refused(tmp_path, make_daemon):
    p = check_config(tmp_path)
    assert p.returncode == 1
    assert str(tmp_path) in p.stderr and "directory" in p.stderr, p.stderr
    assert "ok" not in p.stdout
    p = subprocess.run([FOLLOWUPD, "--config", str(tmp_path), "--socket",
                        str(tmp_path / "s"), "--database",
                        str(tmp_path / "db")], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1 and "directory" in p.stderr, p.stderr


def test_dev_null_as_the_configuration_means_the_defaults(tmp_path):
    p = subprocess.run([FOLLOWUPD, "--config", "/dev/null", "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr


@pytest.mark.parametrize("hook, why", [
    ("/nonexistent/followup-hook --x", "/nonexistent/followup-hook: No such"),
    ("no-such-followup-hook-program --x",
     "no-such-followup-hook-program is not found in PATH"),
    ("{noexec} --x", "{noexec} is not executable"),
    ("{dir}", "{dir} is not a program file"),
])
def test_check_config_fails_on_a_hook_that_cannot_run(tmp_path, hook, why):
    noexec = tmp_path / "noexec"
    noexec.write_text("#!/bin/sh\nexit 0\n")
    noexec.chmod(0o644)
    d = tmp_path / "adir"
    d.mkdir()
    hook = hook.format(noexec=noexec, dir=d)
    why = why.format(noexec=noexec, dir=d)
    conf = tmp_path / "h.conf"
    conf.write_text("[reminders]\nhook = /bin/true\nhook = %s\n" % hook)
    p = check_config(conf)
    assert p.returncode == 1, p.stdout
    assert "hook 2 cannot run" in p.stderr and why in p.stderr, p.stderr
    assert p.stderr.count("\n") == 1, p.stderr
    # A program found through PATH, as the daemon would run it, is fine.
    conf.write_text("[reminders]\nhook = true --x\n")
    p = check_config(conf)
    assert p.returncode == 0, p.stderr


def test_start_and_reload_warn_of_a_hook_that_cannot_run(make_daemon):
    d = make_daemon("[reminders]\nhook = /nonexistent/start-hook\n")
    assert "hook 1 cannot run" in d.log.read_text()
    assert "/nonexistent/start-hook" in d.log.read_text()
    d.conf.write_text("[daemon]\nlog = stderr\n[reminders]\n"
                      "hook = /bin/true\nhook = /nonexistent/reload-hook\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "/nonexistent/reload-hook" not in d.log.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    assert "hook 2 cannot run" in d.log.read_text()
    # It warned, and it still serves.
    c = d.connect()
    assert c.call("hello")["server"] == "followupd"
    c.close()


NO_PG = "this followupd was built without the PostgreSQL backend"


def built_with_postgresql():
    config = os.path.join(os.environ.get("FU_BUILDDIR", "."), "config.h")
    try:
        with open(config) as f:
            return "#define HAVE_POSTGRESQL 1" in f.read()
    except OSError:
        return False


@pytest.mark.parametrize("url", [
    "postgresql://rep:secret@db.invalid/followup",
    "postgres://db.invalid/followup",
    "host=db.invalid dbname=followup",
])
def test_a_database_url_is_never_taken_for_a_file(tmp_path, url):
    """Without libpq every use of a URL is refused as such; with it the
    configuration is good and the start fails on the server that is not
    there.  Either way no file is made and no password shown."""
    pg = built_with_postgresql()
    conf = tmp_path / "f.conf"
    conf.write_text("[daemon]\ndatabase = %s\n" % url)
    p = check_config(conf)
    if pg:
        assert p.returncode == 0, p.stderr
    else:
        assert p.returncode == 1 and NO_PG in p.stderr, p.stderr
    assert "secret" not in p.stderr
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", "/dev/null",
                        "--database", url], capture_output=True, text=True,
                       timeout=30, cwd=tmp_path)
    if not pg:
        assert p.returncode == 1 and NO_PG in p.stderr, p.stderr
    p = subprocess.run([FOLLOWUPD, "--config", "/dev/null", "--socket",
                        str(tmp_path / "s"), "--database", url],
                       capture_output=True, text=True, timeout=30,
                       cwd=tmp_path, env=dict(os.environ,
                                              PGCONNECT_TIMEOUT="5"))
    want = "cannot connect to the PostgreSQL database" if pg else NO_PG
    assert p.returncode == 1 and want in p.stderr, p.stderr
    assert "secret" not in p.stderr
    # Nothing was made in the working directory: no file "postgresql:".
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.conf"]


def test_an_unknown_database_scheme_is_refused(tmp_path):
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", "/dev/null",
                        "--database", "mysql://db/followup"],
                       capture_output=True, text=True, timeout=30,
                       cwd=tmp_path)
    assert p.returncode == 1 and "no known backend" in p.stderr, p.stderr
    assert list(tmp_path.iterdir()) == []
