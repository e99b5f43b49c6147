"""Fixes hunted against the real runtimes (session 10; the runtime table's
``table_hunt.py`` runs them on the real clients)."""

from __future__ import annotations

from regdoctor.engine import load_catalog

RULES = {rule.id: rule for rule in load_catalog().rules}
RUNTIMES = ("docker", "containerd", "kubernetes", "podman")


def _commands(rule_id: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for step in RULES[rule_id].remediation:
        for runtime, command in step.commands.items():
            out.setdefault(runtime, command)
    return out


def test_a_rejected_client_certificate_is_replaced_for_every_runtime() -> None:
    """mtls-client-cert-other-ca: a client pair from a CA the registry does not accept is
    installed for every runtime; the finding had no command, so no runtime had a fix."""
    commands = _commands("tls-client-cert-rejected")
    assert set(RUNTIMES) <= set(commands)
    for runtime in RUNTIMES:
        assert "cp client.cert client.key " in commands[runtime], runtime
    for runtime in ("containerd", "kubernetes"):
        assert "client = [[" in commands[runtime]  # the hosts.toml names the pair


def test_an_unpaired_certs_dir_file_is_renamed_for_every_runtime() -> None:
    """certs-d-ca-named-cert: ca.cert becomes ca.crt (each runtime's own directory)."""
    commands = _commands("config-certs-dir-unpaired")
    for runtime in RUNTIMES:
        assert commands[runtime].strip() == "sudo mv -- {fix_bad} {fix_good}", runtime
