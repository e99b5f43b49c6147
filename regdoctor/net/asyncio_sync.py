"""The few anyio primitives httpcore's connection pool uses, on plain asyncio.

httpcore 1.0 creates its pool's locks, events and cancellation shields through anyio
whenever it runs under asyncio (``httpcore/_synchronization.py``): ``anyio.Lock()``,
``anyio.Event()``, ``anyio.Semaphore(initial_value=, max_value=)``,
``anyio.fail_after(timeout)`` and ``anyio.CancelScope(shield=True)``. The first of
them loads anyio's whole asyncio backend (streams, sockets, TLS: about 30 modules, some
15 ms of start-up), although regdoctor connects through its own asyncio backend
(``net/asyncio_backend.py``). ``net/lean_httpcore.py`` imports httpcore without anyio and
gives its synchronization module this namespace instead.

Semantics, against anyio's asyncio backend:

- ``Lock``, ``Event`` and ``Semaphore`` are asyncio's (the same await/release shapes).
- ``fail_after`` is a synchronous context manager that cancels the current task after
  the delay and turns that cancellation into ``TimeoutError``, as ``asyncio.timeout``
  does (a cancellation from anywhere else passes through).
- ``CancelScope(shield=True)`` protects nothing: anyio's shield guards against anyio's
  own cancel scopes, which regdoctor never opens; a native ``Task.cancel()``
  (``asyncio.timeout``, which regdoctor's budgets use) reaches a shielded block under
  anyio too.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

Lock = asyncio.Lock
Event = asyncio.Event


def Semaphore(initial_value: int, *, max_value: int | None = None) -> asyncio.Semaphore:
    """anyio's ``Semaphore(initial_value, max_value=)``: bounded when a maximum is given."""
    if max_value is not None:
        return asyncio.BoundedSemaphore(initial_value)
    return asyncio.Semaphore(initial_value)


class fail_after:  # anyio's name
    """Cancel the current task after ``delay`` seconds (None: never) and raise
    ``TimeoutError`` out of the block, as ``anyio.fail_after`` does."""

    def __init__(self, delay: float | None, shield: bool = False) -> None:
        self._delay = delay
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._fired = False
        self._cancelling = 0

    def __enter__(self) -> fail_after:
        if self._delay is None:
            return self
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("fail_after must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self._handle = asyncio.get_running_loop().call_later(max(self._delay, 0), self._fire)
        return self

    def _fire(self) -> None:
        if self._task is not None:
            self._fired = True
            self._task.cancel()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handle is not None:
            self._handle.cancel()
        # as asyncio.Timeout.__aexit__: our cancellation, and no other one pending
        if (
            self._fired
            and self._task is not None
            and self._task.uncancel() <= self._cancelling
            and exc_type is asyncio.CancelledError
        ):
            raise TimeoutError from exc


class CancelScope:
    """``anyio.CancelScope(shield=True)`` as httpcore uses it: see the module's note."""

    def __init__(self, *, shield: bool = False) -> None:
        self.shield = shield

    def __enter__(self) -> CancelScope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None
