"""``regdoctor tags`` runs the cyclic garbage collector less often while it scans (the
default ran ~80 times in a 2,000-tag scan and found next to nothing), and gives the
caller its own threshold back afterwards, whatever the outcome."""

from __future__ import annotations

import gc

import pytest

from regdoctor.cli import tags as cli_tags
from regdoctor.cli.main import main


@pytest.fixture
def default_threshold():
    old = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*old)


def test_the_scan_runs_with_the_raised_threshold(monkeypatch, default_threshold, capsys):
    seen = []

    def scan(args):  # the whole command, as cli.main calls it
        seen.append(gc.get_threshold())
        return 0

    monkeypatch.setattr(cli_tags, "_run", scan)
    assert main(["tags", "registry.test/team/app"]) == 0
    assert seen == [(cli_tags.GC_THRESHOLD, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)


def test_the_threshold_is_restored_after_a_failed_run(default_threshold, capsys):
    # a usage error (exit 3) from inside the command: the threshold comes back too
    code = main(["tags", "registry.test/team/app", "--state", "/nonexistent-dir/x.json"])
    assert code == 3
    assert "does not exist" in capsys.readouterr().err
    assert gc.get_threshold() == (700, 10, 10)
