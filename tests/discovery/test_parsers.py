"""Each discovery module on small inputs: Docker's key normalisation, Go's NO_PROXY,
containerd's host directory order, registries.conf prefixes and drop-ins, the kubelet's
pull secret matching, and --root re-rooting."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from regdoctor.discovery import (
    containerd_hosts,
    docker_config,
    docker_daemon,
    kube,
    kubelet,
    registries_conf,
)
from regdoctor.discovery.base import Paths
from regdoctor.discovery.env import ProxyEnv


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ---------------------------------------------------------------- docker client


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "index.docker.io"),
        ("http://registry.test:5000/v2/", "registry.test:5000"),
        ("registry.test", "registry.test"),
        ("HTTPS://Registry.test/path", "Registry.test"),
    ],
)
def test_convert_to_hostname(key: str, host: str) -> None:
    assert docker_config.convert_to_hostname(key) == host


def _client(tmp_path: Path, data: dict) -> docker_config.ClientConfig:
    return docker_config.load(write(tmp_path / "config.json", json.dumps(data)))


def test_docker_lookup_order(tmp_path: Path) -> None:
    config = _client(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": "dTpw"},
                "https://registry.test:5000/v2/": {"auth": "dTpw"},
                "other.test": {"identitytoken": "x"},
            },
            "credHelpers": {"helped.test": "rdtest"},
        },
    )
    hub = config.lookup("docker.io")
    assert hub is not None and hub.key == 'auths["https://index.docker.io/v1/"]'
    legacy = config.lookup("registry.test:5000")  # scheme and path variants match
    assert legacy is not None and legacy.origin == "file"
    helped = config.lookup("helped.test")
    assert helped is not None and (helped.origin, helped.helper, helped.server) == (
        "helper",
        "rdtest",
        "helped.test",
    )
    assert config.lookup("other.test").origin == "identitytoken"  # type: ignore[union-attr]
    assert config.lookup("unknown.test") is None
    assert "dTpw" not in repr(config.lookup("docker.io"))


def test_hub_near_misses_and_store(tmp_path: Path) -> None:
    config = _client(tmp_path, {"auths": {"docker.io": {"auth": "dTpw"}}, "credsStore": "pass"})
    assert config.near_misses("docker.io") == ["docker.io"]
    store = config.lookup("registry.test")
    assert store is not None and (store.origin, store.helper) == ("store", "pass")
    hub = _client(tmp_path, {"auths": {"docker.io": {"auth": "dTpw"}}})
    assert hub.lookup("docker.io") is None  # the Docker CLI never uses that key for Hub


def test_bad_base64_is_an_issue_with_the_key(tmp_path: Path) -> None:
    config = _client(tmp_path, {"auths": {"r.test": {"auth": "%%%"}}})
    (issue,) = config.file.issues
    assert issue.key == 'auths["r.test"].auth' and issue.fatal


def test_containers_auth_json_prefix_lookup(tmp_path: Path) -> None:
    path = write(
        tmp_path / "auth.json",
        json.dumps(
            {"auths": {"registry.test/team": {"auth": "dTpw"}, "docker.io": {"auth": "dTpw"}}}
        ),
    )
    auth = docker_config.load(path, kind="containers")
    ref = auth.lookup("registry.test", "team/app")
    assert ref is not None and ref.key == 'auths["registry.test/team"]'
    assert auth.lookup("registry.test", "other/app") is None
    assert auth.lookup("docker.io", "library/nginx") is not None


# ---------------------------------------------------------------- docker daemon


def test_daemon_values_and_insecure_matching(tmp_path: Path) -> None:
    path = write(
        tmp_path / "daemon.json",
        json.dumps(
            {
                "registry-mirrors": ["https://m.test", "ftp://bad.test", "https://u:p@m.test"],
                "insecure-registries": [
                    "198.51.100.0/24",
                    "r.test:5000",
                    "http://h.test",
                    "tcp://x",
                ],
                "max-concurrent-downloads": "3",
                "dns": ["192.0.2.2", "nope"],
            }
        ),
    )
    daemon = docker_daemon.load(path)
    assert [m.url for m in daemon.mirrors] == ["https://m.test"]
    messages = " | ".join(i.located() for i in daemon.file.issues)
    assert 'unsupported scheme "ftp"' in messages and "username/password" in messages
    assert "max-concurrent-downloads: must be a number" in messages and "'nope'" in messages
    assert "u:p" not in messages.replace("username/password", "")
    assert daemon.is_insecure("198.51.100.23:443", "198.51.100.23")[0]
    assert daemon.is_insecure("r.test:5000", "r.test")[0]
    assert daemon.is_insecure("h.test", "h.test")[0]  # scheme stripped, as dockerd does
    assert not daemon.is_insecure("r.test:5001", "r.test")[0]
    fatal = [e for e in daemon.insecure if e.fatal]
    assert [e.entry for e in fatal] == ["tcp://x"]


def test_json_errors_have_line_and_column(tmp_path: Path) -> None:
    daemon = docker_daemon.load(write(tmp_path / "daemon.json", '{\n  "a": 1,\n}\n'))
    (issue,) = daemon.file.issues
    assert (issue.line, issue.column) == (3, 1)
    assert "trailing comma" in issue.message
    empty = docker_daemon.load(write(tmp_path / "e.json", ""))
    assert "empty file" in empty.file.issues[0].message


@pytest.mark.parametrize("value", ["true", '"r.test:5000"', "{}", "5"])
@pytest.mark.parametrize("key", ["insecure-registries", "registry-mirrors"])
def test_a_list_setting_of_another_type_is_reported_not_a_crash(
    tmp_path: Path, key: str, value: str
) -> None:
    daemon = docker_daemon.load(write(tmp_path / "daemon.json", f'{{"{key}": {value}}}'))
    assert [i.key for i in daemon.file.issues] == [key], daemon.file.issues
    assert daemon.insecure == [] and daemon.mirrors == []


# ---------------------------------------------------------------- proxies


@pytest.mark.parametrize(
    ("no_proxy", "url", "proxied"),
    [
        ("", "https://r.test/v2/", True),
        ("*", "https://r.test/v2/", False),
        ("r.test", "https://r.test/v2/", False),
        ("r.test", "https://sub.r.test/v2/", False),
        (".r.test", "https://r.test/v2/", True),
        (".r.test", "https://sub.r.test/v2/", False),
        ("*.r.test", "https://sub.r.test/v2/", False),
        ("r.test:5000", "https://r.test:5000/v2/", False),
        ("r.test:5000", "https://r.test/v2/", True),
        ("198.51.100.0/24", "https://198.51.100.23/v2/", False),
        ("198.51.100.0/24", "https://r.test/v2/", True),
        ("198.51.100.23", "https://198.51.100.23:5000/v2/", False),
        ("", "https://127.0.0.1:5000/v2/", False),  # loopback is never proxied
        ("", "https://localhost/v2/", False),
    ],
)
def test_no_proxy_go_semantics(no_proxy: str, url: str, proxied: bool) -> None:
    env = ProxyEnv.from_env({"HTTPS_PROXY": "http://proxy.test:3128", "no_proxy": no_proxy})
    assert (env.choose(url).proxy is not None) is proxied


def test_upper_case_wins_and_no_all_proxy() -> None:
    env = ProxyEnv.from_env(
        {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1", "ALL_PROXY": "x"}
    )
    assert env.choose("https://r.test").proxy == "http://upper:1"
    assert env.choose("http://r.test").proxy is None


# ---------------------------------------------------------------- containerd


def test_containerd_host_directory_order(tmp_path: Path) -> None:
    write(
        tmp_path / "etc/containerd/config.toml",
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"\n',
    )
    write(tmp_path / "etc/containerd/certs.d/_default/hosts.toml", '[host."https://d.test"]\n')
    write(
        tmp_path / "etc/docker/certs.d/r.test:5000/hosts.toml",
        'server = "https://r.test:5000"\n[host."http://m.test:5000"]\n  skip_verify = true\n'
        '  ca = ["/etc/ca.pem", "rel.pem"]\n  client = "c.pem"\n',
    )
    write(tmp_path / "etc/containerd/certs.d/x.test/hosts.toml", "server = 'https://x.test'\n")
    cfg = containerd_hosts.discover(Paths(root=tmp_path, env={}))
    assert cfg is not None
    # the first directory's _default wins over the second directory's host dir
    chosen = cfg.hosts_for("r.test:5000")
    assert chosen is not None and chosen.registry == "_default"
    entry = next(h for h in cfg.hosts_files if h.registry == "r.test:5000").hosts[0]
    assert entry.ca == [
        str(tmp_path / "etc/ca.pem"),
        str(tmp_path / "etc/docker/certs.d/r.test:5000/rel.pem"),
    ]
    assert entry.skip_verify and entry.scheme == "http" and entry.client[0][1] is None
    assert cfg.hosts_for("x.test").registry == "x.test"  # type: ignore[union-attr]


def test_containerd_v3_defaults_and_unread_dirs(tmp_path: Path) -> None:
    write(tmp_path / "etc/containerd/config.toml", "version = 3\n")
    write(tmp_path / "etc/docker/certs.d/r.test/hosts.toml", '[host."https://m.test"]\n')
    cfg = containerd_hosts.discover(Paths(root=tmp_path, env={}))
    assert cfg is not None and cfg.config_path_source == "containerd 2.x default"
    assert cfg.hosts_files[0].read
    write(tmp_path / "etc/containerd/config.toml", "version = 2\n")
    cfg = containerd_hosts.discover(Paths(root=tmp_path, env={}))
    assert cfg is not None and cfg.hosts_files[0].unread_reason == "config_path_unset"


# ---------------------------------------------------------------- registries.conf


def test_registries_conf_prefix_and_drop_ins(tmp_path: Path) -> None:
    write(
        tmp_path / "etc/containers/registries.conf",
        'unqualified-search-registries = ["a.test"]\n'
        '[[registry]]\nprefix = "r.test"\nlocation = "r.test"\n'
        '[[registry]]\nprefix = "r.test/team"\nlocation = "team.r.test"\ninsecure = true\n',
    )
    write(
        tmp_path / "etc/containers/registries.conf.d/10-x.conf",
        'unqualified-search-registries = ["b.test"]\n[[registry]]\nprefix = "r.test"\n'
        'location = "new.r.test"\nblocked = true\n',
    )
    conf = registries_conf.discover(Paths(root=tmp_path, env={"HOME": "/root"}))
    assert conf is not None
    assert conf.unqualified_search == ["b.test"]  # the drop-in replaces the list
    assert conf.table_for("r.test/team/app").location == "team.r.test"  # type: ignore[union-attr]
    other = conf.table_for("r.test/other/app")
    assert other is not None and other.location == "new.r.test" and other.blocked


def test_user_registries_conf_replaces_system_one(tmp_path: Path) -> None:
    write(tmp_path / "etc/containers/registries.conf", 'unqualified-search-registries = ["sys"]\n')
    write(
        tmp_path / "home/u/.config/containers/registries.conf",
        "unqualified-search-registries = ['user']\n",
    )
    conf = registries_conf.discover(Paths(root=tmp_path, env={"HOME": "/home/u"}))
    assert conf is not None and conf.unqualified_search == ["user"]


def _user_conf_with_etc_dropin(tmp_path: Path) -> None:
    write(tmp_path / "etc/containers/registries.conf", 'unqualified-search-registries = ["sys"]\n')
    write(
        tmp_path / "etc/containers/registries.conf.d/50-plain.conf",
        '[[registry]]\nlocation = "plain.test:5000"\ninsecure = true\n',
    )
    write(tmp_path / "home/u/.config/containers/registries.conf", 'short-name-mode = "enforcing"\n')
    write(
        tmp_path / "home/u/.config/containers/registries.conf.d/10-user.conf",
        '[aliases]\n"team/app" = "user.test/team/app"\n',
    )


def test_user_registries_conf_hides_the_system_drop_ins(tmp_path: Path) -> None:
    """containers/image v5.23.1 newConfigWrapperWithHomeDir: with the user's
    registries.conf only the user's registries.conf.d follows it (runtime table scenario
    podman-user-conf-hides-etc-dropins)."""
    _user_conf_with_etc_dropin(tmp_path)
    paths = Paths(root=tmp_path, env={"HOME": "/home/u", "XDG_CONFIG_HOME": "/home/u/xdg"})
    conf = registries_conf.discover(paths)
    assert conf is not None
    assert [paths.shown(f.path) for f in conf.files] == [
        "/home/u/.config/containers/registries.conf",
        "/home/u/.config/containers/registries.conf.d/10-user.conf",
    ]
    assert conf.table_for("plain.test:5000/team/app") is None
    assert conf.unqualified_search == [] and conf.short_name_mode == "enforcing"
    assert conf.short_name_settings()["aliases"] == {"team/app": "user.test/team/app"}


def test_user_registries_conf_is_below_home_not_xdg_config_home(tmp_path: Path) -> None:
    """homedir.Get is $HOME: a registries.conf below $XDG_CONFIG_HOME is not read."""
    write(tmp_path / "etc/containers/registries.conf", 'unqualified-search-registries = ["sys"]\n')
    write(
        tmp_path / "home/u/xdg/containers/registries.conf",
        'unqualified-search-registries = ["xdg"]\n',
    )
    paths = Paths(root=tmp_path, env={"HOME": "/home/u", "XDG_CONFIG_HOME": "/home/u/xdg"})
    conf = registries_conf.discover(paths)
    assert conf is not None and conf.unqualified_search == ["sys"]


def test_containers_registries_conf_keeps_both_drop_in_directories(tmp_path: Path) -> None:
    _user_conf_with_etc_dropin(tmp_path)
    write(tmp_path / "opt/registries.conf", 'unqualified-search-registries = ["env"]\n')
    env = {"HOME": "/home/u", "CONTAINERS_REGISTRIES_CONF": "/opt/registries.conf"}
    conf = registries_conf.discover(Paths(root=tmp_path, env=env))
    assert conf is not None and conf.unqualified_search == ["env"]
    table = conf.table_for("plain.test:5000/team/app")
    assert table is not None and table.insecure
    assert "team/app" in conf.aliases


# ---------------------------------------------------------------- kubernetes


@pytest.mark.parametrize(
    ("key", "image", "matches"),
    [
        ("registry.test:5000", "registry.test:5000/team/app:1", True),
        ("https://registry.test:5000/v2/", "registry.test:5000/team/app", True),
        ("registry.test", "registry.test:5000/team/app", False),
        ("registry.test:5000/team", "registry.test:5000/team/app", True),
        ("registry.test:5000/other", "registry.test:5000/team/app", False),
        ("*.registry.test", "eu.registry.test/app", True),
        ("https://index.docker.io/v1/", "nginx", True),
        ("docker.io", "nginx:1.25", True),
        ("registry-1.docker.io", "nginx", False),
    ],
)
def test_kubelet_key_matching(key: str, image: str, matches: bool) -> None:
    assert kube.key_matches(key, image) is matches


def test_kubelet_config(tmp_path: Path) -> None:
    cfg = kubelet.load(
        write(
            tmp_path / "config.yaml",
            "kind: KubeletConfiguration\nserializeImagePulls: false\n"
            "imageServiceEndpoint: unix:///var/run/crio/crio.sock\n",
        )
    )
    assert cfg.runtime == "crio" and cfg.pull_concurrency is None and not cfg.file.issues


# ---------------------------------------------------------------- --root


def test_root_re_roots_environment_paths(tmp_path: Path) -> None:
    paths = Paths(root=tmp_path, env={"HOME": "/home/u", "DOCKER_CONFIG": "/srv/docker"})
    assert docker_config.config_path(paths) == tmp_path / "srv/docker/config.json"
    assert Paths(root=Path("/"), env={"HOME": "/home/u"}).home() == Path("/home/u")
    override = Paths(root=tmp_path, env={}, overrides={"docker_config": Path("/x/config.json")})
    assert docker_config.config_path(override) == Path("/x/config.json")


def test_podman_dials_docker_hub_at_registry_1():
    """containers/image rewrites docker.io to registry-1.docker.io when it connects."""
    from regdoctor.discovery.effective import discover, paths_from

    root = Path(__file__).resolve().parents[2] / "fixtures/config/healthy"
    effective = discover(paths_from(root, {"HOME": "/root"}))
    plan = effective.plan("docker.io/library/nginx", "podman")
    upstream = [e for e in plan.endpoints if e.role == "upstream"]
    assert [e.url for e in upstream] == ["https://registry-1.docker.io"]
    # the short name "nginx" is not docker.io for podman: this fixture has two search
    # registries and short-name-mode "enforcing", so without a terminal it refuses
    short = effective.plan("nginx", "podman")
    assert short.endpoints == []
    assert any("cannot prompt without a TTY" in note for note in short.notes)


def test_an_alias_without_a_registry_is_a_fatal_issue(tmp_path: Path) -> None:
    """containers/image v5.23.1 refuses the file (runtime table scenario
    podman-alias-not-fully-qualified); the alias is not used."""
    write(
        tmp_path / "etc/containers/registries.conf",
        '[aliases]\n"app" = "team/app"\n"ok" = "quay.io/ok"\n',
    )
    conf = registries_conf.discover(Paths(root=tmp_path, env={"HOME": "/root"}))
    assert conf is not None
    [issue] = conf.files[0].issues
    assert issue.fatal and issue.message == (
        'validating short-name aliases: invalid alias "team/app": must contain registry and '
        "repository"
    )
    assert list(conf.aliases) == ["ok"]


def test_saved_short_name_aliases_win_over_registries_conf(tmp_path: Path) -> None:
    """containers/image v5.23.1 ResolveShortNameAlias: root podman's
    /var/cache/containers/short-name-aliases.conf first (runtime table scenario
    podman-short-name-saved-alias); an empty value there sends the name to the search
    registries."""
    write(
        tmp_path / "etc/containers/registries.conf",
        '[aliases]\n"team/app" = "a.test/team/app"\n"db" = "a.test/db"\n"x" = "a.test/x"\n',
    )
    write(
        tmp_path / "var/cache/containers/short-name-aliases.conf",
        '[aliases]\n"team/app" = "b.test/team/app"\n"db" = ""\n',
    )
    (tmp_path / "root").mkdir()
    conf = registries_conf.discover(Paths(root=tmp_path, env={"HOME": "/root"}))
    assert conf is not None
    assert conf.short_name_settings()["aliases"] == {
        "team/app": "b.test/team/app",
        "db": "",
        "x": "a.test/x",
    }
    assert conf.aliases["team/app"][1].startswith(str(tmp_path / "var/cache/containers"))


@pytest.mark.skipif(os.geteuid() != 0, reason="gives $HOME to another uid (chown)")
def test_a_users_saved_aliases_are_below_xdg_cache_home(tmp_path: Path) -> None:
    home = tmp_path / "home/u"
    home.mkdir(parents=True)
    os.chown(home, 1234, 1234)
    write(
        tmp_path / "home/u/xdg-cache/containers/short-name-aliases.conf",
        '[aliases]\n"app" = "c.test/app"\n',
    )
    write(
        tmp_path / "var/cache/containers/short-name-aliases.conf",
        '[aliases]\n"app" = "root.test/app"\n',
    )
    env = {"HOME": "/home/u", "XDG_CACHE_HOME": "/home/u/xdg-cache"}
    conf = registries_conf.discover(Paths(root=tmp_path, env=env))
    assert conf is not None and conf.short_name_settings()["aliases"] == {"app": "c.test/app"}
