"""Issue #13, files and bounded resources: every failure of the report is reproduced.

Bundles that stay inside their root and mask configuration secrets by key; bundle
outputs that are never a device, a link or a planted file; daemon.json as a FIFO or a
link to /dev/zero; billion-laughs YAML; state files; a closed standard output.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from tests.hardening.runner import finish, run, start

UNREACHABLE = "127.0.0.1:1"  # refused at once: the check is quick, the files are the test
FAST = ["--timeout", "1", "--deadline", "4"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["HOME"] = "/root"
    for name in ("DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR", "REGISTRY_AUTH_FILE"):
        env.pop(name, None)
    return env


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _archive(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def _bundle(root: Path, output: Path, *extra: str, hard_limit_s: float = 40.0):  # type: ignore[no-untyped-def]
    argv = ["bundle", "--root", str(root), "-o", str(output), *FAST, *extra, UNREACHABLE]
    proc = start(argv, env=_env())
    return finish(*proc, stdin=None, hard_limit_s=hard_limit_s)


# -- bundle reads only inside --root ------------------------------------------------------

HOST_SECRET = "host-only-Canary-8a9b"


def test_bundle_never_follows_a_link_out_of_the_root(tmp_path: Path) -> None:
    host_file = _write(tmp_path / "host" / "shadow", f"{HOST_SECRET}\n")
    host_dir = tmp_path / "host" / "certs"
    _write(host_dir / "ca.crt", f"{HOST_SECRET}-cert\n")
    root = tmp_path / "root"
    (root / "etc/docker").mkdir(parents=True)
    (root / "etc/docker/daemon.json").symlink_to(host_file)  # absolute: out of the tree
    dropins = root / "etc/systemd/system/docker.service.d"
    dropins.mkdir(parents=True)
    (dropins / "proxy.conf").symlink_to(host_file)
    (root / "etc/docker/certs.d").mkdir(parents=True)
    (root / "etc/docker/certs.d/r.test").symlink_to(host_dir)  # a globbed directory
    relative = root / "etc/containers/registries.conf"
    relative.parent.mkdir(parents=True)
    relative.symlink_to("../../../host/shadow")  # climbs out with ..
    output = tmp_path / "b.tar.gz"
    result = _bundle(root, output)
    assert result.code in (1, 2), result.stderr[-2000:]
    files = _archive(output)
    everything = b"".join(files.values()).decode("utf-8", "replace") + result.stdout
    assert HOST_SECRET not in everything, sorted(files)


def test_bundle_with_root_mixes_in_no_host_configuration(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "etc/docker/daemon.json", '{"registry-mirrors": []}\n')
    env = _env()
    docker_config = tmp_path / "host-docker"
    _write(docker_config / "config.json", json.dumps({"auths": {"host.test": {"auth": "eA=="}}}))
    env["DOCKER_CONFIG"] = str(docker_config)  # this host's client configuration
    output = tmp_path / "b.tar.gz"
    argv = ["bundle", "--root", str(root), "-o", str(output), *FAST, UNREACHABLE]
    result = finish(*start(argv, env=env), stdin=None, hard_limit_s=40)
    assert result.code in (1, 2), result.stderr[-2000:]
    names = sorted(_archive(output))
    config = [n for n in names if "/config/" in n]
    assert config == ["regdoctor-bundle/config/etc/docker/daemon.json"], names
    provenance = json.loads(_archive(output)["regdoctor-bundle/provenance.json"])
    assert not any(str(docker_config) in str(f.get("path")) for f in provenance["files"])


# -- configuration secrets masked by key --------------------------------------------------

HEADER_SECRET = "hdr-Canary-5c6d7e8f"
TOML_SECRET = "toml-Canary-9g0h1i2j"
ENV_SECRET = "envpw-Canary-3k4l"


def test_bundle_masks_headers_and_secret_env_vars(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(
        root / "root/.docker/config.json",
        json.dumps({"HttpHeaders": {"X-Api-Key": HEADER_SECRET, "User-Agent": "ci/1"}}),
    )
    _write(
        root / "etc/containerd/certs.d/r.test/hosts.toml",
        'server = "https://r.test"\n'
        '[host."https://r.test"]\n'
        '  capabilities = ["pull", "resolve"]\n'
        '  [host."https://r.test".header]\n'
        f'    X-Custom-Auth = ["{TOML_SECRET}"]\n'
        f'    x-api-key = "{TOML_SECRET}"\n',
    )
    _write(
        root / "etc/kubernetes/pull-secrets/pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers:\n"
        "  - name: web\n    image: r.test/web:1\n    env:\n"
        f"    - name: REGISTRY_PASSWORD\n      value: {ENV_SECRET}\n"
        "    - name: LOG_LEVEL\n      value: debug\n",
    )
    output = tmp_path / "b.tar.gz"
    result = _bundle(root, output)
    assert result.code in (1, 2), result.stderr[-2000:]
    files = _archive(output)
    everything = b"".join(files.values()).decode("utf-8", "replace")
    for secret in (HEADER_SECRET, TOML_SECRET, ENV_SECRET):
        assert secret not in everything, (secret, sorted(files))
    # the non-secret values are kept: the bundle is still useful
    assert "ci/1" in everything and "debug" in everything


# -- bounded reads ------------------------------------------------------------------------


def _fifo_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc/docker").mkdir(parents=True)
    os.mkfifo(root / "etc/docker/daemon.json")
    return root


@pytest.mark.parametrize("command", ["config", "check", "bundle"])
def test_daemon_json_fifo_hangs_nothing(tmp_path: Path, command: str) -> None:
    root = _fifo_root(tmp_path)
    argv = {
        "config": ["config", "--root", str(root)],
        "check": ["check", "--root", str(root), "--format", "json", *FAST, UNREACHABLE],
        "bundle": [
            "bundle",
            "--root",
            str(root),
            "-o",
            str(tmp_path / "b.tar.gz"),
            *FAST,
            UNREACHABLE,
        ],
    }[command]
    result = finish(*start(argv, env=_env()), stdin=None, hard_limit_s=25)
    assert result.elapsed_s < 15, f"{command} hung on a FIFO ({result.elapsed_s:.1f} s)"
    assert result.code in (0, 1, 2), result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_daemon_json_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc/docker").mkdir(parents=True)
    (root / "etc/docker/daemon.json").symlink_to("/dev/zero")
    for argv in (
        ["config", "--root", str(root)],
        ["check", "--root", str(root), "--format", "json", *FAST, UNREACHABLE],
    ):
        result = finish(*start(argv, env=_env()), stdin=None, hard_limit_s=25)
        assert result.elapsed_s < 15, argv
        assert result.maxrss_mb < 200, f"{argv[0]}: {result.maxrss_mb:.0f} MB"
        assert "MemoryError" not in result.stderr and result.code in (0, 1, 2), result.stderr


def _laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghij"[: levels - 1]:
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def test_billion_laughs_yaml_is_refused_by_bundle(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "etc/kubernetes/pull-secrets/laughs.yaml", _laughs())
    _write(root / "etc/containers/registries.d/laughs.yaml", _laughs())
    output = tmp_path / "b.tar.gz"
    result = _bundle(root, output, hard_limit_s=40)
    assert result.elapsed_s < 20, f"bundle took {result.elapsed_s:.1f} s"
    assert result.maxrss_mb < 250, f"bundle peaked at {result.maxrss_mb:.0f} MB"
    assert result.code in (1, 2), result.stderr[-2000:]
    assert "lol" not in b"".join(_archive(output).values()).decode("utf-8", "replace")


# -- bundle outputs -----------------------------------------------------------------------


def _null_device(path: Path) -> Path:
    """A character device like /dev/null, made for the test (root only)."""
    os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_bundle_refuses_a_device_or_a_link_to_one(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    device = _null_device(tmp_path / "null")
    link = tmp_path / "link.tar.gz"
    link.symlink_to(device)
    for output in (device, link):
        result = _bundle(root, output)
        assert result.code == 3, (output, result.stdout, result.stderr)
        assert stat.S_ISCHR(os.stat(device).st_mode), "the device was replaced"
    assert link.is_symlink()


def test_bundle_never_follows_a_planted_temporary_file(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    victim = _write(tmp_path / "victim.txt", "precious\n")
    output = tmp_path / "out.tar.gz"
    for planted in (".partial", ".tmp"):
        link = output.with_name(output.name + planted)
        link.symlink_to(victim)
    result = _bundle(root, output)
    assert result.code in (1, 2), result.stderr
    assert victim.read_text() == "precious\n", "a planted link was followed"
    assert "regdoctor-bundle/report.json" in _archive(output)


def test_two_bundles_to_one_path_never_give_a_corrupt_archive(tmp_path: Path) -> None:
    root = tmp_path / "root"
    # enough configuration that writing takes a moment
    for i in range(40):
        _write(root / f"etc/docker/certs.d/r{i}.test/ca.crt", ("x" * 60 + "\n") * 3000)
    output = tmp_path / "out.tar.gz"
    for _ in range(3):
        results: list = []
        threads = [
            threading.Thread(target=lambda out=results: out.append(_bundle(root, output)))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for result in results:
            if "wrote" in result.stdout:
                files = _archive(output)  # raises on a corrupt archive
                assert "regdoctor-bundle/SUMMARY.txt" in files
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(("out.", ".out."))]
        assert leftovers == ["out.tar.gz"], leftovers


# -- state files --------------------------------------------------------------------------


def _record(path: Path) -> str | None:
    from regdoctor.tags import state

    try:
        state.record(path, "r.test/app", {"1": "sha256:" + "a" * 64}, "2025-01-01T00:00:00+00:00")
    except state.StateError as exc:
        return str(exc)
    return None


def test_state_file_of_a_newer_version_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    newer = {"version": 2, "repositories": {}, "future": {"keep": True}}
    path.write_text(json.dumps(newer))
    error = _record(path)
    assert error is not None and "newer" in error, error
    assert json.loads(path.read_text()) == newer


def test_state_file_symlink_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "state.json"
    real.parent.mkdir()
    link = tmp_path / "state.json"
    link.symlink_to(real)
    assert _record(link) is None
    assert link.is_symlink(), "the symlink was replaced by a file"
    assert "r.test/app" in json.loads(real.read_text())["repositories"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"version": 1, "repositories": {"r.test/app": {"1": ["x"]}}}, "r.test/app:1"),
        ({"version": 1, "repositories": {"r.test/app": {"1": {"digest": 5}}}}, "digest"),
        ({"version": 1, "repositories": {"r.test/app": []}}, "r.test/app"),
        ({"version": "1", "repositories": {}}, "version"),
    ],
)
def test_state_file_malformed_entries_have_specific_messages(
    tmp_path: Path, document: dict, expected: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps(document))
    error = _record(path)
    assert error is not None, "a malformed state file was accepted (and rewritten)"
    assert expected in error and "AttributeError" not in error, error


def test_state_file_nested_deeply_has_a_specific_message(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    try:
        error = _record(path)
    except RecursionError:
        error = "RecursionError"
    assert error is not None and "RecursionError" not in error, error


# -- exit codes survive a closed stdout ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "json", "markdown"])
def test_exit_code_survives_a_closed_stdout(fmt: str) -> None:
    expected = run(["check", "--format", fmt, *FAST, UNREACHABLE]).code
    assert expected == 2
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -1` that has already left
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "regdoctor", "check", "--format", fmt, *FAST, UNREACHABLE],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=30,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == expected, proc.stderr.decode()[-1000:]
    assert b"Traceback" not in proc.stderr


def test_exit_code_survives_head_1() -> None:
    script = (
        f"{sys.executable} -m regdoctor check {' '.join(FAST)} {UNREACHABLE} | head -1 >/dev/null;"
        " echo ${PIPESTATUS[0]}"
    )
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.stdout.strip() == "2", (proc.stdout, proc.stderr)
