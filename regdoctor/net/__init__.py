"""The network library every command shares, below the probes: resolving and pinning
(``network``), proxies (``proxy``), ``WWW-Authenticate`` (``wwwauth``), the sans-I/O
registry auth dance (``auth_dance``) and the keep-alive HEAD client (``keepalive``).
Nothing here judges or records observations; probes, tags and bench build on it."""
