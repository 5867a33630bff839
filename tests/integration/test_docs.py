"""The docs say what the code does: the protocol page names every op and
error code, every program answers --help, the man pages name every command,
and the example configuration is accepted as it is."""

import os
import re
import subprocess

from fu import FOLLOWUP, FOLLOWUP_MAIL, FOLLOWUPD, SRCDIR


def header_list(macro):
    text = open(os.path.join(SRCDIR, "include", "followup",
                             "protocol.h")).read()
    body = text[text.index("#define " + macro + "(X)"):]
    body = body[:body.index("\n\n")]
    return re.findall(r'X\(\w+,\s*"([^"]+)"\)', body)


def test_protocol_page_mentions_every_op_and_error_code():
    page = open(os.path.join(SRCDIR, "include",
                             "followup-protocol.7")).read()
    ops = header_list("FU_OPS")
    errors = header_list("FU_ERRORS")
    assert len(ops) >= 19 and len(errors) == 9
    for name in ops:
        assert ".SS " + name in page, name
    for name in errors:
        assert ".B " + name in page, name


def test_programs_answer_help_and_version():
    for prog in (FOLLOWUPD, FOLLOWUP, FOLLOWUP_MAIL):
        p = subprocess.run([prog, "--help"], capture_output=True, text=True)
        assert p.returncode == 0 and "usage:" in p.stdout
        p = subprocess.run([prog, "--version"], capture_output=True,
                           text=True)
        assert p.returncode == 0 and "0." in p.stdout


def test_client_man_page_names_every_command():
    page = open(os.path.join(SRCDIR, "client", "followup.1")).read()
    p = subprocess.run([FOLLOWUP, "--help"], capture_output=True, text=True)
    cmds = re.findall(r"^  (\w+)", p.stdout, re.M)
    assert len(cmds) >= 13
    for cmd in cmds:
        assert "followup " + cmd in page.replace("\\-", "-") or \
            ".B " + cmd in page, cmd


def test_example_configuration_is_valid():
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config",
                        os.path.join(SRCDIR, "daemon", "followupd.conf")],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_documented_config_key_is_accepted(tmp_path):
    page = open(os.path.join(SRCDIR, "daemon", "followupd.conf.5")).read()
    section = None
    for line in page.splitlines():
        m = re.match(r"\.SH \[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        if line.startswith(".SH"):
            section = None
        m = re.match(r'\.BI (\w+) " = ', line)
        if m and section:
            key = m.group(1)
            value = {"socket": "/tmp/x.sock", "database": "/tmp/x.db",
                     "log": "stderr", "digest": "08:00",
                     "hook": "/bin/true", "manager": "a@b.test",
                     "open": "lead demo", "closed": "won lost",
                     "max_connections_per_user": "10",
                     "hook_max": "2", "admin_group": "root",
                     "socket_group": "root", "workdays": "mon-fri",
                     "hours": "09:00-17:00", "voicemails_per_week": "3",
                     "info_sent_days": "2", "subject": "On {time}",
                     "cancel_subject": "Off {time}",
                     "locale": "C.UTF-8"}.get(key, "10m")
            if key in ("template", "cancel_template", "signature"):
                value = tmp_path / "letter.txt"
                value.write_text("Dear {contact}\n")
            conf = tmp_path / "c.conf"
            conf.write_text("[%s]\n%s = %s\n" % (section, key, value))
            p = subprocess.run([FOLLOWUPD, "--check-config", "--config",
                                str(conf)], capture_output=True, text=True)
            assert p.returncode == 0, (section, key, p.stderr)


def test_config_errors_name_the_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("[daemon]\nlog = stderr\n\n[reminders]\nlead = soon\n")
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", str(conf)],
                       capture_output=True, text=True)
    assert p.returncode == 1
    assert "bad.conf:5:" in p.stderr and "lead" in p.stderr
    conf.write_text("[daemon]\ncolour = blue\n")
    p = subprocess.run([FOLLOWUPD, "--check-config", "--config", str(conf)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "colour" in p.stderr


def client_man_entries():
    """followup.1's COMMANDS as (synopsis line, text), \\- read as -."""
    page = open(os.path.join(SRCDIR, "client", "followup.1")).read()
    page = page.replace("\\-", "-")
    sect = page[page.index(".SH COMMANDS\n"):]
    sect = sect[:sect.index("\n.SH ", 1)]
    entries = []
    for chunk in sect.split("\n.TP\n")[1:]:
        head, _, text = chunk.partition("\n")
        if "followup " in head or not entries:
            entries.append([head, text])
        else:          # an inner list (.RS/.TP) belongs to the command
            entries[-1][1] += "\n" + chunk
    return entries


def test_client_man_page_has_every_option_of_every_command():
    entries = client_man_entries()
    p = subprocess.run([FOLLOWUP, "--help"], capture_output=True, text=True)
    cmds = re.findall(r"^  (\w+)", p.stdout, re.M)
    assert len(cmds) >= 20
    for cmd in cmds:
        mine = [e for e in entries
                if re.search(r"followup %s\b" % cmd, e[0])]
        assert mine, cmd
        synopsis = " ".join(head for head, text in mine)
        whole = synopsis + " ".join(text for head, text in mine)
        p = subprocess.run([FOLLOWUP, cmd, "--help"], capture_output=True,
                           text=True)
        assert p.returncode == 0, cmd
        usage, _, help_text = p.stdout.partition("\n\n")
        # The synopsis names every option the usage line does, and the
        # entry every option the help explains.
        for opt in re.findall(r"--[a-z][a-z-]*", usage):
            assert opt in synopsis, (cmd, opt)
        for opt in re.findall(r"--[a-z][a-z-]*", help_text):
            assert opt in whole, (cmd, opt)
