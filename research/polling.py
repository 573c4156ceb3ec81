"""When to spend the next $0.003 on a job's status: the polling policy, in one place.

A status call costs the same whatever it returns, so the aim is one call shortly after the
job finishes and as few as possible before. The job's own progress fields (search chunks
done out of total) give a rate and so a predicted finish; without them we back off
geometrically. Durations of past jobs bound the first guesses.
"""

import datetime

from django.conf import settings
from django.db.models import DurationField, ExpressionWrapper, F

from .models import JobStatus, ResearchJob


def first_poll_delay():
    return datetime.timedelta(seconds=settings.POLL_FIRST_DELAY)


def typical_duration():
    """Mean duration of recent completed jobs, or None before there are any."""
    recent = (
        ResearchJob.objects.filter(
            status=JobStatus.COMPLETED, launched_at__isnull=False, finished_at__isnull=False
        )
        .order_by("-finished_at")[:50]
        .annotate(took=ExpressionWrapper(F("finished_at") - F("launched_at"), output_field=DurationField()))
    )
    took = [job.took for job in recent]
    if not took:
        return None
    return sum(took, datetime.timedelta()) / len(took)


def next_poll_delay(job, now):
    """Seconds until the next status call for a running job."""
    low, high = settings.POLL_MIN_INTERVAL, settings.POLL_MAX_INTERVAL
    elapsed = (now - job.launched_at).total_seconds() if job.launched_at else 0.0
    predicted = predicted_remaining(job, elapsed)
    if predicted is not None:
        # Aim a little after the predicted finish: early calls are the wasted ones.
        delay = predicted * 0.9 + low
    else:
        delay = low * (1.6 ** min(job.polls, 12))
    return max(low, min(high, delay))


def predicted_remaining(job, elapsed):
    """Seconds until the job is predicted to finish, from its own progress if it reports any."""
    if job.chunks_total and job.chunks_done and elapsed > 0:
        done = min(job.chunks_done, job.chunks_total)
        rate = done / elapsed
        remaining_chunks = job.chunks_total - done
        # Processing follows searching; allow it a fifth of the search time.
        return remaining_chunks / rate + elapsed * 0.2
    return None


def backoff_delay(failures):
    """Seconds to wait after `failures` consecutive failed polls."""
    return min(settings.POLL_MAX_INTERVAL * 5, settings.POLL_MIN_INTERVAL * 2**failures)
