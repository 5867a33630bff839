"""Every list op pages with "after" and "limit" and says where the next
page starts in "next_after": followup.list, interaction.list and the
agenda (contact.list is in test_contacts.py). Paging returns every row
exactly once and in order, even when rows are written between pages, and
the client gathers the pages so that its user sees the whole list. Bad
input tried: a mangled cursor, a cursor of another list, a limit out of
range."""

import json
import time

import pytest

from fu import rfc3339


def pipelined(conn, op, many):
    """Run op once per argument object in many, pipelined; the results."""
    conn.send(b"".join(json.dumps({"id": i + 1, "op": op, "args": a})
                       .encode() + b"\n" for i, a in enumerate(many)))
    out = []
    for _ in many:
        r = conn.reply()
        assert r["ok"], r
        out.append(r["result"])
    return out


def pages(conn, op, key, write=None, **args):
    """Every row of key through pages of args; write() runs between."""
    seen, after, n = [], None, 0
    while True:
        extra = {} if after is None else {"after": after}
        r = conn.call(op, **args, **extra)
        seen += [x["id"] for x in r[key]]
        n += 1
        if r["next_after"] is None:
            return seen, n
        assert isinstance(r["next_after"], str)
        after = r["next_after"]
        if write is not None:
            write()


@pytest.fixture
def cid(conn):
    return conn.call("contact.add", name="Page Turner",
                     tz="UTC")["contact"]["id"]


def test_followup_list_pages_exactly_once_with_writes_between(conn, cid):
    # Ties on the due time, callbacks among them: the cursor must carry
    # the whole sort key, not the time alone.
    many = [{"contact": cid, "due": "2030-01-01T10:00:00Z",
             "kind": "callback" if i % 3 == 0 else "followup", "force": True}
            for i in range(17)]
    many += [{"contact": cid, "due": "2030-01-0%dT10:00:00Z" % (2 + i % 3),
              "force": True} for i in range(10)]
    pipelined(conn, "followup.add", many)
    whole = [f["id"] for f in
             conn.call("followup.list", limit=1000)["followups"]]
    assert len(whole) == 27
    added = []

    def write():
        # One before every cursor (never seen), one after all of them
        # (seen once, at the end).
        added.append(conn.call("followup.add", contact=cid,
                               due="2029-06-01T10:00:00Z",
                               force=True)["followup"]["id"])
        added.append(conn.call("followup.add", contact=cid,
                               due="2031-01-%02dT10:00:00Z" % len(added),
                               force=True)["followup"]["id"])

    seen, n = pages(conn, "followup.list", "followups", write, limit=4)
    assert n > 2
    assert seen[:27] == whole
    assert seen[27:] == added[1::2]
    assert len(seen) == len(set(seen))


def test_followup_list_default_page_and_cursor_errors(conn, cid):
    pipelined(conn, "followup.add",
              [{"contact": cid, "due": "2030-02-01T10:00:00Z",
                "force": True}] * 101)
    r = conn.call("followup.list")
    assert len(r["followups"]) == 100 and r["next_after"] is not None
    rest = conn.call("followup.list", after=r["next_after"])
    assert len(rest["followups"]) == 1 and rest["next_after"] is None
    for bad in ["", "x", "1,2", "1,0,5x", "1,0,0", "99999999999999999999,0,1"]:
        assert conn.error("followup.list", after=bad)["code"] == \
            "bad_request", bad
    assert conn.error("followup.list", after=7)["code"] == "bad_request"
    assert conn.error("followup.list", limit=0)["code"] == "bad_request"
    assert conn.error("followup.list", limit=1001)["code"] == "bad_request"


def test_interaction_list_pages_newest_first(conn, cid):
    # Interactions at the same instant: the cursor is (at, id).
    many = [{"contact": cid, "kind": "note", "note": "n%d" % i,
             "at": "2026-01-0%dT09:00:00Z" % (1 + i % 3), "no_next": True}
            for i in range(14)]
    pipelined(conn, "interaction.add", many)
    whole = [x["id"] for x in conn.call("interaction.list", contact=cid,
                                        limit=1000)["interactions"]]
    assert len(whole) == 14

    def write():
        conn.call("interaction.add", contact=cid, kind="note",
                  note="later", no_next=True)

    seen, n = pages(conn, "interaction.list", "interactions", write,
                    contact=cid, limit=3)
    # Newer interactions written meanwhile come before the cursor.
    assert n == 5 and seen == whole
    assert conn.error("interaction.list", contact=cid,
                      after="12")["code"] == "bad_request"


def test_agenda_pages_overdue_then_due(conn, cid):
    late = pipelined(conn, "followup.add",
                     [{"contact": cid, "due": "2020-01-01T10:00:00Z",
                       "reason": "late", "force": True}] * 5)
    soon = pipelined(conn, "followup.add",
                     [{"contact": cid, "due": rfc3339(time.time() + 3600 * h),
                       "reason": "soon", "force": True} for h in (2, 2, 3)])
    want = [f["followup"]["id"] for f in late + soon]
    overdue, due, stale, after = [], [], [], None
    while True:
        extra = {} if after is None else {"after": after}
        a = conn.call("agenda", range="week", limit=2, **extra)
        assert len(a["overdue"]) + len(a["due"]) <= 2
        overdue += [f["id"] for f in a["overdue"]]
        due += [f["id"] for f in a["due"]]
        stale += a["stale"]
        if a["next_after"] is None:
            break
        after = a["next_after"]
    assert overdue == want[:5] and due == want[5:]
    whole = conn.call("agenda", range="week")
    assert [f["id"] for f in whole["overdue"] + whole["due"]] == want


def test_client_gathers_every_page(daemon):
    c = daemon.connect()
    cid = c.call("contact.add", name="Many", tz="UTC")["contact"]["id"]
    pipelined(c, "followup.add",
              [{"contact": cid, "due": "2020-03-01T10:00:00Z",
                "reason": "r%04d" % i, "force": True} for i in range(1003)])
    c.call("followup.add", contact=cid, due="2020-01-01T10:00:00Z",
           reason="way late", force=True)
    c.close()
    rc, out, err = daemon.client("list")
    assert rc == 0, err
    assert out.count("Many: ") == 1004
    rc, out, err = daemon.client("--json", "list", "--limit", "1002")
    assert rc == 0, err
    assert len(json.loads(out)["followups"]) == 1002
    rc, out, err = daemon.client("--json", "agenda", "week")
    assert rc == 0, err
    overdue = [f["reason"] for f in json.loads(out)["overdue"]]
    assert overdue == ["way late"] + ["r%04d" % i for i in range(1003)]
    rc, out, err = daemon.client("agenda", "week")
    assert rc == 0, err
    assert out.count("Many: ") == 1004
