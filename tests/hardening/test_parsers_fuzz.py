"""Property tests of every parser of untrusted input this issue owns, and of the
configuration parsers (issue 4) through their public loaders; YAML safety.

Any input gives a value (or a located issue), never an exception, a hang or unbounded
memory. ``EXAMPLES`` examples per test (hypothesis); the closing note of issue 5 counts
them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import resource
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regdoctor.net import auth_dance, wwwauth
from regdoctor.probes import exchange
from regdoctor.redact import secrets as redact

EXAMPLES = 200
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def forget_learned_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    """decode_token() remembers tokens for redaction (process state): keep fuzzed
    tokens from masking text in other tests."""
    monkeypatch.setattr(redact, "_LEARNED", redact.SecretSet(redact.LEARNED_BUDGET_BYTES))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["errors", "code", "message", "token", "access_token", "expires_in", "detail"]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
json_bytes = json_values.map(lambda v: json.dumps(v).encode())
any_bytes = st.binary(max_size=400) | json_bytes


# -- WWW-Authenticate ------------------------------------------------------------------

challenge_text = st.lists(
    st.sampled_from(
        [
            "Bearer ",
            "Basic ",
            "realm=",
            "service=",
            "scope=",
            '"',
            '\\"',
            ",",
            " ",
            "=",
            "https://a/t",
            'error="insufficient_scope"',
            "\x00",
            "\x1b]52;",
        ]
    )
    | st.text(max_size=10),
    max_size=40,
).map("".join)


@FUZZ
@given(challenge_text)
def test_wwwauth_any_header(header: str) -> None:
    for challenge in wwwauth.parse(header):
        assert challenge.scheme and challenge.scheme == challenge.scheme.lower()
        assert len(challenge.params) <= wwwauth.MAX_PARAMS
        assert all(len(v) <= 2048 for v in challenge.params.values())
    chosen = wwwauth.first(header)
    assert chosen is None or chosen.scheme in {c.scheme for c in wwwauth.parse(header)}


@FUZZ
@given(
    st.dictionaries(
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
        st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20),
        min_size=1,
        max_size=6,
    )
)
def test_wwwauth_round_trip(params: dict[str, str]) -> None:
    """What a well-formed header says is read back exactly (quotes and backslashes
    escaped as RFC 7230 quoted-strings)."""
    quoted = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in params.items()
    )
    challenge = wwwauth.first(f"Bearer {quoted}")
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == params


# -- the token answer ------------------------------------------------------------------


@FUZZ
@given(any_bytes)
def test_decode_token_any_body(body: bytes) -> None:
    token, expires = auth_dance.decode_token(body)
    assert token is None or (isinstance(token, str) and token)
    assert expires is None or isinstance(expires, int)


@FUZZ
@given(st.text(max_size=200), st.integers(min_value=-(2**63), max_value=2**63))
def test_decode_token_round_trip(token: str, expires: int) -> None:
    body = json.dumps({"token": token, "expires_in": expires}).encode()
    assert auth_dance.decode_token(body) == ((token, expires) if token else (None, None))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@FUZZ
@given(
    st.text(max_size=50), any_bytes, st.text(max_size=20), st.sampled_from(["", ".", "..", "eyJ"])
)
def test_token_claims_any_token(a: str, payload: bytes, c: str, shape: str) -> None:
    """Opaque strings, JWT-shaped strings with any payload: a kind, never an error."""
    for token in (a, f"{_b64(b'{}')}.{_b64(payload)}.{c}", f"{shape}{a}.{c}.x"):
        kind, granted = auth_dance.token_claims(token)
        assert kind in ("jwt", "opaque")
        assert granted is None or (isinstance(granted, list) and len(granted) <= 20)


def test_decode_token_refuses_huge_and_deep() -> None:
    assert auth_dance.decode_token(b"{" * 100_000) == (None, None)
    assert auth_dance.decode_token(b"[" * 50_000 + b"]" * 50_000) == (None, None)
    big = json.dumps({"token": "x" * (auth_dance.MAX_TOKEN_BYTES + 1)}).encode()
    assert auth_dance.decode_token(big) == (None, None)


# -- registry error documents and bodies -----------------------------------------------


@FUZZ
@given(any_bytes)
def test_error_document_any_body(body: bytes) -> None:
    data = exchange.parse_json(body)
    codes = exchange.error_codes(data)
    assert len(codes) <= 10 and all(len(c) <= exchange.MAX_ERROR_CODE for c in codes)
    message = exchange.error_message(data)
    assert (
        message is None or len(message) <= exchange.MAX_ERROR_CODE + 2 + exchange.MAX_ERROR_MESSAGE
    )


def test_error_document_hostile_shapes() -> None:
    for body in (
        b'{"errors":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"errors":[{"code":' + b"9" * 100_000 + b"}]}",  # longer than int parsing allows
        json.dumps({"errors": [{"code": "X" * 10**6, "message": "m" * 10**6}]}).encode(),
        json.dumps({"errors": [{"code": {"nested": ["x"] * 10**5}}]}).encode(),
    ):
        data = exchange.parse_json(body)
        assert all(len(c) <= exchange.MAX_ERROR_CODE for c in exchange.error_codes(data))
        message = exchange.error_message(data)
        assert message is None or len(message) < 1100


async def _chunks(data: bytes, size: int):  # type: ignore[no-untyped-def]
    for i in range(0, len(data), size):
        yield data[i : i + size]


@FUZZ
@given(
    st.binary(max_size=3000),
    st.integers(1, 700),
    st.integers(1, 2000),
    st.sampled_from([None, "gzip", "deflate", "x-gzip", "br", "GZIP "]),
)
def test_read_capped_never_exceeds_the_cap(data: bytes, chunk: int, limit: int, encoding) -> None:  # type: ignore[no-untyped-def]
    if encoding and encoding.strip().lower() in ("gzip", "x-gzip"):
        data = zlib.compress(data, 6, 31) if len(data) % 2 else data  # valid or garbage
    elif encoding == "deflate":
        data = zlib.compress(data)
    body, truncated = asyncio.run(exchange.read_capped(_chunks(data, chunk), limit, encoding))
    assert len(body) <= limit
    if encoding is None:
        assert body == data[:limit] and truncated == (len(data) >= limit)


def test_read_capped_gzip_bomb_is_cheap() -> None:
    from tests.harness.hostile import gzip_bomb

    data = gzip_bomb()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    body, truncated = asyncio.run(exchange.read_capped(_chunks(data, 65536), 256 * 1024, "gzip"))
    assert truncated and len(body) == 256 * 1024
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024  # KiB


# -- the redactor ----------------------------------------------------------------------


secrets_ = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~+", min_size=8, max_size=40)


@FUZZ
@given(st.text(max_size=300), secrets_.filter(lambda s: not s.startswith("-")))
def test_redact_never_shows_a_planted_secret(text: str, secret: str) -> None:
    """(A value after ``--password`` that starts with ``-`` reads as the next option
    and is left alone: documented limit.)"""
    planted = [
        lambda s: f"{text} Authorization: Bearer {s}",
        lambda s: f"https://user:{s}@host/{text}",
        lambda s: f"https://s3/x?X-Amz-Signature={s}&a={text}",
        lambda s: json.dumps({"password": s, "note": text}),
        lambda s: f"{text} --password {s}",
    ]
    for plant in planted:
        if secret in plant(""):
            continue  # the "secret" is the template's own wording (e.g. "password")
        shown = redact.redact(plant(secret))
        assert secret not in shown.replace(text, "") or secret in text
    redactor = redact.Redactor([secret])
    assert secret not in redactor.redact(f"{text}{secret}{text}")


@FUZZ
@given(st.text(max_size=500))
def test_redact_any_text_is_total_and_idempotent(text: str) -> None:
    once = redact.redact(text)
    assert redact.redact(once) == once


def test_redact_is_linear_on_hostile_text() -> None:
    """Long runs that the patterns could backtrack on: bounded time."""
    import time

    for text in (
        "Authorization: " + "a " * 50_000,
        "https://" + "a:" * 50_000 + "@",
        "?" + "token=&" * 30_000,
        "Bearer " + "A" * 200_000,
        "eyJ" + "a" * 100_000 + "." * 1000,
        '"password": "' + "\\" * 100_000,
    ):
        start = time.monotonic()
        redact.redact(text)
        assert time.monotonic() - start < 2.0, text[:40]


# -- YAML: rule files ------------------------------------------------------------------

BILLION_LAUGHS = textwrap.dedent(
    """\
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    id: billion-laughs
    category: other
    severity: error
    title: "{i}"
    explanation: "{i} {h} {g}"
    match:
      observations:
        all:
          - kind: http.response
            facts: {status: *i}
    """
)

_LOAD_SCRIPT = """
import resource, sys, time
from pathlib import Path
from regdoctor.engine.evaluate import evaluate
from regdoctor.engine.loader import load_catalog
from regdoctor.model import Observation
from regdoctor.reference.targets import parse_target
start = time.monotonic()
catalog = load_catalog(extra_dirs=[Path(sys.argv[1])], bundled=False)
loaded = time.monotonic() - start
errors = [str(p) for e in catalog.errors for p in e.problems]
if catalog.rules:
    target = parse_target("127.0.0.1:5000")
    obs = [Observation(kind="http.response", target=target.id, ok=False, phase="http",
                       facts={"status": 401})]
    evaluate(catalog, target, obs)
print(len(catalog.rules), len(errors), round(loaded, 2), errors[:1])
from tests.hardening.runner import vm_hwm_kib
rss = vm_hwm_kib() // 1024
print(rss, round(time.monotonic() - start, 2))
"""


def _load_rules(directory: Path, timeout_s: float = 30) -> tuple[str, float, int]:
    """Load ``directory`` as a rule folder in a fresh process; its output, wall time
    and peak RSS in MB."""
    import time

    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(directory)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rss = int(proc.stdout.splitlines()[-1].split()[0])
    return proc.stdout, time.monotonic() - start, rss


def test_billion_laughs_rule_file_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "billion-laughs.yaml").write_text(BILLION_LAUGHS)
    output, elapsed, rss_mb = _load_rules(tmp_path, timeout_s=3)
    assert elapsed < 10, output
    assert rss_mb < 200, output
    rules, errors = (int(x) for x in output.split()[:2])
    assert rules == 0 and errors == 1, output  # refused, with a readable reason


def test_yaml_tags_that_run_code_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    (tmp_path / "evil.yaml").write_text(
        f"id: evil\ncategory: other\nseverity: error\n"
        f"title: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    output, _elapsed, _rss = _load_rules(tmp_path)
    assert not marker.exists()
    assert output.split()[:2] == ["0", "1"], output


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(st.text(max_size=400))
def test_rule_loader_any_text(text: str) -> None:
    import tempfile

    from regdoctor.engine.loader import load_catalog

    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "fuzz.yaml").write_text(text, encoding="utf-8", errors="replace")
        catalog = load_catalog(extra_dirs=[Path(directory)], bundled=False)
    assert len(catalog.rules) + len(catalog.errors) == 1


# -- configuration files (issue 4's parsers, through their public loaders) -------------

config_text = st.one_of(
    st.text(max_size=300),
    json_values.map(json.dumps),
    st.dictionaries(
        st.sampled_from(
            [
                "registry-mirrors",
                "insecure-registries",
                "auths",
                "credHelpers",
                "credsStore",
                "proxies",
                "hosts",
                "server",
                "registry",
                "location",
                "mirror",
                "prefix",
                "unqualified-search-registries",
                "apiVersion",
                "kind",
                "spec",
                "imagePullSecrets",
                "containers",
                "image",
            ]
        ),
        json_values,
        max_size=5,
    ).map(json.dumps),
)


def _loaders():  # type: ignore[no-untyped-def]
    from regdoctor.discovery import (
        containerd_hosts,
        docker_config,
        docker_daemon,
        kube,
        registries_conf,
    )

    def reg_conf(path: Path) -> object:
        conf = registries_conf.RegistriesConf()
        return registries_conf.load_into(conf, path)

    def kube_file(path: Path) -> object:
        manifests = kube.KubeManifests()
        kube.load_file(manifests, path)
        kube.analyse(manifests)
        return manifests

    return {
        "daemon.json": docker_daemon.load,
        "config.json": docker_config.load,
        "config.toml": containerd_hosts.load_config,
        "hosts.toml": lambda p: containerd_hosts.load_hosts(
            p, "docker.io", "/etc/containerd/certs.d"
        ),
        "registries.conf": reg_conf,
        "pod.yaml": kube_file,
    }


@settings(FUZZ, max_examples=EXAMPLES // 2)
@given(st.sampled_from(sorted(_loaders())), config_text)
def test_config_parsers_any_text(tmp_path_factory, name: str, text: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("cfg") / name
    path.write_text(text, encoding="utf-8", errors="replace")
    result = _loaders()[name](path)
    assert result is not None


@pytest.mark.parametrize("name", ["pod.yaml", "daemon.json"])
def test_config_parsers_billion_laughs(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(BILLION_LAUGHS if name.endswith(".yaml") else "[" * 100_000 + "]" * 100_000)
    script = (
        "import sys, resource; from pathlib import Path\n"
        "from tests.hardening.test_parsers_fuzz import _loaders\n"
        f"_loaders()[{name!r}](Path(sys.argv[1]))\n"
        "from tests.hardening.runner import vm_hwm_kib\n"
        "print(vm_hwm_kib() // 1024)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout.split()[-1]) < 200
