"""One simulated Clado deep-research job, as a pure function of the clock.

A job runs for ``duration`` seconds from ``started``: ``pending`` for the first 5%,
``searching`` (ten search chunks) until 60%, ``processing`` until 100%, then
``completed`` -- or ``error`` at ``error_at`` of the run for a failing job, or
``cancelled`` from ``cancelled_at`` on. Each ``deep-research-more`` round adds an
:class:`Extension`: ``processing`` again for its duration, then its results.
"""

from dataclasses import dataclass, field

CHUNK_TOTAL = 10
PENDING_UNTIL = 0.05  # share of the run
SEARCHING_UNTIL = 0.60
SEARCH_SHARE = 0.55  # SEARCHING_UNTIL - PENDING_UNTIL, as a literal so chunk counts stay exact
TERMINAL = ("completed", "error", "cancelled")


@dataclass
class Extension:
    """One ``deep-research-more`` round: processing from ``start`` for ``duration``."""

    start: float
    duration: float
    added: int


@dataclass
class Job:
    job_id: str
    query: str  # display query, markers stripped
    limit: int
    criteria: list[str] | None
    started: float  # gateway clock
    duration: float
    base_results: int
    fails: bool = False
    error_at: float = 0.5  # fraction of duration at which a failing job errors
    cancelled_at: float | None = None
    extensions: list[Extension] = field(default_factory=list)
    created_at: str = ""

    def _fraction(self, now: float) -> float:
        """Share of the base run elapsed at ``now`` (1.0 for a zero-length run)."""
        return (now - self.started) / self.duration if self.duration > 0 else 1.0

    def _extension_running(self, now: float) -> Extension | None:
        for ext in self.extensions:
            if ext.start <= now < ext.start + ext.duration:
                return ext
        return None

    def result_count(self, now: float) -> int:
        """Results visible at ``now`` (finished phases only)."""
        if self.cancelled_at is not None:
            now = min(now, self.cancelled_at)
        if self.fails or not self.base_done(now):
            return 0
        return self.base_results + sum(e.added for e in self.extensions if now >= e.start + e.duration)

    def total_results_planned(self) -> int:
        return self.base_results + sum(e.added for e in self.extensions)

    def base_done(self, now: float) -> bool:
        return now >= self.started + self.duration

    def status(self, now: float) -> str:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "cancelled"
        fraction = self._fraction(now)
        if self.fails and fraction >= self.error_at:
            return "error"
        if fraction < PENDING_UNTIL:
            return "pending"
        if fraction < SEARCHING_UNTIL:
            return "searching"
        if fraction < 1.0 or self._extension_running(now) is not None:
            return "processing"
        return "completed"

    def is_finished(self, now: float) -> bool:
        return self.status(now) in TERMINAL

    def chunk_done(self, now: float) -> int:
        fraction = self._fraction(now)
        if self.fails:
            fraction = min(fraction, self.error_at)
        if fraction < PENDING_UNTIL:
            return 0
        return min(CHUNK_TOTAL, int(CHUNK_TOTAL * (fraction - PENDING_UNTIL) / SEARCH_SHARE))
