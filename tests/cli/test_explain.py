"""`regdoctor explain` on the command line: inputs, formats, exit codes, hostile pastes,
and a start-up that imports no network, TLS or UI library."""

# ruff: noqa: E501 - real pasted errors are long lines

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from rich.cells import cell_len

from regdoctor.cli.main import main
from regdoctor.render.shell import heredoc_lines, shell_words
from regdoctor.schemas import load_schema

ROOT = Path(__file__).resolve().parents[2]
TLS = (
    'Error response from daemon: Get "https://registry.example.com:5000/v2/": '
    "x509: certificate signed by unknown authority"
)
RATE = "Error response from daemon: toomanyrequests: You have reached your pull rate limit."
VALIDATOR = Draft202012Validator(load_schema("explain-v1"))
ANSI = re.compile(r"\x1b\[")


def regdoctor(*args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    environ = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "regdoctor", "explain", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environ,
    )


def valid(document) -> None:
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


# --------------------------------------------------------------------------- inputs


def test_text_argument_plain_output_at_80_columns():
    proc = regdoctor(TLS)
    assert proc.returncode == 2, proc.stderr
    out = proc.stdout
    assert "tls.unknown_authority" in out
    assert "likely cause" in out
    assert "regdoctor check registry.example.com:5000" in out
    assert "/etc/docker/certs.d/registry.example.com:5000/ca.crt" in out
    assert not ANSI.search(out)
    wide = [line for line in out.splitlines() if cell_len(line) > 80]
    assert not wide, wide
    assert out.rstrip().splitlines()[-1].startswith("1 error explained")


def test_stdin(tmp_path):
    log = f"$ docker pull registry.example.com:5000/app:1\n{TLS}\nsome noise\n{RATE}\n"
    proc = regdoctor("-", stdin=log)
    assert proc.returncode == 2, proc.stderr
    assert "tls.unknown_authority" in proc.stdout and "ratelimit" in proc.stdout
    assert "line 2" in proc.stdout and "line 4" in proc.stdout
    assert "4 lines read" in proc.stdout


def test_file(tmp_path):
    log = tmp_path / "ci.log"
    log.write_text("\n".join(["compiling..."] * 1000 + [RATE] + ["done"] * 10), encoding="utf-8")
    proc = regdoctor("--file", str(log), "--format", "json")
    assert proc.returncode == 2, proc.stderr
    document = json.loads(proc.stdout)
    valid(document)
    assert [m["category"] for m in document] == ["ratelimit"]
    assert document[0]["lines"] == [1001]


def test_utf16_file_from_powershell(tmp_path):
    log = tmp_path / "out.txt"
    log.write_bytes(
        ("\ufeff" + TLS + "\r\n").encode("utf-16-le").replace(b"\xff\xfe", b"\xff\xfe", 1)
    )
    proc = regdoctor("-f", str(log), "--format", "json")
    assert json.loads(proc.stdout)[0]["category"] == "tls.unknown_authority", proc.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--file", "/nonexistent/pull.log"), None, "No such file or directory"),
        (("--file", "/"), None, "is a directory"),
        ((TLS, "--file", "/etc/hostname"), None, "not both"),
        ((), None, "nothing to explain"),
        (("-",), "", "standard input is empty"),
        (("   \n",), None, "empty"),
        (("--format", "yaml", TLS), None, "invalid choice"),
    ],
)
def test_cannot_run_is_exit_3_with_one_line(args, stdin, message):
    proc = regdoctor(*args, stdin=stdin)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert message in proc.stderr
    if "invalid choice" not in message:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "secret.log"
    path.write_text(TLS)
    path.chmod(0)
    proc = regdoctor("--file", str(path))
    assert proc.returncode == 3 and "Permission denied" in proc.stderr


# --------------------------------------------------------------------------- formats


def test_json_schema_and_fields():
    proc = regdoctor("--format", "json", TLS)
    document = json.loads(proc.stdout)
    valid(document)
    (match,) = document
    assert match["rule"] == "tls-unknown-authority"
    assert match["leading"] is True
    assert match["span"]["text"] == "certificate signed by unknown authority"
    assert match["fields"]["registry"] == "registry.example.com:5000"
    assert match["check"] == "regdoctor check registry.example.com:5000"


def test_json_for_nothing_recognised_is_valid_and_exit_0():
    proc = regdoctor("--format", "json", "Hello, the build passed.")
    assert proc.returncode == 0
    document = json.loads(proc.stdout)
    valid(document)
    assert [(m["rule"], m["category"]) for m in document] == [("regdoctor.unrecognised", "other")]


def test_a_cut_line_is_said_to_be_cut_in_json_and_plain():
    # a chat client cut the line where its cause was (regdoctor/engine/cut.py)
    line = (
        'Error response from daemon: Head "https://registry.example.com:5000/v2/team/app/'
        'manifests/1.0": dial tcp 192.0.2.7:5000: conn\u2026'
    )
    proc = regdoctor("--format", "json", line)
    document = json.loads(proc.stdout)
    valid(document)
    (match,) = document
    # no rule reads it; with or without the nearest-message guess, the answer says so
    assert match["rule"] in ("regdoctor.unrecognised", "regdoctor.likely")
    assert match["fields"]["cut"].endswith("dial tcp 192.0.2.7:5000:")
    assert match["fields"]["peer_name"] == "registry.example.com"
    assert "was cut" in match["explanation"]
    assert match["check"] == "regdoctor check registry.example.com:5000/team/app:1.0"
    plain = regdoctor(line)
    assert "was cut" in " ".join(plain.stdout.split())


def test_plain_for_nothing_recognised():
    proc = regdoctor("GET https://quay.example.com/v2/: HTTP status 418")
    assert proc.returncode == 0
    assert "No known registry error" in proc.stdout
    assert "regdoctor check quay.example.com" in proc.stdout


def test_markdown_for_a_ticket():
    proc = regdoctor("--format", "markdown", TLS)
    assert proc.returncode == 2
    md = proc.stdout
    assert md.startswith("## regdoctor explain")
    assert "### 1. `tls.unknown_authority`" in md
    assert "```text" in md and "```sh" in md
    assert "regdoctor check registry.example.com:5000" in md


def test_markdown_neutralises_a_hostile_paste():
    paste = (
        "<script>alert(1)</script> [click](https://evil.example) ```\n"
        "# heading\n"
        f"{RATE} ![img](https://evil.example/x.png) ``` <img src=x>"
    )
    md = regdoctor("--format", "markdown", "-", stdin=paste).stdout
    # the pasted line sits in a fence longer than any backtick run in it
    fences = re.findall(r"^(`{3,})text$", md, flags=re.M)
    assert fences and all(len(f) >= 4 for f in fences)
    # outside fenced blocks and code spans, nothing of the paste is live Markdown or HTML
    prose = re.sub(r"^(`{3,})[a-z]*\n.*?^\1$", "", md, flags=re.M | re.S)
    prose = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", prose)
    assert "<script>" not in prose and "<img" not in prose
    assert "](https://evil.example" not in prose


def test_plain_shows_hostile_text_as_data():
    paste = f"\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J[bold red]boom[/] {RATE}\u202e"
    proc = regdoctor("-", stdin=paste, env={"TERM": "xterm-256color"})
    out = proc.stdout
    assert "\x1b]52" not in out and "\x1b[2J" not in out and "\u202e" not in out
    assert "[bold red]boom[/]" in out  # markup shown literally, never interpreted


def test_secrets_are_masked_in_every_format():
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlc2lnbmF0dXJl"
    paste = f'Get "https://bob:hunter2@r.example/v2/?token={jwt}": x509: certificate signed by unknown authority'
    for fmt in ("plain", "json", "markdown"):
        out = regdoctor("--format", fmt, paste).stdout
        assert "hunter2" not in out and jwt not in out, fmt
        assert "****" in out, fmt


def test_no_color_and_colour_terminals(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert main(["explain", TLS]) == 2
    coloured = capsys.readouterr().out
    assert ANSI.search(coloured)
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["explain", TLS]) == 2
    plain = capsys.readouterr().out
    # NO_COLOR: no colours (bold may stay, as in `check`)
    assert not re.search(r"\x1b\[(?:[0-9;]*;)?(?:3[0-9]|9[0-7])(?:;[0-9;]*)?m", plain)


@pytest.mark.parametrize("width", [40, 60, 120])
def test_other_widths(width):
    proc = regdoctor(TLS, env={"COLUMNS": str(width)})
    lines = proc.stdout.splitlines()
    # Only what cannot be broken without changing a command may be wider: one shell
    # word, or a line of a heredoc.
    too_wide = [
        line
        for line, in_heredoc in zip(lines, heredoc_lines(lines), strict=True)
        if cell_len(line) > max(width, 40)
        and not in_heredoc
        and len([w for w in shell_words(line.strip().removesuffix(" \\")) or ["", ""] if w]) > 1
    ]
    assert not too_wide


# --------------------------------------------------------------------------- help


def test_help_documents_exit_codes():
    proc = subprocess.run(
        [sys.executable, "-m", "regdoctor", "explain", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert "0  no registry error recognised" in proc.stdout
    assert "--check" in proc.stdout and "--file" in proc.stdout


# --------------------------------------------------------------------------- imports

HEAVY = ("httpx", "httpcore", "dns", "OpenSSL", "textual", "jwt", "anyio", "yaml")

PROGRAM = """
import json, sys
from regdoctor.cli.main import main
code = main({argv!r})
print(json.dumps([code, sorted(m.split('.')[0] for m in sys.modules)]), file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["plain", "json", "markdown"])
def test_explain_imports_no_network_tls_or_ui_library(fmt, tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    argv = ["explain", "--format", fmt, TLS]
    for _run in range(2):  # the first run fills the rule cache, the second uses it
        proc = subprocess.run(
            [sys.executable, "-c", PROGRAM.format(argv=argv)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=env,
        )
        code, modules = json.loads(proc.stderr.strip().splitlines()[-1])
        assert code == 2
        heavy = set(modules) & set(HEAVY)
        if _run == 0:
            heavy.discard("yaml")  # the first run reads the rule files
        assert not heavy, sorted(heavy)


# --------------------------------------------------------------------------- bounded input (issue 13)


def test_a_log_with_more_distinct_errors_than_kept_says_how_many_more(tmp_path):
    log = tmp_path / "hosts.log"
    log.write_text(
        "\n".join(
            f'Error response from daemon: Get "https://r{i}.example.test/v2/": dial tcp: '
            f"lookup r{i}.example.test on 127.0.0.53:53: no such host"
            for i in range(1_300)
        ),
        encoding="utf-8",
    )
    plain = regdoctor("--file", str(log))
    assert plain.returncode == 2
    assert "300 more error line(s), 300 distinct error(s) beyond the first 1000" in " ".join(
        plain.stdout.split()
    )
    result = regdoctor("--file", str(log), "--format", "json")
    document = json.loads(result.stdout)
    valid(document)
    assert len(document) == 1_001
    assert document[-1]["rule"] == "regdoctor.omitted" and document[-1]["count"] == 300


def test_random_bytes_are_binary_input_not_an_error(tmp_path):
    data = tmp_path / "random.bin"
    # seeded: the same bytes every run; the last line's 100 random bytes hold no line
    # break (else its tail could be a short, mostly-text line: a real "401" line)
    rng = random.Random(15)
    tail = rng.randbytes(100).replace(b"\n", b"x").replace(b"\r", b"x")
    data.write_bytes(rng.randbytes(3_000_000) + b"\n" + tail + b" 401 Unauthorized ")
    result = regdoctor("--file", str(data))
    assert result.returncode == 0, result.stdout
    assert "binary data" in " ".join(result.stdout.split())


def test_standard_input_is_read_in_pieces():
    text = "compiling a module, ok\n" * 200_000 + TLS + "\n"
    result = regdoctor("-", "--format", "json", stdin=text)
    assert result.returncode == 2
    document = json.loads(result.stdout)
    assert document[0]["category"] == "tls.unknown_authority"
    assert document[0]["lines"] == [200_001]
