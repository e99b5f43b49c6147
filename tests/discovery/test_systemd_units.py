"""dockerd and containerd's CRI take their proxy from their systemd units' drop-ins, not
from the shell (proven against the real daemons in tests/scenarios/runtimes, proxy-*)."""

from __future__ import annotations

from pathlib import Path

from regdoctor.discovery.base import Paths
from regdoctor.discovery.effective import discover
from regdoctor.discovery.systemd_units import UnitEnvironment, apply_drop_in

SHELL = {"HTTPS_PROXY": "http://shell.test:8080"}
URL = "https://registry.test/v2/"


def _root(tmp_path: Path, unit: str, name: str, text: str) -> Path:
    directory = tmp_path / "etc" / "systemd" / "system" / f"{unit}.service.d"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text)
    return tmp_path


def test_drop_in_environment_as_systemd_reads_it() -> None:
    unit = UnitEnvironment("/etc/systemd/system/docker.service.d")
    apply_drop_in(
        '[Unit]\nEnvironment=X=unit-section\n[Service]\n# c\nEnvironment="HTTPS_PROXY=http://a:1" '
        "NO_PROXY=b.test \\\n  'ONE=two words'\n",
        unit,
        "a.conf",
    )
    assert unit.env == {"HTTPS_PROXY": "http://a:1", "NO_PROXY": "b.test", "ONE": "two words"}
    apply_drop_in("[Service]\nEnvironment=\nEnvironment=Y=1\n", unit, "b.conf")
    assert unit.env == {"Y": "1"} and unit.sources == {"Y": "b.conf"}


def test_docker_uses_its_unit_proxy_not_the_shells(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        "docker",
        "http-proxy.conf",
        '[Service]\nEnvironment="HTTPS_PROXY=http://unit.test:3128"\n',
    )
    eff = discover(Paths(root=root, env=SHELL), runtimes=("docker", "podman"))
    assert eff._proxy("docker", URL) == (
        "http://unit.test:3128",
        "/etc/systemd/system/docker.service.d/http-proxy.conf Environment=HTTPS_PROXY",
    )
    assert eff._proxy("podman", URL) == ("http://shell.test:8080", "environment $HTTPS_PROXY")
    daemon = eff.daemon_proxy_env("docker")
    assert daemon is not None and daemon.choose(URL).proxy == "http://unit.test:3128"
    assert eff.daemon_proxy_env("podman") is None


def test_a_daemon_without_drop_ins_has_no_proxy_whatever_the_shell_says(tmp_path: Path) -> None:
    eff = discover(Paths(root=tmp_path, env=SHELL), runtimes=("docker", "kubernetes", "containerd"))
    assert eff._proxy("docker", URL) == (None, None)
    assert eff._proxy("kubernetes", URL) == (None, None)
    # ctr pulls in the user's own process
    assert eff._proxy("containerd", URL)[0] == "http://shell.test:8080"


def test_the_cri_reads_containerd_s_unit_and_no_proxy(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        "containerd",
        "http-proxy.conf",
        "[Service]\nEnvironment=HTTPS_PROXY=http://unit.test:3128 NO_PROXY=registry.test\n",
    )
    eff = discover(Paths(root=root, env=SHELL), runtimes=("kubernetes",))
    proxy, source = eff._proxy("kubernetes", URL)
    assert proxy is None and source is not None and "NO_PROXY" in source


def test_a_percent_in_a_drop_in_is_written_twice() -> None:
    """systemd reads ``%%`` in ``Environment=`` as one ``%`` (a percent-encoded login)."""
    unit = UnitEnvironment("/etc/systemd/system/docker.service.d")
    apply_drop_in(
        '[Service]\nEnvironment="HTTPS_PROXY=http://u:p%%40ss@proxy.test:3128"\n', unit, "a.conf"
    )
    assert unit.env["HTTPS_PROXY"] == "http://u:p%40ss@proxy.test:3128"


def test_with_more_drop_ins_than_read_the_last_ones_are_read(tmp_path: Path) -> None:
    """Drop-ins apply in name order, the last one winning: past the cap, the first are
    left out, never the last."""
    from regdoctor.discovery.systemd_units import MAX_DROP_INS
    from regdoctor.discovery.systemd_units import discover as discover_unit

    directory = tmp_path / "etc" / "systemd" / "system" / "docker.service.d"
    directory.mkdir(parents=True)
    for n in range(MAX_DROP_INS + 5):
        proxy = f"http://p{n:03d}.test:3128"
        (directory / f"{n:03d}.conf").write_text(f'[Service]\nEnvironment="HTTPS_PROXY={proxy}"\n')
    unit = discover_unit(Paths(root=tmp_path, env={}), "docker")
    assert unit is not None
    assert unit.env["HTTPS_PROXY"] == f"http://p{MAX_DROP_INS + 4:03d}.test:3128"


def test_an_unreadable_drop_in_leaves_the_daemons_proxy_unknown(tmp_path: Path) -> None:
    """A drop-in regdoctor cannot read (one holding a proxy login is often 0600; here a
    directory named like one) may set the proxy: the daemon is then not judged as
    having none (its proxy is taken as the shell's), and the file is reported."""
    root = _root(tmp_path, "docker", "00-other.conf", '[Service]\nEnvironment="A=1"\n')
    (root / "etc" / "systemd" / "system" / "docker.service.d" / "http-proxy.conf").mkdir()
    eff = discover(Paths(root=root, env=SHELL), runtimes=("docker",))
    assert eff.daemon_proxy_env("docker") is None
    unreadable = [f for f in eff.files() if f.path.name == "http-proxy.conf"]
    assert unreadable and unreadable[0].issues


def _daemon_json(root: Path, proxies: dict[str, str]) -> None:
    import json

    path = root / "etc" / "docker" / "daemon.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"proxies": proxies}))


def test_daemon_json_proxies_override_the_units_variables_one_by_one(tmp_path: Path) -> None:
    """dockerd 23+ sets each non-empty daemon.json ``proxies`` value over the variable its
    unit gave it (upper and lower case) and keeps the others (moby ``configureProxyEnv``):
    the proxy dockerd probes through and the finding about a daemon without a proxy
    must see it, not only the drop-ins."""
    root = _root(
        tmp_path,
        "docker",
        "http-proxy.conf",
        "[Service]\nEnvironment=https_proxy=http://unit.test:3128 NO_PROXY=other.test\n",
    )
    _daemon_json(root, {"https-proxy": "http://json.test:3128", "no-proxy": ""})
    eff = discover(Paths(root=root, env={}), runtimes=("docker",))
    daemon = eff.daemon_proxy_env("docker")
    assert daemon is not None
    assert daemon.choose(URL).proxy == "http://json.test:3128"
    assert daemon.choose("https://other.test/v2/").proxy is None  # the unit's NO_PROXY kept
    # a drop-in no longer changes what daemon.json sets: the fixes must edit daemon.json,
    # so the source is daemon.json, not the drop-in directory the probes name as a unit
    assert daemon.source.endswith("/etc/docker/daemon.json")
    from regdoctor.probes.dns import _UNITS

    assert daemon.source not in _UNITS
    proxy, source = eff._proxy("docker", URL)
    assert proxy == "http://json.test:3128"
    assert source is not None and "daemon.json" in source and "https-proxy" in source
    # containerd's CRI never reads daemon.json
    cri = discover(Paths(root=root, env={}), runtimes=("kubernetes",))
    assert cri._proxy("kubernetes", URL) == (None, None)


def test_daemon_json_proxies_alone_give_a_daemon_without_drop_ins_its_proxy(
    tmp_path: Path,
) -> None:
    _daemon_json(tmp_path, {"https-proxy": "http://json.test:3128"})
    eff = discover(Paths(root=tmp_path, env=SHELL), runtimes=("docker",))
    daemon = eff.daemon_proxy_env("docker")
    assert daemon is not None and daemon.choose(URL).proxy == "http://json.test:3128"


def test_daemon_json_setting_every_proxy_variable_makes_an_unreadable_drop_in_moot(
    tmp_path: Path,
) -> None:
    root = _root(tmp_path, "docker", "00-other.conf", '[Service]\nEnvironment="A=1"\n')
    (root / "etc" / "systemd" / "system" / "docker.service.d" / "http-proxy.conf").mkdir()
    _daemon_json(root, {"https-proxy": "http://json.test:3128", "http-proxy": "", "no-proxy": "x"})
    eff = discover(Paths(root=root, env=SHELL), runtimes=("docker",))
    assert eff.daemon_proxy_env("docker") is None  # http-proxy empty: the unit's is unknown
    _daemon_json(
        root,
        {"https-proxy": "http://json.test:3128", "http-proxy": "http://j:1", "no-proxy": "x"},
    )
    eff = discover(Paths(root=root, env=SHELL), runtimes=("docker",))
    daemon = eff.daemon_proxy_env("docker")
    assert daemon is not None and daemon.choose(URL).proxy == "http://json.test:3128"
