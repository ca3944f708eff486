"""Deadline-based periodic timing for control loops: ``next += period`` and sleep until ``next``, so
the loop period does not stretch by the work's duration (never ``sleep(dt)`` after the work)."""

from __future__ import annotations

import time
from typing import Callable


class DeadlineTimer:
    """Wait for successive deadlines ``t0 + k * period`` on ``clock``.

    If the caller falls more than one whole period behind, missed deadlines are skipped (counted in
    :attr:`overruns`) instead of running a burst of catch-up iterations.
    """

    def __init__(self, period: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, spin: float = 0.0) -> None:
        """``spin`` (s): sleep only until ``spin`` before each deadline, then yield (``sleep(0)``)
        until it: an OS sleep overshoots by up to ~0.5 ms on a general-purpose kernel, which a
        real-time control loop should not inherit (costs up to ``spin / period`` of one core)."""
        if not period > 0:
            raise ValueError(f"period must be > 0, got {period}")
        if not 0.0 <= spin < period:
            raise ValueError(f"spin must be in [0, period), got {spin}")
        self.period, self.spin = float(period), float(spin)
        self._clock, self._sleep = clock, sleep
        self.next = clock() + self.period
        self.overruns = 0

    def wait(self) -> float:
        """Sleep until the next deadline; returns the lateness (s) at wake-up (>= 0 normally)."""
        now = self._clock()
        if now > self.next + self.period:
            missed = int((now - self.next) // self.period)
            self.overruns += missed
            self.next += missed * self.period
        delay = self.next - now
        if delay > self.spin:
            self._sleep(delay - self.spin)
        if self.spin > 0.0:
            while self._clock() < self.next:
                self._sleep(0.0)
        late = self._clock() - self.next
        self.next += self.period
        return late
