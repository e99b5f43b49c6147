"""regdoctor.render.cells measures text exactly as rich.cells does: every code point, and
random strings of wide characters, combining marks, joiners, variation selectors and
characters this Python's Unicode database does not know; the common text (report
marks, CJK, accents) without importing Rich."""

from __future__ import annotations

import os
import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st
from rich import cells as rich_cells

from regdoctor.render import cells

#: Characters that exercise each rule: ASCII, Latin-1, the report's marks, CJK (wide),
#: halfwidth katakana, combining marks (also a spacing one), Hangul syllables and jamo,
#: fillers, ZWJ, ZWSP, VS16, an emoji and its skin tone, the soft hyphen, a prepended
#: concatenation mark, a trigram (wide since Unicode 16), a Unicode 15 character (U+1FA76,
#: unknown to Python 3.11), an unassigned one, a private-use one, a lone surrogate, tab.
SPECIAL = (
    "a Z0-/:.\u00e9\u00a0\u2713\u2717\u00b7\u2013\u2026\u4e2d\u6587\uff21\uff71"
    "\u0301\u0300\u0903\uac00\u1160\u11a8\u3164\u200d\u200b\ufe0f\u2764\U0001f600"
    "\U0001f3fb\u00ad\u0600\u2630\U0001fa76\U000e0fff\ue000\ud800\t"
)
texts = st.text(alphabet=st.sampled_from(SPECIAL), max_size=40) | st.text(max_size=20)


def test_every_code_point_has_rich_width() -> None:
    different = [
        hex(cp) for cp in range(0x110000) if cells.cell_len(chr(cp)) != rich_cells.cell_len(chr(cp))
    ]
    assert different == []


@given(texts)
def test_cell_len_is_rich_cell_len(text: str) -> None:
    assert cells.cell_len(text) == rich_cells.cell_len(text)


@given(texts, st.integers(min_value=1, max_value=12))
def test_chop_cells_is_rich_chop_cells(text: str, width: int) -> None:
    assert cells.chop_cells(text, width) == rich_cells.chop_cells(text, width)


@given(texts, st.integers(min_value=-1, max_value=30))
def test_set_cell_size_is_rich_set_cell_size(text: str, total: int) -> None:
    assert cells.set_cell_size(text, total) == rich_cells.set_cell_size(text, total)


PROBE = """
import sys
from regdoctor.render.cells import cell_len, chop_cells, set_cell_size
for text in sys.argv[1:]:
    print(cell_len(text), chop_cells(text, 3), set_cell_size(text, 5))
print(sorted(m for m in sys.modules if m.split(".")[0] == "rich"))
"""


def _probe(*texts: str, **env: str) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k != "UNICODE_VERSION"}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *texts],
        capture_output=True,
        text=True,
        timeout=30,
        env={**base, **env},
        check=True,
    )
    return proc.stdout.splitlines()


def test_report_text_is_measured_without_rich() -> None:
    lines = _probe("\u2713 OK  r.example", "\u4e2d\u6587 e\u0301t\u00e9 \u2026 \uac00\u11a8")
    assert lines[-1] == "[]"


def test_what_python_cannot_know_is_measured_by_rich() -> None:
    """A character newer than this Python's database, a variation selector, and a
    ``UNICODE_VERSION`` chosen in the environment: Rich's answer, whatever it is."""
    newer, vs16 = "\U0001fa76\U0001fa76x", "\u2764\ufe0f\u2764"
    lines = _probe(newer, vs16)
    assert lines[-1] != "[]"
    for line, text in zip(lines, (newer, vs16), strict=False):
        expected = (
            rich_cells.cell_len(text),
            rich_cells.chop_cells(text, 3),
            rich_cells.set_cell_size(text, 5),
        )
        assert line == " ".join(map(str, expected))
    # Unicode 9: the flying saucer (10.0) is not wide yet, for Rich and for us.
    saucer = "\U0001f6f8\U0001f6f8"
    program = (
        "from rich.cells import cell_len as r\nfrom regdoctor.render.cells import cell_len as c\n"
        f"print(r({saucer!r}), c({saucer!r}))"
    )
    env = {**os.environ, "UNICODE_VERSION": "9.0.0"}
    out = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=True,
    )
    assert out.stdout.split() == ["2", "2"]  # Rich's answer, and ours
    assert cells.cell_len(saucer) == rich_cells.cell_len(saucer) == 4  # Unicode 17
