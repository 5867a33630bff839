"""Follow-ups, interactions, the agenda and user settings through raw
requests. Bad input tried: done twice, cancel after done, snooze into the
past, a due time in the past, unknown kinds and outcomes, unknown zones,
logging far in the future, bad settings."""

import json
import time

import pytest

from fu import rfc3339


@pytest.fixture
def cid(conn):
    return conn.call("contact.add", name="Ada Lovelace",
                     tz="America/New_York")["contact"]["id"]


def test_add_with_rfc3339_keeps_the_instant(conn, cid):
    f = conn.call("followup.add", contact=cid, due="2030-12-01T10:00:00Z",
                  kind="callback", reason="quote")["followup"]
    assert f["due_at"] == "2030-12-01T10:00:00Z"
    assert f["remind_at"] == "2030-12-01T09:45:00Z"
    assert f["kind"] == "callback" and f["status"] == "pending"
    assert f["overdue"] is False and f["contact_name"] == "Ada Lovelace"


def test_relative_expressions_are_read(conn, cid):
    now = time.time()
    f = conn.call("followup.add", contact=cid, due="in 3 days")["followup"]
    due = time.mktime(time.strptime(f["due_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(due - (now + 3 * 86400)) < 120
    f = conn.call("followup.add", contact=cid,
                  due="tomorrow 10:00")["followup"]
    assert f["due_at"].endswith("T10:00:00Z")


@pytest.mark.parametrize("tz, want", [
    ("Europe/Berlin", "2030-12-02T09:00:00Z"),
    ("America/New_York", "2030-12-02T15:00:00Z"),
    ("contact", "2030-12-02T15:00:00Z"),
    ("UTC", "2030-12-02T10:00:00Z"),
])
def test_tz_changes_how_a_local_time_is_read(conn, cid, tz, want):
    f = conn.call("followup.add", contact=cid, due="2030-12-02 10:00",
                  tz=tz)["followup"]
    assert f["due_at"] == want


def test_skipped_local_time_becomes_the_first_after_with_a_note(conn, cid):
    r = conn.call("followup.add", contact=cid, due="2030-03-31 02:30",
                  tz="Europe/Berlin")
    assert r["followup"]["due_at"] == "2030-03-31T01:00:00Z"
    assert "03:00" in r["notes"][0]


def test_repeated_local_time_means_the_first(conn, cid):
    f = conn.call("followup.add", contact=cid, due="2030-10-27 02:30",
                  tz="Europe/Berlin")["followup"]
    assert f["due_at"] == "2030-10-27T00:30:00Z"


def test_the_callers_zone_setting_is_used(conn, cid):
    conn.call("user.set", tz="Asia/Tokyo")
    f = conn.call("followup.add", contact=cid,
                  due="2030-12-02 10:00")["followup"]
    assert f["due_at"] == "2030-12-02T01:00:00Z"


def test_past_due_needs_force_and_shows_overdue(conn, cid):
    past = rfc3339(time.time() - 3600)
    assert conn.error("followup.add", contact=cid,
                      due=past)["code"] == "invalid_time"
    f = conn.call("followup.add", contact=cid, due=past,
                  force=True)["followup"]
    assert f["overdue"] is True


def test_done_cancel_snooze_reschedule_lifecycle(conn, cid):
    f = conn.call("followup.add", contact=cid, due="in 2 hours")["followup"]
    s = conn.call("followup.snooze", id=f["id"], until="in 5 hours")
    assert s["followup"]["snoozes"] == 1
    assert s["followup"]["due_at"] > f["due_at"]
    assert conn.error("followup.snooze", id=f["id"],
                      until=rfc3339(time.time() - 60))["code"] == \
        "invalid_time"
    r = conn.call("followup.reschedule", id=f["id"],
                  due="2030-01-02T03:04:05Z")["followup"]
    assert r["due_at"] == "2030-01-02T03:04:05Z" and r["snoozes"] == 1
    d = conn.call("followup.done", id=f["id"], note="spoke",
                  next="2030-02-01T10:00:00Z", next_kind="callback")
    assert d["followup"]["status"] == "done"
    assert d["followup"]["note"] == "spoke" and d["followup"]["done_at"]
    assert d["next"]["kind"] == "callback"
    assert d["next"]["due_at"] == "2030-02-01T10:00:00Z"
    e = conn.error("followup.done", id=f["id"])
    assert e["code"] == "conflict" and "already done" in e["message"]
    assert conn.error("followup.cancel", id=f["id"])["code"] == "conflict"
    c = conn.call("followup.cancel", id=d["next"]["id"])["followup"]
    assert c["status"] == "cancelled"


def test_failed_next_leaves_the_followup_pending(conn, cid):
    f = conn.call("followup.add", contact=cid, due="in 2 hours")["followup"]
    e = conn.error("followup.done", id=f["id"], next="never ever")
    assert e["code"] == "invalid_time"
    assert conn.call("followup.get", id=f["id"])["followup"]["status"] == \
        "pending"


def test_list_by_status_and_window(conn, cid):
    a = conn.call("followup.add", contact=cid,
                  due="2030-01-01T10:00:00Z")["followup"]
    b = conn.call("followup.add", contact=cid,
                  due="2030-01-03T10:00:00Z")["followup"]
    conn.call("followup.done", id=a["id"])
    ids = lambda r: [f["id"] for f in r["followups"]]
    assert ids(conn.call("followup.list")) == [b["id"]]
    assert ids(conn.call("followup.list", status="done")) == [a["id"]]
    assert ids(conn.call("followup.list", status="all")) == [a["id"], b["id"]]
    assert ids(conn.call("followup.list", status="all",
                         **{"from": "2030-01-02", "to": "2030-01-04"})) == \
        [b["id"]]
    assert ids(conn.call("followup.list", contact=cid, status="all")) == \
        [a["id"], b["id"]]
    assert conn.error("followup.list", status="maybe")["code"] == \
        "bad_request"


def test_interaction_with_next_schedules_and_lists(conn, cid):
    r = conn.call("interaction.add", contact=cid, kind="call",
                  outcome="reached", note="wants a quote",
                  next="2030-05-05T15:00:00Z", next_kind="callback",
                  reason="walk through the quote")
    assert r["interaction"]["outcome"] == "reached"
    assert r["followup"]["kind"] == "callback"
    assert r["followup"]["reason"] == "walk through the quote"
    v = conn.call("interaction.add", contact=cid, kind="voicemail")
    assert v["interaction"]["outcome"] == "voicemail"
    assert v["followup"]["kind"] == "followup"     # the cadence's next try
    assert v["why"] is not None
    n = conn.call("interaction.add", contact=cid, kind="voicemail",
                  no_next=True)
    assert n["followup"] is None
    hist = conn.call("interaction.list", contact=cid)["interactions"]
    assert [i["kind"] for i in hist] == ["voicemail", "voicemail", "call"]
    c = conn.call("contact.get", id=cid)["contact"]
    assert c["last_activity_at"] is not None
    assert conn.error("interaction.add", contact=cid,
                      kind="telegram")["code"] == "bad_request"
    assert conn.error("interaction.add", contact=cid, kind="call",
                      outcome="maybe")["code"] == "bad_request"
    assert conn.error("interaction.add", contact=cid, kind="call",
                      at="in 3 days")["code"] == "invalid_time"


def test_agenda_overdue_first_then_due_by_time_callbacks_first(conn, cid):
    late = conn.call("followup.add", contact=cid, force=True,
                     due=rfc3339(time.time() - 7200))["followup"]
    soon = rfc3339(time.time() + 120)
    f1 = conn.call("followup.add", contact=cid, due=soon)["followup"]
    f2 = conn.call("followup.add", contact=cid, due=soon,
                   kind="callback")["followup"]
    far = conn.call("followup.add", contact=cid,
                    due=rfc3339(time.time() + 10 * 86400))["followup"]
    a = conn.call("agenda", range="week")
    assert [f["id"] for f in a["overdue"]] == [late["id"]]
    due = [f["id"] for f in a["due"]]
    assert due[:2] == [f2["id"], f1["id"]]
    assert far["id"] not in due
    assert a["overdue"][0]["overdue"] is True
    day = conn.call("agenda", day=far["due_at"])
    assert [f["id"] for f in day["due"]] == [far["id"]]
    assert conn.error("agenda", range="month")["code"] == "bad_request"
    assert conn.error("agenda", range="today", day="tomorrow")["code"] == \
        "bad_request"


def test_stale_contacts_show_in_the_agenda(make_daemon):
    d = make_daemon("[schedule]\nstale_after = 1s\n")
    c = d.connect()
    cid = c.call("contact.add", name="Quiet")["contact"]["id"]
    won = c.call("contact.add", name="Closed", stage="won")["contact"]["id"]
    time.sleep(2.1)
    stale = [x["id"] for x in c.call("agenda")["stale"]]
    assert stale == [cid] and won not in stale
    c.call("followup.add", contact=cid, due="tomorrow 10:00")
    assert c.call("agenda")["stale"] == []
    c.close()


def test_user_settings(conn):
    u = conn.call("user.get")["user"]
    assert u["email"] is None and u["name"]
    u = conn.call("user.set", email="me@example.com", tz="Europe/Berlin",
                  digest="07:30", hours="08:00-16:30",
                  workdays="mon-thu")["user"]
    assert (u["email"], u["tz"], u["digest"], u["hours"], u["workdays"]) == \
        ("me@example.com", "Europe/Berlin", "07:30", "08:00-16:30", "mon-thu")
    assert conn.call("user.set", email=None)["user"]["email"] is None
    assert conn.call("hello")["tz"] == "Europe/Berlin"
    for k, v, code in [("email", "nope", "bad_request"),
                       ("tz", "Nowhere/Land", "invalid_time"),
                       ("digest", "25:00", "bad_request"),
                       ("hours", "17:00-09:00", "bad_request"),
                       ("workdays", "funday", "bad_request")]:
        assert conn.error("user.set", **{k: v})["code"] == code
    assert conn.call("user.get")["user"]["digest"] == "07:30"


def test_reminder_lead_comes_from_followup_then_rep_then_config(conn, cid):
    due = "2030-01-01T10:00:00Z"
    f = conn.call("followup.add", contact=cid, due=due)["followup"]
    assert f["remind_at"] == "2030-01-01T09:45:00Z"       # config: 15m
    assert conn.call("user.set", lead="1h")["user"]["lead"] == "1h"
    f = conn.call("followup.add", contact=cid, due=due)["followup"]
    assert f["remind_at"] == "2030-01-01T09:00:00Z"       # the rep's
    f = conn.call("followup.add", contact=cid, due=due,
                  remind_before="5m")["followup"]
    assert f["remind_at"] == "2030-01-01T09:55:00Z"       # its own
    assert conn.error("user.set", lead="soonish")["code"] == "bad_request"


def test_pipelined_reads_see_the_writes_before_them(conn, cid):
    # Reads arriving together share one read transaction; a write among
    # them ends it, and the reads after it see the write.
    reqs = [{"id": 1, "op": "followup.list"},
            {"id": 2, "op": "followup.add",
             "args": {"contact": cid, "due": "2030-05-01T10:00:00Z"}},
            {"id": 3, "op": "followup.list"},
            {"id": 4, "op": "contact.get", "args": {"id": cid}}]
    conn.send(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
    got = [conn.reply() for _ in reqs]
    assert [r["id"] for r in got] == [1, 2, 3, 4]
    assert all(r["ok"] for r in got), got
    fid = got[1]["result"]["followup"]["id"]
    assert got[0]["result"]["followups"] == []
    assert [f["id"] for f in got[2]["result"]["followups"]] == [fid]
    assert [f["id"] for f in got[3]["result"]["followups"]] == [fid]


def test_a_page_of_long_notes_ends_early_with_a_cursor(conn, cid):
    # 200 cancelled follow-ups and 200 calls with notes of 9,999 bytes: a
    # page of either would be 2 MB, which a client that never reads would
    # leave in the daemon.
    note = ("Bring the revised quote and the pilot plan. " * 300)[:9999]
    for start in range(0, 200, 10):
        for i in range(start, start + 10):
            conn.send({"id": i, "op": "followup.add",
                       "args": {"contact": cid,
                                "due": "2031-01-01T%02d:%02d:00Z" %
                                (i // 60, i % 60)}})
        fids = []
        for i in range(start, start + 10):
            r = conn.reply()
            assert r["ok"], r
            fids.append(r["result"]["followup"]["id"])
        for i, fid in enumerate(fids):
            conn.send({"id": i, "op": "followup.cancel",
                       "args": {"id": fid, "note": note}})
        for i in range(start, start + 10):
            conn.send({"id": i, "op": "interaction.add",
                       "args": {"contact": cid, "kind": "call",
                                "outcome": "no-answer", "note": note,
                                "no_next": True,
                                "at": "2020-01-01T%02d:%02d:00Z" %
                                (i // 60, i % 60)}})
        for i in range(20):
            r = conn.reply()
            assert r["ok"], r
    for op, key, args in (("followup.list", "followups",
                           {"status": "cancelled"}),
                          ("interaction.list", "interactions",
                           {"contact": cid})):
        r = conn.call(op, limit=1000, **args)
        assert 0 < len(r[key]) < 200 and r["next_after"] is not None
        assert len(json.dumps(r)) < 1024 * 1024
        ids = [x["id"] for x in r[key]]
        while r["next_after"] is not None:
            r = conn.call(op, limit=1000, after=r["next_after"], **args)
            ids += [x["id"] for x in r[key]]
        assert len(ids) == 200 and len(set(ids)) == 200
        # Short pages stay whole.
        assert len(conn.call(op, limit=3, **args)[key]) == 3
