"""The drop-in reader of the systemctl shim (:mod:`.units`), on systemd's own examples."""

from __future__ import annotations

from pathlib import Path

from tests.scenarios.runtimes.units import parse_environment, unit_environment


def test_environment_lines_as_systemd_reads_them() -> None:
    text = (
        "# comment\n[Unit]\nEnvironment=IGNORED=1\n[Service]\n"
        'Environment="HTTPS_PROXY=http://p.test:3128" NO_PROXY=a.test,b.test\n'
        "Environment='ONE=word two' \\\n  TWO=2\n"
        "Environment=HTTPS_PROXY=http://q.test:3128\n"
    )
    assert parse_environment(text) == {
        "HTTPS_PROXY": "http://q.test:3128",
        "NO_PROXY": "a.test,b.test",
        "ONE": "word two",
        "TWO": "2",
    }


def test_an_empty_assignment_resets_and_later_drop_ins_win(tmp_path: Path) -> None:
    directory = tmp_path / "systemd" / "system" / "docker.service.d"
    directory.mkdir(parents=True)
    (directory / "10-proxy.conf").write_text("[Service]\nEnvironment=HTTPS_PROXY=http://a:1\n")
    (directory / "20-reset.conf").write_text("[Service]\nEnvironment=\nEnvironment=X=1\n")
    (directory / "notes.txt").write_text("[Service]\nEnvironment=Y=1\n")
    assert unit_environment(tmp_path, "docker") == {"X": "1"}
    assert unit_environment(tmp_path, "containerd") == {}


def test_a_percent_is_a_specifier() -> None:
    """``%%`` is one ``%``; another ``%X`` is a specifier (here an unknown one: the
    assignment is ignored), so a percent-encoded login must be written doubled."""
    text = (
        "[Service]\n"
        'Environment="HTTPS_PROXY=http://u:p%%40w@p.test:3128" "HTTP_PROXY=http://u:p%40w@q"\n'
    )
    assert parse_environment(text) == {"HTTPS_PROXY": "http://u:p%40w@p.test:3128"}
