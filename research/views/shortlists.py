"""The shortlist's actions: one person's status, tags and note, and bulk actions on a table's selection.

Plain POST forms that work without JavaScript (each redirects back to the table it came from);
with htmx a person's change answers with the changed controls, and a bulk change asks the
table to fetch itself again. Whose shortlist is changed is `research.shortlists.scope_of`.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django.views.decorators.http import require_POST

from .. import access, exports, leads, shortlists
from ..forms import BulkForm, ShortlistForm
from ..models import Person, ShortlistStatus
from .leads import all_rows, job_rows, refreshed, safe_next


@login_required
@require_POST
def shortlist_update(request, person_pk):
    visible = access.visible_leads(request.user)
    person = get_object_or_404(Person.objects.filter(pk__in=visible.values("person_id")), pk=person_pk)
    form = ShortlistForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change could not be made: " + form.errors.as_text())
        return redirect(safe_next(request))
    data = form.cleaned_data
    scope = shortlists.scope_of(request.user)
    entry = shortlists.update(
        person,
        scope,
        request.user,
        status=data["status"] or None,
        tags=shortlists.parse_tags(data["tags"]) if "tags" in request.POST else None,
        note=data["note"] if "note" in request.POST else None,
        remove=data["remove"],
    )
    if request.htmx:
        lead_pk = request.POST.get("lead", "")
        leads_of = visible.filter(person=person)
        lead = (leads_of.filter(pk=lead_pk).first() if lead_pk.isdigit() else None) or leads_of.last()
        lead.entry = entry
        context = {"lead": lead, "statuses": ShortlistStatus.choices, "next": safe_next(request)}
        context["part"] = "panel" if request.POST.get("part") == "panel" else "cell"
        return TemplateResponse(request, "research/_shortlist_changed.html", context)
    messages.success(request, "Taken off the shortlist." if entry is None else "Shortlist saved.")
    return redirect(safe_next(request))


@login_required
@require_POST
def shortlist_bulk(request):
    """Set a status, add a tag or export: the ticked people, or everyone the table's filters match."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return _back(request)
    data = form.cleaned_data
    job_pk = request.POST.get("job", "")
    job = access.job_or_404(request.user, job_pk) if job_pk else None
    params = _view_params(request.POST)
    scope = shortlists.scope_of(request.user)
    rows = leads.browse(job_rows(job, params) if job else all_rows(request.user), params, scope)
    if data["selection"] == "page":
        rows = rows.filter(person_id__in=data["person"])
    if data["action"] == "export":
        return _to_export(request, job, params, data)
    people = list(rows.exclude(person=None).order_by().values_list("person_id", flat=True).distinct())
    if data["action"] == "status":
        count = shortlists.bulk(people, scope, request.user, status=data["new_status"])
        label = dict(ShortlistStatus.choices).get(data["new_status"] or ShortlistStatus.NEW)
        notice = f"{count} {_people(count)} set to “{label}”."
    else:
        count = shortlists.bulk(people, scope, request.user, tag=data["new_tag"])
        notice = f"Tag “{shortlists.clean_tag(data['new_tag'])}” added to {count} {_people(count)}."
    return refreshed(request, notice)


def _people(count):
    return "person" if count == 1 else "people"


def _view_params(post):
    """The table's view (filters and sort) the bulk form carried along, as a query string would give it."""
    keys = [k for k in post if k in leads.VIEW_KEYS or k.startswith(leads.CRITERIA_PREFIX)]
    return MultiValueDict({key: post.getlist(key) for key in keys})


def _to_export(request, job, params, data):
    """The selection's CSV is a GET of the table's export: the browser downloads it and stays on the page."""
    url = reverse("research:job_export", args=[job.pk]) if job else reverse("research:lead_export")
    query = [(key, value) for key in params for value in params.getlist(key)]
    if data["selection"] == "page":
        query += [("person", pk) for pk in data["person"]]
    if data["preset"] in exports.PRESETS:
        query.append(("preset", data["preset"]))
    target = f"{url}?{urlencode(query)}"
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    return redirect(target)


def _back(request):
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "leads-changed"
        return response
    return redirect(safe_next(request))
