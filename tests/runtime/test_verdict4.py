"""Verdicts that disagreed with the runtimes (review of session 10): unit tests of one
step each. The real clients' agreement is tests/scenarios/runtimes/table_verdict4.py and
test_verdict4_mixed_scope.py."""

from __future__ import annotations

from pathlib import Path
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


# -- podman refuses a short name before any request: its image's host is not probed -----

_SEARCH = 'unqualified-search-registries = ["a.test", "b.test"]\n'
_ENFORCING = _SEARCH + 'short-name-mode = "enforcing"\n'
_NO_SEARCH = "# no unqualified-search-registries\n"
_PERMISSIVE = _SEARCH + 'short-name-mode = "permissive"\n'


def _podman_root(root: Path, conf: str, alias_cache: str | None = None) -> Path:
    path = root / "etc/containers/registries.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conf)
    if alias_cache is not None:
        cache = root / "var/cache/containers/short-name-aliases.conf"
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(alias_cache)
    return root


def _uncontacted(root: Path, image: str, runtimes: tuple[str, ...]) -> str | None:
    from regdoctor.check.pipeline import uncontacted
    from regdoctor.check.routes import Routes
    from regdoctor.discovery.effective import discover, paths_from

    effective = discover(paths_from(root, {}), runtimes=runtimes)
    routes = Routes(runtimes=runtimes, effective=effective)
    return uncontacted(effective.apply(parse_target(image)), routes)


def test_a_short_name_podman_refuses_is_not_probed(tmp_path: Path) -> None:
    """podman alone in scope refuses the short name before any request (enforcing
    without a TTY, no search registries, a saved alias file it cannot load): no runtime
    in scope contacts docker.io, the image's own host as docker would read it."""
    broken = '[aliases]\n"team/app" = "a.test/team/app\n'
    for name, conf, cache, why in (
        ("enforcing", _ENFORCING, None, "podman refuses the short name team/app:1.2"),
        ("none", _NO_SEARCH, None, "podman refuses the short name team/app:1.2"),
        # worded per cause: the alias file, not the name, is what podman refuses
        ("cache", _PERMISSIVE, broken, "podman cannot load its short-name aliases ("),
    ):
        root = _podman_root(tmp_path / name, conf, cache)
        reason = _uncontacted(root, "team/app:1.2", ("podman",))
        assert reason is not None and why in reason, (name, reason)
        assert name != "cache" or "refuses the short name" not in reason, reason


def test_a_one_component_name_ctr_refuses_is_not_probed(tmp_path: Path) -> None:
    """ctr refuses ``app`` and ``app:1.2`` before any request (containerd's
    reference.Parse reads the name as a host: "object required", an invalid port): with
    containerd alone in scope (or beside a podman that refuses it too) nobody contacts
    docker.io; the CRI normalizes as docker does and pulls from docker.io."""
    root = _podman_root(tmp_path / "e", _ENFORCING)
    for image in ("app", "app:1.2"):
        reason = _uncontacted(root, image, ("containerd",))
        assert reason is not None and f"ctr refuses the short name {image}" in reason, reason
        both = _uncontacted(root, image, ("containerd", "podman"))
        assert both is not None and "podman refuses" in both and "ctr refuses" in both, both
        assert _uncontacted(root, image, ("containerd", "kubernetes")) is None
    # team/app: ctr reads host "team" and goes there (not refused, not docker.io)
    two = _uncontacted(root, "team/app:1.2", ("containerd",))
    assert two is not None and "containerd pulls it from team" in two, two


def test_a_short_name_another_runtime_pulls_is_probed(tmp_path: Path) -> None:
    """docker in scope beside podman pulls docker.io/team/app: the host is probed; so it
    is for podman going to its search registries, and for a qualified name."""
    root = _podman_root(tmp_path / "e", _ENFORCING)
    assert _uncontacted(root, "team/app:1.2", ("docker", "podman")) is None
    assert _uncontacted(root, "docker.io/team/app:1.2", ("podman",)) is None
    permissive = _podman_root(tmp_path / "p", _PERMISSIVE)
    reason = _uncontacted(permissive, "team/app:1.2", ("podman",))
    assert reason is not None and "a.test" in reason  # the search registries, not docker.io


def test_check_sends_nothing_for_a_short_name_podman_refuses(tmp_path: Path) -> None:
    """The whole run: no DNS question, no connection, and no finding of docker.io's (it
    showed a dns-nxdomain warning for a host podman never looks up); podman's own
    config-podman-short-name is the only error."""
    import json
    import subprocess
    import sys

    root = _podman_root(tmp_path / "root", _ENFORCING)
    proc = subprocess.run(
        [
            sys.executable, "-m", "regdoctor", "check", "--format", "json",
            "--root", str(root), "--runtime", "podman",
            # a closed loopback port: a question there is refused, never sent elsewhere
            "--dns-server", "127.0.0.1:9", "--timeout", "2", "team/app:1.2",
        ],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    sent = [
        o["kind"]
        for t in doc["targets"]
        for o in t["observations"]
        if o["kind"].split(".")[0] in ("dns", "tcp", "tls", "http", "auth", "image")
    ]
    assert sent == [], sent
    assert [t["target"] for t in doc["targets"]] == ["team/app:1.2"]
    assert {f["rule"] for f in doc["findings"]} == {"config-podman-short-name"}, doc["findings"]
    assert doc["targets"][0]["runtimes"]["podman"]["status"] == "error"


def test_check_sends_nothing_for_a_name_ctr_refuses(tmp_path: Path) -> None:
    """containerd alone, ``app:1.2``: ctr refuses it before any request; the check asks
    no DNS question of docker.io (it did: dns observations and docker.io's findings)
    and names ctr's refusal (config-ctr-name-refused) as the only error."""
    import json
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable, "-m", "regdoctor", "check", "--format", "json",
            "--root", str(tmp_path), "--runtime", "containerd",
            "--dns-server", "127.0.0.1:9", "--timeout", "2", "app:1.2",
        ],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    doc = json.loads(proc.stdout)
    sent = [
        o["kind"]
        for t in doc["targets"]
        for o in t["observations"]
        if o["kind"].split(".")[0] in ("dns", "tcp", "tls", "http", "auth", "image")
    ]
    assert sent == [], sent
    assert {f["rule"] for f in doc["findings"]} == {"config-ctr-name-refused"}, doc["findings"]
