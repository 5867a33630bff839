"""The ics export as calendars read it: the whole document parsed by
python3-icalendar and python3-vobject and imported into calcurse, and
the same UID and SEQUENCE for a follow-up in the export as in the
invitation a confirmation carries (followup.confirm with dry_run, and
the confirmations of a re-agreed and a cancelled callback).

Hostile text tried: commas, semicolons, backslashes, CRLF, a lone CR
and LF line breaks and multi-byte characters in a reason long enough to
fold.
"""

import shutil
import subprocess

import pytest

icalendar = pytest.importorskip("icalendar")
vobject = pytest.importorskip("vobject")

REASON = ("Quote, revised; price \\ terms agreed\r\nsecond line\rthird "
          "line\nJürgen Müller's Söhne — ünïcödé that folds past the "
          "seventy-five octets of a content line, ☎ ☎ ☎ ☎ ☎ ☎ ☎ ☎")


def export_ics(d, tmp_path, name):
    path = tmp_path / name
    rc, out, err = d.client("export", "--format", "ics", "-o", str(path))
    assert rc == 0, err
    return path.read_bytes()


def events(doc):
    cal = icalendar.Calendar.from_ical(doc)
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def one_event(calendar_text):
    cal = icalendar.Calendar.from_ical(calendar_text)
    evs = cal.walk("VEVENT")
    assert len(evs) == 1
    return cal, evs[0]


def test_ics_export_reads_in_icalendar_vobject_and_calcurse(daemon,
                                                            tmp_path):
    c = daemon.call("contact.add", name="Ada Lovelace",
                    company="Acme, Inc.", email="ada@example.com",
                    phone="+44 20 7946 0001")["contact"]
    cb = daemon.call("followup.add", contact=c["id"],
                     due="2031-03-04T10:00:00Z", kind="callback",
                     remind_before=1800, reason=REASON)["followup"]
    fu = daemon.call("followup.add", contact=c["id"],
                     due="2031-03-05T09:30:00Z",
                     reason="send the brochure")["followup"]
    gone = daemon.call("followup.add", contact=c["id"],
                       due="2031-03-06T09:30:00Z",
                       reason="cancelled one")["followup"]
    daemon.call("followup.cancel", id=gone["id"])
    doc = export_ics(daemon, tmp_path, "all.ics")

    assert doc.startswith(b"BEGIN:VCALENDAR\r\n")
    assert doc.endswith(b"END:VCALENDAR\r\n")
    lines = doc.split(b"\r\n")
    assert all(len(line) <= 75 for line in lines)
    assert b"\n" not in doc.replace(b"\r\n", b"")
    lines[-1].decode("utf-8")   # no fold split a character
    doc.decode("utf-8")

    # python3-icalendar: every event, text unescaped as written.
    cal = icalendar.Calendar.from_ical(doc)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]).startswith("Follow-ups")
    got = events(doc)
    assert len(got) == 3
    byid = {int(uid.split("-")[1]): e for uid, e in got.items()}
    e = byid[cb["id"]]
    assert str(e["SUMMARY"]) == "Call back Ada Lovelace (Acme, Inc.)"
    desc = str(e["DESCRIPTION"])
    # A lone CR is a line break too: nothing the rep typed is lost.
    assert desc.startswith(REASON.replace("\r\n", "\n").replace("\r", "\n"))
    assert "Phone: +44 20 7946 0001" in desc
    assert e["DTSTART"].dt.isoformat() == "2031-03-04T10:00:00+00:00"
    assert e["DURATION"].dt.total_seconds() == 15 * 60
    assert str(e["STATUS"]) == "CONFIRMED"
    assert str(e["CATEGORIES"].cats[0]) == "Callback"
    (alarm,) = e.walk("VALARM")
    assert alarm["TRIGGER"].dt.total_seconds() == -1800
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert "CREATED" in e and "LAST-MODIFIED" in e and "DTSTAMP" in e
    assert int(byid[fu["id"]]["SEQUENCE"]) == 0
    assert str(byid[fu["id"]]["CATEGORIES"].cats[0]) == "Follow-up"
    g = byid[gone["id"]]
    assert str(g["STATUS"]) == "CANCELLED" and g.walk("VALARM") == []
    assert int(g["SEQUENCE"]) == 1

    # python3-vobject reads the same.
    vcal = vobject.readOne(doc.decode("utf-8"))
    vevs = {v.uid.value: v for v in vcal.vevent_list}
    assert set(vevs) == set(got)
    vcb = [v for u, v in vevs.items() if int(u.split("-")[1]) == cb["id"]][0]
    assert vcb.description.value == desc
    assert vcb.summary.value == "Call back Ada Lovelace (Acme, Inc.)"

    # calcurse imports every event.
    if shutil.which("calcurse") is None:
        pytest.skip("calcurse is not installed")
    cdir = tmp_path / "calcurse"
    cdir.mkdir()
    path = tmp_path / "all.ics"
    r = subprocess.run(["calcurse", "-D", str(cdir), "-i", str(path)],
                       capture_output=True, text=True, timeout=30,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                            "TZ": "UTC"})
    assert r.returncode == 0, r.stdout + r.stderr
    apts = (cdir / "apts").read_text()
    assert "Call back Ada Lovelace (Acme, Inc.)" in apts
    assert "Follow up with Ada Lovelace (Acme, Inc.)" in apts
    assert "03/04/2031 @ 10:00" in apts
    assert "03/05/2031 @ 09:30" in apts


@pytest.fixture
def hook_daemon(make_daemon, tmp_path):
    """A daemon with a [reminders] hook that swallows what it gets."""
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat > /dev/null\n")
    hook.chmod(0o755)
    d = make_daemon("[reminders]\nhook = %s\n" % hook)
    d.call("user.set", email="rep@example.com", display_name="Rep One")
    return d


def test_export_and_invitation_give_one_uid_and_sequence(hook_daemon,
                                                         tmp_path):
    d = hook_daemon
    c = d.call("contact.add", name="Ada Lovelace",
               email="ada@example.com")["contact"]
    f = d.call("followup.add", contact=c["id"], due="2031-03-04T10:00:00Z",
               kind="callback", reason=REASON)["followup"]

    def exported():
        return events(export_ics(d, tmp_path, "x.ics"))

    def same(calendar_text, method):
        cal, inv = one_event(calendar_text)
        assert str(cal["METHOD"]) == method
        ex = exported()
        assert list(ex) == [str(inv["UID"])]
        e = ex[str(inv["UID"])]
        assert int(inv["SEQUENCE"]) == int(e["SEQUENCE"])
        assert inv["DTSTART"].dt == e["DTSTART"].dt
        assert str(inv["STATUS"]) == str(e["STATUS"])
        return int(e["SEQUENCE"])

    conn = d.connect()
    r = conn.call("followup.confirm", id=f["id"], dry_run=True)
    assert r["dry_run"] is True
    assert same(r["confirmation"]["calendar"], "REQUEST") == 0
    assert r["confirmation"]["sequence"] == 0

    # Re-agreed: a new time, one SEQUENCE up, in both.
    r = conn.call("followup.reagree", id=f["id"],
                  due="2031-03-05T11:00:00Z", confirm=True)
    assert same(r["confirmation"]["calendar"], "REQUEST") == 1

    # Cancelled: the CANCEL and the export's cancelled event agree.
    r = conn.call("followup.cancel", id=f["id"], confirm=True)
    assert same(r["confirmation"]["calendar"], "CANCEL") == 2
    conn.close()
