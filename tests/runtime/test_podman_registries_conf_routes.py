"""podman's registries.conf in check: what the real podman did in
tests/scenarios/runtimes (table_registries_conf.py), one step at a time."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from regdoctor.check.plan import mirrored
from regdoctor.check.routes import Routes
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.reference.targets import parse_target


def _routes(root: Path, files: dict[str, str]) -> Routes:
    for name, text in files.items():
        path = root / "etc/containers" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    effective = discover(paths_from(root, {}), runtimes=("podman",))
    return Routes(runtimes=("podman",), effective=effective)


def test_a_location_with_a_path_is_checked_with_the_rewritten_repository(
    tmp_path: Path,
) -> None:
    """prefix alias.test/apps -> location tls.test:5443/team: podman asks tls.test:5443
    for team/app (podman-prefix-remap-path), so that is the repository check asks
    there, not apps/app (which the registry does not hold)."""
    routes = _routes(
        tmp_path,
        {
            "registries.conf": '[[registry]]\nprefix = "alias.test/apps"\n'
            'location = "tls.test:5443/team"\n'
        },
    )
    target = parse_target("alias.test/apps/app:1.2")
    extra = [t for t in mirrored([target], routes) if t is not target]
    assert [(t.registry, t.repository, t.tag) for t in extra] == [
        ("tls.test:5443", "team/app", "1.2")
    ]


def test_a_mirror_with_a_path_is_checked_with_the_rewritten_repository(tmp_path: Path) -> None:
    routes = _routes(
        tmp_path,
        {
            "registries.conf": '[[registry]]\nprefix = "secure.test/apps"\n'
            'location = "secure.test/apps"\n\n'
            '[[registry.mirror]]\nlocation = "mirror.test/lib"\n'
        },
    )
    target = parse_target("secure.test/apps/app@sha256:" + "a" * 64)
    extra = [t for t in mirrored([target], routes) if t is not target]
    assert [(t.registry, t.repository, t.digest) for t in extra] == [
        ("mirror.test", "lib/app", "sha256:" + "a" * 64)
    ]


def _podman_insecure_fix(rule: str, root: Path) -> str:
    """The rule's podman fix with the drop-in check computes from ``root``'s files."""
    from regdoctor.engine import load_catalog
    from regdoctor.engine.command_template import render_command

    (found,) = [r for r in load_catalog().rules if r.id == rule]
    routes = Routes(
        runtimes=("podman",), effective=discover(paths_from(root, {}), runtimes=("podman",))
    )
    facts = routes.podman_insecure_fix(
        parse_target("plain.test:5000/team/app:1.2"), "plain.test:5000"
    )
    assert facts, "no drop-in computed"
    command = render_command(
        found.remediation[0].commands["podman"], {"registry": "plain.test:5000", **facts}
    )
    assert "tomllib" not in command
    return command.replace(" /etc/", f" {root}/etc/")


def _effective_insecure(root: Path) -> bool:
    effective = discover(paths_from(root, {}), runtimes=("podman",))
    assert effective.containers is not None
    table = effective.containers.table_for("plain.test:5000/team/app")
    assert table is not None
    return table.insecure


def test_the_insecure_fix_wins_over_a_drop_in(tmp_path: Path) -> None:
    """podman-dropin-overrides-insecure: a registries.conf.d drop-in's table replaces the
    main file's with the same prefix, so the fix is a drop-in read last (appending to
    registries.conf changed nothing for the real podman)."""
    for rule in ("tls-plain-http", "tls-http-response-to-https"):
        root = tmp_path / rule
        (root / "etc/containers/registries.conf.d").mkdir(parents=True)
        (root / "etc/containers/registries.conf").write_text(
            '[[registry]]\nlocation = "plain.test:5000"\n'
        )
        (root / "etc/containers/registries.conf.d/50-site.conf").write_text(
            '[[registry]]\nlocation = "plain.test:5000"\n'
        )
        assert not _effective_insecure(root)
        command = _podman_insecure_fix(rule, root)
        # a sudo that runs the command as it is; a $HOME without registries.conf
        (root / "bin").mkdir()
        (root / "bin/sudo").write_text('#!/bin/sh\nexec "$@"\n')
        (root / "bin/sudo").chmod(0o755)
        env = {"PATH": f"{root}/bin:{os.environ['PATH']}", "HOME": str(root / "home")}
        done = subprocess.run(
            ["bash", "-e", "-c", command], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        assert _effective_insecure(root)
        # the main file is untouched: no second table for the same location there (which
        # containers/image refuses when the insecure flags differ)
        assert (root / "etc/containers/registries.conf").read_text().count("[[registry]]") == 1


# -- short names (pkg/shortnames/shortnames.go Resolve, v5.23.1) ---------------------------


def test_a_short_name_resolves_like_containers_image() -> None:
    from regdoctor.runtime import resolve_short_name

    two = {"unqualified-search-registries": ["a.test", "b.test:5000"]}
    permissive = resolve_short_name("team/app:1.2", two)
    assert permissive.mode == "permissive"  # the default
    assert permissive.candidates == ("a.test/team/app:1.2", "b.test:5000/team/app:1.2")
    assert not permissive.error
    enforcing = resolve_short_name("team/app:1.2", {**two, "short-name-mode": "enforcing"})
    assert enforcing.error == "short-name resolution enforced but cannot prompt without a TTY"
    one = resolve_short_name(
        "app", {"unqualified-search-registries": ["a.test"], "short-name-mode": "enforcing"}
    )
    assert (one.candidates, one.error) == (("a.test/app",), "")
    disabled = resolve_short_name("app", {**two, "short-name-mode": "disabled"})
    assert len(disabled.candidates) == 2 and not disabled.error
    alias = resolve_short_name(
        "team/app@sha256:" + "b" * 64,
        {**two, "short-name-mode": "enforcing", "aliases": {"team/app": "c.test/lib/app"}},
    )
    assert alias.candidates == ("c.test/lib/app@sha256:" + "b" * 64,)
    assert (alias.via, alias.error) == ("alias", "")
    none = resolve_short_name("team/app:1.2", {})
    assert none.candidates == () and "no unqualified-search registries" in none.error


def test_check_follows_the_search_registries_not_docker_io(tmp_path: Path) -> None:
    """podman-short-name-permissive-first-down: the search registries in order."""
    routes = _routes(
        tmp_path, {"registries.conf": 'unqualified-search-registries = ["a.test", "b.test"]\n'}
    )
    route = routes.route("podman", parse_target("team/app:1.2"))
    assert route.stopped is None
    assert [(e.host, e.repository) for e in route.endpoints] == [
        ("a.test", "team/app"),
        ("b.test", "team/app"),
    ]
    # a qualified docker.io name is still Docker Hub
    hub = routes.route("podman", parse_target("docker.io/team/app:1.2"))
    assert [e.host for e in hub.endpoints] == ["registry-1.docker.io"]


def test_enforcing_without_a_tty_stops_with_an_alias_fix(tmp_path: Path) -> None:
    """podman-short-name-enforcing-no-tty; the mode set by a drop-in is named."""
    routes = _routes(
        tmp_path,
        {
            "registries.conf": 'unqualified-search-registries = ["a.test:5443", "b.test"]\n',
            "registries.conf.d/10-mode.conf": 'short-name-mode = "enforcing"\n',
        },
    )
    route = routes.route("podman", parse_target("team/app:1.2"))
    assert route.stopped == "short-name resolution enforced but cannot prompt without a TTY"
    assert route.stopped_source == "/etc/containers/registries.conf.d/10-mode.conf"
    assert route.fix == ("short-name", "team/app", "a.test:5443/team/app")


def test_no_search_registries_stops_with_a_docker_hub_alias(tmp_path: Path) -> None:
    routes = _routes(tmp_path, {"registries.conf": "# nothing\n"})
    route = routes.route("podman", parse_target("nginx"))
    assert route.stopped is not None and "no unqualified-search registries" in route.stopped
    assert route.stopped_source == "/etc/containers/registries.conf"
    assert route.fix == ("short-name", "nginx", "docker.io/library/nginx")
    # docker keeps assuming docker.io
    assert not routes_for_docker_stop(tmp_path)


def routes_for_docker_stop(root: Path) -> bool:
    effective = discover(paths_from(root, {}), runtimes=("docker", "podman"))
    docker = Routes(runtimes=("docker",), effective=effective).route(
        "docker", parse_target("nginx")
    )
    return docker.stopped is not None


def test_without_the_files_read_a_short_name_stays_docker_io() -> None:
    """--no-config: regdoctor does not know podman's files, so it does not guess a stop."""
    route = Routes(runtimes=("podman",), effective=None).route("podman", parse_target("nginx"))
    assert route.stopped is None
    assert [e.host for e in route.endpoints] == ["registry-1.docker.io"]


# -- `regdoctor config IMAGE` for podman (discovery/plans.py) --------------------------------


def _plan(root: Path, files: dict[str, str], image: str) -> dict:
    from regdoctor.discovery.plans import plan

    for name, text in files.items():
        path = root / "etc/containers" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    effective = discover(paths_from(root, {}), runtimes=("podman",))
    return plan(effective, image, "podman").to_dict()


def test_config_dials_the_image_host_for_a_wildcard_prefix(tmp_path: Path) -> None:
    """podman-wildcard-mirror-primary-down: prefix *.corp.test without a location."""
    out = _plan(
        tmp_path,
        {
            "registries.conf": '[[registry]]\nprefix = "*.corp.test"\n\n'
            '[[registry.mirror]]\nlocation = "tls.test:5443"\n'
        },
        "reg.corp.test/team/app:1.2",
    )
    assert [e["url"] for e in out["endpoints"]] == [
        "https://tls.test:5443",
        "https://reg.corp.test",
    ]


def test_config_resolves_a_short_name_as_podman(tmp_path: Path) -> None:
    conf = 'unqualified-search-registries = ["a.test", "b.test:5000"]\n'
    out = _plan(tmp_path / "search", {"registries.conf": conf}, "team/app:1.2")
    assert [e["url"] for e in out["endpoints"]] == ["https://a.test", "https://b.test:5000"]
    stopped = _plan(
        tmp_path / "enforcing",
        {"registries.conf": conf + 'short-name-mode = "enforcing"\n'},
        "team/app:1.2",
    )
    assert stopped["endpoints"] == []
    assert any("cannot prompt without a TTY" in n for n in stopped["notes"])


# -- the verdict's category when the pull fails at another host -----------------------------


def test_a_failure_at_the_remapped_location_takes_that_host_s_category() -> None:
    """podman-prefix-remap-path-untrusted: podman fails x509 at tls.test:5443 (the
    location), a host with its own report; alias.test's report has no finding for podman.
    The verdict said tls.handshake (the kind only); that host's finding says why."""
    from dataclasses import replace

    from regdoctor.check.verdicts import _category_from_elsewhere
    from regdoctor.model import Finding, RuntimeVerdict, Severity, TargetReport
    from regdoctor.model.target import Target

    def report(registry: str, *findings: Finding, **runtimes: RuntimeVerdict) -> TargetReport:
        host = registry.split(":")[0]
        target = Target(raw=f"{registry}/team/app:1.2", registry=registry, host=host, port=443)
        return TargetReport(target, {}, (), (), findings, 0.0, runtimes=runtimes)

    x509 = replace(
        Finding(
            "tls-unknown-authority",
            "tls.unknown_authority",
            Severity.ERROR,
            "high",
            "t",
            "tls",
            "t",
            "",
        ),
        runtimes=("podman",),
    )
    failed = RuntimeVerdict("podman", "error", "x509", "https://tls.test:5443/v2/", "tls.handshake")
    primary = report("alias.test", podman=failed)
    location = report("tls.test:5443", x509)
    judged = _category_from_elsewhere(primary, [primary, location])
    assert judged.runtimes["podman"].category == "tls.unknown_authority"
    # its own finding for the runtime keeps the verdict as it was
    own = replace(x509, category="tls.expired")
    mine = report("alias.test", own, podman=failed)
    assert _category_from_elsewhere(mine, [mine, location]).runtimes["podman"].category == (
        "tls.handshake"
    )


# -- ctr and short names ------------------------------------------------------------------


def test_ctr_reads_the_first_component_of_a_short_name_as_the_host() -> None:
    """ctr-short-name: ctr dials https://team/v2/app/... for team/app:1.2; the CRI and
    docker complete the name to docker.io."""
    routes = Routes(runtimes=("containerd", "kubernetes", "docker"), effective=None)
    target = parse_target("team/app:1.2")
    ctr = routes.route("containerd", target)
    assert [(e.host, e.repository) for e in ctr.endpoints] == [("team", "app")]
    assert (ctr.short_name, ctr.full_name) == ("team/app:1.2", "docker.io/team/app:1.2")
    cri = routes.route("kubernetes", target)
    assert [e.host for e in cri.endpoints] == ["registry-1.docker.io"]
    assert cri.short_name is None
    full = routes.route("containerd", parse_target("docker.io/team/app:1.2"))
    assert [e.host for e in full.endpoints] == ["registry-1.docker.io"]
    assert full.short_name is None


def test_a_host_without_a_dot_is_found_under_its_port() -> None:
    """parse_target keeps :443 on a name without a dot (https://team/... is team:443):
    the walk finds that report for the endpoint host team."""
    from regdoctor.check.walk import elsewhere
    from regdoctor.model import TargetReport
    from regdoctor.runtime.common import Endpoint

    target = parse_target("https://team/app:1.2")
    report = TargetReport(target, {}, (), (), (), 0.0)
    endpoint = Endpoint("https://team/v2/", "https", "team", "/v2", False, False, "test")
    checked, _failure = elsewhere(endpoint, {target.registry: report})
    assert target.registry == "team:443" and checked


def test_registries_conf_values_of_the_wrong_shape_do_not_crash_the_check(
    tmp_path: Path,
) -> None:
    """A search-registries string (brackets forgotten), aliases that are not a table, a
    dotless search registry and an alias to itself: podman refuses or normalises them;
    check used to recurse for ever or raise AttributeError on them."""
    for text in (
        'unqualified-search-registries = "quay.io"\n',
        'aliases = "x"\n',
    ):
        routes = _routes(tmp_path / str(abs(hash(text))), {"registries.conf": text})
        route = routes.route("podman", parse_target("nginx"))
        assert route.stopped is not None, text
    # "registry" names a docker.io namespace (reference.ParseNormalizedNamed)
    routes = _routes(
        tmp_path / "dotless", {"registries.conf": 'unqualified-search-registries = ["registry"]\n'}
    )
    route = routes.route("podman", parse_target("nginx"))
    assert [(e.host, e.repository) for e in route.endpoints] == [
        ("registry-1.docker.io", "registry/nginx")
    ]
    # an alias to itself names no registry: containers/image refuses the file (runtime
    # table: podman-alias-not-fully-qualified), for this image and every other
    routes = _routes(tmp_path / "self", {"registries.conf": '[aliases]\n"app" = "app"\n'})
    for image in ("app:v1", "plain.test:5000/team/app:1.2"):
        route = routes.route("podman", parse_target(image))
        assert route.endpoints == () and route.fix == (
            "alias-invalid",
            "app",
            "docker.io/library/app",
        )
        assert route.stopped == (
            'loading registries configuration "/etc/containers/registries.conf": validating '
            'short-name aliases: invalid alias "app": must contain registry and repository'
        )


def test_alias_problems_are_those_containers_image_refuses() -> None:
    """v5.23.1 newShortNameAliasCache: validateShortName, parseShortNameValue."""
    from regdoctor.runtime import alias_problem

    assert alias_problem("team/app", "docker.io/team/app") is None
    assert alias_problem("app", "localhost/app") is None
    assert alias_problem("app", "") is None  # resets an earlier file's alias
    refused = {
        ("app", "team/app"): 'invalid alias "team/app": must contain registry and repository',
        ("app", "quay.io/app:1"): 'invalid alias "quay.io/app:1": must not contain tag',
        ("quay.io/app", "quay.io/app"): 'invalid short name "quay.io/app": must not contain '
        "registry",
        ("app:1", "quay.io/app"): 'invalid short name "app:1": must not contain tag',
    }
    for (name, value), problem in refused.items():
        assert alias_problem(name, value) == problem


def test_ctr_refuses_a_one_component_short_name_before_any_request() -> None:
    """ctr-single-name: containerd's reference.Parse reads nginx:latest as
    dummy://nginx:latest (an invalid port) and nginx as a host with no object; the CRI
    normalises it. A short name without a tag gets :latest in the full name ctr needs."""
    routes = Routes(runtimes=("containerd", "kubernetes"), effective=None)
    tagged = routes.route("containerd", parse_target("nginx:latest"))
    assert tagged.endpoints == ()
    assert tagged.stopped == (
        'failed to resolve reference "nginx:latest": '
        'parse "dummy://nginx:latest": invalid port ":latest" after host'
    )
    assert tagged.fix == ("ctr-short-name", "nginx:latest", "docker.io/library/nginx:latest")
    bare = routes.route("containerd", parse_target("nginx"))
    assert bare.stopped == 'failed to resolve reference "nginx": object required'
    assert bare.full_name == "docker.io/library/nginx:latest"
    assert routes.route("kubernetes", parse_target("nginx")).stopped is None
    untagged = routes.route("containerd", parse_target("team/app"))
    assert untagged.full_name == "docker.io/team/app:latest"


def test_aliases_of_several_files_merge_per_name(tmp_path: Path) -> None:
    """A drop-in's [aliases] adds to the main file's (and wins per name), as
    containers/image merges them: it does not replace the whole table."""
    routes = _routes(
        tmp_path,
        {
            "registries.conf": '[aliases]\n"web" = "a.test/lib/web"\n"app" = "a.test/team/app"\n',
            "registries.conf.d/zz-app.conf": '[aliases]\n"app" = "b.test/team/app"\n',
        },
    )
    web = routes.route("podman", parse_target("web:v1"))
    assert [(e.host, e.repository) for e in web.endpoints] == [("a.test", "lib/web")]
    app = routes.route("podman", parse_target("app:v1"))
    assert [(e.host, e.repository) for e in app.endpoints] == [("b.test", "team/app")]


def test_a_blocked_search_registry_is_skipped_for_the_next_candidate() -> None:
    """podman-short-name-blocked-search-registry: podman's pull of a blocked candidate
    fails alone and it goes on (containers/common v0.50.1 libimage pullSimpleImage); only
    when every candidate is blocked is the short name refused."""
    import pytest

    from regdoctor.runtime import podman_endpoints

    conf = (
        'unqualified-search-registries = ["secure.test", "tls.test:5443"]\n'
        '[[registry]]\nlocation = "secure.test"\nblocked = true\n'
    )
    endpoints = podman_endpoints("team/app:1.2", conf)
    assert [(e.host, e.repository) for e in endpoints] == [("tls.test:5443", "team/app")]
    every = conf + '[[registry]]\nlocation = "tls.test:5443"\nblocked = true\n'
    with pytest.raises(ValueError, match=r"registry secure\.test is blocked"):
        podman_endpoints("team/app:1.2", every)


def test_an_insecure_podman_mirror_is_probed_with_its_http_fallback(tmp_path: Path) -> None:
    """podman-insecure-plain-http-mirror: podman goes on over http at a mirror with
    ``insecure = true`` after the https ping fails (containers/image v5.23.1
    detectPropertiesHelper); the mirror target check adds is pinned to https, and its
    route and the probe's scheme choice must still allow that fallback."""
    from regdoctor.probes.tls import scheme_policy

    routes = _routes(
        tmp_path,
        {
            "registries.conf": '[[registry]]\nlocation = "secure.test"\n\n'
            '[[registry.mirror]]\nlocation = "mirror.test:5000"\ninsecure = true\n'
        },
    )
    target = parse_target("secure.test/team/app:1.2")
    [mirror] = [t for t in mirrored([target], routes) if t is not target]
    [endpoint] = routes.route("podman", mirror).endpoints
    assert endpoint.skip_verify and endpoint.http_fallback
    assert routes.schemes(mirror, ()).plain_http == ("podman",)

    class Options:
        schemes = routes

    class State:
        addresses = ()
        proxy = None

    class Ctx:
        options = Options()
        state = State()

    Ctx.target = mirror  # type: ignore[attr-defined]
    _enforced, _observed, fallback, _after = scheme_policy(Ctx())  # type: ignore[arg-type]
    assert fallback


def test_an_empty_alias_in_a_later_file_resets_it(tmp_path: Path) -> None:
    """An alias set to "" in a drop-in resets the main file's (v5.23.1
    newShortNameAliasCache: a nil alias), and the name goes to the search registries;
    regdoctor already agreed (no behaviour change, a guard)."""
    routes = _routes(
        tmp_path,
        {
            "registries.conf": 'unqualified-search-registries = ["tls.test:5443"]\n'
            '[aliases]\n"team/app" = "quay.io/team/app"\n',
            "registries.conf.d/50-reset.conf": '[aliases]\n"team/app" = ""\n',
        },
    )
    route = routes.route("podman", parse_target("team/app:1.2"))
    assert [(e.host, e.repository) for e in route.endpoints] == [("tls.test:5443", "team/app")]
