"""The rule catalog ships with every way of installing regdoctor: built into an sdist and
a wheel from the repository, installed from the wheel in a fresh virtual environment,
and from the editable install the tests run on. Nothing here reaches the network: the
build runs without isolation, the venv borrows the installed dependencies."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULE_FILES = len(
    [p for p in (REPO / "rules").rglob("*.yaml") if not p.name.endswith(".cases.yaml")]
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "-o", str(out)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return sdist, wheel


def _rules_list(python: Path | str, cwd: Path) -> list[dict[str, object]]:
    proc = subprocess.run(
        [str(python), "-m", "regdoctor", "rules", "list", "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "REGDOCTOR_NO_CACHE": "1"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_sdist_and_wheel_carry_the_catalog(built: tuple[Path, Path]) -> None:
    sdist, wheel = built
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert sum(n.endswith(".yaml") and "/rules/" in n for n in names) >= 2 * RULE_FILES - 10
    assert any(n.endswith("rules/CATEGORIES.md") for n in names)
    with zipfile.ZipFile(wheel) as whl:
        members = whl.namelist()
    rules = [n for n in members if n.startswith("regdoctor/rules/") and n.endswith(".yaml")]
    assert len([n for n in rules if not n.endswith(".cases.yaml")]) == RULE_FILES
    assert "regdoctor/rules/CATEGORIES.md" in members
    assert not any(n.startswith("rules/") for n in members)  # not a top-level package


def test_rules_list_from_a_wheel_in_a_fresh_venv(built: tuple[Path, Path], tmp_path: Path) -> None:
    _sdist, wheel = built
    venv = tmp_path / "venv"
    # the dependencies come from this environment (no network); regdoctor from the wheel
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=120,
    )
    where = subprocess.run(
        [str(python), "-c", "import regdoctor.rules as r; print(r.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert where.startswith(str(venv)), where  # the wheel's copy, not the repository's
    rules = _rules_list(python, tmp_path)
    assert len(rules) == RULE_FILES


def test_rules_list_from_the_editable_install(tmp_path: Path) -> None:
    rules = _rules_list(sys.executable, tmp_path)
    assert len(rules) == RULE_FILES
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "from regdoctor.engine.loader import BUNDLED_RULES_DIR as d;print(d)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    assert Path(where) == REPO / "rules"
