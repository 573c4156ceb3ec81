"""Simulated time, shared by the sandbox's job progress and whatever drives it.

Tests, the poller bench and the screenshot script move it forward instead of sleeping; the
sandbox reads it (`Sandbox(clock=...)`) and the app can too (`research.clock.use(clock.aware)`).
"""

import datetime
import threading

START = 1_800_000_000.0  # a fixed moment in 2027, so runs are repeatable


class SimulatedClock:
    """A thread-safe clock that only moves when told to. Calling it gives epoch seconds."""

    def __init__(self, start: float = START) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def aware(self) -> datetime.datetime:
        """The current simulated time as an aware datetime (what Django code expects)."""
        return datetime.datetime.fromtimestamp(self(), datetime.UTC)
