"""When to spend the next $0.003 on a job's status: the polling policy, in one place.

A status call costs the same whatever it returns, so the aim is one call just after the job
finishes and as few as possible before it. Three sources of knowledge, best first:

1. The job's own progress: while searching, chunks done out of total give a rate and so when
   the search will end (`search_eta`). Past jobs teach how long a whole run takes compared with
   its search phase (`finish_ratio`), which covers the processing phase that reports no progress.
2. How long past runs took: the first poll waits until the quickest quarter of past runs would
   be done (capped, so a person sees a first sign of life soon), and a job that reports no progress
   is next checked when the quickest quarter of past runs *longer than it* would be done.
3. Nothing known yet: geometric back-off.

Past the predicted finish (or with nothing to predict from) the gap is capped at
POLL_OVERDUE_INTERVAL, which bounds how late results can be stored. Terminal jobs are never
polled: `jobs.claim` only takes active ones. All times are seconds since the run started.
"""

import datetime
import statistics

from django.conf import settings

from .models import JobStatus, ResearchJob

RECENT_RUNS = 50  # how many past runs inform the guesses
# An early progress reading (few chunks done) is coarse; when a wrong guess would cost more than
# this many overdue steps, read the progress once more late in the search, where it is precise.
REFINE_BEYOND_STEPS = 4


def _recent_runs():
    return (
        ResearchJob.objects.filter(
            status=JobStatus.COMPLETED, run_started_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("run_started_at", "finished_at", "search_eta")[:RECENT_RUNS]
    )


def past_durations():
    """Seconds the recent completed runs took, shortest first."""
    return sorted((finished - started).total_seconds() for started, finished, _ in _recent_runs())


def typical_duration():
    """Median duration of recent completed runs, or None before there are any."""
    durations = past_durations()
    return datetime.timedelta(seconds=statistics.median(durations)) if durations else None


def finish_ratio():
    """How long a whole run takes per second of projected search, learned from past runs."""
    ratios = [(finished - started).total_seconds() / eta for started, finished, eta in _recent_runs() if eta]
    if len(ratios) < 3:
        return settings.POLL_FINISH_RATIO_PERCENT / 100
    return statistics.median(ratios)


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


def search_eta(job, elapsed):
    """When the search phase should end, from this reading of chunks done (None if it can't tell)."""
    done, total = job.chunks_done, job.chunks_total
    if not total or not done or done >= total or elapsed <= 0:
        return None
    # A count of finished chunks lags the work by half a chunk on average.
    return elapsed * total / (done + 0.5)


def predicted_finish(job, elapsed):
    """Seconds after the run started that the job should be complete, or None."""
    ratio = finish_ratio()
    if job.search_eta:
        return job.search_eta * ratio
    if job.status == JobStatus.PROCESSING or (job.chunks_total and job.chunks_done == job.chunks_total):
        # The search ended at some point before now, unseen: aim between now and the latest finish.
        return elapsed * (1 + ratio) / 2
    longer = [d for d in past_durations() if d > elapsed]
    return _lower_quartile(longer)


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
        coarse = job.search_eta and job.chunks_done and job.chunks_done < 0.6 * job.chunks_total
        if coarse and delay > REFINE_BEYOND_STEPS * overdue_step(finish):
            delay = 0.6 * (job.search_eta - elapsed)  # still inside the search phase
    return max(low, min(high, delay))


def backoff_delay(failures):
    """Seconds to wait after `failures` consecutive failed polls."""
    return min(settings.POLL_MAX_INTERVAL, settings.POLL_MIN_INTERVAL * 2**failures)
