"""How followup judges a rep's follow-ups and promises, and plans the next
attempt, in the cases where a careless rule would flatter or mislead:
a call at a callback's time while an older follow-up is overdue, a
callback ticked off days early, a missed callback re-agreed to a later
date, a callback moved in good time, an overdue follow-up snoozed and
then done, voicemails left before the prospect was reached, a follow-up
snoozed into a week at the voicemail limit, an attempt logged days after
it was made.  Through the real client and daemon, the clock set by
libfaketime.  Bad input tried: a snooze into a full week (refused with
conflict, then forced)."""

import json

import pytest

from fu import FAKETIME_LIB, WRAPPER

pytestmark = pytest.mark.skipif(
    FAKETIME_LIB is None or WRAPPER != [],
    reason="needs libfaketime, and no valgrind wrapper")


@pytest.fixture
def d(make_daemon, clock):
    """A daemon on the fake clock at Monday 2026-11-02 09:00 UTC."""
    clock("2026-11-02 09:00:00")
    daemon = make_daemon(faketime=clock.path)
    daemon.call("user.set", tz="UTC")
    return daemon


def log(d, cid, *args):
    rc, out, err = d.client("--json", "log", str(cid), *args)
    assert rc == 0, err
    return json.loads(out)


def contact(d, tz="Europe/Berlin"):
    return d.call("contact.add", name="Ada Lovelace", tz=tz)["contact"]["id"]


def callbacks(d, since="2026-11-01T00:00:00Z"):
    return d.call("report", since=since)["reps"][0]["callbacks"]


def followups(d, since="2026-11-01T00:00:00Z"):
    return d.call("report", since=since)["reps"][0]["followups"]


def promise_states(d, cid):
    c = d.call("contact.get", id=cid)
    return {p["followup_id"]: p["state"] for p in c["promises"]}


def test_a_call_at_the_callbacks_time_keeps_that_promise(d, clock):
    cid = contact(d)
    old = d.call("followup.add", contact=cid,
                 due="2026-11-02T10:00:00Z")["followup"]["id"]
    cb = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                kind="callback")["followup"]["id"]
    clock("2026-11-03 10:00:00")
    r = log(d, cid, "call", "--outcome", "reached", "--no-next")
    clock("2026-11-03 12:00:00")
    # The promise answered, not Monday's older follow-up.
    assert r["completed"]["id"] == cb
    assert promise_states(d, cid)[cb] == "kept"
    st = {f["id"]: f["status"] for f in
          d.call("followup.list", contact=cid, status="all")["followups"]}
    assert st[old] == "pending"
    cb_fig = callbacks(d)
    assert (cb_fig["kept"], cb_fig["missed"]) == (1, 0)


def test_a_callback_ticked_off_days_early_is_not_kept(d, clock):
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-05T10:00:00Z",
                kind="callback")["followup"]["id"]
    d.call("followup.done", id=cb)                  # Monday, for Thursday
    clock("2026-11-06 09:00:00")
    assert promise_states(d, cid)[cb] == "early"
    fig = callbacks(d)
    assert (fig["kept"], fig["early"]) == (0, 1)
    assert fig["kept_rate"] == 0
    rc, out, err = d.client("contact", "show", str(cid))
    assert rc == 0 and "early" in out


def test_a_missed_callback_re_agreed_for_later_still_counts_missed(d, clock):
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                kind="callback")["followup"]["id"]
    clock("2026-11-04 09:00:00")                    # a day after
    d.call("followup.reagree", id=cb, due="2026-11-09T10:00:00Z")
    fig = callbacks(d)
    # Its new time is next week, but Tuesday's promise was broken.
    assert (fig["kept"], fig["missed"], fig["reagreed"]) == (0, 1, 0)
    fu = followups(d)
    assert fu["missed"] == 1


def test_a_callback_moved_in_good_time_is_no_miss(d, clock):
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-05T10:00:00Z",
                kind="callback")["followup"]["id"]
    clock("2026-11-03 09:00:00")                    # two days ahead
    d.call("followup.reagree", id=cb, due="2026-11-06T10:00:00Z")
    clock("2026-11-06 10:05:00")
    d.call("followup.done", id=cb)
    fig = callbacks(d)
    assert (fig["kept"], fig["missed"], fig["reagreed"]) == (1, 0, 1)
    assert fig["kept_rate"] == 1
    assert followups(d)["on_time"] == 1


def test_snoozing_an_overdue_followup_does_not_hide_that_it_was_late(
        d, clock):
    cid = contact(d)
    late = d.call("followup.add", contact=cid,
                  due="2026-11-02T10:00:00Z")["followup"]["id"]
    fine = d.call("followup.add", contact=cid,
                  due="2026-11-02T11:00:00Z")["followup"]["id"]
    # The same day, before it was missed: moved in good time.
    clock("2026-11-02 12:00:00")
    d.call("followup.snooze", id=fine, until="2026-11-03T10:00:00Z")
    clock("2026-11-03 10:00:00")
    d.call("followup.done", id=fine)
    # Three days overdue, snoozed an hour, then done.
    clock("2026-11-05 09:00:00")
    d.call("followup.snooze", id=late, until="2026-11-05T10:00:00Z")
    clock("2026-11-05 10:00:00")
    d.call("followup.done", id=late)
    fu = followups(d)
    assert (fu["on_time"], fu["late"], fu["missed"]) == (1, 1, 0)
    # Counted on the day it missed: not in a window starting after it.
    fu = followups(d, since="2026-11-04T00:00:00Z")
    assert (fu["on_time"], fu["late"]) == (0, 0)


def test_voicemails_before_the_prospect_was_reached_count_in_the_week(
        d, clock):
    cid = contact(d)
    log(d, cid, "voicemail", "--no-next")                       # Monday
    clock("2026-11-03 09:00:00")
    log(d, cid, "voicemail", "--no-next")                       # Tuesday
    clock("2026-11-04 09:00:00")
    log(d, cid, "call", "--outcome", "reached", "--no-next")    # Wednesday
    clock("2026-11-05 10:00:00")
    r = log(d, cid, "voicemail")                                # Thursday
    assert r["voicemails_this_week"] == 3
    # Not Friday: that would be a fourth voicemail this week.
    assert r["followup"]["due_at"] == "2026-11-09T10:00:00Z"
    assert r["why"] == "this week already holds the voicemail limit"


def test_snoozing_into_a_full_week_is_refused_unless_forced(d, clock):
    cid = contact(d)
    clock("2026-11-04 12:00:00")
    for day in ("2026-11-02T09:00:00Z", "2026-11-03T09:00:00Z",
                "2026-11-04T09:00:00Z"):
        log(d, cid, "voicemail", "--no-next", "--at", day)
    fid = d.call("followup.add", contact=cid, due="2026-11-10T10:00:00Z",
                 reason="try again")["followup"]["id"]
    rc, out, err = d.client("snooze", str(fid), "2026-11-06 10:00")
    assert rc == 1
    assert "already has 3 voicemails" in err and "force" in err
    assert d.call("followup.get", id=fid)["followup"]["due_at"] == \
        "2026-11-10T10:00:00Z"
    rc, out, err = d.client("snooze", str(fid), "2026-11-06 10:00",
                            "--force")
    assert rc == 0, err
    # Within the week it is already in, a snooze adds no attempt.
    rc, out, err = d.client("snooze", str(fid), "2026-11-06 11:00")
    assert rc == 0, err


def test_an_attempt_logged_days_later_plans_on_a_day_of_the_rhythm(
        d, clock):
    cid = contact(d)
    clock("2026-11-05 11:00:00")                    # Thursday
    r = log(d, cid, "voicemail", "--at", "2026-11-02T09:00:00Z")
    # Wednesday has gone and Thursday is no day of the rhythm: Friday,
    # at the hour of the attempt (10:00 in Berlin).
    assert r["followup"]["due_at"] == "2026-11-06T09:00:00Z"
    assert r["why"] == "the next day of the voicemail rhythm"
