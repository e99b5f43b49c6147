"""podman's registries.conf.d fixes write where podman reads and keep what the entry says.

containers/image v5.23.1 (pkg/sysregistriesv2 newConfigWrapperWithHomeDir): with
``$HOME/.config/containers/registries.conf`` present, neither /etc/containers/
registries.conf nor /etc/containers/registries.conf.d is read, only
``$HOME/.config/containers/registries.conf.d``; a drop-in's ``[[registry]]`` replaces
the whole table with its prefix (updateWithConfigurationFrom). The rules' podman
commands run here in a scratch ``$HOME`` that has the user's registries.conf (so
nothing below /etc is read or written: a ``sudo`` that fails is first on PATH).
The /etc side runs in the runtime table (scenario
``podman-insecure-fix-keeps-location-mirror``).
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.command_template import render_command

RULES = {rule.id: rule for rule in load_catalog().rules}
USER_CONF = (
    'unqualified-search-registries = ["docker.io"]\n\n'
    '[[registry]]\nprefix = "plain.test:5000"\nlocation = "plain.test:5000/team"\n'
    "blocked = false\n\n"
    '[[registry.mirror]]\nlocation = "mirror.test:5000"\npull-from-mirror = "digest-only"\n'
    "\n"
    '[[registry]]\nlocation = "other.test"\n'
)


def _podman_command(rule_id: str) -> str:
    steps = [s for s in RULES[rule_id].remediation if "podman" in s.commands]
    assert steps, rule_id
    return steps[0].commands["podman"]


def _run(
    command: str, home: Path, *, sudo: bool = False, old_python: bool = False
) -> subprocess.CompletedProcess[str]:
    """``command`` with bash in ``home``; ``sudo`` fails unless ``sudo`` (then it runs the
    command as it is); ``old_python``: ``import tomllib`` (and ``tomli``) fails, as on a
    node with a python3 older than 3.11."""
    bindir = home.parent / "bin"
    bindir.mkdir(exist_ok=True)
    shim = bindir / "sudo"
    fails = 'echo "sudo $*: not in this test" >&2\nexit 1\n'
    shim.write_text("#!/bin/sh\n" + ('exec "$@"\n' if sudo else fails))
    shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "CONTAINERS_REGISTRIES_CONF"}
    env.update(HOME=str(home), PATH=f"{bindir}:{env['PATH']}")
    if old_python:
        stubs = home.parent / "old-python"
        stubs.mkdir(exist_ok=True)
        for module in ("tomllib", "tomli"):
            (stubs / f"{module}.py").write_text(f"raise ImportError('No module named {module}')\n")
        env["PYTHONPATH"] = str(stubs)
    return subprocess.run(
        ["bash", "-e", "-c", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=home,
    )


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / ".config" / "containers").mkdir(parents=True)
    (home / ".config" / "containers" / "registries.conf").write_text(USER_CONF)
    return home


def _dropin_facts(home: Path) -> dict[str, object]:
    """What check computes from the files it read (here: the scratch ``$HOME``'s)."""
    from regdoctor.check.routes import Routes
    from regdoctor.discovery.effective import discover, paths_from
    from regdoctor.reference.targets import parse_target

    effective = discover(paths_from(Path("/"), {"HOME": str(home)}), runtimes=("podman",))
    routes = Routes(runtimes=("podman",), effective=effective)
    return routes.podman_insecure_fix(parse_target("plain.test:5000/app:1.2"), "plain.test:5000")


@pytest.mark.parametrize("rule_id", ["tls-plain-http", "tls-http-response-to-https"])
def test_insecure_drop_in_keeps_the_table_and_goes_where_podman_reads(
    rule_id: str, tmp_path: Path
) -> None:
    """The drop-in check computed (no TOML parser on the node), written by the rule's
    podman command: in the user's directory, the table with all its keys, twice over the
    same file (idempotent)."""
    home = _home(tmp_path)
    facts = _dropin_facts(home)
    command = render_command(_podman_command(rule_id), {"registry": "plain.test:5000", **facts})
    assert "python" not in command and "tomllib" not in command
    for _ in range(2):
        run = _run(command, home)
        assert run.returncode == 0, run.stderr
    dropins = home / ".config" / "containers" / "registries.conf.d"
    [written] = list(dropins.glob("*.conf"))
    assert written.name == "zz-regdoctor-insecure-plain.test-5000.conf"
    tables = tomllib.loads(written.read_text())["registry"]
    assert tables == [
        {
            "prefix": "plain.test:5000",
            "location": "plain.test:5000/team",
            "blocked": False,
            "insecure": True,
            "mirror": [{"location": "mirror.test:5000", "pull-from-mirror": "digest-only"}],
        }
    ]


def test_insecure_drop_in_for_a_registry_without_a_table(tmp_path: Path) -> None:
    """Nothing known (a pasted error): a new table, in the user's directory."""
    home = _home(tmp_path)
    command = render_command(_podman_command("tls-plain-http"), {"registry": "new.test:5000"})
    run = _run(command, home)
    assert run.returncode == 0, run.stderr
    written = home / ".config/containers/registries.conf.d/zz-regdoctor-insecure-new.test-5000.conf"
    assert tomllib.loads(written.read_text()) == {
        "registry": [{"location": "new.test:5000", "insecure": True}]
    }


def test_insecure_fix_without_facts_leaves_a_named_table_alone(tmp_path: Path) -> None:
    """Nothing known and a file names the registry: the fix names the file and writes
    nothing rather than a table that would replace (or be shadowed by) that one. It does
    not ``exit`` (that closed the shell it was pasted in: review of h-fixcmd3)."""
    home = _home(tmp_path)
    command = render_command(_podman_command("tls-plain-http"), {"registry": "plain.test:5000"})
    run = _run(command + "\necho STILL-IN-SHELL\n", home)
    assert "set insecure = true by hand in the table for plain.test:5000" in run.stderr
    assert "/.config/containers/registries.conf" in run.stderr
    assert "STILL-IN-SHELL" in run.stdout
    assert not (home / ".config/containers/registries.conf.d").exists()


def test_insecure_fix_without_facts_per_registry_and_twice(tmp_path: Path) -> None:
    """Review of h-fixcmd3: one file name for every registry (the second fix erased the
    first's table); a second run stopped at its own file; an auth.json that names the
    registry stopped it. Now: a file per registry, a second run writes the same, and
    only registries.conf files are read."""
    home = tmp_path / "home"
    (home / ".config" / "containers").mkdir(parents=True)
    (home / ".config" / "containers" / "registries.conf").write_text(
        'unqualified-search-registries = ["docker.io"]\n'
    )
    (home / ".config" / "containers" / "auth.json").write_text(
        '{"auths": {"c.test:5000": {"auth": "eDp5"}}}'
    )
    template = _podman_command("tls-plain-http")
    for registry in ("a.test:5000", "b.test:5000", "a.test:5000", "c.test:5000"):
        run = _run(render_command(template, {"registry": registry}), home)
        assert run.returncode == 0 and "by hand" not in run.stderr, run.stderr
    dropins = home / ".config" / "containers" / "registries.conf.d"
    found = {p.name: tomllib.loads(p.read_text())["registry"] for p in dropins.glob("*.conf")}
    assert found == {
        f"zz-regdoctor-insecure-{r.replace(':', '-')}.conf": [{"location": r, "insecure": True}]
        for r in ("a.test:5000", "b.test:5000", "c.test:5000")
    }


def test_alias_drop_in_goes_where_podman_reads(tmp_path: Path) -> None:
    home = _home(tmp_path)
    command = render_command(
        _podman_command("config-podman-short-name"),
        {"fix_bad": "team/app", "fix_good": "docker.io/team/app"},
    )
    run = _run(command, home)
    assert run.returncode == 0, run.stderr
    written = home / ".config/containers/registries.conf.d/zz-regdoctor-alias-team-app.conf"
    assert tomllib.loads(written.read_text()) == {"aliases": {"team/app": "docker.io/team/app"}}


@pytest.mark.parametrize("old_python", [False, True])
def test_invalid_alias_fix_rewrites_or_comments_out_the_entry(
    tmp_path: Path, old_python: bool
) -> None:
    """config-podman-alias-invalid: the refused file itself is edited (a drop-in cannot
    help: containers/image refuses the file before merging it); with a python3 older
    than 3.11 too (no tomllib: the script imported it and stopped)."""
    home = _home(tmp_path)
    conf = tmp_path / "50-aliases.conf"
    text = (
        '# site aliases\n[aliases]\n"app" = "team/app"\n"db" = "quay.io/db:1"\nok = "a.test/ok"\n'
    )
    for bad, good, line in (
        ("app", "docker.io/team/app", '"app" = "docker.io/team/app"\n'),
        ("db", "", '# "db" = "quay.io/db:1"\n'),
    ):
        conf.write_text(text)
        command = render_command(
            _podman_command("config-podman-alias-invalid"),
            {"file": str(conf), "fix_bad": bad, "fix_good": good},
        )
        run = _run(command, home, sudo=True, old_python=old_python)
        assert run.returncode == 0, run.stderr
        after = conf.read_text()
        assert line in after and after.count("\n") == text.count("\n")
        assert "# site aliases" in after and 'ok = "a.test/ok"' in after
        tomllib.loads(after)


@pytest.mark.parametrize("old_python", [False, True])
def test_blocked_fix_removes_only_that_tables_flag(tmp_path: Path, old_python: bool) -> None:
    """config-podman-registry-blocked, with and without tomllib on the node."""
    home = _home(tmp_path)
    conf = tmp_path / "registries.conf"
    text = (
        '[[registry]]\nlocation = "plain.test:5000"\nblocked = true\n\n'
        '[[registry]]\nlocation = "other.test"\nblocked = true\n'
    )
    conf.write_text(text)
    command = render_command(
        _podman_command("config-podman-registry-blocked"),
        {"file": str(conf), "fix_bad": "plain.test:5000"},
    )
    run = _run(command, home, sudo=True, old_python=old_python)
    assert run.returncode == 0, run.stderr
    after = tomllib.loads(conf.read_text())["registry"]
    assert after == [
        {"location": "plain.test:5000"},
        {"location": "other.test", "blocked": True},
    ]


def test_insecure_drop_in_sorts_after_the_drop_in_that_defines_the_table(tmp_path: Path) -> None:
    """Review of h-fixcmd3: a table defined in ``zzz-site.conf`` replaced the fix's
    ``zz-regdoctor-insecure-...`` drop-in, read before it (podman info: Insecure false);
    the fix's file now sorts after every drop-in of its folder, and a second run of check
    names the same file."""
    home = _home(tmp_path)
    dropins = home / ".config" / "containers" / "registries.conf.d"
    dropins.mkdir(parents=True)
    (dropins / "zzz-site.conf").write_text(
        '[[registry]]\nprefix = "plain.test:5000"\nlocation = "plain.test:5000/site"\n'
    )
    facts = _dropin_facts(home)
    command = render_command(
        _podman_command("tls-plain-http"), {"registry": "plain.test:5000", **facts}
    )
    for _ in range(2):
        run = _run(command, home)
        assert run.returncode == 0, run.stderr
        assert _dropin_facts(home)["podman_dropin_file"] == facts["podman_dropin_file"]
    names = sorted(p.name for p in dropins.glob("*.conf"))
    assert names[-1] == "zzzz-regdoctor-insecure-plain.test-5000.conf", names
    # the last file read defines the table: the site's location, made insecure
    [table] = tomllib.loads((dropins / names[-1]).read_text())["registry"]
    assert table["location"] == "plain.test:5000/site" and table["insecure"] is True
