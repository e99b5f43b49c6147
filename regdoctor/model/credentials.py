"""Credentials and where they come from (see ``regdoctor.model``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from regdoctor.model import Secret


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and a secret, with where they came from (never the value)."""

    username: str
    password: Secret
    source: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=****, source={self.source!r})"


@dataclass(frozen=True, slots=True)
class CredentialRef:
    """Where a credential would come from, never the credential itself.

    ``origin`` is ``helper`` (``credHelpers``), ``store`` (``credsStore``), ``file`` (an
    ``auth`` entry of a config/auth file), ``identitytoken``, ``k8s-secret`` or
    ``cri-config`` (containerd's ``registry.configs."<host>".auth``). The value
    is fetched only when a registry asks for it (see ``regdoctor.discovery.credentials``).
    """

    origin: str
    file: str
    key: str
    helper: str | None = None
    server: str | None = None  # what the helper is asked for (its stdin)

    @property
    def source(self) -> str:
        """``/root/.docker/config.json#credHelpers["host:5000"] (docker-credential-x)``."""
        where = f"{self.file}#{self.key}"
        return f"{where} (docker-credential-{self.helper})" if self.helper else where

    @property
    def identity(self) -> tuple[str | None, ...]:
        """What tells two references apart as credentials: the same entry of the same
        file (a helper or store is also asked for a server) is the same credential,
        whichever runtime reads it."""
        asked = self.server if self.origin in ("helper", "store") else None
        return (self.origin, self.file, self.key, self.helper, asked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin,
            "file": self.file,
            "key": self.key,
            "helper": self.helper,
            "source": self.source,
        }
