"""Verdicts that disagreed with the runtimes (review of session 10): unit tests of one
step each. The real clients' agreement is tests/scenarios/runtimes/table_verdict4.py and
test_verdict4_mixed_scope.py."""

from __future__ import annotations

from types import SimpleNamespace

from regdoctor.options import SchemeChoice
from regdoctor.reference.targets import parse_target


def _ctx(going_on: tuple[str, ...], scope: tuple[str, ...]) -> object:
    choice = SchemeChoice(plain_http=going_on, scope=scope)
    schemes = SimpleNamespace(schemes=lambda _t, _a: choice)
    return SimpleNamespace(
        target=parse_target("plain80.test/team/app:1.2"),
        state=SimpleNamespace(proxy=None, addresses=["192.0.2.9"]),
        options=SimpleNamespace(schemes=schemes),
    )


def test_a_mixed_scope_is_not_every_runtime_going_on() -> None:
    """docker told the registry is insecure goes on to port 80, containerd stops at 443:
    the TCP phase goes on for docker only where the look at port 80 finds a registry,
    and keeps 443's refusal for containerd (the TLS phase's observation)."""
    from regdoctor.probes import tcp

    both = ("docker", "podman")
    assert tcp._every_runtime_goes_on(_ctx(both, both))  # type: ignore[arg-type]
    mixed = ("docker", "containerd")
    assert not tcp._every_runtime_goes_on(_ctx(("docker",), mixed))  # type: ignore[arg-type]
    no_policy = SimpleNamespace(options=SimpleNamespace(schemes=None))
    assert tcp._every_runtime_goes_on(no_policy)  # type: ignore[arg-type]
