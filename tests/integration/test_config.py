"""Configuration at run time: SIGHUP reloads without dropping connections,
a broken file on reload keeps the old configuration, and a missing
--config file stops the start with one clear sentence."""

import signal
import subprocess
import time

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
