"""Remediation commands in every renderer (issue #14): merged across runtimes, the
report's runtimes first and the others folded, checks apart from the fix, and lines a
shell reads back as written (flush left, heredocs untouched, regdoctor's own `` \\``
continuations)."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from rich.console import Console

from regdoctor.model import RemediationStep, Report
from regdoctor.render.commands import group_commands, paste_lines, step_groups
from regdoctor.render.markdown import markdown_text
from regdoctor.render.plain import render_plain
from tests.helpers.paste import markdown_blocks, plain_blocks, syntax_ok
from tests.render.conftest import make_report, tls_expired_target

HEREDOC = (
    "sudo mkdir -p /etc/containerd/certs.d/registry.example.com:5000\n"
    "sudo tee /etc/containerd/certs.d/registry.example.com:5000/hosts.toml <<'EOF'\n"
    'server = "https://registry.example.com:5000"\n'
    "\n"
    '[host."https://registry.example.com:5000"]\n'
    '  ca = "/etc/containerd/certs.d/registry.example.com:5000/ca.crt"  # a long line, kept\n'
    "EOF\n"
    "# config.toml must point the CRI registry config_path at /etc/containerd/certs.d, "
    "then restart containerd\n"
)
SAME = "getent ahosts registry.example.com; timeout 5 bash -c '</dev/tcp/192.0.2.10/443'"


def _report(runtimes: tuple[str, ...] = ()) -> Report:
    target = tls_expired_target()
    step = RemediationStep(
        text="Install the CA for registry.example.com:5000 (see `man tee`) <b>bold</b>.",
        checks={
            "docker": SAME,
            "podman": SAME,
            "containerd": SAME,
            "kubernetes": "kubectl get nodes",
        },
        commands={
            "docker": "sudo systemctl restart docker",
            "podman": "sudo systemctl restart docker",
            "containerd": HEREDOC,
            "kubernetes": "kubectl rollout restart deploy/app -n team-a",
        },
    )
    finding = dataclasses.replace(target.findings[0], remediation=(step,))
    target = dataclasses.replace(target, findings=(finding,))
    return dataclasses.replace(make_report(target), runtimes=runtimes)


def _plain(report: Report, width: int = 80, verbose: bool = False) -> str:
    buf = io.StringIO()
    render_plain(report, Console(file=buf, width=width), verbose=verbose)
    return buf.getvalue()


def test_identical_commands_are_merged_and_ordered():
    shown, folded = group_commands({"podman": "b", "docker": "a", "kubernetes": "a"})
    assert [(g.label, g.command) for g in shown] == [("docker, kubernetes", "a"), ("podman", "b")]
    assert folded == []


def test_the_reports_runtimes_come_first_and_the_others_fold():
    shown, folded = group_commands(
        {"docker": "a", "podman": "b", "containerd": "c"}, scope=("containerd", "podman")
    )
    assert [g.label for g in shown] == ["containerd", "podman"]
    assert [g.label for g in folded] == ["docker"]


def test_checks_come_before_the_fix():
    step = RemediationStep(text="t", checks={"docker": "grep x f"}, commands={"docker": "fix"})
    shown, _ = step_groups(step)
    assert [g.label for g in shown] == ["docker (check)", "docker"]


@pytest.mark.parametrize("width", [40, 80])
def test_plain_commands_paste_at_any_width(no_color_env, width):
    out = _plain(_report(), width=width)
    blocks = {b.label: b.text for b in plain_blocks(out)}
    # one block for the three runtimes with the same check, one for docker and podman
    assert blocks["docker, podman, containerd"].replace(" \\\n  ", " ") == SAME
    assert blocks["docker, podman"] == "sudo systemctl restart docker"
    heredoc = blocks["containerd"]
    assert syntax_ok(heredoc)
    # the heredoc's body and its EOF exactly as written: flush left, never broken
    for line in HEREDOC.splitlines()[2:7]:
        assert f"\n{line}\n" in f"\n{heredoc}\n"
    # every line regdoctor broke ends in its own continuation
    unwrapped = re.sub(r" \\\n  ", " ", heredoc)
    assert "hosts.toml <<'EOF'" in unwrapped


def test_plain_folds_runtimes_the_report_did_not_judge(no_color_env):
    out = _plain(_report(("docker",)))
    # podman shares docker's commands, so it is shown with it
    assert "other runtimes: containerd, kubernetes (see -v)" in out
    assert "kubectl" not in out
    assert "kubectl rollout restart" in _plain(_report(("docker",)), verbose=True)


def test_markdown_one_block_per_group_prose_as_prose():
    text = markdown_text(_report(("docker", "podman")))
    blocks = markdown_blocks(text)
    labels = [b.label for b in blocks if b.label != ""]
    # the check (containerd shares it), then the fix
    assert labels[:2] == ["docker, podman, containerd", "docker, podman"]
    assert "docker, podman, containerd (check):\n\n```sh\ngetent" in text
    # the folded runtimes would take the section over its 40 lines: named, not shown
    assert "(Commands for containerd, kubernetes: `--verbose`.)" in text
    assert "<details><summary>other runtimes" not in text
    assert "kubectl rollout restart" in markdown_text(_report(("docker", "podman")), verbose=True)
    for block in blocks:
        assert syntax_ok(block.text), block.text
    verbose = markdown_blocks(markdown_text(_report(("docker", "podman")), verbose=True))
    heredoc = next(b.text for b in verbose if "hosts.toml" in b.text)
    assert heredoc == HEREDOC.rstrip("\n")
    # the step's text: prose with its code span kept, HTML escaped, no code span around it
    assert (
        "1. Install the CA for registry.example.com:5000 (see `man tee`) \\<b\\>bold\\</b\\>."
        in text
    )


def test_paste_lines_never_touch_a_heredoc():
    lines = paste_lines(HEREDOC, 30)
    assert lines[lines.index("EOF") - 1].startswith("  ca = ")
    assert syntax_ok("\n".join(lines))


def test_a_diagnostic_several_runtimes_share_is_shown_once():
    shared = "timeout 5 bash -c '</dev/tcp/192.0.2.7/5000' && echo open || echo closed"
    checks = {
        "docker": f"{shared}\ngrep -n r.test /etc/docker/daemon.json",
        "podman": f"{shared}\ngrep -rn r.test /etc/containers/registries.conf",
        "containerd": shared,
        "kubernetes": "kubectl get nodes",
    }
    shown, _ = group_commands(checks, check=True)
    assert [(g.label, g.command) for g in shown] == [
        ("docker, podman, containerd (check)", shared),
        ("docker (check)", "grep -n r.test /etc/docker/daemon.json"),
        ("podman (check)", "grep -rn r.test /etc/containers/registries.conf"),
        ("kubernetes (check)", "kubectl get nodes"),
    ]
    # the fix is never split: its lines depend on each other
    fixes, _ = group_commands(checks)
    assert len(fixes) == 4


def test_shared_lines_are_never_cut_inside_a_heredoc_or_a_variable():
    heredoc = "cat <<'EOF'\nsame\nEOF"
    shown, _ = group_commands({"docker": heredoc + "\nA", "podman": heredoc + "\nB"}, check=True)
    assert [g.command for g in shown] == [heredoc, "A", "B"]
    filled = "X=''  # fill in: x\necho ${X:?}"
    shown, _ = group_commands({"docker": filled + "\nA", "podman": filled + "\nB"}, check=True)
    assert [g.command for g in shown] == [filled + "\nA", filled + "\nB"]
