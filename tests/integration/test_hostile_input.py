"""Hostile and broken input. Tried here: broken JSON, a JSON array, a bare
number, an unknown op, a missing op, an op that is not a string, args that
are not an object, unknown top-level keys, a missing required argument, a
wrongly typed argument, an unknown argument, duplicate keys, unknown and
another user's-looking ids (huge, negative, zero), impossible dates,
invalid UTF-8, NUL bytes (raw and escaped), control characters in names,
over-long fields, a date expression of 10 kB, deep nesting. Each gets a
clear error with the right code and the connection stays usable."""

import json
import os
import time

import pytest


def usable(conn):
    assert conn.request("hello")["ok"]


@pytest.mark.parametrize("line, code", [
    (b"{not json", "bad_request"),
    (b"[1, 2, 3]", "bad_request"),
    (b"42", "bad_request"),
    (b'"hello"', "bad_request"),
    (b'{"id": 1}', "bad_request"),
    (b'{"id": 1, "op": 7}', "bad_request"),
    (b'{"id": 1, "op": "nope"}', "unknown_op"),
    (b'{"id": 1, "op": "contact.add", "args": [1]}', "bad_request"),
    (b'{"id": 1, "op": "hello", "extra": 1}', "bad_request"),
    (b'{"id": 1, "op": "hello", "op": "status"}', "bad_request"),
    (b'{"id": 1, "op": "hello\xff\xfe"}', "bad_request"),
    (b'{"id": 1, "op": "he\x00llo"}', "bad_request"),
    # Error messages quoting bytes that are not UTF-8 (found by fuzzing:
    # the daemon had no reply to send and stopped).
    (b'{"id": 1, "op": "followup.add", "args": {"due": "TZ=\\\xde\xbe"}}',
     "bad_request"),
    (b'{"id": 1, "op": "' + b"o" * 63 + b'\xc3\xa9"}', "unknown_op"),
    (b'{"id": 1, "op": "contact.add", "args": {"name": "a\\u0000b"}}',
     "bad_request"),
    (b'{"id": 1, "op": "hello", "args": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "bad_request"),
])
def test_broken_requests_get_an_error_and_keep_the_connection(conn, line,
                                                              code):
    conn.send(line + b"\n")
    r = conn.reply()
    assert r["ok"] is False
    assert r["error"]["code"] == code
    assert r["error"]["message"]
    usable(conn)


def test_missing_required_argument(conn):
    e = conn.error("contact.add", company="Acme")
    assert e["code"] == "bad_request" and "name" in e["message"]
    usable(conn)


@pytest.mark.parametrize("args", [
    {"name": 12},
    {"name": ["a"]},
    {"name": "A", "stage": None},
    {"name": "A", "notes": 5},
])
def test_wrongly_typed_arguments(conn, args):
    assert conn.error("contact.add", **args)["code"] == "bad_request"
    usable(conn)


def test_unknown_argument_is_named(conn):
    e = conn.error("contact.add", name="A", colour="blue")
    assert e["code"] == "bad_request" and "colour" in e["message"]


@pytest.mark.parametrize("cid", [99, 2 ** 62, -1, 0, "1"])
def test_unknown_or_bad_ids(conn, cid):
    e = conn.error("contact.get", id=cid)
    assert e["code"] == ("not_found" if isinstance(cid, int) and cid > 0
                         else "bad_request")
    usable(conn)


def test_id_too_big_for_an_integer(conn):
    conn.send(b'{"id": 1, "op": "contact.get", "args": {"id": '
              b'99999999999999999999999}}\n')
    assert conn.reply()["error"]["code"] == "bad_request"
    usable(conn)


@pytest.mark.parametrize("due", ["2026-02-30", "someday maybe", "25:00",
                                 "", "x" * 10000, "next blursday"])
def test_impossible_dates_are_invalid_time(conn, due):
    cid = conn.call("contact.add", name="Dates")["contact"]["id"]
    e = conn.error("followup.add", contact=cid, due=due)
    assert e["code"] == "invalid_time"
    usable(conn)


@pytest.mark.parametrize("field, value", [
    ("name", "A\nB"),
    ("name", "\x1b[31mred"),
    ("name", "x" * 201),
    ("email", "not-an-email"),
    ("email", "a@b@c.d"),
    ("email", "a b@c.d"),
    ("phone", "call me maybe"),
    ("tz", "Mars/Olympus_Mons"),
    ("tz", "../../etc/passwd"),
    ("stage", "nirvana"),
    ("notes", "n" * 10001),
])
def test_bad_contact_fields_are_refused(conn, field, value):
    args = {"name": "Valid"}
    args[field] = value
    e = conn.error("contact.add", **args)
    assert e["code"] == "bad_request", e
    usable(conn)
    # Nothing was stored.
    assert conn.call("contact.list")["contacts"] == []


def test_too_long_a_search_and_bad_limits(conn):
    assert conn.error("contact.list", search="s" * 1000)["code"] == \
        "bad_request"
    assert conn.error("contact.list", limit=0)["code"] == "bad_request"
    assert conn.error("contact.list", limit=100000)["code"] == "bad_request"
    usable(conn)


def test_error_ids_are_echoed_whatever_their_type(conn):
    for rid in ["abc", 1.5, None, {"k": 1}, [1]]:
        conn.send(json.dumps({"id": rid, "op": "nope"}).encode() + b"\n")
        r = conn.reply()
        assert r["id"] == rid and r["error"]["code"] == "unknown_op"


# Characters a terminal or log viewer acts on or hides: C0 and C1
# controls (U+0085 is a line break too), the line and paragraph
# separators, a tab, bidirectional overrides and zero-width spaces.
INVISIBLE = ["\u0085", "\u2028", "\u2029", "\t", "\x9b", "\x7f", "\u202e",
             "\u2066", "\u200b", "\ufeff", "\r"]


@pytest.mark.parametrize("field", ["name", "company", "phone", "email"])
@pytest.mark.parametrize("ch", INVISIBLE)
def test_invisible_characters_in_one_line_fields_are_refused(conn, field,
                                                             ch):
    args = {"name": "Valid", "company": "Acme", "phone": "+49 30 1234",
            "email": "v@example.com"}
    args[field] = args[field][:2] + ch + args[field][2:]
    e = conn.error("contact.add", **args)
    assert e["code"] == "bad_request", e
    assert '"%s"' % field in e["message"], e
    assert "U+%04X" % ord(ch) in e["message"], e
    assert conn.call("contact.list")["contacts"] == []
    usable(conn)


def test_invisible_characters_are_refused_on_update_and_import(conn):
    c = conn.call("contact.add", name="Günter Öztürk")["contact"]
    e = conn.error("contact.update", id=c["id"], name="Günter\u2028Öztürk")
    assert e["code"] == "bad_request" and "U+2028" in e["message"]
    e = conn.error("interaction.add", contact=c["id"], kind="call",
                   outcome="no\tanswer")
    assert e["code"] == "bad_request" and "U+0009" in e["message"]
    r = conn.call("contact.import", contacts=[
        {"line": 2, "name": "Wen\u0085Öztürk"},
        {"line": 3, "name": "Ok", "company": "A\u202eB"}])
    assert r["counts"]["skipped"] == 2 and r["counts"]["added"] == 0
    assert "U+0085" in r["results"][0]["reason"]
    assert "U+202E" in r["results"][1]["reason"]
    names = [x["name"] for x in conn.call("contact.list")["contacts"]]
    assert names == ["Günter Öztürk"]


def test_multi_line_text_keeps_line_breaks_but_no_other_controls(conn):
    cid = conn.call("contact.add", name="Notes",
                    notes="one\r\ntwo\rthree\u2028four\u0085five\tsix"
                    )["contact"]["id"]
    assert conn.call("contact.get", id=cid)["contact"]["notes"] == \
        "one\ntwo\nthree\nfour\nfive\tsix"
    fu = conn.call("followup.add", contact=cid, due="2030-01-08 10:00",
                   reason="quote\nthen prices")["followup"]
    assert fu["reason"] == "quote\nthen prices"
    for ch in ["\x1b", "\x9b", "\u202e", "\u200b"]:
        e = conn.error("followup.add", contact=cid, due="2030-01-08 10:00",
                       reason="a" + ch + "b")
        assert e["code"] == "bad_request"
        assert '"reason"' in e["message"]
        assert "U+%04X" % ord(ch) in e["message"]
    assert len(conn.call("followup.list")["followups"]) == 1


def test_the_log_never_shows_control_characters_raw(daemon, conn):
    # A refused request is logged at debug with its message, which quotes
    # the bad zone: its line break must not start a forged log line.
    forged = "2030-01-01 00:00:00 followupd: error: forged"
    cid = conn.call("contact.add", name="Log")["contact"]["id"]
    e = conn.error("followup.add", contact=cid, due="tomorrow 10:00",
                   tz="Mars\n" + forged + "\u2028\x1b[31m\u202e")
    assert e["code"] == "invalid_time"
    usable(conn)
    log = daemon.log.read_bytes().decode()
    assert not any(line.startswith(forged) for line in log.splitlines())
    line = next(x for x in log.split("\n") if "Mars" in x)
    assert "Mars\\n" + forged + "\\u2028\\x1b[31m\\u202e" in line


def test_connect_loop_over_the_cap_logs_one_line_and_a_count(make_daemon):
    # A script connecting in a loop over the per-user cap once wrote a
    # warning per connection (275,593 lines in 5 s).  Now: one line, the
    # rest counted in a summary line (at the latest when followupd stops).
    d = make_daemon("max_connections_per_user = 2\n")
    held = []
    while len(held) < 2:
        # wait_ready's own connection may not be counted out yet.
        c = d.connect()
        try:
            if c.request("hello")["ok"]:
                held.append(c)
                continue
        except OSError:
            pass
        c.close()
        time.sleep(0.05)
    time.sleep(0.2)
    d.stop_log_at = len(d.log.read_text().splitlines())
    refused = 500
    for _ in range(refused):
        c = d.connect()
        r = c.reply()
        assert r["error"]["code"] == "unavailable", r
        c.close()
    assert held[0].request("hello")["ok"]
    for c in held:
        c.close()
    d.stop()
    log = d.log.read_text().splitlines()[d.stop_log_at:]
    lines = [x for x in log if "refusing another" in x]
    assert len(lines) == 1, lines
    summary = [x for x in log if "connections over the cap" in x]
    assert len(summary) == 1, log[-20:]
    assert "%d more like this for uid %d" % (refused - 1, os.getuid()) \
        in summary[0], summary
