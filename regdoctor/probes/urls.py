"""The registry's base URL as the runtimes write it (scheme, host, the port they name),
for every phase that sends a request."""

from __future__ import annotations

from regdoctor.probes.base import ProbeContext


def base_url(ctx: ProbeContext) -> str:
    target = ctx.target
    scheme = ctx.state.scheme or target.scheme or "https"
    default = 443 if scheme == "https" else 80
    host = f"[{target.host}]" if ":" in target.host else target.host
    port = "" if target.port == default else f":{target.port}"
    if scheme == "http" and not names_port(target.registry):
        # a registry named without a port: the runtimes' http:// URL has none either
        # (moby registry/endpoint_v2.go ``http://`` + the index name; containers/image
        # docker_client.go ``%s://%s/v2/``; hosts.toml ``server = "http://host"``), so
        # port 80, not the 443 the https:// attempt dialled
        port = ""
    return f"{scheme}://{host}{port}"


def names_port(registry: str) -> bool:
    """``registry`` (``host``, ``host:5000``, ``[::1]:5000``) names a port."""
    tail = registry.rsplit("]", 1)[-1]
    return ":" in tail and tail.rsplit(":", 1)[1].isdigit()
