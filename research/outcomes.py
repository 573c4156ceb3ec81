"""How a job's state changes are written, and how they are said: one clean sentence per fact.

Shared by the person's actions (`research.jobs`) and the poller (`research.poller`). An end, and
a pause for budget, is told to the owner once (`research.notify`).
"""

import datetime

from django.conf import settings

from . import clock, notify
from .models import Charge, Hold, ResearchJob
from .money import format_usd

NOTHING_PAID = "Nothing was paid."


def sentence(error):
    """An error's text as one sentence: trimmed, with exactly one full stop."""
    text = " ".join(str(error).split()).rstrip(". ") or type(error).__name__
    return text + "."


def charged(error):
    """Whether a failed call still cost money, as a sentence (unless the error says so already).

    Only a settled charge is said to be paid: one still open is being checked on the chain.
    """
    charge = getattr(error, "charge", None)
    if charge is None or charge.state == Charge.State.FAILED:
        return "" if NOTHING_PAID in str(error) else NOTHING_PAID
    if charge.state == Charge.State.SETTLED:
        return f"The call was paid ({format_usd(charge.amount)})."
    return f"Whether its payment ({format_usd(charge.amount)}) moved is being checked on the chain."


def explain(error):
    """The error and what it cost, as sentences."""
    return " ".join(part for part in (sentence(error), charged(error)) if part)


def end(job, status, message):
    """The job stops: no more calls are scheduled, and any claim it held is let go."""
    now = clock.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        status=status,
        message=message[:2000],
        hold=Hold.NONE,
        next_poll_at=None,
        finished_at=now,
        lease_until=None,
        lease_token="",
        lease_action="",
    )
    job.refresh_from_db()
    notify.job_ended(job)
    return job


def hold(job, kind, error, now, *, launching):
    """Nothing is paid for now: a budget cap or an outage on our side. The job tries again by itself."""
    what = "launches" if launching else "resumes its status checks"
    if kind == Hold.BUDGET:
        delay = settings.POLL_BUDGET_RETRY
        prefix = "Waiting for budget" if launching else "Paused"
        retry = f"{error.raised_by} The job {what} by itself when the cap allows."
    else:
        delay = settings.POLL_OUTAGE_RETRY
        prefix = "Waiting"
        retry = f"The job {what} by itself when it answers."
    message = f"{prefix}: {sentence(error)} {NOTHING_PAID} {retry}"
    ResearchJob.objects.filter(pk=job.pk).update(
        hold=kind, message=message[:2000], next_poll_at=now + datetime.timedelta(seconds=delay)
    )
    job.refresh_from_db()
    if kind == Hold.BUDGET:
        notify.job_ended(job)
    return job
