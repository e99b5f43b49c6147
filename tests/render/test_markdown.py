"""`--format markdown`: the support-ticket report."""

from __future__ import annotations

import dataclasses
import re

from regdoctor.check.context import collect_context
from regdoctor.discovery.host import collect
from regdoctor.model import HostInfo, ReportContext, Runtime
from regdoctor.redact.secrets import Redactor
from regdoctor.render.markdown import markdown_text
from tests.harness.testbed import Testbed
from tests.helpers.reports import cli

HOST = HostInfo(
    regdoctor="0.1.0",
    python="3.11.7",
    os="Debian GNU/Linux 12 (bookworm)",
    kernel="Linux 6.1.0",
    machine="x86_64",
    runtimes=(
        Runtime("docker", "/usr/bin/docker", "Docker version 24.0.7", "dockerd", False),
        Runtime("containerd", None, None, "containerd", None),
        Runtime("nerdctl", None, None, None, None),
    ),
)


def test_sections_versions_phases_findings_and_command(healthy_and_failing, isolate_env):
    report, healthy, failing = healthy_and_failing
    (isolate_env.config_root / "etc/docker").mkdir(parents=True)
    (isolate_env.config_root / "etc/docker/daemon.json").write_text('{"registry-mirrors": []}')
    context = collect_context(isolate_env.config_root, host=HOST)
    text = markdown_text(report, context=context)
    assert "`/etc/docker/daemon.json`" in text
    assert text.startswith("## regdoctor report: ❌ ERROR")
    assert "\n2 targets: 1 error, 1 ok; checked " in text
    # one verdict line per target; the healthy one is only that line
    assert f"- ✅ OK `{healthy}`: pulls" in text
    assert f"- ❌ ERROR `{failing}` · `tcp.refused`: connection refused (" in text
    assert f"### ❌ ERROR `{failing}` · `tcp.refused`: connection refused" in text
    assert f"### ✅ OK `{healthy}`" not in text
    # environment and configuration folded
    for summary in ("Environment", "Effective configuration"):
        assert f"<details><summary>{summary}</summary>" in text
    assert "### Command line" in text
    assert "| Python | `3.11.7` |" in text
    assert (
        "| docker | `/usr/bin/docker` | `Docker version 24.0.7` | `dockerd` not running |" in text
    )
    assert "| containerd | not found |" in text
    (daemon_row,) = [line for line in text.splitlines() if "`/etc/docker/daemon.json` |" in line]
    assert "docker" in daemon_row and "present" in daemon_row
    # the phases on one line; the table only with --verbose
    assert "Phases: dns ✅ · tcp ❌ · tls ⏭️" in text
    assert "| phase | status | time | detail |" not in text
    verbose = markdown_text(report, context=context, verbose=True)
    assert verbose.count("| phase | status | time | detail |") == 2
    assert re.search(r"\| tcp \| ❌ failed \| .* \| `.*refused.*` \|", verbose)
    assert "| http | ⏭️ skipped |" in verbose
    # the finding with its category and remediation
    assert "`tcp.refused`" in text and "How to fix:" in text
    assert f"regdoctor check {healthy} {failing}" in text
    # table rows have a constant number of cells (no stray pipes)
    for line in verbose.splitlines():
        if line.startswith("| phase |") or line.startswith("| tcp |"):
            assert line.count(" | ") == 3


def test_real_host_info_is_collected():
    info = collect(versions=False)
    assert info.python and info.regdoctor
    assert {r.name for r in info.runtimes} >= {"docker", "containerd", "podman", "kubelet"}


def test_untrusted_text_stays_inside_code():
    from tests.render.test_prometheus import _synthetic

    report = _synthetic(url="x")
    hostile = (
        "x ``` ![img](http://evil.test/p.png) <img src=x> | # heading\n## injected\n"
        "- item [link](http://evil.test) www.evil.test bob@evil.test &amp; *em* a|b"
    )
    finding = dataclasses.replace(
        report.targets[0].findings[0], title=hostile, explanation=hostile, leading=True
    )
    target = dataclasses.replace(report.targets[0], findings=(finding,))
    for verbose in (False, True):
        text = markdown_text(
            dataclasses.replace(report, targets=(target,)),
            context=ReportContext(host=HOST),
            verbose=verbose,
        )
        outside = outside_code(text)
        for bad in ("![img]", "<img", "## injected", "# heading"):
            assert bad not in outside, bad
        assert "## injected" in text or "\\#\\# injected" in text  # shown, literally
        rendered = parsed(text)
        kinds = {t.type for t in rendered}
        assert not kinds & {"image", "html_inline", "link_open"}, kinds
        html = [t.content.strip() for t in rendered if t.type == "html_block"]
        assert all(re.fullmatch(r"</?details>(<summary>[\w ]+</summary>)?", h) for h in html)
        titles = [
            rendered[i + 1].content for i, t in enumerate(rendered) if t.type == "heading_open"
        ]
        # only the report's own headings: the title and the target (no command line here)
        assert len(titles) == 2, titles
        assert titles[1].startswith("❌ ERROR `reg.test/app:1`"), titles
        # prose is prose: the explanation is a paragraph, not a code block
        assert "x \\`\\`\\` \\!\\[img\\](`http://evil.test/p.png`) \\<img" in text


def parsed(text: str) -> list:
    """Tokens as a CommonMark renderer with GFM tables and autolinks sees them
    (nested tokens flattened)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"linkify": True}).enable(["table", "linkify"])
    out = []
    for token in md.parse(text):
        out.append(token)
        out.extend(token.children or ())
    return out


def test_prose_links_and_pipes():
    """Rule prose is escaped text (no look-alike for `|`), references are links, and a
    `|` in a table cell is escaped the GFM way."""
    from regdoctor.render.md_text import cell, link, prose

    assert prose("a | b") == "a \\| b"
    assert "\u2758" not in prose("a | b") + cell("a | b")
    assert cell("a | b") == "`a \\| b`"
    assert prose("run `curl -s x | jq .` now") == "run `curl -s x | jq .` now"
    assert link("https://docs.docker.com/engine/") == "<https://docs.docker.com/engine/>"
    assert link("javascript:alert(1)") == "`javascript:alert(1)`"
    rendered = parsed(f"| a |\n|---|\n| {cell('x | y')} |\n\n{prose('1. not a list')}")
    cells = [t.content for t in rendered if t.type == "inline"]
    assert "`x \\| y`" in cells or "`x | y`" in cells
    assert not any(t.type == "ordered_list_open" for t in rendered)


def outside_code(text: str) -> str:
    """The Markdown text without fenced blocks and code spans (what a renderer parses)."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if fence is None:
            m = re.match(r"(`{3,})", stripped)
            if m:
                fence = m.group(1)
                continue
            kept.append(re.sub(r"(`+)(.+?)\1", "", line))
        elif stripped.rstrip() == fence:
            fence = None
    return "\n".join(kept)


def test_secrets_are_masked_and_hosts_with_redact_hosts():
    from regdoctor.redact.hosts import report_redactor
    from tests.render.test_prometheus import _synthetic

    report = dataclasses.replace(
        _synthetic(url="https://reg.test/v2/?token=s3cr3t-t0ken"),
        command=("regdoctor", "check", "https://reg.test/x?access_token=s3cr3t-t0ken"),
    )
    proxy = (("HTTPS_PROXY", "http://bob:hunter22@proxy.corp:3128"),)
    text = markdown_text(report, context=ReportContext(host=HOST, environment=proxy))
    assert "s3cr3t-t0ken" not in text and "hunter22" not in text
    assert "reg.test" in text
    masked = markdown_text(
        report,
        context=ReportContext(host=HOST),
        redactor=report_redactor(report, Redactor(["zz9"])),
    )
    assert "reg.test" not in masked and "host-1" in masked


def test_cli_format_markdown(testbed: Testbed):
    failing = testbed.endpoints["closed"].hostport
    proc = cli("check", "--format", "markdown", "--timeout", "3", failing)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith("## regdoctor report")
    assert "### Command line" in proc.stdout


def test_cli_redact_hosts(testbed: Testbed):
    failing = f"registry.test:{testbed.endpoints['closed'].port}"
    proc = cli(
        "check",
        "--format",
        "markdown",
        "--redact-hosts",
        "--dns-server",
        testbed.dns_server,
        "--timeout",
        "3",
        failing,
    )
    assert proc.returncode == 2, proc.stderr
    assert "registry.test" not in proc.stdout
    assert "host-1" in proc.stdout


def test_cli_markdown_lists_the_files_of_root_not_of_this_host(
    testbed: Testbed, isolate_env, tmp_path
):
    """``check --root DIR --format markdown`` describes DIR's configuration: the files below
    DIR, never those of the machine running regdoctor (REGDOCTOR_CONFIG_ROOT stands for
    this host here)."""
    host_root = isolate_env.config_root
    (host_root / "etc/containerd").mkdir(parents=True)
    (host_root / "etc/containerd/config.toml").write_text("version = 2\n")
    other = tmp_path / "copy-of-node"
    (other / "etc/docker").mkdir(parents=True)
    (other / "etc/docker/daemon.json").write_text('{"debug": true}\n')
    failing = testbed.endpoints["closed"].hostport
    proc = cli("check", "--root", str(other), "--format", "markdown", "--timeout", "3", failing)
    assert proc.returncode == 2, proc.stderr
    configuration = proc.stdout.split("<summary>Effective configuration", 1)[1]
    configuration = configuration.split("</details>", 1)[0]
    assert "`/etc/docker/daemon.json`" in configuration
    assert "config.toml" not in configuration
