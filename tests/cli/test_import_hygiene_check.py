"""A plain `check` of a plain-HTTP registry imports only what that check needs: no trio
(httpcore imports it whenever it is installed), no anyio (httpcore's default backend and
primitives), no httpx command-line client (click, Pygments), no Textual, and no PyYAML
once the compiled rule cache is filled."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_import_hygiene import PROGRAM
from tests.harness import Testbed

#: Installed on this machine (test peers, the TUI, httpx's CLI extras), never needed by
#: a check. anyio: regdoctor's own asyncio backend and primitives replace httpcore's.
NOT_FOR_CHECK = (
    "trio",
    "textual",
    "yaml",
    "click",
    "pygments",
    "outcome",
    "sortedcontainers",
    "anyio",
)


def _modules_after(argv: list[str]) -> tuple[set[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1])), result.stdout


def _mark_insecure(config_root, hostport: str) -> None:
    """podman and CRI-O pull from a plain-HTTP registry only when it is marked insecure:
    with that, the check is healthy for every runtime."""
    conf = config_root / "etc" / "containers" / "registries.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f'[[registry]]\nlocation = "{hostport}"\ninsecure = true\n')


def test_plain_check_imports_no_optional_backend(testbed: Testbed, isolate_env):
    ep = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, ep.hostport)
    argv = ["check", "--format", "json", testbed.images.app.ref(ep.hostport)]
    _modules_after(argv)  # fills the rule cache, as any earlier run would have
    modules, out = _modules_after(argv)
    report = json.loads(out)
    assert [t["status"] for t in report["targets"]] == ["ok"] * len(report["targets"])
    assert "httpcore" in modules  # the check did run over the network
    assert not modules & set(NOT_FOR_CHECK), sorted(modules & set(NOT_FOR_CHECK))
    # JSON output needs no terminal renderer either.
    assert "rich" not in modules


#: Not for a healthy check of a plain-HTTP registry, printed to a pipe: the TLS attempt is
#: answered in plain HTTP, so no certificate is ever converted or analysed
#: (``net/lean_openssl.py``), and Rich would print no style (``render/plain_console.py``);
#: nor the modules of records and steps such a check never builds (each ``@dataclass``
#: costs its definition at every start): the context of a ticket (``model.host``), a
#: cluster's manifests (``discovery.kube``), the rule validator (the catalog comes from
#: its cache) and the command templates (no finding with a command).
NOT_FOR_PLAIN_HTTP = (
    "cryptography.x509.base",
    "cryptography.x509.name",
    "rich.console",
    "regdoctor.model.host",
    "regdoctor.discovery.kube",
    "regdoctor.engine.parse",
    "regdoctor.engine.command_template",
)


def test_healthy_plain_http_check_piped_imports_no_certificate_or_console(
    testbed: Testbed, isolate_env
):
    ep = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, ep.hostport)
    argv = ["check", testbed.images.app.ref(ep.hostport)]
    _modules_after(argv)  # fills the rule cache
    program = PROGRAM.replace("m.split('.')[0]", "m")
    result = subprocess.run(
        [sys.executable, "-c", program.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert result.stdout.startswith("✓ OK"), result.stdout
    assert "OpenSSL.SSL" in modules  # the TLS attempt was made (and answered in HTTP)
    assert not modules & set(NOT_FOR_PLAIN_HTTP), sorted(modules & set(NOT_FOR_PLAIN_HTTP))
    assert not modules & set(NOT_FOR_CHECK), sorted(modules & set(NOT_FOR_CHECK))


def test_a_certificate_in_hand_loads_cryptography_x509(testbed: Testbed, isolate_env):
    """A TLS registry's chain is converted and analysed: the real package is there."""
    ep = testbed.endpoints["tls"]
    argv = ["check", "--format", "json", "--runtime", "podman", "--ca-file", str(testbed.ca_file)]
    argv.append(testbed.images.app.ref(ep.hostport))
    program = PROGRAM.replace("m.split('.')[0]", "m")
    result = subprocess.run(
        [sys.executable, "-c", program.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
    report = json.loads(result.stdout)
    assert [t["status"] for t in report["targets"]] == ["ok"] * len(report["targets"])
    tls = next(p for p in report["targets"][0]["phases"] if p["name"] == "tls")
    assert tls["status"] == "ok"
    assert "cryptography.x509.base" in modules


def test_lean_openssl_defers_only_cryptography_x509():
    """pyOpenSSL imports with ``cryptography.x509`` deferred; converting a certificate
    loads it, its submodules import on their own, and every name is the real one."""
    program = (
        "import ssl, sys\n"
        "from regdoctor.net.lean_openssl import SSL, crypto\n"
        "assert 'cryptography.x509.base' not in sys.modules\n"
        "from cryptography.x509.oid import NameOID\n"
        "assert 'cryptography.x509.base' not in sys.modules\n"
        "import datetime\n"
        "from cryptography.hazmat.primitives import hashes\n"
        "from cryptography.hazmat.primitives.asymmetric import ec\n"
        "key = ec.generate_private_key(ec.SECP256R1())\n"
        "from cryptography import x509\n"
        "name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'r.test')])\n"
        "now = datetime.datetime.now(datetime.timezone.utc)\n"
        "cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)\n"
        "    .public_key(key.public_key()).serial_number(1).not_valid_before(now)\n"
        "    .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))\n"
        "x = crypto.X509.from_cryptography(cert)\n"
        "back = x.to_cryptography()\n"
        "import cryptography.x509 as real\n"
        "assert type(back) is type(cert) and back == cert\n"
        "assert isinstance(back, real.Certificate)\n"
        "assert crypto.x509.Certificate is real.Certificate\n"
        "print(back.subject.rfc4514_string())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.strip() == "CN=r.test", result.stderr


def test_lean_httpcore_lifts_its_blocks():
    """The blocks hold only while httpcore is first imported: trio and anyio stay
    importable, and httpcore's pool runs on asyncio's primitives."""
    program = (
        "import sys, importlib.util\n"
        "from regdoctor.net.lean_httpcore import OPTIONAL_EXTRAS, httpcore\n"
        "from httpcore import _synchronization\n"
        "from regdoctor.net import asyncio_sync\n"
        "assert all(name not in sys.modules for name in OPTIONAL_EXTRAS)\n"
        "assert _synchronization.anyio is asyncio_sync\n"
        "print(all(sys.modules.get(n, 0) is not None for n in OPTIONAL_EXTRAS))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["True"]


def test_tags_json_imports_no_terminal_renderer(testbed: Testbed, isolate_env):
    """A tag scan's JSON is written verbatim: no Rich, and no optional backend."""
    ep = testbed.endpoints["plain"]
    argv = ["tags", f"{ep.url}/{testbed.images.app.repository}", "--format", "json"]
    _modules_after(argv)  # fills the rule cache
    modules, out = _modules_after(argv)
    assert json.loads(out)["resolution"]["resolved"] >= 1
    assert not modules & {"rich", *NOT_FOR_CHECK}, sorted(modules & {"rich", *NOT_FOR_CHECK})


def test_dataclasses_a_check_imports_have_docstrings():
    """``@dataclass`` gives a class without a docstring one made from
    ``inspect.signature(cls)``: ~0.15 ms per class at every start-up, for text no one
    reads. The check path's dataclasses carry their own."""
    program = (
        "import dataclasses, json, sys\n"
        "import regdoctor.cli.check, regdoctor.check.plan, regdoctor.check.pipeline\n"
        "import regdoctor.check.verdicts, regdoctor.cli.stream, regdoctor.render.plain\n"
        "import regdoctor.engine.cache, regdoctor.discovery.effective\n"
        "import regdoctor.discovery.targets\n"
        "found = sorted(\n"
        "    f'{name}.{obj.__name__}'\n"
        "    for name, module in list(sys.modules.items()) if name.startswith('regdoctor')\n"
        "    for obj in vars(module).values()\n"
        "    if isinstance(obj, type) and dataclasses.is_dataclass(obj)\n"
        "    and obj.__module__ == name and (obj.__doc__ or '').startswith(obj.__name__ + '(')\n"
        ")\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []


#: httpx's client, models and what they import (the cookie jar's ``urllib.request``,
#: ``http.client``, ``email``; ``idna``): regdoctor's requests go through httpcore
#: directly (``net/http_client.py``).
NOT_FOR_REQUESTS = (
    "httpx",
    "http.cookiejar",
    "urllib.request",
    "http.client",
    "idna",
)


def test_check_and_tags_make_their_requests_without_httpx(testbed: Testbed, isolate_env):
    """A healthy check (plain HTTP, then TLS with a token) and a tag scan send their
    requests through httpcore: no httpx module, nor what httpx alone imported."""
    plain, tls = testbed.endpoints["plain"], testbed.endpoints["tls"]
    _mark_insecure(isolate_env.config_root, plain.hostport)
    tls_check = ["check", "--format", "json", "--runtime", "podman"]
    tls_check += ["--ca-file", str(testbed.ca_file), testbed.images.app.ref(tls.hostport)]
    runs = [
        ["check", "--format", "json", testbed.images.app.ref(plain.hostport)],
        tls_check,
        ["tags", f"{plain.url}/{testbed.images.app.repository}", "--format", "json"],
    ]
    program = PROGRAM.replace("m.split('.')[0]", "m")
    for argv in runs:
        _modules_after(argv)  # fills the rule cache
        result = subprocess.run(
            [sys.executable, "-c", program.format(argv=argv)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        modules = set(json.loads(result.stderr.strip().splitlines()[-1]))
        report = json.loads(result.stdout)
        if argv[0] == "check":
            assert [t["status"] for t in report["targets"]] == ["ok"] * len(report["targets"])
        else:
            assert report["resolution"]["resolved"] >= 1
        assert "httpcore" in modules and "h11" in modules  # requests were made
        leaked = sorted(m for m in modules if m.split(".")[0] == "httpx")
        leaked += sorted(modules & set(NOT_FOR_REQUESTS))
        assert not leaked, (argv[0], leaked)
