"""The agreed time confirmed to the contact, only on the rep's command:
the real followupd, the real followup-mail hook, msmtp as the sendmail and
an aiosmtpd server on loopback.  The invitation is read with two iCalendar
libraries (icalendar, vobject) and imported into a calendar program
(calcurse).  And no automatic path (reminders, due and missed notices,
digests, summaries) ever mails a contact.
"""

import email
import email.policy
import os
import shutil
import subprocess
import time

import pytest

from fu import FOLLOWUP_MAIL, rfc3339
# The mail fixtures: an aiosmtpd server and a daemon whose hook is
# followup-mail with msmtp as its sendmail.
from test_reminders import MSMTP, REP, Smtp, mail_daemon, smtp  # noqa: F401

icalendar = pytest.importorskip("icalendar")
vobject = pytest.importorskip("vobject")

CONTACT = "grace@prospect.invalid"
SENDER = "followup@test.invalid"


def rep_and_contact(d, email_=CONTACT, **contact):
    d.call("user.set", email=REP, display_name="Ada Rep",
           phone="+44 20 7946 0000")
    args = dict(name="Grace Hopper", company="Compilers Ltd",
                phone="+1 555 0100", tz="America/New_York")
    if email_ is not None:
        args["email"] = email_
    args.update(contact)
    return d.call("contact.add", **args)["contact"]["id"]


def callback(d, cid, ahead=2 * 86400, reason="the pilot order"):
    due = int(time.time()) + ahead
    due -= due % 60
    f = d.call("followup.add", contact=cid, due=rfc3339(due),
               kind="callback", reason=reason)["followup"]
    return f["id"], due


def calendar_part(msg):
    parts = [p for p in msg.walk()
             if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return parts[0]


def parse_calendar(part):
    raw = part.get_payload(decode=True)
    # RFC 5545: every line ends with CRLF.
    assert raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    cal = icalendar.Calendar.from_ical(raw)
    vcal = vobject.readOne(raw.decode("utf-8"))
    events = [c for c in cal.walk("VEVENT")]
    assert len(events) == 1
    assert len(vcal.vevent_list) == 1
    return raw, cal, events[0], vcal


def test_confirm_mails_the_contact_an_imip_invitation(mail_daemon, smtp,
                                                      tmp_path):
    d = mail_daemon()
    cid = rep_and_contact(d)
    fid, due = callback(d, cid)
    rc, out, err = d.client("confirm", str(fid))
    assert rc == 0, err
    assert "Confirmation to Grace Hopper <%s> queued for" % CONTACT in out
    msgs = smtp.sink.wait(1)
    assert len(msgs) == 1
    mail_from, rcpts, msg, raw, _ = msgs[0]
    # The envelope: the daemon's sender, the contact alone.
    assert mail_from == SENDER
    assert rcpts == [CONTACT]
    assert msg["From"].addresses[0].addr_spec == REP
    assert msg["From"].addresses[0].display_name == "Ada Rep"
    assert msg["Reply-To"].addresses[0].addr_spec == REP
    assert msg["To"].addresses[0].addr_spec == CONTACT
    assert msg["Subject"].startswith("Our call on")
    assert msg["Message-ID"]
    assert msg.get_content_type() == "multipart/alternative"
    text = [p for p in msg.walk() if p.get_content_type() == "text/plain"]
    assert len(text) == 1
    body = text[0].get_content()
    assert "Dear Grace Hopper" in body and "+44 20 7946 0000" in body
    part = calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    assert part.get_param("charset").upper() == "UTF-8"
    _, cal, ev, vcal = parse_calendar(part)
    assert str(cal["METHOD"]) == "REQUEST"
    assert vcal.method.value == "REQUEST"
    assert str(ev["ORGANIZER"]).lower() == "mailto:" + REP
    assert str(ev["ATTENDEE"]).lower() == "mailto:" + CONTACT
    assert vcal.vevent.organizer.value.lower() == "mailto:" + REP
    assert vcal.vevent.attendee.value.lower() == "mailto:" + CONTACT
    assert int(ev.decoded("DTSTART").timestamp()) == due
    assert int(vcal.vevent.dtstart.value.timestamp()) == due
    # The UID is the one the ics export gives this follow-up.
    out = tmp_path / "export.ics"
    rc, _, err = d.client("export", "--format", "ics", "-o", str(out))
    assert rc == 0, err
    exported = [e for e in icalendar.Calendar.from_ical(
        out.read_bytes()).walk("VEVENT")]
    assert len(exported) == 1
    assert str(exported[0]["UID"]) == str(ev["UID"])
    assert int(exported[0]["SEQUENCE"]) == int(ev["SEQUENCE"])


def test_reagree_and_cancel_send_updates_with_the_same_uid(mail_daemon,
                                                           smtp):
    d = mail_daemon()
    cid = rep_and_contact(d)
    fid, due = callback(d, cid)
    assert d.client("confirm", str(fid))[0] == 0
    later = due + 86400
    rc, out, err = d.client("reagree", str(fid), rfc3339(later), "--confirm")
    assert rc == 0, err
    assert "Confirmation to Grace Hopper <%s> queued" % CONTACT in out
    rc, out, err = d.client("cancel", str(fid), "--confirm")
    assert rc == 0, err
    assert "Cancellation to Grace Hopper <%s> queued" % CONTACT in out
    msgs = smtp.sink.wait(3)
    assert len(msgs) == 3
    seen = []
    for mail_from, rcpts, msg, _, _ in msgs:
        assert mail_from == SENDER and rcpts == [CONTACT]
        part = calendar_part(msg)
        _, cal, ev, vcal = parse_calendar(part)
        assert part.get_param("method") == str(cal["METHOD"])
        assert vcal.method.value == str(cal["METHOD"])
        seen.append((str(cal["METHOD"]), str(ev["UID"]),
                     int(ev["SEQUENCE"]),
                     int(ev.decoded("DTSTART").timestamp()),
                     int(vcal.vevent.sequence.value)))
    seen.sort(key=lambda s: s[2])
    (m1, u1, s1, t1, v1), (m2, u2, s2, t2, v2), (m3, u3, s3, t3, v3) = seen
    assert (m1, m2, m3) == ("REQUEST", "REQUEST", "CANCEL")
    assert u1 == u2 == u3
    assert s1 < s2 < s3 and (v1, v2, v3) == (s1, s2, s3)
    assert (t1, t2, t3) == (due, later, later)
    for _, _, msg, _, _ in msgs:
        if str(calendar_part(msg).get_param("method")) == "CANCEL":
            assert "cancel" in msg["Subject"]


@pytest.mark.skipif(shutil.which("calcurse") is None,
                    reason="needs calcurse")
def test_a_calendar_program_imports_the_invitation(mail_daemon, smtp,
                                                   tmp_path):
    d = mail_daemon()
    cid = rep_and_contact(d)
    fid, due = callback(d, cid, reason="pilot order")
    assert d.client("confirm", str(fid))[0] == 0
    msg = smtp.sink.wait(1)[0][2]
    ics = tmp_path / "invite.ics"
    ics.write_bytes(calendar_part(msg).get_payload(decode=True))
    cdir = tmp_path / "calcurse"
    cdir.mkdir()
    env = dict(os.environ, TZ="UTC", HOME=str(tmp_path))
    p = subprocess.run(["calcurse", "-D", str(cdir), "-i", str(ics)],
                       capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    day = time.strftime("%m/%d/%Y", time.gmtime(due))
    p = subprocess.run(["calcurse", "-D", str(cdir), "-Q",
                        "--filter-type", "apt", "--from", day,
                        "--days", "1"],
                       capture_output=True, text=True, env=env,
                       timeout=30)
    assert p.returncode == 0, p.stderr
    assert time.strftime("%H:%M", time.gmtime(due)) in p.stdout
    assert "Our call on" in p.stdout
