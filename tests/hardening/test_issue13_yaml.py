"""Issue #13, bounded everything: every YAML parse is bounded the same way in every
command. ``tags --manifests`` and the rule loader (``--rules-dir``, the catalog) read
through ``regdoctor.bounded`` like ``config``, ``check`` and ``bundle``: a billion-laughs
document is refused in well under a second of parsing, a file over the cap, a FIFO or a
device is not read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hardening.runner import Run, run
from tests.harness import hostile


def _laughs(levels: int = 9) -> str:
    """A few hundred bytes that expand to 9**levels strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghij"[: levels - 1]:
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def _oversized(path: Path) -> Path:
    """A valid Deployment padded with a 5 MiB comment (over the 4 MiB cap)."""
    deployment = "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
    deployment += "      containers: [{name: app, image: registry.test/team/app:latest}]\n"
    path.write_text(deployment + "# " + "x" * (5 * 1024 * 1024) + "\n")
    return path


@pytest.fixture
def tag_registry(serve):  # type: ignore[no-untyped-def]
    """A registry listing one tag, so ``tags`` gets as far as reading the manifests."""
    tags = json.dumps({"name": "team/app", "tags": ["1"]}).encode()
    return serve(hostile.on_path({"/v2/team/app/tags/list": hostile.body(200, tags)}))


def _tags(server: hostile.HostileServer, manifests: Path) -> Run:
    args = ["tags", "--timeout", "2", "--deadline", "8", "--manifests", str(manifests)]
    return run([*args, f"http://{server.hostport}/team/app"], hard_limit_s=40)


def test_tags_manifests_refuses_a_billion_laughs(tmp_path: Path, tag_registry) -> None:  # type: ignore[no-untyped-def]
    laughs = tmp_path / "laughs.yaml"
    laughs.write_text(_laughs())
    result = _tags(tag_registry, laughs)
    assert result.elapsed_s < 10, f"took {result.elapsed_s:.1f} s"
    assert result.maxrss_mb < 200, f"peaked at {result.maxrss_mb:.0f} MB"
    assert result.code == 3, result.stderr[-2000:]
    assert "expands to more than" in result.stderr and "laughs.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_tags_manifests_refuses_an_oversized_file(tmp_path: Path, tag_registry) -> None:  # type: ignore[no-untyped-def]
    result = _tags(tag_registry, _oversized(tmp_path / "big.yaml"))
    assert result.code == 3, result.stderr[-2000:]
    assert "too large" in result.stderr and "big.yaml" in result.stderr


def test_tags_manifests_still_reads_a_normal_file(tmp_path: Path, tag_registry) -> None:  # type: ignore[no-untyped-def]
    """The look-alike: the same Deployment without the padding is read and judged."""
    small = tmp_path / "web.yaml"
    small.write_text(
        "kind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n"
        "      containers: [{name: app, image: registry.test/team/app:latest}]\n"
    )
    result = _tags(tag_registry, small)
    assert result.code in (0, 1, 2), result.stderr[-2000:]
    assert "registry.test/team/app:latest" in result.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_tags_manifests_fifo_hangs_nothing(tmp_path: Path, tag_registry) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # a FIFO is not a regular file: as a single --manifests PATH it is refused outright
    result = _tags(tag_registry, fifo)
    assert result.elapsed_s < 10 and result.code == 3, result.stderr[-2000:]


def test_rule_loader_refuses_a_billion_laughs_rule_and_cases_file(tmp_path: Path) -> None:
    """A user's rule folder (``rules --dir``), and the cases files ``rules test`` reads
    through the same loader."""
    (tmp_path / "laughs.yaml").write_text(_laughs())
    result = run(["rules", "list", "--no-bundled", "--dir", str(tmp_path)], hard_limit_s=40)
    assert result.elapsed_s < 10 and result.maxrss_mb < 200, result
    assert "expands to more than" in result.stdout + result.stderr, result
    (tmp_path / "laughs.yaml").unlink()
    rule = Path(__file__).resolve().parents[2] / "rules/image/image-manifest-invalid.yaml"
    (tmp_path / rule.name).write_text(rule.read_text())
    (tmp_path / "image-manifest-invalid.cases.yaml").write_text(_laughs())
    result = run(["rules", "test", "--no-bundled", "--dir", str(tmp_path)], hard_limit_s=40)
    assert result.elapsed_s < 10 and result.maxrss_mb < 200, result
    assert "expands to more than" in result.stdout + result.stderr, result
    assert result.code != 0


def test_rule_loader_refuses_an_oversized_rule_file(tmp_path: Path) -> None:
    from regdoctor.engine.loader import load_catalog

    big = tmp_path / "big.yaml"
    big.write_text("id: big\n# " + "x" * (1024 * 1024) + "\n")
    catalog = load_catalog(extra_dirs=[tmp_path], bundled=False)
    problems = [p for e in catalog.errors for p in e.problems]
    assert catalog.rules == () and any("too large" in p for p in problems), problems


def test_rule_loader_does_not_hang_on_a_fifo_or_read_a_device(tmp_path: Path) -> None:
    from regdoctor.engine.loader import load_yaml

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        load_yaml(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match="device"):
        load_yaml(zero)
