"""Turning a target's observations into sorted findings.

Each rule yields at most one finding per target. Findings are sorted so the first one is
the most likely root cause: by severity (error, warning, info), then by the phase of the
first triggering observation in :data:`regdoctor.model.PHASES` order (an earlier phase is
closer to the cause), then by rule priority (higher first), then by rule id. The first
finding is marked ``leading``.

Rule files that failed to load become ``regdoctor.rule_invalid`` findings (warning), so a
broken catalog shows up in the report instead of silently judging less. They sort after
the target's own findings of the same severity: they describe regdoctor's setup, not the
target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from regdoctor.engine.loader import Catalog
from regdoctor.engine.match import MatchResult, match_observations
from regdoctor.engine.schema import Rule, RuleLoadError
from regdoctor.engine.template import (
    RUNTIME_NAMES,
    is_ip,
    is_loopback,
    port_given,
    render,
    step_missing,
)
from regdoctor.model import PHASES, Finding, Observation, RemediationStep, Severity, Target

RULE_INVALID = "regdoctor.rule_invalid"
RULE_CRASHED = "regdoctor.rule_crashed"
RULE_UNEXPLAINED = "regdoctor.unexplained_failure"

_LAST_PHASE = len(PHASES)


def target_context(target: Target) -> dict[str, Any]:
    """The template names a target provides."""
    reference = target.reference
    image = None
    if target.repository:
        image = f"{target.registry}/{target.repository}"
        if target.digest:
            image += f"@{target.digest}"
        elif target.tag:
            image += f":{target.tag}"
    return {
        "registry": target.registry,
        "host": target.host,
        "port": target.port,
        "hostport": target.hostport,
        "scheme": target.scheme,
        "repository": target.repository,
        "reference": reference,
        "image": image,
        "target": target.raw,
        "loopback": is_loopback(target.host),
        "port_given": port_given(target.registry),
        "host_is_ip": is_ip(target.host),
    }


def _facts(observation: Observation) -> Mapping[str, Any]:
    facts = getattr(observation, "facts", None)
    return facts if isinstance(facts, Mapping) else {}


def _hostport(host: Any, port: Any) -> str:
    host_text = str(host)
    if ":" in host_text and not host_text.startswith("["):
        host_text = f"[{host_text}]"
    return f"{host_text}:{port}" if port is not None else host_text


def build_context(
    target: Target,
    observations: Sequence[Observation],
    result: MatchResult,
    runtimes: Sequence[str] = (),
) -> dict[str, Any]:
    """Template names: target fields first, then the facts of the triggering observations
    (in condition order, first match wins; a fact also fills a target field the target
    leaves empty), then engine names. ``runtimes``: the runtimes the run judges
    (``runtime_docker``... are true for them, for conditional text)."""
    context = target_context(target)
    for name in RUNTIME_NAMES:
        context[name] = name.removeprefix("runtime_") in runtimes
    ordered = result.ordered()
    for i in ordered:
        for name, value in _facts(observations[i]).items():
            # a target name the target leaves empty (no scheme given) takes the fact
            if isinstance(name, str) and context.get(name) is None:
                context[name] = value
    first = observations[result.first]
    context.setdefault("kind", getattr(first, "kind", None))
    context.setdefault("step", getattr(first, "step", None))
    context.setdefault("phase", getattr(first, "phase", None))
    for i in ordered:
        error = getattr(observations[i], "error", None)
        if error:
            context.setdefault("error", error)
            break
    # peer: the host the first triggering observation talked to (the token server for
    # a realm observation), which may differ from the target's host.
    peer_host: Any = None
    peer_port: Any = None
    for i in ordered:
        facts = _facts(observations[i])
        for key in ("host", "name", "realm_host", "address"):
            if facts.get(key):
                peer_host = facts[key]
                peer_port = facts.get("port")
                break
        if peer_host is not None:
            break
    if peer_host is None:
        peer_host, peer_port = target.host, target.port
    context.setdefault("peer_host", peer_host)
    context.setdefault("peer_port", peer_port)
    context.setdefault("peer", _hostport(peer_host, peer_port))
    context["loopback"] = bool(context.get("loopback")) or is_loopback(context.get("address"))
    # the proxy in the path of every request to this target (dns names it when the
    # environment's proxy applies): host:port only, so no credential can be shown
    proxy = next((o for o in observations if getattr(o, "kind", None) == "proxy.configured"), None)
    proxy_facts = _facts(proxy) if proxy is not None else {}
    # the triggering request's own proxy and variable when it went through one (an
    # insecure registry's http:// goes through HTTP_PROXY's, which may be another proxy
    # than HTTPS_PROXY's, the one the DNS phase named): the two always go together
    request_env, request_proxy = _request_proxy(observations, ordered)
    context["via_proxy"] = request_proxy or proxy_facts.get("proxy_hostport") or None
    context["via_proxy_env"] = request_env or proxy_facts.get("env") or None
    # the daemon's unit drop-in directory that set it (a fix edits the unit there)
    context["via_proxy_unit"] = proxy_facts.get("unit_dir") or None
    context["via_proxy_unit_name"] = proxy_facts.get("unit") or None
    # the pod names a pull secret whose key the kubelet does not match to this image: a
    # fix adds the entry to that secret (k8s-pull-secret-no-entry); creating another
    # secret of that name would fail ("already exists") and change no pull
    endpoint = next(
        (o for o in observations if getattr(o, "kind", None) == "config.endpoint"), None
    )
    endpoint_facts = _facts(endpoint) if endpoint is not None else {}
    context["pod_secret_unmatched"] = endpoint_facts.get("pod_secret_unmatched") or None
    # the imagePullSecret the kubelet authenticates with (from the manifests): a fix
    # that replaces its account names that Secret, its namespace and its entry's key
    if endpoint_facts.get("pod_secret"):
        if context.get("secret") is None:
            context["secret"] = endpoint_facts["pod_secret"]
        if context.get("namespace") is None:
            context["namespace"] = endpoint_facts.get("pod_secret_namespace")
    elif context["pod_secret_unmatched"]:
        # no entry the kubelet uses: a fix adds one to that Secret (the pod's own; the
        # service account's are not passed for a pod that names any)
        if context.get("secret") is None:
            context["secret"] = context["pod_secret_unmatched"]
        if context.get("namespace") is None:
            context["namespace"] = endpoint_facts.get("pod_secret_unmatched_namespace")
    # the pod names a pull secret that does not exist: k8s-pull-secret-missing creates
    # it; a new Secret on the service account would not be passed for this pod
    context["pod_secret_missing"] = endpoint_facts.get("pod_secret_missing") or None
    if context["pod_secret_missing"] and context.get("namespace") is None:
        context["namespace"] = endpoint_facts.get("pod_secret_missing_namespace")
    context["pod_secret_key"] = endpoint_facts.get("pod_secret_key") or None
    # a pod that names no pull secret: a new Secret goes to its service account
    if endpoint_facts.get("pod_service_account") and context.get("service_account") is None:
        context["service_account"] = endpoint_facts["pod_service_account"]
        if context.get("namespace") is None:
            context["namespace"] = endpoint_facts.get("pod_service_account_namespace")
    # the kubelet's credentials are the CRI plugin's own (config.toml): its fix edits them
    context["cri_auth_file"] = endpoint_facts.get("cri_auth_file") or None
    # podman's failing endpoint with the registries.conf drop-in that marks it insecure
    # (check's runtime.path): any rule's podman fix for plain HTTP writes that drop-in
    podman = next(
        (
            o
            for o in observations
            if getattr(o, "kind", None) == "runtime.path"
            and _facts(o).get("runtime") == "podman"
            and _facts(o).get("podman_dropin")
        ),
        None,
    )
    for name, value in (_facts(podman) if podman is not None else {}).items():
        if name.startswith("podman_dropin") and context.get(name) is None:
            context[name] = value
    return context


def _request_proxy(
    observations: Sequence[Observation], ordered: Sequence[int]
) -> tuple[str | None, str | None]:
    """The variable that chose the proxy for the triggering request, and that proxy's
    host:port: Go's ProxyFromEnvironment takes HTTP_PROXY for an http:// URL,
    HTTPS_PROXY for https://. The DNS phase names the one for the first attempt (https);
    a request that went on to an insecure registry's http:// went through HTTP_PROXY's
    proxy. (None, None) when no request of the finding went through a proxy."""
    from urllib.parse import urlsplit

    for i in ordered:
        facts = _facts(observations[i])
        url, proxy = facts.get("url"), facts.get("proxy")
        # http.plain_port: the look at port 80 after a refused 443 (probes/tcp.py)
        if getattr(observations[i], "kind", None) not in ("http.response", "http.plain_port"):
            continue
        if not proxy:
            continue
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            continue
        env = "HTTP_PROXY" if url.lower().startswith("http://") else "HTTPS_PROXY"
        try:  # host:port only: the fact is redacted, and no credential may be shown
            parts = urlsplit(str(proxy))
            host = parts.hostname
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
            if host and ":" in host:
                host = f"[{host}]"
            hostport = f"{host}:{port}" if host and port else None
        except ValueError:
            hostport = None
        return env, hostport
    return None, None


def _phase_index(phase: str) -> int:
    try:
        return PHASES.index(phase)
    except ValueError:
        return _LAST_PHASE


def _finding(
    rule: Rule,
    target: Target,
    observations: Sequence[Observation],
    result: MatchResult,
    runtimes: Sequence[str] = (),
) -> Finding:
    context = build_context(target, observations, result, runtimes)
    first = observations[result.first]
    if any(step.commands or step.checks for step in rule.remediation):
        # shell quoting and heredocs: imported by the first finding that has commands
        from regdoctor.engine.command_template import render_command
    return Finding(
        rule=rule.id,
        category=rule.category,
        severity=rule.severity,
        confidence=rule.confidence.live,
        target=target.raw,
        phase=str(getattr(first, "phase", "") or ""),
        title=render(rule.title, context),
        explanation=render(rule.explanation, context),
        remediation=tuple(
            RemediationStep(
                text=render(step.text, context, step_missing),
                commands={
                    tool: render_command(cmd, context) for tool, cmd in step.commands.items()
                },
                checks={tool: render_command(cmd, context) for tool, cmd in step.checks.items()},
            )
            for step in rule.remediation
        ),
        references=rule.references,
        observations=result.indices,
    )


def _own_finding(
    rule: str,
    severity: Severity,
    target: Target,
    *,
    phase: str,
    title: str,
    explanation: str,
    remedy: str,
    confidence: str = "high",
    observations: tuple[int, ...] = (),
) -> Finding:
    """A finding the engine makes about itself or the catalog (category ``other``)."""
    return Finding(
        rule=rule,
        category="other",
        severity=severity,
        confidence=confidence,
        target=target.raw,
        phase=phase,
        title=title,
        explanation=explanation,
        remediation=(RemediationStep(text=remedy),),
        observations=observations,
    )


def rule_invalid_finding(error: RuleLoadError, target: Target) -> Finding:
    problems = "\n".join(f"- {p}" for p in error.problems)
    return _own_finding(
        RULE_INVALID,
        Severity.WARNING,
        target,
        phase="config",
        title=f"Rule file {error.path.name} is invalid and was not used",
        explanation=(
            f"regdoctor could not load the rule file {error.path}, so the checks it "
            f"describes were not made for this target:\n{problems}"
        ),
        remedy=(
            f"Fix or remove {error.path}, then check it with "
            f"`regdoctor rules test --dir {error.path.parent}`."
        ),
    )


def _rule_crashed_finding(rule: Rule, target: Target, exc: Exception) -> Finding:
    return _own_finding(
        RULE_CRASHED,
        Severity.WARNING,
        target,
        phase="config",
        title=f"Rule {rule.id} could not be evaluated",
        explanation=f"Evaluating rule {rule.id} failed with {type(exc).__name__}: {exc}",
        remedy="Report this as a regdoctor bug, with `--debug` output.",
    )


def _unexplained_finding(observation: Observation, index: int, target: Target) -> Finding:
    phase = str(observation.facts.get("phase") or observation.phase)
    error = observation.error or "no detail"
    return _own_finding(
        RULE_UNEXPLAINED,
        Severity.ERROR,
        target,
        phase=phase,
        confidence="medium",
        observations=(index,),
        title=f"The {phase} phase failed for a reason no rule describes",
        explanation=(
            f"The {phase} phase of {target.raw} failed ({error}), and none of regdoctor's "
            "rules recognised the outcome, so it is reported as it is rather than as a "
            "healthy result. The observations of that phase (`-v`, or the JSON report) "
            "show what was seen."
        ),
        remedy=(
            "Look at the phase's observations with `regdoctor check -v` (or `--debug` for "
            "every request), and report the outcome to regdoctor so that a rule can name it."
        ),
    )


def evaluate(
    catalog: Catalog,
    target: Target,
    observations: Sequence[Observation],
    *,
    runtimes: Sequence[str] = (),
) -> list[Finding]:
    """Judge one target's observations with every rule of ``catalog``. ``runtimes``: the
    runtimes the run judges, for the rules' conditional text (``{if runtime_docker}``)."""
    observations = list(observations)
    keyed: list[tuple[tuple[Any, ...], Finding]] = []
    for rule in catalog.rules:
        if rule.observations is None:
            continue  # text-only rules judge pasted errors (``explain``)
        try:
            result = match_observations(rule.observations, observations)
            if result is None:
                continue
            finding = _finding(rule, target, observations, result, runtimes)
        except Exception as exc:  # a crash is a result, never a traceback
            finding = _rule_crashed_finding(rule, target, exc)
            keyed.append(((finding.severity.rank, _LAST_PHASE + 1, 0, rule.id), finding))
            continue
        key = (finding.severity.rank, _phase_index(finding.phase), -rule.priority, rule.id)
        keyed.append((key, finding))
    for error in catalog.errors:
        finding = rule_invalid_finding(error, target)
        keyed.append(((finding.severity.rank, _LAST_PHASE + 1, 0, str(error.path)), finding))
    if not any(f.severity is Severity.ERROR for _key, f in keyed):
        # A safety net: a phase failed and no rule says anything about it. The run must
        # not look healthy because the catalog did not foresee this outcome.
        explained = {f.phase for _key, f in keyed if f.severity is not Severity.INFO}
        failed = next(
            (
                i
                for i, o in enumerate(observations)
                if o.kind == "phase.failed" and o.facts.get("phase", o.phase) not in explained
            ),
            None,
        )
        if failed is not None:
            finding = _unexplained_finding(observations[failed], failed, target)
            keyed.append(((finding.severity.rank, _phase_index(finding.phase), 0, ""), finding))
    keyed.sort(key=lambda pair: pair[0])
    findings = [finding for _key, finding in keyed]
    # The leading finding is the root cause of a problem: an info note never leads.
    if findings and findings[0].severity is not Severity.INFO:
        findings[0] = dataclasses.replace(findings[0], leading=True)
    return findings
