"""Property tests on every parser: whatever bytes a configuration file holds, discovery
never raises; malformed input becomes a `config.invalid` finding (with a location where
the format gives one), and everything round-trips through JSON."""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regdoctor.discovery.base import Paths
from regdoctor.discovery.effective import discover
from regdoctor.engine import evaluate, load_catalog

CATALOG = load_catalog()
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: where each parser reads from, below the root (HOME=/root)
FILES = {
    "docker_daemon": "etc/docker/daemon.json",
    "docker_config": "root/.docker/config.json",
    "registries_conf": "etc/containers/registries.conf",
    "containerd_config": "etc/containerd/config.toml",
    "containerd_hosts": "etc/containerd/certs.d/r.test/hosts.toml",
    "kubelet": "var/lib/kubelet/config.yaml",
    "auth_file": "run/user/0/containers/auth.json",
    "kube": "kube/manifest.yaml",
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
#: keys each format cares about, so random documents reach deep into the parsers
KEYS = st.sampled_from(
    [
        "registry-mirrors",
        "insecure-registries",
        "proxies",
        "dns",
        "max-concurrent-downloads",
        "auths",
        "credsStore",
        "credHelpers",
        "auth",
        "identitytoken",
        "registry",
        "mirror",
        "location",
        "prefix",
        "insecure",
        "blocked",
        "unqualified-search-registries",
        "host",
        "server",
        "capabilities",
        "ca",
        "client",
        "skip_verify",
        "plugins",
        "version",
        "config_path",
        "mirrors",
        "endpoint",
        "kind",
        "metadata",
        "spec",
        "data",
        "type",
        "imagePullSecrets",
        "containers",
        "image",
        "serializeImagePulls",
        "maxParallelImagePulls",
    ]
)
shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(string.printable, max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


def run_discovery(name: str, content: bytes):  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if name == "containerd_hosts":
            (root / "etc/containerd").mkdir(parents=True)
            (root / "etc/containerd/config.toml").write_text("version = 3\n")
        path = root / FILES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        env = {"HOME": "/root", "XDG_RUNTIME_DIR": "/run/user/0", "PATH": "/nonexistent"}
        effective = discover(Paths(root=root, env=env), kube_inputs=[str(root / "kube")])
        results = []
        for target, observations in effective.observations():
            findings = evaluate(CATALOG, target, observations)
            json.dumps([o.to_dict() for o in observations])
            json.dumps([f.to_dict() for f in findings])
            results.append((target, observations, findings))
        json.dumps(effective.to_dict())
        for image in ("nginx", "r.test/app:1", "r.test"):
            for runtime in effective.runtimes:
                json.dumps(effective.plan(image, runtime).to_dict())
        effective.check_targets()
        return results


def file_result(results, name):  # type: ignore[no-untyped-def]
    for _target, observations, findings in results:
        for o in observations:
            if o.kind == "config.file" and o.facts["file"].endswith(FILES[name]):
                return o, findings
    raise AssertionError(f"no config.file observation for {name}")


@SETTINGS
@given(name=st.sampled_from(sorted(FILES)), content=st.binary(max_size=300))
def test_any_bytes_never_raise(name: str, content: bytes) -> None:
    run_discovery(name, content)


@SETTINGS
@given(name=st.sampled_from(sorted(FILES)), content=st.text(max_size=300))
def test_any_text_never_raises(name: str, content: str) -> None:
    run_discovery(
        name, content.encode("utf-8", "surrogatepass").decode("utf-8", "replace").encode()
    )


@SETTINGS
@given(
    name=st.sampled_from(["docker_daemon", "docker_config", "auth_file", "kube"]),
    value=shaped | json_values,
)
def test_any_json_shape_never_raises(name: str, value: object) -> None:
    results = run_discovery(name, json.dumps(value).encode())
    observation, findings = file_result(results, name)
    if not isinstance(value, dict) and name != "kube":
        assert observation.facts["errors"] >= 1
        assert any(f.category == "config.invalid" for f in findings)


@SETTINGS
@given(
    name=st.sampled_from(["registries_conf", "containerd_config", "containerd_hosts", "kubelet"]),
    value=st.dictionaries(KEYS, shaped, max_size=5),
)
def test_any_toml_or_yaml_shape_never_raises(name: str, value: dict) -> None:
    if name == "kubelet":
        import yaml

        content = yaml.safe_dump(value).encode()
    else:
        content = _to_toml(value).encode()
    run_discovery(name, content)


def _to_toml(value: dict) -> str:
    """A small TOML writer for generated documents (strings, numbers, bools, tables)."""
    lines: list[str] = []
    tables: list[tuple[str, dict]] = []

    def scalar(v: object) -> str | None:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            items = [scalar(x) for x in v]
            return None if any(i is None for i in items) else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
        return None

    for key, v in value.items():
        if isinstance(v, dict):
            tables.append((key, v))
            continue
        text = scalar(v)
        if text is not None:
            lines.append(f"{json.dumps(key)} = {text}")
    for key, table in tables:
        lines.append(f"[{json.dumps(key)}]")
        for k, v in table.items():
            text = scalar(v)
            if text is not None:
                lines.append(f"{json.dumps(k)} = {text}")
    return "\n".join(lines) + "\n"


@SETTINGS
@given(
    name=st.sampled_from(sorted(FILES)),
    garbage=st.sampled_from(["{", "[[", "key = ", "a: [", "\x00", '{"a": 1,}', "- - -\n:"]),
)
def test_malformed_input_is_a_config_invalid_finding(name: str, garbage: str) -> None:
    results = run_discovery(name, garbage.encode())
    observation, findings = file_result(results, name)
    if observation.facts["errors"] == 0:
        return  # some garbage is valid in some formats ("- - -" is YAML)
    invalid = [f for f in findings if f.rule == "config-invalid"]
    assert invalid and invalid[0].category == "config.invalid"
    if observation.facts["parsed"] is False and observation.facts["format"] in ("json", "toml"):
        assert observation.facts["line"] is not None
