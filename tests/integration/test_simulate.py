"""followup simulate: the notices and digests that would go out in a window,
worked out by the schedule's own rules, with the daemon's clock set by
libfaketime.  Checked: a callback's reminder, due and missed notices at
their instants, a plain follow-up without a missed notice, a digest that
keeps its local hour across the October 2026 daylight-saving change, a
calendar month across that change (31 days and an hour) simulated whole,
times shown twice when the contact's zone differs from the rep's, that
simulating sends and changes nothing (and the real reminder still goes out,
once), and bad windows refused.  Another rep's schedule is refused in
test_team.py, which has real users."""

import json
import re

import pytest

from fu import FAKETIME_LIB, WRAPPER

pytestmark = pytest.mark.skipif(
    FAKETIME_LIB is None or WRAPPER != [],
    reason="needs libfaketime, and no valgrind wrapper")


@pytest.fixture
def sim(make_daemon, clock):
    """A daemon on the fake clock, by default Monday 2026-11-02 09:00 UTC."""
    def make(start="2026-11-02 09:00:00"):
        clock(start)
        return make_daemon("[reminders]\nlead = 15m\nmissed_grace = 30m\n"
                           "digest = 08:00\ncheck_interval = 1s\n",
                           faketime=clock.path)
    return make


def contact(d, name="Ada Lovelace", tz="Europe/Berlin"):
    return d.call("contact.add", name=name, tz=tz)["contact"]["id"]


def of(result, fid):
    """The (kind, at) of follow-up fid's events."""
    return [(e["kind"], e["at"]) for e in result["events"]
            if e["followup"] is not None and e["followup"]["id"] == fid]


def test_callback_gets_reminder_due_and_missed_plain_one_no_missed(sim):
    d = sim()
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                kind="callback", reason="go through the quote")["followup"]
    fu = d.call("followup.add", contact=cid, due="2026-11-04T12:00:00Z",
                remind_before="1h", reason="send prices")["followup"]
    r = d.call("simulate")
    assert r["from"] == "2026-11-02T09:00:00Z"
    assert r["to"] == "2026-11-09T09:00:00Z"
    assert r["truncated"] is False
    assert of(r, cb["id"]) == [("reminder", "2026-11-03T09:45:00Z"),
                               ("due", "2026-11-03T10:00:00Z"),
                               ("missed", "2026-11-03T10:30:00Z")]
    assert of(r, fu["id"]) == [("reminder", "2026-11-04T11:00:00Z"),
                               ("due", "2026-11-04T12:00:00Z")]
    ev = {(e["kind"], e["followup"]["id"]): e for e in r["events"]
          if e["followup"] is not None}
    # The contact is in Berlin, the rep in UTC: both times.
    assert ev["reminder", cb["id"]]["why"] == ("15 min before the callback "
                                           "at Tue 03 Nov 11:00 CET "
                                           "(10:00 UTC yours)")
    assert ev["missed", cb["id"]]["why"].startswith(
        "callback still open 30 min after its time")
    assert ev["reminder", fu["id"]]["why"].startswith(
        "1 h before the follow-up")
    assert ev["due", cb["id"]]["followup"] == {
        "id": cb["id"], "contact_id": cid, "contact_name": "Ada Lovelace",
        "contact_tz": "Europe/Berlin", "kind": "callback",
        "due_at": "2026-11-03T10:00:00Z",
        "reason": "go through the quote"}
    assert all(e["owner"] == cb["owner"] for e in r["events"])
    # Sorted by time; a digest each morning there is something to list.
    ats = [e["at"] for e in r["events"]]
    assert ats == sorted(ats)
    digests = [e for e in r["events"] if e["kind"] == "digest"]
    assert [e["at"] for e in digests] == [
        "2026-11-0%dT08:00:00Z" % day for day in range(3, 10)]
    assert all(e["followup"] is None for e in digests)
    assert digests[0]["digest"]["overdue"] == 0
    assert digests[0]["digest"]["due"] == 1
    assert digests[1]["digest"] == {"date": "2026-11-04", "tz": "UTC",
                                    "overdue": 1, "due": 1, "stale": 0}
    assert digests[1]["why"] == \
        "morning digest at 08:00 UTC: 1 overdue, 1 due that day"


def test_window_ends_before_reminder_only_shows_what_falls_in_it(sim):
    d = sim()
    cid = contact(d)
    cb = d.call("followup.add", contact=cid, due="2026-11-03T10:00:00Z",
                kind="callback")["followup"]
    r = d.call("simulate", **{"from": "2026-11-03T09:50:00Z",
                              "to": "2026-11-03T10:30:00Z"})
    # [from, to): the missed notice at 10:30 is outside.
    assert of(r, cb["id"]) == [("due", "2026-11-03T10:00:00Z")]


def test_digest_keeps_its_local_hour_across_the_october_change(sim):
    # Friday 2026-10-23; the clocks go back on Sunday 25 October in Berlin.
    d = sim("2026-10-23 12:00:00")
    d.call("user.set", tz="Europe/Berlin", digest="08:00")
    cid = contact(d)
    d.call("followup.add", contact=cid, due="2026-10-23T15:00:00Z",
           reason="send the brochure")
    r = d.call("simulate", **{"from": "2026-10-24 00:00",
                              "to": "2026-10-27 00:00"})
    digests = [e for e in r["events"] if e["kind"] == "digest"]
    # 08:00 CEST is 06:00Z; 08:00 CET is 07:00Z, on the change day too.
    assert [e["at"] for e in digests] == ["2026-10-24T06:00:00Z",
                                          "2026-10-25T07:00:00Z",
                                          "2026-10-26T07:00:00Z"]
    assert [e["digest"]["date"] for e in digests] == [
        "2026-10-24", "2026-10-25", "2026-10-26"]
    assert digests[0]["why"] == ("morning digest at 08:00 Europe/Berlin: "
                                 "1 overdue, 0 due that day")
    # The window was read in the rep's zone: Berlin midnights.
    assert r["from"] == "2026-10-23T22:00:00Z"
    assert r["to"] == "2026-10-26T23:00:00Z"

    rc, out, err = d.client("simulate", "--from", "2026-10-24 00:00",
                            "--to", "2026-10-27 00:00",
                            env={"TZ": "Europe/Berlin"})
    assert rc == 0, err
    lines = out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("WHEN"))
    assert re.split(r"\s{2,}", lines[head]) == ["WHEN", "KIND", "#ID",
                                                "CONTACT", "WHY"]
    rows = [l for l in lines[head + 1:] if "digest" in l]
    assert len(rows) == 3
    for day, row in zip(("Sat 24 Oct", "Sun 25 Oct", "Mon 26 Oct"), rows):
        assert re.match(r"%s( 2026)? 08:00 +digest +- +- +morning digest"
                        % day, row), row

    rc, out, err = d.client("--json", "simulate", "--from",
                            "2026-10-24 00:00", "--to", "2026-10-27 00:00")
    assert rc == 0, err
    assert json.loads(out)["events"] == r["events"]


def test_a_calendar_month_across_the_october_change_is_simulated(sim):
    # Wednesday 30 September 2026, 14:00 in Berlin: October lies ahead,
    # and its last Sunday puts the clocks back an hour.
    d = sim("2026-09-30 12:00:00")
    d.call("user.set", tz="Europe/Berlin", digest="08:00")
    cid = contact(d)
    fu = d.call("followup.add", contact=cid, due="2026-10-01T08:00:00Z",
                reason="send the brochure")["followup"]
    cb = d.call("followup.add", contact=cid, kind="callback",
                due="2026-10-26 10:00", tz="Europe/Berlin")["followup"]
    assert cb["due_at"] == "2026-10-26T09:00:00Z"          # CET
    # October in Berlin is 31 days and an hour long: accepted whole.
    r = d.call("simulate", **{"from": "2026-10-01 00:00",
                              "to": "2026-11-01 00:00"})
    assert r["from"] == "2026-09-30T22:00:00Z"             # CEST midnight
    assert r["to"] == "2026-10-31T23:00:00Z"               # CET midnight
    assert "notes" not in r and r["truncated"] is False
    digests = [e for e in r["events"] if e["kind"] == "digest"]
    # One a day at 08:00 local: 06:00Z through Saturday 24 October, 07:00Z
    # from Sunday 25 October, the day of the change, on.
    assert [e["digest"]["date"] for e in digests] == [
        "2026-10-%02d" % day for day in range(1, 32)]
    assert [e["at"] for e in digests] == \
        ["2026-10-%02dT06:00:00Z" % day for day in range(1, 25)] + \
        ["2026-10-%02dT07:00:00Z" % day for day in range(25, 32)]
    assert digests[0]["digest"]["due"] == 1
    assert digests[-1]["digest"]["overdue"] == 2
    assert of(r, fu["id"]) == [("reminder", "2026-10-01T07:45:00Z"),
                               ("due", "2026-10-01T08:00:00Z")]
    assert of(r, cb["id"]) == [("reminder", "2026-10-26T08:45:00Z"),
                               ("due", "2026-10-26T09:00:00Z"),
                               ("missed", "2026-10-26T09:30:00Z")]
    # An hour more than the month is more than the limit allows.
    e = d.connect().error("simulate", **{"from": "2026-10-01 00:00",
                                         "to": "2026-11-01 01:00"})
    assert e["code"] == "bad_request" and "31 days" in e["message"]


def test_times_are_shown_twice_when_the_contact_is_elsewhere(sim):
    d = sim()
    d.call("user.set", tz="Europe/Berlin")
    ny = contact(d, "Grace Hopper", tz="America/New_York")
    be = contact(d, "Emmy Noether", tz="Europe/Berlin")
    a = d.call("followup.add", contact=ny, due="2026-11-03T15:00:00Z",
               kind="callback")["followup"]
    b = d.call("followup.add", contact=be, due="2026-11-03T16:00:00Z",
               kind="callback")["followup"]
    r = d.call("simulate", to="2026-11-04T00:00:00Z")
    ev = {(e["kind"], e["followup"]["id"]): e for e in r["events"]
          if e["followup"] is not None}
    assert ev["due", a["id"]]["followup"]["contact_tz"] == \
        "America/New_York"
    assert ev["due", a["id"]]["why"] == \
        "the callback at Tue 03 Nov 10:00 EST (16:00 CET yours) is due"
    assert ev["due", b["id"]]["why"] == \
        "the callback at Tue 03 Nov 17:00 CET is due"
    assert ev["missed", a["id"]]["why"] == (
        "callback still open 30 min after its time "
        "(Tue 03 Nov 10:00 EST (16:00 CET yours))")
    rc, out, err = d.client("simulate", "--to", "2026-11-04 00:00")
    assert rc == 0, err
    rows = out.splitlines()
    grace = [x for x in rows if "Grace Hopper" in x]
    emmy = [x for x in rows if "Emmy Noether" in x]
    assert len(grace) == 3 and len(emmy) == 3
    assert grace[0].startswith("Tue 03 Nov 09:45 (15:45 yours)  reminder")
    assert grace[1].startswith("Tue 03 Nov 10:00 (16:00 yours)  due")
    assert "(16:00 CET yours) is due" in grace[1]
    assert emmy[1].startswith("Tue 03 Nov 17:00 ") and \
        "yours" not in emmy[1]
    # The columns stay aligned.
    assert len({x.index("#") for x in grace + emmy}) == 1


def test_simulate_sends_nothing_and_the_reminder_still_fires_once(sim, clock):
    d = sim()
    cid = contact(d)
    fid = d.call("followup.add", contact=cid, due="2026-11-02T09:30:00Z",
                 kind="callback")["followup"]["id"]
    before = d.call("followup.get", id=fid)
    w = d.connect(timeout=15)
    assert w.request("watch")["ok"]
    for _ in range(3):
        r = d.call("simulate", **{"to": "in 2 hours"})
        assert [k for k, _ in of(r, fid)] == ["reminder", "due", "missed"]
    assert d.call("followup.get", id=fid) == before
    assert d.call("status")["outbox_backlog"] == 0
    w.sock.settimeout(1.5)
    with pytest.raises(OSError):
        w.line()                       # nothing went out

    # The real reminder at 09:15 goes out, once, and then is no longer
    # to come.
    clock("2026-11-02 09:16:00")
    w.sock.settimeout(15)
    ev = json.loads(w.line())
    assert ev["event"] == "reminder"
    assert ev["notice"]["followup"]["id"] == fid
    w.sock.settimeout(2.5)
    with pytest.raises(OSError):
        w.line()
    w.close()
    r = d.call("simulate", **{"to": "in 2 hours"})
    assert of(r, fid) == [("due", "2026-11-02T09:30:00Z"),
                          ("missed", "2026-11-02T10:00:00Z")]


def test_snoozed_follow_up_uses_its_new_time(sim):
    d = sim()
    cid = contact(d)
    fid = d.call("followup.add", contact=cid, due="2026-11-02T10:00:00Z",
                 kind="callback")["followup"]["id"]
    d.call("followup.snooze", id=fid, until="2026-11-02T14:00:00Z")
    r = d.call("simulate", to="2026-11-03T00:00:00Z")
    assert of(r, fid) == [("reminder", "2026-11-02T13:45:00Z"),
                          ("due", "2026-11-02T14:00:00Z"),
                          ("missed", "2026-11-02T14:30:00Z")]
    ev = [e for e in r["events"] if e["kind"] == "due"][0]
    assert ev["why"].endswith("; snoozed 1 time")


def test_done_follow_up_has_nothing_to_come(sim):
    d = sim()
    cid = contact(d)
    fid = d.call("followup.add", contact=cid,
                 due="2026-11-02T10:00:00Z")["followup"]["id"]
    d.call("followup.done", id=fid)
    r = d.call("simulate")
    assert of(r, fid) == []
    rc, out, err = d.client("simulate", "--to", "2026-11-02 12:00")
    assert rc == 0, err
    assert out.startswith("Nothing would go out from ")


def test_bad_windows_are_refused(sim):
    d = sim()
    c = d.connect()
    e = c.error("simulate", **{"from": "2026-11-05T00:00:00Z",
                               "to": "2026-11-04T00:00:00Z"})
    assert e["code"] == "bad_request"
    e = c.error("simulate", **{"from": "2026-11-05T00:00:00Z",
                               "to": "2026-11-05T00:00:00Z"})
    assert e["code"] == "bad_request"
    e = c.error("simulate", to="2026-12-04T09:00:00Z")
    assert e["code"] == "bad_request" and "31 days" in e["message"]
    e = c.error("simulate", to="not a time at all")
    assert e["code"] == "invalid_time"
    e = c.error("simulate", tz="Mars/Olympus_Mons")
    assert e["code"] == "invalid_time"
    e = c.error("simulate", limit=3)
    assert e["code"] == "bad_request"
    # 31 days are fine (a month across a clock change: see below).
    assert c.call("simulate", to="2026-12-03T09:00:00Z")["events"] == []
    c.close()
    rc, out, err = d.client("simulate", "--from", "fri", "--to", "thu")
    assert rc == 1 and "must end after it starts" in err
    rc, out, err = d.client("simulate", "tomorrow")
    assert rc == 2 and "usage: followup simulate" in err


def test_the_past_is_not_simulated(sim):
    d = sim()
    cid = contact(d)
    d.call("followup.add", contact=cid, due="2026-11-02T10:00:00Z")
    c = d.connect()
    r = c.request("simulate", {"from": "2026-11-01T00:00:00Z"})
    assert r["ok"], r
    assert r["result"]["from"] == "2026-11-02T09:00:00Z"
    assert r["result"]["notes"] == ["from: nothing before now is shown"]
    c.close()
