"""A research job's life: launch, poll, ingest results, cancel, ask for more.

Every function here that spends money says so in its name or docstring. None holds a
database lock across an HTTP call: a job being polled is *claimed* with a conditional
UPDATE on its lease, and results are stored with a unique constraint, so two pollers (or a
poller and a person pressing "refresh") never poll one job at once nor store a lead twice.
"""

import datetime
import logging
import time
import uuid

from django.conf import settings
from django.db.models import Q

from . import clado, clock, payments, polling
from .models import ACTIVE_STATUSES, AuditEvent, JobStatus, Lead, ResearchJob
from .money import format_usd

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


def launch(job, user=None, *, now=None, due_only=False):
    """Pay for the deep-research call that starts `job`. Runs at most once per job.

    A launch a budget cap refuses pays nothing and waits: the job stays NEW with the reason and
    a `next_poll_at`, and the poll cycle tries again (`due_only`) when that time comes.
    """
    user = user or job.owner
    now = now or clock.now()
    jobs = ResearchJob.objects.filter(pk=job.pk, status=JobStatus.NEW)
    if due_only:
        jobs = jobs.filter(next_poll_at__lte=now)
    # The launch holds the job's lease: if this process dies mid-call, the lease runs out and
    # the poll cycle ends the job (`end_interrupted_launches`) instead of leaving it launching.
    lease = now + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS)
    if not jobs.update(status=JobStatus.LAUNCHING, lease_until=lease):  # a double click, a second poller
        job.refresh_from_db()
        return job
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.LAUNCH, job=job, detail=job.query[:500])
    try:
        started = clado.start(job.query, job.limit, company_urls=job.company_urls, user=user, job=job)
    except payments.BudgetExceeded as error:
        AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
        ResearchJob.objects.filter(pk=job.pk).update(
            status=JobStatus.NEW,
            lease_until=None,
            message=f"Waiting for budget: {error} {NOTHING_PAID} It launches by itself when the cap allows.",
            next_poll_at=now + datetime.timedelta(seconds=settings.POLL_BUDGET_RETRY),
        )
        job.refresh_from_db()
        return job
    except payments.PaymentRefused as error:
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
    now = clock.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        clado_job_id=started.job_id,
        status=_known_status(started.status),
        message=started.message,
        launched_at=now,
        run_started_at=now,
        search_eta=None,
        search_fraction=None,
        next_poll_at=now + polling.first_poll_delay(),
        lease_until=None,
    )
    job.refresh_from_db()
    return job


INTERRUPTED_LAUNCH = (
    "The launch was interrupted (the app stopped during the paid call), so the job id never "
    "arrived. Any charge it made is reconciled against the chain."
)


def end_interrupted_launches(now):
    """Jobs left launching by a process that died mid-call: their lease has run out."""
    stuck = ResearchJob.objects.filter(status=JobStatus.LAUNCHING, lease_until__lt=now)
    return stuck.update(status=JobStatus.ERROR, message=INTERRUPTED_LAUNCH, lease_until=None, finished_at=now)


# --- Polling ------------------------------------------------------------------------------


def due_job_ids(now, limit=50):
    """Jobs whose next status call (or budget-delayed launch) is due and that no one holds."""
    waiting = Q(status=JobStatus.NEW, clado_job_id__isnull=True)
    return list(
        ResearchJob.objects.filter(Q(status__in=ACTIVE_STATUSES) | waiting, next_poll_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )


def claim(job_id, owner, now, *, due_only=True):
    """Take the job's lease with one conditional UPDATE; False if someone else holds it.

    No row lock is held afterwards: the lease column itself says who may poll, so the HTTP call
    runs outside any transaction. A lease left by a crashed worker expires and is taken over.
    """
    jobs = ResearchJob.objects.filter(pk=job_id, status__in=ACTIVE_STATUSES).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )
    if due_only:
        jobs = jobs.filter(next_poll_at__lte=now)
    lease = now + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS)
    return jobs.update(lease_until=lease, lease_owner=owner) == 1


def renew(job_id, owner, now):
    """Extend a lease we still hold (between result pages); False if it was lost."""
    lease = now + datetime.timedelta(seconds=settings.POLL_LEASE_SECONDS)
    return ResearchJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_until=lease) == 1


def release(job_id, owner):
    ResearchJob.objects.filter(pk=job_id, lease_owner=owner).update(lease_until=None, lease_owner="")


def poll_due_jobs(now=None, owner=None, deadline=None):
    """One poll cycle: every due job that no one else holds gets one paid status call.

    Jobs waiting for budget get their launch retried instead. `deadline` (time.monotonic())
    stops the cycle from starting more work, so a scheduled task ends inside its timeout.
    """
    owner = owner or uuid.uuid4().hex
    now = now or clock.now()
    end_interrupted_launches(now)
    polled = 0
    for job_id in due_job_ids(now):
        if deadline is not None and time.monotonic() > deadline:
            break
        job = ResearchJob.objects.get(pk=job_id)
        try:
            if job.status == JobStatus.NEW:
                launch(job, now=now, due_only=True)
            elif poll_claimed(job_id, owner, now=now):
                polled += 1
        except Exception as error:
            # One job's surprise must not stop the cycle for the others (nor come first again
            # every cycle): it counts as a failed poll, so it ends in error after a few.
            log.exception("Polling job %s failed unexpectedly", job_id)
            _poll_failed(ResearchJob.objects.get(pk=job_id), now, error)
    return polled


def poll_claimed(job_id, owner, *, now=None, user=None, due_only=True):
    """Claim, poll once (plus the result pages of a finished job), release. False if not claimed."""
    now = now or clock.now()
    if not claim(job_id, owner, now, due_only=due_only):
        return False
    try:
        poll_job(ResearchJob.objects.get(pk=job_id), user=user, now=now, owner=owner)
    finally:
        release(job_id, owner)
    return True


def refresh(job, user):
    """ "Refresh now": one paid status call outside the schedule. False if a poll is under way."""
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFRESH, job=job)
    return poll_claimed(job.pk, uuid.uuid4().hex, user=user, due_only=False)


def poll_job(job, user=None, now=None, owner=None):
    """Pay for one status call; on completion, pay for the remaining result pages too."""
    now = now or clock.now()
    size = settings.POLL_PAGE_SIZE
    # A finished job whose pages were cut short (a fault, a lost lease) resumes at the first page
    # it lacks: every page is status too, and the pages it has are not paid for twice.
    resume = job.finished_at is not None and job.leads_stored and job.leads_stored % size == 0
    first = job.leads_stored // size + 1 if resume else 1
    try:
        page = clado.status(job.clado_job_id, page=first, page_size=size, user=user, job=job)
        ingest(job, page)
        if page.status == "completed":
            if job.finished_at is None:  # seen finished: from here on, only missing pages are fetched
                job.finished_at = now
                ResearchJob.objects.filter(pk=job.pk).update(finished_at=now)
            _fetch_remaining_pages(job, page, user, owner)
    except payments.BudgetExceeded as error:
        # Refused before signing: nothing was paid. Try again when the cap may allow it.
        retry = datetime.timedelta(seconds=settings.POLL_BUDGET_RETRY)
        _defer(job, now, retry, f"Paused: {error} {NOTHING_PAID} Polling resumes when the budget allows.")
        return job
    except clado.RateLimited as error:
        _defer(
            job,
            now,
            datetime.timedelta(seconds=error.retry_after),
            f"The gateway asked us to slow down; next status check in {error.retry_after} s.",
        )
        return job
    except clado.CALL_ERRORS as error:  # budget refusals were handled above
        if isinstance(error, payments.PaymentRefused):
            AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
        return _poll_failed(job, now, error)
    return _apply_status(job, page, now)


def _fetch_remaining_pages(job, first, user, owner):
    """Pages 2.. of a finished job, in the same cycle; stops at the last or an empty page."""
    page = first
    while page.has_more_pages(settings.POLL_PAGE_SIZE):
        if owner is not None and not renew(job.pk, owner, clock.now()):
            raise clado.CladoError("Another poller took over this job while its pages were fetched.")
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
    job.chunks_done, job.chunks_total = page.chunks_done, page.chunks_total
    reading = polling.read_progress(job, polling.run_elapsed(job, now))
    fields = {
        "search_eta": reading[0] if reading else job.search_eta,
        "search_fraction": reading[1] if reading else job.search_fraction,
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
    elif status == JobStatus.ERROR:
        fields["next_poll_at"] = None
        fields["finished_at"] = now
        fields["message"] = f"Clado reported an error: {page.error or page.message or 'no details given'}"
    else:
        fields["next_poll_at"] = None
        fields["finished_at"] = now
    ResearchJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    return job


def _poll_failed(job, now, error):
    """Retry later with back-off, or end the job after POLL_MAX_FAILURES in a row."""
    failures = job.failures + 1
    log.warning("Poll of job %s failed (%s/%s): %s", job.pk, failures, settings.POLL_MAX_FAILURES, error)
    give_up = failures >= settings.POLL_MAX_FAILURES or not getattr(error, "retryable", True)
    if isinstance(error, clado.JobNotFound) and failures < settings.POLL_MAX_FAILURES:
        give_up = False  # a 404 may be a gateway hiccup; it gets the same bounded retries
    if give_up:
        ResearchJob.objects.filter(pk=job.pk).update(failures=failures)
        calls = "1 failed status call" if failures == 1 else f"{failures} failed status calls in a row"
        return _end(job, JobStatus.ERROR, f"Stopped after {calls}: {_sentence(error)}{_charged(error)}")
    tries = f"{failures}/{settings.POLL_MAX_FAILURES}"
    ResearchJob.objects.filter(pk=job.pk).update(
        failures=failures,
        message=f"Status check failed, retrying ({tries}): {_sentence(error)}",
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
    job.refresh_from_db()
    if job.status == JobStatus.NEW:
        # Not launched (e.g. waiting for budget): nothing to pay the gateway for.
        if ResearchJob.objects.filter(pk=job.pk, status=JobStatus.NEW).update(
            status=JobStatus.CANCELLED, next_poll_at=None, finished_at=clock.now(), message="Cancelled."
        ):
            AuditEvent.objects.create(user=user, action=AuditEvent.Action.CANCEL, job=job)
            return f"Cancelled before launch. {NOTHING_PAID}"
        job.refresh_from_db()
    if not job.is_active or not job.clado_job_id:
        return f"This job has already ended ({job.get_status_display().lower()}). {NOTHING_PAID}"
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.CANCEL, job=job)
    try:
        message = clado.cancel(job.clado_job_id, user=user, job=job)
    except clado.Conflict as error:
        # It finished (or stopped) at Clado before we asked: fetch its results at once.
        ResearchJob.objects.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(next_poll_at=clock.now())
        return f"Not cancelled: {_sentence(error)}{_charged(error)} Its results are being fetched."
    except clado.CALL_ERRORS as error:
        return f"Cancel failed: {_sentence(error)}{_charged(error)}"
    _end(job, JobStatus.CANCELLED, message)
    return message


def more(job, user, additional):
    """Pay for `additional` more results on a finished job; polling resumes."""
    job.refresh_from_db()
    if job.status != JobStatus.COMPLETED:
        return f"More results can be asked for once the job has completed. {NOTHING_PAID}"
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.MORE, job=job, detail=str(additional))
    try:
        status, message = clado.more(job.clado_job_id, additional, user=user, job=job)
    except clado.CALL_ERRORS as error:
        return f"No more results: {_sentence(error)}{_charged(error)}"
    now = clock.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        status=_known_status(status) if _known_status(status) in ACTIVE_STATUSES else JobStatus.PROCESSING,
        limit=job.limit + additional,
        message=message,
        finished_at=None,
        failures=0,
        run_started_at=now,  # a new run: predictions start from here
        search_eta=None,
        search_fraction=None,
        next_poll_at=now + polling.first_poll_delay(),
    )
    return message or f"Looking for {additional} more results."


# --- Helpers ------------------------------------------------------------------------------


def _known_status(status):
    """Gateway states mapped onto ours; anything unknown counts as still running."""
    if status in JobStatus.values and status not in (JobStatus.NEW, JobStatus.LAUNCHING):
        return status
    return JobStatus.PROCESSING


def _sentence(error):
    return str(error).rstrip(". ") + "."


def _charged(error):
    """Whether a failed call still cost money, in words (unless the error says so already)."""
    charge = getattr(error, "charge", None)
    if charge is None:
        return "" if NOTHING_PAID in str(error) else f" {NOTHING_PAID}"
    return f" The call was paid ({format_usd(charge.amount)})."


def _end(job, status, message):
    now = clock.now()
    ResearchJob.objects.filter(pk=job.pk).update(
        status=status, message=message[:2000], next_poll_at=None, finished_at=now, lease_until=None
    )
    job.refresh_from_db()
    return job
