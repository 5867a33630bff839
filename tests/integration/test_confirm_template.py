"""The letter confirming an agreed time to a contact is the admin's
template when [confirmations] names one (here in German, with a team
signature), the built-in English text otherwise; a template that would
go out broken stops the start, naming the file and its line."""

import os
import signal
import subprocess
import time

import pytest

from fu import FOLLOWUPD, WRAPPER

DUE = "2030-01-15T08:00:00Z"

TEMPLATE = """\
Guten Tag {contact},

wie besprochen rufe ich Sie am {time_iso} ({zone}) an.
{rep_time_iso} {rep_zone}
Thema: {reason}

Geschweifte Klammern: {{ok}}

{signature}
"""

SIGNATURE = """\
Mit freundlichen Grüßen
{rep}
Tel. {rep_phone}
{rep_email}
ACME GmbH
"""


def rep_and_contact(d, tz="Europe/Berlin", reason="das Angebot"):
    c = d.connect()
    c.call("user.set", email="rep@example.com", tz="Europe/Berlin",
           display_name="Rita Rep", phone="+49 30 1234")
    cid = c.call("contact.add", name="Erika Muster", tz=tz,
                 email="erika@example.org")["contact"]["id"]
    args = {"contact": cid, "due": DUE}
    if reason is not None:
        args["reason"] = reason
    fid = c.call("followup.add", **args)["followup"]["id"]
    return c, fid


def confirm(c, fid):
    return c.call("followup.confirm", id=fid, dry_run=True)["confirmation"]


def templates(tmp_path, template=TEMPLATE, signature=SIGNATURE):
    t = tmp_path / "bestaetigung.txt"
    t.write_text(template, encoding="utf-8")
    s = tmp_path / "signatur.txt"
    s.write_text(signature, encoding="utf-8")
    return ("[reminders]\nhook = /bin/true\n[confirmations]\n"
            "template = %s\nsignature = %s\n"
            "subject = Unser Telefonat am {time_iso}\n" % (t, s))


def test_the_letter_is_the_admins_template(tmp_path, make_daemon):
    d = make_daemon(templates(tmp_path))
    c, fid = rep_and_contact(d)
    m = confirm(c, fid)
    # The contact lives in the rep's zone: the rep's time line is empty,
    # so it goes, as the signature's last end does.
    assert m["text"] == (
        "Guten Tag Erika Muster,\n\n"
        "wie besprochen rufe ich Sie am 2030-01-15 09:00 (Europe/Berlin) "
        "an.\n"
        "Thema: das Angebot\n\n"
        "Geschweifte Klammern: {ok}\n\n"
        "Mit freundlichen Grüßen\nRita Rep\nTel. +49 30 1234\n"
        "rep@example.com\nACME GmbH\n")
    assert m["subject"] == "Unser Telefonat am 2030-01-15 09:00"
    c.close()


def test_the_cancellation_is_its_own_template(tmp_path, make_daemon):
    conf = templates(tmp_path)
    absage = tmp_path / "absage.txt"
    absage.write_text("Guten Tag {contact},\n\nunser Telefonat am "
                      "{time_iso} muss leider ausfallen.\n\n{signature}\n",
                      encoding="utf-8")
    conf += ("cancel_template = %s\n"
             "cancel_subject = Abgesagt: {time_iso}\n" % absage)
    d = make_daemon(conf)
    c, fid = rep_and_contact(d)
    m = c.call("followup.cancel", id=fid, confirm=True)["confirmation"]
    assert m["method"] == "CANCEL"
    assert m["text"] == (
        "Guten Tag Erika Muster,\n\n"
        "unser Telefonat am 2030-01-15 09:00 muss leider ausfallen.\n\n"
        "Mit freundlichen Grüßen\nRita Rep\nTel. +49 30 1234\n"
        "rep@example.com\nACME GmbH\n")
    assert m["subject"] == "Abgesagt: 2030-01-15 09:00"
    c.close()


def test_the_rep_time_shows_and_absent_values_are_empty(tmp_path,
                                                        make_daemon):
    d = make_daemon(templates(tmp_path))
    c, fid = rep_and_contact(d, tz="America/New_York", reason=None)
    m = confirm(c, fid)
    assert ("wie besprochen rufe ich Sie am 2030-01-15 03:00 "
            "(America/New_York) an.\n2030-01-15 09:00 Europe/Berlin\n"
            "Thema: \n") in m["text"], m["text"]
    c.close()


def test_without_confirmations_the_letter_is_the_builtin_english(
        make_daemon):
    d = make_daemon("[reminders]\nhook = /bin/true\n")
    c, fid = rep_and_contact(d)
    m = confirm(c, fid)
    assert m["text"] == (
        "Dear Erika Muster,\n\n"
        "Thank you for your time. As agreed, I will call you on "
        "Tuesday 15 January 2030, 09:00 Europe/Berlin.\n\n"
        "We will talk about das Angebot.\n\n"
        "If that time no longer suits you, just reply to this message.\n\n"
        "Best regards,\nRita Rep\n+49 30 1234\nrep@example.com\n")
    assert m["subject"] == "Our call on Tuesday 15 January 2030, 09:00"
    c.close()


def test_locale_names_the_day_and_month(tmp_path, make_daemon):
    """[confirmations] locale writes {time} in the team's language.  The
    locale is compiled into the test's directory and found through
    LOCPATH, and glibc's newlocale keeps its copy of LOCPATH for good: a
    leak of the C library that only a test's environment causes, which
    LeakSanitizer is told to pass over and valgrind would report."""
    if WRAPPER:
        pytest.skip("glibc's newlocale keeps its copy of LOCPATH")
    supp = tmp_path / "lsan.supp"
    supp.write_text("leak:__argz_add_sep\n")
    lsan = os.environ.get("LSAN_OPTIONS", "")
    locdir = tmp_path / "locale"
    locdir.mkdir()
    subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                    str(locdir / "de_DE.UTF-8")], check=True,
                   capture_output=True)
    conf = templates(tmp_path, template="Am {time} ({zone}).\n")
    conf += "subject = Unser Telefonat am {time}\nlocale = de_DE.UTF-8\n"
    d = make_daemon(conf, env={
        "LOCPATH": str(locdir),
        "LSAN_OPTIONS": (lsan + ":" if lsan else "") +
        "suppressions=%s" % supp})
    c, fid = rep_and_contact(d)
    m = confirm(c, fid)
    assert m["text"].startswith(
        "Am Dienstag 15 Januar 2030, 09:00 (Europe/Berlin).\n"), m["text"]
    assert m["subject"] == "Unser Telefonat am Dienstag 15 Januar 2030, 09:00"
    c.close()


def test_a_locale_the_system_lacks_stops_the_start(tmp_path):
    conf = templates(tmp_path) + "locale = xx_XX.UTF-8\n"
    p = start(tmp_path, conf)
    assert p.returncode == 1
    assert "no locale \"xx_XX.UTF-8\"" in p.stderr, p.stderr


def start(tmp_path, conf):
    path = tmp_path / "bad.conf"
    path.write_text(conf)
    return subprocess.run([FOLLOWUPD, "--config", str(path), "--socket",
                           str(tmp_path / "s"), "--database",
                           str(tmp_path / "db")], capture_output=True,
                          text=True, timeout=30)


def test_an_unknown_placeholder_stops_the_start(tmp_path):
    conf = templates(tmp_path, template="Hallo {contact},\n\n{kontakt}\n")
    p = start(tmp_path, conf)
    assert p.returncode == 1
    t = tmp_path / "bestaetigung.txt"
    assert "bad.conf:4:" in p.stderr, p.stderr
    assert "%s: line 3: unknown placeholder {kontakt}" % t in p.stderr, \
        p.stderr


def test_an_unreadable_or_non_utf8_template_stops_the_start(tmp_path):
    p = start(tmp_path, "[confirmations]\ntemplate = %s\n" %
              (tmp_path / "nope.txt"))
    assert p.returncode == 1
    assert "bad.conf:2:" in p.stderr and "nope.txt" in p.stderr and \
        "No such file" in p.stderr, p.stderr
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Grüße\n".encode("latin-1"))
    p = start(tmp_path, "[confirmations]\ncancel_template = %s\n" % latin1)
    assert p.returncode == 1
    assert "line 1: not UTF-8" in p.stderr, p.stderr
    p = start(tmp_path, "[confirmations]\nsubject = Call {when}\n")
    assert p.returncode == 1
    assert "bad.conf:2:" in p.stderr and "{when}" in p.stderr, p.stderr


def test_a_broken_template_on_reload_keeps_the_old_letter(tmp_path,
                                                          make_daemon):
    d = make_daemon(templates(tmp_path))
    (tmp_path / "bestaetigung.txt").write_text("Hallo {kontakt}\n")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "keeping the old configuration" not in d.log.read_text():
        assert time.time() < deadline
        time.sleep(0.05)
    assert "unknown placeholder {kontakt}" in d.log.read_text()
    c, fid = rep_and_contact(d)
    assert confirm(c, fid)["text"].startswith("Guten Tag Erika Muster,")
    c.close()


def test_a_subject_stays_one_line(tmp_path, make_daemon):
    conf = templates(tmp_path).replace(
        "subject = Unser Telefonat am {time_iso}",
        "subject = Telefonat: {reason}")
    d = make_daemon(conf)
    c, fid = rep_and_contact(d, reason="Angebot\nBcc: x@example.net")
    m = confirm(c, fid)
    assert m["subject"] == "Telefonat: Angebot Bcc: x@example.net"
    c.close()
