"""The sales method through the real client, with the daemon's clock set by
libfaketime: outcomes propose the next step (the voicemail cadence, working
days after information sent), logging a contact completes the follow-up it
answers, the weekly voicemail limit, working hours per rep and in the
contact's zone.  Bad input tried: --next with --no-next, a hand-planned
follow-up into a full week (refused, then forced), a voicemail over the
limit (kept and flagged), invalid cadence settings in the config file."""

import json
import subprocess
import time

import pytest

from fu import FAKETIME_LIB, FOLLOWUPD, WRAPPER

pytestmark = pytest.mark.skipif(
    FAKETIME_LIB is None or WRAPPER != [],
    reason="needs libfaketime, and no valgrind wrapper")


@pytest.fixture
def sales(make_daemon, clock):
    """A daemon on the fake clock at Monday 2026-11-02 09:00 UTC."""
    def make(config="", start="2026-11-02 09:00:00"):
        clock(start)
        return make_daemon(config, faketime=clock.path)
    return make


def log(d, cid, *args):
    rc, out, err = d.client("--json", "log", str(cid), *args)
    assert rc == 0, err
    return json.loads(out)


def contact(d, name="Ada Lovelace", tz="Europe/Berlin"):
    return d.call("contact.add", name=name, tz=tz)["contact"]["id"]


def test_voicemails_follow_the_rhythm_and_the_weekly_limit(sales, clock):
    d = sales()
    cid = contact(d)
    # Monday 10:00 Berlin; Wednesday; Friday (the week is now full, so
    # Monday); the week after only Monday and Friday; then back.
    r = log(d, cid, "voicemail")
    assert r["followup"]["due_at"] == "2026-11-04T09:00:00Z"
    assert r["why"] == "the next day of the voicemail rhythm"
    assert r["voicemails_this_week"] == 1 and r["over_limit"] is False
    clock("2026-11-04 09:00:00")
    r = log(d, cid, "voicemail")
    assert r["completed"]["id"] == 1 and r["completed"]["status"] == "done"
    assert r["followup"]["due_at"] == "2026-11-06T09:00:00Z"
    clock("2026-11-06 09:00:00")
    r = log(d, cid, "call", "--outcome", "voicemail")
    assert r["voicemails_this_week"] == 3
    assert r["followup"]["due_at"] == "2026-11-09T09:00:00Z"
    assert r["why"] == "this week already holds the voicemail limit"
    clock("2026-11-09 09:00:00")
    r = log(d, cid, "voicemail")
    assert r["followup"]["due_at"] == "2026-11-13T09:00:00Z"
    clock("2026-11-13 09:00:00")
    r = log(d, cid, "voicemail")
    assert r["followup"]["due_at"] == "2026-11-16T09:00:00Z"
    assert r["why"] == "the first day of next week's voicemail rhythm"
    clock("2026-11-16 09:00:00")
    r = log(d, cid, "voicemail")
    assert r["followup"]["due_at"] == "2026-11-18T09:00:00Z"
    # One pending follow-up at a time: each attempt answered the last.
    pending = d.call("followup.list", contact=cid,
                     status="pending")["followups"]
    assert [f["due_at"] for f in pending] == ["2026-11-18T09:00:00Z"]


def test_client_says_what_was_planned_and_why(sales):
    d = sales()
    cid = contact(d)
    d.call("followup.add", contact=cid, due="2026-11-02T08:00:00Z",
           reason="first call about the quote", force=True)
    rc, out, err = d.client("log", str(cid), "call", "--outcome",
                            "no-answer")
    assert rc == 0, err
    assert "Completed follow-up #1, which this answers." in out
    assert "Next, the next day of the voicemail rhythm:" in out
    # Ada's time, and the reader's (TZ=UTC) beside it.
    assert "Wed 04 Nov 10:00  (09:00 yours)" in out
    assert "first call about the quote" in out     # the reason carries on
    assert "Voicemails this week" not in out        # no message was left


def test_friday_evening_no_answer_waits_for_monday(sales):
    d = sales(start="2026-11-06 17:30:00")      # Friday 18:30 in Berlin
    cid = contact(d)
    r = log(d, cid, "call", "--outcome", "no-answer")
    assert r["followup"]["due_at"] == "2026-11-09T08:00:00Z"  # Mon 09:00


def test_contact_in_new_york_rep_in_berlin(sales, clock):
    # Friday 2026-03-06 10:00 in New York (15:00Z), before the US change.
    d = sales(start="2026-03-06 15:00:00")
    d.call("user.set", tz="Europe/Berlin")
    cid = contact(d, tz="America/New_York")
    r = log(d, cid, "voicemail")
    # Monday 10:00 their time, now EDT: 14:00Z, 15:00 in Berlin.
    assert r["followup"]["due_at"] == "2026-03-09T14:00:00Z"
    rc, out, err = d.client("agenda", "2026-03-09",
                            env={"TZ": "Europe/Berlin"})
    assert rc == 0, err
    assert "Mon 09 Mar 10:00  (15:00 yours)" in out


def test_times_are_shown_twice_only_where_zones_differ(sales):
    d = sales()
    ny = contact(d, "Grace Hopper", tz="America/New_York")
    berlin = contact(d, "Emmy Noether", tz="Europe/Berlin")
    plain = d.call("contact.add", name="No Zone")["contact"]["id"]
    a = d.call("followup.add", contact=ny, due="2026-11-03T15:00:00Z",
               kind="callback")["followup"]
    assert a["contact_tz"] == "America/New_York"
    d.call("followup.add", contact=berlin, due="2026-11-03T16:00:00Z")
    d.call("followup.add", contact=plain, due="2026-11-03T17:00:00Z")
    rc, out, err = d.client("list", env={"TZ": "Europe/Berlin"})
    assert rc == 0, err
    lines = out.splitlines()
    ny_line = next(x for x in lines if "Grace Hopper" in x)
    assert "Tue 03 Nov 10:00  (16:00 yours)" in ny_line
    be_line = next(x for x in lines if "Emmy Noether" in x)
    assert "Tue 03 Nov 17:00" in be_line and "yours" not in be_line
    plain_line = next(x for x in lines if "No Zone" in x)
    assert "Tue 03 Nov 18:00" in plain_line and "yours" not in plain_line
    # The columns stay aligned: the kind column starts at the same place.
    col = {x.index("follow-up") if "follow-up" in x else
           x.index("CALLBACK") for x in (ny_line, be_line, plain_line)}
    assert len(col) == 1
    # Late at night for the reader: the day is named.
    rc, out, err = d.client("show", str(a["id"]),
                            env={"TZ": "Asia/Tokyo"})
    assert rc == 0, err
    assert "Due:      Tue 03 Nov 10:00 their time, Wed 00:00 yours" in out


def test_schedule_and_promises_show_both_times(sales, clock):
    d = sales()                                  # Monday 09:00Z
    d.call("user.set", tz="Europe/Berlin")
    ny = contact(d, "Grace Hopper", tz="America/New_York")
    be = contact(d, "Emmy Noether", tz="Europe/Berlin")
    rc, out, err = d.client("schedule", str(ny), "2026-11-03 10:00",
                            "--tz", "contact", "--callback")
    assert rc == 0, err
    # (The client's own clock is real, so the relative time is not read.)
    assert out.startswith("Scheduled callback 1 with Grace Hopper, "
                          "Tue 03 Nov 10:00 (16:00 yours), ")
    rc, out, err = d.client("schedule", str(be), "2026-11-03 17:00")
    assert rc == 0, err
    assert out.startswith("Scheduled follow-up 2 with Emmy Noether, "
                          "Tue 03 Nov 17:00, ") and "yours" not in out
    # Late at night for the rep: their day is named.
    rc, out, err = d.client("schedule", str(ny), "2026-11-04 20:00",
                            "--tz", "contact", "--callback")
    assert rc == 0, err
    assert "Wed 04 Nov 20:00 (Thu 02:00 yours)" in out
    # The promise history: agreed and re-agreed times, both ways.
    clock("2026-11-03 16:00:00")
    rc, out, err = d.client("reagree", "1", "2026-11-05 11:30", "--tz",
                            "contact")
    assert rc == 0, err
    rc, out, err = d.client("contact", "show", str(ny))
    assert rc == 0, err
    lines = out.splitlines()
    first = next(x for x in lines if x.split()[:1] == ["1"] and
                 "re-agreed" in x)
    assert first.startswith("    1  Thu 05 Nov 11:30  (17:30 yours) ")
    assert "(re-agreed from Tue 03 Nov 10:00 (16:00 yours)" in first
    third = next(x for x in lines if x.split()[:1] == ["3"] and
                 "yours" in x and "Wed 04 Nov" in x)
    assert third.startswith("    3  Wed 04 Nov 20:00  (Thu 02:00 yours) ")


def test_info_sent_plans_a_talk_some_working_days_later(sales):
    d = sales("[schedule]\ninfo_sent_days = 3\n",
              start="2026-11-05 13:00:00")   # Thursday 14:00 Berlin
    cid = contact(d)
    r = log(d, cid, "email", "--outcome", "info-sent")
    # Thursday + 3 working days = Tuesday, same time of day.
    assert r["followup"]["due_at"] == "2026-11-10T13:00:00Z"
    assert r["why"] == "to discuss the information sent"
    assert r["followup"]["reason"] == "discuss the information sent"


def test_working_hours_per_rep_and_per_config(sales):
    d = sales("[schedule]\nworkdays = mon-thu\nhours = 08:00-18:00\n",
              start="2026-11-04 19:00:00")      # Wednesday 20:00 Berlin
    cid = contact(d)
    r = log(d, cid, "call", "--outcome", "no-answer")
    # Mon/Wed/Thu over Mon-Thu: Thursday, at the start of the day.
    assert r["followup"]["due_at"] == "2026-11-05T07:00:00Z"
    d.call("user.set", hours="10:00-16:00", workdays="mon-fri")
    r = log(d, cid, "call", "--outcome", "no-answer", "--at",
            "2026-11-04T19:30:00Z")
    assert r["followup"]["due_at"] == "2026-11-06T09:00:00Z"  # Fri 10:00


def test_no_next_and_explicit_next(sales):
    d = sales()
    cid = contact(d)
    r = log(d, cid, "voicemail", "--no-next")
    assert r["followup"] is None
    r = log(d, cid, "call", "--outcome", "reached", "--next",
            "2026-11-05T14:00:00Z", "--callback")
    assert r["followup"]["kind"] == "callback"
    assert r["followup"]["due_at"] == "2026-11-05T14:00:00Z"
    rc, out, err = d.client("log", str(cid), "call", "--no-next",
                            "--next", "tomorrow")
    assert rc == 2 and "cannot go together" in err
    rc, out, err = d.client("log", str(cid), "call", "--outcome", "reached")
    assert rc == 0 and "Nothing planned next" in out


def test_full_week_refuses_hand_planned_followups_unless_forced(sales):
    d = sales()
    cid = contact(d)
    for day in ("2026-11-02T09:00:00Z", "2026-11-03T09:00:00Z",
                "2026-11-02T10:00:00Z"):
        log(d, cid, "voicemail", "--no-next", "--at", day)
    rc, out, err = d.client("schedule", str(cid), "2026-11-05 12:00")
    assert rc == 1
    assert "already has 3 voicemails in the week of Monday 2026-11-02" in err
    e = d.connect().error("followup.add", contact=cid,
                          due="2026-11-05T12:00:00Z")
    assert e["code"] == "conflict"
    # Next week is free; a callback is agreed with the prospect; force.
    assert d.client("schedule", str(cid), "2026-11-09 12:00")[0] == 0
    assert d.client("schedule", str(cid), "2026-11-05 12:00",
                    "--callback")[0] == 0
    r = d.call("followup.add", contact=cid, due="2026-11-05T13:00:00Z",
               force=True)
    assert r["followup"]["status"] == "pending"
    e = d.connect().error("interaction.add", contact=cid, kind="note",
                          next="2026-11-06T12:00:00Z")
    assert e["code"] == "conflict"


def test_weekly_limit_follows_the_contacts_week_to_its_edges(sales):
    """The week is the contact's (UTC+14 here): voicemails in its first
    minutes fill it up to its last hour, and the week before, a few hours
    earlier in UTC, fills nothing."""
    d = sales()
    full = contact(d, name="Full Week", tz="Pacific/Kiritimati")
    # Monday 2026-11-02 00:30, 00:40, 00:50 in Kiritimati.
    for at in ("2026-11-01T10:30:00Z", "2026-11-01T10:40:00Z",
               "2026-11-01T10:50:00Z"):
        log(d, full, "voicemail", "--no-next", "--at", at)
    # Sunday 2026-11-08 23:00 there: the same week, so refused.
    e = d.connect().error("followup.add", contact=full,
                          due="2026-11-08T09:00:00Z")
    assert e["code"] == "conflict"
    assert "week of Monday 2026-11-02" in e["message"]
    # Monday 2026-11-09 00:30 there: the next week.
    r = d.call("followup.add", contact=full, due="2026-11-08T10:30:00Z")
    assert r["followup"]["status"] == "pending"

    before = contact(d, name="Week Before", tz="Pacific/Kiritimati")
    # Sunday 2026-11-01 23:10, 23:20, 23:30 there: the week before.
    for at in ("2026-11-01T09:10:00Z", "2026-11-01T09:20:00Z",
               "2026-11-01T09:30:00Z"):
        log(d, before, "voicemail", "--no-next", "--at", at)
    r = d.call("followup.add", contact=before, due="2026-11-08T09:00:00Z")
    assert r["followup"]["status"] == "pending"


def test_voicemail_over_the_limit_is_kept_and_flagged(sales):
    d = sales(start="2026-11-05 09:00:00")
    cid = contact(d)
    for day in ("2026-11-02T09:00:00Z", "2026-11-03T09:00:00Z",
                "2026-11-04T09:00:00Z"):
        log(d, cid, "voicemail", "--no-next", "--at", day)
    rc, out, err = d.client("log", str(cid), "voicemail")
    assert rc == 0, err
    assert "Voicemails this week: 4 of 3, over the limit" in out
    hist = d.call("interaction.list", contact=cid)["interactions"]
    assert len(hist) == 4


def test_contact_completes_todays_followup_but_not_a_later_callback(sales):
    d = sales()
    cid = contact(d)
    today = d.call("followup.add", contact=cid, due="2026-11-02T11:00:00Z",
                   reason="send prices")["followup"]["id"]
    cb = d.call("followup.add", contact=cid, due="2026-11-02T15:00:00Z",
                kind="callback")["followup"]["id"]
    later = d.call("followup.add", contact=cid,
                   due="2026-11-03T09:00:00Z")["followup"]["id"]
    r = log(d, cid, "call", "--outcome", "reached")
    assert r["completed"]["id"] == today
    assert r["followup"] is None
    assert "answered by call" in r["completed"]["note"]
    st = {f["id"]: f["status"] for f in
          d.call("followup.list", contact=cid)["followups"]}
    assert st[cb] == "pending" and st[later] == "pending"
    # A note answers nothing.
    r = log(d, cid, "note", "--note", "left a message with reception?")
    assert r["completed"] is None


@pytest.mark.parametrize("line, word", [
    ("voicemails_per_week = 0", "from 1 to 7"),
    ("info_sent_days = 0", "working days"),
    ("workdays = someday", "days such as mon-fri"),
    ("hours = 17:00-09:00", "range such as 09:00-17:00"),
    ("callback_tolerance = 5h", "from 0s to 4h"),
])
def test_bad_cadence_settings_are_refused_by_line(tmp_path, line, word):
    conf = tmp_path / "f.conf"
    conf.write_text("[schedule]\n%s\n" % line)
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", str(conf)],
                       capture_output=True, text=True)
    assert p.returncode != 0
    assert "f.conf:2:" in p.stderr and word in p.stderr


def test_closing_a_deal_cancels_its_open_followups_and_says_so(sales):
    d = sales()
    cid = contact(d)
    other = contact(d, name="Charles Babbage")
    a = d.call("followup.add", contact=cid,
               due="2026-11-03T09:00:00Z")["followup"]["id"]
    b = d.call("followup.add", contact=cid, due="2026-11-04T09:00:00Z",
               kind="callback")["followup"]["id"]
    keep = d.call("followup.add", contact=other,
                  due="2026-11-04T09:00:00Z")["followup"]["id"]
    # Moving between open stages cancels nothing.
    rc, out, err = d.client("contact", "edit", str(cid), "--stage",
                            "proposal")
    assert rc == 0 and "Cancelled" not in out
    rc, out, err = d.client("contact", "edit", str(cid), "--stage", "won")
    assert rc == 0, err
    assert "Cancelled 2 open follow-ups: the contact is won now." in out
    fs = {f["id"]: f for f in d.call("followup.list", status="all")
          ["followups"]}
    assert fs[a]["status"] == fs[b]["status"] == "cancelled"
    assert fs[a]["note"] == "contact moved to won"
    assert fs[keep]["status"] == "pending"
    # Closed to closed: nothing left to cancel.
    r = d.call("contact.update", id=cid, stage="lost")
    assert r["cancelled"] == 0
    # And a call logged on a closed deal plans no next attempt.
    r = log(d, cid, "call", "--outcome", "no-answer")
    assert r["followup"] is None


def promises(d, cid):
    return {p["followup_id"]: p for p in
            d.call("contact.get", id=cid)["promises"]}


def test_callback_promises_kept_late_missed_and_reagreed(sales, clock):
    d = sales()                                  # Monday 09:00Z
    cid = contact(d)
    kept = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                  kind="callback")["followup"]["id"]
    late = d.call("followup.add", contact=cid, due="2026-11-04T09:00:00Z",
                  kind="callback")["followup"]["id"]
    missed = d.call("followup.add", contact=cid, due="2026-11-05T09:00:00Z",
                    kind="callback")["followup"]["id"]
    assert {p["state"] for p in promises(d, cid).values()} == {"agreed"}
    # Kept: the call is logged five minutes after the agreed time, and it
    # completes the callback it answers.
    clock("2026-11-03 10:05:00")
    r = log(d, cid, "call", "--outcome", "reached")
    assert r["completed"]["id"] == kept
    # Late: done twenty minutes after (tolerance 15 min, grace 30 min).
    clock("2026-11-04 09:20:00")
    assert d.client("done", str(late))[0] == 0
    # Missed, then re-agreed for Friday with a note.
    clock("2026-11-05 10:00:00")
    p = promises(d, cid)
    assert p[kept]["state"] == "kept" and p[late]["state"] == "late"
    assert p[missed]["state"] == "missed"
    rc, out, err = d.client("reagree", str(missed), "2026-11-06 15:00",
                            "--note", "she asked for Friday afternoon")
    assert rc == 0, err
    p = promises(d, cid)[missed]
    assert p["state"] == "agreed" and p["due_at"] == "2026-11-06T15:00:00Z"
    assert [h["what"] for h in p["history"]] == ["agreed", "reagreed"]
    assert p["history"][1]["was_missed"] is True
    assert p["history"][1]["previous_due_at"] == "2026-11-05T09:00:00Z"
    rc, out, err = d.client("contact", "show", str(cid))
    assert rc == 0, err
    assert "Promises (callbacks agreed):" in out
    assert ("re-agreed from Thu 05 Nov 10:00 (09:00 yours), missed: she "
            "asked for Friday afternoon") in out
    for fid, state in ((kept, "kept"), (late, "late")):
        assert any(line.split()[:1] == [str(fid)] and state in line
                   for line in out.splitlines())
    # Snoozing is not agreeing: the promise still counts from Friday 15:00.
    clock("2026-11-06 15:40:00")
    d.call("followup.snooze", id=missed, until="2026-11-09T09:00:00Z")
    assert promises(d, cid)[missed]["state"] == "missed"


def test_reagree_refuses_what_is_not_an_open_callback(sales):
    d = sales()
    cid = contact(d)
    plain = d.call("followup.add", contact=cid,
                   due="2026-11-03T10:00:00Z")["followup"]["id"]
    rc, out, err = d.client("reagree", str(plain), "2026-11-04 10:00")
    assert rc == 1 and "not a callback" in err
    cb = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                kind="callback")["followup"]["id"]
    d.call("followup.done", id=cb)
    e = d.connect().error("followup.reagree", id=cb,
                          due="2026-11-04T10:00:00Z")
    assert e["code"] == "conflict"
    e = d.connect().error("followup.reagree", id=999, due="tomorrow")
    assert e["code"] == "not_found"
    # A reschedule of a callback is a new promise too.
    cb2 = d.call("followup.add", contact=cid, due="2026-11-03T11:00:00Z",
                 kind="callback")["followup"]["id"]
    d.call("followup.reschedule", id=cb2, due="2026-11-03T12:00:00Z")
    hist = promises(d, cid)[cb2]["history"]
    assert [h["what"] for h in hist] == ["agreed", "reagreed"]
    assert hist[1]["was_missed"] is False


def test_reagreeing_a_snoozed_callback_remembers_the_promise(sales, clock):
    d = sales()
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-02T10:00:00Z",
                kind="callback")["followup"]["id"]
    d.call("followup.snooze", id=cb, until="2026-11-02T14:00:00Z")
    clock("2026-11-02 12:00:00")        # 10:00 + grace has passed
    d.call("followup.reagree", id=cb, due="2026-11-03T10:00:00Z")
    h = promises(d, cid)[cb]["history"][-1]
    assert h["previous_due_at"] == "2026-11-02T10:00:00Z"
    assert h["was_missed"] is True


def test_a_call_logged_afterwards_keeps_the_callback(sales, clock):
    d = sales()
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-02T10:00:00Z",
                kind="callback")["followup"]["id"]
    clock("2026-11-02 11:30:00")        # logged an hour and a half later
    r = log(d, cid, "call", "--outcome", "reached", "--at",
            "2026-11-02T10:02:00Z")
    assert r["completed"]["id"] == cb
    assert r["completed"]["done_at"] == "2026-11-02T10:02:00Z"
    assert promises(d, cid)[cb]["state"] == "kept"


def test_done_and_reschedule_respect_the_weekly_limit(sales):
    d = sales()
    cid = contact(d)
    for day in ("2026-11-02T09:00:00Z", "2026-11-03T09:00:00Z",
                "2026-11-02T10:00:00Z"):
        log(d, cid, "voicemail", "--no-next", "--at", day)
    f = d.call("followup.add", contact=cid, due="2026-11-10T09:00:00Z")[
        "followup"]["id"]
    e = d.connect().error("followup.reschedule", id=f,
                          due="2026-11-05T09:00:00Z")
    assert e["code"] == "conflict"
    rc, out, err = d.client("reschedule", str(f), "2026-11-05 09:00",
                            "--force")
    assert rc == 0, err
    rc, out, err = d.client("done", str(f), "--next", "2026-11-06 09:00")
    assert rc == 1 and "voicemail" in err
    rc, out, err = d.client("done", str(f), "--next", "2026-11-06 09:00",
                            "--force")
    assert rc == 0, err


def notices_file_hook(tmp_path):
    """A hook that keeps each run's input in a file of its own."""
    out = tmp_path / "runs"
    out.mkdir()
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\ncat > %s/.$$ && mv %s/.$$ %s/run.$$\n" %
                    (out, out, out))
    hook.chmod(0o755)
    return ("[reminders]\nhook = %s\nlead = 0s\ncheck_interval = 1s\n" %
            hook, out)


def hook_notices(out, kind):
    return [n for run in sorted(out.glob("run.*"))
            for n in json.loads(run.read_text())["notices"]
            if n["kind"] == kind]


def test_a_second_attempt_answers_the_first_instead_of_piling_up(
        sales, clock, tmp_path):
    conf, out = notices_file_hook(tmp_path)
    d = sales(conf)
    cid = contact(d)
    first = log(d, cid, "voicemail")["followup"]
    assert first["automatic"] is True
    clock("2026-11-02 09:05:00")
    r = log(d, cid, "call", "--outcome", "no-answer")
    # The attempt just made is the one the voicemail planned: it is done,
    # and the one next attempt keeps the voicemail rhythm.
    assert r["completed"]["id"] == first["id"]
    assert "answered by call" in r["completed"]["note"]
    assert r["followup"]["due_at"] == "2026-11-04T09:05:00Z"
    pending = d.call("followup.list", contact=cid,
                     status="pending")["followups"]
    assert [f["id"] for f in pending] == [r["followup"]["id"]]
    # One reminder when it comes due, not two.
    clock("2026-11-04 09:10:00")
    deadline = time.time() + 15
    while time.time() < deadline and not hook_notices(out, "due"):
        time.sleep(0.1)
    time.sleep(1.5)
    due = hook_notices(out, "due")
    assert [n["followup"]["id"] for n in due] == [r["followup"]["id"]]


def test_an_attempt_keeps_the_followup_the_rep_planned_by_hand(sales, clock):
    d = sales()
    cid = contact(d)
    mine = d.call("followup.add", contact=cid, due="2026-11-05T13:00:00Z",
                  reason="ask about the budget")["followup"]
    assert mine["automatic"] is False
    auto = log(d, cid, "voicemail")["followup"]
    clock("2026-11-02 14:00:00")
    r = log(d, cid, "call", "--outcome", "no-answer")
    assert r["completed"]["id"] == auto["id"]
    pending = {f["id"] for f in d.call("followup.list", contact=cid,
                                        status="pending")["followups"]}
    assert pending == {mine["id"], r["followup"]["id"]}
    # Reaching the prospect answers the automatic attempt, not the talk
    # the rep planned for Thursday.
    r = log(d, cid, "call", "--outcome", "reached")
    assert r["followup"] is None
    pending = [f["id"] for f in d.call("followup.list", contact=cid,
                                       status="pending")["followups"]]
    assert pending == [mine["id"]]
    # A call logged for before the attempt was planned answers nothing.
    nxt = log(d, cid, "voicemail")["followup"]
    r = log(d, cid, "call", "--outcome", "no-answer", "--no-next", "--at",
            "2026-11-02T08:00:00Z")
    assert r["completed"] is None
    assert d.call("followup.get", id=nxt["id"])["followup"]["status"] == \
        "pending"


def test_catching_up_on_the_day_s_calls_leaves_one_next_attempt(
        sales, clock):
    """A rep who logs the day's calls in the evening, each at the time it
    was made, ends with one next attempt, as when logging each at once:
    the one an earlier call proposed is answered by the later call, though
    it was stored after that call happened."""
    d = sales(start="2026-11-02 17:30:00")
    cid = contact(d)
    before = None
    for at in ("2026-11-02T09:00:00Z", "2026-11-02T11:00:00Z",
               "2026-11-02T13:00:00Z"):
        r = log(d, cid, "call", "--outcome", "no-answer", "--at", at)
        assert r["followup"] is not None and r["followup"]["automatic"]
        if before is None:
            assert r["completed"] is None
        else:
            assert r["completed"]["id"] == before
            assert r["completed"]["done_at"] == at
        pending = [f["id"] for f in d.call(
            "followup.list", contact=cid, status="pending")["followups"]]
        assert pending == [r["followup"]["id"]]
        before = r["followup"]["id"]
    # A call logged afterwards for before the last one answers nothing:
    # the attempt was proposed after it.  Nor does it propose another
    # beside it: the next step the last call planned stands.
    r = log(d, cid, "call", "--outcome", "no-answer", "--at",
            "2026-11-02T12:00:00Z")
    assert r["completed"] is None and r["followup"] is None
    assert r["why"] is None
    assert r["standing"]["id"] == before
    assert r["standing"]["status"] == "pending"
    pending = [f["id"] for f in d.call(
        "followup.list", contact=cid, status="pending")["followups"]]
    assert pending == [before]
    # The client says which one stands; an attempt logged in order plans
    # as before, and its reply has nothing standing.
    rc, out, err = d.client("log", str(cid), "voicemail", "--at",
                            "2026-11-02T10:00:00Z")
    assert rc == 0, err
    lines = out.splitlines()
    at = lines.index("Next, as already planned after a later interaction:")
    assert lines[at + 1].split()[0] == str(before)
    r = log(d, cid, "call", "--outcome", "busy")
    assert r["completed"]["id"] == before and r["standing"] is None
    pending = [f["id"] for f in d.call(
        "followup.list", contact=cid, status="pending")["followups"]]
    assert pending == [r["followup"]["id"]]


def test_a_call_logged_afterwards_leaves_a_later_step_due_today(sales):
    """The next step a later interaction proposed is not answered by a
    call logged afterwards for an earlier time, even when it is due today
    (which makes it the follow-up a call of today would answer)."""
    d = sales()
    cid = contact(d)
    info = log(d, cid, "email", "--outcome", "info-sent", "--at",
               "2026-10-20T09:00:00Z")
    # Its working days are long past: it is planned for today.
    assert info["why"] == "the next working hour"
    assert info["followup"]["due_at"].startswith("2026-11-02T")
    r = log(d, cid, "call", "--outcome", "no-answer", "--at",
            "2026-10-15T09:00:00Z")
    assert r["completed"] is None and r["followup"] is None
    assert r["standing"]["id"] == info["followup"]["id"]
    pending = [f["id"] for f in d.call(
        "followup.list", contact=cid, status="pending")["followups"]]
    assert pending == [info["followup"]["id"]]
    # A call of today answers it as before.
    r = log(d, cid, "call", "--outcome", "reached")
    assert r["completed"]["id"] == info["followup"]["id"]


OPERATOR = ("voicemails for two weeks without an answer: leave a message "
            "with the operator or an assistant")


def test_two_weeks_of_voicemails_suggest_a_message_with_the_operator(
        sales, clock):
    d = sales()
    cid = contact(d)
    reasons = []
    for day in ("2026-11-02", "2026-11-04", "2026-11-06", "2026-11-09",
                "2026-11-13"):
        clock("%s 09:00:00" % day)
        reasons.append(log(d, cid, "voicemail")["followup"]["reason"])
    # Inside the second week the rhythm goes on as before; after it, the
    # next attempt (Monday of the third) goes through someone else.
    assert OPERATOR not in reasons[:4]
    assert reasons[4] == OPERATOR
    clock("2026-11-16 09:00:00")
    rc, out, err = d.client("agenda", "today")
    assert rc == 0 and "leave a message with the operator" in out
    # The message left is not a voicemail, and the suggestion is done.
    r = log(d, cid, "call", "--outcome", "message")
    assert "voicemails_this_week" not in r
    assert r["followup"]["reason"] == "try again (message left)"
    assert r["followup"]["due_at"] == "2026-11-18T09:00:00Z"
    rep = d.call("report")["reps"][0]
    assert rep["voicemails"] == []
