"""A wildcard ``[[registry]]`` whose mirror has a port, for an image with a port: podman
4.3.1 stops before any request, ``rewriting reference: invalid reference format``
(containers/image v5.23.1 ``Endpoint.rewriteReference`` appends what follows the
wildcard's match, ``:5000/team/app:1.2``, to each location, and
``PullSourcesFromReference`` returns the first error for the whole pull). The real podman
says so in tests/scenarios/runtimes (table_fixcmd4.py), and pulls after the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from regdoctor.check.routes import Routes
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.reference.targets import parse_target
from regdoctor.runtime import podman as model

WILDCARD = '[[registry]]\nprefix = "*.test"\n\n[[registry.mirror]]\nlocation = "mirror.test:5000"\n'


def test_a_mirror_with_a_port_stops_an_image_with_a_port() -> None:
    with pytest.raises(model.RewriteError) as caught:
        model.podman_endpoints("plain.test:5000/team/app:1.2", WILDCARD)
    assert str(caught.value) == "rewriting reference: invalid reference format"
    assert caught.value.prefix == "*.test"
    assert caught.value.rewritten == "mirror.test:5000:5000/team/app:1.2"


def test_without_a_port_in_the_image_the_mirror_serves_the_same_path() -> None:
    endpoints = model.podman_endpoints("plain.test/team/app:1.2", WILDCARD)
    assert [(e.host, e.repository) for e in endpoints] == [
        ("mirror.test:5000", "team/app"),
        ("plain.test", "team/app"),
    ]


def test_a_mirror_without_a_port_takes_the_image_s_port() -> None:
    conf = '[[registry]]\nprefix = "*.test"\n\n[[registry.mirror]]\nlocation = "mirror.test"\n'
    endpoints = model.podman_endpoints("plain.test:5000/team/app:1.2", conf)
    assert endpoints[0].host == "mirror.test:5000"


def _routes(root: Path, files: dict[str, str]) -> Routes:
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "home/node").mkdir(parents=True, exist_ok=True)
    effective = discover(paths_from(root, {"HOME": "/home/node"}), runtimes=("podman",))
    return Routes(runtimes=("podman",), effective=effective)


def test_the_route_stops_with_a_table_for_the_host_as_the_fix(tmp_path: Path) -> None:
    image = "plain.test:5000/team/app:1.2"
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": WILDCARD})
    route = routes.route("podman", parse_target(image), ())
    assert route.stopped == "rewriting reference: invalid reference format"
    assert route.stopped_source == "/etc/containers/registries.conf"
    assert route.fix == ("rewrite", "*.test", "mirror.test:5000:5000/team/app:1.2")
    facts = dict(route.fix_facts)
    assert facts["podman_host_table_file"] == (
        "/etc/containers/registries.conf.d/zz-regdoctor-host-plain.test-5000.conf"
    )
    # with the drop-in, podman rewrites the name for each location and asks the mirror
    # for the same repository
    added = tomllib.loads(facts["podman_host_table"])
    merged = {"registry": [*tomllib.loads(WILDCARD)["registry"], *added["registry"]]}
    endpoints = model.podman_endpoints(image, merged)
    assert [(e.host, e.repository, e.mirror) for e in endpoints] == [
        ("mirror.test:5000", "team/app", True),
        ("plain.test:5000", "team/app", False),
    ]


def test_a_wildcard_location_keeps_the_image_s_port(tmp_path: Path) -> None:
    conf = WILDCARD.replace('prefix = "*.test"\n', 'prefix = "*.test"\nlocation = "x.test"\n')
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": conf})
    route = routes.route("podman", parse_target("plain.test:5000/team/app:1.2"), ())
    added = tomllib.loads(dict(route.fix_facts)["podman_host_table"])["registry"][0]
    assert (added["prefix"], added["location"]) == ("plain.test:5000", "x.test:5000")


def test_the_stop_carries_the_endpoints_podman_tries_once_it_is_fixed(tmp_path: Path) -> None:
    """What podman meets after the fix is checked in the same run (scenario
    fixcmd3-podman-wildcard-mirror-port: behind the stop, a mirror without the image and
    a plain-HTTP registry; check names the insecure fix too)."""
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": WILDCARD})
    route = routes.route("podman", parse_target("plain.test:5000/team/app:1.2"), ())
    assert route.endpoints == ()
    assert [(e.host, e.mirror) for e in route.behind] == [
        ("mirror.test:5000", True),
        ("plain.test:5000", False),
    ]


def test_the_host_table_carries_insecure_for_its_plain_http_endpoints(tmp_path: Path) -> None:
    """Behind the stop the mirror speaks plain HTTP (scenario
    fixcmd5-podman-wildcard-plain-mirror): the fix's table for plain.test:5000 is the
    longer prefix, so an insecure drop-in for "*.test" never applies to the image; the
    host table marks the mirror insecure itself (it was tried over https: 'no: still
    fails'), and podman then meets the mirror over plain HTTP."""
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": WILDCARD})
    route = routes.route("podman", parse_target("plain.test:5000/team/app:1.2"), ())
    again = routes.podman_rewrite_stop(route, frozenset({"mirror.test:5000"}))
    added = tomllib.loads(dict(again.fix_facts)["podman_host_table"])["registry"][0]
    assert added["mirror"] == [{"location": "mirror.test:5000", "insecure": True}]
    assert "insecure" not in added
    assert [(e.host, e.http_fallback) for e in again.behind] == [
        ("mirror.test:5000", True),
        ("plain.test:5000", False),
    ]
    located = routes.podman_rewrite_stop(route, frozenset({"plain.test:5000"}))
    added = tomllib.loads(dict(located.fix_facts)["podman_host_table"])["registry"][0]
    assert added["insecure"] is True
    assert "insecure" not in added["mirror"][0]


def test_a_short_name_s_fix_is_for_the_search_registry_podman_stopped_at(
    tmp_path: Path,
) -> None:
    """unqualified-search-registries = ["plain.test:5000"] and the wildcard: podman stops
    rewriting plain.test:5000/team/app:1.2, so the host table is for plain.test:5000 (it
    was for docker.io, the short name's Docker Hub reading, and rerouted Docker Hub
    pulls to the mirror)."""
    conf = 'unqualified-search-registries = ["plain.test:5000"]\n' + WILDCARD
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": conf})
    route = routes.route("podman", parse_target("team/app:1.2"), ())
    assert route.stopped == "rewriting reference: invalid reference format"
    facts = dict(route.fix_facts)
    added = tomllib.loads(facts["podman_host_table"])["registry"][0]
    assert (added["prefix"], added["location"]) == ("plain.test:5000", "plain.test:5000")
    assert facts["podman_host_table_file"].endswith("zz-regdoctor-host-plain.test-5000.conf")
    assert [(e.host, e.repository) for e in route.behind] == [
        ("mirror.test:5000", "team/app"),
        ("plain.test:5000", "team/app"),
    ]


def test_a_short_name_s_stop_names_the_search_registry(tmp_path: Path) -> None:
    """The stop's observation (the rule's title and its fix's comment) names
    plain.test:5000, not docker.io."""
    from regdoctor.check.verdicts import _stopped_observation
    from regdoctor.model import TargetReport

    conf = 'unqualified-search-registries = ["plain.test:5000"]\n' + WILDCARD
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": conf})
    target = parse_target("team/app:1.2")
    route = routes.route("podman", target, ())
    report = TargetReport(target, {}, (), (), (), 0.0)
    assert _stopped_observation(report, "podman", route).facts["rewrite_host"] == "plain.test:5000"


def test_a_location_that_does_not_parse_is_that_entry_s_fault(tmp_path: Path) -> None:
    """prefix example.test/a, location mirror.test/B: the rewritten name has capitals
    (podman: 'rewriting reference: invalid reference format: repository name must be
    lowercase'). No host table (a shorter prefix than example.test/a, which never wins
    and reroutes the host's other images): the fix names the location itself."""
    conf = '[[registry]]\nprefix = "example.test/a"\nlocation = "mirror.test/B"\n'
    with pytest.raises(model.RewriteError) as caught:
        model.podman_endpoints("example.test/a/app:1.2", conf)
    assert (caught.value.location, caught.value.mirror) == ("mirror.test/B", False)
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": conf})
    route = routes.route("podman", parse_target("example.test/a/app:1.2"), ())
    assert route.stopped == "rewriting reference: invalid reference format"
    assert route.fix == ("rewrite-entry", "example.test/a", "mirror.test/B/app:1.2")
    assert dict(route.fix_facts) == {
        "rewrite_entry": "location",
        "rewrite_location": "mirror.test/B",
    }
    assert route.behind == ()
    assert route.rewrite is None


def test_a_mirror_that_does_not_parse_is_named_as_the_mirror(tmp_path: Path) -> None:
    conf = (
        '[[registry]]\nprefix = "example.test/a"\nlocation = "example.test/a"\n\n'
        '[[registry.mirror]]\nlocation = "mirror.test/Cache"\n'
    )
    routes = _routes(tmp_path, {"/etc/containers/registries.conf": conf})
    route = routes.route("podman", parse_target("example.test/a/app:1.2"), ())
    assert route.fix == ("rewrite-entry", "example.test/a", "mirror.test/Cache/app:1.2")
    assert dict(route.fix_facts)["rewrite_entry"] == "mirror"


def test_the_host_table_and_the_insecure_drop_in_share_a_folder(tmp_path: Path) -> None:
    """The wildcard is in the user's registries.conf.d (read after /etc's): the rewrite
    fix's table for plain.test:5000 went there, the location's insecure drop-in for the
    same prefix to /etc/containers/registries.conf.d, whose table the user's then
    replaced (insecure lost). Both go to the folder podman reads last for the table."""
    from regdoctor.check.podman_dropin import host_table_dropin, insecure_dropin

    image = "plain.test:5000/team/app:1.2"
    routes = _routes(
        tmp_path,
        {
            "/etc/containers/registries.conf": 'unqualified-search-registries = ["x.test"]\n',
            "/home/node/.config/containers/registries.conf.d/site.conf": WILDCARD,
        },
    )
    host = host_table_dropin(routes.effective, image, "*.test")
    insecure = insecure_dropin(routes.effective, image, "plain.test:5000")
    assert host["podman_host_table_dir"] == "/home/node/.config/containers/registries.conf.d"
    assert insecure["podman_dropin_dir"] == host["podman_host_table_dir"]
    # in one folder the insecure drop-in sorts after the host table
    assert Path(insecure["podman_dropin_file"]).name > Path(host["podman_host_table_file"]).name


def test_a_table_named_by_its_location_alone_is_the_stop_s_source(tmp_path: Path) -> None:
    """containers/image takes a ``[[registry]]`` without ``prefix`` as prefixed by its
    ``location`` (sysregistriesv2 postProcessRegistries): the file that defines that
    table is where the stop comes from, as for a ``blocked`` table."""
    conf = (
        '[[registry]]\nlocation = "example.test"\n\n'
        '[[registry.mirror]]\nlocation = "mirror.test/Cache"\n'
    )
    routes = _routes(tmp_path, {"/etc/containers/registries.conf.d/50-mirror.conf": conf})
    route = routes.route("podman", parse_target("example.test/app:1.2"), ())
    assert route.fix == ("rewrite-entry", "example.test", "mirror.test/Cache/app:1.2")
    assert route.stopped_source == "/etc/containers/registries.conf.d/50-mirror.conf"
