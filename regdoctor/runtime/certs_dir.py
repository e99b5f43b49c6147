"""A per-registry certificate directory (``certs.d/<host[:port]>``) as each runtime reads
its files, and the pairing problems that stop a pull before any request.

The file names decide: ``*.crt`` is a CA, ``*.cert`` a client certificate whose key is
the ``*.key`` of the same stem, ``*.key`` a client key whose certificate is that
``*.cert``. A CA saved as ``ca.cert`` is therefore a client certificate without a key.

- dockerd 20.10 (moby registry/registry.go ``ReadCertsDirectory``, read for a secure
  registry at every pull) and containers/image 5.23 (podman 4.3: pkg/tlsclientconfig
  ``SetupCertificates``, read for every registry) walk the directory in name order and
  stop at the first unpaired file: "missing key ca.key for client certificate ca.cert.
  Note that CA certificates should use the extension .crt", or "missing client
  certificate c.cert for key c.key" ("Missing" from dockerd) (measured with docker
  20.10.24 and podman 4.3.1, scenarios ``certs-d-ca-named-cert``, ``certs-d-lone-key``).
- containerd 1.6 reads such a directory only when it has no ``hosts.toml``
  (remotes/docker/config/hosts.go ``loadCertFiles``): a ``*.cert`` without its key is
  paired with itself, and ``tls.LoadX509KeyPair`` refuses it: "failed to load X509 key
  pair: tls: found a certificate rather than a key in the PEM for the private key"
  (ctr and the CRI, measured with 1.6.20). A lone ``*.key`` is not read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["UnpairedFile", "unpaired_file"]

_CONTAINERD_MESSAGE = (
    "failed to load X509 key pair: tls: found a certificate rather than a key in the PEM "
    "for the private key"
)


@dataclass(frozen=True)
class UnpairedFile:
    """The first file of the directory the runtime refuses, and what it says."""

    name: str
    """The file's name in the directory (``ca.cert``)."""
    message: str
    """The runtime's error, as it prints it."""
    rename_to: str
    """The name that ends the problem: ``ca.crt`` for a certificate (a CA saved with the
    client certificate's extension), ``<name>.unused`` for a key without certificate
    (no runtime reads a file of another extension)."""


def unpaired_file(runtime: str, names: Iterable[str]) -> UnpairedFile | None:
    """The file of a certs.d directory (``names``: its file names) that stops ``runtime``
    (``docker``, ``podman``, ``containerd``/``kubernetes`` for a directory without
    hosts.toml), or None when every client certificate has its key."""
    present = sorted(set(names))
    have = set(present)
    for name in present:  # Go's os.ReadDir: sorted by name
        if name.endswith(".cert"):
            key = name[: -len(".cert")] + ".key"
            if key in have:
                continue
            fixed = name[: -len(".cert")] + ".crt"
            if runtime in ("containerd", "kubernetes"):
                return UnpairedFile(name, _CONTAINERD_MESSAGE, fixed)
            return UnpairedFile(
                name,
                f"missing key {key} for client certificate {name}. "
                "Note that CA certificates should use the extension .crt",
                fixed,
            )
        if name.endswith(".key") and runtime in ("docker", "podman"):
            cert = name[: -len(".key")] + ".cert"
            if cert not in have:
                # dockerd capitalises this one (measured: scenario certs-d-lone-key)
                first = "Missing" if runtime == "docker" else "missing"
                return UnpairedFile(
                    name, f"{first} client certificate {cert} for key {name}", name + ".unused"
                )
    return None
