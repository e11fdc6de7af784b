"""When the emulator was busy starting its own services: time no function is charged with.

moto starts on the first connection to its endpoint (see :mod:`.dynamodb`), so the handler
making that call waits 1-2 s (much longer on a loaded machine) for something AWS never makes
it wait for. :data:`STARTUPS` records each such start as a span of ``time.monotonic()``;
the worker pool's timeout watchdog (:mod:`.workers`) extends an invocation's deadline by the
part of those spans that fell inside it, so a function with a 3 s ``Timeout`` whose first
call waits for moto still has its 3 s of its own time.

One record per process, not per emulator: a moto start in one emulator of a test process
also extends the deadlines of another emulator's invocations running meanwhile. That is
deliberate (the start competes for the same CPU) and only ever errs on the generous side.
"""

from __future__ import annotations

import time

__all__ = ["STARTUPS", "Startups"]

_LONGEST_TIMEOUT = 900.0


class Startups:
    """Spans during which the emulator started a service (the last one may be open)."""

    def __init__(self) -> None:
        self._spans: list[list[float]] = []
        self._open = 0

    def begin(self) -> list[float]:
        """Mark a start as begun now; pass the result to :meth:`end`."""
        now = time.monotonic()
        # Lambda's longest timeout is 900 s: an older span cannot overlap a live invocation.
        self._spans = [s for s in self._spans if s[1] > now - _LONGEST_TIMEOUT]
        span = [now, float("inf")]
        self._spans.append(span)
        self._open += 1
        return span

    def end(self, span: list[float]) -> None:
        """Mark the start ``span`` as finished (succeeded or not) now."""
        span[1] = time.monotonic()
        self._open -= 1

    def within(self, since: float, until: float) -> float:
        """Seconds between ``since`` and ``until`` (monotonic) when a start was running."""
        total, covered = 0.0, since
        for begin, end in sorted(self._spans):
            if end <= covered or begin >= until:
                continue
            low = max(begin, covered)
            high = min(end, until)
            total += high - low
            covered = high
        return total

    @property
    def running(self) -> bool:
        """Whether a start is under way now."""
        return self._open > 0


#: The record moto's starts are written to (see :mod:`.dynamodb`) and deadlines read.
STARTUPS = Startups()
