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
from django.views.decorators.http import require_GET, require_POST

from . import exports, jobs, leads, ledger
from .forms import MoreResultsForm, NewJobForm
from .models import AuditEvent, JobStatus, ResearchJob


def _render(request, template, context, partial=None):
    """The whole page, or for an HTMX request the named partial of the same template."""
    name = f"{template}#{partial}" if partial and request.htmx else template
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
        jobs_qs = jobs_qs.filter(
            status__in=[s for s in JobStatus.values if s not in ("completed", "error", "cancelled")]
        )
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
    return _render(request, "research/job_detail.html", context)


@login_required
@require_GET
def job_progress(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    # Once the job has stopped, the same response loads the results table in place.
    context = {"job": job, "oob_results": request.htmx and not job.is_active}
    return _render(request, "research/job_detail.html", context, "progress")


@login_required
@require_GET
def job_results(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    return _render(
        request, "research/job_detail.html", {"job": job, **_results_context(request, job)}, "results"
    )


def _results_context(request, job):
    rows = leads.browse(job.leads.all(), request.GET)
    per_page = leads.page_size(request.GET)
    page = Paginator(rows, per_page).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    without_sort = query.copy()
    without_sort.pop("sort", None)
    return {
        "leads_page": page,
        "per_page": per_page,
        "page_sizes": leads.PAGE_SIZES,
        "sort": request.GET.get("sort", "position"),
        "q": request.GET.get("q", ""),
        "querystring": query.urlencode(),
        "querystring_without_sort": without_sort.urlencode(),
        "sort_columns": [
            ("name", "Name"),
            ("title", "Current title"),
            ("company", "Company"),
            ("location", "Location"),
        ],
        "countries": job.leads.exclude(country="")
        .order_by("country")
        .values_list("country", flat=True)
        .distinct(),
    }


@login_required
@require_GET
def job_export(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    rows = leads.browse(job.leads.all(), request.GET)
    columns = request.GET.getlist("columns") or None
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, job=job)
    response = StreamingHttpResponse(
        exports.stream_leads(rows, columns), content_type="text/csv; charset=utf-8"
    )
    filename = f"job-{job.pk}-leads-{timezone.localdate():%Y-%m-%d}.csv"
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
    if not job.is_active or job.clado_job_id is None:
        messages.info(request, "This job has already stopped.")
    else:
        messages.info(request, jobs.cancel(job, request.user))
    return redirect(job)


@login_required
@require_POST
def job_more(request, pk):
    job = get_object_or_404(ResearchJob, pk=pk)
    form = MoreResultsForm(request.POST)
    if job.status != JobStatus.COMPLETED:
        messages.error(request, "More results can be asked for once the job has completed.")
    elif form.is_valid():
        messages.info(request, jobs.more(job, request.user, form.cleaned_data["additional"]))
    else:
        messages.error(request, "Ask for between 1 and 1000 more results.")
    return redirect(job)
