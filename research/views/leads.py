"""The sales workspace's lead pages: a job's results table, all leads, and their CSV downloads.

Reading only: search, filters and sorting come from the query string (`research.leads`), so a
view can be shared by its address; the CSV is streamed (`research.exports`). Everyone sees the
leads of the jobs `research.access` shows them, no more; a query string beyond the limits of
`research.leads.check` gets a 400 saying why.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from .. import access, exports, leads
from ..models import AuditEvent
from . import bad_request, render


def checks_lead_queries(view):
    """A search, filter or column choice beyond the limits is a clear 400, never a slow query."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            leads.check(request.GET)
        except leads.BadQuery as error:
            return bad_request(request, str(error), back=request.path)
        return view(request, *args, **kwargs)

    return wrapped


def results_context(request, job):
    """The results table of one job, as its page and its progress partial show it."""
    return table_context(request, job.leads.all(), all_leads=False, sample=leads.job_sample(job))


def table_context(request, rows, all_leads, sample):
    """A page of leads, filtered and sorted as the query string says, and the controls around it."""
    per_page = leads.page_size(request.GET)
    sort = request.GET.get("sort", "position")
    page = Paginator(leads.browse(rows, request.GET), per_page).get_page(request.GET.get("page"))
    if all_leads:
        page.object_list = leads.attach_sources(page.object_list, access.visible_leads(request.user))
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
@checks_lead_queries
def job_export(request, job_pk):
    job = access.job_or_404(request.user, job_pk)
    rows = leads.browse(job.leads.all(), request.GET)
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, job=job)
    name = f"job-{job.pk}-{slugify(job.query)[:40].strip('-') or 'leads'}"
    return _csv_response(request, rows, name)


@login_required
@require_GET
@checks_lead_queries
def lead_list(request):
    """Every lead the reader's teams have found, one row per person (by LinkedIn URL), with the jobs
    that found them."""
    rows = leads.deduplicated(access.visible_leads(request.user))
    sample = leads.team_sample(access.visible_jobs(request.user))
    return render(
        request,
        "research/lead_list.html",
        table_context(request, rows, all_leads=True, sample=sample),
        "results-body",
    )


@login_required
@require_GET
@checks_lead_queries
def lead_export(request):
    rows = leads.browse(leads.deduplicated(access.visible_leads(request.user)), request.GET)
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, detail="all leads")
    return _csv_response(request, rows, "all-leads", default_columns=exports.default_columns(all_leads=True))


def _csv_response(request, rows, name, default_columns=None):
    columns = request.GET.getlist("columns") or default_columns
    response = StreamingHttpResponse(
        exports.stream_leads(rows, columns, sources_within=access.visible_leads(request.user)),
        content_type="text/csv; charset=utf-8",
    )
    filtered = "-filtered" if leads.is_filtered(request.GET) else ""
    filename = f"{name}{filtered}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
