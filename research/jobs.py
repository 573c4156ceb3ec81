"""A research job's life as people drive it: launch, check now, cancel, more results, fetch again.

Every function here that spends money says so in its docstring, and takes the job's claim
(`research.claims`) with one conditional UPDATE before it pays: two presses that race pay once,
and the one that loses is told what is already under way. Nothing here holds a database lock
across an HTTP call. The poll cycle (`poll_due_jobs`) runs the same way for the worker.
"""

import logging
import time
import uuid

from django.db.models import Q

from . import access, clado, claims, clock, notify, outcomes, poller, polling, pricing, quotes, searches
from .models import RUNNING_STATUSES, AuditEvent, Hold, JobStatus, ResearchJob
from .money import format_usd
from .outcomes import NOTHING_PAID

log = logging.getLogger(__name__)


class NeedsConfirmation(Exception):
    """The action may well be money for nothing: the person must confirm it explicitly."""


class SameSearchRecently(NeedsConfirmation):
    """The person ran this very search recently (`.job`): paying again needs their second yes."""

    def __init__(self, job):
        self.job = job
        super().__init__(f"You ran this search recently: job #{job.pk}.")


# --- Launch -------------------------------------------------------------------------------


def create_job(
    owner,
    query,
    limit,
    company_urls=(),
    idempotency_key=None,
    criteria=(),
    *,
    again=False,
    team=None,
    saved_search=None,
    max_price=None,
):
    """The job row for a launch; the same idempotency key always gives the same job.

    It belongs to `team` (one of the owner's), by default the owner's only team, if any.
    `max_price`: the most the owner accepts paying for the launch call (base units), kept on the
    job so a held launch tried again later is bound by it too.
    A search identical to one the owner launched in the last day (or still running) raises
    SameSearchRecently unless `again` is given: a fresh form must not pay for it twice unawares.
    The check runs after the row is written, against earlier rows only, so of two identical
    searches sent at the same instant exactly one survives. `saved_search` makes the job a run
    of that saved search. Past the owner's LAUNCH_RATE_LIMIT it raises access.TooManyLaunches.
    """
    if idempotency_key is not None:
        existing = ResearchJob.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:  # a resubmitted form: its job, whatever the guard or the rate says
            return existing
    if team is None:
        team = access.default_team(owner)
    elif not owner.groups.filter(pk=team.pk).exists():
        raise ValueError(f"{owner} is not in the team {team}.")
    access.check_launch_rate(owner)
    digest = searches.fingerprint(query, limit, criteria, company_urls)
    job, created = ResearchJob.objects.get_or_create(
        idempotency_key=idempotency_key or uuid.uuid4(),
        defaults={
            "owner": owner,
            "query": query,
            "limit": limit,
            "company_urls": list(company_urls),
            "criteria": list(criteria),
            "fingerprint": digest,
            "team": team,
            "saved_search": saved_search,
            "max_launch_price": max_price,
        },
    )
    if created and not again and (earlier := searches.earlier_run(owner, digest, before=job)) is not None:
        job.delete()  # never launched: nothing refers to it yet
        raise SameSearchRecently(earlier)
    return job


def launch(job, user=None, *, now=None, due_only=False):
    """Pay for the deep-research call that starts `job`. Runs at most once per job.

    Refused by a budget cap, or with our side down, it pays nothing and waits: the job stays NEW,
    held, with the reason and a `next_poll_at`, and the poll cycle tries again (`due_only`).
    """
    user = user or job.owner
    now = now or clock.now()
    # The launch holds the job's claim: if this process dies mid-call, the lease runs out and the
    # poll cycle ends the job (`end_interrupted_launches`) instead of leaving it launching.
    token = claims.take(
        job.pk, "launch", now, statuses=[JobStatus.NEW], due_only=due_only, status=JobStatus.LAUNCHING
    )
    if token is None:  # a double click, a second poller
        job.refresh_from_db()
        return job
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.LAUNCH, job=job, detail=job.query[:500])
    try:
        started = clado.start(
            job.query,
            job.limit,
            company_urls=job.company_urls,
            criteria=job.criteria,
            user=user,
            job=job,
            headroom=quotes.status_check_reserve(job.limit),
            max_amount=job.max_launch_price,
        )
    except (clado.BudgetExceeded, clado.Outage) as error:
        if isinstance(error, clado.BudgetExceeded):
            AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
        claims.release(job.pk, token, status=JobStatus.NEW)
        kind = Hold.BUDGET if isinstance(error, clado.BudgetExceeded) else Hold.OUTAGE
        return outcomes.hold(job, kind, error, now, launching=True)
    except clado.PaymentRefused as error:
        AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFUSED, job=job, detail=str(error))
        return outcomes.end(job, JobStatus.ERROR, f"Not launched: {outcomes.sentence(error)}")
    except clado.PaymentOutcomeUnknown:
        return outcomes.end(
            job,
            JobStatus.ERROR,
            "The launch was paid but no answer came back, so the job id is unknown. "
            "The charge is being reconciled against the chain.",
        )
    except clado.CladoError as error:
        return outcomes.end(job, JobStatus.ERROR, f"Not launched: {outcomes.explain(error)}")
    now = clock.now()
    first, aimed = polling.first_poll()
    claims.release(
        job.pk,
        token,
        clado_id=started.clado_id,
        status=poller.known_status(started.status),
        hold=Hold.NONE,
        message=started.message,
        launched_at=now,
        run_started_at=now,
        run_checks=0,
        search_eta=None,
        search_fraction=None,
        finished_after=None,
        notified_as="",  # a new run: its ending is told again
        next_poll_at=now + first,
        next_poll_aimed=aimed,
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
    ids = list(stuck.values_list("pk", flat=True))
    if not ids:
        return 0
    ended = stuck.filter(pk__in=ids).update(
        status=JobStatus.ERROR, message=INTERRUPTED_LAUNCH, lease_until=None, lease_token="", finished_at=now
    )
    for job in ResearchJob.objects.filter(pk__in=ids, status=JobStatus.ERROR).select_related("owner"):
        notify.job_ended(job)
    return ended


# --- The poll cycle -----------------------------------------------------------------------


def due_job_ids(now, limit=50):
    """Jobs whose next status call (or held launch) is due and that no one holds."""
    waiting = Q(status=JobStatus.NEW, clado_id__isnull=True)
    return list(
        ResearchJob.objects.filter(Q(status__in=RUNNING_STATUSES) | waiting, next_poll_at__lte=now)
        .filter(claims.free(now))
        .order_by("next_poll_at")
        .values_list("pk", flat=True)[:limit]
    )


def poll_due_jobs(now=None, deadline=None, stop=None):
    """One pass: every due job that no one else holds gets one paid status call.

    Held launches are tried again instead. `deadline` (time.monotonic()) stops the pass from
    starting more work, so a scheduled task ends inside its timeout; so does `stop()` turning
    true (the worker is shutting down).
    """
    now = now or clock.now()
    end_interrupted_launches(now)
    polled = 0
    for job_pk in due_job_ids(now):
        if (deadline is not None and time.monotonic() > deadline) or (stop is not None and stop()):
            break
        job = ResearchJob.objects.get(pk=job_pk)
        try:
            if job.status == JobStatus.NEW:
                launch(job, now=now, due_only=True)
            elif poller.poll_claimed(job_pk, now=now):
                polled += 1
        except Exception as error:
            # One job's surprise must not stop the cycle for the others (nor come first again
            # every cycle): it counts as a failed poll, so it ends in error after a few.
            log.exception("Polling job %s failed unexpectedly", job_pk)
            poller.poll_failed(ResearchJob.objects.get(pk=job_pk), now, error)
    return polled


def resume_held(kind=Hold.BUDGET):
    """Held jobs try again at once (a cap was raised, a dependency is back). Returns how many."""
    return (
        ResearchJob.objects.filter(hold=kind)
        .exclude(status__in=(JobStatus.COMPLETED,))
        .update(next_poll_at=clock.now())
    )


# --- What people press --------------------------------------------------------------------


def refresh(job, user):
    """ "Check now": one paid status call outside the schedule. False if none was made."""
    job.refresh_from_db()
    if not job.is_running or not job.clado_id:
        return False
    if not poller.poll_claimed(job.pk, action="refresh", user=user, due_only=False):
        return False
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.REFRESH, job=job)
    return True


def describe_refresh(job, refreshed):
    """What "check now" did, for the person who pressed it."""
    job.refresh_from_db()
    if refreshed:
        shown = job.get_hold_display() if job.hold else job.get_status_display()
        return f"Checked: {shown.lower()}, {job.leads_stored} profiles stored."
    if not job.is_running or not job.clado_id:
        return f"This job is not running: there is nothing to check. {NOTHING_PAID}"
    return f"Not checked: {claims.under_way(job)}. {NOTHING_PAID}"


def cancel(job, user):
    """Pay for a cancel call (a running job; free before launch). Returns a message."""
    job.refresh_from_db()
    now = clock.now()
    if job.status == JobStatus.NEW:
        # Not launched (e.g. waiting for budget): nothing to pay the gateway for.
        if (
            ResearchJob.objects.filter(pk=job.pk, status=JobStatus.NEW)
            .filter(claims.free(now))
            .update(
                status=JobStatus.CANCELLED,
                hold=Hold.NONE,
                next_poll_at=None,
                finished_at=now,
                message="Cancelled.",
            )
        ):
            AuditEvent.objects.create(user=user, action=AuditEvent.Action.CANCEL, job=job)
            job.refresh_from_db()
            notify.job_ended(job)
            return f"Cancelled before launch. {NOTHING_PAID}"
        job.refresh_from_db()
    if not job.is_running or not job.clado_id:
        return f"This job has already ended ({job.get_status_display().lower()}). {NOTHING_PAID}"
    token = claims.take(job.pk, "cancel", now, statuses=RUNNING_STATUSES)
    if token is None:
        return f"Not cancelled: {claims.under_way(job)}. Try again in a moment. {NOTHING_PAID}"
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.CANCEL, job=job)
    try:
        message = clado.cancel(job.clado_id, user=user, job=job)
    except clado.Conflict as error:
        # It finished (or stopped) at Clado before we asked: fetch its results at once.
        claims.release(job.pk, token, next_poll_at=clock.now())
        return f"Not cancelled: {outcomes.explain(error)} Its results are being fetched."
    except clado.CALL_ERRORS as error:
        claims.release(job.pk, token)
        return f"Cancel failed: {outcomes.explain(error)}"
    outcomes.end(job, JobStatus.CANCELLED, message)
    return message


def more(job, user, additional, *, confirmed=False):
    """Pay for `additional` more results on a completed job; polling resumes. Returns a message.

    When the last run found fewer people than asked, the pool is probably exhausted: that
    raises NeedsConfirmation unless `confirmed`.
    """
    job.refresh_from_db()
    if job.status != JobStatus.COMPLETED:
        return f"More results can be asked for once the job has completed. {NOTHING_PAID}"
    if job.found_fewer_than_asked and not confirmed:
        found = job.results_reported if job.results_reported is not None else job.leads_stored
        raise NeedsConfirmation(
            f"The last run found {found} of the {job.limit} asked for, so this search has probably "
            f"found everyone it can. More results would cost {format_usd(pricing.results_price(additional))} "
            "and may bring none."
        )
    now = clock.now()
    token = claims.take(job.pk, "more", now, statuses=[JobStatus.COMPLETED])
    if token is None:
        return f"No more results asked for: {claims.under_way(job)}. {NOTHING_PAID}"
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.MORE, job=job, detail=str(additional))
    try:
        status, message = clado.more(job.clado_id, additional, user=user, job=job)
    except clado.CALL_ERRORS as error:
        claims.release(job.pk, token)
        return f"No more results: {outcomes.explain(error)}"
    now = clock.now()
    status = poller.known_status(status)
    first, aimed = polling.first_poll()
    claims.release(
        job.pk,
        token,
        status=status if status in RUNNING_STATUSES else JobStatus.PROCESSING,
        limit=job.limit + additional,
        message=message,
        finished_at=None,
        failures=0,
        run_started_at=now,  # a new run: predictions start from here
        run_checks=0,
        search_eta=None,
        search_fraction=None,
        finished_after=None,
        notified_as="",  # a new run: its ending is told again
        next_poll_at=now + first,
        next_poll_aimed=aimed,
    )
    return message or f"Looking for {additional} more results."


def resume(job, user):
    """Fetch the results of a job that ended in error again, paying only for the pages it lacks."""
    job.refresh_from_db()
    if job.status != JobStatus.ERROR or not job.clado_id:
        return f"Only a launched job that ended in error can fetch its results again. {NOTHING_PAID}"
    now = clock.now()
    token = claims.take(
        job.pk,
        "resume",
        now,
        statuses=[JobStatus.ERROR],
        status=JobStatus.PROCESSING,
        finished_at=None,
        failures=0,
        hold=Hold.NONE,
        next_poll_at=now,  # if this process dies, the poller picks it up once the lease runs out
    )
    if token is None:
        return f"Not fetched: {claims.under_way(job)}. {NOTHING_PAID}"
    AuditEvent.objects.create(user=user, action=AuditEvent.Action.RESUME, job=job)
    try:
        poller.poll_job(ResearchJob.objects.get(pk=job.pk), user=user, now=now, token=token)
    finally:
        claims.release(job.pk, token)
    job.refresh_from_db()
    return f"Fetched again: {job.get_status_display().lower()}, {job.leads_stored} profiles stored."
