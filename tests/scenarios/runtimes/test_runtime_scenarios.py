"""regdoctor's per-runtime verdicts and fixes against the real runtimes (issue #12).

For every scenario of :mod:`.table` and every client it names (docker = dockerd 20.10 +
CLI, containerd = ``ctr images pull --hosts-dir /etc/containerd/certs.d``, podman,
kubernetes = the kubelet's CRI ``PullImage`` to containerd 1.6's CRI plugin, with the
pod's imagePullSecret as ``AuthConfig``):

1. the real client pulls; its outcome and exact error text are the truth;
2. ``regdoctor check --format json --root <sandbox /> --dns-server 127.0.0.1:53
   --runtime R IMAGE`` inside the sandbox: ``targets[0].runtimes[R].status`` must be
   ``error`` exactly when the client failed (for a slow registry, steps 1 and 2 of
   every client run at the same time: :func:`pull_and_judge_at_once`);
3. when it failed: ``regdoctor explain`` on the client's exact error text names the
   same category as ``runtimes[R].category`` (else the leading finding for R);
4. when it failed: regdoctor's fix commands for R (``remediation[].commands[R]`` of the
   findings whose ``runtimes`` list R, in order) run literally with bash in the sandbox
   (see :mod:`.world` for the shims and what the fix finds: ``./ca.crt``,
   ``$REGISTRY_USERNAME``, ``$REGISTRY_PASSWORD`` and the password on stdin), then the
   same client pulls again and must succeed;
5. a row goes to the results table (``conftest.py``).

Every problem of a scenario is collected and reported together, per client.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness.runtimes import runtime_marks
from tests.helpers.commands_lint import command_problems, document_commands
from tests.scenarios.runtimes.conftest import FIXED, Row
from tests.scenarios.runtimes.scenario import PASSWORD, Client, Scenario
from tests.scenarios.runtimes.table_edges import SCENARIOS
from tests.scenarios.runtimes.world import Authorities, PullResult, World, build

pytestmark = runtime_marks(
    # slow scenarios: pulls at 1.5-3.5 s per answer, regdoctor with the runtimes' limits
    pytest.mark.timeout(400)
)

SLOW_FORBIDDEN = ("tls.", "http.timeout", "tcp.timeout")


@dataclass
class Verdict:
    status: str = "?"
    reason: str = ""
    category: str = ""
    document: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


def _doc(out: Any) -> dict[str, Any] | None:
    try:
        doc = json.loads(out.stdout)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def judge(world: World, runtime: Client) -> Verdict:
    """Step 2: regdoctor's verdict for ``runtime``."""
    out = world.check(runtime)
    doc = _doc(out)
    if doc is None:
        return Verdict(
            "no JSON",
            problem=f"`regdoctor check --runtime {runtime}` exited {out.returncode} without a "
            f"JSON document; stderr: {out.stderr.strip()[-600:]}",
        )
    targets = doc.get("targets") or []
    if not targets:
        return Verdict("no target", document=doc, problem="the JSON document has no targets")
    runtimes = targets[0].get("runtimes")
    if runtimes is None:
        return Verdict(
            "no runtimes key",
            document=doc,
            problem=(
                f"regdoctor's JSON (schema_version {doc.get('schema_version')}) has no "
                "targets[0].runtimes: the per-runtime verdicts of issue #12 are not "
                "implemented in this regdoctor yet"
            ),
        )
    verdict = runtimes.get(runtime)
    if not isinstance(verdict, dict):
        return Verdict(
            "no verdict",
            document=doc,
            problem=f"targets[0].runtimes has no {runtime!r} entry (it has {sorted(runtimes)})",
        )
    category = verdict.get("category") or ""
    if not category:
        leading = [f for f in runtime_findings(doc, runtime) if f.get("severity") == "error"]
        category = leading[0]["category"] if leading else ""
    return Verdict(str(verdict.get("status")), str(verdict.get("reason") or ""), category, doc)


def pull_and_judge_at_once(
    world: World, clients: tuple[Client, ...]
) -> tuple[dict[Client, PullResult], dict[Client, Verdict]]:
    """Steps 1 and 2 of a slow scenario, every pull and every check at the same time.

    A slow registry's pulls and checks are mostly waiting (the delay proxy holds each of
    their answers, 4 to 10 times in a row): run one after the other they took 37-40 s.
    Nothing they share has state that one could change for another: the registry is an
    anonymous TLS one (no rate limit, no token), each client pulls into its own store
    (dockerd's data root, podman's root, containerd's namespaces), and ``check`` only
    reads the node's files. The delay proxy holds each connection's answers on its own,
    so every request of every client still waits the whole delay. Only subprocesses
    that run to completion start here (``Sandbox.run``, the CRI's gRPC call), never a
    daemon: PDEATHSIG of a process started from a worker thread would fire when that
    thread ends."""
    with ThreadPoolExecutor(max_workers=2 * len(clients), thread_name_prefix="slow") as pool:
        pulls = {client: pool.submit(world.pull, client) for client in clients}
        checks = {client: pool.submit(judge, world, client) for client in clients}
        return (
            {client: future.result() for client, future in pulls.items()},
            {client: future.result() for client, future in checks.items()},
        )


def runtime_findings(doc: dict[str, Any], runtime: Client) -> list[dict[str, Any]]:
    return [f for f in doc.get("findings", []) if runtime in (f.get("runtimes") or [])]


def fix_commands(doc: dict[str, Any], runtime: Client) -> list[str]:
    """The fix: the commands of the *error* findings that apply to the runtime, in order
    (warnings and notes are not what makes the pull fail)."""
    commands: list[str] = []
    for finding in runtime_findings(doc, runtime):
        if finding.get("severity") != "error":
            continue
        for step in finding.get("remediation") or []:
            command = (step.get("commands") or {}).get(runtime)
            if command and command not in commands:
                commands.append(command)
    return commands


def fix_rules(doc: dict[str, Any], runtime: Client) -> list[str]:
    """The rules whose commands :func:`fix_commands` ran for the runtime."""
    return [
        f["rule"]
        for f in runtime_findings(doc, runtime)
        if f.get("severity") == "error"
        and any((step.get("commands") or {}).get(runtime) for step in f.get("remediation") or [])
    ]


def explain_category(world: World, text: str) -> tuple[str, str]:
    """Step 3: the leading category ``regdoctor explain`` gives the exact error text."""
    out = world.explain(text)
    try:
        matches = json.loads(out.stdout)
    except ValueError:
        return "", f"`regdoctor explain` exited {out.returncode}: {out.stderr.strip()[-400:]}"
    if isinstance(matches, dict):
        matches = matches.get("matches", [])
    leading = [m for m in matches if m.get("leading")] or matches[:1]
    return (leading[0].get("category", "") if leading else ""), ""


def explained_alike(category: str, verdict: Verdict, client: Client) -> bool:
    """explain names what the text says; check names the cause it saw. They agree when
    explain's category is check's, or one of the error findings check has for the client
    (a 401 text whose cause check traced to a missing credential helper)."""
    if category == verdict.category:
        return True
    return category in {
        f.get("category")
        for f in runtime_findings(verdict.document, client)
        if f.get("severity") == "error"
    }


# -- the node's files, kept across fixes ----------------------------------------------------

_KEPT_DIRS = (
    "etc/docker",
    "etc/containerd",
    "etc/containers",
    "etc/systemd/system",
    "home/node",
    "run/containers",
)
_KEPT_FILES = ("etc/hosts", "etc/ssl/certs/ca-certificates.crt")


def snapshot(world: World) -> Path:
    root = world.sandbox.config_root
    saved = world.sandbox.root / "pre-fix"
    for rel in (*_KEPT_DIRS, *_KEPT_FILES):
        src = root / rel
        if src.is_dir():
            shutil.copytree(src, saved / rel, symlinks=True)
        elif src.exists():
            (saved / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, saved / rel)
    return saved


def restore(world: World, saved: Path) -> None:
    """Put the node's files back in place (same directories and inodes: they are bind
    mounts in the sandbox), so one runtime's fix never helps another's."""
    root = world.sandbox.config_root
    for rel in _KEPT_DIRS:
        live = root / rel
        for child in list(live.iterdir()):
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        for child in (saved / rel).iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.copytree(child, live / child.name, symlinks=True)
            else:
                shutil.copy2(child, live / child.name, follow_symlinks=False)
    for rel in _KEPT_FILES:
        if (saved / rel).exists():
            (root / rel).write_bytes((saved / rel).read_bytes())


# -- the test -------------------------------------------------------------------------------


def _describe(truth: PullResult) -> str:
    if truth.pulled:
        return f"{truth.client} pulled"
    extra = f" ({truth.note})" if truth.note else ""
    return f"{truth.client} failed: {truth.first_line}{extra}"


#: Scenarios regdoctor does not get right yet, each with why. Strict: when one starts to
#: pass, the suite says so and the entry must go.
KNOWN_GAPS: dict[str, str] = {
    "fixcmd5-podman-wildcard-short-name": (
        "the rewrite fix's host table is now for plain.test:5000 (with insecure = true), "
        "but check also lists podman on plain.test:5000's own tls-plain-http finding (the "
        "search registry's report), whose fix is the generic short-name script that names "
        "a drop-in by shell variables: the sandbox does not run it ('fix failed'), and "
        "that finding is redundant once the host table is in"
    ),
    "fixcov-untrusted-registry-told-plain-http": (
        'a hosts.toml server = "http://untrusted.test" without a port: ctr and the CRI '
        "dial port 80 (`dial tcp ...:80: connect: connection refused`), but check probes "
        "port 443, finds TLS there and says tls-http-to-tls-port, whose https:// fix then "
        "fails on the untrusted CA; the walk's http:// endpoint is judged by port 443's "
        "handshake (check/walk.py _plain), port 80 is looked at only when 443 refuses"
    ),
    "creds-identitytoken-stale-token-registry": (
        "the verdicts and explain agree and docker's login fix pulls, but every podman "
        "login fix fails while the entry podman reads holds an identitytoken: podman 4.3.1 "
        "refuses with 'currently logged in, auth file contains an Identity token' "
        "(containers/common pkg/auth Login), even with -u and --password-stdin; the "
        "podman fix would have to drop the identitytoken (or log in with --authfile to a "
        "file read first) in each of the login rules"
    ),
}


def _params() -> list[Any]:
    return [
        pytest.param(
            s,
            id=s.id,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[s.id])]
            if s.id in KNOWN_GAPS
            else [],
        )
        for s in SCENARIOS
    ]


@pytest.mark.parametrize("scenario", _params())
def test_runtime_scenario(scenario: Scenario, authorities: Authorities, results: list[Row]) -> None:
    problems: list[str] = []
    with build(scenario, authorities) as world:
        started = time.monotonic()
        # 1. the truth (and, for a slow registry, step 2 at the same time)
        if scenario.slow:
            truth, checked = pull_and_judge_at_once(world, scenario.clients)
        else:
            truth, checked = {client: world.pull(client) for client in scenario.clients}, {}
        for client, result in truth.items():
            expected = scenario.expected(client)
            if expected is not None and expected != result.pulled:
                problems.append(
                    f"[{client}] SETUP: expected the real client to "
                    f"{'pull' if expected else 'fail'}, but {_describe(result)}"
                )
        # 2. and 3. regdoctor's verdicts, before any fix changes the node
        verdicts: dict[Client, Verdict] = {}
        explained: dict[Client, str] = {}
        for client, result in truth.items():
            verdict = verdicts[client] = checked.get(client) or judge(world, client)
            if verdict.problem:
                problems.append(f"[{client}] {verdict.problem}")
            else:
                problems += _compare(scenario, client, result, verdict)
                # every command shown: no placeholder, valid shell (issue #14)
                for rule, runtime, command in document_commands(verdict.document):
                    for bad in command_problems(command):
                        problems.append(f"[{client}] {rule} command for {runtime}: {bad}")
            if not result.pulled and scenario.rule and not verdict.problem:
                errors = [
                    f.get("rule")
                    for f in runtime_findings(verdict.document, client)
                    if f.get("severity") == "error"
                ]
                if errors != [scenario.rule]:
                    problems.append(
                        f"[{client}] check's error findings are {errors}, not [{scenario.rule!r}]"
                    )
            if not result.pulled:
                category, error = explain_category(world, result.error)
                explained[client] = category
                text_only = scenario.explain_text_only.get(client)
                if error:
                    problems.append(f"[{client}] {error}")
                elif text_only is not None:
                    if category != text_only:
                        problems.append(
                            f"[{client}] `regdoctor explain` on the {client} error names "
                            f"{category!r}; the text alone reads as {text_only!r}"
                            f"\n    error text: {result.error[:300]}"
                        )
                elif verdict.category and not explained_alike(category, verdict, client):
                    problems.append(
                        f"[{client}] `regdoctor explain` on the {client} error names "
                        f"{category!r}, but check's {client} verdict is {verdict.category!r}"
                        f"\n    error text: {result.error[:300]}"
                    )
        # 4. the fixes, each from the same starting point
        fixes: dict[Client, str] = {client: "n/a" for client in truth}
        failing = [c for c, r in truth.items() if not r.pulled]
        saved = snapshot(world) if failing else None
        for client in failing:
            assert saved is not None
            restore(world, saved)
            fixes[client], problem = _apply_fix(world, client, verdicts[client])
            if problem:
                problems.append(f"[{client}] {problem}")
        elapsed = time.monotonic() - started
        for client, result in truth.items():
            verdict = verdicts[client]
            results.append(
                Row(
                    scenario.id,
                    scenario.cls,
                    client,
                    result.pulled,
                    result.first_line or (result.digest[:19] and f"({result.digest[:19]}…)"),
                    verdict.status,
                    verdict.category,
                    explained.get(client, ""),
                    fixes[client],
                    elapsed / len(truth),
                )
            )
    if problems:
        pytest.fail(
            f"scenario {scenario.id} ({scenario.note or scenario.cls}):\n"
            + "\n".join(f"  - {p}" for p in problems),
            pytrace=False,
        )


def _compare(scenario: Scenario, client: Client, truth: PullResult, verdict: Verdict) -> list[str]:
    problems = []
    said_error = verdict.status == "error"
    if verdict.status not in ("ok", "warning", "error"):
        problems.append(f"[{client}] runtimes.{client}.status is {verdict.status!r}")
    elif said_error == truth.pulled:
        problems.append(
            f"[{client}] regdoctor says {verdict.status} "
            f"({verdict.category or '-'}: {verdict.reason}), but {_describe(truth)}"
        )
    doc = verdict.document
    if verdict.status in ("ok", "warning"):
        # every finding of the run: the image's, the configuration files', and those of
        # the mirrors and search registries it goes on from (a mirror that fails is a
        # target of its own, but the runtime that goes on and pulls is not broken by it)
        errors = [
            f["rule"]
            for f in doc.get("findings") or []
            if f.get("severity") == "error" and client in (f.get("runtimes") or [])
        ]
        if errors:
            problems.append(
                f"[{client}] status {verdict.status}, yet error findings list {client}: "
                f"{errors} (an error finding must apply only to the routes it breaks)"
            )
    # a target's leading finding is one that applies to a runtime in scope (the check
    # runs with --runtime CLIENT): never one no runtime meets
    for target in doc.get("targets") or []:
        for f in target.get("findings") or []:
            if f.get("leading") and not f.get("runtimes"):
                problems.append(
                    f"[{client}] the leading finding of {target.get('target')} is "
                    f"{f.get('rule')!r}, which applies to no runtime"
                )
    # a finding no runtime in scope meets is not what stops a pull: never an error, and
    # a run where the client pulls does not exit 2 (errors)
    for target in [*(doc.get("targets") or []), *(doc.get("configs") or [])]:
        for f in target.get("findings") or []:
            if f.get("severity") == "error" and not f.get("runtimes"):
                problems.append(
                    f"[{client}] {f.get('rule')!r} of {target.get('target')} is an error "
                    "that applies to no runtime"
                )
    if truth.pulled and doc.get("exit_code") == 2:
        problems.append(f"[{client}] check exits 2 (errors), but {client} pulled")
    endpoint = scenario.endpoints.get(client)
    if endpoint is not None and verdict.status in ("ok", "warning", "error"):
        said = ((doc.get("targets") or [{}])[0].get("runtimes") or {}).get(client) or {}
        if said.get("endpoint") != endpoint:
            problems.append(
                f"[{client}] the verdict's endpoint is {said.get('endpoint')!r}; {client} "
                f"pulls or fails at {endpoint!r}"
            )
    for host in scenario.uncontacted:
        looked_up = [
            o.get("facts", {}).get("name")
            for t in doc.get("targets") or []
            for o in t.get("observations") or []
            if o.get("kind") == "dns.answer" and o.get("facts", {}).get("name") == host
        ]
        judged = [
            f["rule"]
            for t in doc.get("targets") or []
            if host in ((t.get("spec") or {}).get("host"), (t.get("spec") or {}).get("registry"))
            for f in t.get("findings") or []
            if f.get("severity") != "info"
        ]
        if looked_up or judged:
            problems.append(
                f"[{client}] {host} is contacted by no runtime, yet check looked it up "
                f"({len(looked_up)} answers) or judged it ({judged})"
            )
    if scenario.slow and truth.pulled:
        found = runtime_findings(verdict.document, client)
        wrong = [f["category"] for f in found if f["category"].startswith(SLOW_FORBIDDEN)]
        if wrong:
            problems.append(
                f"[{client}] slow but working registry reported as {wrong}: a slow registry "
                "must be perf.slow, never an HTTP/TLS error"
            )
        if "perf.slow" not in [f["category"] for f in found]:
            problems.append(f"[{client}] no perf.slow finding for {client} on a slow registry")
    return problems


def _apply_fix(world: World, client: Client, verdict: Verdict) -> tuple[str, str]:
    """Step 4: returns (table cell, problem or "")."""
    if not verdict.document:
        return "no: no report", f"no fix for {client}: regdoctor gave no report"
    if verdict.document.get("findings") and not any(
        "runtimes" in f for f in verdict.document["findings"]
    ):
        return "no: findings lack runtimes", (
            f"no fix for {client}: findings[] have no `runtimes` list (issue #12 contract)"
        )
    if world.scenario.server_side:
        # The fault is the registry's (a certificate to renew or to reissue for the right
        # name): nothing run on the node can fix it. What regdoctor must do is say so:
        # an error finding for the runtime whose remedy names the registry's side.
        texts = [
            step.get("text", "")
            for f in runtime_findings(verdict.document, client)
            if f.get("severity") == "error"
            for step in f.get("remediation") or []
        ]
        if not any(re.search(world.scenario.server_fix, t, re.I | re.S) for t in texts):
            return "no: server side unsaid", (
                f"no remedy for {client} says what the registry must change "
                f"(/{world.scenario.server_fix}/): {texts}"
            )
        world.restore_registry_side()  # each client's fix from the faulty registry
        commands = fix_commands(verdict.document, client)
        if world.scenario.reissue and commands:
            # the commands are the operator's (reissue the certificate with the CA key):
            # run them where the CA is, serve what they wrote, and the client must pull
            run = world.reissue_with(client, commands)
            if not run.ok:
                return "no: fix failed", (
                    f"the registry-side fix for {client} failed at:\n      "
                    f"{run.failed_command}\n    output:\n{_indent(run.log[-1500:])}"
                )
            again = world.pull(client)
            if again.pulled:
                FIXED.extend(
                    (world.scenario.id, client, r) for r in fix_rules(verdict.document, client)
                )
                return "yes (registry side, its commands)", ""
            return "no: still fails", (
                f"after the registry served the certificate regdoctor's commands made, "
                f"{_describe(again)}\n    fix:\n{_indent(run.log[-1500:])}"
            )
        # do what it says on the registry's side, then the same client must pull
        world.fix_registry_side()
        again = world.pull(client)
        if again.pulled:
            return "yes (registry side)", ""
        return "no: still fails", f"after renewing the certificate, {_describe(again)}"
    if world.scenario.wrong_reference:
        return _existing_reference(world, client, verdict)
    if world.scenario.full_name:
        return _full_name(world, client, verdict)
    commands = fix_commands(verdict.document, client)
    if not commands:
        return "no: no command", f"no fix for {client}: no remediation command applies to it"
    run = world.run_fix(client, commands)
    if not run.ok:
        return "no: fix failed", (
            f"the fix for {client} failed at:\n      {run.failed_command}\n"
            f"    output:\n{_indent(run.log[-1500:])}"
        )
    if PASSWORD in run.log:  # what the fix prints reaches the terminal and its scrollback
        return "no: fix showed the password", f"the fix for {client} printed the password"
    again = world.pull(client)
    if again.pulled or world.fix_pulled_inline(client):
        rules = fix_rules(verdict.document, client)
        FIXED.extend((world.scenario.id, client, rule) for rule in rules)
        return ("yes (filled in " + ", ".join(run.filled) + ")" if run.filled else "yes"), ""
    return "no: still fails", (
        f"after regdoctor's fix, {_describe(again)}\n    fix:\n{_indent(run.log[-1500:])}"
    )


def _full_name(world: World, client: Client, verdict: Verdict) -> tuple[str, str]:
    """A reference the client cannot pull as written (ctr and a short name): regdoctor's
    error finding for the client must name the full reference, which the client pulls."""
    name = world.scenario.full_name
    said = " ".join(
        " ".join(
            [f.get("title", ""), f.get("explanation", "")]
            + [step.get("text", "") for step in f.get("remediation") or []]
        )
        for f in runtime_findings(verdict.document, client)
        if f.get("severity") == "error"
    )
    if not re.search(rf"(?<![\w./-]){re.escape(name)}(?![\w/-])", said):
        return "no: full name unsaid", (
            f"regdoctor's {client} error findings do not name {name}: {said[:300]}"
        )
    again = world.pull(client, image=name)
    if again.pulled:
        return f"yes (the full name it names: {name})", ""
    return "no: still fails", f"pulling the full name regdoctor names ({name}): {_describe(again)}"


def _existing_reference(world: World, client: Client, verdict: Verdict) -> tuple[str, str]:
    """A reference the registry does not hold: no node change fixes it. regdoctor's error
    finding must name a tag the registry lists (its ``image.manifest`` observation's
    ``tags_nearest``); the same client then pulls that tag. When the runtime reports
    another error first (``masked_by``: containerd's next host after the 404), that error
    is the verdict, its fix runs first and must leave the missing tag as the error."""
    doc = verdict.document
    observed = [
        tag
        for o in (doc.get("targets") or [{}])[0].get("observations") or []
        if o.get("kind") == "image.manifest"
        for tag in (o.get("facts") or {}).get("tags_nearest") or []
    ]
    said = " ".join(
        f.get("explanation", "")
        for f in runtime_findings(doc, client)
        if f.get("severity") == "error"
    )
    named = [tag for tag in observed if re.search(rf"(?<![\w.-]){re.escape(tag)}(?![\w-])", said)]
    if not named:
        return "no: no tag named", (
            f"regdoctor's {client} error findings name none of the tags the registry lists "
            f"({observed}): {said[:300]}"
        )
    prefix = ""
    if world.scenario.masked_by:
        prefix, problem = _unmask(world, client, verdict)
        if problem:
            return prefix, problem
    image = re.sub(r":[^:/@]+$", f":{named[0]}", world.scenario.image)
    again = world.pull(client, image=image)
    if again.pulled:
        return f"yes ({prefix}the tag it names: {named[0]})", ""
    return "no: still fails", f"pulling the tag regdoctor names ({image}): {_describe(again)}"


def _unmask(world: World, client: Client, verdict: Verdict) -> tuple[str, str]:
    """The runtime reports another error than the missing reference (``masked_by``):
    the verdict names that error, the fix for it runs, and then the same pull fails
    with the missing reference, as ``explain`` reads the runtime's new error. Returns
    (table cell prefix, problem or "")."""
    masked = world.scenario.masked_by
    if verdict.category != masked:
        return "no: masked error unsaid", (
            f"{client} reports {masked} before the missing tag; regdoctor's verdict is "
            f"{verdict.category!r}"
        )
    commands = fix_commands(verdict.document, client)
    if not commands:
        return "no: no command", f"no fix for {client}'s {masked}: no remediation command"
    run = world.run_fix(client, commands)
    if not run.ok:
        return "no: fix failed", (
            f"the fix for {client} failed at:\n      {run.failed_command}\n"
            f"    output:\n{_indent(run.log[-1500:])}"
        )
    if PASSWORD in run.log:  # what the fix prints reaches the terminal and its scrollback
        return "no: fix showed the password", f"the fix for {client} printed the password"
    again = world.pull(client)
    if again.pulled:
        return "no: the tag pulled", f"after the {masked} fix the missing tag pulled?! {again}"
    category, error = explain_category(world, again.error)
    if category != "image.manifest_unknown":
        return "no: still " + (category or "?"), (
            f"after regdoctor's {masked} fix, {_describe(again)}: explain says "
            f"{category or error!r}, not image.manifest_unknown\n    fix:\n"
            f"{_indent(run.log[-1500:])}"
        )
    return f"{masked} fixed, then not found; ", ""


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.splitlines())
