"""The compiled-dataclass-methods cache (regdoctor/cli/dataclass_code.py): the classes a
kept code object builds behave as freshly compiled ones, a second process compiles
nothing, and a file that is not ours, is broken or belongs to another interpreter is
ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from regdoctor.cli import dataclass_code

REPO = Path(__file__).resolve().parents[2]

# Classes of every shape regdoctor uses, defined in a module with `from __future__ import
# annotations` (as regdoctor's are) and one without; what they do is printed as JSON.
CLASSES = '''
import dataclasses, json, sys
from regdoctor.cli import dataclass_code
if sys.argv[1] == "install":
    dataclass_code.install()
src = """
from __future__ import annotations
import dataclasses
@dataclasses.dataclass(frozen=True)
class Frozen:
    a: int
    b: str = "x"
    c: tuple = dataclasses.field(default_factory=tuple)
@dataclasses.dataclass(slots=True, kw_only=True, order=True)
class Slotted:
    a: int = 0
    b: list = dataclasses.field(default_factory=list)
@dataclasses.dataclass(eq=False)
class Plain:
    a: int
    def __post_init__(self):
        self.a += 1
"""
ns = {"__name__": "classes_under_test"}
sys.modules["classes_under_test"] = type(sys)("classes_under_test")
exec(compile(src, "classes_under_test.py", "exec"), ns)
@dataclasses.dataclass(unsafe_hash=True)
class NoFuture:
    a: int
    b: "int" = 2
F, S, P = ns["Frozen"], ns["Slotted"], ns["Plain"]
out = {}
f = F(1)
try:
    f.a = 2
    out["frozen"] = False
except dataclasses.FrozenInstanceError:
    out["frozen"] = True
out["repr"] = [repr(f), repr(S(a=3)), repr(NoFuture(1))]
out["eq"] = [F(1) == F(1), F(1) == F(2), S(a=1) < S(a=2), P(1) == P(1)]
out["hash"] = [hash(F(1)) == hash(F(1)), hash(NoFuture(1)) == hash(NoFuture(1))]
out["post_init"] = P(1).a
out["annotations"] = [repr(c.__init__.__annotations__) for c in (F, S, P, NoFuture)]
out["code"] = [c.__init__.__code__.co_code.hex() for c in (F, S, P, NoFuture)]
out["filename"] = sorted({c.__init__.__code__.co_filename for c in (F, S, P, NoFuture)})
try:
    S(1)
    out["kw_only"] = False
except TypeError:
    out["kw_only"] = True
dataclass_code.save()
out["compiled"] = dataclass_code._compiled
print(json.dumps(out))
'''


def _run(cache: Path, mode: str, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k != "REGDOCTOR_NO_CACHE"}
    environment.update(XDG_CACHE_HOME=str(cache), PYTHONPATH=str(REPO), **env)
    done = subprocess.run(
        [sys.executable, "-c", CLASSES, mode],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def test_kept_code_builds_the_same_classes_and_a_second_process_compiles_nothing(tmp_path):
    fresh = _run(tmp_path, "plain")
    first = _run(tmp_path, "install")
    kept = tmp_path / "regdoctor" / dataclass_code.FILE_NAME
    assert kept.is_file() and kept.stat().st_mode & 0o777 == 0o600
    assert first["compiled"] > 0  # every method of the classes above, written once
    second = _run(tmp_path, "install")
    assert second["compiled"] == 0
    for run in (first, second):
        compiled = dict(run, compiled=None)
        assert compiled == dict(fresh, compiled=None)
    assert fresh["frozen"] and fresh["kw_only"] and fresh["post_init"] == 2
    assert fresh["filename"] == ["<string>"]
    # the __future__ import of the module that holds the cache never leaks into the code:
    # without it in the class's module, the annotation is the class, not a string
    assert "<class 'int'>" in fresh["annotations"][3]


def test_no_cache_leaves_dataclasses_alone(tmp_path):
    run = _run(tmp_path, "install", REGDOCTOR_NO_CACHE="1")
    assert run["compiled"] == 0
    assert not (tmp_path / "regdoctor" / dataclass_code.FILE_NAME).exists()


SPOILS = ["foreign-writable", "directory-writable", "symlink", "corrupt", "other-interpreter"]


@pytest.mark.parametrize("spoil", SPOILS)
def test_a_file_not_ours_broken_or_stale_is_ignored(tmp_path, monkeypatch, spoil):
    import marshal

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("REGDOCTOR_NO_CACHE", raising=False)
    path = tmp_path / "regdoctor" / dataclass_code.FILE_NAME
    path.parent.mkdir(mode=0o700)
    code = compile("def __create_fn__():\n return 1", "<string>", "exec")

    def write(key: object) -> None:
        path.write_bytes(marshal.dumps(key) + marshal.dumps({"the source": code}))
        path.chmod(0o600)

    write(dataclass_code._key())
    assert list(dataclass_code._load()) == ["the source"]  # whole and ours: read
    loads: list[object] = []
    real_load = marshal.load

    def counted(stream):  # type: ignore[no-untyped-def]
        loads.append(1)
        return real_load(stream)

    monkeypatch.setattr(marshal, "load", counted)
    if spoil == "foreign-writable":
        path.chmod(0o666)
    elif spoil == "directory-writable":
        path.parent.chmod(0o777)  # whoever can write there can swap the file
    elif spoil == "symlink":
        elsewhere = tmp_path / "elsewhere.marshal"
        path.rename(elsewhere)
        path.symlink_to(elsewhere)
    elif spoil == "corrupt":
        path.write_bytes(path.read_bytes()[:-7])
    elif spoil == "other-interpreter":
        write(("2.7.18 (elsewhere)", *dataclass_code._key()[1:]))
    assert dataclass_code._load() == {}
    if spoil == "other-interpreter":
        assert len(loads) == 1  # the key only: no code object of another Python is built
    elif spoil in ("foreign-writable", "directory-writable", "symlink"):
        assert loads == []  # not even opened as marshal data


def test_the_file_is_one_per_interpreter():
    name = dataclass_code.FILE_NAME
    assert sys.implementation.name in name
    assert ".".join(map(str, sys.version_info[:3])) in name


def test_the_command_line_compiles_nothing_the_second_time(tmp_path):
    """What the benchmark's runs see: the first `regdoctor` run writes the file, the next
    one finds every method it needs in it (the file is not rewritten)."""
    env = {
        **os.environ,
        "XDG_CACHE_HOME": str(tmp_path),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }
    env.pop("REGDOCTOR_NO_CACHE", None)
    argv = [
        sys.executable,
        "-m",
        "regdoctor",
        "explain",
        "x509: certificate signed by unknown authority",
    ]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode in (0, 1, 2), first.stderr
    kept = tmp_path / "regdoctor" / dataclass_code.FILE_NAME
    assert kept.is_file()
    before = kept.stat().st_mtime_ns
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert second.stdout == first.stdout
    assert kept.stat().st_mtime_ns == before


@pytest.mark.parametrize("what", ["file", "directory"])
def test_a_file_or_directory_of_another_user_is_not_read(tmp_path, monkeypatch, what):
    """The tests run as root: another uid's file (or directory) is refused even though
    nobody else may write it."""
    import marshal

    if os.getuid() != 0:
        pytest.skip("needs root to give the file to another user")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("REGDOCTOR_NO_CACHE", raising=False)
    path = tmp_path / "regdoctor" / dataclass_code.FILE_NAME
    path.parent.mkdir(mode=0o700)
    code = compile("x = 1", "<string>", "exec")
    path.write_bytes(marshal.dumps(dataclass_code._key()) + marshal.dumps({"src": code}))
    path.chmod(0o600)
    assert list(dataclass_code._load()) == ["src"]
    os.chown(path if what == "file" else path.parent, 65534, 65534)
    assert dataclass_code._load() == {}


def test_past_max_entries_only_the_classes_this_run_used_are_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("REGDOCTOR_NO_CACHE", raising=False)
    monkeypatch.setattr(dataclass_code, "MAX_ENTRIES", 3)
    code = compile("x = 1", "<string>", "exec")
    monkeypatch.setattr(dataclass_code, "_table", {f"x = {n}  # old": code for n in range(3)})
    monkeypatch.setattr(dataclass_code, "_used", set())
    monkeypatch.setattr(dataclass_code, "_installed", True)
    monkeypatch.setattr(dataclass_code, "_compiled", 0)
    for source in ("x = 1  # old", "y = 1  # new", "z = 1  # new"):
        dataclass_code._exec(source, {})
    assert dataclass_code._compiled == 2 and len(dataclass_code._table) == 5
    dataclass_code.save()
    assert sorted(dataclass_code._load()) == ["x = 1  # old", "y = 1  # new", "z = 1  # new"]


def test_processes_saving_at_once_leave_a_whole_file(tmp_path):
    """Four first runs at the same time each write the file (a temporary file renamed
    into place): what is left is one whole table, and a later run compiles nothing."""
    environment = {k: v for k, v in os.environ.items() if k != "REGDOCTOR_NO_CACHE"}
    environment.update(XDG_CACHE_HOME=str(tmp_path), PYTHONPATH=str(REPO))
    argv = [sys.executable, "-c", CLASSES, "install"]
    runs = [
        subprocess.Popen(argv, env=environment, stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outs = [json.loads(run.communicate(timeout=60)[0]) for run in runs]
    assert any(out["compiled"] > 0 for out in outs)  # one may start after another saved
    directory = tmp_path / "regdoctor"
    assert [p.name for p in directory.iterdir()] == [dataclass_code.FILE_NAME]  # no leftovers
    assert _run(tmp_path, "install")["compiled"] == 0
