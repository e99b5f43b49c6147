"""The realm hints file (net/realm_hints.py): what it keeps, for how long, and what it
refuses to read."""

from __future__ import annotations

import json
import os
import time

import pytest

from regdoctor.cache_files import cache_dir
from regdoctor.net import realm_hints
from regdoctor.net.realm_hints import FILE_NAME, RealmHints, origin


def _file() -> dict[str, dict[str, object]]:
    return json.loads((cache_dir() / FILE_NAME).read_text())


def _write(data: object) -> None:
    cache_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    path = cache_dir() / FILE_NAME
    path.write_text(json.dumps(data))
    path.chmod(0o600)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://auth.example.test/token?service=x&scope=y", "https://auth.example.test:443"),
        ("http://auth.example.test/token", "http://auth.example.test:80"),
        ("https://user:secret@auth.example.test:8443/t", "https://auth.example.test:8443"),
        ("https://[::1]:5001/token", "https://[::1]:5001"),
        ("ftp://auth.example.test/", None),
        ("https:///token", None),
        ("https://auth.example.test:99999/", None),
        ("not a url", None),
    ],
)
def test_origin_keeps_scheme_host_and_port_only(url: str, expected: str | None) -> None:
    assert origin(url) == expected


def test_a_realm_is_kept_between_runs_and_forgotten_when_the_registry_names_none(
    isolate_env: object,
) -> None:
    first = RealmHints()
    assert first.recall("reg.test:443") is None
    first.note("reg.test:443", "https://auth.test/token?scope=repository:a:pull")
    first.save()
    assert _file() == {
        "reg.test:443": {"realm": "https://auth.test:443", "seen": pytest.approx(time.time(), 5)}
    }
    second = RealmHints()
    assert second.recall("reg.test:443") == "https://auth.test:443"
    second.note("reg.test:443", None)  # anonymous now, or Basic
    second.save()
    assert _file() == {}
    assert RealmHints().recall("reg.test:443") is None


def test_a_hint_confirmed_within_a_day_is_not_written_again(isolate_env: object) -> None:
    hints = RealmHints()
    hints.note("reg.test:443", "https://auth.test/token")
    hints.save()
    path = cache_dir() / FILE_NAME
    before = path.stat().st_mtime_ns
    os.utime(path, ns=(before - 10**9, before - 10**9))
    again = RealmHints()
    again.note("reg.test:443", "https://auth.test/other-path")  # same origin
    again.save()
    assert path.stat().st_mtime_ns == before - 10**9  # untouched


def test_old_hints_and_malformed_entries_are_dropped(isolate_env: object) -> None:
    now = time.time()
    _write(
        {
            "fresh.test:443": {"realm": "https://auth.test:443", "seen": now - 60},
            "stale.test:443": {"realm": "https://auth.test:443", "seen": now - 31 * 86400},
            "future.test:443": {"realm": "https://auth.test:443", "seen": now + 86400},
            "path.test:443": {"realm": "https://auth.test:443/token", "seen": now},
            "kind.test:443": {"realm": ["x"], "seen": now},
            "nodate.test:443": {"realm": "https://auth.test:443"},
            "list.test:443": ["https://auth.test:443"],
        }
    )
    hints = RealmHints()
    kept = [
        r
        for r in ("fresh", "stale", "future", "path", "kind", "nodate", "list")
        if hints.recall(f"{r}.test:443")
    ]
    assert kept == ["fresh"]


@pytest.mark.parametrize("content", ["{not json", "[]", '"x"', "\xff"])
def test_an_unreadable_file_is_an_empty_one(isolate_env: object, content: str) -> None:
    cache_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    path = cache_dir() / FILE_NAME
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    assert RealmHints().recall("reg.test:443") is None


def test_a_file_others_may_write_is_not_read(isolate_env: object) -> None:
    _write({"reg.test:443": {"realm": "https://evil.test:443", "seen": time.time()}})
    (cache_dir() / FILE_NAME).chmod(0o666)
    assert RealmHints().recall("reg.test:443") is None
    (cache_dir() / FILE_NAME).chmod(0o600)
    cache_dir().chmod(0o777)
    try:
        assert RealmHints().recall("reg.test:443") is None
    finally:
        cache_dir().chmod(0o700)


def test_the_newest_hints_survive_the_cap(
    isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realm_hints, "MAX_ENTRIES", 3)
    hints = RealmHints()
    for n in range(5):
        hints.note(f"reg{n}.test:443", f"https://auth{n}.test/token")
    hints.note("reg1.test:443", "https://moved.test/token")  # confirmed again: newest
    hints.save()
    assert list(_file()) == ["reg3.test:443", "reg4.test:443", "reg1.test:443"]


def test_no_cache_reads_and_writes_nothing(
    isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write({"reg.test:443": {"realm": "https://auth.test:443", "seen": time.time()}})
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    hints = RealmHints()
    assert hints.recall("reg.test:443") is None
    hints.note("other.test:443", "https://auth.test/token")
    hints.save()
    assert list(_file()) == ["reg.test:443"]


HUB = "registry-1.docker.io:443"


def test_docker_hub_and_gitlab_com_are_known_without_a_file(
    isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Their realm is another host named by every 401 they send: a first check reaches it
    early, also with the cache off (the table is not a cache)."""
    assert RealmHints().recall(HUB) == "https://auth.docker.io:443"
    assert RealmHints().recall("registry.gitlab.com:443") == "https://gitlab.com:443"
    assert RealmHints().recall("docker.io:443") is None  # never dialled: not a key
    monkeypatch.setenv("REGDOCTOR_NO_CACHE", "1")
    assert RealmHints().recall(HUB) == "https://auth.docker.io:443"
    assert not (cache_dir() / FILE_NAME).exists()


def test_what_a_known_registry_names_wins(isolate_env: object) -> None:
    """Named as known: nothing written. Named another realm: that one, learned. Named
    none (a mirror answering under the name, a proxy): remembered as none, so the next
    check does not reach auth.docker.io for nothing; naming the known realm again clears
    it."""
    hints = RealmHints()
    assert not hints.learned(HUB)  # known, not learned: the trace says which
    hints.note(HUB, "https://auth.docker.io/token?service=registry.docker.io")
    hints.save()
    assert not (cache_dir() / FILE_NAME).exists()

    hints.note(HUB, None)
    hints.save()
    assert _file() == {HUB: {"realm": None, "seen": pytest.approx(time.time(), 5)}}
    assert RealmHints().recall(HUB) is None
    assert RealmHints().learned(HUB)

    again = RealmHints()
    again.note(HUB, "https://auth.elsewhere.test/token")
    again.save()
    assert RealmHints().recall(HUB) == "https://auth.elsewhere.test:443"

    back = RealmHints()
    back.note(HUB, "https://auth.docker.io/token")
    back.save()
    assert _file() == {}
    assert RealmHints().recall(HUB) == "https://auth.docker.io:443"


def test_a_null_realm_is_read_for_known_registries_only(isolate_env: object) -> None:
    now = time.time()
    _write(
        {
            HUB: {"realm": None, "seen": now},
            "other.test:443": {"realm": None, "seen": now},
            "registry.gitlab.com:443": {"realm": None, "seen": now - 31 * 86400},
        }
    )
    hints = RealmHints()
    assert hints.recall(HUB) is None
    assert "other.test:443" not in hints._load()
    # a stale "none" is forgotten: the known realm applies again
    assert hints.recall("registry.gitlab.com:443") == "https://gitlab.com:443"


def test_a_known_realm_behind_a_proxy_stays_known(
    isolate_env: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked through a proxy, Docker Hub's 401 still names auth.docker.io; the check
    does not reach it itself (``peer_key`` None), but the next direct check must still
    reach it early: nothing is noted as "none" (it was, which turned KNOWN off)."""
    from types import SimpleNamespace

    from regdoctor.probes import auth

    monkeypatch.setattr(auth, "peer_key", lambda _ctx, _url: None)
    hints = RealmHints()

    def remember(registry: str, realm: str) -> None:
        ctx = SimpleNamespace(
            network=SimpleNamespace(realm_hints=hints), target=SimpleNamespace(hostport=registry)
        )
        outcome = SimpleNamespace(auth_scheme="bearer", realm=realm, outcome="authenticated")
        auth._remember_realm(ctx, outcome)  # type: ignore[arg-type]

    remember(HUB, "https://auth.docker.io/token")
    assert hints.recall(HUB) == "https://auth.docker.io:443" and not hints.learned(HUB)
    remember("reg.test:443", "https://auth.test/token")  # unknown, not reached itself
    assert hints.recall("reg.test:443") is None
