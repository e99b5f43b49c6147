"""First-use work done while the network is awaited.

Some work a check needs later costs CPU the first time: importing the rule engine and
reading the rule catalog (for the verdicts at the end, and for the configuration
targets, which are judged once the probing is over), importing PyJWT (to read the
token's scope after the token request), compiling the redaction patterns. Done when it
is due, each sits on the critical path before the first packet, between two requests or
after the last one. The run registers it here instead, and the first bytes written on
the link (the TLS phase's ClientHello, or the first HTTP request of a plain-HTTP
target) start one worker thread that does it while the event loop only waits for the
answer. What the check then asks for is already imported or loaded (the catalog behind
its own lock), so nothing changes but when the CPU is spent.

The worker holds the GIL while it imports or reads the catalog (one ``pickle`` load of
a few ms): a burst of the event loop that comes before the worker is done (a round trip
shorter than its ~30 ms, as on loopback, or a loaded machine) is stretched by the rest,
and so is the phase it falls in. On a link with round trips of 30 ms or more it costs
nothing.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable


class IdleWork:
    """Jobs run in one worker thread, in order, once :meth:`start` has been called."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Callable[[], object]] = []
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._closed = False
        self._started = False
        self._on_start: list[Callable[[], object]] = []
        #: how many jobs were handed to the worker (tests)
        self.started_jobs = 0

    @property
    def started(self) -> bool:
        return self._started or self._closed

    def add(self, job: Callable[[], object], *, first: bool = False) -> None:
        """Do ``job`` in the background: now if the worker runs, else once it starts
        (``first``: before the jobs already waiting for the start, for what the first
        answer needs)."""
        with self._lock:
            if self._closed:
                return
            if not self._started:
                if first:
                    self._pending.insert(0, job)
                else:
                    self._pending.append(job)
            elif self._executor is not None:  # None: no thread could be started
                try:
                    self._submit(job)
                except RuntimeError:  # the interpreter is shutting down
                    pass

    def when_started(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` (in the thread that calls :meth:`start`) once the first
        request is on the link: now if it is already."""
        with self._lock:
            if not self._started:
                self._on_start.append(callback)
                return
        callback()

    def start(self) -> None:
        """A request is on the link: start the worker (once) on the pending jobs. If no
        thread can be started (a pids limit, interpreter shutdown) the jobs are dropped:
        they only prepare, and their work is done when it is due."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            callbacks, self._on_start = self._on_start, []
            pending, self._pending = self._pending, []
            try:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="regdoctor-idle"
                )
                for job in pending:
                    self._submit(job)
            except RuntimeError:
                executor, self._executor = self._executor, None
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
        for callback in callbacks:
            callback()

    def _submit(self, job: Callable[[], object]) -> None:
        assert self._executor is not None
        self.started_jobs += 1
        self._executor.submit(_quietly, job)

    def close(self) -> None:
        """Drop the jobs not begun; never waits for the one running."""
        with self._lock:
            self._closed = True
            self._pending.clear()
            self._on_start.clear()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)


def _quietly(job: Callable[[], object]) -> None:
    """A job only prepares: if it fails, the work is done (and fails) when it is due."""
    try:
        job()
    except Exception:  # noqa: S110 - see the docstring
        pass
