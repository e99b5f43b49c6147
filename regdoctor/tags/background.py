"""What the end of a tag scan needs but its network does not (the configured mirrors,
the rule catalog), done in a thread while the HEADs wait on the network."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

#: The interpreter's switch interval while the background thread runs (seconds).
SWITCH_INTERVAL = 0.0005


class Background:
    """What the end of a scan needs but its network does not, done in a thread while the
    HEADs wait on the network: the configured mirrors (a discovery of the runtimes'
    configuration) first, then the rule catalog (engine imports, unpickling). The thread
    imports only discovery's and the engine's modules, none of which the scan imports
    meanwhile.

    It starts when the HEADs do (:meth:`start`, from the scan's steps), not before the
    session: its ~40 ms of CPU, holding the GIL, delayed the first request by about as
    much. On loopback the whole run is unchanged (bench_tags, session 9: the two cores
    are saturated during the HEADs, so the work costs there what it saved before); on a
    link with round trips, the HEADs wait on the network and it costs nothing. While it
    runs, the interpreter's switch interval is 0.5 ms instead of 5 ms, so that the event
    loop, woken by an answer, takes the GIL back at once and sends the next request
    instead of leaving the connection idle.

    The catalog is kept by ``catalog()`` (which waits on its lock while a load is under
    way): a load that fails here is done again by :meth:`_Subjects.reports`, which raises
    its error as before. A discovery that raises raises from :meth:`mirrors`."""

    def __init__(
        self, rule_dirs: tuple[Path, ...], discover: Callable[[], list[str]] | None
    ) -> None:
        self._mirrors: Future[list[str]] = Future()
        self._discover = discover
        self._rule_dirs = rule_dirs
        self.thread = threading.Thread(target=self._run, name="regdoctor-background", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._lock:
            if self.thread.ident is None:
                self.thread.start()

    def _run(self) -> None:
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, SWITCH_INTERVAL))
        try:
            self._work()
        finally:
            sys.setswitchinterval(interval)

    def _work(self) -> None:
        if self._discover is not None:
            try:
                self._mirrors.set_result(self._discover())
            except BaseException as exc:  # handed to the scan, raised there
                self._mirrors.set_exception(exc)
        else:
            self._mirrors.set_result([])
        try:
            from regdoctor.check.catalog import catalog
            from regdoctor.engine import evaluate

            del evaluate
            catalog(self._rule_dirs)
        except Exception:  # reported by reports(), where it is loaded again
            return

    async def mirrors(self) -> list[str]:
        """The configured mirrors, once the discovery is done."""
        self.start()
        return await asyncio.wrap_future(self._mirrors)
