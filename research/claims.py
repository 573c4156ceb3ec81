"""Claims: who may make a paid call for a job right now.

Every paid action on a job (launch, status check, cancel, more, fetching results again) first
takes the job's claim with one conditional UPDATE on its lease columns. Whoever loses the race
pays nothing and is told what is under way. No row lock is held afterwards: the lease columns
themselves say who may pay, so the HTTP call runs outside any transaction, and a lease left by
a process that died expires and can be taken over.
"""

import datetime
import uuid

from django.conf import settings
from django.db.models import Q

from .models import ResearchJob

# What a claim is for, in the words a person who lost the race reads.
UNDER_WAY = {
    "launch": "the launch is being paid for",
    "poll": "a status check is under way",
    "refresh": "a status check is under way",
    "cancel": "a cancel is under way",
    "more": "a request for more results is under way",
    "resume": "its results are being fetched again",
}


def new_token():
    return uuid.uuid4().hex


def lease_end(now):
    return now + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS)


def take(job_pk, action, now, *, statuses, token=None, due_only=False, **changes):
    """Claim the job for `action` if it is in `statuses` and no one holds it. Returns the token or None.

    `changes` are written in the same UPDATE (e.g. the status a launch moves to), so the claim
    and the state change are one step.
    """
    token = token or new_token()
    jobs = ResearchJob.objects.filter(pk=job_pk, status__in=statuses).filter(free(now))
    if due_only:
        jobs = jobs.filter(next_poll_at__lte=now)
    taken = jobs.update(lease_until=lease_end(now), lease_token=token, lease_action=action, **changes)
    return token if taken == 1 else None


def free(now):
    """Jobs no one holds (or whose holder's lease ran out)."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def renew(job_pk, token, now):
    """Extend a claim we still hold (between result pages); False if it was lost."""
    return ResearchJob.objects.filter(pk=job_pk, lease_token=token).update(lease_until=lease_end(now)) == 1


def release(job_pk, token, **changes):
    """Give the claim back, writing `changes` in the same UPDATE if we still hold it."""
    return (
        ResearchJob.objects.filter(pk=job_pk, lease_token=token).update(
            lease_until=None, lease_token="", lease_action="", **changes
        )
        == 1
    )


def under_way(job):
    """What the current holder of `job`'s claim is doing, for the person who lost the race."""
    job.refresh_from_db(fields=["lease_action", "lease_until"])
    return UNDER_WAY.get(job.lease_action, "another paid call is under way")
