"""Contacts through raw requests: add, get, update, list, search, paging,
archive and restore. Bad input tried: clearing the name, updating an
archived contact, archiving twice, restoring a contact that is not
archived, unknown stages in filters."""

import json


def add(conn, name, **kw):
    return conn.call("contact.add", name=name, **kw)["contact"]


def test_add_and_get_round_trip(conn):
    c = add(conn, "  Ada Lovelace  ", company="Analytical Engines",
            phone="+44 20 7946 0001 x12", email="ada@example.com",
            tz="Europe/London", stage="proposal", notes="line 1\nline 2")
    assert c["name"] == "Ada Lovelace"      # surrounding blanks dropped
    assert c["stage"] == "proposal" and c["archived"] is False
    assert c["created_at"].endswith("Z") and c["owner"]
    got = conn.call("contact.get", id=c["id"])
    assert got["contact"] == c
    assert got["interactions"] == [] and got["followups"] == []


def test_default_stage_is_the_first_open_one(conn):
    assert add(conn, "New")["stage"] == "lead"


def test_update_changes_given_fields_and_clears_with_null(conn):
    c = add(conn, "Bob", company="Acme", phone="123")
    u = conn.call("contact.update", id=c["id"], company=None,
                  stage="contacted", email="bob@acme.test")["contact"]
    assert u["company"] is None and u["phone"] == "123"
    assert u["stage"] == "contacted" and u["email"] == "bob@acme.test"
    assert conn.call("contact.get", id=c["id"])["contact"] == u
    e = conn.error("contact.update", id=c["id"], name=None)
    assert e["code"] == "bad_request"
    e = conn.error("contact.update", id=c["id"], name="")
    assert e["code"] == "bad_request"
    e = conn.error("contact.update", id=c["id"], stage="")
    assert e["code"] == "bad_request"
    assert conn.call("contact.get", id=c["id"])["contact"]["stage"] == \
        "contacted"


def test_list_filters_and_search(conn):
    add(conn, "Alice", company="Widgets", stage="lead")
    add(conn, "Bruno", company="100% Gadgets", stage="proposal")
    add(conn, "Carla", notes="met at the fair", stage="proposal")
    names = lambda r: [c["name"] for c in r["contacts"]]
    assert names(conn.call("contact.list")) == ["Alice", "Bruno", "Carla"]
    assert names(conn.call("contact.list", stage="proposal")) == \
        ["Bruno", "Carla"]
    assert names(conn.call("contact.list", search="FAIR")) == ["Carla"]
    assert names(conn.call("contact.list", search="100%")) == ["Bruno"]
    assert names(conn.call("contact.list", search="%")) == ["Bruno"]
    assert names(conn.call("contact.list", search="_")) == []
    assert conn.error("contact.list", stage="nope")["code"] == "bad_request"


def test_paging_with_limit_and_after(conn):
    ids = [add(conn, "P%02d" % i)["id"] for i in range(25)]
    seen, after = [], 0
    while True:
        r = conn.call("contact.list", limit=10, after=after)
        seen += [c["id"] for c in r["contacts"]]
        if r["next_after"] is None:
            break
        after = r["next_after"]
    assert seen == ids


def test_archive_hides_cancels_and_restore_brings_back(conn):
    c = add(conn, "Gone")
    f = conn.call("followup.add", contact=c["id"],
                  due="tomorrow 10:00")["followup"]
    r = conn.call("contact.archive", id=c["id"])
    assert r["cancelled"] == 1 and r["contact"]["archived"] is True
    assert conn.call("contact.list")["contacts"] == []
    assert [x["id"] for x in conn.call("contact.list",
                                       archived=True)["contacts"]] == \
        [c["id"]]
    assert conn.call("followup.get", id=f["id"])["followup"]["status"] == \
        "cancelled"
    assert conn.error("contact.archive", id=c["id"])["code"] == "conflict"
    assert conn.error("contact.update", id=c["id"],
                      notes="x")["code"] == "conflict"
    assert conn.error("followup.add", contact=c["id"],
                      due="tomorrow")["code"] == "conflict"
    r = conn.call("contact.archive", id=c["id"], restore=True)
    assert r["contact"]["archived"] is False
    assert conn.error("contact.archive", id=c["id"],
                      restore=True)["code"] == "conflict"


def test_a_page_of_long_notes_ends_early_with_a_cursor(daemon):
    # 200 contacts with notes of 9,999 bytes: a page of them all would be
    # 2 MB, which a client that never reads would leave in the daemon.
    conn = daemon.connect()
    note = ("Call after the board meeting. " * 400)[:9999]
    for start in range(0, 200, 10):
        for i in range(start, start + 10):
            conn.send({"id": i, "op": "contact.add",
                       "args": {"name": "Long %d" % i, "notes": note}})
        for i in range(start, start + 10):
            assert conn.reply()["ok"]
    r = conn.call("contact.list", limit=1000)
    assert 0 < len(r["contacts"]) < 200 and r["next_after"] is not None
    assert len(json.dumps(r)) < 1024 * 1024
    names = [c["name"] for c in r["contacts"]]
    while r["next_after"] is not None:
        r = conn.call("contact.list", limit=1000, after=r["next_after"])
        names += [c["name"] for c in r["contacts"]]
    assert names == ["Long %d" % i for i in range(200)]
    # Short pages stay whole.
    r = conn.call("contact.list", limit=3)
    assert len(r["contacts"]) == 3
    conn.close()
