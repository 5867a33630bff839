"""Reminders that always arrive: the real followupd, the real followup-mail
hook, msmtp as the sendmail and an aiosmtpd server on loopback.

Faults tried here: the SMTP server down when reminders come due, a hook that
hangs, the daemon stopped over a due time, a long outage, the clock stepped
forward and back (libfaketime), hostile contact names and notes (line breaks,
header lookalikes, shell syntax, non-ASCII), a contact email that must never
receive anything, a follow-up done or moved before its reminder, rep
addresses the mail hook cannot send to (refused when set; one stored
before that is given up at its first failure, not retried for a day),
hand-made hook input with a line break in its kind, subjects that
look like encoded words or are too long for one header line, and notices
that come due together (a clock jump or downtime over notices and the
digest, one second for two reps, a hook that fails once) going out as one
mail per rep and claim, under one Message-ID at every attempt.
"""

import email
import email.policy
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pytest

from fu import FAKETIME_LIB, FOLLOWUP, FOLLOWUP_MAIL, WRAPPER, \
    clock_offset, pinned_digest, rfc3339

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

MSMTP = shutil.which("msmtp") or "/usr/bin/msmtp"
REP = "rep@test.invalid"


class Sink:
    """Collects what the SMTP server receives."""

    def __init__(self):
        self.messages = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content,
                                       policy=email.policy.default)
        with self.cond:
            self.messages.append((envelope.mail_from,
                                  list(envelope.rcpt_tos), msg,
                                  envelope.content, time.time()))
            self.cond.notify_all()
        return "250 OK"

    def wait(self, count, timeout=15):
        deadline = time.time() + timeout
        with self.cond:
            while len(self.messages) < count:
                left = deadline - time.time()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.messages)


class Smtp:
    def __init__(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.sink = Sink()
        self.ctrl = None

    def start(self):
        self.ctrl = aiosmtpd_controller.Controller(
            self.sink, hostname="127.0.0.1", port=self.port)
        self.ctrl.start()

    def stop(self):
        if self.ctrl is not None:
            self.ctrl.stop()
            self.ctrl = None


@pytest.fixture
def smtp():
    server = Smtp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_daemon(make_daemon, smtp, tmp_path):
    """A daemon whose mail hook is followup-mail with msmtp as sendmail."""
    home = tmp_path / "home"
    home.mkdir()
    rc = home / ".msmtprc"
    rc.write_text("defaults\nauth off\ntls off\n"
                  "account default\nhost 127.0.0.1\nport %d\n"
                  "from followup@test.invalid\n" % smtp.port)
    rc.chmod(0o600)

    def make(extra="", faketime=None):
        if "digest" not in extra:
            extra += pinned_digest()
        return make_daemon(
            "[reminders]\n"
            "hook = %s --sendmail %s --from followup@test.invalid\n"
            "missed_grace = 4s\nhook_timeout = 10s\nhook_retry = 1s\n"
            "check_interval = 1s\n%s" % (FOLLOWUP_MAIL, MSMTP, extra),
            home=home, faketime=faketime)
    return make


def watch(d):
    c = d.connect(timeout=20)
    assert c.request("watch")["ok"]
    return c


def setup_rep(d, name="Ada Lovelace", **contact):
    d.call("user.set", email=REP)
    args = dict(name=name, company="Analytical Engines",
                phone="+44 20 7946 0001", tz="Europe/London")
    args.update(contact)
    return d.call("contact.add", **args)["contact"]["id"]


def bodies(messages):
    return [m[2].get_content() for m in messages]


def test_callback_reminder_due_and_missed_arrive_by_mail_and_watch(
        mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    w = watch(d)
    due = int(time.time()) + 4
    fu = d.call("followup.add", contact=cid, due=rfc3339(due),
                kind="callback", remind_before="2s",
                reason="go through the quote")["followup"]
    events = []
    for _ in range(3):
        ev = w.reply()
        events.append((ev["event"], time.time(), ev["notice"]))
    assert [e[0] for e in events] == ["reminder", "due", "missed"]
    assert all(e[2]["followup"]["id"] == fu["id"] for e in events)
    # Further requests on a watching connection are refused, id echoed.
    w.send(b'{"id": 77, "op": "hello"}\n')
    r = w.reply()
    assert r["id"] == 77 and r["error"]["code"] == "bad_request"
    # On time: never before the moment, at most a few seconds after.
    for (kind, at, _), want in zip(events, (due - 2, due, due + 4)):
        assert want - 0.5 <= at <= want + 3, (kind, at - want)
    assert events[2][2]["late_by"] >= 4
    msgs = smtp.sink.wait(3)
    assert len(msgs) == 3
    subjects = [m[2]["Subject"] for m in msgs]
    assert subjects[0].startswith("Callback coming up: Ada Lovelace")
    assert subjects[1].startswith("Callback due now: Ada Lovelace")
    assert subjects[2].startswith("Missed callback: Ada Lovelace")
    for _, rcpts, msg, _, _ in msgs:
        assert rcpts == [REP]
        assert msg["To"] == REP
        assert msg["Auto-Submitted"] == "auto-generated"
    body = msgs[0][2].get_content()
    assert "go through the quote" in body
    assert "tel:+442079460001" in body
    assert "apologise" in msgs[2][2].get_content()
    assert "followup reagree %d WHEN" % fu["id"] in msgs[2][2].get_content()
    # Three different notices, three different message ids.
    assert len({m[2]["Message-ID"] for m in msgs}) == 3
    w.close()


def test_done_or_cancelled_followup_is_never_reminded(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    due = rfc3339(time.time() + 2)
    a = d.call("followup.add", contact=cid, due=due, kind="callback",
               remind_before=0)["followup"]
    b = d.call("followup.add", contact=cid, due=due)["followup"]
    d.call("followup.done", id=a["id"])
    d.call("followup.cancel", id=b["id"])
    time.sleep(7)
    assert smtp.sink.messages == []


def test_moved_followup_is_reminded_for_its_new_time_only(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    fu = d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
                remind_before=0)["followup"]
    new_due = int(time.time()) + 5
    d.call("followup.reschedule", id=fu["id"], due=rfc3339(new_due))
    # Editing other fields of the contact sends nothing again.
    d.call("contact.update", id=cid, notes="called twice")
    msgs = smtp.sink.wait(1, timeout=10)
    assert len(msgs) == 1
    assert msgs[0][4] >= new_due - 0.5
    time.sleep(2)
    assert len(smtp.sink.messages) == 1


def test_lead_zero_sends_one_message_when_due(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
           remind_before=0, kind="followup")
    msgs = smtp.sink.wait(1)
    time.sleep(2)
    assert len(smtp.sink.messages) == 1
    assert msgs[0][2]["X-Followup-Kind"] == "due"


def test_daemon_down_over_due_time_delivers_late_once(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
           remind_before=0, reason="send the contract")
    d.stop()
    time.sleep(3)
    d.start()
    msgs = smtp.sink.wait(1)
    assert len(msgs) == 1
    assert "This notice is late" in msgs[0][2].get_content()
    d.stop()
    d.start()
    time.sleep(2)
    assert len(smtp.sink.messages) == 1, "a normal restart sent it again"


def test_smtp_down_then_back_delivers_every_reminder_once(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    smtp.stop()
    due = time.time() + 1
    for i in range(3):
        d.call("followup.add", contact=cid, due=rfc3339(due + i),
               remind_before=0, reason="reason-%d" % i)
    # First delivery fails: the error shows in status, nothing is lost.
    deadline = time.time() + 15
    while time.time() < deadline:
        st = d.call("status")
        if st["last_delivery_error"] is not None:
            break
        time.sleep(0.2)
    assert st["last_delivery_error"] is not None
    assert "exited 75" in st["last_delivery_error"]["error"]
    assert st["outbox_backlog"] >= 1
    smtp.start()
    deadline = time.time() + 20
    while time.time() < deadline and d.call("status")["outbox_backlog"]:
        time.sleep(0.2)
    assert d.call("status")["outbox_backlog"] == 0
    time.sleep(2)
    text = "".join(bodies(smtp.sink.messages))
    for i in range(3):
        assert text.count("reason-%d" % i) == 1


def test_hanging_hook_is_killed_and_retried(mail_daemon, tmp_path):
    marker = tmp_path / "hung-once"
    out = tmp_path / "delivered"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\n"
                    "if [ ! -e %s ]; then touch %s; exec sleep 60; fi\n"
                    "cat > %s.tmp && mv %s.tmp %s\n" % (marker, marker, out,
                                                        out, out))
    hook.chmod(0o755)
    d = mail_daemon("hook = %s\n" % hook)
    d.conf.write_text(d.conf.read_text().replace("hook_timeout = 10s",
                                                 "hook_timeout = 1s"))
    d.stop()
    d.start()
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
           remind_before=0)
    deadline = time.time() + 20
    while time.time() < deadline and not out.exists():
        time.sleep(0.2)
    assert marker.exists() and out.exists()
    delivered = json.loads(out.read_text())
    assert delivered["notices"][0]["kind"] == "due"
    assert "timed out" in d.log.read_text()


def test_hostile_names_make_well_formed_mail_to_the_rep_only(mail_daemon,
                                                            smtp):
    d = mail_daemon()
    cid = setup_rep(d, name="Zoë Ünal",
                    company="$(rm -rf /); `id` > /tmp/x",
                    email="prospect@example.com",
                    notes="line one\r\nBcc: evil@example.com\r\n\r\nbody")
    d.call("interaction.add", contact=cid, kind="call", outcome="reached",
           note="To: evil@example.com\nSubject: hi")
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
           remind_before=0, reason="Bcc: evil@example.com\r\nquote")
    msgs = smtp.sink.wait(1)
    assert len(msgs) == 1
    mail_from, rcpts, msg, raw, _ = msgs[0]
    assert rcpts == [REP]
    assert msg["To"] == REP
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert "Zoë Ünal" in msg["Subject"]
    assert "\n" not in msg["Subject"]
    assert msg.get_content_charset() == "utf-8"
    body = msg.get_content()
    assert "Zoë Ünal" in body and "$(rm -rf /)" in body
    assert "prospect@example.com" not in raw.decode()
    for line in raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        assert not line.lower().startswith(b"bcc")


def test_notices_due_in_one_second_travel_as_one_message(mail_daemon, smtp):
    d = mail_daemon()
    cid = setup_rep(d)
    due = rfc3339(time.time() + 2)
    for reason in ("one", "two", "three"):
        d.call("followup.add", contact=cid, due=due, remind_before=0,
               reason=reason)
    msgs = smtp.sink.wait(1)
    time.sleep(2)
    assert len(smtp.sink.messages) == 1
    assert msgs[0][2]["X-Followup-Kind"] == "batch"
    body = msgs[0][2].get_content()
    assert "one" in body and "two" in body and "three" in body


def test_long_outage_folds_into_one_summary(mail_daemon, smtp):
    d = mail_daemon("late_horizon = 2s\n")
    cid = setup_rep(d)
    # One due time, far enough ahead that even a daemon under valgrind is
    # stopped before it: all four notices must come due during the outage.
    due = int(time.time()) + 5
    for i in range(4):
        d.call("followup.add", contact=cid, due=rfc3339(due),
               remind_before=0, reason="item %d" % i)
    d.stop()
    assert time.time() < due, "the daemon took too long to stop"
    time.sleep(due + 4 - time.time())
    d.start()
    msgs = smtp.sink.wait(1)
    time.sleep(2)
    assert len(smtp.sink.messages) == 1
    assert msgs[0][2]["X-Followup-Kind"] == "summary"
    assert "4 notices" in msgs[0][2]["Subject"]


def test_missed_callback_copies_the_manager(mail_daemon, smtp):
    d = mail_daemon("manager = boss@test.invalid\nmissed_grace = 1s\n")
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
           kind="callback", remind_before=0)
    msgs = smtp.sink.wait(2)
    assert len(msgs) == 2
    missed = [m for m in msgs if m[2]["X-Followup-Kind"] == "missed"][0]
    assert sorted(missed[1]) == ["boss@test.invalid", REP]
    due = [m for m in msgs if m[2]["X-Followup-Kind"] == "due"][0]
    assert due[1] == [REP]


def test_missed_callback_says_what_to_do_and_the_command(mail_daemon,
                                                          smtp):
    d = mail_daemon("missed_grace = 1s\n")
    cid = setup_rep(d)
    w = watch(d)
    shown = subprocess.Popen([FOLLOWUP, "--socket", d.sock, "watch"],
                             stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, TZ="UTC"))
    assert shown.stdout.readline().startswith("Watching")
    fu = d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
                kind="callback", remind_before=0)["followup"]
    cmd = "followup reagree %d WHEN" % fu["id"]
    advice = ("apologise, and ask whether now is a right time to talk or "
              "take another convenient time")
    msgs = smtp.sink.wait(2)
    missed = [m for m in msgs if m[2]["X-Followup-Kind"] == "missed"][0]
    body = missed[2].get_content()
    assert advice in body
    assert "\n  %s\r\n" % cmd in body
    assert "reschedule" not in body
    # The watch event and the journal line say the same.
    events = [w.reply() for _ in range(2)]
    ev = [e for e in events if e["event"] == "missed"][0]
    assert ev["notice"]["advice"] == "%s; %s" % (advice, cmd)
    line = [ln for ln in d.log.read_text().splitlines()
            if "missed: callback %d " % fu["id"] in ln][0]
    assert line.endswith(": %s; %s" % (advice, cmd))
    w.close()
    # followup watch shows it under the missed notice.
    try:
        lines = [shown.stdout.readline() for _ in range(3)]
    finally:
        shown.terminate()
        shown.wait(10)
    assert " MISSED " in lines[1]
    assert lines[2].strip() == "%s; %s" % (advice, cmd)
    # The command it gives works as given.
    rc, out, err = d.client("reagree", str(fu["id"]), "in 2 hours")
    assert rc == 0, err


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_clock_jumps_neither_lose_nor_repeat_reminders(mail_daemon, smtp,
                                                       tmp_path):
    clock = tmp_path / "faketime"
    clock.write_text(clock_offset(0))
    d = mail_daemon(faketime=str(clock))
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1800),
           remind_before=0, reason="half an hour away")
    time.sleep(1.5)
    assert smtp.sink.messages == []
    clock.write_text(clock_offset(3600))     # an hour forward
    msgs = smtp.sink.wait(1, timeout=10)
    assert len(msgs) == 1
    clock.write_text(clock_offset(0))        # and back
    time.sleep(2.5)
    clock.write_text(clock_offset(3600))     # and forward again
    time.sleep(2.5)
    assert len(smtp.sink.messages) == 1
    assert "clock jumped forward" in d.log.read_text()


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_digest_arrives_at_the_reps_hour(mail_daemon, smtp):
    d = mail_daemon("digest = 08:00\n", faketime="@2026-11-23 07:59:56")
    cid = setup_rep(d)
    d.call("user.set", tz="UTC")
    d.call("followup.add", contact=cid, due="today 11:00", kind="callback",
           reason="call about the order")
    d.call("followup.add", contact=cid, due="today 15:00",
           reason="send prices")
    msgs = smtp.sink.wait(1, timeout=15)
    assert len(msgs) == 1
    msg = msgs[0][2]
    assert msg["X-Followup-Kind"] == "digest"
    assert "2026-11-23" in msg["Subject"]
    body = msg.get_content()
    assert body.index("call about the order") < body.index("send prices")


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_empty_digest_is_not_sent(mail_daemon, smtp):
    d = mail_daemon("digest = 08:00\n", faketime="@2026-11-23 07:59:57")
    d.call("user.set", email=REP)
    d.call("contact.add", name="Nobody planned")  # not stale yet
    time.sleep(6)
    assert smtp.sink.messages == []


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_digest_lists_stale_contacts(mail_daemon, smtp, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("@2026-11-02 09:00:00\n")      # a Monday
    d = mail_daemon("digest = 08:00\n", faketime=str(clock))
    dee = setup_rep(d, "Dee Stale", stage="contacted")
    d.call("user.set", tz="UTC")
    d.call("contact.add", name="Wes Won", stage="won")
    planned = d.call("contact.add", name="Pat Planned")["contact"]
    d.call("followup.add", contact=planned["id"],
           due="2026-12-01T10:00:00Z")
    busy = d.call("contact.add", name="Bo Busy")["contact"]
    # Three weeks on Bo is called; the day after, only Dee has had nothing
    # planned and no news for stale_after (14 days) in an open stage.
    clock.write_text("@2026-11-22 10:00:00\n")
    time.sleep(0.1)
    d.call("interaction.add", contact=busy["id"], kind="call",
           outcome="reached", note="talk in January")
    assert d.call("contact.get", id=busy["id"])["followups"] == []
    w = watch(d)
    clock.write_text("@2026-11-23 07:59:58\n")
    # (The digest planned for 3 November goes out late on the jump; the
    # one looked at is the 23rd's, on time.)
    digest = None
    while digest is None:
        ev = w.reply()
        if ev["event"] == "digest" and \
                ev["notice"]["date"] == "2026-11-23":
            digest = ev["notice"]
    w.close()
    assert digest["late"] is False
    assert [c["name"] for c in digest["stale"]] == ["Dee Stale"]
    assert digest["stale"][0]["id"] == dee
    # The mailed digest lists Dee under the stale heading.
    deadline = time.time() + 15
    while time.time() < deadline:
        mails = [m[2] for m in smtp.sink.messages
                 if m[2]["X-Followup-Kind"] == "digest" and
                 "2026-11-23" in m[2]["Subject"]]
        if mails:
            break
        time.sleep(0.2)
    assert len(mails) == 1
    body = mails[0].get_content()
    stale = body[body.index("Nothing planned, no news for a while:"):]
    assert "Dee Stale (contacted)" in stale
    for name in ("Wes Won", "Pat Planned", "Bo Busy"):
        assert name not in stale


def test_mail_hook_dry_run_prints_a_well_formed_message():
    notice = {"message_id": "<followup.9.1.abc@host>",
              "rep": {"name": "ana", "email": "ana@test.invalid",
                      "tz": "Europe/Berlin"},
              "notices": [{"kind": "due", "late": False,
                           "fire_at": "2026-11-24T09:00:00Z",
                           "followup": {"id": 9, "kind": "callback",
                                        "due_at": "2026-11-24T09:00:00Z",
                                        "reason": "quote"},
                           "contact": {"name": "Ada\r\nBcc: x@y",
                                       "email": "prospect@example.com",
                                       "tz": "America/New_York",
                                       "stage": "proposal"},
                           "interactions": []}]}
    p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                       input=json.dumps(notice).encode(),
                       capture_output=True, check=True)
    msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
    assert msg["To"] == "ana@test.invalid"
    assert msg["Message-ID"] == "<followup.9.1.abc@host>"
    assert msg["Bcc"] is None
    body = msg.get_content()
    assert "Tue 24 Nov 10:00 (your time, Europe/Berlin)" in body
    assert "Tue 24 Nov 04:00 their time (America/New_York)" in body
    assert "prospect@example.com" not in p.stdout.decode()


def test_mail_hook_refuses_bad_input_and_reports_sendmail_failure(tmp_path):
    p = subprocess.run([FOLLOWUP_MAIL], input=b"not json",
                       capture_output=True)
    assert p.returncode == 65 and b"not JSON" in p.stderr
    bad = {"rep": {"name": "ana", "email": "a@b\r\nBcc: c@d"},
           "notices": [{"kind": "due"}]}
    p = subprocess.run([FOLLOWUP_MAIL], input=json.dumps(bad).encode(),
                       capture_output=True)
    assert p.returncode == 65 and b"no usable address" in p.stderr
    ok = {"rep": {"name": "ana"}, "notices": [{"kind": "due"}]}
    p = subprocess.run([FOLLOWUP_MAIL, "--sendmail", "/bin/false"],
                       input=json.dumps(ok).encode(), capture_output=True)
    assert p.returncode == 75


@pytest.mark.parametrize("from_opt", [None, "sales-robot@test.invalid"])
def test_documented_msmtp_hook_delivers_with_no_rc_file(make_daemon, smtp,
                                                        tmp_path, from_opt):
    """The hook line the manuals give for the system unit: msmtp with the
    server on its command line and no configuration file anywhere, so the
    envelope sender can only come from followup-mail."""
    home = tmp_path / "home-without-msmtprc"
    home.mkdir()
    hook = '%s --sendmail "%s --host=127.0.0.1 --port=%d"' % (
        FOLLOWUP_MAIL, MSMTP, smtp.port)
    if from_opt is not None:
        hook += " --from " + from_opt
    d = make_daemon("[reminders]\nhook = %s\nhook_retry = 1s\n"
                    "check_interval = 1s\n" % hook, home=home)
    cid = setup_rep(d)
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 2),
           remind_before=0)
    msgs = smtp.sink.wait(1, timeout=20)
    assert len(msgs) == 1, d.log.read_text()[-3000:]
    sender, rcpts, msg, _, _ = msgs[0]
    want = from_opt or "followup@" + socket.gethostname()
    assert sender == want
    assert rcpts == [REP]
    assert msg["From"] == "followup <%s>" % want
    assert "exited" not in d.log.read_text()


ADDRESSES = ["bob@example.com", "a@b", "bob+sales@mail.example.com",
             "bøb@example.com", "bob@exämple.com", "-bob@example.com",
             "a@b@c.d", "a b@c.d", "<bob@example.com>", "bob@",
             "@example.com", "bob@example.com\r\nBcc: x@y", "b" * 250 + "@c.d",
             "b" * 251 + "@c.d"]


def test_one_address_rule_for_the_daemon_and_the_mail_hook(make_daemon):
    d = make_daemon()
    c = d.connect()
    for addr in ADDRESSES:
        r = c.request("user.set", {"email": addr})
        notice = {"rep": {"name": "bob", "email": addr},
                  "notices": [{"kind": "due"}]}
        p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                           input=json.dumps(notice).encode(),
                           capture_output=True)
        # What the daemon takes, the mail hook sends to; what it refuses,
        # the daemon refused when it was set.
        assert r["ok"] == (p.returncode == 0), (addr, r, p.stderr)
        if not r["ok"]:
            assert r["error"]["code"] == "bad_request"
            assert "email" in r["error"]["message"], r
            assert p.returncode == 65 and b"no usable address" in p.stderr
    # A refused address leaves the one set before it.
    c.call("user.set", email="bob@example.com")
    e = c.error("user.set", email="bøb@example.com")
    assert e["code"] == "bad_request"
    assert e["message"] == ('"bøb@example.com" is not an email address '
                            'followup can mail (user@example.com, in plain '
                            'ASCII)'), e
    assert c.call("user.get")["user"]["email"] == "bob@example.com"
    c.close()


def test_mail_to_an_address_set_before_the_rule_is_given_up_at_once(
        mail_daemon, smtp):
    # An address stored by an older followupd that took SMTPUTF8: the mail
    # hook refuses it (exit 65), and that is never worth a retry.
    d = mail_daemon("hook_give_up = 1d\n")
    cid = setup_rep(d)
    rep = d.call("user.get")["user"]["name"]
    d.sql("UPDATE users SET email = ? WHERE name = ?",
          ("bøb@example.com", rep))
    d.call("followup.add", contact=cid, due=rfc3339(time.time() + 1),
           remind_before=0)
    deadline = time.time() + 30
    while "permanent failure" not in d.log.read_text():
        assert time.time() < deadline, d.log.read_text()
        time.sleep(0.1)
    time.sleep(2.5)     # hook_retry is 1 s: a retry would have run
    log = d.log.read_text()
    assert "giving up on due notice" in log and "no usable address" in log
    assert "retry 1 in" not in log, log
    st = d.call("status")
    assert st["deliveries_failed"] >= 1, st
    assert smtp.sink.messages == []
    doc = d.client("doctor")
    assert "bøb@example.com" in doc[1] and "plain ASCII" in doc[1], doc


def dry_run(notice):
    """followup-mail --dry-run on notice: the raw message and its parse."""
    p = subprocess.run([FOLLOWUP_MAIL, "--dry-run"],
                       input=json.dumps(notice).encode(),
                       capture_output=True, check=True)
    return p.stdout, email.message_from_bytes(p.stdout,
                                              policy=email.policy.default)


def one_notice(kind="due", name="Ada", company=None):
    contact = {"name": name, "stage": "lead", "tz": "UTC"}
    if company is not None:
        contact["company"] = company
    return {"rep": {"name": "ana", "email": "ana@test.invalid", "tz": "UTC"},
            "notices": [{"kind": kind, "late": False,
                         "followup": {"id": 7, "kind": "callback",
                                      "due_at": "2026-11-24T09:00:00Z"},
                         "contact": contact, "interactions": []}]}


def header_lines(raw):
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize("kind", [
    "due\r\nBcc: evil@example.com", "due\nX-Evil: 1", "digest extra",
    "Due", "x" * 300, "",
])
def test_mail_hook_never_copies_an_unknown_kind_into_a_header(kind):
    raw, msg = dry_run(one_notice(kind=kind))
    assert msg["X-Followup-Kind"] == "notice"
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    names = [l.split(b":", 1)[0] for l in header_lines(raw)
             if not l.startswith(b" ")]
    assert b"Bcc" not in names and b"X-Evil" not in names, names
    for known in ("reminder", "due", "missed", "digest", "summary"):
        assert dry_run(one_notice(kind=known))[1]["X-Followup-Kind"] == known


@pytest.mark.parametrize("name, company", [
    # A name that looks like an encoded word must arrive as written.
    ("=?UTF-8?B?SGFja2Vk?=", None),
    ("Ada =?iso-8859-1?q?=E9?= Lovelace", "Engines"),
    # Long, non-ASCII: many encoded words.
    ("Zoë Ünal", "Analytische Maschinen für Überseehandel und Ödland GmbH"),
    ("Ünal " * 30, None),
    # Long, plain ASCII: folded between words.
    ("Ada Lovelace", "Analytical Engines Limited of Greater London and "
     "the Surrounding Counties"),
    # A word longer than a line.
    ("A" * 90, None),
])
def test_mail_subjects_arrive_as_written_in_lines_of_76(name, company):
    raw, msg = dry_run(one_notice(name=name, company=company))
    lines = header_lines(raw)
    i = [n for n, l in enumerate(lines) if l.startswith(b"Subject:")][0]
    subject = [lines[i]]
    for l in lines[i + 1:]:
        if not l.startswith(b" "):
            break
        subject.append(l)
    for l in subject:
        assert len(l) <= 76, (len(l), l)
        assert all(32 <= b < 127 for b in l), l
    text = msg["Subject"]
    full = " ".join(name.split())
    assert text.startswith("Callback due now: ")
    if not text.endswith("..."):    # long subjects are cut
        assert full in " ".join(text.split()), text
        if company is not None:
            assert "(%s)" % company in text, text
        assert text.endswith(" at Tue 24 Nov 09:00"), text
    else:
        assert full[:60] in " ".join(text.split()), text
    if "=?" in name or any(ord(c) > 127 for c in name):
        # Encoded, so the reader's mail program decodes only what we
        # encoded: the name's own "=?...?=" stays text.
        assert b"=?UTF-8?B?" in lines[i], lines[i]
        assert name.encode() not in raw


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_a_three_day_jump_sends_one_late_digest_per_missed_day(make_daemon,
                                                               clock):
    # After a 3-day clock jump the one late digest was dated the first day
    # but listed the second and third days' follow-ups as overdue, and no
    # digest came for the other days.  Now each missed day has its own,
    # dated that day and listing what was due that day.
    clock("2026-11-22 12:00:00")                  # a Sunday
    d = make_daemon("[reminders]\ndigest = 08:00\ncheck_interval = 1s\n",
                    faketime=clock.path)
    d.call("user.set", tz="UTC")
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    ids = {}
    for day in ("23", "24", "25"):
        ids[day] = d.call("followup.add", contact=cid,
                          due="2026-11-%sT10:00:00Z" % day,
                          reason="day %s" % day)["followup"]["id"]
    w = watch(d)
    clock("2026-11-25 12:00:00")
    digests = {}
    deadline = time.time() + 20
    while len(digests) < 3:
        assert time.time() < deadline, digests
        ev = w.reply()
        if ev["event"] == "digest":
            n = ev["notice"]
            assert n["date"] not in digests, n
            digests[n["date"]] = n
    # Nothing more for those days.
    w.sock.settimeout(2)
    try:
        while True:
            ev = w.reply()
            assert ev["event"] != "digest", ev
    except OSError:
        pass
    w.close()

    def listed(n, key):
        return [f["id"] for f in n[key]]
    assert sorted(digests) == ["2026-11-23", "2026-11-24", "2026-11-25"]
    for date, n in digests.items():
        assert n["late"] is True
        assert n["fire_at"] == date + "T08:00:00Z"
    assert listed(digests["2026-11-23"], "overdue") == []
    assert listed(digests["2026-11-23"], "today") == [ids["23"]]
    assert listed(digests["2026-11-24"], "overdue") == [ids["23"]]
    assert listed(digests["2026-11-24"], "today") == [ids["24"]]
    assert listed(digests["2026-11-25"], "overdue") == [ids["23"],
                                                       ids["24"]]
    assert listed(digests["2026-11-25"], "today") == [ids["25"]]


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_a_notice_and_the_digest_claimed_together_go_out_as_one_mail(
        mail_daemon, smtp, tmp_path):
    """A clock jump over a follow-up's due time and the rep's digest time
    claims both at once: one mail carries both, not one mail each."""
    clock = tmp_path / "clock"
    clock.write_text("@2026-11-23 07:00:00\n")     # a Monday
    d = mail_daemon("digest = 08:00\n", faketime=str(clock))
    cid = setup_rep(d)
    d.call("user.set", tz="UTC")
    d.call("followup.add", contact=cid, due="2026-11-23T07:30:00Z",
           remind_before=0, reason="call about the order")
    d.call("followup.add", contact=cid, due="2026-11-23T15:00:00Z",
           remind_before=0, reason="send prices")
    time.sleep(1.5)
    assert smtp.sink.messages == []
    clock.write_text("@2026-11-23 08:00:20\n")     # past 07:30 and 08:00
    msgs = smtp.sink.wait(1, timeout=15)
    time.sleep(3)                                  # no second mail comes
    assert len(smtp.sink.messages) == 1, [m[2]["Subject"] for m in
                                          smtp.sink.messages]
    msg = msgs[0][2]
    assert msg["X-Followup-Kind"] == "batch"
    body = msg.get_content()
    assert "call about the order" in body          # the due notice
    assert "send prices" in body                   # the digest's day
    # A second rep's notices, claimed in the same pass, are never in it.
    assert all(m[1] == [REP] for m in smtp.sink.messages)


def test_a_grouped_delivery_keeps_its_message_id_when_retried(make_daemon,
                                                              tmp_path):
    """A retry carries the first attempt's Message-ID, so a mail that went
    out but was not acknowledged can be recognised when it comes again."""
    ids = tmp_path / "ids"
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\n"
                    "cat >/dev/null\n"
                    "echo \"$FOLLOWUP_MESSAGE_ID\" >> %s\n"
                    "[ $(wc -l < %s) -ge 2 ] || exit 75\n" % (ids, ids))
    hook.chmod(0o755)
    d = make_daemon("[reminders]\nhook = %s\nhook_retry = 1s\n" % hook)
    d.call("user.set", email=REP)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    due = rfc3339(time.time() + 2)
    for reason in ("one", "two"):
        d.call("followup.add", contact=cid, due=due, remind_before=0,
               reason=reason)
    deadline = time.time() + (60 if WRAPPER else 20)
    while time.time() < deadline and (not ids.exists() or
                                      len(ids.read_text().split()) < 2):
        time.sleep(0.2)
    time.sleep(1.5)
    first, again = ids.read_text().split()        # failed, then delivered
    assert first == again and first.startswith("<followup.")
    assert ".2." in first                         # both notices, one run
    # The database's identity, not the host: the same from any node.
    assert re.fullmatch(r"<followup\.\d+\.2\.[0-9a-f]{8}@[0-9a-f]{32}"
                        r"\.followupd>", first), first


def grouping_setup(d):
    """A rep in UTC with a follow-up due at 07:30 and one at 10:00 on
    Monday 2026-11-23 (so the 08:00 digest lists both)."""
    d.call("user.set", tz="UTC", email=REP)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    for due, reason in (("07:30", "early call"), ("10:00", "late call")):
        d.call("followup.add", contact=cid, remind_before=0,
               due="2026-11-23T%s:00Z" % due, reason=reason)
    return cid


def flaky_hook(tmp_path, failures=1):
    """A hook that logs "MESSAGE-ID COUNT" per run and fails (75) the
    first failures runs.  Returns the hook and a reader of its runs."""
    calls = tmp_path / "calls"
    hook = tmp_path / "flaky.sh"
    hook.write_text("#!/bin/sh\n"
                    "cat >/dev/null\n"
                    "echo \"$FOLLOWUP_MESSAGE_ID $FOLLOWUP_COUNT\" >> %s\n"
                    "[ $(wc -l < %s) -gt %d ] || exit 75\n"
                    % (calls, calls, failures))
    hook.chmod(0o755)

    def runs():
        if not calls.exists():
            return []
        return [tuple(line.split()) for line in
                calls.read_text().splitlines()]
    return hook, runs


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_restart_after_downtime_sends_late_notices_and_digest_as_one_mail(
        mail_daemon, smtp, clock):
    clock("2026-11-23 07:00:00")                  # a Monday
    d = mail_daemon("digest = 08:00\n", faketime=clock.path)
    cid = grouping_setup(d)
    d.call("followup.add", contact=cid, remind_before=0,
           due="2026-11-23T07:45:00Z", reason="middle call")
    d.stop()
    clock("2026-11-23 08:00:30")
    d.start()
    msgs = smtp.sink.wait(1)
    time.sleep(3)
    assert len(smtp.sink.messages) == 1, bodies(smtp.sink.messages)
    assert msgs[0][2]["X-Followup-Kind"] == "batch"
    body = msgs[0][2].get_content()
    # Two late due notices and the digest (the only one to list 10:00).
    for reason in ("early call", "middle call", "late call"):
        assert reason in body
    assert "This notice is late" in body


def test_two_reps_due_in_the_same_second_never_share_a_mail(mail_daemon,
                                                           smtp):
    d = mail_daemon()
    due = rfc3339(time.time() + 2)
    for user, addr in ((None, REP), ("nobody", "other@test.invalid")):
        c = d.connect()

        def call(op, **args):
            r = {"id": 1, "op": op, "args": args}
            if user is not None:
                r["as"] = user
            c.send(r)
            reply = c.reply()
            assert reply["ok"], reply
            return reply["result"]
        call("user.set", email=addr)
        cid = call("contact.add", name="Ada Lovelace")["contact"]["id"]
        for reason in ("one", "two"):
            call("followup.add", contact=cid, due=due, remind_before=0,
                 reason="%s for %s" % (reason, addr))
        c.close()
    msgs = smtp.sink.wait(2)
    time.sleep(2)
    assert len(smtp.sink.messages) == 2
    assert sorted(m[1][0] for m in msgs) == ["other@test.invalid", REP]
    for _, rcpts, msg, _, _ in msgs:
        assert msg["X-Followup-Kind"] == "batch"
        body = msg.get_content()
        assert "one for %s" % rcpts[0] in body
        assert "two for %s" % rcpts[0] in body
        assert "test.invalid" not in body.replace(rcpts[0], "")


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_a_group_past_its_oldest_notices_give_up_is_retried_whole(
        make_daemon, clock, tmp_path):
    # After a jump to 08:10 the 07:30 notice is past hook_give_up (30m)
    # and the 08:00 digest is not.  The failed group was split: the notice
    # given up, the digest retried alone under another Message-ID.
    hook, runs = flaky_hook(tmp_path)
    clock("2026-11-23 07:00:00")
    d = make_daemon("[reminders]\nhook = %s\nhook_retry = 1s\n"
                    "hook_give_up = 30m\ndigest = 08:00\n"
                    "check_interval = 1s\n" % hook, faketime=clock.path)
    grouping_setup(d)
    clock("2026-11-23 08:10:00")
    deadline = time.time() + 20
    while time.time() < deadline and len(runs()) < 2:
        time.sleep(0.2)
    time.sleep(2)
    first, again = runs()                         # failed, then delivered
    assert first == again and first[1] == "2", runs()
    assert d.call("status")["outbox_backlog"] == 0


@pytest.mark.skipif(FAKETIME_LIB is None or WRAPPER != [],
                    reason="needs libfaketime, and no valgrind wrapper")
def test_a_retried_notice_is_not_merged_with_a_later_claim(make_daemon,
                                                           clock, tmp_path):
    # One hook run at a time, each 2 s: notice A's run fails (03-05), B's
    # holds the hook (05-07) while A's retry falls due and C (06) is
    # claimed.  A's retry and C, of the same minute, went out together
    # under a new Message-ID; a group is what one claim recorded.
    hook, runs = flaky_hook(tmp_path)
    slow = tmp_path / "slow.sh"
    slow.write_text("#!/bin/sh\nsleep 2\nexec %s\n" % hook)
    slow.chmod(0o755)
    clock("2026-11-23 07:00:00")
    d = make_daemon("[reminders]\nhook = %s\nhook_retry = 1s\n"
                    "hook_max = 1\ncheck_interval = 1s\n%s"
                    % (slow, pinned_digest()), faketime=clock.path)
    d.call("user.set", tz="UTC", email=REP)
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    for due in ("07:00:03", "07:00:04", "07:00:06"):
        d.call("followup.add", contact=cid, remind_before=0,
               due="2026-11-23T%sZ" % due)
    deadline = time.time() + 30
    while time.time() < deadline and len(runs()) < 4:
        time.sleep(0.2)
    time.sleep(3)
    got = runs()
    assert all(count == "1" for _, count in got), got
    assert len(got) == 4 and got[0] in got[1:], got
    assert len(set(got)) == 3, got
