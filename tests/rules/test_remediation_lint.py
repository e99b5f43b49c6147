"""Catalog lint for what a finding tells the user to do (issue #14).

- Every rule's commands, filled from its own cases (the observations of each ``match``
  case; the paste of each text case), hold no ``<name>`` placeholder and no ``?`` where
  a value belongs, and pass ``bash -n``.
- Checks apart from fixes: a step's ``commands`` are the fix for every runtime (a command
  that only looks is a ``check``, a comment-only command a note that labels a fix), and
  its ``checks`` only look; no step checks for one runtime and fixes for another.
- Advice fits the observation it comes with: each rule's match cases are replayed with
  a loopback registry and a remote one, written with and without its port, and nothing
  shown may contradict that (no "not 127.0.0.1" for a registry on this host, no "must be
  written host:5000" when it was written so).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from regdoctor.engine import load_catalog
from regdoctor.engine.cases import cases_path_for, parse_observation, parse_target
from regdoctor.engine.evaluate import evaluate
from regdoctor.engine.explain import explain
from regdoctor.engine.loader import Catalog, load_yaml
from regdoctor.model import Finding, Observation, Target
from tests.helpers.commands_lint import command_problems, is_note, looks_only

CATALOG = load_catalog()
RULES = {rule.id: rule for rule in CATALOG.rules}


def _cases(rule_id: str) -> list[dict[str, Any]]:
    path = cases_path_for(RULES[rule_id])
    if path is None or not path.is_file():
        return []
    return [c for c in load_yaml(path).get("cases") or [] if c.get("expect") == "match"]


def _findings(rule_id: str, target: Target, observations: list[Observation]) -> list[Finding]:
    only = Catalog(rules=(RULES[rule_id],))
    return [f for f in evaluate(only, target, observations) if f.rule == rule_id]


def _case_findings(rule_id: str) -> Iterator[tuple[str, Finding]]:
    for case in _cases(rule_id):
        if "observations" not in case:
            continue
        target = parse_target(case.get("target"))
        observations = [
            parse_observation(o, target.raw, f"observations[{i}]")
            for i, o in enumerate(case["observations"])
        ]
        for finding in _findings(rule_id, target, observations):
            yield str(case.get("name")), finding


def _text_matches(rule_id: str) -> Iterator[tuple[str, Any]]:
    for case in _cases(rule_id):
        if "text" in case:
            for match in explain(CATALOG, case["text"]):
                if match.rule == rule_id:
                    yield str(case.get("name")), match


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_commands_from_the_rules_own_cases_are_clean(rule_id: str) -> None:
    bad: dict[str, list[str]] = {}
    for name, result in [*_case_findings(rule_id), *_text_matches(rule_id)]:
        for step in result.remediation:
            for runtime, command in step.commands.items():
                problems = command_problems(command)
                if problems:
                    bad[f"{name} [{runtime}]: {command!r}"] = problems
    assert not bad, bad


# -- checks apart from fixes ------------------------------------------------------------

#: (rule, step, runtime) of checks that do more than look, and why that is right.
CHECKS_THAT_DO_MORE: dict[tuple[str, int, str], str] = {
    ("http-timeout", 0, "podman"): "a debug pull is the one way to see podman's own timeouts",
}
#: (rule, step, runtime) of fix commands that only look, and why that is right.
FIXES_THAT_ONLY_LOOK: dict[tuple[str, int, str], str] = {}


def _steps() -> Iterator[tuple[str, int, Any]]:
    for rule in CATALOG.rules:
        for index, step in enumerate(rule.remediation):
            yield rule.id, index, step


def test_no_step_checks_for_one_runtime_and_fixes_for_another() -> None:
    mixed = []
    for rule_id, index, step in _steps():
        looks = {rt: looks_only(c) for rt, c in step.commands.items() if not is_note(c)}
        if any(looks.values()) and not all(looks.values()):
            mixed.append(f"{rule_id} step {index}: checks for {[r for r in looks if looks[r]]}")
    assert not mixed, mixed


def test_no_containerd_fix_logs_in_with_another_tool() -> None:
    """ctr reads no credential file (containerd v1.6.20 cmd/ctr/commands/resolver.go
    GetResolver: only ``--user``): ``nerdctl login`` or ``docker login`` writes a file
    ctr never reads, so its fix is the pull with ``--user`` (scenario
    ``creds-token-realm-other-host``: ``nerdctl login`` was the fix, and failed)."""
    wrong = [
        f"{rule_id} step {index}"
        for rule_id, index, step in _steps()
        if re.search(r"\b(nerdctl|docker|podman) login\b", step.commands.get("containerd", ""))
    ]
    assert not wrong, wrong


def test_a_refused_account_is_not_logged_in_again() -> None:
    """image-access-denied: the stored login works but may not pull. A bare ``docker
    login`` / ``podman login`` re-uses it ("Authenticating with existing credentials",
    "Already logged in") and the pull is denied again (scenario
    ``creds-right-login-wrong-scope``); the fix names the account, and for the kubelet
    replaces the pull secret's."""
    step = RULES["image-access-denied"].remediation[0]
    for runtime in ("docker", "podman"):
        assert f'{runtime} login -u "$REGISTRY_USERNAME" --password-stdin' in step.commands[runtime]
    # the pod's own secret ({secret}: from the manifests, else a fill-in), never a
    # guessed name deleted; the password by environment, not on the command line
    assert "kubectl get secret {secret} " in step.commands["kubernetes"]
    assert "delete" not in step.commands["kubernetes"]
    assert "regcred" not in step.commands["kubernetes"] + step.checks["kubernetes"]
    assert 'REGISTRY_PASSWORD="$REGISTRY_PASSWORD" python3' in step.commands["kubernetes"]


def _password_on_a_command_line(command: str) -> list[str]:
    """The simple commands that take ``$REGISTRY_PASSWORD`` (or a fill-in secret) as an
    argument of a program (argv: ``ps``, the audit log and sudo's log show it to every
    user). Allowed: the ``printf`` builtin (no process gets it) and an environment
    assignment (``REGISTRY_PASSWORD="$REGISTRY_PASSWORD" python3 ...``)."""
    found = []
    for match in re.finditer(r"\$\{?REGISTRY_PASSWORD\b", command):
        before = command[: match.start()]
        if before.endswith('REGISTRY_PASSWORD="'):
            continue
        ends = [before.rfind(s) + len(s) for s in ("\n", "|", ";", "&&", "$(") if s in before]
        segment = before[max(ends, default=0) :].strip()
        if not segment.startswith("printf "):
            found.append(segment + match.group(0))
    return found


def test_no_fix_puts_the_password_on_a_command_line() -> None:
    """ctr's --user "USER:PASSWORD" and kubectl's --docker-password=... put it in argv;
    the fixes pass it on stdin (ctr under script(1), kubectl --from-file=/dev/stdin). The
    runtime table's shims refuse such a command line."""
    wrong = {
        f"{rule_id} step {index} [{runtime}]": found
        for rule_id, index, step in _steps()
        for runtime, command in {**step.commands, **step.checks}.items()
        if (found := _password_on_a_command_line(command))
    }
    assert not wrong, wrong


@pytest.mark.parametrize(
    ("command", "bad"),
    [
        ('sudo ctr images pull --user "$REGISTRY_USERNAME:$REGISTRY_PASSWORD" x', True),
        ('kubectl create secret docker-registry r --docker-password="$REGISTRY_PASSWORD"', True),
        ("curl -u user:${REGISTRY_PASSWORD} https://r.test/v2/", True),
        ("printf '%s\\n' \"$REGISTRY_PASSWORD\" | docker login --password-stdin r.test", False),
        ('x | REGISTRY_PASSWORD="$REGISTRY_PASSWORD" python3 -c "..."', False),
        ("printf '%s' \"$(printf '%s:%s' u \"$REGISTRY_PASSWORD\" | base64 -w0)\" | k", False),
    ],
)
def test_what_puts_the_password_on_a_command_line(command: str, bad: bool) -> None:
    assert bool(_password_on_a_command_line(command)) is bad


def test_no_fix_deletes_a_secret_it_guessed() -> None:
    """A pull secret is deleted or edited only by the name the pod uses ({secret}: from
    the manifests, else a fill-in), never a guessed ``regcred`` (scenarios
    fixcmd-denied-pod-secret-named, fixcmd-rejected-pod-secret-named: the pod's secret is
    team-pull, and ``kubectl delete secret regcred`` failed or changed nothing; an
    ``apply`` of a new ``regcred`` would overwrite whatever Secret has that name)."""
    wrong = [
        f"{rule_id} step {index}"
        for rule_id, index, step in _steps()
        for command in step.commands.values()
        if re.search(r"kubectl (?:delete|get|edit|patch) secret (?!\{secret\})", command)
        # create --dry-run | apply overwrites a Secret of that name, whatever it held
        or re.search(
            r"kubectl create secret \S+ (?!\{secret\})\S+[^\n]*--dry-run[^\n]*\| kubectl apply",
            command,
        )
    ]
    assert not wrong, wrong


def test_commands_fix_and_checks_look() -> None:
    looking = {
        (rule_id, index, runtime)
        for rule_id, index, step in _steps()
        for runtime, command in step.commands.items()
        if not is_note(command) and looks_only(command)
    }
    doing = {
        (rule_id, index, runtime)
        for rule_id, index, step in _steps()
        for runtime, command in step.checks.items()
        if not looks_only(command)
    }
    assert looking == set(FIXES_THAT_ONLY_LOOK), "move these to checks: " + str(
        sorted(looking - set(FIXES_THAT_ONLY_LOOK))
    )
    assert doing == set(CHECKS_THAT_DO_MORE), "move these to commands: " + str(
        sorted(doing - set(CHECKS_THAT_DO_MORE))
    )


@pytest.mark.parametrize(
    ("command", "looks"),
    [
        ("grep -n credsStore ~/.docker/config.json || true", True),
        ("timeout 5 bash -c '</dev/tcp/192.0.2.7/5000' && echo open || echo closed", True),
        ("kubectl get secret regcred -o yaml | base64 -d", True),
        ("python3 -m json.tool /etc/docker/daemon.json >/dev/null", True),
        ("sudo containerd config dump | grep -n registry", True),
        ("timedatectl status; chronyc tracking", True),
        ("sudo timedatectl set-ntp true", False),
        ("docker login registry.test", False),
        ("sudo ctr images pull --user u:p registry.test/app:1", False),
        ("printf x | sudo env U=u script -qe -E never -c 'ctr images pull' /dev/null", False),
        ("env | grep -i proxy", True),
        ("sudo env HOME=/x docker info", True),
        ("docker buildx build --platform linux/arm64 --push .", False),
        ("echo x | sudo tee /etc/docker/daemon.json", False),
        ("echo '{}' > /etc/docker/daemon.json", False),
        ("sudo sed -i 's/a/b/' /etc/containers/registries.conf", False),
        ('python3 -c \'open("x", "w")\'', False),
        ("sudo systemctl restart docker", False),
    ],
)
def test_what_only_looks(command: str, looks: bool) -> None:
    assert looks_only(command) is looks
    assert not is_note(command)
    assert is_note("# on every node: as for containerd\n")


# -- advice that contradicts the observation --------------------------------------------

#: (when it applies, what must then not be said, why)
CONTRADICTIONS: list[tuple[Callable[[Target], bool], re.Pattern[str], str]] = [
    (
        lambda t: t.host == "127.0.0.1",
        re.compile(r"\(not (?:only )?127\.0\.0\.1\)|address other hosts can reach", re.I),
        "advice for a remote registry shown for one on this host",
    ),
    (
        lambda t: ":" in t.registry,
        re.compile(r"must be written (?:as )?host:|write (?:it as )?host:PORT", re.I),
        "advice to write the port shown when the registry was written with it",
    ),
    (
        lambda t: t.host == "127.0.0.1",
        re.compile(r"subjectAltName=DNS:127\.0\.0\.1|DNS:127\.0\.0\.1\b"),
        "a DNS SAN suggested for an IP address (it needs IP:)",
    ),
    (
        lambda t: t.host == "registry.test",
        re.compile(r"IP:registry\.test"),
        "an IP SAN suggested for a name",
    ),
]


def _variant(target: Target, host: str, port_written: bool) -> Target:
    registry = f"{host}:{target.port}" if port_written else host
    raw = registry + (
        target.raw[len(target.registry) :] if target.raw.startswith(target.registry) else ""
    )
    return dataclasses.replace(target, raw=raw, registry=registry, host=host)


def _moved(observation: Observation, old_host: str, host: str) -> Observation:
    address = "127.0.0.1" if host == "127.0.0.1" else None
    facts = {}
    for key, value in observation.facts.items():
        if key in ("host", "name") and value == old_host:
            value = host
        elif key == "address" and address and isinstance(value, str) and value[:1].isdigit():
            value = address
        facts[key] = value
    return dataclasses.replace(observation, facts=facts)


def _shown(finding: Finding) -> str:
    parts = [finding.title, finding.explanation]
    for step in finding.remediation:
        parts.append(step.text)
        parts.extend(step.commands.values())
    return "\n".join(parts)


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_advice_fits_loopback_and_remote_registries(rule_id: str) -> None:
    bad: list[str] = []
    for case in _cases(rule_id):
        if "observations" not in case:
            continue
        base = parse_target(case.get("target"))
        for host in ("127.0.0.1", "registry.test"):
            for port_written in (True, False):
                target = _variant(base, host, port_written)
                observations = [
                    _moved(parse_observation(o, target.raw, "o"), base.host, host)
                    for o in case["observations"]
                ]
                for finding in _findings(rule_id, target, observations):
                    shown = _shown(finding)
                    for applies, pattern, why in CONTRADICTIONS:
                        if applies(target) and (m := pattern.search(shown)):
                            bad.append(
                                f"{case.get('name')} on {target.registry}: {why}: {m.group(0)!r}"
                            )
    assert not bad, bad


def test_the_conditional_advice_is_still_given_where_it_fits() -> None:
    """tcp-refused: a remote registry written without its port gets both pieces of advice
    that a loopback one written with its port does not."""
    (case,) = [c for c in _cases("tcp-refused") if c.get("name") == "the only address refuses"]
    base = parse_target(case.get("target"))
    shown = {}
    for host, port_written in (("registry.test", False), ("127.0.0.1", True)):
        target = _variant(base, host, port_written)
        observations = [
            _moved(parse_observation(o, target.raw, "o"), base.host, host)
            for o in case["observations"]
        ]
        (finding,) = _findings("tcp-refused", target, observations)
        shown[host] = _shown(finding)
    assert "must be written host:5000" in shown["registry.test"]
    assert "other hosts can reach" in shown["registry.test"]
    assert "must be written" not in shown["127.0.0.1"]
    assert "other hosts can reach" not in shown["127.0.0.1"]
    assert "127.0.0.1:5000 names port 5000" in shown["127.0.0.1"]


def test_explain_fits_its_advice_too() -> None:
    text = (
        'pinging container registry 127.0.0.1:45203: Get "https://127.0.0.1:45203/v2/": '
        "dial tcp 127.0.0.1:45203: connect: connection refused"
    )
    (match,) = [m for m in explain(CATALOG, text) if m.rule == "tcp-refused"]
    shown = " ".join([match.explanation, *(s.text for s in match.remediation)])
    assert "must be written" not in shown and "other hosts can reach" not in shown
    assert "check that 45203 is the registry's" in shown


_CREATES_PULL_SECRET = re.compile(r"kubectl create secret (?:docker-registry|generic) (\S+)")


def pull_secrets_left_unreferenced(command: str) -> list[str]:
    """The docker-registry secrets a kubernetes command creates that nothing makes the
    kubelet use: neither an ``imagePullSecrets`` entry in the same command (a service
    account or pod patch) nor ``{secret}``, the name the pod already references."""
    left = []
    for name in _CREATES_PULL_SECRET.findall(command):
        if name == "{secret}":
            continue
        if not re.search(r'imagePullSecrets.*"name": "' + re.escape(name) + '"', command):
            left.append(name)
    return left


@pytest.mark.parametrize(
    ("command", "left"),
    [
        ("kubectl create secret docker-registry regcred --docker-server=r -n ns", ["regcred"]),
        (
            "kubectl create secret docker-registry regcred -n ns\n"
            "kubectl patch serviceaccount default -n ns"
            ' -p \'{{"imagePullSecrets": [{{"name": "regcred"}}]}}\'',
            [],
        ),
        (
            "kubectl create secret docker-registry other -n ns\n"
            'kubectl patch serviceaccount default -p \'{{"imagePullSecrets": [{{"name": "x"}}]}}\'',
            ["other"],
        ),
        ("kubectl create secret docker-registry {secret} -n {namespace}", []),
        (
            "printf x | kubectl create secret generic regcred -n ns"
            " --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=/dev/stdin",
            ["regcred"],
        ),
    ],
)
def test_the_pull_secret_lint(command: str, left: list[str]) -> None:
    assert pull_secrets_left_unreferenced(command) == left


def test_every_created_pull_secret_is_referenced() -> None:
    """A secret nothing references changes no pull: the kubelet only passes the pod's
    imagePullSecrets (its own or the service account's) to the CRI."""
    bad = [
        f"{rule_id} step {index}: {names}"
        for rule_id, index, step in _steps()
        if (names := pull_secrets_left_unreferenced(step.commands.get("kubernetes", "")))
    ]
    assert not bad, bad


def _service_account_patch(command: str) -> str:
    """The ``kubectl patch serviceaccount`` part of a kubernetes command (with its
    ``\\`` continuation), for the shim: ``{namespace}`` filled, ``{{ }}`` unescaped."""
    lines = command.splitlines()
    start = next(i for i, line in enumerate(lines) if "kubectl patch serviceaccount" in line)
    end = start
    while lines[end].rstrip().endswith("\\"):
        end += 1
    text = "\n".join(lines[start : end + 1])
    text = text.replace("{namespace}", "default").replace("{new_secret}", "regcred")
    # the pod's service account when known, else default (no pod in these contexts)
    text = text.replace("{if service_account}{service_account}{else}default{end}", "default")
    return text.replace("{{", "{").replace("}}", "}")


def test_service_account_patches_keep_the_other_pull_secrets(tmp_path) -> None:
    """ServiceAccount.imagePullSecrets has no merge key: a merge patch replaces the whole
    list, dropping the secrets other workloads pull with. Every rule's patch, run against
    the scenario suite's kubectl shim (RFC 6902 and merge patches as the API server
    applies them), appends to an existing list and creates a missing one."""
    import json
    import os
    import subprocess
    import sys

    from tests.scenarios.runtimes.kube import KUBECTL

    shim = tmp_path / "bin" / "kubectl"
    shim.parent.mkdir()
    shim.write_text(KUBECTL.replace("PYTHON", sys.executable).replace("@PASSWORD@", repr("\x00")))
    shim.chmod(0o755)
    patches = {
        rule_id: _service_account_patch(step.commands["kubernetes"])
        for rule_id, _, step in _steps()
        if "kubectl patch serviceaccount" in step.commands.get("kubernetes", "")
    }
    # image-access-denied, auth-rejected-credentials and auth-token-expired edit the
    # pod's own secret instead
    assert len(patches) >= 6
    for rule_id, patch in patches.items():
        for before, after in (
            (["other"], ["other", "regcred"]),
            (None, ["regcred"]),
        ):
            state = tmp_path / "kube-state.json"
            accounts = {} if before is None else {"default/default": before}
            state.write_text(json.dumps({"serviceaccounts": accounts}))
            env = dict(os.environ, PATH=f"{shim.parent}:{os.environ['PATH']}", RDS_KUBE=str(state))
            run = subprocess.run(
                ["bash", "-e", "-c", patch], env=env, capture_output=True, text=True, timeout=30
            )
            assert run.returncode == 0, (rule_id, run.stderr)
            got = json.loads(state.read_text())["serviceaccounts"]["default/default"]
            assert got == after, (rule_id, before, got)


def test_a_pull_secret_is_never_built_from_empty_credentials() -> None:
    """A Secret built from unset ``REGISTRY_USERNAME``/``REGISTRY_PASSWORD`` would hold
    ``":"`` and kubectl would take it (exit 0): the kubelet then pulls with no valid
    login and nothing says why. Every fix that builds one stops first when either is
    unset or empty, and encodes with a base64 that any platform has (no GNU ``-w0``: on
    macOS it fails inside ``$(...)`` and an empty ``auth`` is written)."""
    unguarded, gnu_only = [], []
    for rule_id, index, step in _steps():
        for runtime, command in step.commands.items():
            if "base64 -w0" in command:
                gnu_only.append(f"{rule_id} step {index} {runtime}")
            builds = "--from-file=.dockerconfigjson=/dev/stdin" in command and "printf" in command
            edits = 'os.environ["REGISTRY_PASSWORD"]' in command
            if builds and ': "${{REGISTRY_USERNAME:?' not in command:  # the template's ${{
                unguarded.append(f"{rule_id} step {index} {runtime}")
            if edits and "no user name or password: nothing changed" not in command:
                unguarded.append(f"{rule_id} step {index} {runtime} (python)")
    assert not unguarded, unguarded
    assert not gnu_only, gnu_only


@pytest.mark.parametrize("credentials", [{}, {"REGISTRY_USERNAME": "ci"}, "set"])
def test_the_secret_build_runs_only_with_both_credentials(tmp_path: Any, credentials: Any) -> None:
    """The fix of ``k8s-pull-secret-missing`` as rendered, run by bash with a
    ``kubectl`` that records its stdin: nothing reaches kubectl without both values, and
    with them the Secret holds exactly ``user:password`` (quotes, ``%`` and all)."""
    import base64
    import json
    import subprocess

    from regdoctor.engine.command_template import render_command

    step = RULES["k8s-pull-secret-missing"].remediation[0].commands["kubernetes"]
    context = {"pull_registry": "registry.test:5000", "secret": "team-pull", "namespace": "ci"}
    # no other namespace has the Secret: the fix creates it
    command = render_command(step, {**context, "secret_namespaces": []})
    fake = tmp_path / "kubectl"
    fake.write_text(f'#!/bin/sh\ncat > "{tmp_path}/stdin"\n')
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin"}
    password = "s3cr%et\"'\\x"
    if credentials == "set":
        env.update(REGISTRY_USERNAME="ci", REGISTRY_PASSWORD=password)
    else:
        env.update(credentials)
    proc = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
    written = (tmp_path / "stdin").read_text() if (tmp_path / "stdin").exists() else None
    if credentials != "set":
        assert proc.returncode != 0 and written is None, (proc, written)
        assert "set it first" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    auth = json.loads(written or "")["auths"]["registry.test:5000"]["auth"]
    assert base64.b64decode(auth).decode() == f"ci:{password}"
    assert password not in command  # the command itself holds no secret


def test_a_secret_copied_from_another_namespace_loses_the_metadata_of_that_one(
    tmp_path: Any,
) -> None:
    """``k8s-pull-secret-missing`` when the Secret is in another namespace: the copy
    applied must not carry that namespace's ``resourceVersion`` or ``uid`` (the API
    server refuses to create an object with a resourceVersion), and it is a copy, not a
    second Secret built from credentials as well."""
    import json
    import subprocess

    from regdoctor.engine.command_template import render_command

    step = RULES["k8s-pull-secret-missing"].remediation[0].commands["kubernetes"]
    context = {"pull_registry": "registry.test:5000", "secret": "team-pull", "namespace": "ci"}
    command = render_command(step, {**context, "secret_namespaces": ["build"]})
    assert "kubectl create" not in command and "REGISTRY_PASSWORD" not in command
    original = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "team-pull", "namespace": "build", "resourceVersion": "7",
                     "uid": "u-1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "data": {".dockerconfigjson": "e30="},
    }  # fmt: skip
    (tmp_path / "secret.json").write_text(json.dumps(original))
    fake = tmp_path / "kubectl"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = get ]; then cat "{tmp_path}/secret.json"; '
        f'else cat > "{tmp_path}/applied"; fi\n'
    )
    fake.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "SECRET_NAMESPACE": "build"}
    script = command.replace("SECRET_NAMESPACE=''", ": ")  # the fill-in, filled
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    applied = json.loads((tmp_path / "applied").read_text())
    assert applied["metadata"] == {"name": "team-pull", "namespace": "ci"}
    assert applied["data"] == original["data"] and applied["type"] == original["type"]


def test_no_step_prints_a_whole_pull_secret() -> None:
    """A pull secret's ``.dockerconfigjson`` holds passwords: a step that shows it
    decodes it to the registry and account of each entry, never to the terminal whole
    (``kubectl get secret ... | base64 -d`` alone)."""
    whole = [
        f"{rule_id} step {index} {runtime}"
        for rule_id, index, step in _steps()
        for runtime, command in [*step.commands.items(), *step.checks.items()]
        for line in command.splitlines()
        if "dockerconfigjson" in line and line.rstrip().endswith("base64 -d")
    ]
    assert not whole, whole


# -- values not known -----------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_commands_with_nothing_known_quote_their_variables(rule_id: str) -> None:
    """Rendered with no value known (a pasted error names little), every placeholder is a
    fill-in variable, and where it stands bare it is double-quoted: ``"${REGISTRY:?}"``,
    never ``${REGISTRY:?}`` (the shell splits and globs what the user fills in)."""
    from regdoctor.engine.command_template import render_command

    bad: dict[str, list[str]] = {}
    for index, step in enumerate(RULES[rule_id].remediation):
        for kind, commands in (("commands", step.commands), ("checks", step.checks)):
            for runtime, template in commands.items():
                command = render_command(template, {})
                if problems := command_problems(command):
                    bad[f"{index} {kind} [{runtime}]: {command!r}"] = problems
    assert not bad, bad


# -- the pod's own pull secret ------------------------------------------------------------

#: Rules whose kubernetes fix gives the kubelet an account: with the pod's imagePullSecret
#: known they edit that Secret's entry, else they create one under a name the user picks.
ACCOUNT_FIXES = (
    "auth-missing-credentials",
    "auth-token-refused",
    "http-ratelimited",
    "image-access-denied-anonymous",
    "image-ratelimited",
    "ratelimit-low",
)


def _run_secret_edit(tmp_path: Any, command: str, original: dict[str, Any]) -> Any:
    """``command`` run by bash with a ``kubectl`` that serves the Secret ``original`` to
    ``get`` and records what ``apply`` gets; the password set as the user would."""
    import base64
    import json
    import subprocess

    (tmp_path / "secret.json").write_text(json.dumps(original))
    fake = tmp_path / "kubectl"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = get ]; then cat "{tmp_path}/secret.json"; '
        f'else cat > "{tmp_path}/applied"; echo "secret/$4 configured"; fi\n'
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "REGISTRY_USERNAME": "ci",
        "REGISTRY_PASSWORD": SECRET_PASSWORD,
    }
    proc = subprocess.run(["bash", "-e", "-c", command], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    assert SECRET_PASSWORD not in shown and "b3RoZXI6b3RoZXItcHc=" not in shown
    applied = json.loads((tmp_path / "applied").read_text())
    return json.loads(base64.b64decode(applied["data"][".dockerconfigjson"])), applied


SECRET_PASSWORD = "s3cr%et\"'\\x"


def _team_pull() -> dict[str, Any]:
    import base64
    import json

    config = {"auths": {"other.test": {"auth": "b3RoZXI6b3RoZXItcHc="}}}  # other:other-pw
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": "team-pull", "namespace": "ci", "resourceVersion": "7"},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


@pytest.mark.parametrize("rule_id", ["k8s-pull-secret-anonymous", *ACCOUNT_FIXES])
def test_an_entry_added_to_the_pods_secret_keeps_the_others(tmp_path: Any, rule_id: str) -> None:
    """The pod's imagePullSecret known (``team-pull``): the fix adds or replaces the one
    entry for the image's registry and keeps the entries for other registries (the old
    ``k8s-pull-secret-anonymous`` replaced the whole ``.dockerconfigjson``; the others
    created a ``regcred`` the pod does not use). No password in the command or its
    output."""
    import base64

    from regdoctor.engine.command_template import render_command

    context = {
        "registry": "registry.test:5000",
        "pull_registry": "registry.test:5000",
        "secret": "team-pull",
        "namespace": "ci",
    }
    step = next(s for s in RULES[rule_id].remediation if "kubernetes" in s.commands).commands[
        "kubernetes"
    ]
    command = render_command(step, context)
    assert "regcred" not in command and "kubectl create" not in command, command
    assert SECRET_PASSWORD not in command
    config, applied = _run_secret_edit(tmp_path, command, _team_pull())
    assert config["auths"]["other.test"] == {"auth": "b3RoZXI6b3RoZXItcHc="}
    auth = config["auths"]["registry.test:5000"]["auth"]
    assert base64.b64decode(auth).decode() == f"ci:{SECRET_PASSWORD}"
    assert applied["metadata"] == {"name": "team-pull", "namespace": "ci"}


@pytest.mark.parametrize("rule_id", ACCOUNT_FIXES)
def test_a_new_pull_secret_is_named_by_the_user_not_guessed(rule_id: str) -> None:
    """The pod's imagePullSecret not known: the new Secret's name is a fill-in the user
    sets (``NEW_SECRET=''  # fill in: ...``), never ``regcred``, which may be another
    workload's Secret or not the pod's."""
    from regdoctor.engine.command_template import render_command

    step = next(s for s in RULES[rule_id].remediation if "kubernetes" in s.commands).commands[
        "kubernetes"
    ]
    command = render_command(step, {"registry": "registry.test:5000", "namespace": "ci"})
    assert "regcred" not in command
    assert command.startswith("NEW_SECRET=''  # fill in: a name for the new pull secret")
    assert 'kubectl create secret generic "${NEW_SECRET:?}" -n ci' in command
    assert '"value": {"name": "\'"${NEW_SECRET:?}"\'"}' in command


#: A Go template (docker, podman, crictl ``--format`` / ``-f`` / ``--template``, kubectl
#: ``-o go-template=``) as the user will see it: the rule's text is a template itself,
#: where ``{{`` prints ``{``, so a Go template is written ``{{{{.Field}}}}`` in the YAML.
#: One written ``{{.Field}}`` reaches the user as ``{.Field}``, which docker prints back
#: literally. Any single brace that opens a Go action (a field, ``json``, ``range``...) in
#: the argument of such a flag (kubectl's ``-o jsonpath='{.a.b}'`` is single-braced and
#: right, so not read here).
_TEMPLATE_FLAG = r"(?:--format|--template|(?<![\w-])-f|go-template)[= ]+['\"]?[^'\"\n]*?"
_GO_WORDS = "json|range|if|with|index|printf|println|len|join|table|end|else"
_GO_ACTION = r"\s*(?:\.|\$\w*|(?:" + _GO_WORDS + r")\b)"
HALVED_GO_TEMPLATE = re.compile(_TEMPLATE_FLAG + r"(?<![{$])\{" + _GO_ACTION)
#: The same in the YAML before rendering: two braces where four belong.
RAW_HALVED_GO_TEMPLATE = re.compile(_TEMPLATE_FLAG + r"(?<!\{)\{\{(?!\{)" + _GO_ACTION)


def test_the_halved_template_pattern() -> None:
    for bad in (
        "docker image inspect --format '{.Os}/{.Architecture}' app",
        "docker inspect -f '{.State.Status}' c",
        "docker info --format '{json .RegistryConfig}'",
        "podman info -f '{range .Registries}{.}{end}'",
        'crictl info -o go-template --template "{ .config.registry }"',
    ):
        assert HALVED_GO_TEMPLATE.search(bad), bad
    for good in (
        "docker image inspect --format '{{.Os}}/{{.Architecture}}' app",
        "kubectl get pod p -o jsonpath='{.spec.imagePullSecrets[*].name}'",
        "kubectl apply -f - <<'EOF'\n{.a}",
        "docker info --format '{{json .RegistryConfig}}'",
        'echo "${HOME}" "${NEW_SECRET:?}"',
        "awk '{print $1}' /etc/subuid",
        "grep -A2 '{' /etc/docker/daemon.json",
    ):
        assert not HALVED_GO_TEMPLATE.search(good), good
    assert RAW_HALVED_GO_TEMPLATE.search("docker info --format '{{.Driver}}'")
    assert not RAW_HALVED_GO_TEMPLATE.search("docker info --format '{{{{.Driver}}}}' {image}")


def test_go_templates_in_advice_keep_their_double_braces() -> None:
    bad = []
    for rule_id in sorted(RULES):
        for name, match in [*_case_findings(rule_id), *_text_matches(rule_id)]:
            for step in match.remediation:
                for runtime, command in {**step.commands, **step.checks}.items():
                    if HALVED_GO_TEMPLATE.search(command):
                        bad.append(f"{rule_id} :: {name} [{runtime}]: {command!r}")
    # every rule's steps as written, rendered by a case or not
    for rule_id, index, step in _steps():
        for runtime, command in {**step.commands, **step.checks}.items():
            if RAW_HALVED_GO_TEMPLATE.search(command):
                bad.append(f"{rule_id} step {index} [{runtime}], as written: {command!r}")
    assert not bad, bad
