"""The real followup client against the real daemon: the whole lifecycle,
--json, --help everywhere, and errors. Bad input tried: unknown commands and
options, ids that are not numbers, unknown ids, a daemon that is not
running, a socket that is not a daemon."""

import json
import re
import socket
import subprocess

import pytest

from fu import FOLLOWUP


def ok(daemon, *args):
    rc, out, err = daemon.client(*args)
    assert rc == 0, (args, rc, out, err)
    return out


def js(daemon, *args):
    return json.loads(ok(daemon, "--json", *args))


def test_whole_lifecycle_through_the_client(daemon):
    out = ok(daemon, "contact", "add", "Ada", "Lovelace", "--company",
             "Analytical Engines", "--phone", "+44 20 7946 0001", "--tz",
             "Europe/London")
    assert re.match(r"Added contact (\d+): Ada Lovelace "
                    r"\(Analytical Engines\)", out)
    cid = re.match(r"Added contact (\d+)", out).group(1)
    assert "Ada Lovelace" in ok(daemon, "contact", "list")
    assert "Ada Lovelace" in ok(daemon, "contact", "list", "--search", "engines")
    out = ok(daemon, "log", cid, "call", "--outcome", "reached", "--note",
             "wants the quote", "--next", "2030-01-08 10:00", "--callback",
             "--tz", "contact")
    assert "Logged call" in out and "CALLBACK" in out
    out = ok(daemon, "schedule", cid, "2030-01-09", "15:00", "--reason",
             "send prices")
    fid = re.search(r"Scheduled follow-up (\d+)", out).group(1)
    assert "2030" in out
    listing = ok(daemon, "list")
    assert "send prices" in listing and "CALLBACK" in listing
    show = ok(daemon, "contact", "show", cid)
    assert "wants the quote" in show and "Europe/London" in show
    assert "Snoozed" in ok(daemon, "snooze", fid, "2030-01-10 09:00")
    assert "Rescheduled" in ok(daemon, "reschedule", fid, "2030-01-11 09:00")
    out = ok(daemon, "done", fid, "--note", "sent", "--next",
             "2030-01-20 10:00")
    assert "Done" in out and "Next" in out
    nxt = js(daemon, "list")["followups"][-1]["id"]
    assert "Cancelled" in ok(daemon, "cancel", str(nxt))
    assert "Archived" in ok(daemon, "contact", "archive", cid)
    assert "No contacts." in ok(daemon, "contact", "list")
    assert "Restored" in ok(daemon, "contact", "archive", cid, "--restore")


def test_agenda_lists_overdue_and_due(daemon):
    cid = daemon.call("contact.add", name="Zed")["contact"]["id"]
    daemon.call("followup.add", contact=cid, due="2020-01-01T10:00:00Z",
                force=True, reason="old one")
    daemon.call("followup.add", contact=cid, due="in 10 minutes",
                reason="soon one")
    # The week, so that a run just before midnight still sees it.
    out = ok(daemon, "agenda", "week")
    assert out.index("Overdue") < out.index("old one") < \
        out.index("soon one")
    assert re.search(r"overdue \d+ d", out)
    assert re.search(r"in (9|10) min", out)
    assert js(daemon, "agenda", "week")["overdue"][0]["reason"] == "old one"


def test_empty_agenda_says_so(daemon):
    assert "Nothing due." in ok(daemon, "agenda", "tomorrow")


def test_json_output_equals_the_raw_result(daemon):
    cid = daemon.call("contact.add", name="Json")["contact"]["id"]
    raw = daemon.call("contact.get", id=cid)
    assert js(daemon, "contact", "show", str(cid)) == raw


def test_config_sets_and_shows_settings(daemon):
    assert ok(daemon, "config", "tz", "Europe/Berlin").strip() == \
        "tz = Europe/Berlin"
    assert ok(daemon, "config", "tz").strip() == "Europe/Berlin"
    assert "Europe/Berlin" in ok(daemon, "config")
    ok(daemon, "config", "tz", "")
    assert ok(daemon, "config", "tz").strip() == ""
    rc, out, err = daemon.client("config", "tz", "Mars/Base")
    assert rc == 1 and "unknown time zone" in err
    rc, out, err = daemon.client("config", "colour", "blue")
    assert rc == 2


def test_times_are_shown_in_the_readers_zone(daemon):
    cid = daemon.call("contact.add", name="Zone")["contact"]["id"]
    daemon.call("followup.add", contact=cid, due="2030-06-03T08:00:00Z")
    assert "Mon 03 Jun 2030 08:00" in ok(daemon, "list")
    ok(daemon, "config", "tz", "Asia/Tokyo")
    assert "Mon 03 Jun 2030 17:00" in ok(daemon, "list")


def test_status_shows_counts(daemon):
    out = ok(daemon, "status")
    assert "followupd" in out and "0 contacts" in out


def test_status_shows_an_admin_the_store_and_its_nodes(daemon):
    store = daemon.call("status")["store"]
    assert store["schema"] >= 1
    if store["backend"] == "sqlite":
        # A file has one node: this daemon, and no server.
        assert store["server_version"] is None
        assert [n["pid"] for n in store["nodes"]] == [daemon.proc.pid]
    assert len(store["nodes"]) >= 1
    out = ok(daemon, "status")
    assert re.search(r"^  store      %s.*, schema %d, %d live nodes?$" % (
        store["backend"], store["schema"], len(store["nodes"])), out,
        re.M), out


COMMANDS = ["status", "contact", "log", "schedule", "agenda", "list", "show",
            "done", "snooze", "reschedule", "cancel", "config", "watch"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(cmd):
    p = subprocess.run([FOLLOWUP, cmd, "--help"], capture_output=True,
                       text=True)
    assert p.returncode == 0 and p.stdout.startswith("usage: followup " + cmd)


def test_top_level_help_lists_every_command():
    p = subprocess.run([FOLLOWUP, "--help"], capture_output=True, text=True)
    assert p.returncode == 0
    for cmd in COMMANDS:
        assert re.search(r"^  %s( |$)" % cmd, p.stdout, re.M), cmd


@pytest.mark.parametrize("args", [
    ["frobnicate"],
    ["schedule", "abc", "tomorrow"],
    ["schedule", "1"],
    ["done"],
    ["done", "-3"],
    ["contact"],
    ["contact", "fly"],
    ["list", "--bogus"],
    ["log", "1", "call", "--callback"],
])
def test_usage_errors_exit_2(daemon, args):
    rc, out, err = daemon.client(*args)
    assert rc == 2 and err


def test_daemon_errors_exit_1_with_the_message(daemon):
    rc, out, err = daemon.client("show", "999")
    assert rc == 1 and "follow-up 999 does not exist" in err
    cid = daemon.call("contact.add", name="Bad dates")["contact"]["id"]
    rc, out, err = daemon.client("schedule", str(cid), "2026-02-30")
    assert rc == 1 and "2026-02-30" in err
    rc, out, err = daemon.client("--json", "show", "999")
    assert rc == 1 and json.loads(err)["code"] == "not_found"


def test_no_daemon_exits_3_and_says_how_to_start_it(tmp_path):
    p = subprocess.run([FOLLOWUP, "--socket", str(tmp_path / "none.sock"),
                        "status"], capture_output=True, text=True)
    assert p.returncode == 3
    assert "not running" in p.stderr and "followupd" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1


def test_a_socket_that_is_not_followupd_exits_3(tmp_path):
    path = str(tmp_path / "fake.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen(1)
    p = subprocess.Popen([FOLLOWUP, "--socket", path, "status"],
                         stderr=subprocess.PIPE, text=True)
    c, _ = srv.accept()
    c.recv(4096)
    c.sendall(b'{"id": 1, "ok": true, "result": {"protocol": 99}}\n'
              b'{"id": 2, "ok": true, "result": {}}\n')
    err = p.communicate(timeout=10)[1]
    c.close()
    srv.close()
    assert p.returncode == 3 and "protocol 99" in err


def test_socket_found_through_the_environment(daemon):
    p = subprocess.run([FOLLOWUP, "status"], capture_output=True, text=True,
                       env={"FOLLOWUP_SOCKET": daemon.sock, "TZ": "UTC"})
    assert p.returncode == 0 and "followupd" in p.stdout
