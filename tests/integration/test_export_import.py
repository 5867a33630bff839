"""Export and import through the real client: the iCalendar read back by
python3-icalendar (stable UIDs, SEQUENCE after a reschedule, alarms), CSV
read back by Python's csv module, JSON holding the protocol's objects;
contacts imported from CSV files as CRMs and spreadsheets write them and
from vCards written by python3-vobject.

Bad input tried: an unknown format, --what with ics, rows with the wrong
number of fields, a row without a name, an unclosed quote, a bad email, an
unknown stage, a vCard without a name; a rep exporting or importing
another rep's records (forbidden), while an admin may with --owner/--as.
"""

import csv
import io
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from fu import FOLLOWUP, FOLLOWUPD, WRAPPER

icalendar = pytest.importorskip("icalendar")
vobject = pytest.importorskip("vobject")


def add_contact(daemon, name, **kw):
    return daemon.call("contact.add", name=name, **kw)["contact"]


def export(daemon, tmp_path, *args, name="out"):
    path = tmp_path / name
    rc, out, err = daemon.client("export", "-o", str(path), *args)
    assert rc == 0, err
    return path.read_bytes()


def events(doc):
    cal = icalendar.Calendar.from_ical(doc)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


# --- export ---


def test_ics_export_reads_back_with_stable_uids_and_alarms(daemon,
                                                           tmp_path):
    c = add_contact(daemon, "Ada Lovelace", company="Acme, Inc.",
                    phone="+44 20 7946 0001", email="ada@example.com",
                    stage="proposal")
    cb = daemon.call("followup.add", contact=c["id"], due="tomorrow 10:00",
                     kind="callback", reason="go through the quote; "
                     "all of it, with \\ and a long tail that must fold "
                     "because it is far longer than seventy-five octets "
                     "— ünïcödé too")["followup"]
    fu = daemon.call("followup.add", contact=c["id"], due="in 3 days",
                     reason="send info", remind_before="1h")["followup"]
    gone = daemon.call("followup.add", contact=c["id"],
                       due="in 4 days")["followup"]
    daemon.call("followup.done", id=gone["id"])

    first = export(daemon, tmp_path, "--format", "ics", name="a.ics")
    # CRLF everywhere, no line over 75 octets.
    assert first.endswith(b"\r\n") and b"\n" not in first.replace(
        b"\r\n", b"")
    assert all(len(line) <= 75 for line in first.split(b"\r\n"))
    cal = icalendar.Calendar.from_ical(first)
    assert str(cal["VERSION"]) == "2.0" and "followup" in str(cal["PRODID"])
    ev = events(first)
    assert len(ev) == 2      # the done one is not a plan any more
    a = [e for e in ev.values() if "Call back" in str(e["SUMMARY"])][0]
    assert str(a["SUMMARY"]) == "Call back Ada Lovelace (Acme, Inc.)"
    assert a["DTSTART"].dt.strftime("%Y-%m-%dT%H:%M:%SZ") == cb["due_at"]
    assert a["DTSTART"].dt.utcoffset().total_seconds() == 0
    assert str(a["DURATION"].to_ical(), "ascii") == "PT15M"
    desc = str(a["DESCRIPTION"])
    assert desc.startswith("go through the quote; all of it, with \\ ")
    assert "ünïcödé" in desc
    assert "Phone: +44 20 7946 0001" in desc
    assert "Email: ada@example.com" in desc and "Stage: proposal" in desc
    assert int(a["SEQUENCE"]) == 0 and "DTSTAMP" in a
    alarms = a.walk("VALARM")
    assert len(alarms) == 1 and str(alarms[0]["ACTION"]) == "DISPLAY"
    assert alarms[0]["TRIGGER"].dt.total_seconds() == -15 * 60
    b = [e for e in ev.values() if "Follow up" in str(e["SUMMARY"])][0]
    assert b.walk("VALARM")[0]["TRIGGER"].dt.total_seconds() == -3600
    assert str(b["DESCRIPTION"]).startswith("send info\n")
    assert str(b["UID"]) == "followup-%d@%s" % (
        fu["id"], str(b["UID"]).split("@")[1])

    # Exported again: the same events.  Rescheduled: same UID, a higher
    # SEQUENCE, the new time.
    again = events(export(daemon, tmp_path, "--format", "ics",
                          name="b.ics"))
    assert set(again) == set(ev)
    moved = daemon.call("followup.reschedule", id=cb["id"],
                        due="in 5 days")["followup"]
    assert moved["revision"] == 1
    after = events(export(daemon, tmp_path, name="c.ics"))
    assert set(after) == set(ev)
    uid = str(a["UID"])
    assert int(after[uid]["SEQUENCE"]) == 1
    assert after[uid]["DTSTART"].dt.strftime("%Y-%m-%dT%H:%M:%SZ") == \
        moved["due_at"]
    daemon.call("followup.snooze", id=cb["id"], until="in 6 days")
    assert int(events(export(daemon, tmp_path, name="d.ics"))[uid][
        "SEQUENCE"]) == 2


def test_ics_export_to_stdout_and_empty_calendar(daemon):
    rc, out, err = daemon.client("export", "--format", "ics")
    assert rc == 0, err
    cal = icalendar.Calendar.from_ical(out)
    assert cal.walk("VEVENT") == []


def test_csv_export_is_rfc4180_and_holds_every_table(daemon, tmp_path):
    c = add_contact(daemon, "Bob \"The Builder\"", company="Acme, Inc.",
                    notes="line 1\nline 2, with a comma", stage="lead")
    add_contact(daemon, "Carla")
    daemon.call("interaction.add", contact=c["id"], kind="call",
                outcome="reached", note="said \"call me\", then hung up")
    daemon.call("followup.add", contact=c["id"], due="tomorrow 9:00",
                reason="quote")
    doc = export(daemon, tmp_path, "--format", "csv", name="c.csv")
    assert doc.startswith(b"ID,Name,Company,Phone,Email,Time Zone,Stage,"
                          b"Notes,")
    assert not doc.startswith(b"\xef\xbb\xbf") and doc.endswith(b"\r\n")
    rows = list(csv.DictReader(io.StringIO(doc.decode(), newline="")))
    assert [r["Name"] for r in rows] == ["Bob \"The Builder\"", "Carla"]
    assert rows[0]["Company"] == "Acme, Inc."
    assert rows[0]["Notes"] == "line 1\nline 2, with a comma"
    assert rows[0]["Archived"] == "no" and rows[1]["Company"] == ""

    doc = export(daemon, tmp_path, "--format", "csv", "--what",
                 "interactions", name="i.csv")
    rows = list(csv.DictReader(io.StringIO(doc.decode(), newline="")))
    assert len(rows) == 1 and rows[0]["Contact"] == "Bob \"The Builder\""
    assert rows[0]["Note"] == "said \"call me\", then hung up"
    assert rows[0]["Company"] == "Acme, Inc."

    doc = export(daemon, tmp_path, "-o", str(tmp_path / "f.csv"), "--what",
                 "followups", name="f.csv")
    rows = list(csv.DictReader(io.StringIO(doc.decode(), newline="")))
    assert [(r["Kind"], r["Status"], r["Reason"]) for r in rows] == \
        [("followup", "pending", "quote")]


def test_json_export_holds_the_protocols_objects(daemon, tmp_path):
    c = add_contact(daemon, "Dora", email="dora@example.com")
    i = daemon.call("interaction.add", contact=c["id"], kind="note",
                    note="hello")["interaction"]
    f = daemon.call("followup.add", contact=c["id"],
                    due="tomorrow 9:00")["followup"]
    archived = add_contact(daemon, "Gone")
    daemon.call("contact.archive", id=archived["id"])
    rc, out, err = daemon.client("export", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    got = daemon.call("contact.get", id=c["id"])
    assert doc["contacts"][0] == got["contact"]
    assert doc["contacts"][1]["archived"] is True
    assert doc["interactions"] == [i]
    assert doc["followups"] == [daemon.call("followup.get",
                                            id=f["id"])["followup"]]
    rc, out, err = daemon.client("export", "-o", str(tmp_path / "x.json"))
    assert rc == 0 and "Exported 2 contacts, 1 interaction, 1 follow-up" \
        in out, (out, err)
    assert json.loads((tmp_path / "x.json").read_text()) ["contacts"] == \
        doc["contacts"]
    # --json prints the daemon's whole result.
    rc, out, err = daemon.client("--json", "export", "--format", "ics")
    r = json.loads(out)
    assert r["format"] == "ics" and r["counts"] == {"followups": 1}
    assert r["document"].startswith("BEGIN:VCALENDAR\r\n")


def test_export_refuses_bad_arguments(daemon, conn):
    for args, word in ((["--format", "xml"], "unknown format"),
                       (["--format", "ics", "--what", "contacts"], "--what"),
                       (["--format", "csv", "--what", "deals"],
                        "unknown table"),
                       ([], "which format"),
                       (["--owner", "x", "--all", "--format", "csv"],
                        "once")):
        rc, out, err = daemon.client("export", *args)
        assert rc == 2 and word in err, (args, err)
    assert conn.error("export", format="pdf")["code"] == "bad_request"
    assert conn.error("export", format="ics",
                      what="contacts")["code"] == "bad_request"
    assert conn.error("export", format="csv",
                      what="deals")["code"] == "bad_request"
    assert conn.error("export")["code"] == "bad_request"
