"""When to spend the next $0.003 on a job's status: the polling policy, in one place.

A status call costs the same whatever it returns, so the aim is one call just after the job
finishes and as few as possible before it. Three sources of knowledge, best first:

1. The job's own progress: while searching, the share of chunks done says how far the search
   is. Past runs teach what share of the whole run has passed at each share of the search
   (`progress_line`: when the search starts, and how long processing takes after it, which
   reports no progress of its own), so one reading predicts the finish.
2. How long past runs took: the first poll waits until the quickest quarter of past runs would
   be done (capped, so a person sees a first sign of life soon), and a job that reports no progress
   is next checked when the quickest quarter of past runs *longer than it* would be done.
3. A fresh install (fewer than HISTORY_MIN past runs): what the job itself says, read against
   default priors (its chunks while it searches; while it processes, its results so far against
   its size), within the cost of a poller that checks every POLL_COLD_PACE seconds: the k-th
   check of a run never comes before k * POLL_COLD_PACE seconds, so a job of any length costs no
   more checks than that poller, and no two checks are more than POLL_COLD_MAX_GAP apart, which
   bounds how late a misjudged finish is seen.

Past the predicted finish (or with nothing to predict from) the gap is capped at
POLL_OVERDUE_INTERVAL, which bounds how late results can be stored. Terminal jobs are never
polled: `jobs.claim` only takes active ones. All times are seconds since the run started.

`forecast` says the same prediction in the pages' terms: when the job should finish, how far it
probably is now, and how many past runs that rests on.
"""

import datetime
import math
import statistics
from dataclasses import dataclass

from django.conf import settings

from .models import JobStatus, ResearchJob

RECENT_RUNS = 50  # how many past runs inform the guesses
HISTORY_MIN = 4  # past runs below which the install counts as fresh (the cold start)
# An early progress reading (few chunks done) is coarse; when its likely error is more than this
# many overdue steps, read the progress once more late in the search, where it is precise.
REFINE_BEYOND_STEPS = 2
REFINE_BELOW = 0.8  # share of chunks done beyond which a reading is as good as it gets


def recent_runs():
    """The recent completed runs the guesses learn from: one query, to pass to the functions below."""
    return list(
        ResearchJob.objects.filter(
            status=JobStatus.COMPLETED, run_started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("run_started_at", "finished_at", "search_eta", "search_fraction", "finished_after")[
            :RECENT_RUNS
        ]
    )


def _runs(runs):
    return recent_runs() if runs is None else runs


def past_durations(runs=None):
    """Seconds the recent completed runs took, shortest first."""
    return sorted(_length(run) for run in _runs(runs))


def _length(run, aimed_lateness=False):
    """How long a past run took, from when its finish was seen.

    A check that was not aimed at a predicted finish (the first check of a fresh install, one a
    cap on the gap forced) saw a finish that happened at any moment since the run was last seen
    running (`finished_after`): the middle of that span is the best guess. A check aimed at the
    predicted finish came close after it; `aimed_lateness` takes off half an overdue step for that.
    Without this, every late sighting would teach the poller to aim a little later still.
    """
    started, finished, *_, after = run
    seen = (finished - started).total_seconds()
    if after is not None and started <= after < finished:
        return max((seen + (after - started).total_seconds()) / 2, 1.0)
    return max(seen - overdue_step(seen) / 2, 1.0) if aimed_lateness else seen


def expected_status_calls(limit):
    """How many paid status calls a run of `limit` results is expected to need, pages included.

    What nine in ten of the recent runs needed at most (POLL_EXPECTED_CHECKS before there are
    any), plus one call per further page of results.
    """
    polls = sorted(
        ResearchJob.objects.filter(status=JobStatus.COMPLETED, polls__gt=0)
        .order_by("-finished_at")
        .values_list("polls", flat=True)[:RECENT_RUNS]
    )
    checks = polls[int(0.9 * (len(polls) - 1))] if polls else settings.POLL_EXPECTED_CHECKS
    return checks + max(math.ceil(int(limit) / settings.POLL_PAGE_SIZE) - 1, 0)


def _progress_points(runs):
    """(share of chunks done, share of the run passed) at each past run's last progress reading.

    Only from runs whose finish is known to within a couple of overdue steps: one seen a minute
    after it was last seen running could have ended anywhere in that minute, too coarse to
    learn a line from (such runs still count for how long runs take).
    """
    return [
        (fraction, eta * fraction / _length(run, aimed_lateness=True))
        for run in runs
        if (eta := run[2]) and (fraction := run[3]) and _finish_is_precise(run)
    ]


def _finish_is_precise(run):
    started, finished, *_, after = run
    if after is None:
        return True  # seen by a check aimed at its predicted finish
    seen = (finished - started).total_seconds()
    return (finished - after).total_seconds() <= REFINE_BEYOND_STEPS * overdue_step(seen)


def progress_line(runs=None):
    """(a, b): when a share x of the search chunks is done, a + b*x of the whole run has passed.

    Learned from past runs' last progress reading and how long they took in all. Before there
    are enough of them: the search spans the run from its start, and processing adds
    POLL_FINISH_RATIO_PERCENT - 100 percent of the search time after it.
    """
    points = _progress_points(_runs(runs))
    default = (0.0, 100 / settings.POLL_FINISH_RATIO_PERCENT)
    if len(points) < 3:
        return default
    xs, ys = zip(*points, strict=True)
    if len(points) >= 5 and statistics.pstdev(xs) >= 0.1:
        fit = statistics.linear_regression(xs, ys)
        if fit.slope > 0:
            return fit.intercept, fit.slope
    # Readings all at about the same progress: learn the slope alone (the ratio to the search).
    return 0.0, statistics.median(y / x for x, y in points)


def finish_ratio(runs=None):
    """How long a whole run takes per second of its search phase (processing included)."""
    a, b = progress_line(runs)
    return 1 / (a + b) if a + b > 0 else settings.POLL_FINISH_RATIO_PERCENT / 100


def _lower_quartile(values):
    values = sorted(values)
    return values[len(values) // 4] if values else None


def is_cold(runs):
    """Too few past runs to learn from: a fresh install."""
    return len(runs) < HISTORY_MIN


def first_poll_delay(runs=None):
    """From launch to the first status call: soon, but not before the quickest runs could finish.

    On a fresh install, when a poller checking every POLL_COLD_PACE seconds would first check.
    """
    return first_poll(runs)[0]


def first_poll(runs=None):
    """(from launch to the first status call, whether it is aimed at when the job may be done)."""
    durations = past_durations(runs)
    if len(durations) < HISTORY_MIN:
        return datetime.timedelta(seconds=settings.POLL_COLD_PACE), False
    quick = _lower_quartile(durations)
    seconds = max(settings.POLL_FIRST_DELAY, min(settings.POLL_FIRST_MAX, quick))
    return datetime.timedelta(seconds=seconds), seconds == quick


def run_elapsed(job, now):
    started = job.run_started_at or job.launched_at
    return max((now - started).total_seconds(), 0.0) if started else 0.0


def read_progress(job, elapsed):
    """(search_eta, search_fraction) from this reading of chunks done, or None if it can't tell."""
    done, total = job.chunks_done, job.chunks_total
    if not total or not done or done >= total or elapsed <= 0:
        return None
    # A count of finished chunks lags the work by half a chunk on average.
    fraction = (done + 0.5) / total
    return elapsed / fraction, fraction


def predicted_finish(job, elapsed, runs=None):
    """Seconds after the run started that the job should be complete, or None."""
    return _prediction(job, elapsed, _runs(runs))[0]


def _prediction(job, elapsed, runs):
    """(seconds after the run started that the job should be complete, or None; what that rests on)."""
    if is_cold(runs) and (by_results := _finish_by_results(job)) is not None:
        return by_results, "results"
    if job.search_eta and job.search_fraction:
        a, b = progress_line(runs)
        read_at = job.search_eta * job.search_fraction  # when that reading was taken
        share = a + b * job.search_fraction  # of the whole run, passed at that reading
        return (read_at / share if share > 0 else None), "progress"
    if job.status == JobStatus.PROCESSING or (job.chunks_total and job.chunks_done == job.chunks_total):
        # The search ended at some point before now, unseen: aim between now and the latest finish.
        seen = (job.checked_at - job.run_started_at).total_seconds() if _checked_this_run(job) else elapsed
        return seen * (1 + finish_ratio(runs)) / 2, "processing"
    longer = [d for d in past_durations(runs) if d > elapsed]
    finish = _lower_quartile(longer)
    return finish, ("history" if finish is not None else "")


def _finish_by_results(job):
    """Until history exists: when a processing job will be done if it finds all it was asked for.

    Profiles arrive while a job processes, from the end of its search (projected by its chunk
    progress) on; at the pace seen so far, the rest of its size takes this long. It finds
    fewer than asked more often than more, so this errs late, and the cold start's cap on the
    gap bounds by how much.
    """
    found, asked, search_end = job.results_reported, job.limit, job.search_eta
    if job.status != JobStatus.PROCESSING or not (found and asked and search_end):
        return None
    if not _checked_this_run(job):
        return None
    seen = (job.checked_at - job.run_started_at).total_seconds()
    if seen <= search_end:
        return None
    return search_end + (seen - search_end) * max(asked / found, 1.0)


def _checked_this_run(job):
    return bool(job.checked_at and job.run_started_at and job.checked_at >= job.run_started_at)


def _refine_at(job, finish, runs=None):
    """When to read the progress again before the finish, if this reading is too coarse.

    A count of c chunks done is uncertain by half a chunk, so a prediction from it is off by
    about 0.5/(c + 0.5) of the run. When that is more than a couple of overdue steps, one more
    reading late in the search (80% of chunks) pays for itself. It is aimed at that point of
    the quickest run this reading allows, so that it still falls in the search (a reading in
    the processing phase counts no chunks) when the first guess was long.
    """
    if not (job.search_fraction and job.chunks_total) or job.search_fraction >= REFINE_BELOW:
        return None
    uncertainty = finish * 0.5 / (job.search_fraction * job.chunks_total)
    if uncertainty <= REFINE_BEYOND_STEPS * overdue_step(finish):
        return None
    a, b = progress_line(runs)
    return max(finish - uncertainty, finish / 2) * (a + b * REFINE_BELOW)


def overdue_step(finish=None):
    """The gap between polls once a job is late, or when nothing predicts its finish."""
    step = 0.1 * finish if finish else settings.POLL_OVERDUE_INTERVAL
    return max(settings.POLL_MIN_INTERVAL, min(settings.POLL_OVERDUE_INTERVAL, step))


def next_poll_delay(job, now, runs=None):
    """Seconds until the next status call for a running job (its fields as of the latest poll)."""
    return next_poll(job, now, runs)[0]


def next_poll(job, now, runs=None):
    """(seconds until the next status call, whether that call is aimed at the predicted finish).

    A call that is not aimed (a step while nothing predicts the finish, a cap on the gap, a
    fixed poller's pace) may see a finish long after it happened: the poller then records since
    when (`finished_after`), so past runs teach their real length (`_length`).
    """
    runs = _runs(runs)
    low, high = settings.POLL_MIN_INTERVAL, settings.POLL_MAX_INTERVAL
    elapsed = run_elapsed(job, now)
    finish = predicted_finish(job, elapsed, runs)
    if is_cold(runs):
        delay = _cold_delay(job, elapsed, finish)
    elif finish is None:
        delay = overdue_step()
    elif finish <= elapsed:
        delay = overdue_step(finish)
    else:
        delay = finish - elapsed
        refine_at = _refine_at(job, finish, runs)
        if refine_at is not None and refine_at > elapsed:
            delay = refine_at - elapsed
    delay = max(low, min(high, delay))
    aimed = finish is not None and finish > elapsed and abs(elapsed + delay - finish) < 1
    return delay, aimed


def _cold_delay(job, elapsed, finish):
    """A fresh install: aim at the predicted finish, never ahead of a fixed poller's pace.

    The k-th check of a run comes no sooner than k * POLL_COLD_PACE seconds after its start, so
    a run of any length costs at most the checks of a poller that checks every POLL_COLD_PACE
    seconds. No gap exceeds POLL_COLD_MAX_GAP: priors that are not yet learned can be wrong.
    """
    pace = settings.POLL_COLD_PACE * (job.run_checks + 1) - elapsed
    if finish is None:
        aim = settings.POLL_COLD_MAX_GAP
    elif finish <= elapsed:
        aim = overdue_step(finish)
    else:
        aim = min(finish - elapsed, settings.POLL_COLD_MAX_GAP)
    return max(pace, aim)


@dataclass(frozen=True)
class Forecast:
    """What the poller expects of a running job, in the pages' terms. Estimates, not measures."""

    finish_at: datetime.datetime | None  # when the job should be complete
    run_started_at: datetime.datetime | None
    progress: float | None  # share of the run probably done now, 0..1 (never 1 before it is seen done)
    runs: int  # how many past runs the prediction rests on
    # "progress" (its search progress), "processing" (its search is done), "results" (its results so
    # far against its size), "history" (past runs' lengths), or "" (nothing)
    basis: str

    @property
    def overdue(self):
        return self.progress is not None and self.progress >= ESTIMATE_CAP


ESTIMATE_CAP = 0.99  # an estimate never says "done": only a paid check can


def forecast(job, now, runs=None):
    """The poller's own prediction for `job` at `now`: expected finish, estimated progress, its basis."""
    started = job.run_started_at or job.launched_at
    if not job.is_running or started is None:
        return Forecast(None, started, None, 0, "")
    runs = _runs(runs)
    elapsed = run_elapsed(job, now)
    finish, basis = _prediction(job, elapsed, runs)
    if not finish or finish <= 0:
        return Forecast(None, started, None, 0, "")
    if basis == "history":
        resting_on = len(runs)
    else:  # the job's own progress, read against a line learned from past runs (or the defaults)
        points = len(_progress_points(runs))
        resting_on = points if points >= 3 else 0
    progress = min(max(elapsed / finish, 0.0), ESTIMATE_CAP)
    finish_at = started + datetime.timedelta(seconds=finish)
    return Forecast(finish_at, started, progress, resting_on, basis)


def backoff_delay(failures):
    """Seconds to wait after `failures` consecutive failed polls."""
    return min(settings.POLL_MAX_INTERVAL, settings.POLL_MIN_INTERVAL * 2**failures)
