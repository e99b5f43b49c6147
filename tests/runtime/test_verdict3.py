"""Verdicts that disagreed with the runtimes (review of session 9): unit tests of one step
each. The real clients' agreement is tests/scenarios/runtimes/table_verdict3.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from regdoctor.check.plan import mirrored
from regdoctor.check.routes import Routes
from regdoctor.check.verdicts import _gone_on_from
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.model import Finding, RuntimeVerdict, Severity, TargetReport
from regdoctor.reference.targets import parse_target


def _routes(root: Path, conf: str) -> Routes:
    path = root / "etc/containers/registries.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(conf)
    effective = discover(paths_from(root, {}), runtimes=("podman",))
    return Routes(runtimes=("podman",), effective=effective)


def _finding(rule: str, severity: Severity = Severity.ERROR) -> Finding:
    return replace(Finding(rule, "x", severity, "high", "t", "tcp", rule, ""), runtimes=("podman",))


# -- a search registry serves a short name under another repository ----------------------


def test_a_search_registry_records_the_image_it_serves(tmp_path: Path) -> None:
    """podman-short-name-single-component-next-search: ``nginx`` is secure.test/nginx at
    the first search registry, the image target docker.io/library/nginx."""
    routes = _routes(tmp_path, 'unqualified-search-registries = ["secure.test", "docker.io"]\n')
    image = parse_target("nginx:latest")
    [search] = [t for t in mirrored([image], routes) if t is not image]
    assert (search.host, search.repository, image.repository) == (
        "secure.test",
        "nginx",
        "library/nginx",
    )
    assert search.mirror_for == (image.id,)


def test_a_mirror_shared_by_two_images_records_both(tmp_path: Path) -> None:
    conf = "".join(
        f'[[registry]]\nlocation = "{host}"\n\n[[registry.mirror]]\nlocation = "m.test"\n\n'
        for host in ("a.test", "b.test")
    )
    routes = _routes(tmp_path, conf)
    a, b = parse_target("a.test/team/app:1.2"), parse_target("b.test/team/app:1.2")
    [mirror] = [t for t in mirrored([a, b], routes) if t not in (a, b)]
    assert mirror.host == "m.test" and mirror.mirror_for == (a.id, b.id)


def _search_pair(image_status: str) -> tuple[TargetReport, TargetReport]:
    image = parse_target("nginx:latest")
    image_report = TargetReport(
        image,
        {},
        (),
        (),
        (),
        0.0,
        runtimes={"podman": RuntimeVerdict("podman", image_status, "r", None)},
    )
    search = replace(
        parse_target("https://secure.test/nginx:latest"),
        mirror_of="docker.io",
        runtime="podman",
        mirror_for=(image.id,),
    )
    findings = (
        replace(_finding("tcp-refused"), leading=True),
        _finding("mirror-unreachable", Severity.WARNING),
    )
    return image_report, replace(TargetReport(search, {}, (), (), (), 0.0), findings=findings)


def test_a_search_registry_with_another_repository_drops_the_runtime_that_pulls() -> None:
    image, search = _search_pair("ok")
    refused, fallback = _gone_on_from(search, [image, search]).findings
    assert refused.runtimes == () and not refused.leading
    assert fallback.runtimes == ("podman",)


def test_it_keeps_the_runtime_when_the_image_fails_too() -> None:
    image, search = _search_pair("error")
    assert _gone_on_from(search, [image, search]) is search


def test_it_is_not_matched_to_an_image_it_does_not_serve() -> None:
    """Another image of the same registry that pulls says nothing about this one."""
    image, search = _search_pair("ok")
    other = replace(image, target=parse_target("docker.io/library/redis:latest"))
    stranger = replace(search, target=replace(search.target, mirror_for=(other.target.id,)))
    assert _gone_on_from(stranger, [image, stranger]) is stranger


# -- a saved short-name alias file podman cannot load ------------------------------------

SEARCH_ONE = 'unqualified-search-registries = ["tls.test:5443"]\n'


def _with_cache(root: Path, text: str) -> Routes:
    cache = root / "var/cache/containers/short-name-aliases.conf"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(text)
    return _routes(root, SEARCH_ONE)


def test_a_malformed_alias_cache_stops_short_names_only(tmp_path: Path) -> None:
    """podman-saved-alias-cache-malformed / -qualified: podman 4.3.1 fails the short name
    with 'loading short-name aliases config file ...' and pulls the qualified name."""
    routes = _with_cache(tmp_path, '[aliases]\n"team/app" = "tls.test:5443/team/app\n')
    short = routes.route("podman", parse_target("team/app:1.2"))
    assert short.stopped is not None
    assert short.stopped.startswith(
        'loading short-name aliases config file "/var/cache/containers/short-name-aliases.conf": '
    )
    assert short.stopped_source == "/var/cache/containers/short-name-aliases.conf"
    assert short.fix == ("alias-cache-invalid", "", "")
    qualified = routes.route("podman", parse_target("tls.test:5443/team/app:1.2"))
    assert qualified.stopped is None and [e.host for e in qualified.endpoints] == ["tls.test:5443"]


def test_an_invalid_saved_alias_stops_every_short_name(tmp_path: Path) -> None:
    """podman-saved-alias-cache-invalid-alias: the whole file is refused, so another
    short name than the bad alias's fails as well."""
    routes = _with_cache(tmp_path, '[aliases]\n"team/app" = "team/app"\n')
    for name in ("team/app:1.2", "nginx:latest"):
        route = routes.route("podman", parse_target(name))
        assert route.stopped is not None and "must contain registry and repository" in route.stopped


def test_the_cache_file_problems_are_not_the_refusal_of_podman_as_a_whole(tmp_path: Path) -> None:
    """A fully qualified pull never reads the file: its problems are warnings (no
    config-invalid error listing podman when it pulls)."""
    _with_cache(tmp_path, '[aliases]\n"team/app" = "tls.test:5443/team/app\n')
    effective = discover(paths_from(tmp_path, {}), runtimes=("podman",))
    assert effective.containers is not None
    [cache] = [f for f in effective.containers.files if f.source == "short_name_aliases"]
    assert cache.issues and not any(i.fatal for i in cache.issues)


def test_a_good_alias_cache_leaves_the_short_name_route(tmp_path: Path) -> None:
    routes = _with_cache(tmp_path, '[aliases]\n"team/app" = "tls.test:5443/team/app"\n')
    route = routes.route("podman", parse_target("team/app:1.2"))
    assert route.stopped is None and [e.host for e in route.endpoints] == ["tls.test:5443"]


# -- an http:// request to a registry named without a port goes to port 80 ---------------


def _ctx(image: str, scheme: str | None) -> object:
    from types import SimpleNamespace

    return SimpleNamespace(target=parse_target(image), state=SimpleNamespace(scheme=scheme))


def test_the_http_url_of_a_registry_named_without_a_port_has_none() -> None:
    """proxy-plain-no-port: dockerd, containerd and podman request
    http://behind.test/v2/ (port 80); the probe asked the proxy for behind.test:443."""
    from regdoctor.probes.http_ping import base_url

    assert base_url(_ctx("behind.test/team/app:1.2", "http")) == "http://behind.test"  # type: ignore[arg-type]
    assert base_url(_ctx("behind.test/team/app:1.2", "https")) == "https://behind.test"  # type: ignore[arg-type]
    assert base_url(_ctx("behind.test:5000/team/app:1.2", "http")) == "http://behind.test:5000"  # type: ignore[arg-type]
    assert base_url(_ctx("behind.test:443/team/app:1.2", "http")) == "http://behind.test:443"  # type: ignore[arg-type]
    assert base_url(_ctx("[::1]:5000/team/app:1.2", "http")) == "http://[::1]:5000"  # type: ignore[arg-type]


# -- an error finding no runtime in scope meets is a warning ------------------------------


class _Scope:
    def __init__(self, *runtimes: str) -> None:
        self.runtimes = runtimes


def test_an_error_on_no_runtimes_path_is_a_warning() -> None:
    """proxy-http-only-unresolved: the node's NXDOMAIN for a name every runtime reaches
    through HTTP_PROXY was an error finding with no runtime (summary errors 1)."""
    from regdoctor.check.verdicts import _on_no_path

    nxdomain = replace(_finding("dns-nxdomain"), runtimes=())
    refused = _finding("tcp-refused")  # lists podman
    report = replace(
        TargetReport(parse_target("behind.test:5000/team/app:1.2"), {}, (), (), (), 0.0),
        findings=(nxdomain, refused),
    )
    judged = _on_no_path(report, _Scope("podman"))  # type: ignore[arg-type]
    assert [f.severity for f in judged.findings] == [Severity.WARNING, Severity.ERROR]
    # without runtimes in scope (a library caller) the rule's severity stands
    assert _on_no_path(report, _Scope()) is report  # type: ignore[arg-type]


def test_a_search_registry_the_runtime_goes_on_from_is_a_warning_for_it() -> None:
    """podman-short-name-permissive-first-down: podman pulls, the run exited 2 because
    the first search registry's podman verdict was an error."""
    image, search = _search_pair("ok")
    search = replace(
        search, runtimes={"podman": RuntimeVerdict("podman", "error", "refused", None)}
    )
    judged = _gone_on_from(search, [image, search])
    assert judged.runtimes["podman"].status == "warning"
    assert judged.status == "warning"
    image, search = _search_pair("error")
    failing = replace(
        search, runtimes={"podman": RuntimeVerdict("podman", "error", "refused", None)}
    )
    assert _gone_on_from(failing, [image, failing]).runtimes["podman"].status == "error"


def test_rootless_podman_without_xdg_runtime_dir_reads_run_user() -> None:
    """podman v4 libpod SetXdgDirs: rootless podman sets XDG_RUNTIME_DIR=/run/user/<uid>
    before containers/image looks for its login file; only root reads /run/containers/0."""
    from regdoctor.runtime import auth_file_candidates

    rootless = auth_file_candidates({}, "/home/u", 1000).candidates[0]
    assert rootless == "/run/user/1000/containers/auth.json"
    assert auth_file_candidates({}, "/root", 0).candidates[0] == "/run/containers/0/auth.json"


def test_port_80_is_dialled_only_where_the_runtimes_go_on_to_http() -> None:
    """plain-no-port-direct: a registry named without a port whose 443 is refused, and
    runtimes that go on to http:// (port 80); not with a port named, a pinned scheme, a
    proxy, nor when no runtime in scope goes on (plain-no-port-docker-not-told)."""
    from types import SimpleNamespace
    from unittest import mock

    from regdoctor.model import Observation
    from regdoctor.options import SchemeChoice
    from regdoctor.probes import tcp

    refused = Observation("tcp.connect", "t", True, "tcp", facts={"outcome": "refused"})
    timeout = Observation("tcp.connect", "t", True, "tcp", facts={"outcome": "timeout"})

    def ctx(
        image: str,
        fallback: bool = True,
        proxy: object = None,
        going_on: tuple[str, ...] = (),
        scope: tuple[str, ...] = (),
    ) -> object:
        policy = (True, True, fallback, frozenset({"refused", "unreachable"}))
        state = SimpleNamespace(proxy=proxy, addresses=["192.0.2.9"])
        choice = SchemeChoice(plain_http=going_on, scope=scope)
        schemes = SimpleNamespace(schemes=lambda _t, _a: choice) if scope else None
        options = SimpleNamespace(schemes=schemes)
        return SimpleNamespace(
            target=parse_target(image), state=state, policy=policy, options=options
        )

    def goes(c: object, failed: list[Observation]) -> bool:
        with mock.patch("regdoctor.probes.tls.scheme_policy", lambda _c: _c.policy):
            return tcp._http_port_next(c, failed)  # type: ignore[arg-type]

    assert goes(ctx("plain80.test/team/app:1.2"), [refused])
    assert not goes(ctx("plain80.test:5000/team/app:1.2"), [refused])
    assert not goes(ctx("https://plain80.test/team/app:1.2"), [refused])
    assert not goes(ctx("plain80.test/team/app:1.2", fallback=False), [refused])
    assert not goes(ctx("plain80.test/team/app:1.2", proxy=object()), [refused])
    assert not goes(ctx("plain80.test/team/app:1.2"), [timeout])
    # every runtime in scope goes on: port 80 replaces 443's failure
    both = ("docker", "podman")
    assert goes(ctx("plain80.test/team/app:1.2", going_on=both, scope=both), [refused])
    # docker goes on, containerd stops at 443: port 80 is dialled for docker where a
    # registry answers there (review of session 10, tests/runtime/test_verdict4.py)
    mixed = ("docker", "containerd")
    assert goes(ctx("plain80.test/team/app:1.2", going_on=("docker",), scope=mixed), [refused])


def test_port_80_is_looked_at_for_a_fix_only_after_443_refused_direct() -> None:
    """plain-no-port-docker-not-told: dockerd not told the registry is insecure stops at
    443; what answers on port 80 says that marking it insecure helps."""
    from types import SimpleNamespace

    from regdoctor.model import Observation
    from regdoctor.probes import tcp

    refused = Observation("tcp.connect", "t", False, "tcp", facts={"outcome": "refused"})
    timeout = Observation("tcp.connect", "t", False, "tcp", facts={"outcome": "timeout"})

    def looks(image: str, failed: list[Observation], proxy: object = None) -> bool:
        c = SimpleNamespace(target=parse_target(image), state=SimpleNamespace(proxy=proxy))
        return tcp._plain_port_worth_a_look(c, failed)  # type: ignore[arg-type]

    assert looks("plain80.test/team/app:1.2", [refused])
    assert not looks("plain80.test/team/app:1.2", [refused, timeout])
    assert not looks("plain80.test:5000/team/app:1.2", [refused])
    assert not looks("plain80.test/team/app:1.2", [refused], proxy=object())
    # no runtime is told Docker Hub is insecure
    assert not looks("registry-1.docker.io/library/app:1", [refused])


def test_the_look_at_port_80_waits_a_few_round_trips_not_two_seconds() -> None:
    """Review of h-verdict3: a port 80 that accepts and says nothing held the check of a
    registry that is simply down for 2 s; the wait is ten times 443's refusal, at least
    0.3 s, at most 2 s."""
    from regdoctor.model import Observation
    from regdoctor.probes import tcp

    def refused(ms: float) -> Observation:
        return Observation(
            "tcp.connect", "t", False, "tcp", facts={"outcome": "refused"}, duration_ms=ms
        )

    assert tcp._plain_port_wait([refused(0.1)]) == tcp._PLAIN_PORT_MIN_S
    assert tcp._plain_port_wait([refused(80.0)]) == 0.8
    assert tcp._plain_port_wait([refused(900.0)]) == tcp._PLAIN_PORT_WAIT_S


def test_the_endpoint_names_port_80_after_the_fall_back_to_http() -> None:
    """Review of h-verdict3: the report's endpoint said http://plain80.test:443 where
    the http:// requests went to port 80."""
    from regdoctor.check.pipeline import endpoint_port

    assert endpoint_port(parse_target("plain80.test/team/app:1.2"), "http") == 80
    assert endpoint_port(parse_target("plain80.test/team/app:1.2"), "https") == 443
    assert endpoint_port(parse_target("plain80.test:5000/team/app:1.2"), "http") == 5000
    assert endpoint_port(parse_target("plain80.test:443/team/app:1.2"), "http") == 443


def test_podmans_insecure_drop_in_only_where_insecure_is_the_fix() -> None:
    """Review of h-fixcmd3: the drop-in (insecure = true for podman's failing endpoint) was
    computed for any podman failure and copied into every rule's context: a mirror with
    a certificate podman does not trust got tls-plain-http's insecure fix."""
    from regdoctor.check.seen import Kind
    from regdoctor.check.verdicts import _insecure_helps
    from regdoctor.check.walk import Walk

    assert _insecure_helps(Walk(failure=(Kind.HTTP_ON_HTTPS, "http response to https")))
    assert _insecure_helps(Walk(failure=(Kind.CONNECT, "connection refused")))
    assert not _insecure_helps(Walk(failure=(Kind.TLS, "x509: unknown authority")))
    assert not _insecure_helps(Walk(failure=(Kind.UNAUTHORIZED, "401")))
    assert not _insecure_helps(Walk(ok=True))


def test_a_saved_alias_file_that_does_not_load_has_its_own_finding(tmp_path: Path) -> None:
    """Review of h-verdict3: beside a fully qualified pull, the file's problems came out
    as config-warnings ("loads, but settings are ignored... a misspelt key", a containerd
    link): wrong for a machine-written alias file. It has its own warning now, with the
    fix that moves it aside. (127.0.0.1:1: loopback, refused at once.)"""
    import json
    import subprocess
    import sys

    cache = tmp_path / "var/cache/containers"
    cache.mkdir(parents=True)
    (cache / "short-name-aliases.conf").write_text('[aliases]\n"team/app" = "tls.test/team/app\n')
    (tmp_path / "etc/containers").mkdir(parents=True)
    run = subprocess.run(
        [sys.executable, "-m", "regdoctor", "check", "--root", str(tmp_path), "--runtime",
         "podman", "--format", "json", "--timeout", "2", "127.0.0.1:1/team/app:1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    rules = {f["rule"]: f for f in json.loads(run.stdout)["findings"]}
    assert "config-warnings" not in rules, rules.keys()
    found = rules["config-podman-alias-cache-unread"]
    assert found["severity"] == "warning"
    assert "short-name-aliases.conf" in found["title"]
    assert "mv --" in found["remediation"][0]["commands"]["podman"]
