"""Every follow-up in the rep's own calendar (followup config calendar
invite): each one the rep schedules, moves, completes or cancels is mailed
to the rep as an iMIP invitation, through the [reminders] hook
(followup-mail, real msmtp to aiosmtpd on loopback).

The daemon runs on a clock of its own (a faketime file), so a test moves
it past the one-minute window in which changes gather, instead of waiting
for it; nothing here depends on the time of day."""

import json
import shutil
import subprocess
import time

import pytest

from fu import FOLLOWUP_MAIL, clock_offset, rfc3339
from test_reminders import REP, mail_daemon, setup_rep, smtp  # noqa: F401

icalendar = pytest.importorskip("icalendar")
vobject = pytest.importorskip("vobject")

CONTACT = "ada@example.com"


class Clock:
    """The daemon's clock: seconds ahead of the tests' own."""

    def __init__(self, tmp_path):
        self.path = tmp_path / "faketime"
        self.offset = 0
        self.path.write_text(clock_offset(0))

    def now(self):
        return int(time.time()) + self.offset

    def advance(self, seconds):
        self.offset += seconds
        self.path.write_text(clock_offset(self.offset))
        time.sleep(0.05)


@pytest.fixture
def clock(tmp_path):
    return Clock(tmp_path)


def start(mail_daemon, clock, calendar="invite", lead="15m"):  # noqa: F811
    d = mail_daemon(faketime=str(clock.path))
    cid = setup_rep(d, email=CONTACT)
    d.call("user.set", calendar=calendar, lead=lead)
    return d, cid


def calendar_part(msg):
    """The text/calendar part of msg, checked against its Content-Type."""
    parts = [p for p in msg.walk()
             if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    part = parts[0]
    data = part.get_payload(decode=True)
    cal = icalendar.Calendar.from_ical(data)
    assert part.get_param("method") == str(cal["METHOD"])
    vobject.readOne(data.decode())         # a second parser agrees
    return cal, data


def one_event(cal):
    evs = list(cal.walk("VEVENT"))
    assert len(evs) == 1
    return evs[0]


def exported(d, tmp_path, name):
    path = tmp_path / name
    rc, out, err = d.client("export", "--format", "ics", "-o", str(path))
    assert rc == 0, err
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def settle(smtp, count):                   # noqa: F811
    smtp.sink.wait(count)
    time.sleep(2)                          # nothing more comes
    return smtp.sink.messages


def test_schedule_move_and_cancel_reach_the_reps_calendar(
        mail_daemon, smtp, clock, tmp_path):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    due = clock.now() + 7200
    fu = d.call("followup.add", contact=cid, due=rfc3339(due),
                kind="callback", reason="go through the quote")["followup"]
    assert smtp.sink.wait(1, timeout=2) == []     # held for the window
    clock.advance(61)
    msgs = settle(smtp, 1)
    assert len(msgs) == 1
    sender, rcpts, msg, _, _ = msgs[0]
    assert rcpts == [REP] and msg["To"] == REP    # the rep only
    assert msg["X-Followup-Kind"] == "invitation"
    cal, raw = calendar_part(msg)
    assert str(cal["METHOD"]) == "REQUEST"
    ev = one_event(cal)
    ics = exported(d, tmp_path, "a.ics")
    uid = str(ev["UID"])
    assert uid in ics
    assert int(ev["SEQUENCE"]) == int(ics[uid]["SEQUENCE"])
    assert ev["DTSTART"].dt.timestamp() == due
    assert str(ev["ORGANIZER"]) == "mailto:" + REP
    alarms = list(ev.walk("VALARM"))
    assert len(alarms) == 1
    assert alarms[0]["TRIGGER"].dt.total_seconds() == -15 * 60
    first_seq = int(ev["SEQUENCE"])

    # Moved: the same UID, a higher SEQUENCE, the new time.
    due2 = due + 86400
    d.call("followup.reagree", id=fu["id"], due=rfc3339(due2))
    clock.advance(61)
    msgs = settle(smtp, 2)
    assert len(msgs) == 2
    cal, _ = calendar_part(msgs[1][2])
    ev = one_event(cal)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(ev["UID"]) == uid
    assert int(ev["SEQUENCE"]) > first_seq
    assert ev["DTSTART"].dt.timestamp() == due2
    ics = exported(d, tmp_path, "b.ics")
    assert int(ev["SEQUENCE"]) == int(ics[uid]["SEQUENCE"])
    moved_seq = int(ev["SEQUENCE"])

    # Cancelled: METHOD:CANCEL for the same UID, SEQUENCE as exported.
    d.call("followup.cancel", id=fu["id"])
    clock.advance(61)
    msgs = settle(smtp, 3)
    assert len(msgs) == 3
    cal, _ = calendar_part(msgs[2][2])
    ev = one_event(cal)
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(ev["UID"]) == uid
    assert int(ev["SEQUENCE"]) > moved_seq
    ics = exported(d, tmp_path, "c.ics")
    assert int(ev["SEQUENCE"]) == int(ics[uid]["SEQUENCE"])
    # Nothing ever went to the contact.
    assert all(m[1] == [REP] for m in msgs)


def test_done_sends_a_cancel(mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    fu = d.call("followup.add", contact=cid,
                due=rfc3339(clock.now() + 7200))["followup"]
    clock.advance(61)
    assert len(settle(smtp, 1)) == 1
    d.call("followup.done", id=fu["id"])
    clock.advance(61)
    msgs = settle(smtp, 2)
    assert len(msgs) == 2
    cal, _ = calendar_part(msgs[1][2])
    assert str(cal["METHOD"]) == "CANCEL"


def test_archiving_the_contact_cancels_its_invitations(
        mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    fus = [d.call("followup.add", contact=cid,
                  due=rfc3339(clock.now() + 7200 + i * 3600))["followup"]
           for i in range(2)]
    clock.advance(61)
    assert len(settle(smtp, 2)) == 2
    assert d.call("contact.archive", id=cid)["cancelled"] == 2
    clock.advance(61)
    msgs = settle(smtp, 4)
    assert len(msgs) == 4
    cancels = {}
    for m in msgs[2:]:
        cal, _ = calendar_part(m[2])
        assert str(cal["METHOD"]) == "CANCEL"
        cancels[str(one_event(cal)["UID"]).split("-")[1]] = cal
    assert sorted(cancels) == sorted(str(f["id"]) for f in fus)


def test_changes_within_a_minute_go_out_as_one_message(
        mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    due = clock.now() + 7200
    fu = d.call("followup.add", contact=cid, due=rfc3339(due))["followup"]
    clock.advance(20)
    d.call("followup.reschedule", id=fu["id"], due=rfc3339(due + 3600))
    clock.advance(20)
    d.call("followup.snooze", id=fu["id"], until=rfc3339(due + 7200))
    clock.advance(15)                      # 55 s after the first change
    assert smtp.sink.wait(1, timeout=2) == []
    clock.advance(10)
    msgs = settle(smtp, 1)
    assert len(msgs) == 1                  # one message, the last state
    ev = one_event(calendar_part(msgs[0][2])[0])
    assert ev["DTSTART"].dt.timestamp() == due + 7200
    # A change after the window is a message of its own.
    d.call("followup.reschedule", id=fu["id"], due=rfc3339(due))
    clock.advance(61)
    assert len(settle(smtp, 2)) == 2


def test_scheduled_and_cancelled_within_a_minute_sends_nothing(
        mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    fu = d.call("followup.add", contact=cid,
                due=rfc3339(clock.now() + 7200))["followup"]
    d.call("followup.cancel", id=fu["id"])
    clock.advance(61)
    time.sleep(3)
    assert smtp.sink.messages == []


def test_off_sends_nothing_and_turning_on_does_not_backfill(
        mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock, calendar="off")
    assert d.call("user.get")["user"]["calendar"] == "off"
    d.call("followup.add", contact=cid, due=rfc3339(clock.now() + 7200))
    clock.advance(61)
    time.sleep(3)
    assert smtp.sink.messages == []
    assert d.call("user.set", calendar="invite")["user"]["calendar"] == \
        "invite"
    second = d.call("followup.add", contact=cid,
                    due=rfc3339(clock.now() + 9000))["followup"]
    clock.advance(61)
    msgs = settle(smtp, 1)
    assert len(msgs) == 1                  # the new one, not the old one
    ev = one_event(calendar_part(msgs[0][2])[0])
    assert str(ev["UID"]).startswith("followup-%d-" % second["id"])


def test_bad_setting_is_refused_and_changes_nothing(daemon, conn):
    assert daemon.call("user.get")["user"]["calendar"] == "off"
    # With no address there is nowhere to send an invitation.
    r = conn.request("user.set", {"calendar": "invite"})
    assert not r["ok"] and r["error"]["code"] == "bad_request"
    assert "followup config email" in r["error"]["message"]
    assert daemon.call("user.get")["user"]["calendar"] == "off"
    daemon.call("user.set", email=REP, calendar="invite")
    r = conn.request("user.set", {"calendar": "yes"})
    assert not r["ok"] and r["error"]["code"] == "bad_request"
    assert "invite or off" in r["error"]["message"]
    r = conn.request("user.set", {"email": None})
    assert not r["ok"] and r["error"]["code"] == "bad_request"
    u = daemon.call("user.get")["user"]
    assert u["calendar"] == "invite" and u["email"] == REP
    rc, out, err = daemon.client("config", "calendar", "off")
    assert rc == 0, err
    assert out == "calendar = off\n"
    rc, out, err = daemon.client("config")
    assert rc == 0 and "calendar  off\n" in out


def test_restart_between_change_and_send_still_sends_once(
        mail_daemon, smtp, clock):  # noqa: F811
    d, cid = start(mail_daemon, clock)
    d.call("followup.add", contact=cid, due=rfc3339(clock.now() + 7200))
    d.restart()
    clock.advance(61)
    msgs = settle(smtp, 1)
    assert len(msgs) == 1
    d.restart()
    time.sleep(2)
    assert len(smtp.sink.messages) == 1


def test_invitation_imports_into_calcurse(mail_daemon, smtp, clock,
                                          tmp_path):  # noqa: F811
    calcurse = shutil.which("calcurse")
    if calcurse is None:
        pytest.skip("calcurse is not installed")
    d, cid = start(mail_daemon, clock)
    due = clock.now() + 7200
    d.call("followup.add", contact=cid, due=rfc3339(due), kind="callback")
    clock.advance(61)
    msgs = settle(smtp, 1)
    _, raw = calendar_part(msgs[0][2])
    ics = tmp_path / "invite.ics"
    ics.write_bytes(raw)
    home = tmp_path / "calcurse"
    home.mkdir()
    p = subprocess.run([calcurse, "-D", str(home), "-i", str(ics)],
                       capture_output=True, text=True, timeout=30,
                       env={"TZ": "UTC", "HOME": str(tmp_path),
                            "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    apts = (home / "apts").read_text()
    assert "Call back Ada Lovelace" in apts
    assert time.strftime("%m/%d/%Y @ %H:%M", time.gmtime(due)) in apts


def invitation_input(method="REQUEST", calendar="BEGIN:VCALENDAR\r\n"
                     "METHOD:REQUEST\r\nEND:VCALENDAR\r\n"):
    return json.dumps({
        "message_id": "<followup.9.invite@followupd>",
        "rep": {"name": "ana", "email": "ana@test.invalid", "tz": "UTC"},
        "notices": [{
            "kind": "invitation", "late": False,
            "rep": {"name": "ana", "email": "ana@test.invalid", "tz": "UTC"},
            "invitation": {"method": method, "uid": "u@x", "sequence": 1,
                           "summary": "Call back Ada\r\nBcc: x@y.z",
                           "start": "2026-11-24T09:00:00Z",
                           "calendar": calendar},
            "followup": {"id": 9, "reason": "quote"},
            "contact": {"name": "Ada"}}]}).encode()


def test_mail_hook_writes_one_calendar_part_and_refuses_bad_input():
    p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                       input=invitation_input(), capture_output=True)
    assert p.returncode == 0, p.stderr
    head = p.stdout.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head and b"To: ana@test.invalid" in head
    assert b"method=REQUEST" in p.stdout
    # A method is never copied into a header unchecked.
    p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                       input=invitation_input("REQUEST\r\nBcc: x@y.z"),
                       capture_output=True)
    assert p.returncode == 65 and b"not REQUEST or CANCEL" in p.stderr
    p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                       input=invitation_input(calendar=None),
                       capture_output=True)
    assert p.returncode == 65 and b"no calendar" in p.stderr
