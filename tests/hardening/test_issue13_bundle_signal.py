"""Issue #13, files: SIGTERM while ``bundle`` writes its archive leaves nothing behind.

The bundle is written to a random temporary name beside the target and renamed over it
only when complete; SIGTERM (and SIGHUP) end the run through its cleanup. The input is a
real, large configuration tree (certs.d with 32 files of 250 KiB of incompressible
text, 8 MB to compress), so the signal lands while the archive is being written:
the test waits (polling, no sleep) until the temporary file exists and has data in it.
"""

from __future__ import annotations

import base64
import os
import signal
from pathlib import Path

from tests.hardening.runner import finish, start
from tests.harness import procs

FILES = 32
FILE_BYTES = 250 * 1024  # under the bundle's 256 KiB per-file cap
PREVIOUS = b"the previous bundle, which must survive\n"


def _large_tree(root: Path) -> None:
    for number in range(FILES):
        directory = root / "etc/docker/certs.d" / f"mirror{number}.test"
        directory.mkdir(parents=True)
        text = base64.encodebytes(os.urandom(FILE_BYTES * 3 // 4))  # 76-column lines
        (directory / "ca.crt").write_bytes(text[:FILE_BYTES])


def _leftovers(directory: Path, output: Path) -> list[str]:
    return sorted(
        p.name
        for p in directory.iterdir()
        if p.name != output.name and (p.name.endswith((".tmp", ".partial")) or "bundle" in p.name)
    )


def test_sigterm_mid_write_leaves_no_temporary_file_and_keeps_the_target(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _large_tree(root)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = out_dir / "bundle.tar.gz"
    output.write_bytes(PREVIOUS)
    env = dict(os.environ, HOME="/root")
    argv = ["bundle", "--root", str(root), "-o", str(output), "--timeout", "1"]
    proc, started, full_argv = start([*argv, "--deadline", "4", "127.0.0.1:1"], env=env)
    seen: dict[str, int] = {}

    def writing() -> bool:
        if proc.poll() is not None:
            raise AssertionError("the bundle finished before the signal: input too small")
        for entry in out_dir.iterdir():
            if entry.name.endswith(".tmp"):
                try:
                    size = entry.stat().st_size
                except FileNotFoundError:
                    continue
                if size > 0:
                    seen[entry.name] = size
                    return True
        return False

    procs.poll_until(writing, 60, "the bundle's temporary archive", interval_s=0.002)
    os.kill(proc.pid, signal.SIGTERM)
    result = finish(proc, started, full_argv, stdin=None, hard_limit_s=120)
    assert seen, "the signal did not land mid-write"
    assert result.code == 128 + signal.SIGTERM, (result.code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    assert _leftovers(out_dir, output) == [], "temporary files left behind"
    assert output.read_bytes() == PREVIOUS  # not replaced by a partial archive
    assert not output.is_symlink()


def test_the_same_bundle_completes_without_a_signal(tmp_path: Path) -> None:
    """The look-alike: the same tree, left alone, gives a complete archive that replaces
    the target (so the test above really interrupted a write that would succeed)."""
    import tarfile

    root = tmp_path / "root"
    _large_tree(root)
    output = tmp_path / "bundle.tar.gz"
    output.write_bytes(PREVIOUS)
    env = dict(os.environ, HOME="/root")
    argv = ["bundle", "--root", str(root), "-o", str(output), "--timeout", "1"]
    proc = start([*argv, "--deadline", "4", "127.0.0.1:1"], env=env)
    result = finish(*proc, stdin=None, hard_limit_s=120)
    assert result.code in (1, 2), result.stderr[-2000:]
    with tarfile.open(output, "r:gz") as tar:
        names = tar.getnames()
    assert sum(1 for n in names if n.endswith("ca.crt")) == FILES
    assert _leftovers(tmp_path, output) == []
