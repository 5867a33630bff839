"""followup report through the real client, the daemon's clock set by
libfaketime: the pipeline by stage, follow-ups on time / late / missed
with the on-time rate, callbacks' promises kept and missed (each agreed
time judged on its own: one re-agreed after it was missed counts as
missed, and its new time on its own), this week's voicemails with one
contact over the limit, stale contacts, and the team's totals.  Bad input tried: a since
in the future, a bad date, an unknown option."""

import json

import pytest

from fu import FAKETIME_LIB, WRAPPER

pytestmark = pytest.mark.skipif(
    FAKETIME_LIB is None or WRAPPER != [],
    reason="needs libfaketime, and no valgrind wrapper")


@pytest.fixture
def world(make_daemon, tmp_path):
    clock = tmp_path / "clock"

    def at(when):
        clock.write_text("@%s\n" % when)

    at("2026-10-10 09:00:00")
    d = make_daemon(faketime=str(clock))
    d.call("user.set", tz="UTC")
    dee = d.call("contact.add", name="Dee Stale",
                 stage="contacted")["contact"]["id"]
    at("2026-11-02 09:00:00")                       # Monday
    ada = d.call("contact.add", name="Ada Lovelace", tz="Europe/Berlin",
                 stage="proposal")["contact"]["id"]
    bob = d.call("contact.add", name="Bob Voicemail")["contact"]["id"]
    cy = d.call("contact.add", name="Cy Won", stage="won")["contact"]["id"]

    def add(due, kind="followup"):
        return d.call("followup.add", contact=ada, due=due,
                      kind=kind)["followup"]["id"]
    f1 = add("2026-11-02T10:00:00Z")
    f2 = add("2026-11-02T11:00:00Z")
    add("2026-11-02T12:00:00Z")                     # f3: never done
    c1 = add("2026-11-03T10:00:00Z", "callback")
    c2 = add("2026-11-03T14:00:00Z", "callback")
    add("2026-11-03T16:00:00Z", "callback")         # c3: never done
    add("2026-11-06T10:00:00Z")                     # not due yet
    at("2026-11-02 15:00:00")
    d.call("followup.done", id=f1)                  # on its day
    for day in ("2026-11-02T09:30:00Z", "2026-11-03T09:30:00Z",
                "2026-11-03T10:30:00Z"):
        d.call("interaction.add", contact=bob, kind="voicemail", at=day,
               no_next=True)
    at("2026-11-03 09:00:00")
    d.call("followup.done", id=f2)                  # a day late
    at("2026-11-03 10:05:00")
    d.call("followup.done", id=c1)                  # kept
    at("2026-11-03 15:00:00")                       # c2 missed: re-agree
    d.call("followup.reagree", id=c2, due="2026-11-04T10:00:00Z")
    at("2026-11-04 10:10:00")
    d.call("followup.done", id=c2)                  # new time kept; late
    d.call("interaction.add", contact=bob, kind="voicemail", no_next=True)
    at("2026-11-04 12:00:00")
    d.ids = dict(ada=ada, bob=bob, cy=cy, dee=dee)
    return d


def test_report_counts_a_reps_week(world):
    d = world
    rc, out, err = d.client("--json", "report", "--since", "2026-11-01")
    assert rc == 0, err
    r = json.loads(out)
    assert r["owner"] == "root" and r["since"] == "2026-11-01T00:00:00Z"
    (rep,) = r["reps"]
    assert rep["pipeline"] == {"lead": 1, "contacted": 1, "info-sent": 0,
                               "proposal": 1, "negotiation": 0, "won": 1,
                               "lost": 0}
    fu = rep["followups"]
    # f1 and c1 on time; f2 a day late, and c2, moved after missing
    # 14:00, late however well its new time went; f3 and c3 missed; the
    # one due on Friday still open.
    assert (fu["on_time"], fu["late"], fu["missed"], fu["open"]) == \
        (2, 2, 2, 1)
    assert fu["on_time_rate"] == pytest.approx(2 / 6)
    cb = rep["callbacks"]
    # Promises: c1 kept; c2's 14:00 missed (re-agreed an hour after),
    # its new time kept; c3 missed.
    assert (cb["kept"], cb["early"], cb["late"], cb["missed"],
            cb["reagreed"]) == (2, 0, 0, 2, 0)
    assert cb["kept_rate"] == pytest.approx(0.5)
    (vm,) = rep["voicemails"]
    assert vm["contact_id"] == d.ids["bob"]
    assert vm["this_week"] == 4 and vm["over_limit"] is True
    assert [s["id"] for s in rep["stale"]] == [d.ids["dee"]]


def test_report_reads_well(world):
    rc, out, err = world.client("report", "--since", "2026-11-01")
    assert rc == 0, err
    assert "Since Sun 01 Nov" in out
    assert "pipeline    lead 1, contacted 1, info-sent 0, proposal 1" in out
    assert ("follow-ups  2 on time, 2 late, 2 missed, 1 open "
            "(on time: 33%)") in out
    assert ("callbacks   2 kept, 0 early, 0 late, 2 missed, 0 open "
            "(kept: 50%); 0 moved in good time") in out
    assert "Bob Voicemail" in out and "4  OVER THE LIMIT" in out
    assert "Dee Stale" in out and "last news Sat 10 Oct" in out


def test_report_window_and_team(world):
    d = world
    # Since Tuesday: Monday's follow-ups fall outside the window.
    r = d.call("report", since="2026-11-03T00:00:00Z")
    fu = r["reps"][0]["followups"]
    assert (fu["on_time"], fu["late"], fu["missed"]) == (1, 1, 1)
    # The team: root is an admin; the totals add the reps up.
    r = d.call("report", owner="*", since="2026-11-01T00:00:00Z")
    assert r["owner"] is None
    assert r["totals"]["followups"]["on_time"] == 2
    assert r["totals"]["pipeline"]["won"] == 1
    rc, out, err = d.client("report", "--all", "--since", "2026-11-01")
    assert rc == 0 and "the team" in out


def test_report_counts_what_is_planned_as_open(make_daemon, tmp_path):
    clock = tmp_path / "clock"
    clock.write_text("@2026-11-02 09:00:00\n")
    d = make_daemon(faketime=str(clock))
    cid = d.call("contact.add", name="Ada Lovelace")["contact"]["id"]
    for when in ("tomorrow 10:00", "wed 11:00"):
        assert d.client("schedule", str(cid), when)[0] == 0
    assert d.client("schedule", str(cid), "thu 15:00", "--callback")[0] == 0
    rc, out, err = d.client("report")
    assert rc == 0, err
    assert "0 missed, 3 open" in out
    assert "0 missed, 1 open (kept:" in out
    r = json.loads(d.client("--json", "report")[1])
    assert r["reps"][0]["followups"]["open"] == 3
    assert r["reps"][0]["callbacks"]["open"] == 1
    # The team's totals count them too; done or cancelled, they are not.
    r = d.call("report", owner="*")
    assert r["totals"]["followups"]["open"] == 3
    first = d.call("followup.list", contact=cid)["followups"][0]["id"]
    d.call("followup.cancel", id=first)
    r = d.call("report")
    assert r["reps"][0]["followups"]["open"] == 2


def test_report_refuses_bad_input(world):
    d = world
    rc, out, err = d.client("report", "--since", "in 3 days")
    assert rc == 1 and "looks back" in err
    rc, out, err = d.client("report", "--since", "the day after never")
    assert rc == 1 and "since" in err
    rc, out, err = d.client("report", "--weekly")
    assert rc == 2
    # Another rep's figures are theirs alone: none of root's show.
    r = d.call("report", owner="fu-nobody", since="2026-11-01T00:00:00Z")
    (rep,) = r["reps"]
    assert rep["rep"] == "fu-nobody"
    assert rep["followups"]["on_time"] == 0 and rep["stale"] == []
    assert sum(rep["pipeline"].values()) == 0
