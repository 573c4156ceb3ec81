"""Polling one job: claim it, pay for one status call, store what it brought, schedule the next.

`research.polling` decides *when* the next status call is worth its price; this module makes it.
A job is claimed first (`research.claims`), so two pollers, or a poller and a person pressing
"check now", never pay for the same job at once. What happens after each kind of failure:

- a budget cap refuses the call: nothing is paid, the job is *paused* and tries again later;
- our side is down (the chain RPC, the network to the gateway): nothing is paid, the job
  *waits* and tries again later. An outage never ends a job;
- the gateway answers with an error: the job retries with back-off and ends in error after
  POLL_MAX_FAILURES in a row (a person can fetch its results again later);
- the gateway says the job failed, or does not know it (after the same bounded retries): it ends.
"""

import datetime
import logging

from django.conf import settings

from . import clado, claims, clock, ingest, notify, outcomes, polling
from .models import RUNNING_STATUSES, AuditEvent, Hold, JobStatus, ResearchJob

log = logging.getLogger(__name__)


def claim(job_pk, token, now, *, action="poll", due_only=True):
    """Claim a running job for a status call; the token, or None if someone else holds it."""
    return claims.take(job_pk, action, now, statuses=RUNNING_STATUSES, token=token, due_only=due_only)


def poll_claimed(job_pk, *, action="poll", now=None, user=None, due_only=True):
    """Claim, poll once (plus the result pages of a finished job), release. False if not claimed."""
    now = now or clock.now()
    token = claim(job_pk, claims.new_token(), now, action=action, due_only=due_only)
    if token is None:
        return False
    try:
        poll_job(ResearchJob.objects.get(pk=job_pk), user=user, now=now, token=token)
    finally:
        claims.release(job_pk, token)
    return True


def poll_job(job, user=None, now=None, token=None):
    """Pay for one status call; on completion, pay for the result pages still missing."""
    now = now or clock.now()
    size = settings.POLL_PAGE_SIZE
    # Every page is a status call too: ask for the first page not yet stored in full, so the
    # pages a job has (a resumed job, a page cut short by a fault) are never paid for twice.
    first = job.leads_stored // size + 1
    try:
        page = clado.status(job.clado_id, page=first, page_size=size, user=user, job=job)
        ingest.store_page(job, page)
        if page.status == "completed":
            if job.finished_at is None:  # seen finished: from here on, only missing pages are fetched
                # The moment it was seen (not when this cycle began), so the elapsed time a page
                # shows as the job ends is never less than what it showed while it ran.
                job.finished_at = clock.now()
                ResearchJob.objects.filter(pk=job.pk).update(finished_at=job.finished_at)
            _fetch_remaining_pages(job, page, user, token)
    except clado.BudgetExceeded as error:
        return outcomes.hold(job, Hold.BUDGET, error, now, launching=False)
    except clado.Outage as error:
        return outcomes.hold(job, Hold.OUTAGE, error, now, launching=False)
    except clado.RateLimited as error:
        message = f"The gateway asked us to slow down; next status check in {error.retry_after} s."
        ResearchJob.objects.filter(pk=job.pk).update(
            next_poll_at=now + datetime.timedelta(seconds=error.retry_after), message=message, hold=Hold.NONE
        )
        job.refresh_from_db()
        return job
    except clado.CALL_ERRORS as error:
        if isinstance(error, clado.PaymentRefused):
            AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
            return outcomes.end(job, JobStatus.ERROR, f"Stopped: {outcomes.sentence(error)}")
        return poll_failed(job, now, error)
    return _apply_status(job, page, now)


def _fetch_remaining_pages(job, page, user, token):
    """Pages after `page` of a finished job, in the same cycle; stops at the last or an empty page."""
    while page.has_more_pages(settings.POLL_PAGE_SIZE):
        if token is not None and not claims.renew(job.pk, token, clock.now()):
            raise clado.CladoError("Another poller took over this job while its pages were fetched")
        page = clado.status(
            job.clado_id, page=page.page + 1, page_size=settings.POLL_PAGE_SIZE, user=user, job=job
        )
        ingest.store_page(job, page)


def _apply_status(job, page, now):
    status = known_status(page.status)
    job.chunks_done, job.chunks_total = page.chunks_done, page.chunks_total
    reading = polling.read_progress(job, polling.run_elapsed(job, now))
    fields = {
        "search_eta": reading[0] if reading else job.search_eta,
        "search_fraction": reading[1] if reading else job.search_fraction,
        "status": status,
        "hold": Hold.NONE,
        "message": page.error or page.message,
        "polls": job.polls + 1,
        "run_checks": job.run_checks + 1,
        "failures": 0,
        "checked_at": now,
        "chunks_done": page.chunks_done,
        "chunks_total": page.chunks_total,
        "profiles_scanned": page.profiles_scanned,
        "profiles_matched": page.profiles_matched,
        "results_reported": page.results_count,
    }
    if status in RUNNING_STATUSES:
        for name, value in fields.items():
            setattr(job, name, value)
        delay, aimed = polling.next_poll(job, now)
        fields["next_poll_at"] = now + datetime.timedelta(seconds=delay)
        fields["next_poll_aimed"] = aimed
        fields["finished_after"] = None
    else:
        fields["next_poll_at"] = None
        fields["finished_at"] = job.finished_at or clock.now()
        if not job.next_poll_aimed:
            # Seen by a check that was not aimed at the finish: it happened at some moment since
            # the run was last seen running (or since it started).
            fields["finished_after"] = _last_seen_running(job)
        if status == JobStatus.ERROR:
            fields["message"] = f"Clado reported an error: {page.error or page.message or 'no details given'}"
    ResearchJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    if not job.is_active:
        notify.job_ended(job)
    return job


def _last_seen_running(job):
    checked, started = job.checked_at, job.run_started_at
    if checked is not None and started is not None and checked >= started:
        return checked
    return started


def poll_failed(job, now, error):
    """The gateway answered with an error: retry later with back-off, or end after a bounded number."""
    failures = job.failures + 1
    log.warning("Poll of job %s failed (%s/%s): %s", job.pk, failures, settings.POLL_MAX_FAILURES, error)
    give_up = failures >= settings.POLL_MAX_FAILURES or not getattr(error, "retryable", True)
    if isinstance(error, clado.JobNotFound) and failures < settings.POLL_MAX_FAILURES:
        give_up = False  # a 404 may be a gateway hiccup; it gets the same bounded retries
    if give_up:
        ResearchJob.objects.filter(pk=job.pk).update(failures=failures)
        calls = "1 failed status call" if failures == 1 else f"{failures} failed status calls in a row"
        return outcomes.end(job, JobStatus.ERROR, f"Stopped after {calls}: {outcomes.explain(error)}")
    tries = f"{failures}/{settings.POLL_MAX_FAILURES}"
    ResearchJob.objects.filter(pk=job.pk).update(
        failures=failures,
        hold=Hold.NONE,
        message=f"Status check failed, retrying ({tries}): {outcomes.sentence(error)}",
        next_poll_at=now + datetime.timedelta(seconds=polling.backoff_delay(failures)),
    )
    job.refresh_from_db()
    return job


def known_status(status):
    """Gateway states mapped onto ours; anything unknown counts as still running."""
    if status in JobStatus.values and status not in (JobStatus.NEW, JobStatus.LAUNCHING):
        return status
    return JobStatus.PROCESSING
