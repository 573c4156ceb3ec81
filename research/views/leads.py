"""The sales workspace's lead pages: a job's results table, all leads, one lead, and their CSV downloads.

Reading only: search, filters and sorting come from the query string (`research.leads`), so a
view can be shared by its address; the CSV is streamed (`research.exports`). The columns the
table shows are the person's own (`research.columns`), saved by the chooser (`columns_save`),
and the CSV takes the same ones unless a preset or explicit columns are asked for. Everyone sees
the leads of the jobs `research.access` shows them, no more; a query string beyond the limits of
`research.leads.check` gets a 400 saying why.
"""

import functools
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from .. import access, columns, exports, facets, leads, paging, saved_searches, shortlists
from ..models import AuditEvent, Lead, Preferences, ShortlistStatus
from . import bad_request, page_cache, render


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


def job_rows(job, params):
    """A job's leads, or with ?new=1 on a saved search's run, only the people new since its earlier runs."""
    if params.get("new") == "1" and job.saved_search_id:
        return saved_searches.new_people(job)
    return job.leads.all()


def job_questions(job):
    return leads.criteria_questions(leads.job_sample(job), job.criteria)


def results_context(request, job):
    """The results table of one job, as its page and its progress partial show it.

    `run` (read only by the page that shows it): for a saved search's run, who is new since the last one.
    """
    context = table_context(
        request,
        job_rows(job, request.GET),
        all_leads=False,
        questions=job_questions(job),
        countries=facets.countries(job),
        # Unfiltered, the job's own counter is the total: no count of its leads per request.
        total=None if leads.is_filtered(request.GET) else job.leads_stored,
    )
    context["run"] = functools.cache(functools.partial(saved_searches.summary, job))
    return context


def table_context(request, rows, all_leads, questions, countries, total=None, params=None):
    """A page of leads, filtered and sorted as the query string says, and the controls around it.

    `countries`: the country filter's choices; `total`: how many rows the view has, if a counter knows.
    """
    params = request.GET if params is None else params
    scope = shortlists.scope_of(request.user)
    keys = columns.shown(Preferences.columns_of(request.user), questions, all_leads)
    per_page = leads.page_size(params)
    sort = params.get("sort", "position")
    page = paging.page_of(leads.for_pages(rows, params, scope), params.get("page"), per_page, total)
    needs = {columns.column(key).needs for key in keys}
    page.object_list = list(page.object_list)
    if "sources" in needs:
        leads.attach_sources(page.object_list, access.visible_leads(request.user))
    shortlists.attach(page.object_list, scope)  # every row's selection and status control need it
    view = leads.view_params(params)
    return {
        "leads_page": page,
        "per_page": per_page,
        "page_sizes": leads.PAGE_SIZES,
        "sort": sort,
        "q": params.get("q", ""),
        "filtered": leads.is_filtered(params),
        "name_header": _header("name", "Name", sort),
        "table_columns": [_header(key, columns.column(key).label, sort) for key in keys if key != "name"],
        "countries": countries,
        "criteria": [
            (question, params.get(leads.CRITERIA_PREFIX + question, "").upper()) for question in questions
        ],
        "answers": leads.ANSWERS,
        "criteria_prefix": leads.CRITERIA_PREFIX,
        "export_columns": [(key, label, key in keys) for key, label in columns.offered(questions, all_leads)],
        "presets": exports.PRESETS,
        "statuses": ShortlistStatus.choices,
        "shortlist_filter": params.get("shortlist", ""),
        "tag_filter": shortlists.clean_tag(params.get("tag", "")),
        "tags": shortlists.tags_in_use(scope),
        "filter_params": view,
        # The view's own query string (page included): what a table that refreshes itself asks for.
        "view_query": "?"
        + urlencode([*view, *[(k, params[k]) for k in ("page", "per_page") if k in params]]),
        "all_leads": all_leads,
    }


def _header(key, label, sort):
    """(key, label, the sort a click asks for or "" if none, "ascending"/"descending"/"")."""
    if not columns.column(key).sort:
        return (key, label, "", "")
    sort_key = columns.column(key).sort
    direction = {sort_key: "ascending", "-" + sort_key: "descending"}.get(sort, "")
    return (key, label, "-" + sort_key if direction == "ascending" else sort_key, direction)


@login_required
@require_GET
@checks_lead_queries
def job_export(request, job_pk):
    job = access.job_or_404(request.user, job_pk)
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, job=job)
    name = f"job-{job.pk}-{slugify(job.query)[:40].strip('-') or 'leads'}"
    if request.GET.get("new") == "1" and job.saved_search_id:
        name += "-new"
    return _csv_response(request, job_rows(job, request.GET), name, job_questions(job), all_leads=False)


@login_required
@require_GET
@checks_lead_queries
@page_cache.cached
def lead_list(request):
    """Every lead the reader's teams have found, one row per person (by LinkedIn URL), with the jobs
    that found them."""
    context = table_context(
        request,
        all_rows(request.user),
        all_leads=True,
        questions=team_questions(request.user),
        countries=facets.countries(access.visible_jobs(request.user)),
    )
    return page_cache.keep(render(request, "research/lead_list.html", context, "results-body"))


def all_rows(user):
    """One row per person among the leads `user` may see."""
    return leads.deduplicated(access.visible_leads(user), everyone=user.is_staff)


def team_questions(user):
    return leads.criteria_questions(leads.team_sample(access.visible_jobs(user)))


@login_required
@require_GET
@checks_lead_queries
def lead_export(request):
    AuditEvent.objects.create(user=request.user, action=AuditEvent.Action.EXPORT, detail="all leads")
    return _csv_response(
        request, all_rows(request.user), "all-leads", team_questions(request.user), all_leads=True
    )


def _csv_response(request, rows, name, questions, all_leads, params=None):
    """The CSV of a table's view: a preset, the columns asked for, or the person's own columns."""
    params = request.GET if params is None else params
    scope = shortlists.scope_of(request.user)
    preset = params.get("preset", "")
    if preset in exports.PRESETS:
        chosen = exports.preset_columns(preset, questions, all_leads)
        name += "" if preset == "default" else f"-{preset}"
    elif params.getlist("columns"):
        chosen = params.getlist("columns")
    else:
        chosen = columns.shown(Preferences.columns_of(request.user), questions, all_leads)
    rows = leads.browse(rows, params, scope)
    if people := [
        int(pk) for pk in params.getlist("person") if pk.isascii() and pk.isdigit() and len(pk) <= 18
    ]:
        rows = rows.filter(person_id__in=people)
        name += "-selected"
    response = StreamingHttpResponse(
        exports.stream_leads(rows, chosen, scope=scope, sources_within=access.visible_leads(request.user)),
        content_type="text/csv; charset=utf-8",
    )
    filtered = "-filtered" if leads.is_filtered(params) else ""
    filename = f"{name}{filtered}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_POST
def columns_save(request):
    """The column chooser: the columns this person's tables and CSVs show from now on."""
    offered = [key for key in request.POST.getlist("offered") if columns.column(key) is not None]
    chosen = [key for key in request.POST.getlist("columns") if key in offered]
    prefs = Preferences.of(request.user)
    prefs.columns = columns.remember(prefs.columns, offered, chosen)
    prefs.save(update_fields=["columns"])
    return refreshed(request, "Columns saved: the table and your CSV downloads show these.")


def refreshed(request, notice):
    """After a change to what a table shows: htmx asks the table to fetch itself again; else back to it."""
    messages.success(request, notice)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "leads-changed"
        return response
    return redirect(safe_next(request))


def safe_next(request, fallback="research:lead_list"):
    """Where a form sent from a table goes back to: a path on this site, else `fallback`."""
    target = (request.POST.get("next") or request.GET.get("next") or "")[:2000]
    ours = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False)
    return target if ours and target.startswith("/") else fallback


@login_required
@require_GET
@page_cache.cached
def lead_detail(request, lead_pk):
    """One person's whole profile: a page of its own, or (htmx) the panel under their row in the table."""
    visible = access.visible_leads(request.user, Lead.objects.select_related("job", "person"))
    lead = get_object_or_404(visible, pk=lead_pk)
    scope = shortlists.scope_of(request.user)
    shortlists.attach([lead], scope)
    leads.attach_sources([lead], access.visible_leads(request.user))
    back = safe_next(request, fallback=lead.job.get_absolute_url())
    context = {"lead": lead, "statuses": ShortlistStatus.choices, "next": back}
    return page_cache.keep(render(request, "research/lead_detail.html", context, "panel"))
