"""A plain `check` of a plain-HTTP registry imports only what that check needs: no trio
(httpcore imports it whenever it is installed), no anyio (httpcore's default backend and
primitives), no httpx command-line client (click, Pygments), no Textual, and no PyYAML
once the compiled rule cache is filled."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.test_import_hygiene import PROGRAM
from tests.harness import Testbed

#: Installed on this machine (test peers, the TUI, httpx's CLI extras), never needed by
#: a check. anyio: regdoctor's own asyncio backend and primitives replace httpcore's.
NOT_FOR_CHECK = (
    "trio",
    "textual",
    "yaml",
    "click",
    "pygments",
    "outcome",
    "sortedcontainers",
    "anyio",
)


def _modules_after(argv: list[str]) -> tuple[set[str], str]:
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1])), result.stdout


def _mark_insecure(config_root, hostport: str) -> None:
    """podman and CRI-O pull from a plain-HTTP registry only when it is marked insecure:
    with that, the check is healthy for every runtime."""
    conf = config_root / "etc" / "containers" / "registries.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(f'[[registry]]\nlocation = "{hostport}"\ninsecure = true\n')


def test_plain_check_imports_no_optional_backend(testbed: Testbed, isolate_env):
    ep = testbed.endpoints["plain"]
    _mark_insecure(isolate_env.config_root, ep.hostport)
    argv = ["check", "--format", "json", testbed.images.app.ref(ep.hostport)]
    _modules_after(argv)  # fills the rule cache, as any earlier run would have
    modules, out = _modules_after(argv)
    report = json.loads(out)
    assert [t["status"] for t in report["targets"]] == ["ok"] * len(report["targets"])
    assert "httpx" in modules  # the check did run over the network
    assert not modules & set(NOT_FOR_CHECK), sorted(modules & set(NOT_FOR_CHECK))
    # JSON output needs no terminal renderer either.
    assert "rich" not in modules


def test_lean_httpx_lifts_its_blocks():
    """The blocks hold only while httpx is first imported: trio stays importable."""
    program = (
        "import sys, importlib.util\n"
        "from regdoctor.net.lean_httpx import OPTIONAL_EXTRAS, httpx, httpcore\n"
        "assert 'trio' not in sys.modules and 'httpx._main' not in sys.modules\n"
        "assert all(name not in sys.modules for name in OPTIONAL_EXTRAS)\n"
        "print(callable(httpx.main), importlib.util.find_spec('trio') is not None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["True", "True"]


def test_tags_json_imports_no_terminal_renderer(testbed: Testbed, isolate_env):
    """A tag scan's JSON is written verbatim: no Rich, and no optional backend."""
    ep = testbed.endpoints["plain"]
    argv = ["tags", f"{ep.url}/{testbed.images.app.repository}", "--format", "json"]
    _modules_after(argv)  # fills the rule cache
    modules, out = _modules_after(argv)
    assert json.loads(out)["resolution"]["resolved"] >= 1
    assert not modules & {"rich", *NOT_FOR_CHECK}, sorted(modules & {"rich", *NOT_FOR_CHECK})


def test_dataclasses_a_check_imports_have_docstrings():
    """``@dataclass`` gives a class without a docstring one made from
    ``inspect.signature(cls)``: ~0.15 ms per class at every start-up, for text no one
    reads. The check path's dataclasses carry their own."""
    program = (
        "import dataclasses, json, sys\n"
        "import regdoctor.cli.check, regdoctor.check.plan, regdoctor.check.pipeline\n"
        "import regdoctor.check.verdicts, regdoctor.cli.stream, regdoctor.render.plain\n"
        "import regdoctor.engine.cache, regdoctor.discovery.effective\n"
        "import regdoctor.discovery.targets\n"
        "found = sorted(\n"
        "    f'{name}.{obj.__name__}'\n"
        "    for name, module in list(sys.modules.items()) if name.startswith('regdoctor')\n"
        "    for obj in vars(module).values()\n"
        "    if isinstance(obj, type) and dataclasses.is_dataclass(obj)\n"
        "    and obj.__module__ == name and (obj.__doc__ or '').startswith(obj.__name__ + '(')\n"
        ")\n"
        "print(json.dumps(found))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout) == []
