"""The sales workspace's job pages: the list, a new search, one job and the paid actions on it.

The paid actions (launch, check now, cancel, more results, fetch again) are POSTs, each priced
on the button that sends it; `research.jobs` claims the job before paying, so racing presses pay once.
Who sees a job and who may spend on it is `research.access`'s rule: anyone else gets a 404.
"""

import datetime
import functools
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_GET, require_POST

from .. import access, budgets, jobs, notify, pricing, progress, quotes, saved_searches
from ..forms import MoreResultsForm, NewJobForm
from ..models import ACTIVE_STATUSES, JobStatus, ResearchJob
from ..money import format_usd, from_dollars
from . import page_cache, render
from .leads import checks_lead_queries, results_context


@login_required
@require_GET
@page_cache.cached
def job_list(request):
    # "The whole team's": the jobs of the person's teams (and their own); staff see everyone's.
    jobs_qs = ResearchJob.objects.select_related("owner", "team").order_by("-created_at", "-id")
    jobs_qs = access.visible_jobs(request.user, jobs_qs)
    mine = request.GET.get("who") != "team"
    if mine:
        jobs_qs = jobs_qs.filter(owner=request.user)
    status = request.GET.get("status", "")
    if status == "active":
        jobs_qs = jobs_qs.filter(status__in=ACTIVE_STATUSES)
    elif status in JobStatus.values:
        jobs_qs = jobs_qs.filter(status=status)
    page = Paginator(jobs_qs, 25).get_page(request.GET.get("page"))
    page.object_list = ResearchJob.objects.with_spend_of(page.object_list)  # the page's jobs only
    context = {
        "page": page,
        "rows": progress.of_jobs(page),
        "mine": mine,
        "status": status,
        "statuses": JobStatus.choices,
        "any_active": any(job.is_active for job in page),
        "email_choice": functools.partial(notify.email_choice, request.user),
    }
    response = render(request, "research/job_list.html", context, "job-table")
    # Running rows tell the time to the second, and so does "started 40 seconds ago": such a page
    # is not kept. "Started 5 minutes ago" may lag by a copy's life (a minute) at most.
    in_minutes = timezone.now() - datetime.timedelta(minutes=2)  # (naturaltime reads this clock)
    return page_cache.keep(
        response, not context["any_active"] and all(job.created_at <= in_minutes for job in page)
    )


@login_required
def job_new(request):
    if request.method == "POST":
        form = NewJobForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            sent = ResearchJob.objects.filter(idempotency_key=data["idempotency_key"]).first()
            if sent is not None:  # a resubmitted form goes to its job, whatever the budget says now
                if sent.owner_id != request.user.pk:
                    raise Http404
                messages.info(request, "This form was already sent: here is its job. Nothing more was paid.")
                return redirect(sent)
            quote = quotes.quote(request.user, data["limit"], team=form.team)
            if not quote.fits:
                form.add_error("limit", _over_budget(quote))
            else:
                try:
                    job = jobs.create_job(
                        request.user,
                        data["query"],
                        data["limit"],
                        data["company_urls"],
                        data["idempotency_key"],
                        data["criteria"],
                        again=data["again"],
                        team=form.team,
                    )
                except jobs.SameSearchRecently as same:
                    context = {"form": form, "earlier": same.job, "quote": quote}
                    return TemplateResponse(request, "research/job_again.html", context)
                except access.TooManyLaunches as limit:
                    form.add_error(None, str(limit))
                    return TemplateResponse(
                        request, "research/job_new.html", _quote_context(request, form), status=429
                    )
                job = jobs.launch(job, request.user)
                level = (
                    messages.ERROR
                    if job.status == JobStatus.ERROR
                    else messages.WARNING
                    if job.hold
                    else messages.SUCCESS
                )
                messages.add_message(request, level, quotes.launch_summary(job))
                if data["schedule"]:
                    saved = _save_search(request.user, data, job)
                    messages.success(
                        request, f"Saved as “{saved.name}”: it runs {saved.get_cadence_display().lower()}."
                    )
                return redirect(job)
    else:
        form = NewJobForm(initial=_initial(request), user=request.user)
    return TemplateResponse(request, "research/job_new.html", _quote_context(request, form))


def _initial(request):
    """A fresh form, or with ?from=<job> ("run again") that job's search filled in."""
    initial = {"idempotency_key": uuid.uuid4(), "limit": pricing.DEFAULT_RESULTS}
    source = request.GET.get("from", "")
    visible = access.visible_jobs(request.user)
    if (
        source.isascii()
        and source.isdigit()
        and len(source) <= 18
        and (job := visible.filter(pk=source).first())
    ):
        initial.update(
            query=job.query,
            limit=job.limit,
            criteria="\n".join(job.criteria),
            company_urls="\n".join(job.company_urls),
        )
    return initial


def _save_search(user, data, first_run):
    return saved_searches.create(
        user,
        name=data["search_name"] or data["query"][:80],
        query=data["query"],
        limit=data["limit"],
        criteria=data["criteria"],
        company_urls=data["company_urls"],
        cadence=data["schedule"],
        # Left empty, the cap is what one run costs now (rounded up to the cent).
        max_spend=data["max_spend"]
        or from_dollars(NewJobForm.dollars(quotes.quote(user, data["limit"]).needed)),
        first_run=first_run,
    )


def _over_budget(quote):
    return (
        f"Launching this needs {format_usd(quote.needed)} (the launch and about {quote.checks} status "
        f"checks), more than {budgets.CAP_NAMES[quote.scope]} leaves ({format_usd(quote.left)})."
    )


@login_required
@require_GET
def job_price(request):
    """The launch price for the number typed so far (an HTMX partial of the new-job page)."""
    form = NewJobForm(initial={"limit": request.GET.get("limit")}, user=request.user)
    return TemplateResponse(request, "research/job_new.html#price", _quote_context(request, form))


def _quote_context(request, form):
    raw = request.GET.get("limit") or request.POST.get("limit") or form.initial.get("limit")
    try:
        limit = int(raw or pricing.DEFAULT_RESULTS)
    except (TypeError, ValueError):
        limit = None
    valid = limit is not None and pricing.MIN_RESULTS <= limit <= pricing.MAX_RESULTS
    team = form.chosen_team(request.POST.get("team") or request.GET.get("team"))
    quote = quotes.quote(request.user, limit if valid else pricing.DEFAULT_RESULTS, team=team)
    return {
        "form": form,
        "quote": quote if valid else None,
        "budget": quote,
        "cap_name": budgets.CAP_NAMES[quote.scope],
    }


@login_required
@require_GET
@checks_lead_queries
@page_cache.cached
def job_detail(request, job_pk):
    job = access.job_or_404(
        request.user, job_pk, ResearchJob.objects.select_related("owner", "team", "saved_search")
    )
    context = {
        "job": job,
        "progress": SimpleLazyObject(lambda: progress.of(job)),  # not read by the table's partial
        "email_choice": functools.partial(notify.email_choice, request.user),
        **results_context(request, job),
        **_more_context(job),
    }
    # Search, filters, sorting and pages ask this same URL, so the address bar holds the view.
    response = render(request, "research/job_detail.html", context, "results-body")
    return page_cache.keep(response, not job.is_active)  # a running job's page tells the time


@login_required
@require_GET
@checks_lead_queries
def job_progress(request, job_pk):
    job = access.job_or_404(request.user, job_pk)
    context = {"job": job, "progress": progress.of(job), **_more_context(job)}
    swap = _results_swap(request, job) if request.htmx else None
    if swap:
        # The same response puts the results in place (out of band) with the filters, sort and
        # page the reader has: the progress element sends them along, with how many profiles
        # were stored when their table was drawn.
        context.update(oob_results=swap, **results_context(request, job))
    return render(request, "research/job_detail.html", context, "progress")


def _results_swap(request, job):
    """What of the results a progress response brings: nothing, the rows ("body"), or all ("section").

    The rows, when profiles were stored since the reader's table was drawn; everything (the
    filters too, whose choices depend on the profiles) when the job stopped or the table was empty.
    """
    shown = request.GET.get("shown")
    if not job.is_active:
        return "section"
    if shown is None or shown == str(job.leads_stored):
        return None
    return "section" if shown == "0" else "body"


def _more_context(job, additional=pricing.DEFAULT_RESULTS):
    return {"more_price": pricing.results_price(additional), "more_default": additional}


@login_required
@require_POST
def job_refresh(request, job_pk):
    job = access.job_to_spend_on_or_404(request.user, job_pk, "check now")
    messages.info(request, jobs.describe_refresh(job, jobs.refresh(job, request.user)))
    return redirect(job)


@login_required
@require_POST
def job_cancel(request, job_pk):
    job = access.job_to_spend_on_or_404(request.user, job_pk, "cancel")
    messages.info(request, jobs.cancel(job, request.user))  # it says when nothing was done
    return redirect(job)


@login_required
@require_POST
def job_more(request, job_pk):
    job = access.job_to_spend_on_or_404(request.user, job_pk, "ask for more results on")
    form = MoreResultsForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, f"Ask for between {pricing.MIN_RESULTS} and {pricing.MAX_RESULTS} more results."
        )
        return redirect(job)
    additional = form.cleaned_data["additional"]
    try:
        messages.info(
            request, jobs.more(job, request.user, additional, confirmed=form.cleaned_data["confirmed"])
        )
    except jobs.NeedsConfirmation as question:
        context = {"job": job, "question": str(question), "additional": additional}
        context["price"] = pricing.results_price(additional)
        return TemplateResponse(request, "research/job_more_confirm.html", context)
    return redirect(job)


@login_required
@require_POST
def job_resume(request, job_pk):
    job = access.job_to_spend_on_or_404(request.user, job_pk, "fetch again")
    messages.info(request, jobs.resume(job, request.user))
    return redirect(job)
