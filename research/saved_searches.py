"""Saved searches: a search run again by itself, daily or weekly, and the people each run found anew.

Each saved search has one django-q2 `Schedule` row, created, changed and deleted with it here
(`sync_schedule`): pausing or deleting the search removes the row, so its runs stop. A
scheduled run (`research.tasks.run_saved_search`) launches through `jobs.create_job` and
`jobs.launch` like any other, so claims, budgets and the ledger apply; on top of them, a run
whose launch and expected status checks cost more than the search's own cap is not launched.
A repeated delivery of the same slot gives the same job (its idempotency key names the slot),
which `jobs.launch` pays for at most once.

"New people" are those no earlier run of the same search found, by person (normalised
LinkedIn URL): one anti-join on the indexed (person, job) pair.
"""

import datetime
import uuid

from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_q.models import Schedule

from . import jobs, quotes
from .models import ACTIVE_STATUSES, AuditEvent, Cadence, Lead, ResearchJob, SavedSearch
from .money import format_usd

TASK = "research.tasks.run_saved_search"
PERIODS = {Cadence.DAILY: datetime.timedelta(days=1), Cadence.WEEKLY: datetime.timedelta(weeks=1)}
SCHEDULE_TYPES = {Cadence.DAILY: Schedule.DAILY, Cadence.WEEKLY: Schedule.WEEKLY}
SLOTS = uuid.UUID("6f1c5e1e-3a4b-4c1d-9e55-0b7e2d6a9c01")  # namespace of the runs' idempotency keys
NAMES_SHOWN = 10


# --- The search and its schedule ------------------------------------------------------------


def create(owner, *, name, query, limit, cadence, max_spend, criteria=(), company_urls=(), first_run=None):
    """Save a search with its schedule. `first_run`, a job of the same search, counts as its first run."""
    saved = SavedSearch.objects.create(
        owner=owner,
        name=name.strip()[:200] or query[:200],
        query=query,
        limit=limit,
        criteria=list(criteria),
        company_urls=list(company_urls),
        cadence=cadence,
        max_spend=max_spend,
    )
    if first_run is not None:
        ResearchJob.objects.filter(pk=first_run.pk, saved_search__isnull=True).update(saved_search=saved)
        saved.last_run_at = first_run.launched_at or first_run.created_at
        saved.save(update_fields=["last_run_at"])
    sync_schedule(saved)
    return saved


def sync_schedule(saved, now=None):
    """Make the search's Schedule row match it: none while paused, else one at its cadence."""
    if saved.paused:
        Schedule.objects.filter(name=saved.schedule_name).delete()
        return None
    now = now or timezone.now()
    period = PERIODS[saved.cadence]
    next_run = (saved.last_run_at or now) + period
    schedule, _ = Schedule.objects.update_or_create(
        name=saved.schedule_name,
        defaults={
            "func": TASK,
            "args": repr(saved.pk),
            "schedule_type": SCHEDULE_TYPES[saved.cadence],
            "repeats": -1,
            "next_run": max(next_run, now + datetime.timedelta(minutes=1)),
        },
    )
    return schedule


def pause(saved, paused=True):
    saved.paused = paused
    saved.save(update_fields=["paused"])
    sync_schedule(saved)


def delete(saved):
    """Delete the search and its schedule. Its runs stay, as ordinary jobs."""
    Schedule.objects.filter(name=saved.schedule_name).delete()
    saved.delete()


def drop_schedule(saved_search_id):
    """A schedule whose search is gone (deleted with its owner, say) stops itself."""
    Schedule.objects.filter(name=SavedSearch(pk=saved_search_id).schedule_name).delete()


def next_runs(searches):
    """{search id: when its schedule runs next} for these searches. One query."""
    by_name = {s.schedule_name: s.pk for s in searches}
    rows = Schedule.objects.filter(name__in=list(by_name)).values_list("name", "next_run")
    return {by_name[name]: when for name, when in rows}


# --- Runs -----------------------------------------------------------------------------------


def run_cost(saved):
    """What a run costs at most as far as our price table knows: the launch and its status checks."""
    return quotes.quote(saved.owner, saved.limit).needed


def slot_key(saved, now):
    """The idempotency key of the run due at `now`: one per day, or per ISO week."""
    day = timezone.localdate(now)
    year, week, _ = day.isocalendar()
    slot = day.isoformat() if saved.cadence == Cadence.DAILY else f"{year}-W{week:02d}"
    return uuid.uuid5(SLOTS, f"{saved.pk}:{slot}")


def run(saved, *, now=None, scheduled=True):
    """Launch one run of `saved` (paid). Returns (the job or None, what happened in a sentence).

    Not launched while paused, while the previous run is still going, or above the search's cap.
    A scheduled run is one per slot; a person's "run now" (`scheduled=False`) is a run of its own.
    """
    now = now or timezone.now()
    if saved.paused:
        return None, said(saved, "Paused: not run.")
    running = saved.runs.filter(status__in=ACTIVE_STATUSES).order_by("-pk").first()
    if running is not None:
        return running, said(saved, f"Not run: the previous run (job #{running.pk}) is still going.")
    cost = run_cost(saved)
    if cost > saved.max_spend:
        message = (
            f"Not run: a run costs up to {format_usd(cost)} (the launch and its status checks), more than "
            f"this search's cap of {format_usd(saved.max_spend)} a run. Nothing was paid."
        )
        AuditEvent.objects.create(user=saved.owner, action=AuditEvent.Action.REFUSED, detail=message)
        return None, said(saved, message)
    job = jobs.create_job(
        saved.owner,
        saved.query,
        saved.limit,
        saved.company_urls,
        slot_key(saved, now) if scheduled else None,
        saved.criteria,
        again=True,
        saved_search=saved,
    )
    job = jobs.launch(job, saved.owner)
    saved.last_run_at = now
    saved.save(update_fields=["last_run_at"])
    return job, said(saved, f"Job #{job.pk}: {quotes.launch_summary(job)}")


def said(saved, message):
    saved.last_message = message
    saved.save(update_fields=["last_message"])
    return message


def earlier_runs(job):
    return ResearchJob.objects.filter(saved_search_id=job.saved_search_id, pk__lt=job.pk)


def new_people(job):
    """The leads of a run whose person no earlier run of the same saved search found."""
    earlier = Lead.objects.filter(
        person=OuterRef("person"), job__saved_search_id=job.saved_search_id, job_id__lt=job.pk
    )
    return job.leads.filter(~Exists(earlier))


def summary(job):
    """What a run brought: {"first": bool, "count": new people, "names": the first few, "more": the rest}."""
    if not job.saved_search_id:
        return None
    first = not earlier_runs(job).exists()
    new = new_people(job)
    count = new.count()
    names = list(new.order_by("position").values_list("name", flat=True)[:NAMES_SHOWN])
    return {"first": first, "count": count, "names": names, "more": max(count - len(names), 0)}
