"""A throw-away PKI for the test session, built with ``cryptography``.

Every certificate failure regdoctor diagnoses (expired, wrong host, CN only, unknown
authority, expiring soon, client certificate required) needs a real certificate that
fails in exactly that way, so each gets its own leaf. Keys are EC P-256: generating
them takes milliseconds, which keeps the session start-up fast (RSA 2048 costs ~100 ms
per key on this machine).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: The names every "good" server certificate carries.
VALID_DNS_NAMES = ("registry.test", "*.registry.test", "localhost")
VALID_IPS = ("127.0.0.1", "::1")

#: Leaf names, as used in :attr:`Pki.leaves`.
LEAF_NAMES = ("valid", "expired", "wrong_host", "cn_only", "untrusted", "expiring_soon")


@dataclass(frozen=True)
class CertKey:
    """Paths of one PEM certificate and its PEM (unencrypted PKCS#8) private key."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Paths of every PEM file of the session PKI."""

    directory: Path
    ca_file: Path
    """The trusted CA: what a correctly configured client trusts (``ca.crt`` in certs.d)."""
    ca_key: Path
    untrusted_ca_file: Path
    """A second CA nobody trusts; signs the ``untrusted`` leaf."""
    client_ca_file: Path
    """The CA the mTLS registry requires client certificates from."""
    client_cert: Path
    client_key: Path
    leaves: dict[str, CertKey] = field(default_factory=dict)
    """Server leaves by name: see :data:`LEAF_NAMES`."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "regdoctor testbed"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def write_cert(cert: x509.Certificate, path: Path) -> Path:
    """Write one certificate as PEM and return ``path``."""
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@dataclass(frozen=True)
class _Authority:
    """A CA kept in memory so it can sign leaves."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _make_ca(common_name: str) -> _Authority:
    key = _new_key()
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Authority(cert, key)


def _valid_sans() -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in VALID_DNS_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in VALID_IPS]
    return x509.SubjectAlternativeName(names)


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _make_leaf(
    issuer: _Authority,
    common_name: str,
    sans: x509.SubjectAlternativeName | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.SERVER_AUTH,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if sans is not None:
        builder = builder.add_extension(sans, critical=False)
    return builder.sign(issuer.key, hashes.SHA256()), key


def _save_pair(
    directory: Path, stem: str, pair: tuple[x509.Certificate, ec.EllipticCurvePrivateKey]
) -> CertKey:
    cert, key = pair
    return CertKey(
        cert=write_cert(cert, directory / f"{stem}.crt"),
        key=_write_key(key, directory / f"{stem}.key"),
    )


def _server_leaves(
    directory: Path, trusted: _Authority, untrusted: _Authority
) -> dict[str, CertKey]:
    now = _now()
    day = dt.timedelta(days=1)
    year = dt.timedelta(days=365)
    specs = {
        "valid": (trusted, "registry.test", _valid_sans(), now - day, now + year),
        "expired": (trusted, "registry.test", _valid_sans(), now - 30 * day, now - day),
        "wrong_host": (
            trusted,
            "wrong-name.test",
            x509.SubjectAlternativeName([x509.DNSName("wrong-name.test")]),
            now - day,
            now + year,
        ),
        # Deliberately no SAN extension at all: modern clients ignore the CN.
        "cn_only": (trusted, "127.0.0.1", None, now - day, now + year),
        "untrusted": (untrusted, "registry.test", _valid_sans(), now - day, now + year),
        "expiring_soon": (trusted, "registry.test", _valid_sans(), now - day, now + 5 * day),
    }
    return {
        name: _save_pair(directory, f"leaf-{name}", _make_leaf(ca, cn, sans, nb, na))
        for name, (ca, cn, sans, nb, na) in specs.items()
    }


def generate_pki(directory: Path) -> Pki:
    """Create every CA, leaf and client certificate below ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    trusted = _make_ca("regdoctor testbed CA")
    untrusted = _make_ca("regdoctor untrusted CA")
    client_ca = _make_ca("regdoctor client CA")
    now = _now()
    client = _save_pair(
        directory,
        "client",
        _make_leaf(
            client_ca,
            "regdoctor-client",
            None,
            now - dt.timedelta(days=1),
            now + dt.timedelta(days=365),
            usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        ),
    )
    client_cert = directory / "client.cert"  # the name docker's certs.d expects
    client.cert.rename(client_cert)
    return Pki(
        directory=directory,
        ca_file=write_cert(trusted.cert, directory / "ca.crt"),
        ca_key=_write_key(trusted.key, directory / "ca.key"),
        untrusted_ca_file=write_cert(untrusted.cert, directory / "untrusted-ca.crt"),
        client_ca_file=write_cert(client_ca.cert, directory / "client-ca.crt"),
        client_cert=client_cert,
        client_key=client.key,
        leaves=_server_leaves(directory, trusted, untrusted),
    )


def install_cert_dir(
    directory: Path,
    ca_file: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> Path:
    """Fill a docker/containers ``certs.d/<host:port>`` style directory.

    Docker and skopeo read ``*.crt`` as CAs and ``*.cert``/``*.key`` pairs as client
    certificates; the file names used here are the documented ones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if ca_file is not None:
        (directory / "ca.crt").write_bytes(ca_file.read_bytes())
    if client_cert is not None:
        (directory / "client.cert").write_bytes(client_cert.read_bytes())
    if client_key is not None:
        (directory / "client.key").write_bytes(client_key.read_bytes())
    return directory
