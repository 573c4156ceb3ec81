"""One simulated Clado deep-research job, as a pure function of the clock.

A job runs for ``duration`` seconds from ``started``: ``pending`` for the first 5%,
``searching`` (ten search chunks) until 60%, ``processing`` until 100%, then
``completed`` -- or ``error`` at ``error_at`` of the run for a failing job, or
``cancelled`` from ``cancelled_at`` on. Each ``deep-research-more`` round adds an
:class:`Extension`: ``processing`` again for its duration.

Results appear while a job is processing, as on the real API: the count grows linearly
from 0 at the end of the search to ``base_results`` at completion (and by ``added`` over
each extension), rounded down. Result ``i`` is always the same profile, so the first N
results shown while processing are the first N of the finished job. A cancelled or
failed job keeps the results it had found by then.
"""

from dataclasses import dataclass, field

CHUNK_TOTAL = 10
PENDING_UNTIL = 0.05  # share of the run
SEARCHING_UNTIL = 0.60
SEARCH_SHARE = 0.55  # SEARCHING_UNTIL - PENDING_UNTIL, as a literal so chunk counts stay exact
PROCESSING_SHARE = 0.40  # 1.0 - SEARCHING_UNTIL
TERMINAL = ("completed", "error", "cancelled")


def _share_of(total: int, share: float) -> int:
    """``floor(total * share)``, immune to float dust (0.7 - 0.6 is 0.09999999999999998)."""
    return min(total, int(total * share + 1e-9))


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

    def _stopped(self, now: float) -> float:
        """``now``, or the moment the job stopped finding results (cancelled, failed)."""
        if self.cancelled_at is not None:
            now = min(now, self.cancelled_at)
        if self.fails:
            now = min(now, self.started + self.duration * self.error_at)
        return now

    def _processed(self, now: float) -> float:
        """Share of the base run's processing phase done at ``now``: 0 before it, 1 after."""
        if self.base_done(now):
            return 1.0
        return min(1.0, max(0.0, (self._fraction(now) - SEARCHING_UNTIL) / PROCESSING_SHARE))

    @staticmethod
    def _extended(ext: Extension, now: float) -> int:
        if now < ext.start:
            return 0
        if ext.duration <= 0 or now >= ext.start + ext.duration:
            return ext.added
        return _share_of(ext.added, (now - ext.start) / ext.duration)

    def result_count(self, now: float) -> int:
        """Results found by ``now``: growing while processing, all of them once completed."""
        now = self._stopped(now)
        found = _share_of(self.base_results, self._processed(now))
        return found + sum(self._extended(ext, now) for ext in self.extensions)

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
        if fraction >= SEARCHING_UNTIL:
            return CHUNK_TOTAL  # every chunk searched once processing (float dust gave 9 at 60%)
        return min(CHUNK_TOTAL, int(CHUNK_TOTAL * (fraction - PENDING_UNTIL) / SEARCH_SHARE))
