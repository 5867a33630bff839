"""The agreed time confirmed to the contact, only on the rep's command:
the real followupd, the real followup-mail hook, msmtp as the sendmail and
an aiosmtpd server on loopback.  The invitation is read with two iCalendar
libraries (icalendar, vobject) and imported into a calendar program
(calcurse).  And no automatic path (reminders, due and missed notices,
digests, summaries) ever mails a contact.
"""

import email
import email.policy
import json
import os
import shutil
import subprocess
import time

import pytest

from fu import FAKETIME_LIB, FOLLOWUP_MAIL, WRAPPER, clock_offset, rfc3339
# The mail fixtures: an aiosmtpd server and a daemon whose hook is
# followup-mail with msmtp as its sendmail.
from test_reminders import REP, mail_daemon, smtp  # noqa: F401

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

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


def test_log_and_schedule_confirm_a_callback(mail_daemon, smtp):
    d = mail_daemon()
    cid = rep_and_contact(d)
    due = int(time.time()) + 3 * 86400
    due -= due % 60
    rc, out, err = d.client("log", str(cid), "call", "--outcome", "reached",
                            "--next", rfc3339(due), "--callback",
                            "--confirm")
    assert rc == 0, err
    assert "Confirmation to Grace Hopper <%s> queued for" % CONTACT in out
    rc, out, err = d.client("schedule", str(cid),
                            rfc3339(due + 86400), "--callback", "--confirm")
    assert rc == 0, err
    assert "Confirmation to Grace Hopper <%s> queued for" % CONTACT in out
    msgs = smtp.sink.wait(2)
    assert len(msgs) == 2
    starts = sorted(int(parse_calendar(calendar_part(m[2]))[2].decoded(
        "DTSTART").timestamp()) for m in msgs)
    assert starts == [due, due + 86400]
    # Without a callback there is no agreed time to confirm.
    rc, _, err = d.client("schedule", str(cid), rfc3339(due), "--confirm")
    assert rc != 0 and "--confirm goes with --callback" in err
    rc, _, err = d.client("log", str(cid), "call", "--next", rfc3339(due),
                          "--confirm")
    assert rc != 0 and "--confirm goes with" in err
    for op, args in (("followup.add", dict(contact=cid, due=rfc3339(due),
                                           confirm=True)),
                     ("interaction.add", dict(contact=cid, kind="call",
                                              next=rfc3339(due),
                                              confirm=True)),
                     ("interaction.add", dict(contact=cid, kind="call",
                                              confirm=True))):
        e = d.connect().error(op, **args)
        assert e["code"] == "bad_request" and "callback" in e["message"]
    time.sleep(1)
    assert len(smtp.sink.messages) == 2


def test_dry_run_prints_the_message_and_sends_nothing(mail_daemon, smtp):
    d = mail_daemon()
    cid = rep_and_contact(d)
    fid, due = callback(d, cid)
    before = d.call("status")
    rc, out, err = d.client("confirm", str(fid), "--dry-run")
    assert rc == 0, err
    assert "From: Ada Rep <%s>" % REP in out
    assert "To: Grace Hopper <%s>" % CONTACT in out
    assert "Subject: Our call on" in out
    assert "Dear Grace Hopper" in out
    assert "METHOD:REQUEST" in out and "BEGIN:VEVENT" in out
    assert "nothing was sent" in out
    time.sleep(2)
    assert smtp.sink.messages == []
    assert d.call("status")["outbox_backlog"] == before["outbox_backlog"]
    # Nothing was written: a real confirmation still goes out, once.
    rc, out, err = d.client("confirm", str(fid))
    assert rc == 0, err
    assert len(smtp.sink.wait(1)) == 1
    rc, _, err = d.client("confirm", "--help")
    assert rc == 0


def test_confirmations_that_cannot_be_sent_are_refused(mail_daemon, smtp,
                                                       make_daemon):
    d = mail_daemon()
    cid = rep_and_contact(d)
    bare = d.call("contact.add", name="No Mail")["contact"]["id"]
    fid, _ = callback(d, cid)
    nomail, _ = callback(d, bare)
    soon = d.call("followup.add", contact=cid,
                  due=rfc3339(time.time() + 1))["followup"]["id"]
    done, _ = callback(d, cid, ahead=3 * 86400)
    d.call("followup.done", id=done)
    gone, _ = callback(d, cid, ahead=4 * 86400)
    d.call("followup.cancel", id=gone)
    time.sleep(2)
    cases = [
        (nomail, "no email address to confirm to"),
        (soon, "due in the past"),
        (done, "is done"),
        (gone, "is cancelled"),
        (9999, "follow-up 9999 does not exist"),
    ]
    for target, words in cases:
        rc, out, err = d.client("confirm", str(target))
        assert rc != 0, (target, out)
        assert words in err, (target, err)
    # A rep with no address of their own cannot be replied to.
    d.call("user.set", email=None)
    rc, _, err = d.client("confirm", str(fid))
    assert rc != 0 and "has no email address" in err
    d.call("user.set", email=REP)
    # (Another rep's follow-up is refused as if it did not exist: see
    # test_a_rep_cannot_see_or_touch_another_reps_records in test_team.py,
    # which needs real Unix users.)
    time.sleep(1)
    # The rep's own reminder for "soon" may have come; nothing else.
    assert all(m[1] == [REP] for m in smtp.sink.messages)
    # Nothing was lost: the follow-ups are as they were.
    assert d.call("followup.get", id=fid)["followup"]["status"] == "pending"
    assert d.call("followup.get", id=nomail)["followup"]["status"] == \
        "pending"


class Refusing:
    """An SMTP handler that refuses some recipients: "times" refusals of
    each address in refuse (None: always) with the code given, then
    accepts; what it accepts goes to sink."""

    def __init__(self, sink, refuse):
        self.sink = sink
        self.refuse = dict(refuse)

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address in self.refuse:
            code, times = self.refuse[address]
            if times is None or times > 0:
                if times is not None:
                    self.refuse[address] = (code, times - 1)
                return code
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return await self.sink.handle_DATA(server, session, envelope)


def refusing(smtp, refuse):
    smtp.stop()
    smtp.sink.messages.clear()
    handler = Refusing(smtp.sink, refuse)
    smtp.ctrl = aiosmtpd_controller.Controller(
        handler, hostname="127.0.0.1", port=smtp.port)
    smtp.ctrl.start()


def test_refused_then_accepted_is_delivered_exactly_once(mail_daemon, smtp):
    d = mail_daemon()
    cid = rep_and_contact(d)
    fid, due = callback(d, cid)
    refusing(smtp, {CONTACT: ("451 4.3.0 try again later", 1)})
    assert d.client("confirm", str(fid))[0] == 0
    msgs = smtp.sink.wait(1, timeout=20)
    time.sleep(3)
    assert len(smtp.sink.messages) == 1
    assert msgs[0][1] == [CONTACT]
    # The refusal was seen and retried, not skipped.
    err = d.call("status")["last_delivery_error"]
    assert err is not None and "exited" in err["error"]
    # Delivered: the contact's history says so, once.
    hist = d.call("interaction.list", contact=cid)["interactions"]
    notes = [i.get("note") or "" for i in hist if i["kind"] == "email"]
    assert len([n for n in notes
                if n.startswith("confirmation sent for ")]) == 1, hist
    # And show tells the rep it went.
    rc, out, _ = d.client("show", str(fid))
    assert rc == 0 and "Confirmation: sent" in out


def test_a_confirmation_given_up_is_reported_to_the_rep(mail_daemon, smtp):
    d = mail_daemon("hook_give_up = 3s\n")
    cid = rep_and_contact(d)
    fid, _ = callback(d, cid)
    refusing(smtp, {CONTACT: ("451 4.3.0 try again later", None)})
    assert d.client("confirm", str(fid))[0] == 0
    msgs = smtp.sink.wait(1, timeout=30)
    assert len(msgs) == 1
    mail_from, rcpts, msg, _, _ = msgs[0]
    assert rcpts == [REP]
    assert msg["X-Followup-Kind"] == "undelivered"
    body = msg.get_content()
    assert "could not be sent to %s" % CONTACT in body
    # The journal says it too.
    deadline = time.time() + 10
    while time.time() < deadline and "could not be sent" not in \
            d.log.read_text(errors="replace"):
        time.sleep(0.2)
    assert "the confirmation to Grace Hopper <%s>" % CONTACT in \
        d.log.read_text(errors="replace")
    rc, out, _ = d.client("show", str(fid))
    assert rc == 0 and "Confirmation: given up" in out
    # No history entry claims it was sent.
    hist = d.call("interaction.list", contact=cid)["interactions"]
    assert not [i for i in hist if (i.get("note") or "").startswith(
        "confirmation sent")]
    time.sleep(2)
    assert len(smtp.sink.messages) == 1
    # Asked for again once the server takes it: it goes out, once.
    refusing(smtp, {})
    rc, out, err = d.client("confirm", str(fid))
    assert rc == 0, err
    msgs = smtp.sink.wait(1, timeout=20)
    time.sleep(2)
    assert len(smtp.sink.messages) == 1 and msgs[0][1] == [CONTACT]
    rc, out, _ = d.client("show", str(fid))
    assert "Confirmation: sent" in out
    # And once sent, asking again is refused: it is not sent twice.
    rc, _, err = d.client("confirm", str(fid))
    assert rc != 0 and "queued or sent already" in err


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_no_automatic_mail_ever_reaches_a_contact(mail_daemon, smtp,
                                                  tmp_path):
    """Reminders, due and missed notices, the summary and the digest all
    fire for a rep whose contacts have email addresses; the SMTP server
    must see none of those addresses among its recipients.  It would catch
    an automatic path through the contact channel too: that channel's
    hook is the same followup-mail with the same msmtp, so such a mail
    would arrive here with the contact as RCPT (as the confirmation in
    the last step does, which proves the check can see one)."""
    clock = tmp_path / "faketime"
    clock.write_text(clock_offset(0))
    digest = time.strftime("%H:%M", time.gmtime(time.time() + 7200))
    d = mail_daemon("manager = boss@test.invalid\nmissed_grace = 1s\n"
                    "late_horizon = 2s\ndigest = %s\n" % digest,
                    faketime=str(clock))
    contacts = ["c%d@prospect.invalid" % i for i in range(4)]
    ids = [rep_and_contact(d, email_=a, name="Prospect %d" % i)
           for i, a in enumerate(contacts)]
    d.call("user.set", tz="UTC")
    # A reminder ahead, follow-ups due, a callback missed.
    now = time.time()
    for i, cid in enumerate(ids[:3]):
        d.call("followup.add", contact=cid, due=rfc3339(now + 4 + 2 * i),
               kind="callback" if i == 2 else "followup",
               remind_before="3s" if i == 0 else 0)
    d.call("followup.add", contact=ids[3], due=rfc3339(now + 3 * 86400))

    def seen():
        return {m[2]["X-Followup-Kind"] for m in smtp.sink.messages}
    deadline = time.time() + 30
    while time.time() < deadline and not \
            {"reminder", "due", "missed"} <= seen():
        time.sleep(0.3)
    # An outage over several notices folds them into a summary.
    due = int(time.time()) + 3
    for i in range(3):
        d.call("followup.add", contact=ids[i], due=rfc3339(due),
               remind_before=0, reason="outage %d" % i)
    d.stop()
    time.sleep(max(0, due + 4 - time.time()))
    d.start()
    deadline = time.time() + 30
    while time.time() < deadline and "summary" not in seen():
        time.sleep(0.3)
    # Two hours on: the morning digest.
    clock.write_text(clock_offset(7260))
    deadline = time.time() + 30
    while time.time() < deadline and "digest" not in seen():
        time.sleep(0.3)
    assert {"reminder", "due", "missed", "summary", "digest"} <= seen(), \
        seen()
    msgs = list(smtp.sink.messages)
    for _, rcpts, msg, raw, _ in msgs:
        assert not set(rcpts) & set(contacts), (rcpts, msg["Subject"])
        assert set(rcpts) <= {REP, "boss@test.invalid"}
        head = raw.split(b"\r\n\r\n")[0]
        for a in contacts:
            assert a.encode() not in head
    # The check sees a contact when one is mailed: the rep asks for it.
    fid = d.call("followup.add", contact=ids[3], due="in 2 days",
                 kind="callback")["followup"]["id"]
    d.call("followup.confirm", id=fid)
    deadline = time.time() + 20
    while time.time() < deadline and not any(
            contacts[3] in m[1] for m in smtp.sink.messages):
        time.sleep(0.2)
    assert [m[1] for m in smtp.sink.messages
            if set(m[1]) & set(contacts)] == [[contacts[3]]]


def hook_input(kind="confirmation", **over):
    """What the contact channel hands followup-mail, made by hand."""
    cal = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"
           "METHOD:%s\r\nBEGIN:VEVENT\r\nUID:followup-9@x\r\n"
           "DTSTAMP:20261124T090000Z\r\nDTSTART:20261125T090000Z\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n" %
           ("CANCEL" if kind == "cancellation" else "REQUEST"))
    conf = {"method": "CANCEL" if kind == "cancellation" else "REQUEST",
            "uid": "followup-9@x",
            "from": {"name": "Zoë \"Rep\"\r\nBcc: evil@x.invalid",
                     "email": REP},
            "to": {"name": "Grace Hopper", "email": CONTACT},
            "subject": "Our call on Wednesday\r\nBcc: evil@x.invalid",
            "text": "Dear Grace,\n\nSee you then.\n", "calendar": cal,
            "time": "Wednesday 25 November 2026, 04:00", "sequence": 0}
    conf.update(over.pop("conf", {}))
    notice = {"kind": kind, "late": False,
              "fire_at": "2026-11-24T09:00:00Z",
              "rep": {"name": "ana", "email": REP, "tz": "UTC"},
              "followup": {"id": 9, "kind": "callback",
                           "due_at": "2026-11-25T09:00:00Z"},
              "contact": {"id": 3, "name": "Grace Hopper",
                          "email": CONTACT},
              "confirmation": conf}
    notice.update(over)
    return {"message_id": "<followup.9.confirm@followupd>",
            "rep": notice["rep"], "notices": [notice]}


def run_hook(data):
    return subprocess.run([FOLLOWUP_MAIL, "--dry-run", "--from", SENDER],
                          input=json.dumps(data).encode(),
                          capture_output=True)


def test_mail_hook_writes_the_confirmation_and_nothing_else_to_a_contact():
    p = run_hook(hook_input())
    assert p.returncode == 0, p.stderr
    msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
    assert msg["To"].addresses[0].addr_spec == CONTACT
    assert msg["From"].addresses[0].addr_spec == REP
    assert msg["From"].addresses[0].display_name.startswith("Zoë \"Rep\"")
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert msg["Message-ID"] == "<followup.9.confirm@followupd>"
    assert msg["Auto-Submitted"] is None
    part = calendar_part(msg)
    assert part.get_param("method") == "REQUEST"
    assert part.get_payload(decode=True) == \
        hook_input()["notices"][0]["confirmation"]["calendar"].encode()
    # Any other kind goes to the rep, whatever it carries.
    p = run_hook(hook_input(kind="reminder"))
    assert p.returncode == 0, p.stderr
    msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
    assert msg["To"] == REP and CONTACT.encode() not in p.stdout
    # A confirmation never travels with other notices.
    data = hook_input()
    data["notices"].append(hook_input(kind="due")["notices"][0])
    p = run_hook(data)
    assert p.returncode == 65 and b"alone" in p.stderr and p.stdout == b""
    # The data must agree with itself, or nothing is written.
    for bad in (hook_input(conf={"to": {"name": "X",
                                        "email": "other@x.invalid"}}),
                hook_input(conf={"from": {"name": "X",
                                          "email": "other@x.invalid"}}),
                hook_input(conf={"method": "CANCEL"}),
                hook_input(kind="cancellation",
                           conf={"method": "CANCEL",
                                 "calendar": hook_input()["notices"][0][
                                     "confirmation"]["calendar"]}),
                hook_input(conf={"to": {"name": "X",
                                        "email": "a@b.invalid, c@d"}}),
                hook_input(confirmation=None)):
        p = run_hook(bad)
        assert p.returncode == 65 and p.stdout == b"", bad
