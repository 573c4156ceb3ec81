"""The job endpoints: quote, launch, one job (with long-poll), cancel, more results, check now.

Thin, like the pages: the paid actions go through `research.jobs`, which claims the job before
paying, so a program and a person pressing the same button at once pay once. Each call acts as
the token's person (`request.user`): their jobs, their budgets, their audit trail.
"""

import time
import uuid

from django.conf import settings
from django.http import HttpResponse
from ninja import Header, Query, Router, Status

from .. import budgets, jobs, pricing, quotes, searches
from ..models import RUNNING_STATUSES, JobStatus, JobWebhook, ResearchJob
from ..money import format_usd
from . import present
from .errors import Problem
from .schemas import ActionOut, JobOut, LaunchIn, MoreIn, ProblemOut, QuoteIn, QuoteOut

router = Router(tags=["jobs"])

# Idempotency keys are any string a program picks; a job's key is a UUID. The same person's same
# key always maps to the same UUID, and two people's keys never meet.
IDEMPOTENCY_NAMESPACE = uuid.UUID("3f7c1a52-8d4e-4b43-9a5e-0c2d6b1e7f90")
PROBLEMS = {code: ProblemOut for code in (401, 403, 404, 409, 422, 429)}

# The long-poll rests between looks at the job row; tests replace it.
_pause = time.sleep
LOOK_EVERY = 1.0  # seconds


def idempotency_uuid(user, key):
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise Problem("validation", "Idempotency-Key must be 1 to 255 printable characters.")
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user.pk}:{key}")


def _over_budget(quote):
    return (
        f"Launching this needs {format_usd(quote.needed)} (the launch and about {quote.checks} status "
        f"checks), more than {budgets.CAP_NAMES[quote.scope]} leaves ({format_usd(quote.left)}). "
        f"{budgets.RAISED_BY[quote.scope]} Nothing was paid."
    )


@router.post("/quote", response={200: QuoteOut, **PROBLEMS}, summary="The price of a launch, before paying")
def quote(request, body: QuoteIn):
    found = quotes.quote(request.user, body.limit)
    return {
        "limit": found.limit,
        "launch": present.money(found.price),
        "launch_ceiling": present.money(pricing.price_ceiling(pricing.LAUNCH, {"limit": found.limit})),
        "status_checks": found.checks,
        "status_checks_price": present.money(found.checks_price),
        "needed": present.money(found.needed),
        "budget_left": present.money(found.left),
        "cap": found.scope,
        "cap_name": budgets.CAP_NAMES[found.scope],
        "fits": found.fits,
    }


@router.post(
    "/jobs",
    response={201: JobOut, 200: JobOut, **PROBLEMS},
    summary="Launch a search (paid), once per Idempotency-Key",
)
def launch(
    request,
    body: LaunchIn,
    response: HttpResponse,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """201 with the new job; 200 with the same job when the same Idempotency-Key comes again
    (header `Idempotent-Replayed: true`, nothing paid). Refused with nothing paid: above
    `max_price` (price-above-max), above a budget cap (budget), or the same search recently
    (same-search-recently, unless `again`)."""
    user = request.user
    key = idempotency_uuid(user, idempotency_key)
    digest = searches.fingerprint(body.query, body.limit, body.criteria, body.company_urls)
    if key is not None and (sent := ResearchJob.objects.filter(idempotency_key=key).first()):
        if sent.owner_id != user.pk or sent.fingerprint != digest:
            raise Problem("idempotency-key-reused", "This Idempotency-Key was sent with another search.")
        response["Idempotent-Replayed"] = "true"
        return Status(200, present.job_out(sent))
    found = quotes.quote(user, body.limit)
    if body.max_price is not None and found.price > body.max_price:
        raise Problem(
            "price-above-max",
            f"The launch costs {format_usd(found.price)}, above your max_price of "
            f"{format_usd(body.max_price)}. Nothing was paid.",
            price=present.money(found.price),
            max_price=present.money(body.max_price),
        )
    if not found.fits:
        raise Problem("budget", _over_budget(found), cap=found.scope, left=present.money(found.left))
    try:
        job = jobs.create_job(
            user,
            body.query,
            body.limit,
            body.company_urls,
            key,
            body.criteria,
            again=body.again,
            max_price=body.max_price,
        )
    except jobs.SameSearchRecently as same:
        raise Problem(
            "same-search-recently",
            f"{same} Nothing was paid. Send again: true to launch (and pay for) it anyway.",
            job=present.brief(same.job),
        ) from None
    if body.webhook_url:  # before the launch: a launch that fails at once still sends its event
        JobWebhook.objects.get_or_create(job=job, defaults={"token": request.auth, "url": body.webhook_url})
    job = jobs.launch(job, user)
    response["Location"] = present.job_url(job.pk)
    return Status(201, present.job_out(job))


@router.get("/jobs/{job_pk}", response={200: JobOut, **PROBLEMS}, summary="A job: state, progress, spend")
def job_detail(
    request,
    job_pk: int,
    wait: int = Query(0, ge=0, description="Seconds to wait for a change (long-poll), at most 60."),
    version: str | None = Query(None, max_length=64, description="The version you last saw."),
):
    """Reads the database only: never a paid call. With `wait`, answers as soon as the job's
    `version` differs from `version` (or, without it, from the state when the request came), or
    when `wait` seconds have passed."""
    job = present.job_of(request.user, job_pk)
    if wait:
        job = _wait_for_change(job, min(wait, settings.API_LONG_POLL_MAX), version)
    return present.job_out(job)


def _wait_for_change(job, seconds, seen=None):
    seen = seen or present.version(job)
    deadline = time.monotonic() + seconds
    while present.version(job) == seen and (left := deadline - time.monotonic()) > 0:
        _pause(min(LOOK_EVERY, left))
        job.refresh_from_db()
    return job


def _done(message, job):
    return {"message": message, "job": present.job_out(job)}


def _not_done(message, job):
    return Problem("conflict", message, job=present.brief(job))


@router.post("/jobs/{job_pk}/cancel", response={200: ActionOut, **PROBLEMS}, summary="Cancel a job (paid)")
def cancel(request, job_pk: int):
    """Pays for a cancel call on a running job (free before launch). 409 when it was not cancelled."""
    job = present.job_of(request.user, job_pk)
    message = jobs.cancel(job, request.user)
    job.refresh_from_db()
    if job.status != JobStatus.CANCELLED:
        raise _not_done(message, job)
    return _done(message, job)


@router.post("/jobs/{job_pk}/check", response={200: ActionOut, **PROBLEMS}, summary="Check now (paid)")
def check(request, job_pk: int):
    """One paid status call outside the schedule. 409 when none was made (not running, or one under way)."""
    job = present.job_of(request.user, job_pk)
    checked = jobs.refresh(job, request.user)
    message = jobs.describe_refresh(job, checked)
    if not checked:
        raise _not_done(message, job)
    return _done(message, job)


@router.post("/jobs/{job_pk}/more", response={200: ActionOut, **PROBLEMS}, summary="More results (paid)")
def more(request, job_pk: int, body: MoreIn):
    """Pays for `additional` more results on a completed job. When the last run found fewer people
    than asked, answers needs-confirmation unless `confirm_exhausted` is true."""
    job = present.job_of(request.user, job_pk)
    price = pricing.results_price(body.additional)
    left, scope = budgets.remaining(request.user, job)
    if job.status == JobStatus.COMPLETED and price > left:
        raise Problem(
            "budget",
            f"{body.additional} more results cost {format_usd(price)}, more than {budgets.CAP_NAMES[scope]} "
            f"leaves ({format_usd(left)}). {budgets.RAISED_BY[scope]} Nothing was paid.",
            cap=scope,
            left=present.money(left),
        )
    try:
        message = jobs.more(job, request.user, body.additional, confirmed=body.confirm_exhausted)
    except jobs.NeedsConfirmation as question:
        raise Problem(
            "needs-confirmation",
            f"{question} Nothing was paid. Send confirm_exhausted: true to ask anyway.",
            price=present.money(price),
        ) from None
    job.refresh_from_db()
    if job.status not in RUNNING_STATUSES:
        raise _not_done(message, job)
    return _done(message, job)
