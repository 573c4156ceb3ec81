"""Saved searches: the list, one search with its runs and who each found anew, saving one, and its actions.

Saving, pausing and deleting change the search's schedule (`research.saved_searches`); only
"Run now" pays, and it says its price on the button.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from .. import quotes, saved_searches
from ..forms import SavedSearchForm
from ..models import ResearchJob, SavedSearch
from ..money import from_dollars

RUNS_SHOWN = 10


def _mine(request, pk):
    return get_object_or_404(SavedSearch, pk=pk, owner=request.user)


@login_required
@require_GET
def search_list(request):
    searches = list(SavedSearch.objects.filter(owner=request.user))
    next_runs = saved_searches.next_runs(searches)
    for saved in searches:
        saved.next_run = next_runs.get(saved.pk)
        saved.latest = saved.runs.order_by("-pk").first()
        saved.latest_summary = saved_searches.summary(saved.latest) if saved.latest else None
    return TemplateResponse(request, "research/search_list.html", {"searches": searches})


@login_required
@require_GET
def search_detail(request, search_pk):
    saved = _mine(request, search_pk)
    runs = list(saved.runs.with_spend()[:RUNS_SHOWN])
    for run in runs:
        run.summary = saved_searches.summary(run)
    context = {
        "saved": saved,
        "runs": runs,
        "next_run": saved_searches.next_runs([saved]).get(saved.pk),
        "run_cost": saved_searches.run_cost(saved),
    }
    return TemplateResponse(request, "research/search_detail.html", context)


@login_required
def search_new(request):
    """Save a job's search to run again by itself: a name, daily or weekly, a cap per run."""
    source = request.GET.get("from") or request.POST.get("from") or ""
    if not source.isdigit():
        raise Http404
    job = get_object_or_404(ResearchJob, pk=source)
    cost = from_dollars(SavedSearchForm.dollars(quotes.quote(request.user, job.limit).needed))
    if request.method == "POST":
        form = SavedSearchForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            saved = saved_searches.create(
                request.user,
                name=data["search_name"] or job.query[:80],
                query=job.query,
                limit=job.limit,
                criteria=job.criteria,
                company_urls=job.company_urls,
                cadence=data["schedule"],
                max_spend=data["max_spend"] or cost,
                first_run=job if job.owner_id == request.user.pk else None,
            )
            messages.success(request, f"Saved “{saved.name}”: it runs {saved.get_cadence_display().lower()}.")
            return redirect(saved)
    else:
        form = SavedSearchForm(
            initial={
                "schedule": "weekly",
                "search_name": job.query[:80],
                "max_spend": SavedSearchForm.dollars(cost),
            }
        )
    return TemplateResponse(request, "research/search_new.html", {"form": form, "job": job})


@login_required
@require_POST
def search_pause(request, search_pk):
    saved = _mine(request, search_pk)
    paused = request.POST.get("paused") == "1"
    saved_searches.pause(saved, paused)
    if paused:
        messages.info(request, f"Paused “{saved.name}”: it will not run until you resume it.")
    else:
        messages.success(request, f"Resumed “{saved.name}”: it runs {saved.get_cadence_display().lower()}.")
    return redirect(saved)


@login_required
@require_POST
def search_delete(request, search_pk):
    saved = _mine(request, search_pk)
    name = saved.name
    saved_searches.delete(saved)
    messages.info(request, f"Deleted “{name}”: it will not run again. Its earlier runs stay in your jobs.")
    return redirect("research:search_list")


@login_required
@require_POST
def search_run(request, search_pk):
    """Run the saved search now (paid, within its cap per run)."""
    saved = _mine(request, search_pk)
    job, message = saved_searches.run(saved, scheduled=False)
    messages.info(request, message)
    return redirect(job if job is not None else saved)
