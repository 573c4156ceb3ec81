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
3. Nothing known yet: geometric back-off.

Past the predicted finish (or with nothing to predict from) the gap is capped at
POLL_OVERDUE_INTERVAL, which bounds how late results can be stored. Terminal jobs are never
polled: `jobs.claim` only takes active ones. All times are seconds since the run started.
"""

import datetime
import math
import statistics

from django.conf import settings

from .models import JobStatus, ResearchJob

RECENT_RUNS = 50  # how many past runs inform the guesses
# An early progress reading (few chunks done) is coarse; when its likely error is more than this
# many overdue steps, read the progress once more late in the search, where it is precise.
REFINE_BEYOND_STEPS = 2
REFINE_BELOW = 0.8  # share of chunks done beyond which a reading is as good as it gets


def _recent_runs():
    return (
        ResearchJob.objects.filter(
            status=JobStatus.COMPLETED, run_started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("run_started_at", "finished_at", "search_eta", "search_fraction")[:RECENT_RUNS]
    )


def past_durations():
    """Seconds the recent completed runs took, shortest first."""
    return sorted((finished - started).total_seconds() for started, finished, *_ in _recent_runs())


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


def progress_line():
    """(a, b): when a share x of the search chunks is done, a + b*x of the whole run has passed.

    Learned from past runs' last progress reading and how long they took in all. Before there
    are enough of them: the search spans the run from its start, and processing adds
    POLL_FINISH_RATIO_PERCENT - 100 percent of the search time after it.
    """
    points = [
        (fraction, eta * fraction / _seen_duration(started, finished))
        for started, finished, eta, fraction in _recent_runs()
        if eta and fraction
    ]
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


def _seen_duration(started, finished):
    """How long a run took: a finish is seen, on average, half an overdue step after it happens.

    Without this, every late sighting would teach the poller to aim a little later still.
    """
    seen = (finished - started).total_seconds()
    return max(seen - overdue_step(seen) / 2, 1.0)


def finish_ratio():
    """How long a whole run takes per second of its search phase (processing included)."""
    a, b = progress_line()
    return 1 / (a + b) if a + b > 0 else settings.POLL_FINISH_RATIO_PERCENT / 100


def _lower_quartile(values):
    values = sorted(values)
    return values[len(values) // 4] if values else None


def first_poll_delay():
    """From launch to the first status call: soon, but not before the quickest runs could finish."""
    durations = past_durations()
    quick = _lower_quartile(durations) if len(durations) >= 4 else 0
    seconds = max(settings.POLL_FIRST_DELAY, min(settings.POLL_FIRST_MAX, quick))
    return datetime.timedelta(seconds=seconds)


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


def predicted_finish(job, elapsed):
    """Seconds after the run started that the job should be complete, or None."""
    if job.search_eta and job.search_fraction:
        a, b = progress_line()
        read_at = job.search_eta * job.search_fraction  # when that reading was taken
        share = a + b * job.search_fraction  # of the whole run, passed at that reading
        return read_at / share if share > 0 else None
    if job.status == JobStatus.PROCESSING or (job.chunks_total and job.chunks_done == job.chunks_total):
        # The search ended at some point before now, unseen: aim between now and the latest finish.
        return elapsed * (1 + finish_ratio()) / 2
    longer = [d for d in past_durations() if d > elapsed]
    return _lower_quartile(longer)


def _refine_at(job, finish):
    """When to read the progress again before the finish, if this reading is too coarse.

    A count of c chunks done is uncertain by half a chunk, so a prediction from it is off by
    about 0.5/(c + 0.5) of the run. When that is more than a couple of overdue steps, one more
    reading late in the search (80% of chunks) pays for itself.
    """
    if not (job.search_fraction and job.chunks_total) or job.search_fraction >= REFINE_BELOW:
        return None
    uncertainty = finish * 0.5 / (job.search_fraction * job.chunks_total)
    if uncertainty <= REFINE_BEYOND_STEPS * overdue_step(finish):
        return None
    a, b = progress_line()
    return finish * (a + b * REFINE_BELOW)


def overdue_step(finish=None):
    """The gap between polls once a job is late, or when nothing predicts its finish."""
    step = 0.1 * finish if finish else settings.POLL_OVERDUE_INTERVAL
    return max(settings.POLL_MIN_INTERVAL, min(settings.POLL_OVERDUE_INTERVAL, step))


def next_poll_delay(job, now):
    """Seconds until the next status call for a running job (its fields as of the latest poll)."""
    low, high = settings.POLL_MIN_INTERVAL, settings.POLL_MAX_INTERVAL
    elapsed = run_elapsed(job, now)
    finish = predicted_finish(job, elapsed)
    if finish is None:
        delay = min(low * 1.6 ** min(job.polls, 12), settings.POLL_OVERDUE_INTERVAL)
    elif finish <= elapsed:
        delay = overdue_step(finish)
    else:
        delay = finish - elapsed
        refine_at = _refine_at(job, finish)
        if refine_at is not None and refine_at > elapsed:
            delay = refine_at - elapsed
    return max(low, min(high, delay))


def backoff_delay(failures):
    """Seconds to wait after `failures` consecutive failed polls."""
    return min(settings.POLL_MAX_INTERVAL, settings.POLL_MIN_INTERVAL * 2**failures)
