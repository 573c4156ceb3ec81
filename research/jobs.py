"""A research job's life: launch, poll, ingest results, cancel, ask for more.

Every function here that spends money says so in its name or docstring. None holds a
database lock across an HTTP call: a job being polled is *claimed* with a conditional
UPDATE on its lease, and results are stored with a unique constraint, so two pollers (or a
poller and a person pressing "refresh") never poll one job at once nor store a lead twice.
"""

import datetime
import logging
import uuid

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import clado, payments, polling
from .models import ACTIVE_STATUSES, AuditEvent, JobStatus, Lead, ResearchJob

log = logging.getLogger(__name__)

NOTHING_PAID = "Nothing was paid."


# --- Launch -------------------------------------------------------------------------------


def create_job(owner, query, limit, company_urls=(), idempotency_key=None):
    """The job row for a launch; the same idempotency key always gives the same job."""
    job, _ = ResearchJob.objects.get_or_create(
        idempotency_key=idempotency_key or uuid.uuid4(),
        defaults={"owner": owner, "query": query, "limit": limit, "company_urls": list(company_urls)},
    )
    return job


def launch(job, user=None):
    """Pay for the deep-research call that starts `job`. Runs at most once per job."""
    user = user or job.owner
    claimed = ResearchJob.objects.filter(pk=job.pk, status=JobStatus.NEW).update(status=JobStatus.LAUNCHING)
    if not claimed:  # a double click or a resubmitted form: already launched
        job.refresh_from_db()
        return job
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.LAUNCH, job=job, detail=job.query[:500])
    try:
        started = clado.start(job.query, job.limit, company_urls=job.company_urls, user=user, job=job)
    except (payments.PaymentRefused, payments.BudgetExceeded) as error:
        AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
        return _end(job, JobStatus.ERROR, f"Not launched: {error} {NOTHING_PAID}")
    except payments.GatewayUnreachable as error:
        return _end(
            job, JobStatus.ERROR, f"Not launched: the gateway did not answer ({error}). {NOTHING_PAID}"
        )
    except payments.PaymentOutcomeUnknown:
        return _end(
            job,
            JobStatus.ERROR,
            "The launch was paid but no answer came back, so the job id is unknown. "
            "The charge is being reconciled against the chain.",
        )
    except clado.CladoError as error:
        paid = "" if error.charge is None else " The launch call was charged."
        return _end(job, JobStatus.ERROR, f"Not launched: {error}.{paid}")
    now = timezone.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        clado_job_id=started.job_id,
        status=_known_status(started.status),
        message=started.message,
        launched_at=now,
        next_poll_at=now + polling.first_poll_delay(),
    )
    job.refresh_from_db()
    return job


# --- Polling ------------------------------------------------------------------------------


def due_job_ids(now, limit=50):
    return list(
        ResearchJob.objects.filter(status__in=ACTIVE_STATUSES, next_poll_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )


def claim(job_id, owner, now, *, due_only=True):
    """Take the job's lease with one conditional UPDATE; False if someone else holds it."""
    jobs = ResearchJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if due_only:
        jobs = jobs.filter(next_poll_at__lte=now)
    lease = now + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS)
    return jobs.update(lease_until=lease, lease_owner=owner) == 1


def release(job_id, owner):
    ResearchJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_until=None, lease_owner="")


def poll_due_jobs(now=None, owner=None):
    """One poll cycle: every due job that no one else holds gets one paid status call."""
    owner = owner or uuid.uuid4().hex
    polled = 0
    for job_id in due_job_ids(now or timezone.now()):
        if poll_claimed(job_id, owner, now=now):
            polled += 1
    return polled


def poll_claimed(job_id, owner, *, now=None, user=None, due_only=True):
    """Claim, poll once (plus the result pages of a finished job), release. False if not claimed."""
    if not claim(job_id, owner, now or timezone.now(), due_only=due_only):
        return False
    try:
        poll_job(ResearchJob.objects.get(pk=job_id), user=user, now=now)
    finally:
        release(job_id, owner)
    return True


def refresh(job, user):
    """ "Refresh now": one paid status call outside the schedule. False if a poll is under way."""
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFRESH, job=job)
    return poll_claimed(job.pk, uuid.uuid4().hex, user=user, due_only=False)


def poll_job(job, user=None, now=None):
    """Pay for one status call; on completion, pay for the remaining result pages too."""
    now = now or timezone.now()
    try:
        page = clado.status(job.clado_job_id, page=1, page_size=settings.POLL_PAGE_SIZE, user=user, job=job)
        ingest(job, page)
        if page.status == "completed":
            _fetch_remaining_pages(job, page, user)
    except payments.BudgetExceeded as error:
        # Nothing was paid; try again once the cap may allow it.
        _defer(job, now, datetime.timedelta(minutes=10), f"Paused: {error}")
        return job
    except clado.RateLimited as error:
        _defer(job, now, datetime.timedelta(seconds=error.retry_after), "The gateway asked us to slow down.")
        return job
    except (
        clado.CladoError,
        payments.PaymentRefused,
        payments.PaymentOutcomeUnknown,
        payments.GatewayUnreachable,
    ) as error:
        return _poll_failed(job, now, error)
    return _apply_status(job, page, now)


def _fetch_remaining_pages(job, first, user):
    """Pages 2.. of a finished job, in the same cycle; stops at the last or an empty page."""
    page = first
    while page.results and (page.has_next or (page.has_next is None and page.page < (page.total_pages or 0))):
        page = clado.status(
            job.clado_job_id, page=page.page + 1, page_size=settings.POLL_PAGE_SIZE, user=user, job=job
        )
        ingest(job, page)


def ingest(job, page):
    """Store a page of results; a repeated or overlapping page inserts nothing twice."""
    offset = (page.page - 1) * settings.POLL_PAGE_SIZE
    leads = []
    for index, result in enumerate(page.results):
        fields = clado.parse_lead(result)
        if fields["profile_id"]:
            leads.append(Lead(job=job, position=offset + index, **fields))
    if leads:
        Lead.objects.bulk_create(leads, ignore_conflicts=True, batch_size=500)
    job.leads_stored = job.leads.count()
    ResearchJob.objects.filter(pk=job.pk).update(leads_stored=job.leads_stored)


def _apply_status(job, page, now):
    status = _known_status(page.status)
    fields = {
        "status": status,
        "message": page.error or page.message,
        "polls": job.polls + 1,
        "failures": 0,
        "chunks_done": page.chunks_done,
        "chunks_total": page.chunks_total,
        "profiles_scanned": page.profiles_scanned,
        "profiles_matched": page.profiles_matched,
        "results_reported": page.results_count,
    }
    if status in ACTIVE_STATUSES:
        for name, value in fields.items():
            setattr(job, name, value)
        fields["next_poll_at"] = now + datetime.timedelta(seconds=polling.next_poll_delay(job, now))
    else:
        fields["next_poll_at"] = None
        fields["finished_at"] = now
    ResearchJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def _poll_failed(job, now, error):
    failures = job.failures + 1
    log.warning("Poll of job %s failed (%s/%s): %s", job.pk, failures, settings.POLL_MAX_FAILURES, error)
    give_up = failures >= settings.POLL_MAX_FAILURES or not getattr(error, "retryable", True)
    if isinstance(error, clado.JobNotFound) and failures < settings.POLL_MAX_FAILURES:
        give_up = False  # a 404 may be a gateway hiccup; it gets the same bounded retries
    if give_up:
        ResearchJob.objects.filter(pk=job.pk).update(failures=failures)
        return _end(job, JobStatus.ERROR, f"Stopped after {failures} failed status calls: {error}")
    ResearchJob.objects.filter(pk=job.pk).update(
        failures=failures,
        message=f"Retrying: {error}",
        next_poll_at=now + datetime.timedelta(seconds=polling.backoff_delay(failures)),
    )
    job.refresh_from_db()
    return job


def _defer(job, now, delay, message):
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=now + delay, message=message)
    job.refresh_from_db()


# --- Cancel and more ----------------------------------------------------------------------


def cancel(job, user):
    """Pay for a cancel call ($0.003). Returns a message for the person who asked."""
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.CANCEL, job=job)
    try:
        message = clado.cancel(job.clado_job_id, user=user, job=job)
    except clado.Conflict as error:
        return f"Not cancelled: {error}"
    except (
        clado.CladoError,
        payments.PaymentRefused,
        payments.BudgetExceeded,
        payments.PaymentOutcomeUnknown,
        payments.GatewayUnreachable,
    ) as error:
        return f"Cancel failed: {error}"
    _end(job, JobStatus.CANCELLED, message)
    return message


def more(job, user, additional):
    """Pay for `additional` more results on a finished job; polling resumes."""
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.MORE, job=job, detail=str(additional))
    try:
        status, message = clado.more(job.clado_job_id, additional, user=user, job=job)
    except (
        clado.CladoError,
        payments.PaymentRefused,
        payments.BudgetExceeded,
        payments.PaymentOutcomeUnknown,
        payments.GatewayUnreachable,
    ) as error:
        return f"No more results: {error}"
    now = timezone.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        status=_known_status(status) if _known_status(status) in ACTIVE_STATUSES else JobStatus.PROCESSING,
        limit=job.limit + additional,
        message=message,
        finished_at=None,
        failures=0,
        next_poll_at=now + polling.first_poll_delay(),
    )
    return message or f"Looking for {additional} more results."


# --- Helpers ------------------------------------------------------------------------------


def _known_status(status):
    """Gateway states mapped onto ours; anything unknown counts as still running."""
    if status in JobStatus.values and status not in (JobStatus.NEW, JobStatus.LAUNCHING):
        return status
    return JobStatus.PROCESSING


def _end(job, status, message):
    now = timezone.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        status=status, message=message[:2000], next_poll_at=None, finished_at=now
    )
    job.refresh_from_db()
    return job
