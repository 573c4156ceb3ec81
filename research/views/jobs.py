"""Pages for the sales team. Thin function views: the work is in jobs.py, leads.py, exports.py.

Pages read the database only; nothing spends money on GET. The paid actions (launch,
refresh now, cancel, more results) are POSTs, each priced on the button that sends it.
Each page works without JavaScript; for HTMX requests a view renders the named partial of
the same template (django-template-partials), with `Vary: HX-Request`.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from . import exports, jobs, leads, ledger
from .forms import MoreResultsForm, NewJobForm
from .models import TERMINAL_STATUSES, AuditEvent, JobStatus, Lead, ResearchJob
from .money import format_usd


def _render(request, template, context, partial=None):
    """The whole page, or for an HTMX request the named partial of the same template.

    htmx asks for the whole page when it restores history (back/forward with no cached copy).
    """
    wants_partial = partial and request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if wants_partial else template
    response = TemplateResponse(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@login_required
@require_GET
def job_list(request):
    jobs_qs = ResearchJob.objects.with_spend().select_related("owner")
    mine = request.GET.get("who") != "team"
    if mine:
        jobs_qs = jobs_qs.filter(owner=request.user)
    status = request.GET.get("status", "")
    if status == "active":
        jobs_qs = jobs_qs.exclude(status__in=TERMINAL_STATUSES)
    elif status in JobStatus.values:
        jobs_qs = jobs_qs.filter(status=status)
    page = Paginator(jobs_qs, 25).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "mine": mine,
        "status": status,
        "statuses": JobStatus.choices,
        "any_active": any(job.is_active for job in page),
    }
    return _render(request, "research/job_list.html", context, "job-table")


@login_required
def job_new(request):
    if request.method == "POST":
        form = NewJobForm(request.POST)
        if form.is_valid() and not ResearchJob.objects.filter(
            idempotency_key=form.cleaned_data["idempotency_key"]
        ):  # a resubmitted form goes to its job whatever the budget says now
            left, _ = ledger.remaining(request.user)
            if form.price_of(form.cleaned_data["limit"]) > left:
                form.add_error(
                    "limit", f"Launching this costs more than your budget has left ({format_usd(left)})."
                )
        if form.is_valid():
            data = form.cleaned_data
            job = jobs.create_job(
                request.user, data["query"], data["limit"], data["company_urls"], data["idempotency_key"]
            )
            if job.owner_id != request.user.pk:
                raise Http404
            job = jobs.launch(job, request.user)
            if job.status == JobStatus.ERROR:
                messages.error(request, job.message)
            else:
                messages.success(request, f"Launched: {form.price_label()} paid.")
            return redirect(job)
    else:
        form = NewJobForm(initial={"idempotency_key": uuid.uuid4(), "limit": 30})
    return TemplateResponse(request, "research/job_new.html", _budget_context(request, form))


@login_required
@require_GET
def job_price(request):
    """The launch price for the number typed so far (an HTMX partial of the new-job page)."""
    form = NewJobForm(initial={"limit": request.GET.get("limit")})
    return TemplateResponse(request, "research/job_new.html#price", _budget_context(request, form))


def _budget_context(request, form):
    try:
        limit = int(request.GET.get("limit") or request.POST.get("limit") or form.initial.get("limit") or 30)
    except ValueError:
        limit = None
    left, scope = ledger.remaining(request.user)
    price = NewJobForm.price_of(limit) if limit and 1 <= limit <= 1000 else None
    return {
        "form": form,
        "price": price,
        "budget_left": left,
        "budget_scope": scope,
        "over_budget": price is not None and price > left,
    }


@login_required
@require_GET
def job_detail(request, pk):
    job = get_object_or_404(ResearchJob.objects.select_related("owner"), pk=pk)
    context = {"job": job, "more_form": MoreResultsForm(), **_results_context(request, job)}
    # Search, filters, sorting and pages ask this same URL, so the address bar holds the view.
    return _render(request, "research/job_detail.html", context, "results-body")


@login_required
@require_GET
def job_progress(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    context = {"job": job}
    if request.htmx and not job.is_active:
        # The job has stopped: the same response puts its results table in place (out of band),
        # with the filters the page has (the progress element sends them along).
        context.update(oob_results=True, **_results_context(request, job))
    return _render(request, "research/job_detail.html", context, "progress")


@login_required
@require_GET
def job_results(request, pk):
    """The results table alone (for embedding); the page itself is `job_detail`."""
    job = get_object_or_404(ResearchJob, pk=pk)
    return TemplateResponse(
        request, "research/job_detail.html#results", {"job": job, **_results_context(request, job)}
    )


def _results_context(request, job):
    return _table_context(request, job.leads.all(), all_leads=False, sample=leads.job_sample(job))


def _table_context(request, rows, all_leads, sample):
    """A page of leads, filtered and sorted as the query string says, and the controls around it."""
    per_page = leads.page_size(request.GET)
    sort = request.GET.get("sort", "position")
    page = Paginator(leads.browse(rows, request.GET), per_page).get_page(request.GET.get("page"))
    if all_leads:
        page.object_list = leads.attach_sources(page.object_list)
    questions = leads.criteria_questions(sample)
    chosen = request.GET.getlist("columns") or exports.default_columns(all_leads)
    return {
        "leads_page": page,
        "per_page": per_page,
        "page_sizes": leads.PAGE_SIZES,
        "sort": sort,
        "q": request.GET.get("q", ""),
        "filtered": leads.is_filtered(request.GET),
        "sort_headers": leads.sort_headers(sort),
        "countries": leads.countries(rows),
        "criteria": [
            (question, request.GET.get(leads.CRITERIA_PREFIX + question, "").upper())
            for question in questions
        ],
        "answers": leads.ANSWERS,
        "criteria_prefix": leads.CRITERIA_PREFIX,
        "export_columns": [
            (key, label, key in chosen) for key, label in exports.column_choices(questions, all_leads)
        ],
        "filter_params": [
            (key, value)
            for key in request.GET
            if key in ("q", "country", "decision_maker", "sort") or key.startswith(leads.CRITERIA_PREFIX)
            for value in request.GET.getlist(key)
        ],
    }


@login_required
@require_GET
def job_export(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    rows = leads.browse(job.leads.all(), request.GET)
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, job=job)
    name = f"job-{job.pk}-{slugify(job.query)[:40].strip('-') or 'leads'}"
    return _csv_response(request, rows, name)


@login_required
@require_GET
def lead_list(request):
    """Every lead the team has found, one row per person (by LinkedIn URL), with the jobs that found them."""
    rows = leads.deduplicated(Lead.objects.all())
    return _render(
        request,
        "research/lead_list.html",
        _table_context(request, rows, all_leads=True, sample=leads.team_sample()),
        "results-body",
    )


@login_required
@require_GET
def lead_export(request):
    rows = leads.browse(leads.deduplicated(Lead.objects.all()), request.GET)
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, detail="all leads")
    return _csv_response(request, rows, "all-leads", default_columns=exports.default_columns(all_leads=True))


def _csv_response(request, rows, name, default_columns=None):
    columns = request.GET.getlist("columns") or default_columns
    response = StreamingHttpResponse(
        exports.stream_leads(rows, columns), content_type="text/csv; charset=utf-8"
    )
    filtered = "-filtered" if leads.is_filtered(request.GET) else ""
    filename = f"{name}{filtered}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def job_refresh(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    if not job.is_active or job.clado_job_id is None:
        messages.info(request, "This job is not running: there is nothing to refresh.")
    elif not jobs.refresh(job, request.user):
        messages.info(request, "A status check is already under way; nothing extra was paid.")
    return redirect(job)


@login_required
@require_POST
def job_cancel(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    messages.info(request, jobs.cancel(job, request.user))  # it says when nothing was done
    return redirect(job)


@login_required
@require_POST
def job_more(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    form = MoreResultsForm(request.POST)
    if form.is_valid():  # jobs.more checks the job's state itself, on a fresh row
        messages.info(request, jobs.more(job, request.user, form.cleaned_data["additional"]))
    else:
        messages.error(request, "Ask for between 1 and 1000 more results.")
    return redirect(job)
