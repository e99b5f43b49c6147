"""Reading untrusted files and YAML in bounded time and memory, for every command.

:func:`read_bounded` never blocks on a FIFO, never reads a device and never reads more
than its limit; :func:`yaml_documents_bounded` refuses a "billion laughs" stream before
building it. Discovery, bundle, ``tags --manifests`` and the rule loader all read
through these (the module sits below every layer that reads files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: Files larger than this are not read (a config file is a few KB).
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: A YAML stream whose aliases would expand to more nodes than this is refused (a
#: "billion laughs" document is a few hundred bytes and expands to billions).
MAX_YAML_NODES = 200_000
#: Deepest nesting accepted in YAML (JSON and TOML parsers have their own limits).
MAX_YAML_DEPTH = 200


class UnreadableFile(OSError):
    """A file that is not read: not a regular file, or larger than the limit. Its
    ``strerror`` is the reason, ready to show."""


def read_bounded(
    path: str | Path, limit: int = MAX_CONFIG_BYTES, *, nofollow: bool = False
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; never blocks, never reads
    more than ``limit + 1`` bytes.

    The file is opened non-blocking (a FIFO without a writer does not hang the run) and
    checked with ``fstat`` on the open descriptor (no race with a rename): a FIFO, a
    socket, a device (``/dev/zero``, also through a symlink) or a directory raises
    :class:`UnreadableFile`, as does a file over ``limit`` (however its size is
    reported). With ``nofollow`` a symlink as the last component is refused (``ELOOP``).
    Other errors raise :class:`OSError` as usual."""
    import stat

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if nofollow:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableFile(21, "is a directory, expected a file")
        if not stat.S_ISREG(mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(mode)
                else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
                if stat.S_ISSOCK(mode)
                else "not a regular file"
            )
            raise UnreadableFile(22, f"not a regular file ({kind}): not read")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise UnreadableFile(27, f"file is too large (over {limit} bytes): not read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def yaml_documents_bounded(
    text: str, *, max_nodes: int = MAX_YAML_NODES, max_depth: int = MAX_YAML_DEPTH
) -> list[Any]:
    """Every document of a YAML stream (safe loader), refusing one whose aliases expand
    beyond ``max_nodes`` nodes or nest deeper than ``max_depth`` (``yaml.YAMLError``).
    The node graph is composed first (cheap: aliases are shared there) and its expanded
    size computed once per node; only then are Python objects built."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        documents = []
        sizes: dict[int, int] = {}

        def size(node: Any, depth: int) -> int:
            if depth > max_depth:
                raise yaml.YAMLError(f"nested deeper than {max_depth} levels")
            known = sizes.get(id(node))
            if known is not None:
                return known
            sizes[id(node)] = max_nodes + 1  # a node inside itself: refused
            total = 1
            if isinstance(node, yaml.SequenceNode):
                for item in node.value:
                    total += size(item, depth + 1)
                    if total > max_nodes:
                        break
            elif isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    total += size(key, depth + 1) + size(value, depth + 1)
                    if total > max_nodes:
                        break
            sizes[id(node)] = total
            return total

        budget = max_nodes
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            budget -= size(node, 0)
            if budget < 0:
                raise yaml.YAMLError(f"expands to more than {max_nodes} nodes (aliases): refused")
            documents.append(loader.construct_document(node))
        return documents
    finally:
        loader.dispose()


class OutsideRoot(OSError):
    """A path whose symlinks lead out of the configuration root."""


def resolve_in_root(root: Path, path: Path) -> Path:
    """``path`` (below ``root``) with every symlink resolved as the machine whose files
    are below ``root`` would resolve it: an absolute link target starts again at
    ``root``, ``..`` never climbs above it. The result is always inside ``root``.

    This is how ``bundle --root DIR`` reads another machine's files: a link
    ``DIR/etc/docker/daemon.json -> /etc/shadow`` means ``DIR/etc/shadow``, never this
    host's file. Raises :class:`OSError` on a link loop."""
    base = Path(os.path.abspath(root))
    try:
        relative = Path(os.path.abspath(path)).relative_to(base)
    except ValueError:
        raise OutsideRoot(1, f"{path} is not below the configuration root {root}") from None
    pending = list(relative.parts)
    current = base
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if current != base:
                current = current.parent
            continue
        candidate = current / part
        if candidate.is_symlink():
            links += 1
            if links > 40:
                raise OSError(40, "too many levels of symbolic links")
            target = os.readlink(candidate)
            if target.startswith("/"):
                current = base
            pending = [*Path(target).parts, *pending]
            if target.startswith("/"):
                pending = pending[1:]  # the leading "/"
            continue
        current = candidate
    return current


def within_root(root: Path | str | None, path: Path) -> Path:
    """``path`` with its symlinks resolved inside ``root`` (:func:`resolve_in_root`)
    when ``root`` is another machine's tree and ``path`` is below it; else ``path``.
    A link loop gives ``path`` back unresolved (reading it is then refused)."""
    if root is None or str(root) in ("", "/"):
        return path
    try:
        return resolve_in_root(Path(root), path)
    except OutsideRoot:
        return path  # a real path given on the command line (--daemon-config ...)
    except OSError:
        return path


def read_within_root(root: Path | str | None, path: Path, limit: int = MAX_CONFIG_BYTES) -> bytes:
    """:func:`read_bounded` of ``path`` as the machine below ``root`` sees it: symlinks
    resolved inside the root, the final file opened without following a link (a link
    swapped in meanwhile, or a loop, is refused). Never a file of this host through a
    link in another machine's tree."""
    if root is None or str(root) in ("", "/"):
        return read_bounded(path, limit)
    try:
        resolved = resolve_in_root(Path(root), path)
    except OutsideRoot:
        return read_bounded(path, limit)
    return read_bounded(resolved, limit, nofollow=True)
