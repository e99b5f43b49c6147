"""The registries.conf drop-in of podman's insecure fix (regdoctor.check.podman_dropin),
computed from the files regdoctor read, so that the node needs no TOML parser: it
changes the table podman uses for the image (the longest prefix), or the mirror's own
entry, and keeps the rest of that table. The real podman pulls after it in
tests/scenarios/runtimes (table_fixcmd3.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from regdoctor.check.podman_dropin import toml_line
from regdoctor.check.routes import Routes
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.reference.targets import parse_target
from regdoctor.runtime import podman as model


def _fix(
    root: Path, files: dict[str, str], image: str, host: str, plain: frozenset[str] = frozenset()
) -> dict[str, Any]:
    for name, text in files.items():
        path = root / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "home/node").mkdir(parents=True, exist_ok=True)
    effective = discover(paths_from(root, {"HOME": "/home/node"}), runtimes=("podman",))
    routes = Routes(runtimes=("podman",), effective=effective)
    return routes.podman_insecure_fix(parse_target(image), host, plain)


def _tables(facts: dict[str, Any]) -> list[dict[str, Any]]:
    line = facts["podman_dropin"]
    assert "\n" not in line
    return list(tomllib.loads(line)["registry"])


def _after(files: dict[str, str], facts: dict[str, Any], image: str) -> dict[str, Any]:
    """The table podman then uses: the files and the drop-in merged by prefix."""
    tables: dict[str, dict[str, Any]] = {}
    for text in [*files.values(), facts["podman_dropin"]]:
        for table in tomllib.loads(text).get("registry", []):
            tables[table.get("prefix") or table["location"]] = table
    loaded, problems = model.load_registries_conf({"registry": list(tables.values())})
    assert not problems, problems
    found = model.find_registry(loaded, model.split_reference(image).name)
    assert found is not None
    return found


def test_no_table_a_new_one_in_etc(tmp_path: Path) -> None:
    files = {"/etc/containers/registries.conf": 'unqualified-search-registries = ["a.test"]\n'}
    facts = _fix(tmp_path, files, "plain.test:5000/team/app:1.2", "plain.test:5000")
    assert _tables(facts) == [{"location": "plain.test:5000", "insecure": True}]
    assert facts["podman_dropin_file"] == (
        "/etc/containers/registries.conf.d/zz-regdoctor-insecure-plain.test-5000.conf"
    )
    assert facts["podman_dropin_sudo"] is True
    assert facts["podman_dropin_table"] == ""


def test_a_longer_prefix_is_the_table_that_gets_insecure(tmp_path: Path) -> None:
    files = {
        "/etc/containers/registries.conf": '[[registry]]\nlocation = "plain.test:5000"\n\n'
        '[[registry]]\nprefix = "plain.test:5000/team"\nlocation = "plain.test:5000/team"\n'
    }
    image = "plain.test:5000/team/app:1.2"
    facts = _fix(tmp_path, files, image, "plain.test:5000")
    assert facts["podman_dropin_table"] == "plain.test:5000/team"
    assert _after(files, facts, image)["insecure"] is True
    # the host's own table is not what podman reads for team/...: left alone
    assert [t["prefix"] for t in _tables(facts)] == ["plain.test:5000/team"]


def test_a_plain_http_mirror_gets_its_own_insecure(tmp_path: Path) -> None:
    files = {
        "/etc/containers/registries.conf": '[[registry]]\nlocation = "secure.test"\n'
        "mirror-by-digest-only = false\n\n"
        '[[registry.mirror]]\nlocation = "other.test"\n\n'
        '[[registry.mirror]]\nlocation = "mirror.test:5000/lib"\npull-from-mirror = "all"\n'
    }
    image = "secure.test/team/app:1.2"
    facts = _fix(tmp_path, files, image, "mirror.test:5000")
    (table,) = _tables(facts)
    assert table == {
        "location": "secure.test",
        "mirror-by-digest-only": False,
        "mirror": [
            {"location": "other.test"},
            {"location": "mirror.test:5000/lib", "pull-from-mirror": "all", "insecure": True},
        ],
    }
    assert facts["podman_dropin_mirror"] == "mirror.test:5000/lib"
    assert not _after(files, facts, image).get("insecure")


def test_a_wildcard_gives_way_to_a_table_for_the_host(tmp_path: Path) -> None:
    files = {
        "/etc/containers/registries.conf": '[[registry]]\nprefix = "*.test"\n\n'
        '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
    }
    image = "plain.test:5000/team/app:1.2"
    facts = _fix(tmp_path, files, image, "plain.test:5000")
    (table,) = _tables(facts)
    assert table["prefix"] == table["location"] == "plain.test:5000"
    assert table["insecure"] is True and table["mirror"] == [{"location": "mirror.test:5000"}]
    assert _after(files, facts, image)["prefix"] == "plain.test:5000"


def test_a_wildcard_as_long_as_the_host_is_marked_itself(tmp_path: Path) -> None:
    """``*.x.test`` and ``p.x.test`` tie on length; the first (the wildcard) wins, so a
    table for the host would never be read."""
    files = {"/etc/containers/registries.conf": '[[registry]]\nprefix = "*.x.test"\n'}
    facts = _fix(tmp_path, files, "p.x.test/team/app:1.2", "p.x.test")
    assert _tables(facts) == [{"prefix": "*.x.test", "insecure": True}]


def test_tables_of_the_same_location_all_get_insecure(tmp_path: Path) -> None:
    """containers/image refuses one location with conflicting insecure settings: every
    table of that location is marked."""
    files = {
        "/etc/containers/registries.conf": '[[registry]]\nlocation = "plain.test:5000"\n\n'
        '[[registry]]\nprefix = "alias.test"\nlocation = "plain.test:5000"\n'
    }
    image = "alias.test/team/app:1.2"
    facts = _fix(tmp_path, files, image, "plain.test:5000")
    assert sorted(t.get("prefix", t["location"]) for t in _tables(facts)) == [
        "alias.test",
        "plain.test:5000",
    ]
    assert all(t["insecure"] for t in _tables(facts))
    _after(files, facts, image)  # loads without the conflict


def test_the_users_registries_conf_takes_the_drop_in_to_the_users_directory(
    tmp_path: Path,
) -> None:
    files = {
        "/home/node/.config/containers/registries.conf": '[[registry]]\nlocation = "a.test"\n',
        "/etc/containers/registries.conf": "",
    }
    facts = _fix(tmp_path, files, "plain.test:5000/team/app:1.2", "plain.test:5000")
    assert facts["podman_dropin_dir"] == "/home/node/.config/containers/registries.conf.d"
    assert facts["podman_dropin_sudo"] is False


def test_a_table_from_the_users_drop_in_is_replaced_there(tmp_path: Path) -> None:
    """/etc's drop-ins are read before the user's: a replacement in /etc would lose."""
    files = {
        "/home/node/.config/containers/registries.conf.d/team.conf": (
            '[[registry]]\nlocation = "plain.test:5000"\n'
        ),
    }
    facts = _fix(tmp_path, files, "plain.test:5000/team/app:1.2", "plain.test:5000")
    assert facts["podman_dropin_dir"] == "/home/node/.config/containers/registries.conf.d"


def test_the_line_keeps_any_string_as_data() -> None:
    value = 'we"ird\\loc\u00e9\n'
    line = toml_line([{"location": value, "a key": True, "n": 3}])
    assert tomllib.loads(line) == {"registry": [{"location": value, "a key": True, "n": 3}]}


def test_the_fixes_for_a_plain_mirror_and_a_plain_location_write_the_same_drop_in(
    tmp_path: Path,
) -> None:
    """Both endpoints of one table speak plain HTTP: each fix is a drop-in for that
    table, of the same name, so each marks both (the second one run replaced the first
    one's table: scenario fixcmd4-podman-insecure-mirror-and-location)."""
    files = {
        "/etc/containers/registries.conf": '[[registry]]\nlocation = "plain.test:5000"\n\n'
        '[[registry.mirror]]\nlocation = "mirror.test:5000"\n'
    }
    image = "plain.test:5000/team/app:1.2"
    plain = frozenset({"plain.test:5000", "mirror.test:5000"})
    for_location = _fix(tmp_path, files, image, "plain.test:5000", plain)
    for_mirror = _fix(tmp_path, files, image, "mirror.test:5000", plain)
    assert for_location["podman_dropin"] == for_mirror["podman_dropin"]
    assert for_location["podman_dropin_file"] == for_mirror["podman_dropin_file"]
    after = _after(files, for_mirror, image)
    assert after["insecure"] is True
    assert after["mirror"][0]["insecure"] is True
    assert for_mirror["podman_dropin_mirror"] == "mirror.test:5000"
    assert for_location["podman_dropin_mirror"] is None
    # a registry that speaks TLS is not marked for another's fix
    alone = _fix(tmp_path, files, image, "mirror.test:5000", frozenset({"mirror.test:5000"}))
    assert "insecure" not in _after(files, alone, image)
