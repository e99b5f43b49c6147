"""The token realm's certificate judged per runtime in scope (probes/peer_host.py
``judged_per_runtime``): each runtime fetches the token with the registry's own client,
so with the registry's CA files. A realm whose CA only podman's certs.d for the registry
holds: podman goes on (regdoctor sends the token request, as podman does), the runtimes
that verify with other CA files fail at the realm, and the finding names only them."""

from __future__ import annotations

from pathlib import Path

from tests.hardening.runner import run
from tests.harness import hostile


def test_realm_trusted_by_one_runtime_only(serve, hostile_pki, tmp_path: Path) -> None:
    chain, key, root = hostile.long_chain(2, prefix="realm")
    directory = tmp_path / "realm-tls"
    directory.mkdir()
    token = serve(
        hostile.token_server, host="127.0.0.2", tls=hostile.tls_context(chain, key, directory)
    )
    registry = serve(
        hostile.bearer_challenge(f"https://{token.hostport}/token"), tls=hostile_pki.context
    )
    certs = tmp_path / "root" / "etc/containers/certs.d" / registry.hostport
    certs.mkdir(parents=True)
    (certs / "ca.crt").write_bytes(hostile_pki.ca_file.read_bytes())
    (certs / "realm-ca.crt").write_bytes(root)
    args = ["check", "--format", "json", "--timeout", "3", "--root", str(tmp_path / "root")]
    result = run(
        [*args, "--runtime", "all", "--ca-file", str(hostile_pki.ca_file), registry.hostport]
    )
    where = result.stdout[-4000:] + result.stderr[-1000:]
    verify = next(
        o
        for o in result.observations()
        if o["kind"] == "tls.verify" and o["facts"]["role"] == "realm"
    )
    assert verify["facts"]["trusted_by"]["podman"] is True, where
    failing = verify["facts"]["runtimes"]
    assert "podman" not in failing and "docker" not in failing, where  # docker: loopback
    assert failing, verify["facts"]  # containerd and the CRI: no CA in their certs.d
    # podman's token request was sent, and the token accepted
    assert [r for r in token.requests if r.path.startswith("/token")], where
    verdicts = result.document["targets"][0]["runtimes"]
    assert verdicts["podman"]["status"] == "ok", (verdicts, where)
    for runtime in failing:
        assert verdicts[runtime]["status"] == "error", (verdicts, where)
    finding = next(f for f in result.findings if f["rule"] == "tls-realm-unknown-authority")
    assert set(finding["runtimes"]) <= set(failing) and finding["runtimes"], (finding, where)
