"""Fetching a credential from its reference, only when a registry asks for one.

Credential helpers run with the real protocol (docker-credential-helpers): the program
``docker-credential-<name>`` is run with the argument ``get``, the server URL on standard
input, and answers ``{"ServerURL": ..., "Username": ..., "Secret": ...}`` on standard
output; "credentials not found" with a non-zero exit when it has none. A missing
program, a timeout, a failure, "not found" and a malformed answer are distinct outcomes.

The secret goes into a :class:`~regdoctor.model.Secret` (masked in every ``repr``) and
is registered with the run's redactor; it never enters an observation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regdoctor.model import CredentialRef, Credentials, Secret

HELPER_PREFIX = "docker-credential-"
DEFAULT_TIMEOUT = 10.0
MAX_OUTPUT = 64 * 1024
#: Helpers that belong to another product and are often left behind after it is gone.
DESKTOP_HELPERS = frozenset({"desktop", "desktop.exe", "osxkeychain", "wincred", "wincred.exe"})


@dataclass(frozen=True)
class Resolution:
    """The outcome of fetching one credential (never holds the secret in a printable
    form: :attr:`credentials` masks it)."""

    ref: CredentialRef
    outcome: str  # found, not_found, helper_missing, helper_failed, helper_timeout,
    # bad_output, identity_token, bad_auth, entry_missing
    credentials: Credentials | None = None
    error: str | None = None
    helper_path: str | None = None
    username: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "found"

    def facts(self) -> dict[str, Any]:
        return {
            "origin": self.ref.origin,
            "file": self.ref.file,
            "key": self.ref.key,
            "helper": self.ref.helper,
            "helper_path": self.helper_path,
            "server": self.ref.server,
            "outcome": self.outcome,
            "username": self.username,
            "credential_source": self.ref.source,
        }


def helper_binary(name: str) -> str:
    return f"{HELPER_PREFIX}{name}"


def find_helper(name: str, env: Mapping[str, str] | None = None) -> str | None:
    path = (env if env is not None else os.environ).get("PATH", os.defpath)
    return shutil.which(helper_binary(name), path=path)


def run_helper(
    name: str,
    server: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any] | None, str | None, str | None]:
    """Run ``docker-credential-<name> get``: (outcome, answer, error, helper path)."""
    environ = dict(env if env is not None else os.environ)
    program = find_helper(name, environ)
    if program is None:
        return (
            "helper_missing",
            None,
            f'exec: "{helper_binary(name)}": executable file not found in $PATH',
            None,
        )
    try:
        returncode, raw_out, raw_err = _run_bounded(
            [program, "get"], server.encode(), timeout, environ
        )
    except subprocess.TimeoutExpired:
        return (
            "helper_timeout",
            None,
            f"{helper_binary(name)} get took longer than {timeout:g}s (stopped, with its children)",
            program,
        )
    except OSError as exc:
        return "helper_failed", None, f"{helper_binary(name)}: {exc.strerror or exc}", program
    out = raw_out[:MAX_OUTPUT].decode("utf-8", "replace").strip()
    err = raw_err[:MAX_OUTPUT].decode("utf-8", "replace").strip()
    if returncode != 0:
        text = out or err or f"exit status {returncode}"
        if "credentials not found" in text.lower():
            return "not_found", None, "credentials not found in native keychain", program
        first = helper_message(text)
        return (
            "helper_failed",
            None,
            f"{helper_binary(name)} get: exit status {returncode}: {first}",
            program,
        )
    try:
        answer = json.loads(out)
    except ValueError:
        return "bad_output", None, f"{helper_binary(name)} get: answer is not JSON", program
    if (
        not isinstance(answer, dict)
        or not isinstance(answer.get("Secret"), str)
        or not isinstance(answer.get("Username", ""), str)
    ):
        return (
            "bad_output",
            None,
            f"{helper_binary(name)} get: answer lacks the Username/Secret strings",
            program,
        )
    if not answer["Secret"]:
        return "not_found", None, f"{helper_binary(name)} get: empty secret", program
    return "found", answer, None, program


def _run_bounded(
    argv: list[str], stdin: bytes, timeout: float, env: Mapping[str, str]
) -> tuple[int, bytes, bytes]:
    """Run a helper in its own process group: at most :data:`MAX_OUTPUT` bytes kept of
    each stream, and on ``timeout`` the whole group (the helper and every child it
    started) is killed and reaped. Raises :class:`subprocess.TimeoutExpired`."""
    import selectors
    import signal
    import time

    timeout = max(0.05, timeout)
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(env),
        start_new_session=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    ends = time.monotonic() + timeout
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    kept = {out_fd: bytearray(), err_fd: bytearray()}
    try:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            selector.register(proc.stderr, selectors.EVENT_READ)
            while selector.get_map():
                left = ends - time.monotonic()
                if left <= 0:
                    raise subprocess.TimeoutExpired(argv, timeout)
                for key, _ in selector.select(left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    buffer = kept[key.fd]
                    if len(buffer) < MAX_OUTPUT:
                        buffer += chunk[: MAX_OUTPUT - len(buffer)]
        left = ends - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(argv, timeout)
        returncode = proc.wait(left)
    except BaseException:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    # Children the helper left behind hold no pipe of ours any more; stop them too.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return returncode, bytes(kept[out_fd]), bytes(kept[err_fd])


def helper_message(text: str) -> str:
    """The first line of what a failing helper said, safe to show: the patterns of
    :mod:`regdoctor.redact.secrets` applied, and every word that looks like a secret (8
    characters or more mixing letters with digits or symbols) masked. A helper that
    fails may print the very secret it could not store or send."""
    from regdoctor.redact.secrets import MASK, redact

    first = next((line for line in text.splitlines() if line.strip()), "")[:300]
    words = []
    for word in redact(first).split(" "):
        core = word.strip(".,;:()[]\"'")
        mixed = (
            sum(
                (
                    any(c.isalpha() for c in core),
                    any(c.isdigit() for c in core),
                    any(not c.isalnum() for c in core),
                )
            )
            >= 2
        )
        if len(core) >= 8 and mixed and not core.startswith(("/", "./", "~/")) and MASK not in core:
            word = word.replace(core, MASK)
        words.append(word)
    return " ".join(words)


def resolve(
    ref: CredentialRef,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    redactor: Any = None,
    root: Path | None = None,
) -> Resolution:
    """Fetch the credential ``ref`` points at. Never raises. With ``root`` (``--root``),
    a file is read again the way discovery read it: inside the root, bounded."""
    try:
        resolution = _resolve(ref, timeout, env, root)
    except Exception as exc:  # a crash is a result
        return Resolution(ref, "helper_failed", error=f"{type(exc).__name__}: {exc}")
    if resolution.credentials is not None and redactor is not None:
        redactor.add_credentials(resolution.credentials.username, resolution.credentials.password)
    return resolution


def _resolve(
    ref: CredentialRef, timeout: float, env: Mapping[str, str] | None, root: Path | None = None
) -> Resolution:
    if ref.origin in ("helper", "store"):
        assert ref.helper is not None
        outcome, answer, error, program = run_helper(
            ref.helper, ref.server or "", timeout=timeout, env=env
        )
        if answer is None:
            return Resolution(ref, outcome, error=error, helper_path=program)
        username = str(answer.get("Username") or "")
        if username == "<token>":
            return Resolution(
                ref,
                "identity_token",
                error="the helper holds an identity token (OAuth refresh token), not a password",
                helper_path=program,
                username=username,
            )
        creds = Credentials(username, Secret(str(answer["Secret"])), source=ref.source)
        return Resolution(ref, "found", creds, helper_path=program, username=username)
    if ref.origin == "identitytoken":
        # The entry's ``auth`` still answers a Basic challenge: dockerd's credential
        # store gives Basic the username and password and a token realm the refresh
        # token (moby v20.10.24 registry/auth.go loginCredentialStore; docker/distribution
        # registry/client/auth/session.go: refresh token -> OAuth POST), and
        # containers/image keeps both (v5.23.1 pkg/docker/config decodeDockerAuth;
        # docker/docker_client.go: IdentityToken -> getBearerTokenOAuth2, else basic).
        # Measured with docker 20.10.24 and podman 4.3.1 (scenarios
        # creds-identitytoken-stale-*): both pull from a basic-auth registry with it.
        found = _from_file(ref, root)
        return Resolution(
            ref,
            "identity_token",
            found.credentials,
            error="an identity token (OAuth refresh token) is stored; regdoctor cannot "
            "exchange it at a token realm (the entry's password answers basic auth only)",
            username=found.username,
        )
    if ref.origin == "file":
        return _from_file(ref, root)
    if ref.origin == "k8s-secret":
        return _from_pull_secret(ref)
    if ref.origin == "cri-config":
        return _from_cri_config(ref, root)
    return Resolution(ref, "entry_missing", error=f"unknown credential origin {ref.origin!r}")


def _from_file(ref: CredentialRef, root: Path | None = None) -> Resolution:
    from regdoctor.bounded import read_within_root
    from regdoctor.discovery.docker_config import decode_auth_pair

    try:
        data = json.loads(read_within_root(root, Path(ref.file)).decode("utf-8"))
        key = ref.key.split('"')[1] if '"' in ref.key else ref.key
        # ``["key"]``: ~/.dockercfg, whose registry keys are at the top level
        entry = (data if ref.key.startswith("[") else data["auths"])[key]
        auth = entry.get("auth") or ""
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return Resolution(ref, "entry_missing", error=f"{ref.source} is no longer readable")
    if not auth and isinstance(entry.get("password"), str):
        pair: tuple[str, str] | None = (str(entry.get("username") or ""), entry["password"])
    else:
        pair = decode_auth_pair(str(auth))
    if pair is None:
        return Resolution(ref, "bad_auth", error="auth is not base64 of 'user:password'")
    creds = Credentials(pair[0], Secret(pair[1]), source=ref.source)
    return Resolution(ref, "found", creds, username=pair[0])


def _from_cri_config(ref: CredentialRef, root: Path | None = None) -> Resolution:
    """containerd's ``[plugins."io.containerd.grpc.v1.cri".registry.configs."HOST".auth]``
    (``username``/``password``, else ``auth`` = base64 of ``user:password``), as the CRI
    plugin turns it into credentials (pkg/cri/server/image_pull.go ParseAuth, v1.6.20)."""
    import tomllib

    from regdoctor.bounded import read_within_root
    from regdoctor.discovery.docker_config import decode_auth_pair

    try:
        data = tomllib.loads(read_within_root(root, Path(ref.file)).decode("utf-8"))
        table = data["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"]
        entry = table[ref.server or ""]["auth"]
    except (OSError, ValueError, KeyError, TypeError):
        return Resolution(ref, "entry_missing", error=f"{ref.source} is no longer readable")
    if isinstance(entry.get("username"), str) and entry.get("username"):
        pair: tuple[str, str] | None = (entry["username"], str(entry.get("password") or ""))
    else:
        pair = decode_auth_pair(str(entry.get("auth") or ""))
    if pair is None:
        return Resolution(ref, "bad_auth", error="auth is not base64 of 'user:password'")
    creds = Credentials(pair[0], Secret(pair[1]), source=ref.source)
    return Resolution(ref, "found", creds, username=pair[0])


def _from_pull_secret(ref: CredentialRef) -> Resolution:
    """The entry of a Kubernetes pull secret, decoded as the kubelet decodes it."""
    from regdoctor.discovery.docker_config import decode_auth_pair
    from regdoctor.discovery.kube import entry_for

    entry = entry_for(ref)
    if entry is None:
        return Resolution(ref, "entry_missing", error=f"{ref.source} is not loaded")
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        pair = decode_auth_pair(auth)
    elif isinstance(entry.get("password"), str):
        pair = (str(entry.get("username") or ""), str(entry["password"]))
    else:
        pair = None
    if pair is None:
        return Resolution(ref, "bad_auth", error="auth is not base64 of 'user:password'")
    creds = Credentials(pair[0], Secret(pair[1]), source=ref.source)
    return Resolution(ref, "found", creds, username=pair[0])
