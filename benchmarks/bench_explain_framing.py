#!/usr/bin/env python3
"""explain's top-1 on the same errors in the log framings users paste them from.

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_explain_framing.py [--rules-only]

Input: every entry of the tuned corpus (``fixtures/pasted/*.yaml``; the held-out split is
never read here) that ``explain`` gets right as pasted, real causes only (not ``other``).
Each is re-framed in every framing below, line by line as the log would print it, and the
leading category is compared with the entry's. The nearest-message guess is switched off
(the pastes are in its index, so it would find them); ``--rules-only`` also switches off
the re-reading of log lines, to see what the rules alone do.

The framings are the real formats, as printed by (sources: public threads and docs):

- GitLab runner job log: a ``(manager.go:237:0s)`` suffix (file:line:duration of the
  runner's docker executor) and ANSI colour around the line ("WARNING: Failed to pull
  image with policy ... (manager.go:237:0s)": deployphp/deployer#3707,
  superlinear-ai/substrate#166, cattle-ops/terraform-aws-gitlab-runner#1043);
- GitHub Actions raw log: an RFC 3339 timestamp with 7 fractional digits and a space,
  then the ``##[error]`` workflow command on error lines (ChristopherHX/gitea-actions-runner#4
  shows the ``##[group]``/``##[command]`` family);
- Jenkins with the Timestamper plugin: ``[2026-12-06T12:00:00.123Z] `` before each line;
- Buildkite: the agent's timestamp APC escape ``ESC _bk;t=<ms>BEL`` before each line;
- journald (``journalctl -u containerd``): ``Dec 06 12:00:00 host unit[pid]: ``;
- ``kubectl describe pod`` Events table: ``  Warning  Failed  12s (x3 over 1m)  kubelet
  <message>`` (columns Type, Reason, Age, From, Message; docker/for-mac#3381 in the corpus);
- ``kubectl get events``: ``LAST SEEN  TYPE  REASON  OBJECT  MESSAGE`` columns
  (kubernetes/kubernetes#16147, kubebb/core#130);
- Argo Workflows / containerd / dockerd / CRI-O (logrus text): ``time="..." level=error
  msg="..."`` with Go's ``%q`` escapes, CRI-O under journald as well;
- ANSI colours inside the line (``ESC[1;31m`` ... ``ESC[0m``);
- CRLF line ends (a log saved on Windows);
- a terminal hard-wrapping long lines at 80 columns, and at an unusual 97 (no indentation
  on the continuation);
- the whole multi-line message in one JSON string with ``\\n`` escapes (a JSON log line,
  Go's encoder escaping ``<``, ``>``, ``&``);
- lines cut with "…" at 160 characters (UI tables, chat clients);

and, added in the second round:

- ``kubectl get events -o yaml``: each message a YAML scalar, single-quoted and folded at
  80 columns with its continuation indented (UKHomeOffice/kb8or#68, go-yaml's emitter);
- ``kubectl get events -o json``: ``"message": "..."`` with ``\\"`` escapes, indented
  (tektoncd/pipeline#1913 shows the status in that form);
- ``kubectl describe`` (and ``oc describe``, the same printer) with the Events row wider
  than the terminal, wrapped at 120 columns with no indentation;
- OpenShift's web console Events table copied as text: ``3:21:09 PM | Warning | Failed |``
  then the message with the count glued to its end (``...3 times in the last 47
  minutes``: projectodd/openwhisk-openshift#35, openshift/origin#18303);
- Tekton's TaskRun condition (``tkn``/``kubectl describe taskrun``): ``Message: the step
  "build" in TaskRun "..." failed to pull the image "". The pod errored with the message:
  "<message>."`` (tektoncd/pipeline#8357, #6530);
- ``argo get`` (Argo Workflows): the STEP / PODNAME / DURATION / MESSAGE table, the
  message in the last column (argoproj/argo-workflows#947);
- ``argocd app get`` (Argo CD): the resources table, GROUP / KIND / NAMESPACE / NAME /
  STATUS / HEALTH, the health message in the last column (argoproj/argo-cd#992 shows the
  table);
- containerd's own journald log: ``level=error msg="PullImage \\"IMAGE\\" failed"
  error="..."``, the error in its own Go-quoted value (kubernetes/kubernetes#131521);
- PowerShell running docker: ``docker : `` before the first line, the console's wrap at
  120 columns, then ``At line:1 char:1``, ``+ CategoryInfo : NotSpecified: (Error
  response ...ame or password:String) [], RemoteException`` and ``+
  FullyQualifiedErrorId : NativeCommandError``, with CRLF line ends
  (microsoft/nav-docker#218);
- GitHub issue markdown: the log in a ```` ``` ```` fence inside ``<details>``; and quoted
  with ``> `` (kubernetes/kubernetes#64702, microsoft/navcontainerhelper#262);
- Slack / Teams / Word copies: straight quotes turned into typographic ones (U+201C/D, U+2018/9);
- lines cut with "..." at 120 (``kubectl describe``'s cut of long annotations,
  argoproj/argo-workflows#4229), and with ``… See All`` after 200 characters (OpenShift's
  console, projectodd/openwhisk-openshift#35).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from regdoctor.engine import fallback, load_catalog  # noqa: E402
from regdoctor.engine.explain import TextMatch, explain  # noqa: E402

TS = "2026-12-06T12:00:00"


def _go_json(text: str) -> str:
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _per_line(wrap: Callable[[str], str]) -> Callable[[str], str]:
    def framed(text: str) -> str:
        return "\n".join(wrap(ln) if ln.strip() else ln for ln in text.splitlines())

    return framed


def _hard_wrap(width: int) -> Callable[[str], str]:
    def framed(text: str) -> str:
        out: list[str] = []
        for ln in text.splitlines():
            while len(ln) > width:
                out.append(ln[:width])
                ln = ln[width:]
            out.append(ln)
        return "\n".join(out)

    return framed


def _cut(width: int) -> Callable[[str], str]:
    return _per_line(lambda ln: ln if len(ln) <= width else ln[: width - 1] + "…")


def _events_yaml(text: str) -> str:
    """Each line as the message of an event in ``kubectl get events -o yaml``."""
    out: list[str] = []
    for ln in text.splitlines():
        if not ln.strip():
            out.append(ln)
            continue
        item = yaml.safe_dump([{"message": ln, "reason": "Failed", "type": "Warning"}], width=80)
        out.append(item.rstrip("\n"))
    return "\n".join(out)


def _events_json(text: str) -> str:
    return "\n".join(
        f"            {json.dumps('message')}: {json.dumps(ln)}," if ln.strip() else ln
        for ln in text.splitlines()
    )


def _describe_wrapped(text: str) -> str:
    row = _per_line(lambda ln: f"  Warning  Failed     12s (x3 over 1m)  kubelet            {ln}")
    return _hard_wrap(120)(row(text))


def _powershell(text: str) -> str:
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    head = lines[first] if lines else ""
    info = head if len(head) <= 33 else head[:15] + "..." + head[-15:]
    lines[first : first + 1] = [
        "docker : " + head,
        "At line:1 char:1",
        "+ docker pull $imageName",
        "+ ~~~~~~~~~~~~~~~~~~~~~~",
        f"    + CategoryInfo          : NotSpecified: ({info}:String) [], RemoteException",
        "    + FullyQualifiedErrorId : NativeCommandError",
    ]
    return _hard_wrap(120)("\n".join(lines)).replace("\n", "\r\n")


def _smart_quotes(text: str) -> str:
    out: list[str] = []
    for ln in text.splitlines():
        chars: list[str] = []
        opened = False
        for i, c in enumerate(ln):
            if c == '"':
                chars.append("\u201d" if opened else "\u201c")
                opened = not opened
            elif c == "'":
                chars.append("\u2019" if i and ln[i - 1].isalnum() else "\u2018")
            else:
                chars.append(c)
        out.append("".join(chars))
    return "\n".join(out)


def _cut_with(width: int, mark: str) -> Callable[[str], str]:
    return _per_line(lambda ln: ln if len(ln) <= width else ln[: width - len(mark)] + mark)


FRAMINGS: dict[str, Callable[[str], str]] = {
    "as pasted": lambda text: text,
    "GitLab runner suffix": _per_line(lambda ln: f"\x1b[0;33m{ln} (manager.go:237:0s)\x1b[0;m"),
    "GitHub Actions ##[error]": _per_line(lambda ln: f"{TS}.1234567Z ##[error]{ln}"),
    "Jenkins timestamper": _per_line(lambda ln: f"[{TS}.123Z] {ln}"),
    "Buildkite timestamps": _per_line(lambda ln: f"\x1b_bk;t=1765022400000\x07{ln}"),
    "journald": _per_line(lambda ln: f"Dec 06 12:00:00 node-1 containerd[812]: {ln}"),
    "kubectl describe events": _per_line(
        lambda ln: f"  Warning  Failed     12s (x3 over 1m)  kubelet            {ln}"
    ),
    "kubectl get events": _per_line(
        lambda ln: f"12s         Warning   Failed    pod/web-7d4b9c6f5-x2x9z   {ln}"
    ),
    "logfmt (Argo, containerd)": _per_line(
        lambda ln: f'time="{TS}.000Z" level=error msg={_go_json(ln)}'
    ),
    "CRI-O under journald": _per_line(
        lambda ln: (
            "Dec 06 12:00:00 node-1 crio[901]: " + f'time="{TS}Z" level=warning msg={_go_json(ln)}'
        )
    ),
    "ANSI inside the line": _per_line(
        lambda ln: "\x1b[1;31m" + ln.replace(": ", ":\x1b[0m \x1b[31m", 1) + "\x1b[0m"
    ),
    "CRLF": lambda text: text.replace("\n", "\r\n"),
    "wrapped at 80 columns": _hard_wrap(80),
    "wrapped at 97 columns": _hard_wrap(97),
    "multi-line JSON (\\n)": lambda text: (
        '{"level":"error","msg":"image pull failed","error":' + _go_json(text.rstrip("\n")) + "}"
    ),
    "cut with … at 160": _cut(160),
    # second round
    "events -o yaml (folded)": _events_yaml,
    "events -o json": _events_json,
    "describe row wrapped at 120": _describe_wrapped,
    "OpenShift console events": _per_line(
        lambda ln: f"3:21:09 PM | Warning | Failed | {ln}3 times in the last 47 minutes"
    ),
    "Tekton TaskRun message": _per_line(
        lambda ln: (
            '    Message:               the step "build" in TaskRun "build-run-x2x9z" failed'
            ' to pull the image "". The pod errored with the message: "' + ln + '."'
        )
    ),
    "argo get MESSAGE column": _per_line(
        lambda ln: f" └---✖ hello0   steps-jxggl-1508661637  5s        {ln}"
    ),
    "argocd app get resource row": _per_line(
        lambda ln: (
            f"           Pod        default    web-7d4b9c6f5-x2x9z   Synced  Degraded        {ln}"
        )
    ),
    "containerd error= (journald)": _per_line(
        lambda ln: (
            f'Dec 06 12:00:00 node-1 containerd[812]: time="{TS}.024858788Z" level=error'
            f' msg="PullImage \\"docker.io/library/app:1.0\\" failed" error={_go_json(ln)}'
        )
    ),
    "PowerShell NativeCommandError": _powershell,
    "GitHub <details> + fence": lambda text: (
        "<details>\n<summary>Logs</summary>\n\n```console\n"
        + text.rstrip("\n")
        + "\n```\n\n</details>"
    ),
    "GitHub > quote": _per_line(lambda ln: "> " + ln),
    "smart quotes (Slack, Teams)": _smart_quotes,
    "cut with ... at 120": _cut_with(120, "..."),
    "cut with … See All at 200": _cut_with(200, "\\… See All"),
}


def corpus() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = []
    for path in sorted((ROOT / "fixtures" / "pasted").glob("*.yaml")):
        entries += yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    return entries


def main(argv: list[str]) -> int:
    catalog = load_catalog()
    fallback.guess = lambda head, remediation: None  # type: ignore[assignment]
    if "--rules-only" in argv:
        fallback.unwrapped = lambda catalog, result: None  # type: ignore[assignment]

    def leading(text: str) -> TextMatch:
        return next(m for m in explain(catalog, text) if m.leading)

    def category(text: str) -> str:
        return leading(text).category

    entries = [e for e in corpus() if e["category"] != "other"]
    base = [e for e in entries if category(e["text"]) == e["category"]]
    print(f"{len(base)} of {len(entries)} tuned real-cause pastes explained right as pasted")
    print("right: the leading category is the entry's; says cut: the answer says the line was")
    print("cut (an answer of its own, or a note on a rule's); wrong: another cause, not `other`")
    print(f"{'framing':31} {'right':>9} {'top-1':>7} {'says cut':>9} {'wrong':>6}")
    total = right_all = 0
    for name, frame in FRAMINGS.items():
        right = said_cut = wrong = 0
        for entry in base:
            match = leading(frame(entry["text"]))
            right += match.category == entry["category"]
            said_cut += "cut" in match.fields
            wrong += match.category not in (entry["category"], "other")
        total += len(base)
        right_all += right
        print(
            f"{name:31} {right:4d}/{len(base):<4d} {100 * right / len(base):6.1f}%"
            f" {said_cut:9d} {wrong:6d}"
        )
    print(f"{'all framings':31} {right_all:4d}/{total:<4d} {100 * right_all / total:6.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
