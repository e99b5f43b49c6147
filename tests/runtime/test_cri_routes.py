"""The ``kubernetes`` route (containerd 1.6's CRI plugin) from a node's config.toml:
what the CRI reads that ``ctr --hosts-dir`` does not (tests/scenarios/runtimes has the
same cases against the real CRI plugin: cri-mirrors-with-config-path,
cri-legacy-mirror-http, cri-no-config-toml, cri-configs-tls-with-config-path)."""

from __future__ import annotations

from pathlib import Path

from regdoctor.check.routes import Routes
from regdoctor.discovery.effective import discover, paths_from
from regdoctor.reference.targets import parse_target

SECTION = '[plugins."io.containerd.grpc.v1.cri".registry]'


def _routes(root: Path, config: str, hosts: dict[str, str] | None = None) -> Routes:
    (root / "etc/containerd").mkdir(parents=True)
    (root / "etc/containerd/config.toml").write_text(config)
    for name, text in (hosts or {}).items():
        directory = root / "etc/containerd/certs.d" / name
        directory.mkdir(parents=True)
        (directory / "hosts.toml").write_text(text)
    effective = discover(paths_from(root, {}), runtimes=("containerd", "kubernetes"))
    return Routes(runtimes=("containerd", "kubernetes"), effective=effective)


def test_mirrors_beside_config_path_stop_only_the_cri(tmp_path: Path) -> None:
    routes = _routes(
        tmp_path,
        f'version = 2\n{SECTION}\n  config_path = "/etc/containerd/certs.d"\n'
        f'{SECTION[:-1]}.mirrors."docker.io"]\n  endpoint = ["https://mirror.test"]\n',
    )
    target = parse_target("127.0.0.1:5000/team/app:1.2")
    cri = routes.route("kubernetes", target)
    assert cri.stopped == (
        "invalid plugin config: `mirrors` cannot be set when `config_path` is provided"
    )
    assert cri.stopped_source == "/etc/containerd/config.toml"
    assert cri.fix is not None and cri.fix[0] == "mirrors"
    # ctr reads no CRI configuration: it still pulls (plain HTTP default for loopback)
    ctr = routes.route("containerd", target)
    assert ctr.stopped is None
    assert [e.url for e in ctr.endpoints] == ["http://127.0.0.1:5000/v2/"]


def test_without_config_path_the_cri_uses_legacy_mirrors_not_hosts_toml(tmp_path: Path) -> None:
    hosts = (
        'server = "https://plain.test:5000"\n\n[host."https://other.test"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    routes = _routes(
        tmp_path,
        f'version = 2\n{SECTION}\n{SECTION[:-1]}.mirrors."plain.test:5000"]\n'
        '  endpoint = ["http://plain.test:5000"]\n',
        {"plain.test:5000": hosts},
    )
    target = parse_target("plain.test:5000/team/app:1.2")
    cri = routes.route("kubernetes", target)
    assert cri.stopped is None
    assert [e.url for e in cri.endpoints] == ["http://plain.test:5000/v2/"]
    assert not cri.endpoints[0].mirror


def test_legacy_defaults_and_tls_table(tmp_path: Path) -> None:
    routes = _routes(
        tmp_path,
        f'version = 2\n{SECTION}\n{SECTION[:-1]}.configs."secure.test".tls]\n'
        "  insecure_skip_verify = true\n",
    )
    secure = routes.route("kubernetes", parse_target("secure.test/team/app:1.2"))
    assert [(e.url, e.skip_verify) for e in secure.endpoints] == [("https://secure.test/v2/", True)]
    local = routes.route("kubernetes", parse_target("localhost:5000/team/app:1.2"))
    assert [(e.url, e.skip_verify) for e in local.endpoints] == [
        ("http://localhost:5000/v2/", True)
    ]


def test_with_config_path_the_cri_reads_hosts_toml(tmp_path: Path) -> None:
    hosts = (
        'server = "http://plain.test:5000"\n\n[host."http://plain.test:5000"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    routes = _routes(
        tmp_path,
        f'version = 2\n{SECTION}\n  config_path = "/etc/containerd/certs.d"\n',
        {"plain.test:5000": hosts},
    )
    cri = routes.route("kubernetes", parse_target("plain.test:5000/team/app:1.2"))
    assert cri.stopped is None
    assert cri.hosts_toml == "/etc/containerd/certs.d/plain.test:5000/hosts.toml"
    assert cri.endpoints[0].url == "http://plain.test:5000/v2/"


def test_without_config_toml_the_cri_reads_no_hosts_directory(tmp_path: Path) -> None:
    """containerd 1.6/1.7 defaults: an empty config_path (scenario cri-no-config-toml)."""
    directory = tmp_path / "etc/containerd/certs.d/plain.test:5000"
    directory.mkdir(parents=True)
    (directory / "hosts.toml").write_text(
        'server = "http://plain.test:5000"\n\n[host."http://plain.test:5000"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    effective = discover(paths_from(tmp_path, {}), runtimes=("containerd", "kubernetes"))
    routes = Routes(runtimes=("containerd", "kubernetes"), effective=effective)
    target = parse_target("plain.test:5000/team/app:1.2")
    assert [e.url for e in routes.route("kubernetes", target).endpoints] == [
        "https://plain.test:5000/v2/"
    ]
    # ctr --hosts-dir reads it (the host table, then the same server)
    assert {e.url for e in routes.route("containerd", target).endpoints} == {
        "http://plain.test:5000/v2/"
    }


def test_configs_tls_beside_config_path_is_fatal_for_the_cri_only(tmp_path: Path) -> None:
    from regdoctor.discovery.observations import observations

    routes = _routes(
        tmp_path,
        f'version = 2\n{SECTION}\n  config_path = "/etc/containerd/certs.d"\n'
        f'{SECTION[:-1]}.configs."tls.test:5443".tls]\n  ca_file = "/etc/containerd/ca.crt"\n',
    )
    cri = routes.route("kubernetes", parse_target("tls.test:5443/team/app:1.2"))
    assert cri.fix is not None and cri.fix[0] == "configs.tls"
    assert routes.effective is not None
    files = [
        o
        for _, found in observations(routes.effective)
        for o in found
        if o.kind == "config.file" and o.facts.get("runtime") == "containerd"
    ]
    assert files and not files[0].ok  # fatal for the CRI plugin (not a deprecation)
    assert "`configs.tls` cannot be set" in (files[0].error or "")
    assert files[0].facts["runtimes"] == ["kubernetes"]  # ctr does not read the CRI tables


def _check(root: Path, *runtimes: str) -> dict[str, dict]:
    import json
    import subprocess
    import sys

    argv = [sys.executable, "-m", "regdoctor", "check", "--format", "json", "--root", str(root)]
    for runtime in runtimes:
        argv += ["--runtime", runtime]
    # nothing listens on port 1: the image's own probe fails fast; the config is judged
    out = subprocess.run(
        [*argv, "--timeout", "2", "127.0.0.1:1/team/app:1.2"], capture_output=True, text=True
    )
    return {f["rule"]: f for f in json.loads(out.stdout)["findings"]}


def test_legacy_mirrors_concern_only_the_cri(tmp_path: Path) -> None:
    """ctr never reads config.toml's registry tables: a legacy mirror beside config_path
    is the CRI's problem only (mirror-legacy-shadowed listed containerd, and its only
    command was for containerd). Its kubernetes command is the move that the runtime
    scenario cri-mirrors-with-config-path proves against the real CRI plugin."""
    (tmp_path / "etc/containerd").mkdir(parents=True)
    (tmp_path / "etc/containerd/config.toml").write_text(
        f'version = 2\n{SECTION}\n  config_path = "/etc/containerd/certs.d"\n'
        f'{SECTION[:-1]}.mirrors."docker.io"]\n  endpoint = ["https://mirror.test"]\n'
    )
    ctr = _check(tmp_path, "containerd")
    assert ctr["mirror-legacy-shadowed"]["runtimes"] == []
    both = _check(tmp_path, "containerd", "kubernetes")
    shadowed = both["mirror-legacy-shadowed"]
    assert shadowed["runtimes"] == ["kubernetes"]
    commands = [step.get("commands") or {} for step in shadowed["remediation"]]
    assert all(set(c) <= {"kubernetes"} for c in commands)
    proven = both["config-cri-plugin-will-not-load"]["remediation"][0]["commands"]["kubernetes"]
    assert commands[0]["kubernetes"] == proven
