"""Install paths: the shell completions and the man page generated from the argument
parser (scripts/docs-cli) are current and work in the real shells; ``pipx install .``
gives a working ``regdoctor``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor import __version__
from regdoctor.cli.main import COMMANDS, bundled_rule_count

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} must be installed in CI (scripts/test)")
        pytest.skip(f"{tool} is not installed")
    return found


def test_generated_files_are_current():
    pytest.importorskip("shtab")
    pytest.importorskip("argparse_manpage")
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "docs-cli"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr + " (run scripts/docs-cli)"


def bash_complete(line: str) -> list[str]:
    words = line.split(" ")
    script = (
        f"source {DOCS / 'completions/regdoctor.bash'}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}\n"
        "_shtab_regdoctor; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    out = subprocess.run(
        [need("bash"), "--norc", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return out.stdout.split()


def test_bash_completes_commands_and_options():
    assert set(bash_complete("regdoctor ")) >= set(COMMANDS)
    assert bash_complete("regdoctor se") == ["serve"]
    assert "--listen" in bash_complete("regdoctor serve --li")
    assert set(bash_complete("regdoctor check --format ")) >= {"json", "prometheus", "junit"}


def test_fish_completes_commands_and_options():
    def complete(line: str) -> list[str]:
        out = subprocess.run(
            [
                need("fish"),
                "--no-config",
                "-c",
                f"source {DOCS / 'completions/regdoctor.fish'}; complete -C {line!r}",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return [row.split("\t")[0] for row in out.stdout.splitlines()]

    assert set(complete("regdoctor ")) >= set(COMMANDS)
    assert "--listen" in complete("regdoctor serve --li")
    assert "--version" in complete("regdoctor --")


def test_zsh_completion_parses_and_names_every_command():
    path = DOCS / "completions/_regdoctor"
    subprocess.run([need("zsh"), "-n", str(path)], check=True, timeout=30)
    text = path.read_text()
    assert text.startswith("#compdef regdoctor")
    for name in COMMANDS:
        assert f'"{name}:' in text or f"'{name}:" in text or f"{name}:" in text, name


def test_man_page_renders_without_warnings_and_documents_every_command():
    page = DOCS / "man/regdoctor.1"
    groff = subprocess.run(
        [need("groff"), "-man", "-Tutf8", "-ww", str(page)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert groff.stderr == ""
    text = groff.stdout
    for name in COMMANDS:
        assert name in text, name
    for option in ("--listen", "--interval", "--format", "--version", "--root"):
        assert option in text.replace("\u2010", "-"), option


def _wheelhouse_complete(wheelhouse: Path) -> bool:
    """Whether the wheelhouse holds a wheel of every pin in constraints.txt: one left
    from before a dependency changed cannot install offline (then the index is used)."""
    pins = [
        line.split("==")
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    ]
    names = {w.name.lower() for w in wheelhouse.glob("*.whl")}

    def wheel_of(name: str, version: str) -> str:
        return f"{name.strip().lower().replace('-', '_')}-{version.strip()}-"

    return bool(pins) and all(
        any(n.startswith(wheel_of(name, version)) for n in names) for name, version in pins
    )


def test_pipx_install(tmp_path):
    """``pipx install .`` from the checkout, offline from the wheelhouse when there is one
    (scripts/image-wheelhouse; the image fixture makes it), else from the package index."""
    pipx = need("pipx")
    env = {
        **os.environ,
        "PIPX_HOME": str(tmp_path / "pipx"),
        "PIPX_BIN_DIR": str(tmp_path / "bin"),
        "PIPX_MAN_DIR": str(tmp_path / "man"),
    }
    env.pop("PYTHONPATH", None)
    wheelhouse = REPO / "wheelhouse"
    pip_args = (
        ["--pip-args", f"--no-index --find-links {wheelhouse}"]
        if _wheelhouse_complete(wheelhouse)
        else []
    )
    subprocess.run(
        [pipx, "install", "--python", sys.executable, *pip_args, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    version = subprocess.run(
        [str(tmp_path / "bin" / "regdoctor"), "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    assert version.stdout.strip() == f"regdoctor {__version__} ({bundled_rule_count()} rules)"
    # the catalog came along: the installed copy loads and counts the same rules
    rules = subprocess.run(
        [str(tmp_path / "bin" / "regdoctor"), "rules", "list", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert rules.returncode == 0, rules.stderr
    assert len(json.loads(rules.stdout)) == bundled_rule_count()


def test_version_counts_what_the_catalog_loads():
    from regdoctor.check.catalog import catalog

    assert bundled_rule_count() == len(catalog().rules) > 0
