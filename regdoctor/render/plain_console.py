"""Plain text as Rich prints it where it prints no style: to a pipe or a file.

``rich.console`` is a fifth of a cold ``regdoctor explain``. Where Rich would write no
escape sequence at all (standard output is not a terminal and nothing forces one), the
plain renderers print through :class:`PlainConsole` instead: the same layout, from Rich's
own ``Text.wrap`` (``explain``), or for ``check``'s report from
:class:`~regdoctor.render.plain_text.PlainText`, which lays lines out as ``Text.wrap``
does without importing any of Rich. :func:`rich_would_style` and
:func:`rich_width` are Rich's own decisions (``Console.is_terminal``, ``Console.size``,
rich 13-15), read from the environment as Rich reads them; :func:`stdout_console`
chooses with them, for ``explain`` and for ``check``'s plain report.
``tests/render/test_plain_console.py`` prints every pasted corpus entry both ways and
compares the bytes; ``tests/cli/test_check_plain_console.py`` does the same for the
reports of real checks.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from rich.text import Text

    from regdoctor.render.plain_text import PlainText

__all__ = ["PlainConsole", "TextConsole", "rich_width", "rich_would_style", "stdout_console"]


class TextConsole(Protocol):
    """What the plain renderers use of a console: Rich's ``Console`` or a PlainConsole."""

    @property
    def width(self) -> int: ...

    @property
    def encoding(self) -> str: ...

    def print(self, *objects: Any, **options: Any) -> None: ...


def rich_would_style(file: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a default ``rich.console.Console`` writing to ``file`` would treat it as a
    terminal (and so may write escape sequences): ``TTY_COMPATIBLE``, ``FORCE_COLOR``,
    then ``file.isatty()``, as ``Console.is_terminal`` decides. Also true wherever this
    module does not follow Rich (Windows, Jupyter, IDLE): there Rich's Console is used."""
    if sys.platform == "win32" or "IPython" in sys.modules or "idlelib" in sys.modules:
        return True
    env = os.environ if environ is None else environ
    tty_compatible = env.get("TTY_COMPATIBLE", "")
    if tty_compatible == "0":
        return False
    if tty_compatible == "1":
        return True
    force_color = env.get("FORCE_COLOR")
    if force_color is not None:
        return force_color != ""
    isatty = getattr(file, "isatty", None)
    try:
        return False if isatty is None else bool(isatty())
    except ValueError:
        return False


def rich_width(environ: Mapping[str, str] | None = None) -> int:
    """The width a default Console chooses when not writing to a terminal: ``COLUMNS``
    (digits), else the width of the first of standard input, output and error that is a
    terminal, else 80 (``Console.__init__`` and ``Console.size``)."""
    env = os.environ if environ is None else environ
    columns = env.get("COLUMNS")
    if columns is not None and columns.isdigit():
        return int(columns)  # even 0: the Console's own width then
    width: int | None = None
    for fd in (0, 1, 2):
        try:
            width = os.get_terminal_size(fd).columns
        except (AttributeError, ValueError, OSError):
            continue
        break
    return width or 80


def stdout_console(*, rich: bool = False) -> TextConsole:
    """The console a plain renderer prints to standard output through: Rich's
    ``Console(highlight=False)``; or, where Rich would write no style at all (standard
    output is not a terminal and nothing forces one), a :class:`PlainConsole`, which
    prints the same bytes without importing ``rich.console``. ``rich``: Rich's Console
    whatever the output (for callers that print what a PlainConsole does not: markup
    strings, styles given to ``print``)."""
    if rich or rich_would_style(sys.stdout):
        from rich.console import Console

        return Console(highlight=False)
    return PlainConsole()


class PlainConsole:
    """The calls the plain renderers make of a Console, for output Rich would not style:
    ``print`` of ``Text`` objects (never of markup strings) with ``no_wrap``,
    ``overflow``, ``crop`` and ``soft_wrap``, laid out by ``Text.wrap`` exactly as
    ``Text.__rich_console__`` does; or of :class:`~regdoctor.render.plain_text.PlainText`
    objects (``check``'s report), laid out the same way without importing Rich."""

    def __init__(self, file: TextIO | None = None, width: int | None = None) -> None:
        self._file = file
        self.width = rich_width() if width is None else width

    @property
    def file(self) -> TextIO:
        return self._file if self._file is not None else sys.stdout  # as Rich: at write time

    @property
    def encoding(self) -> str:
        return (getattr(self.file, "encoding", "utf-8") or "utf-8").lower()

    def print(
        self,
        *objects: Text | PlainText,
        no_wrap: bool | None = None,
        overflow: str | None = None,
        crop: bool = True,
        soft_wrap: bool = False,
        highlight: bool | None = None,  # never: the console of explain does not highlight
    ) -> None:
        if soft_wrap:
            no_wrap, overflow, crop = True, "ignore", False
        if not objects:
            self._write("\n")
            return
        from regdoctor.render.plain_text import PlainText

        plain_texts = [o for o in objects if isinstance(o, PlainText)]
        if len(plain_texts) == len(objects):
            self._print_plain(plain_texts, no_wrap=no_wrap, overflow=overflow, crop=crop)
            return
        from rich.text import Text

        texts = [o for o in objects if isinstance(o, Text)]
        if len(texts) != len(objects):
            raise TypeError("PlainConsole prints Text or PlainText objects only (no markup)")
        text = Text(" ").join(texts)
        lines = text.wrap(
            self,  # type: ignore[arg-type]  # used only to justify, which "default" skips
            self.width,
            justify="default",
            overflow=overflow or "fold",  # type: ignore[arg-type]
            tab_size=8,
            no_wrap=bool(no_wrap),
        )
        plain = [line.plain for line in lines]
        if crop:
            from rich.cells import cell_len, set_cell_size

            plain = [set_cell_size(p, self.width) if cell_len(p) > self.width else p for p in plain]
        self._write("\n".join(plain) + "\n")

    def _print_plain(
        self,
        objects: Sequence[PlainText],
        *,
        no_wrap: bool | None,
        overflow: str | None,
        crop: bool,
    ) -> None:
        """:meth:`print` of PlainText objects (:mod:`regdoctor.render.plain_text`): the
        same steps, no Rich."""
        from regdoctor.render.cells import cell_len, set_cell_size
        from regdoctor.render.plain_text import PlainText

        lines = (
            PlainText(" ")
            .join(objects)
            .wrap(None, self.width, overflow=overflow or "fold", tab_size=8, no_wrap=bool(no_wrap))
        )
        plain = [line.plain for line in lines]
        if crop:
            plain = [set_cell_size(p, self.width) if cell_len(p) > self.width else p for p in plain]
        self._write("\n".join(plain) + "\n")

    def _write(self, text: str) -> None:
        """Written and flushed, as Rich's Console does after each print: a streamed
        ``check`` shows each verdict line as its target is done, also through a pipe."""
        file = self.file
        file.write(text)
        file.flush()
