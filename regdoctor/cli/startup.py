"""The cyclic garbage collector paused while ``check`` starts up.

A check imports some 400 modules and builds its plan before its first packet: hundreds of
thousands of objects that live as long as the process (modules, classes, functions; the
rule catalog too when it has no cache file to be read from: with one, the idle worker
reads it during the run, net/idle.py, as it imports the HTTP stack). Python's collector
walks them again and again meanwhile (about ninety collections, 10-20 ms of a start of
~250 ms here) and finds almost nothing to free. So
:func:`pause` stops it for that phase, and :func:`resume` moves everything made so far
into the permanent generation (``gc.freeze``: never walked again) and restarts it for
the run, whose own cycles (tasks, exceptions) it collects as usual. A collector that
was already disabled (by an embedding program, a test) stays as it was. The freeze is
for regdoctor's own process only (:func:`own_process`, from ``main()`` reading
``sys.argv``): a caller's ``main([...])`` would otherwise keep everything alive then,
its garbage included, for good.
"""

from __future__ import annotations

import gc

__all__ = ["pause", "resume"]

_paused = False
_freeze = False


def own_process() -> None:
    """regdoctor is its own process: what start-up made may be frozen."""
    global _freeze
    _freeze = True


def pause() -> None:
    """Stop the collector for the start-up (no-op if it is already stopped)."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze what start-up made and restart the collector, if :func:`pause` stopped it."""
    global _paused
    if _paused:
        _paused = False
        if _freeze:
            gc.freeze()
        gc.enable()
