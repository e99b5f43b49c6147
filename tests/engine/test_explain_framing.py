"""explain reads the error whatever log framing it was pasted with: CI consoles' prefixes
and suffixes, journal and ``kubectl`` events columns, colours, CRLF, a terminal's hard
wrap (``regdoctor/engine/explain_stream.py``: ``normalise_line``, ``unwrap_terminal``).

The data-driven floor re-frames the tuned corpus (``fixtures/pasted/*.yaml``, never the
held-out split) with ``benchmarks/bench_explain_framing.py``'s framings."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from regdoctor.engine import fallback, load_catalog
from regdoctor.engine.cut import cut_at
from regdoctor.engine.explain import explain
from regdoctor.engine.explain_stream import normalise_line, unfold_yaml, unwrap_terminal

ROOT = Path(__file__).resolve().parents[2]
CATALOG = load_catalog()
X509 = (
    'Error response from daemon: Get "https://r.example.test/v2/": '
    "x509: certificate signed by unknown authority"
)


def lead(text: str):
    return next(m for m in explain(CATALOG, text) if m.leading)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # GitLab Runner's job log: colour, then the executor's (file.go:line:duration)
        (
            '\x1b[0;33mWARNING: Failed to pull image with policy "always": denied'
            " (manager.go:237:0s)\x1b[0;m",
            'WARNING: Failed to pull image with policy "always": denied',
        ),
        ("ERROR: Job failed: x (manager.go:237:1m3s)", "ERROR: Job failed: x"),
        # GitHub Actions' raw log: timestamp with 7 fractional digits, ##[error]
        ("2026-12-06T12:00:00.1234567Z ##[error]Error: boom", "Error: boom"),
        ("##[error]Error: boom", "Error: boom"),
        # Jenkins Timestamper
        ("[2026-12-06T12:00:00.123Z] Error: boom", "Error: boom"),
        ("[12:00:00] Error: boom", "Error: boom"),
        # Buildkite's timestamp escape
        ("\x1b_bk;t=1765022400000\x07Error: boom", "Error: boom"),
        # journald
        ("Dec 06 12:00:00 node-1 containerd[812]: Error: boom", "Error: boom"),
        # kubectl describe pod: Type Reason Age From Message
        (
            "  Warning  Failed     7m40s (x4 over 9m8s)   kubelet, aks-agentpool-1  "
            "Failed to pull image",
            "Failed to pull image",
        ),
        (
            "  Warning  Failed     12s                kubelet            Error: ErrImagePull",
            "Error: ErrImagePull",
        ),
        # kubectl get events: LAST SEEN TYPE REASON OBJECT MESSAGE
        (
            "12s         Warning   Failed    pod/web-7d4b9c6f5-x2x9z   Failed to pull",
            "Failed to pull",
        ),
        # CRLF and colour
        ("\x1b[1;31mError:\x1b[0m boom\r", "Error: boom"),
        # OpenShift's web console Events table, copied: the count glued to the message
        # (projectodd/openwhisk-openshift#35)
        (
            "3:21:09 PM | Warning | Failed | Error: ErrImagePull3 times in the last 47 minutes",
            "Error: ErrImagePull",
        ),
        (
            "3:19:08 PM | app-5-x5np6 | Pod | Normal | Back-off | Back-off pulling image"
            ' "app:latest"6 times in the last 2 minutes',
            'Back-off pulling image "app:latest"',
        ),
        # argo get: STEP PODNAME DURATION MESSAGE (argoproj/argo-workflows#947)
        (
            " \u2514---\u2716 hello0   steps-jxggl-1508661637  5s        Back-off pulling image"
            ' "ttdocker/whalesay"',
            'Back-off pulling image "ttdocker/whalesay"',
        ),
        # PowerShell: the native command's name before its first error line, and the
        # error record after it (microsoft/nav-docker#218)
        ("docker : Error response from daemon: boom", "Error response from daemon: boom"),
        ("At line:1 char:1", ""),
        ("+ ~~~~~~~~~~~~~~~~~~~~~~", ""),
        (
            "    + CategoryInfo          : NotSpecified: (Error response ...ame or"
            " password:String) [], RemoteException",
            "",
        ),
        ("    + FullyQualifiedErrorId : NativeCommandError", ""),
        # Markdown quotes, typographic quotes
        ("> > Error: boom", "Error: boom"),
        (
            "Get \u201chttps://r.example.test/v2/\u201d: EOF",
            'Get "https://r.example.test/v2/": EOF',
        ),
        ("it\u2019s\u00a0gone", "it's gone"),
        # a quoted message value: -o json, -o yaml, Tekton's condition
        (
            '            "message": "Failed to pull image \\"x\\": EOF",',
            'Failed to pull image "x": EOF',
        ),
        ("- message: 'it''s gone: EOF'", "it's gone: EOF"),
        (
            '    Message:    the step "build" in TaskRun "r-1" failed to pull the image "".'
            ' The pod errored with the message: "Back-off pulling image "x"."',
            'Back-off pulling image "x"',
        ),
        # nothing to remove: indentation and the message's own words stay
        ('Pulling image "nginx:latest"', 'Pulling image "nginx:latest"'),
        ("docker pull nginx", "docker pull nginx"),
        ("    continued message", "    continued message"),
        ("Warning: the image is old", "Warning: the image is old"),
        ("12:00 is not a timestamp we strip", "12:00 is not a timestamp we strip"),
    ],
)
def test_normalise_line_removes_log_framing(line: str, message: str) -> None:
    assert normalise_line(line) == message


def test_a_gitlab_suffix_no_longer_hides_an_end_anchored_error() -> None:
    text = (
        'WARNING: Failed to pull image with policy "always": Error response from daemon: '
        'Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": '
        'Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fnginx%3Apull'
        '&service=registry.docker.io": Bad Gateway (manager.go:237:0s)'
    )
    assert lead(text).category == "proxy.error"


def test_a_terminal_wrap_is_joined_back() -> None:
    # the Windows console wrapped docker's message at 80 columns (TIBCOSoftware/flogo#69)
    rows = [
        r"C:\Program Files\Docker Toolbox\docker.exe: Error response from daemon: Get http",
        "s://registry-1.docker.io/v2/: dial tcp: lookup registry-1.docker.io on 192.0.2.3:",
        "53: no such host.",
    ]
    rows[0] = rows[0][:80]
    rows[1] = rows[1][:80]
    assert len(rows[0]) == len(rows[1]) == 80
    lines, numbers = unwrap_terminal(["$ docker pull x", *rows, "See 'docker run --help'."])
    assert numbers == [0, 1, 4]
    assert lines[1] == "".join(rows)
    match = lead("\n".join(["$ docker pull x", *rows]))
    assert match.category == "dns.nxdomain" and match.lines == (2,)


def test_one_wrapped_row_is_joined_only_when_alone_it_says_nothing() -> None:
    line = X509.replace("r.example.test", "registry.example.test")
    cut = line.index("certificate s") + 6
    text = f"{line[:cut]}\n{line[cut:]}\nretrying in 5 seconds"
    assert lead(text).category == "tls.unknown_authority"


@pytest.mark.parametrize(
    "lines",
    [
        # one template, every line as wide (a host per line, each with its timestamp)
        [
            f"2026-11-27T10:00:0{i}Z Error response from daemon: "
            f'Get "https://r{i}.example.test/v2/": EOF'
            for i in range(5)
        ],
        # the longest line repeated, shorter ones between
        [X509, "retrying...", X509, "$ docker pull nginx", X509],
        # two different lines that happen to be equally wide, each followed by its like
        [X509, X509.replace("r.example", "s.example"), "done"],
    ],
)
def test_a_log_that_was_not_wrapped_is_left_alone(lines: list[str]) -> None:
    assert unwrap_terminal(lines) == (lines, None)


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_explain_framing", ROOT / "benchmarks" / "bench_explain_framing.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: Top-1 floors per framing (measured 2026-12-07, second round: every framing 99.4-100 %
#: but the cuts, which lose the words past them: "…" at 160 73.6 %, "..." at 120 58.8 %,
#: "… See All" at 200 78.1 %; before the second round, event YAML gave 95.4 %, the
#: OpenShift console 94.8 %, smart quotes 96.2 %, Tekton 98.0 %). The eighth collection's
#: tuned pastes (long kubelet and containerd lines whose cause sits past the cut) moved
#: "..." at 120 to 54.7 % (358/655; the older pastes alone 55.4 %, the new ones 44.7 %).
#: The ninth collection's (kubelet, containerd and buildkit lines again) moved it to
#: 53.4 % (373/699).
FLOOR = 0.99
CUT_FLOOR = 0.53


def test_framed_tuned_corpus_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    bench = _bench()
    # the nearest-message guess knows these very pastes: only rules and re-reading count
    monkeypatch.setattr(fallback, "guess", lambda head, remediation: None)
    entries = [e for e in bench.corpus() if e["category"] != "other"]
    base = [e for e in entries if lead(e["text"]).category == e["category"]]
    assert len(base) >= 0.98 * len(entries)
    short = {}
    silent = {}
    for name, frame in bench.FRAMINGS.items():
        matches = [(lead(frame(e["text"])), e["category"]) for e in base]
        right = sum(m.category == category for m, category in matches)
        floor = CUT_FLOOR if name.startswith("cut") else FLOOR
        if right < floor * len(base):
            short[name] = f"{right}/{len(base)}"
        if name.startswith("cut"):
            # no cause is named from a cut line without saying that it was cut
            quiet = sum(m.category == "other" and "cut" not in m.fields for m, _c in matches)
            if quiet:
                silent[name] = quiet
    assert not short, short
    assert not silent, silent


def test_a_logfmt_line_is_read_through_when_its_quote_hides_the_end() -> None:
    # containerd/dockerd's logfmt: the closing quote keeps a rule anchored at the end of
    # the message ("...": Bad Gateway, a forward proxy's answer) from seeing it; read as
    # is, the line is only a server's 502.
    message = (
        'Error response from daemon: Head "https://registry-1.docker.io/v2/library/nginx/'
        'manifests/latest": Get "https://auth.docker.io/token?scope=repository%3Alibrary'
        '%2Fnginx%3Apull&service=registry.docker.io": Bad Gateway'
    )
    line = 'time="2026-12-06T12:00:00Z" level=error msg=' + json.dumps(message)
    match = lead("$ docker pull nginx\n" + line)
    assert match.category == "proxy.error" and match.lines == (2,)


def test_a_multi_line_message_in_one_json_log_line_stays_one_line() -> None:
    message = (
        "# docker pull nginx\nUsing default tag: latest\nError response from daemon: "
        'Get "https://auth.docker.io/token?service=registry.docker.io": Bad Gateway'
    )
    line = json.dumps({"level": "error", "msg": "image pull failed", "error": message})
    match = lead(line)
    assert match.category == "proxy.error" and match.lines == (1,)


def test_a_dotted_message_field_of_a_json_log_line_is_read_through() -> None:
    # trivy-operator (pkg/vulnerabilityreport/controller/scanjob.go) logs a failed scan
    # job as "msg":"Scan job container" and the job's error in "status.message", trivy's
    # list of image sources whose last line is the registry's answer; a bare EOF at its
    # end was hidden by the closing quote and the escaped line ends (a probe miss).
    status = (
        "FATAL\timage scan error: scan error: unable to initialize a scanner: unable to "
        "initialize a docker scanner: 4 errors occurred:\n\t* unable to inspect the image "
        "(registry.example.test/team/app:1.0): Cannot connect to the Docker daemon at "
        "unix:///var/run/docker.sock. Is the docker daemon running?\n\t* containerd socket "
        "not found: /run/containerd/containerd.sock\n\t* unable to initialize Podman "
        "client: no podman socket found: stat podman/podman.sock: no such file or "
        'directory\n\t* GET "https://registry.example.test/v2/": EOF\n\n'
    )
    line = json.dumps(
        {
            "level": "error",
            "logger": "reconciler.scan job",
            "msg": "Scan job container",
            "status.reason": "Error",
            "status.message": status,
        }
    )
    match = lead(line)
    assert (match.rule, match.category, match.lines) == ("http-protocol-error", "tcp.reset", (1,))


#: ``kubectl get events -o yaml`` as go-yaml folds a message (UKHomeOffice/kb8or#68)
EVENT_YAML = """\
- apiVersion: v1
  count: 61
  kind: Event
  message: 'Failed to pull image "quay.io/ukhomeofficedigital/s3registry:v2.0.0-bob":
    image pull failed for quay.io/ukhomeofficedigital/s3registry:v2.0.0-bob, this
    may be because there are no credentials on this request.  details: (Tag v2.0.0-bob
    not found in repository quay.io/ukhomeofficedigital/s3registry)'
  reason: Failed
  source:
    component: kubelet"""


def test_a_folded_yaml_message_is_joined_back() -> None:
    lines, numbers = unfold_yaml(EVENT_YAML.splitlines())
    assert numbers == [0, 1, 2, 3, 7, 8, 9]
    assert lines[3].endswith(
        "(Tag v2.0.0-bob not found in repository quay.io/ukhomeofficedigital/s3registry)'"
    )
    assert normalise_line(lines[3]).startswith('Failed to pull image "quay.io/')
    match = lead(EVENT_YAML)
    assert match.category == "image.manifest_unknown" and match.lines == (4,)


def test_a_yaml_message_folded_and_then_wrapped_by_a_terminal() -> None:
    rows = []
    for line in EVENT_YAML.splitlines():
        while len(line) > 80:
            rows.append(line[:80])
            line = line[80:]
        rows.append(line)
    match = lead("\n".join(rows))
    assert match.category == "image.manifest_unknown" and match.lines == (4,)


def test_a_double_quoted_yaml_message_with_escaped_breaks() -> None:
    text = (
        '- message: "ctr: failed to resolve image: failed to do request: Head \\"\\\n'
        '    https://registry-1.docker.io/v2/library/nginx/manifests/latest\\": dial tcp'
        " 192.0.2.4:443:\\\n"
        '    \\ i/o timeout"\n'
        "  reason: Failed"
    )
    match = lead(text)
    assert match.category == "tcp.timeout" and match.lines == (1,)


@pytest.mark.parametrize("filler", [0, 1000])
def test_typographic_quotes_are_read_short_and_in_a_long_log(filler: int) -> None:
    # a chat client turned the quotes round the URL typographic: the proxy rule reads
    # `Get "https://...": Bad Gateway`
    line = (
        "Error response from daemon: Get \u201chttps://auth.docker.io/token?scope=repository"
        "%3Alibrary%2Fnginx%3Apull&service=registry.docker.io\u201d: Bad Gateway"
    )
    lines = ["INFO step done"] * filler
    match = lead("\n".join([*lines, line, *lines]))
    assert match.category == "proxy.error" and match.lines == (filler + 1,)


def test_powershell_wrap_the_joined_row_wins() -> None:
    # PowerShell wraps docker's message at the console's width (120), alone, whatever
    # character is there (the tail starts with a space), and adds its error record
    # (microsoft/nav-docker#218): alone, the row is only a certificate that failed.
    first = (
        "docker : Error while pulling image: Get https://index.docker.io/v1/repositories/"
        "library/ubuntu/images: x509: certificate has expired or is not yet valid"
    )
    rows = [first[:120], first[120:]]
    assert rows[1].startswith(" has expired")
    record = [
        "At line:1 char:1",
        "+ docker pull ubuntu",
        "+ ~~~~~~~~~~~~~~~~~~",
        "    + CategoryInfo          : NotSpecified: (Error while pul...s not yet valid:String)"
        " [], RemoteException",
        "    + FullyQualifiedErrorId : NativeCommandError",
    ]
    match = lead("\r\n".join([*rows, *record]))
    assert match.category == "tls.expired" and match.lines == (1,)


# --------------------------------------------------------------------------- cut lines

CUT_DIAL = (
    'Error response from daemon: failed to resolve reference "r.example.test:5001/team/app:1.0":'
    ' failed to do request: Head "https://r.example.test:5001/v2/team/app/manifests/1.0":'
    " dial tcp 192.0.2.7:5001: conn"
)


@pytest.mark.parametrize(
    ("line", "at"),
    [
        ("Error: x: conn\u2026", 14),
        ("Error: x: conn \\\u2026 See All", 15),  # OpenShift's console
        ("Error: x: connection [truncated]", 20),
        ("E" * 120 + ": conn...", 126),  # kubectl describe's long values
        ("E" * 120 + ": no ...", 124),
        ('Failed to pull image "XXX...', 25),  # a quote left open
        # not cuts: docker's and podman's own progress lines, a full stop
        ("Trying to pull docker.io/library/nginx:latest...", None),
        ("Pulling fs layer ...", None),
        ("Error: x: connection refused.", None),
    ],
)
def test_cut_at_finds_the_mark_of_a_cut(line: str, at: int | None) -> None:
    assert cut_at(line) == at


def test_a_cut_line_no_rule_reads_is_said_to_be_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fallback, "guess", lambda head, remediation: None)
    match = lead(CUT_DIAL + "\u2026")
    assert match.category == "other" and match.lines == (1,)
    assert match.title == "The error was cut short before its cause"
    assert "was cut" in match.explanation and "dial tcp 192.0.2.7:5001:" in match.explanation
    # what survives: the registry's request failed; the split word names no host
    assert match.fields["peer_role"] == "registry"
    assert match.fields["peer_name"] == "r.example.test"
    assert match.fields["cut"].endswith("dial tcp 192.0.2.7:5001:")
    assert match.check == "regdoctor check r.example.test:5001/team/app:1.0"
    assert "kubectl get events -o json" in match.remediation[-1].text


def test_a_split_host_is_not_read_as_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fallback, "guess", lambda head, remediation: None)
    match = lead('Error response from daemon: Get "https://regis\u2026')
    assert "host" not in match.fields and "registry" not in match.fields
    assert match.title == "The error was cut short before its cause"


def test_a_rule_read_before_the_cut_says_the_line_was_cut() -> None:
    line = (
        'Error response from daemon: Get "https://r.example.test/v2/": x509: certificate is'
        " valid for a.example.test, not r.exa\u2026"
    )
    match = lead(line)
    assert match.category == "tls.hostname_mismatch"
    assert "was cut" in match.explanation and "live check" in match.explanation
    assert match.fields["cut"].endswith("valid for a.example.test, not")


def test_a_line_that_was_not_cut_says_nothing_of_cuts() -> None:
    match = lead(X509)
    assert "cut" not in match.fields and "was cut" not in match.explanation


MALFORMED = (
    "Error response from daemon: Get https://r.example.test/v2/: malformed HTTP response "
    '"\\x15\\x03\\x01\\x00\\x02\\x02\\x16"'
)


@pytest.mark.parametrize(
    "text",
    [
        # logfmt (dockerd, containerd): Go's "\x15" escaped once more
        'time="2026-12-06T12:00:00Z" level=error msg=' + json.dumps(MALFORMED),
        # kubectl get events -o json
        '            "message": ' + json.dumps(MALFORMED) + ",",
        # the whole paste in one JSON string
        json.dumps({"level": "error", "msg": "image pull failed", "error": MALFORMED}),
    ],
)
def test_a_tls_record_escaped_twice_stays_text(text: str) -> None:
    match = lead(text)
    assert match.category == "tls.http_on_https" and match.lines == (1,)


def test_a_folded_yaml_message_inside_an_events_table() -> None:
    # the table's columns eat the YAML's indentation once removed; the columns as printed
    # still show the continuation deeper than the key
    prefix = "12s         Warning   Failed    pod/web-7d4b9c6f5-x2x9z   "
    rows = [prefix + line for line in EVENT_YAML.splitlines()]
    match = lead("\n".join(rows))
    assert match.category == "image.manifest_unknown" and match.lines == (4,)


@pytest.mark.parametrize(
    ("second", "category"),
    [
        ('Get "https://r.example.test/v2/": net/http: TLS handshake', "tls.handshake"),
        ('Get "https://r.example.test/v2/": dial tcp: lookup', "dns.nxdomain"),
    ],
)
def test_an_indented_continuation_of_the_widest_row_is_joined_with_one_space(
    second: str, category: str
) -> None:
    # a message hard-wrapped in the paste, its continuation indented: the widest row is
    # the error itself, read with its continuation as one line, words one space apart
    tail = {
        "tls.handshake": "timeout",
        "dns.nxdomain": "r.example.test on 192.0.2.1:53: no such host",
    }
    text = (
        f"docker pull r.example.test/app\nError response from daemon: {second}\n"
        f"    {tail[category]}"
    )
    match = lead(text)
    assert match.category == category and match.lines == (2,)
    assert match.fallback is None  # a rule's reading, not the nearest-message guess


@pytest.mark.parametrize(
    "line",
    [
        # a rule matches the words before the cut
        'Error response from daemon: Get "https://registry.test/v2/": x509: certificate signed'
        " by unknown authority Authorization: Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0c2ln conn…",
        # nothing does
        "pulling layer failed Authorization: Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0c2ln conn…",
    ],
)
def test_a_cut_lines_quote_is_redacted(line: str) -> None:
    """The note on a cut line quotes its last words; a token there is masked in the
    explanation and in the ``cut`` field, and the sentence after it survives."""
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0c2ln"
    matches = explain(CATALOG, line)
    assert matches and any(m.fields.get("cut") for m in matches)
    for match in matches:
        assert token not in match.explanation
        assert all(token not in str(value) for value in match.fields.values())
    lead = next(m for m in matches if m.leading)
    assert lead.explanation.rstrip().endswith(".")
