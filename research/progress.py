"""A job's progress as the pages say it: what the app measured, what it estimates, and when.

The app learns about a running job only when it pays for a status check, so a page says when
the last check was, when the next is due and, apart from those measured facts, what the poller
expects (`polling.forecast`): the finish, and the share of the run probably done by now. Every
state has its own words. Reads the database only (one query for the past runs, whatever the
number of jobs); the browser moves the relative times and the estimate between refreshes
(`static/js/progress.js`) from the timestamps given here.
"""

import datetime
from dataclasses import dataclass

from . import clock, polling
from .models import Hold, JobStatus

# Each state in words: (what the badge says, what it means), as of the latest paid check.
STATES = {
    JobStatus.NEW: ("Not launched", "The launch has not been paid for yet."),
    JobStatus.LAUNCHING: ("Launching", "The paid launch call is under way."),
    # A running state is only known as of the latest answer: said so (`JobProgress.meaning`).
    JobStatus.PENDING: ("Pending", "Clado had it queued, not searching yet."),
    JobStatus.SEARCHING: ("Searching", "Clado was searching for people."),
    JobStatus.PROCESSING: ("Processing", "Clado was checking and ranking the people it found."),
    "paused": (
        "Paused: budget",
        "A budget cap refused the next paid call, so nothing is paid for now. "
        "It goes on by itself when the cap allows.",
    ),
    "waiting": (
        "Waiting: outage",
        "Our side cannot reach the gateway or the chain, so nothing is paid for now. "
        "It goes on by itself when they answer.",
    ),
    JobStatus.COMPLETED: ("Completed", "Finished: every profile it found is stored."),
    JobStatus.ERROR: ("Error", "Stopped with an error."),
    JobStatus.CANCELLED: ("Cancelled", "Cancelled: the profiles found until then are kept."),
}
ENDED = {JobStatus.COMPLETED, JobStatus.ERROR, JobStatus.CANCELLED, "paused"}  # worth a word to the owner
# How the tab's title and icon mark those states, so a glance at the tab bar tells.
MARKS = {JobStatus.COMPLETED: "✓", JobStatus.ERROR: "✗", JobStatus.CANCELLED: "⊘", "paused": "⏸"}


def state_of(job):
    """The key of `job`'s state: its status, or "paused" / "waiting" while a hold stops its calls."""
    if job.is_active and job.hold == Hold.BUDGET:
        return "paused"
    if job.is_active and job.hold == Hold.OUTAGE:
        return "waiting"
    return str(job.status)


@dataclass(frozen=True)
class JobProgress:
    job: object
    now: datetime.datetime
    state: str
    forecast: polling.Forecast

    @property
    def label(self):
        return STATES[self.state][0]

    @property
    def meaning(self):
        """What the state means; for a running one, as of when it was last heard of."""
        words = STATES[self.state][1]
        if self.state in (JobStatus.PENDING, JobStatus.SEARCHING, JobStatus.PROCESSING):
            return f"{'At the last check' if self.checked_at else 'At launch'}, {words}"
        return words

    @property
    def title(self):
        """The tab's title for this job: its state first, marked when it ended."""
        mark = MARKS.get(self.state)
        query = self.job.query if len(self.job.query) <= 40 else self.job.query[:39] + "…"
        return f"{mark + ' ' if mark else ''}{self.label} · {query}"

    @property
    def favicon(self):
        """The static path of the tab's icon for this state."""
        return f"img/favicon-{self.state}.svg" if self.state in MARKS else "img/favicon.svg"

    @property
    def is_ending(self):
        """Ended, or paused for budget: the states a person is told about when they happen."""
        return self.state in ENDED

    @property
    def checked_at(self):
        """The latest paid status answer of this job (None before the first)."""
        return self.job.checked_at

    @property
    def next_check_at(self):
        """When the poller will next pay for a check (or retry a held launch); None once ended."""
        return self.job.next_poll_at if self.job.is_active else None

    @property
    def checked_seconds_ago(self):
        return _seconds(self.now - self.checked_at) if self.checked_at else None

    @property
    def next_check_in_seconds(self):
        return _seconds(self.next_check_at - self.now) if self.next_check_at else None

    @property
    def finish_in_seconds(self):
        finish = self.forecast.finish_at
        return _seconds(finish - self.now) if finish else None

    @property
    def estimate_percent(self):
        progress = self.forecast.progress
        return None if progress is None else int(progress * 100)

    @property
    def basis(self):
        """What the forecast rests on, in words: "its search progress, learned from 5 past runs"."""
        forecast = self.forecast
        runs = f"{forecast.runs} past run{'s' if forecast.runs != 1 else ''}"
        if forecast.basis == "history":
            return f"how long {runs} took"
        if forecast.basis == "results":
            words = f"the profiles found so far, if it finds all {self.job.limit} asked for"
        elif forecast.basis == "processing":
            words = "its finished search and how long processing takes"
        else:
            words = "its search progress"
        if not forecast.runs:
            return f"{words}, with default priors (no past runs to learn from yet)"
        return f"{words}, learned from {runs}"

    @property
    def found_so_far(self):
        """How many profiles the gateway said it had at the latest check, if more than are stored."""
        reported = self.job.results_reported
        return reported if reported is not None and reported > self.job.leads_stored else None


def of(job, now=None, runs=None):
    """The progress of one job at `now` (the app's clock)."""
    now = now or clock.now()
    if runs is None and job.is_running:
        runs = polling.recent_runs()
    return JobProgress(job, now, state_of(job), polling.forecast(job, now, runs or []))


def of_jobs(jobs, now=None):
    """The progress of each job, reading the past runs once (and only if one of them runs)."""
    now = now or clock.now()
    jobs = list(jobs)
    runs = polling.recent_runs() if any(job.is_running for job in jobs) else []
    return [of(job, now, runs) for job in jobs]


def _seconds(delta):
    return int(delta.total_seconds())


def epoch_ms(moment):
    """A datetime as milliseconds since the epoch, for the browser (None stays None)."""
    return None if moment is None else int(moment.timestamp() * 1000)


def ago(seconds):
    """ "just now", "40 s ago", "3 min ago": how long ago a check was (the browser says the same)."""
    if seconds is None:
        return ""
    seconds = max(seconds, 0)
    if seconds < 3:
        return "just now"
    return f"{span(seconds)} ago"


def until(seconds):
    """ "in about 20 s", "due now": how soon something is expected (the browser says the same)."""
    if seconds is None:
        return ""
    if seconds <= 0:
        return "due now"
    return f"in about {span(seconds)}"


def span(seconds):
    """A length of time in a person's words: "40 s", "3 min", "1 h 05 min"."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 30) // 60  # to the nearest minute, halves up (as the browser rounds)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
