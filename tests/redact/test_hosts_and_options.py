"""--redact-hosts, --fail-on, and serve/bundle accepting what check accepts."""

from __future__ import annotations

import dataclasses

from regdoctor.check.exit import exit_code
from regdoctor.cli.main import build_parser
from regdoctor.model import Observation, Severity
from regdoctor.redact.hosts import HostRedactor, report_redactor
from regdoctor.redact.secrets import Redactor
from tests.helpers.reports import check_args_actions
from tests.render.test_prometheus import _synthetic


def test_host_redactor_masks_hosts_users_and_secrets_consistently():
    redactor = HostRedactor(base=Redactor(["hunter2-pass"]))
    redactor.add_host("reg.corp.example")
    redactor.add_host("203.0.113.40")
    redactor.add_host("docker.io")
    redactor.add_host("127.0.0.1")
    redactor.add_user("alice.smith")
    text = (
        "GET https://reg.corp.example:5000/v2/ via 203.0.113.40 as alice.smith "
        "password hunter2-pass; docker.io and myreg.corp.example.org stay; "
        "REG.CORP.EXAMPLE again; 127.0.0.1"
    )
    out = redactor.redact(text)
    assert "reg.corp.example:5000" not in out and "host-1:5000" in out
    assert "host-2" in out and "203.0.113.40" not in out
    assert "user-1" in out and "alice" not in out
    assert "hunter2-pass" not in out
    assert "docker.io" in out and "127.0.0.1" in out
    assert "myreg.corp.example.org" in out  # not a prefix match inside another name
    assert out.count("host-1") == 2
    assert redactor.redact_obj({"h": ["reg.corp.example"]}) == {"h": ["host-1"]}


def test_report_redactor_collects_hosts_from_the_report():
    report = _synthetic(url="https://reg.test/v2/", realm_host="auth.corp.example")
    target = report.targets[0]
    extra = Observation(
        "dns.answer",
        target.target.raw,
        True,
        "dns",
        None,
        {"name": "reg.test", "addresses": ["192.0.2.7"]},
    )
    report = dataclasses.replace(
        report, targets=(dataclasses.replace(target, observations=(*target.observations, extra)),)
    )
    redactor = report_redactor(report, Redactor(), usernames=["robot$ci"])
    out = redactor.redact("reg.test auth.corp.example 192.0.2.7 robot$ci")
    assert not any(word in out for word in ("reg.test", "auth.corp", "192.0.2.7", "robot$ci"))


def test_fail_on():
    report = _synthetic(url="x")
    assert exit_code(report, "warning") == 2
    warning_only = dataclasses.replace(
        report,
        targets=(
            dataclasses.replace(
                report.targets[0],
                findings=(
                    dataclasses.replace(report.targets[0].findings[0], severity=Severity.WARNING),
                ),
            ),
        ),
    )
    assert exit_code(warning_only, "warning") == 1
    assert exit_code(warning_only, "error") == 0
    assert exit_code(report, "error") == 2


def test_serve_and_bundle_accept_every_check_option():
    presentation = {"help", "format", "verbose", "fail_on", "summary"}
    check_dests = {a.dest for a in check_args_actions()} - presentation
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in ("serve", "bundle"):
        dests = {a.dest for a in sub.choices[name]._actions}
        assert check_dests <= dests, (name, check_dests - dests)
        assert "redact_hosts" in dests


def test_cli_fail_on_error(testbed, isolate_env):
    from tests.helpers.reports import cli

    # plain HTTP on loopback: at most info/warning notes, never an error
    target = testbed.endpoints["tls_expiring"].hostport
    ca = ("--runtime", "podman", "--ca-file", str(testbed.ca_file))
    proc = cli("check", "--fail-on", "error", *ca, target)
    assert proc.returncode == 0, proc.stdout
    proc = cli("check", "--fail-on", "warning", *ca, target)
    assert proc.returncode == 1, proc.stdout
