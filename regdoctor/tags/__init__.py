"""Tags, digests and mirrors: list a repository's tags, resolve each tag's digest with
bounded concurrency over pooled keep-alive connections, and turn what was seen (aliases,
drift against a state file, divergence across registries and mirrors, tag policy,
platforms, signatures, rate limits) into observations for the rule engine.

``regdoctor tags`` and ``regdoctor bench`` (``regdoctor/cli/tags.py``, ``bench.py``) drive
this package; see docs/tags.md. Nothing here decides a verdict: rules in
``rules/tag``, ``rules/mirror`` and ``rules/perf`` do.
"""
