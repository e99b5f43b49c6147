"""A healthy check imports only the modules whose records and steps it uses: every
``@dataclass`` costs its definition at each start (about half a millisecond on Python
3.11), used or not (start-up figures: ``benchmarks/README.md``)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_import_hygiene import PROGRAM
from tests.cli.test_import_hygiene_check import _mark_insecure, _modules_after
from tests.harness import Testbed

#: Never used by a healthy check of a plain-HTTP registry that only podman has in scope
#: (no docker or containerd configuration): the other runtimes' models (with the Go URL
#: parser and JSON quoting they need), the timeouts table, the credential records and
#: their discovery (an anonymous registry asks for no credentials), the certificate
#: analysis (a plain-HTTP answer hands over no certificate) and the shell layout of a
#: finding's commands (no finding has any).
NOT_FOR_PODMAN_ONLY = (
    "regdoctor.runtime.docker",
    "regdoctor.runtime.docker_daemon",
    "regdoctor.runtime.containerd",
    "regdoctor.runtime._gourl",
    "regdoctor.runtime._gojson",
    "regdoctor.runtime.timeouts",
    "regdoctor.model.credentials",
    "regdoctor.discovery.credentials",
    "regdoctor.probes.certs",
    "regdoctor.render.shell",
)


def _own_modules(argv: list[str]) -> tuple[set[str], str]:
    program = PROGRAM.replace("m.split('.')[0]", "m")
    result = subprocess.run(
        [sys.executable, "-c", program.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    return {m for m in modules if m.startswith("regdoctor")}, result.stdout


def test_healthy_podman_only_check_imports_no_other_runtime(testbed: Testbed, isolate_env):
    ep = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, ep.hostport)
    argv = ["check", "--format", "json", testbed.images.app.ref(ep.hostport)]
    _modules_after(argv)  # fills the rule cache
    modules, out = _own_modules(argv)
    report = json.loads(out)
    assert list(report["targets"][0]["runtimes"]) == ["podman"]
    assert [t["status"] for t in report["targets"]] == ["ok"]
    assert "regdoctor.runtime.podman" in modules  # the routes of the runtime in scope
    assert not modules & set(NOT_FOR_PODMAN_ONLY), sorted(modules & set(NOT_FOR_PODMAN_ONLY))


def test_runtime_package_exports_every_name_on_first_use():
    """``from regdoctor.runtime import X`` works for every exported name, each from the
    module that defines it, and imports that module only then."""
    program = (
        "import sys, json\n"
        "import regdoctor.runtime as runtime\n"
        "before = sorted(m for m in sys.modules if m.startswith('regdoctor.runtime.'))\n"
        "where = {name: getattr(runtime, name).__module__ if hasattr(getattr(runtime, name),"
        " '__module__') else None for name in runtime.__all__}\n"
        "print(json.dumps([before, where, sorted(dir(runtime))]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    before, where, listed = json.loads(result.stdout)
    assert before == ["regdoctor.runtime.common"]
    assert where["docker_endpoints"] == "regdoctor.runtime.docker"
    assert where["parse_hosts_toml"] == "regdoctor.runtime.containerd"
    assert where["validate_daemon_json"] == "regdoctor.runtime.docker_daemon"
    assert where["podman_endpoints"] == "regdoctor.runtime.podman"
    assert where["timeout"] == "regdoctor.runtime.timeouts"
    assert where["falls_back"] == "regdoctor.runtime"
    assert set(where) <= set(listed)


#: Patterns compiled on first use (``functools.cache``) that a healthy check of a
#: plain-HTTP registry never needs: an error's userinfo, a TOML error's position, a
#: ``WWW-Authenticate`` header (the registry sends none), the tags of a missing tag's
#: listing, a digest in a manifest, a long learned secret, a tag alone, a host name
#: (the target is an IP address), the commands of a finding and their Markdown.
LAZY_PATTERNS = (
    "regdoctor.cli.errors:_userinfo",
    "regdoctor.discovery.base:_toml_where",
    "regdoctor.net.wwwauth:_param",
    "regdoctor.net.wwwauth:_scheme",
    "regdoctor.probes.image:_tag_re",
    "regdoctor.probes.manifest_body:_digest",
    "regdoctor.redact.literals:_long_run",
    "regdoctor.reference.grammar:_anchored_tag",
    "regdoctor.reference.targets:_hostname",
    "regdoctor.render.commands:_fill_in",
    "regdoctor.render.commands:_md_live",
    "regdoctor.render.commands:_md_line_start",
    "regdoctor.render.commands:_code_span",
)


def test_healthy_check_compiles_no_pattern_it_never_uses(testbed: Testbed, isolate_env):
    ep = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, ep.hostport)
    argv = ["check", testbed.images.app.ref(ep.hostport)]
    _modules_after(argv)  # fills the rule cache
    program = (
        "import importlib, json, sys\n"
        "from regdoctor.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "compiled = {}\n"
        f"for spec in {LAZY_PATTERNS!r}:\n"
        "    module, name = spec.split(':')\n"
        "    if module in sys.modules:\n"
        "        compiled[spec] = getattr(sys.modules[module], name).cache_info().currsize\n"
        "print(json.dumps(compiled), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stdout.startswith("✓ OK"), result.stdout + result.stderr
    compiled = json.loads(result.stderr.strip().splitlines()[-1])
    assert "regdoctor.reference.targets:_hostname" in compiled  # the module was imported
    assert not {spec for spec, size in compiled.items() if size}, compiled


def test_lazy_patterns_compile_on_first_use():
    """Each pattern is compiled once, on first use, and is the same object after."""
    import importlib

    for spec in LAZY_PATTERNS:
        module, name = spec.split(":")
        function = getattr(importlib.import_module(module), name)
        assert function() is function(), spec
        assert function().pattern, spec
