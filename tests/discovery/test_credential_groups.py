"""Which runtimes share an auth dance: those that send the same credential (by origin,
file, entry; never by secret), the target's own credential's group first."""

from __future__ import annotations

from regdoctor.discovery.targets import group_credentials
from regdoctor.model import CredentialRef

CONFIG = "/root/.docker/config.json"
LOGIN = CredentialRef("file", CONFIG, 'auths["secure.test"]', server="secure.test")
#: the same entry as podman reads it (its fallback to docker's config.json)
SAME_ENTRY = CredentialRef("file", CONFIG, 'auths["secure.test"]', server="https://secure.test")
AUTH_JSON = CredentialRef("file", "/run/containers/0/auth.json", 'auths["secure.test"]')
HELPER_A = CredentialRef("helper", CONFIG, 'credHelpers["a.test"]', helper="x", server="a.test")
HELPER_B = CredentialRef("helper", CONFIG, 'credHelpers["a.test"]', helper="x", server="b.test")


def test_one_credential_for_every_runtime_is_one_dance() -> None:
    assert group_credentials(LOGIN, [("docker", LOGIN), ("podman", SAME_ENTRY)]) == ()
    assert group_credentials(None, [("containerd", None), ("kubernetes", None)]) == ()


def test_a_runtime_without_the_login_gets_an_anonymous_dance() -> None:
    groups = group_credentials(
        LOGIN,
        [("docker", LOGIN), ("containerd", None), ("podman", SAME_ENTRY), ("kubernetes", None)],
    )
    assert groups == ((LOGIN, ("docker", "podman")), (None, ("containerd", "kubernetes")))


def test_the_targets_own_credential_leads_even_when_no_runtime_sends_it() -> None:
    groups = group_credentials(LOGIN, [("containerd", None), ("podman", AUTH_JSON)])
    assert groups == ((LOGIN, ()), (None, ("containerd",)), (AUTH_JSON, ("podman",)))


def test_a_login_only_podman_has_is_its_own_group() -> None:
    groups = group_credentials(
        None, [("docker", None), ("containerd", None), ("podman", AUTH_JSON)]
    )
    assert groups == ((None, ("docker", "containerd")), (AUTH_JSON, ("podman",)))


def test_a_helper_asked_for_another_server_is_another_credential() -> None:
    assert HELPER_A.identity != HELPER_B.identity
    groups = group_credentials(HELPER_A, [("docker", HELPER_A), ("podman", HELPER_B)])
    assert groups == ((HELPER_A, ("docker",)), (HELPER_B, ("podman",)))


def test_the_identity_names_no_secret() -> None:
    assert LOGIN.identity == ("file", CONFIG, 'auths["secure.test"]', None, None)
