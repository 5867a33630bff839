"""What reps type and see, through the real client: arguments typed in a
locale that is not UTF-8 (ISO-8859-1, compiled here with localedef) are
converted, never dropped; arguments that are not text in the locale are
refused with the argument named and nothing stored; tables line up by the
columns a terminal shows (accents, combining marks, CJK), cut by columns
too, and a reason, note or name with a line break or a control character
stays on its row (in watch too)."""

import os
import subprocess
import threading
import unicodedata

import pytest

from fu import FOLLOWUP


@pytest.fixture(scope="module")
def latin1(tmp_path_factory):
    """The environment of a rep on a Latin-1 terminal."""
    d = tmp_path_factory.mktemp("locale")
    subprocess.run(["localedef", "-i", "de_DE", "-f", "ISO-8859-1",
                    str(d / "de_DE.ISO-8859-1")], check=True,
                   capture_output=True)
    return {"LOCPATH": str(d), "LC_ALL": "de_DE.ISO-8859-1"}


def run(daemon, *args, env=None, cwd=None):
    """The client with byte arguments: (exit code, stdout, stderr)."""
    e = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
    e.pop("FOLLOWUP_SOCKET", None)
    e.update(env or {})
    p = subprocess.run([FOLLOWUP, "--socket", daemon.sock] + list(args),
                       capture_output=True, env=e, timeout=60, cwd=cwd)
    return (p.returncode, p.stdout.decode(errors="surrogateescape"),
            p.stderr.decode(errors="surrogateescape"))


def cols(s):
    """The columns s takes on a terminal."""
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in "WF" else 1
               for ch in s)


def test_latin1_arguments_are_converted_not_dropped(daemon, latin1):
    rc, out, err = run(daemon, "contact", "add", b"J\xfcrgen", b"M\xfcller",
                       "--company", b"B\xe4ckerei", env=latin1)
    assert rc == 0, err
    c = daemon.call("contact.list")["contacts"][0]
    assert c["name"] == "Jürgen Müller" and c["company"] == "Bäckerei"
    rc, out, err = run(daemon, "schedule", str(c["id"]), "in 4 days",
                       "--reason", b"R\xfcckruf", env=latin1)
    assert rc == 0, err
    rc, out, err = run(daemon, "log", str(c["id"]), "note", "--note",
                       b"Gr\xfc\xdfe", "--no-next", env=latin1)
    assert rc == 0, err
    got = daemon.call("contact.get", id=c["id"])
    assert got["followups"][0]["reason"] == "Rückruf"
    assert got["interactions"][0]["note"] == "Grüße"


def test_latin1_file_names_stay_as_typed(daemon, latin1, tmp_path):
    daemon.call("contact.add", name="Ada")
    rc, out, err = run(daemon, "export", "--format", "csv", "-o",
                       b"M\xe4rz.csv", env=latin1, cwd=tmp_path)
    assert rc == 0, err
    assert os.path.exists(os.path.join(os.fsencode(tmp_path),
                                       b"M\xe4rz.csv"))
    rc, out, err = run(daemon, "import", b"M\xe4rz.csv", "--dry-run",
                       env=latin1, cwd=tmp_path)
    assert rc == 0, err
    # An option's value joined to it, too.
    rc, out, err = run(daemon, "export", "--format=csv", b"-oJ\xe4n.csv",
                       env=latin1, cwd=tmp_path)
    assert rc == 0, err
    assert os.path.exists(os.path.join(os.fsencode(tmp_path),
                                       b"J\xe4n.csv"))


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_arguments_that_are_not_text_are_refused(daemon, locale):
    env = {"LC_ALL": locale}
    rc, out, err = run(daemon, "contact", "add", b"J\xfcrgen", env=env)
    assert rc == 2 and '"J\\xfcrgen"' in err and "not UTF-8" in err, err
    assert daemon.call("contact.list")["contacts"] == []
    cid = daemon.call("contact.add", name="Ada")["contact"]["id"]
    rc, out, err = run(daemon, "schedule", str(cid), "in 4 days",
                       "--reason", b"R\xfcckruf", env=env)
    assert rc == 2 and '"R\\xfcckruf"' in err, err
    rc, out, err = run(daemon, "contact", "edit", str(cid), "--company",
                       b"\xff", env=env)
    assert rc == 2, err
    got = daemon.call("contact.get", id=cid)
    assert got["followups"] == [] and got["contact"]["company"] is None
    # UTF-8 in the C locale is what terminals send: it is taken.
    rc, out, err = run(daemon, "contact", "edit", str(cid), "--company",
                       "Bäckerei".encode(), env=env)
    assert rc == 0, err


NAMES = [("Günter Öztürk", "Bäckerei Müller"), ("WEN ÖZTÜRK", "Acme"),
         ("王小明", "北京公司"), ("Zoe\u0308 Ng", "Café"), ("Ada", "X")]


def test_contact_list_lines_up_by_display_columns(daemon):
    for name, company in NAMES:
        daemon.call("contact.add", name=name, company=company,
                    phone="+49 30 1234")
    rc, out, err = run(daemon, "contact", "list")
    assert rc == 0, err
    lines = out.splitlines()
    head = lines[0]
    company_at = cols(head[:head.index("COMPANY")])
    stage_at = cols(head[:head.index("STAGE")])
    assert len(lines) == 1 + len(NAMES)
    for line, (name, company) in zip(lines[1:], NAMES):
        assert name in line
        assert cols(line[:line.index(company)]) == company_at, lines
        assert cols(line[:line.index("lead")]) == stage_at, lines


def test_contact_list_cuts_wide_names_by_columns(daemon):
    daemon.call("contact.add", name="长" * 20, company="東" * 15)
    daemon.call("contact.add", name="Ada", company="X")
    rc, out, err = run(daemon, "contact", "list")
    assert rc == 0, err
    lines = out.splitlines()
    # At most 30 columns of name and 24 of company: 15 and 12 characters.
    assert "长" * 15 + "  " in lines[1] and "长" * 16 not in lines[1]
    assert "東" * 12 + "  " in lines[1] and "東" * 13 not in lines[1]
    assert cols(lines[1][:lines[1].index("lead")]) == \
        cols(lines[2][:lines[2].index("lead")]) == \
        cols(lines[0][:lines[0].index("STAGE")])


def test_a_reason_with_line_breaks_stays_on_its_row(daemon):
    a = daemon.call("contact.add", name="Günter Öztürk")["contact"]["id"]
    b = daemon.call("contact.add", name="王小明")["contact"]["id"]
    daemon.call("followup.add", contact=a, due="2030-01-08 10:00",
                reason="first the quote\nthen the prices")
    daemon.call("followup.add", contact=b, due="2030-01-08 11:00",
                reason="short")
    for cmd in (["list"], ["agenda", "2030-01-08"]):
        rc, out, err = run(daemon, *cmd)
        assert rc == 0, err
        rows = [x for x in out.splitlines() if "follow-up" in x]
        assert len(rows) == 2, out
        assert "first the quote \u23ce then the prices" in rows[0], out
        assert cols(rows[0][:rows[0].index("Günter")]) == \
            cols(rows[1][:rows[1].index("王小明")])
    # In full, the reason keeps its lines, indented under its label.
    rc, out, err = run(daemon, "show", "1")
    assert "  Reason:   first the quote\n            then the prices\n" \
        in out


def test_control_characters_stored_before_are_shown_visibly(daemon):
    """Names stored before the daemon refused such characters."""
    cid = daemon.call("contact.add", name="Old")["contact"]["id"]
    daemon.call("followup.add", contact=cid, due="2030-01-08 10:00",
                reason="r")
    daemon.stop()
    daemon.sql("UPDATE contacts SET name = ?, company = ?",
               ("Wen\u0085Öz\x1b[2Jtürk\u202e", "A\tB\nC"))
    daemon.start()
    for cmd in (["contact", "list"], ["list"], ["contact", "show",
                                                str(cid)]):
        rc, out, err = run(daemon, *cmd)
        assert rc == 0, err
        assert "Wen \u23ce Öz\ufffd[2Jtürk\ufffd" in out, out
        for ch in "\x1b\u0085\u202e\t":
            assert ch not in out
    rc, out, err = run(daemon, "contact", "list")
    assert len(out.splitlines()) == 2 and "A B \u23ce C" in out, out


def test_watch_shows_each_notice_on_one_line(daemon):
    cid = daemon.call("contact.add", name="王小明")["contact"]["id"]
    p = subprocess.Popen([FOLLOWUP, "--socket", daemon.sock, "watch"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8"))
    # A notice that never comes ends the watch, and the test, in 60 s.
    stop = threading.Timer(60, p.kill)
    stop.start()
    try:
        assert b"Watching" in p.stdout.readline()
        daemon.call("followup.add", contact=cid, due="in 2 seconds",
                    remind_before=0, reason="the quote\nthen prices")
        line = ""
        while " DUE " not in line:  # past a digest, if one comes first
            line = p.stdout.readline().decode()
            assert line, "the watch ended"
        assert line.endswith("\n"), line
        assert "王小明" in line and "the quote \u23ce then prices" in line
    finally:
        stop.cancel()
        p.terminate()
        p.wait(10)
