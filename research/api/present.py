"""How the API sees a job: who may see it, its honest progress, its spend, and its JSON.

The two functions other work will replace are here, each behind one name:
`visible_jobs` (who may see or spend on a job) and `progress` (what the poller knows and predicts).
"""

import hashlib

from django.urls import reverse

from .. import access, spend
from ..models import JobWebhook
from ..money import format_usd
from ..progress import of as progress_of


def money(base_units):
    return {"base_units": int(base_units or 0), "usd": format_usd(base_units or 0)}


def figures(charges):
    """Total, settled and unconfirmed money and the number of counted calls of `charges`: one query."""
    found = spend.figures(charges)
    return {
        "total": money(found["total"]),
        "settled": money(found["settled"]),
        "unconfirmed": money(found["unconfirmed"]),
        "calls": found["calls"],
    }


def visible_jobs(user):
    """The jobs `user` may see and act on (their teams', their own; staff: all). Others answer 404."""
    return access.visible_jobs(user)


def job_of(user, job_pk):
    """The job, if `user` may see it; Http404 (a not-found problem) otherwise."""
    return access.job_or_404(user, job_pk)


def progress(job, now=None):
    """The last paid check, the next one, and the poller's forecast (estimates, apart from measures)."""
    shown = progress_of(job, now)
    forecast = shown.forecast
    return {
        "state": shown.state,
        "estimated_percent": None if forecast.progress is None else int(forecast.progress * 100),
        "estimate_rests_on_runs": forecast.runs,
        "chunks_done": job.chunks_done,
        "chunks_total": job.chunks_total,
        "checked_at": job.checked_at,
        "next_check_at": job.next_poll_at if job.is_active else None,
        "expected_finish": forecast.finish_at,
        "status_checks": job.polls,
    }


def version(job):
    """Changes whenever what a program waits for does: status, hold, counts, message, the end."""
    state = (
        job.status,
        job.hold,
        job.limit,
        job.leads_stored,
        job.results_reported,
        job.chunks_done,
        job.finished_at,
        job.message,
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:16]


def job_url(job_pk):
    return reverse("api:job_detail", kwargs={"job_pk": job_pk})


def brief(job):
    """A job in a few members, for problems that point at one."""
    return {"id": job.pk, "url": job_url(job.pk), "status": job.status, "created_at": job.created_at}


def job_out(job):
    hook = JobWebhook.objects.filter(job=job).values_list("url", flat=True).first()
    return {
        "id": job.pk,
        "url": job_url(job.pk),
        "page_url": job.get_absolute_url(),
        "query": job.query,
        "limit": job.limit,
        "criteria": job.criteria,
        "company_urls": job.company_urls,
        "status": job.status,
        "hold": job.hold,
        "active": job.is_active,
        "message": job.message,
        "created_at": job.created_at,
        "launched_at": job.launched_at,
        "finished_at": job.finished_at,
        "progress": progress(job),
        "counts": {
            "leads_stored": job.leads_stored,
            "results_reported": job.results_reported,
            "profiles_scanned": job.profiles_scanned,
            "profiles_matched": job.profiles_matched,
            "chunks_done": job.chunks_done,
            "chunks_total": job.chunks_total,
        },
        "spend": figures(job.charges.all()),
        "max_price": money(job.max_launch_price) if job.max_launch_price is not None else None,
        "webhook_url": hook,
        "version": version(job),
    }
