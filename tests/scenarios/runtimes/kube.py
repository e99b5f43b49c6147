"""The Kubernetes API side of the ``kubernetes`` client: the pod ``default/app`` and its
pull secrets, as JSON (``kube-state.json`` in the sandbox), which

- the ``kubectl`` shim on a fix's PATH edits (``create secret docker-registry|generic``,
  ``delete secret``, ``patch serviceaccount NAME [--type=json] -p PATCH``; anything
  else fails);
- the scenario's CRI pull reads, to pass what the kubelet would as ``AuthConfig``
  (:func:`pod_credentials`);
- and ``regdoctor check --kube-manifests`` gets as manifests (:func:`write_manifests`).

A fix's ``NAME=''  # fill in: ...`` lines are filled as the user would, for the values
the scenario knows (:data:`FILL_INS`).
"""

from __future__ import annotations

import base64
import json
import re
import shlex
from pathlib import Path
from typing import Any

from tests.scenarios.runtimes.keyring import lookup
from tests.scenarios.runtimes.scenario import PROXY_LOGIN_URL, Scenario

#: Values of a fix's ``NAME=''  # fill in: ...`` lines that the scenario knows (the pod
#: runs in the ``default`` namespace with the ``default`` service account).
#: what the user knows and regdoctor cannot: the pod's namespace, the proxy's login, a
#: name for a new pull secret
FILL_INS = {"NAMESPACE": "default", "PROXY_URL": PROXY_LOGIN_URL, "NEW_SECRET": "regcred"}


def fill_in(command: str) -> tuple[str, tuple[str, ...]]:
    """``command`` with its known fill-in placeholders set, and which ones were."""
    filled: list[str] = []

    def one(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in FILL_INS:
            return match.group(0)
        shown = "(the proxy URL with its login)" if name == "PROXY_URL" else FILL_INS[name]
        filled.append(f"{name}={shown}")
        return f"{match.group(1)}{name}={shlex.quote(FILL_INS[name])}{match.group(3)}"

    text = re.sub(r"(?m)^(\s*)([A-Z_]+)=''(\s*# fill in.*)$", one, command)
    return text, tuple(filled)


def write_state(path: Path, scenario: Scenario) -> None:
    """The API objects before any fix: the pod ``default/app`` and, when the scenario
    has one, its imagePullSecret (``regcred`` unless the scenario names another)."""
    state: dict[str, Any] = {"pods": {"default/app": []}}
    if scenario.pod_service_account:
        state["pod_service_accounts"] = {"default/app": scenario.pod_service_account}
    if scenario.pull_secret is not None:
        user, password = scenario.pull_secret
        state["secrets"] = {
            f"default/{scenario.pull_secret_name}": {
                "auths": {secret_key(scenario): {"username": user, "password": password}}
            }
        }
        state["pods"]["default/app"] = [scenario.pull_secret_name]
        if scenario.pull_secret_opaque:
            # an Opaque Secret: the kubelet's keyring reads no entry of it
            state["secrets"][f"default/{scenario.pull_secret_name}"] = {"auths": {}}
    if scenario.pull_secret_missing:
        state["pods"]["default/app"] = [scenario.pull_secret_name]
        state["secrets"] = {f"default/{OTHER_SECRET}": {"auths": {OTHER_REGISTRY: OTHER_LOGIN}}}
    path.write_text(json.dumps(state))


def secret_key(scenario: Scenario) -> str:
    """The pull secret's ``auths`` key: the scenario's, else the image's registry."""
    return scenario.pull_secret_key or scenario.image.split("/", 1)[0]


def pod_credentials(path: Path, image: str) -> tuple[str, str] | None:
    """The credentials the kubelet passes for the pod (namespace ``default``): its
    imagePullSecrets, or when it has none its service account's (``default`` unless the
    pod names another; what admission gives a new pod); of their docker-registry
    entries, the first the kubelet's keyring matches to the image (:mod:`.keyring`)."""
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    account = state.get("pod_service_accounts", {}).get("default/app", "default")
    names = state.get("pods", {}).get("default/app") or state.get("serviceaccounts", {}).get(
        f"default/{account}", []
    )
    entries = [
        (server, entry)
        for name in names
        for server, entry in state.get("secrets", {})
        .get(f"default/{name}", {})
        .get("auths", {})
        .items()
    ]
    matched = lookup([server for server, _ in entries], image)
    if not matched:
        return None
    first = entries[matched[0]][1]
    return first["username"], first["password"]


def write_manifests(scenario: Scenario, path: Path) -> Path | None:
    """The pod and its imagePullSecret as ``kubectl apply`` would get them (the pod
    alone when the secret it names is missing); None when the scenario has no pull
    secret (and no service account of its own)."""
    pod = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n"
        f"  imagePullSecrets:\n  - name: {scenario.pull_secret_name}\n"
        f"  containers:\n  - name: app\n    image: {scenario.image}\n"
    )
    if scenario.pull_secret_missing:
        # the bundle has the namespace's Secrets, and not the one the pod names
        pair = base64.b64encode(b"%(username)s:%(password)s" % _bytes(OTHER_LOGIN)).decode()
        other = {"auths": {OTHER_REGISTRY: {"auth": pair}}}
        path.write_text(_secret_yaml(OTHER_SECRET, other) + "---\n" + pod)
        return path
    if scenario.pull_secret is None:
        if not scenario.pod_service_account:
            return None
        path.write_text(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\n  namespace: default\n"
            f"spec:\n  serviceAccountName: {scenario.pod_service_account}\n"
            f"  containers:\n  - name: app\n    image: {scenario.image}\n"
        )
        return path
    user, password = scenario.pull_secret
    pair = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {secret_key(scenario): {"auth": pair}}}
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    path.write_text(
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {scenario.pull_secret_name}\n"
        f"type: {'Opaque' if scenario.pull_secret_opaque else 'kubernetes.io/dockerconfigjson'}\n"
        f"data:\n  .dockerconfigjson: {encoded}\n"
        "---\n" + pod
    )
    return path


#: ``pull_secret_missing``: the namespace's one Secret, for another registry
OTHER_SECRET = "other-pull"
OTHER_REGISTRY = "other.test"
OTHER_LOGIN = {"username": "someone", "password": "other-pw"}


def _bytes(login: dict[str, str]) -> dict[bytes, bytes]:
    return {k.encode(): v.encode() for k, v in login.items()}


def _secret_yaml(name: str, config: dict[str, Any]) -> str:
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n"
        "type: kubernetes.io/dockerconfigjson\n"
        f"data:\n  .dockerconfigjson: {encoded}\n"
    )


KUBECTL = """#!PYTHON
# kubectl shim: the API objects a pull-secret fix creates, recorded in $RDS_KUBE; the
# scenario's CRI pull then passes them as the kubelet would (pod_credentials)
import base64, json, os, sys


def secret_object(namespace, name, auths):
    config = {"auths": {
        server: {**entry, "auth": base64.b64encode(
            (entry["username"] + ":" + entry["password"]).encode()).decode()}
        for server, entry in auths.items()
    }}
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1",
                     "uid": "0c0ffee0-0000-4000-8000-000000000001"},
        "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
    }


def dockerconfig_auths(config):
    # {server: {username, password}} of a .dockerconfigjson (its "auth" decoded)
    auths = {}
    for server, entry in config.get("auths", {}).items():
        if "username" not in entry and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            entry = {"username": user, "password": password}
        auths[server] = {"username": entry["username"], "password": entry["password"]}
    return auths


args = sys.argv[1:]
if any(@PASSWORD@ in a for a in args):
    print("kubectl shim: the password is in the command line (ps shows it)", file=sys.stderr)
    sys.exit(97)
namespace = "default"
rest = []
i = 0
while i < len(args):
    if args[i] in ("-n", "--namespace"):
        namespace = args[i + 1]
        i += 2
        continue
    if args[i].startswith("--namespace="):
        namespace = args[i].split("=", 1)[1]
    else:
        rest.append(args[i])
    i += 1
path = os.environ["RDS_KUBE"]
state = json.load(open(path)) if os.path.exists(path) else {}
flags = dict(a[2:].split("=", 1) for a in rest if a.startswith("--") and "=" in a)
valued = {i + 1 for i, a in enumerate(rest) if a in ("-o", "-f", "-p")}
words = [a for i, a in enumerate(rest) if not a.startswith("-") and i not in valued]
if words[:2] == ["delete", "secret"] and len(words) == 3:
    gone = state.get("secrets", {}).pop(namespace + "/" + words[2], None)
    if gone is None and "--ignore-not-found" not in rest:
        print('Error from server (NotFound): secrets "' + words[2] + '" not found', file=sys.stderr)
        sys.exit(1)
    print('secret "' + words[2] + '" deleted')
elif words[:2] == ["create", "secret"] and len(words) == 4 and words[2] in (
    "docker-registry",
    "generic",
):
    if words[2] == "generic" or "from-file" in flags:
        # generic --type=kubernetes.io/dockerconfigjson --from-file=.dockerconfigjson=PATH
        # (PATH /dev/stdin: the password never in argv)
        key, _, source = flags.get("from-file", "").partition("=")
        if key != ".dockerconfigjson" or (
            words[2] == "generic" and flags.get("type") != "kubernetes.io/dockerconfigjson"
        ):
            print("kubectl shim: only --type=kubernetes.io/dockerconfigjson "
                  "--from-file=.dockerconfigjson=PATH", file=sys.stderr)
            sys.exit(1)
        auths = dockerconfig_auths(json.load(open(source)))
    else:
        server = flags.get("docker-server", "https://index.docker.io/v1/")
        auths = {server: {"username": flags["docker-username"],
                          "password": flags["docker-password"]}}
    if flags.get("dry-run") == "client":
        # what -o json|yaml prints: the Secret, for `kubectl apply -f -`
        print(json.dumps(secret_object(namespace, words[3], auths)))
        sys.exit(0)
    name = namespace + "/" + words[3]
    if name in state.get("secrets", {}):
        print('error: failed to create secret secrets "' + words[3] + '" already exists',
              file=sys.stderr)
        sys.exit(1)
    state.setdefault("secrets", {})[name] = {"auths": auths}
    print("secret/" + words[3] + " created")
elif words[:2] == ["get", "secret"] and len(words) == 3:
    secret = state.get("secrets", {}).get(namespace + "/" + words[2])
    if secret is None:
        print('Error from server (NotFound): secrets "' + words[2] + '" not found', file=sys.stderr)
        sys.exit(1)
    if "-o" not in rest or rest[rest.index("-o") + 1] != "json":
        print("kubectl shim: get secret needs -o json", file=sys.stderr)
        sys.exit(1)
    print(json.dumps(secret_object(namespace, words[2], secret["auths"])))
    sys.exit(0)
elif words == ["apply"] and "-f" in rest and rest[rest.index("-f") + 1] == "-":
    obj = json.loads(sys.stdin.read())
    if obj.get("kind") != "Secret" or obj.get("type") != "kubernetes.io/dockerconfigjson":
        print("kubectl shim: apply supports docker-registry Secrets only", file=sys.stderr)
        sys.exit(1)
    meta = obj["metadata"]
    auths = dockerconfig_auths(json.loads(base64.b64decode(obj["data"][".dockerconfigjson"])))
    name = meta.get("namespace", namespace) + "/" + meta["name"]
    known = name in state.get("secrets", {})
    state.setdefault("secrets", {})[name] = {"auths": auths}
    print("secret/" + meta["name"] + (" configured" if known else " created"))
elif words[:2] == ["patch", "serviceaccount"] and len(words) == 3 and "-p" in rest:
    patch = json.loads(rest[rest.index("-p") + 1])
    accounts = state.setdefault("serviceaccounts", {})
    key = namespace + "/" + words[2]
    if flags.get("type") == "json":
        # RFC 6902 as the API server applies it: "add" at /imagePullSecrets/- appends,
        # and fails when the account has no such list yet
        for op in patch:
            if op["op"] != "add" or op["path"] != "/imagePullSecrets/-" or key not in accounts:
                print('The request is invalid: the server rejected our request due to an '
                      'error in our request: doc is missing path: "/imagePullSecrets/-"',
                      file=sys.stderr)
                sys.exit(1)
            accounts[key].append(op["value"]["name"])
    else:
        # a strategic merge patch: ServiceAccount.imagePullSecrets has no merge key, so
        # the list is replaced
        accounts[key] = [s["name"] for s in patch.get("imagePullSecrets", [])]
    print("serviceaccount/" + words[2] + " patched")
else:
    print("kubectl shim: not supported: " + " ".join(args), file=sys.stderr)
    sys.exit(1)
json.dump(state, open(path, "w"))
"""
