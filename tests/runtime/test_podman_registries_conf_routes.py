"""podman's registries.conf in check: what the real podman did in
tests/scenarios/runtimes (table_registries_conf.py), one step at a time."""

from __future__ import annotations

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


def _podman_insecure_fix(rule: str) -> str:
    from importlib.resources import files

    import yaml

    text = (files("regdoctor.rules") / "tls" / f"{rule}.yaml").read_text()
    command = yaml.safe_load(text)["remediation"][0]["commands"]["podman"]
    return str(command).replace("{registry}", "plain.test:5000")


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
        command = _podman_insecure_fix(rule).replace("/etc/", f"{root}/etc/")
        command = command.replace("sudo ", "")
        done = subprocess.run(["bash", "-e", "-c", command], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert _effective_insecure(root)
        # the main file is untouched: no second table for the same location there (which
        # containers/image refuses when the insecure flags differ)
        assert (root / "etc/containers/registries.conf").read_text().count("[[registry]]") == 1
