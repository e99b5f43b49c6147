"""A fix that logs in runs where it is pasted, and in the runtime table's fix shell: a
bare ``docker login REGISTRY`` stops there with "Cannot perform an interactive login
from a non TTY device", ``podman login REGISTRY`` with "reading password: inappropriate
ioctl for device" (measured: scenario fixcov-private-repository-no-login). An error
rule's login takes the user from ``$REGISTRY_USERNAME`` and the password on stdin
(``--password-stdin``, never in argv), as auth-rejected-credentials' does; so does a
warning rule's (config-credential-not-found's was a bare login)."""

from __future__ import annotations

import re

from regdoctor.engine import load_catalog
from regdoctor.model import Severity

_LOGIN = re.compile(r"\b(docker|podman) login\b")


def _logins() -> list[tuple[str, str, str]]:
    found = []
    for rule in load_catalog().rules:
        if rule.severity not in (Severity.ERROR, Severity.WARNING):
            continue
        for step in rule.remediation:
            for runtime, command in step.commands.items():
                if "{registry}" not in command:
                    continue
                for line in command.splitlines():
                    code = line.split("#", 1)[0]
                    if _LOGIN.search(code):
                        found.append((rule.id, runtime, line.strip()))
    return found


def test_error_and_warning_rules_log_in_without_a_terminal() -> None:
    logins = _logins()
    assert logins, "no error rule logs in: the test reads the catalog wrongly"
    interactive = [
        (rule, runtime, line) for rule, runtime, line in logins if "--password-stdin" not in line
    ]
    assert not interactive, interactive


def test_no_error_rule_runs_a_placeholder_registry() -> None:
    """A command line that runs ``docker login REGISTRY`` (a placeholder left as code)
    fails where it is pasted (config-credential-store-stale's, measured: scenario
    fixcov-desktop-store-stale); a rule without the registry says it in a comment."""
    placeholder = re.compile(r"(?<![$\w{])REGISTRY(?![\w}])")
    run = [
        (rule.id, runtime, line.strip())
        for rule in load_catalog().rules
        if rule.severity is Severity.ERROR
        for step in rule.remediation
        for runtime, command in step.commands.items()
        for line in command.splitlines()
        if placeholder.search(line.split("#", 1)[0])
    ]
    assert not run, run
