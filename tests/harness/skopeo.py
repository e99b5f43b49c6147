"""Run the real ``skopeo`` (1.9.3) against the testbed, fully isolated from this machine.

Why: regdoctor explains pasted client errors, so the tests need the exact texts a real
client prints for each failure. Isolation matters as much: skopeo would otherwise read
``/etc/containers/registries.conf`` (short-name aliases, mirrors), the user's auth file,
and proxy variables, any of which would change the answer.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tests.harness import procs

SKOPEO_BIN = "/usr/bin/skopeo"

_EMPTY_REGISTRIES_CONF = "# regdoctor testbed: no registries, no mirrors, no aliases\n"
_POLICY = '{"default": [{"type": "insecureAcceptAnything"}]}\n'


def _isolated_env(home: Path) -> dict[str, str]:
    runtime = home / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return procs.clean_env(
        home,
        {
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "DOCKER_CONFIG": str(home / ".docker"),
            "REGISTRY_AUTH_FILE": str(home / "auth.json"),
        },
    )


def skopeo_argv(
    home: Path,
    subcommand: list[str],
    *,
    tls_verify: bool,
    cert_dir: Path | None,
    creds: tuple[str, str] | None,
    timeout_s: float,
) -> list[str]:
    """The full command line, global isolation flags first."""
    conf = home / "registries.conf"
    conf.write_text(_EMPTY_REGISTRIES_CONF)
    registries_d = home / "registries.d"
    registries_d.mkdir(exist_ok=True)
    policy = home / "policy.json"
    policy.write_text(_POLICY)
    argv = [
        SKOPEO_BIN,
        f"--command-timeout={timeout_s:g}s",
        f"--registries-conf={conf}",  # hidden global flag in 1.9.3
        f"--registries.d={registries_d}",
        f"--policy={policy}",
        f"--tmpdir={home}",
        *subcommand,
        f"--tls-verify={'true' if tls_verify else 'false'}",
        f"--authfile={home / 'auth.json'}",
        "--retry-times=0",
    ]
    if cert_dir is not None:
        argv.append(f"--cert-dir={cert_dir}")
    if creds is not None:
        argv.append(f"--creds={creds[0]}:{creds[1]}")
    return argv


def with_hosts_file(argv: list[str], home: Path, hosts: Mapping[str, str]) -> list[str]:
    """Wrap ``argv`` so it runs with its own /etc/hosts (and a loopback-only resolv.conf).

    Why: a name-mismatch error only reads "certificate is valid for X, not Y" when the
    client dials a *name*; Go's resolver reads /etc/hosts first, and the system resolver
    must never be asked. A private mount namespace (we are root) swaps both files for
    this one process only.
    """
    hosts_file = home / "hosts"
    hosts_file.write_text("".join(f"{ip} {name}\n" for name, ip in hosts.items()))
    resolv = home / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    script = (
        f'mount --bind "{hosts_file}" /etc/hosts && '
        f'mount --bind "{resolv}" /etc/resolv.conf && exec "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", *argv]


def run_skopeo(
    subcommand: list[str],
    *,
    tls_verify: bool,
    cert_dir: Path | None = None,
    creds: tuple[str, str] | None = None,
    timeout_s: float = 10,
    hosts: Mapping[str, str] | None = None,
    env_extra: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one single-registry skopeo subcommand (``inspect``, ``list-tags``).

    ``hosts`` (name -> IP, loopback only) makes names such as ``registry.test``
    resolvable for this one run; see :func:`with_hosts_file`.
    """
    with tempfile.TemporaryDirectory(prefix="skopeo-") as tmp:
        home = Path(tmp)
        argv = skopeo_argv(
            home,
            subcommand,
            tls_verify=tls_verify,
            cert_dir=cert_dir,
            creds=creds,
            timeout_s=timeout_s,
        )
        if hosts:
            argv = with_hosts_file(argv, home, hosts)
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env={**_isolated_env(home), **(env_extra or {})},
            cwd=home,
            timeout=timeout_s + 5,
            check=False,
        )


def run_skopeo_inspect(
    image_ref: str,
    *,
    tls_verify: bool,
    cert_dir: Path | None = None,
    creds: tuple[str, str] | None = None,
    timeout_s: float = 10,
    hosts: Mapping[str, str] | None = None,
    env_extra: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """``skopeo inspect --raw docker://IMAGE``; returns (returncode, stderr).

    ``image_ref`` may carry the ``docker://`` prefix or not; ``hosts`` as in
    :func:`run_skopeo`.
    """
    ref = image_ref if image_ref.startswith("docker://") else f"docker://{image_ref}"
    result = run_skopeo(
        ["inspect", "--raw", ref],
        tls_verify=tls_verify,
        cert_dir=cert_dir,
        creds=creds,
        timeout_s=timeout_s,
        hosts=hosts,
        env_extra=env_extra,
    )
    return result.returncode, result.stderr


def skopeo_available() -> bool:
    return os.access(SKOPEO_BIN, os.X_OK)
