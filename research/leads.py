"""Browsing leads: search, filters and sorting, read from the URL so views can be shared.

Every function here costs a bounded number of queries whatever the number of leads: the
table is paginated in the database (`research.paging`), filter choices are kept at ingest
(`research.facets`), and the jobs a page of deduplicated leads came from are looked up for
that page only. Each sort has an index per job (`Lead.Meta.indexes`); on PostgreSQL the
search has trigram indexes too.
"""

from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KeyTransform

from . import paging, search, shortlists
from .models import Lead, ResearchJob
from .profiles import answer_of  # noqa: F401  (read here by templates and exports)

SORTS = {
    "name": "name",
    "title": "title",
    "company": "company",
    "location": "location",
    "position": "position",
    "status": "shortlist_rank",  # the shortlist's pipeline order (`research.shortlists`)
}
PAGE_SIZES = (25, 50, 100)
ANSWERS = ("YES", "MAYBE", "NO")
# A criteria filter is a parameter named "c:<question>" whose value is an answer: ?c:Based+in+Europe.=YES
CRITERIA_PREFIX = "c:"
# Criteria questions are read from this many leads: a job asks the same questions of every profile.
CRITERIA_SAMPLE = 50

# What one request may ask for: beyond these it gets a clear 400, never a slow query.
MAX_TERM = 200  # characters of a search term or a country
MAX_QUESTION = 500  # characters of a criteria question named in the query string
MAX_CRITERIA_FILTERS = 10  # criteria answered at once
MAX_COLUMNS = 100  # CSV columns chosen


class BadQuery(ValueError):
    """The query string asks for more than a page of leads may: the message says what."""


def check(params):
    """Raise BadQuery if the search, filters or columns in `params` are beyond the limits."""
    for key in ("q", "country"):
        if len(params.get(key, "")) > MAX_TERM:
            raise BadQuery(f"Search terms and filters are at most {MAX_TERM} characters.")
    for key in params:
        values = params.getlist(key) if hasattr(params, "getlist") else [params[key]]
        if "\x00" in key or any("\x00" in value for value in values):
            raise BadQuery("The address holds a NUL character, which no search or filter can.")
        if key.startswith(CRITERIA_PREFIX) and len(key) > len(CRITERIA_PREFIX) + MAX_QUESTION:
            raise BadQuery(f"A criteria question is at most {MAX_QUESTION} characters.")
    answered = [key for key in params if key.startswith(CRITERIA_PREFIX) and params.get(key)]
    if len(answered) > MAX_CRITERIA_FILTERS:
        raise BadQuery(f"Filter on at most {MAX_CRITERIA_FILTERS} criteria at once ({len(answered)} asked).")
    columns = params.getlist("columns") if hasattr(params, "getlist") else []
    if len(columns) > MAX_COLUMNS or any(len(column) > MAX_QUESTION + 10 for column in columns):
        raise BadQuery(f"Choose at most {MAX_COLUMNS} columns.")


def browse(leads, params, scope=None):
    """Apply the query string's search (q), filters and sort (`sort`, `-sort`) to `leads`.

    With a shortlist `scope` (`research.shortlists.scope_of`), its status and tag filter and sort too.
    Raises BadQuery for a query string beyond the limits (see `check`).
    """
    leads = narrowed(leads, params, scope)
    field, prefix = _sort_of(params, scope)
    if field == "shortlist_rank":  # within a status, in the search's own order
        return shortlists.with_status_rank(leads, scope).order_by(prefix + field, "position", "pk")
    # Ties by id, ascending whichever way the sort goes (the API's cursors rely on it).
    return leads.order_by(prefix + field, "pk")


def for_pages(leads, params, scope=None):
    """`browse`, in a form whose pages are read fast (`research.paging`).

    Sorted by shortlist status, the view is its shortlisted people by status, then everyone else
    in position order (the other way round descending): two walks of an index, where one ordered
    query would rank and sort every lead of the view for a page of 25.
    """
    field, prefix = _sort_of(params, scope)
    if field != "shortlist_rank":
        return browse(leads, params, scope)
    leads = narrowed(leads, params, scope)
    listed = shortlists.with_status_rank(shortlists.on_list(leads, scope), scope)
    listed = listed.order_by(prefix + field, "position", "pk")
    others = shortlists.off_list(leads, scope).order_by("position", "pk")
    return paging.Chained(others, listed) if prefix else paging.Chained(listed, others)


def narrowed(leads, params, scope=None):
    """`leads` as the query string's search and filters narrow them, in no particular order."""
    check(params)
    q = params.get("q", "").strip()
    if q:
        leads = search.matching(leads, q)
    if country := params.get("country", "").strip():
        leads = leads.filter(country=country)
    decision = params.get("decision_maker", "")
    if decision in ("yes", "no"):
        leads = leads.filter(is_decision_maker=(decision == "yes"))
    for number, (question, answer) in enumerate(criteria_filters(params)):
        leads = with_answer(leads, question, answer, name=f"criteria_{number}")
    if scope:
        leads = shortlists.narrow(leads, params, scope)
    return leads


def _sort_of(params, scope):
    """(the field a view sorts by, "-" or ""): a shortlist status without a scope is position."""
    sort = params.get("sort", "position")
    field = SORTS.get(sort.lstrip("-"), "position")
    if field == "shortlist_rank" and not scope:
        field = "position"
    return field, "-" if sort.startswith("-") else ""


def criteria_filters(params):
    """[(question, answer)] from the "c:<question>=<answer>" parameters that name a known answer."""
    return [
        (key[len(CRITERIA_PREFIX) :], params[key].upper())
        for key in params
        if key.startswith(CRITERIA_PREFIX) and params.get(key, "").upper() in ANSWERS
    ]


def with_answer(leads, question, answer, name="criteria_answer"):
    """Leads whose criteria answer `question` with `answer`, stored as "YES" or {"answer": "YES", ...}.

    Key transforms are built explicitly: questions are free text and may contain "__".
    """
    plain, nested = f"{name}_plain", f"{name}_nested"
    return leads.alias(
        **{
            plain: KeyTransform(question, "criteria"),
            nested: KeyTransform("answer", KeyTransform(question, "criteria")),
        }
    ).filter(Q(**{plain: answer}) | Q(**{nested: answer}))


def criteria_questions(sample, asked=()):
    """The criteria questions asked of a sample of leads.

    `asked` are the questions a job sent, in the rep's order: they come first, even before any
    answer arrived. Others found in the answers follow alphabetically (PostgreSQL's jsonb keeps
    no key order, so the answers' own order would differ between databases).
    """
    asked = list(dict.fromkeys(asked or ()))
    found = set()
    for criteria in sample.values_list("criteria", flat=True)[:CRITERIA_SAMPLE]:
        if isinstance(criteria, dict):
            found.update(criteria)
    return asked + sorted(found - set(asked))


def job_sample(job):
    """A job asks every profile the same questions: its first leads show them."""
    return job.leads.order_by("position")


def team_sample(jobs=None):
    """The first lead of each of the latest `jobs` (default: all): the questions asked lately."""
    jobs = ResearchJob.objects.all() if jobs is None else jobs
    recent = jobs.order_by("-pk").values("pk")[:CRITERIA_SAMPLE]
    return Lead.objects.filter(job__in=recent, position=0).order_by("-job_id")


def deduplicated(leads, everyone=False):
    """One lead per person (by normalised LinkedIn URL, `research.people`): each person's latest lead.

    `everyone`: `leads` are all the leads (a staff reader), so the people table's latest lead,
    kept at ingest, is the answer: a join, not a grouping of every lead. A reader who sees some
    teams' jobs gets each person's latest lead among those: a lead of theirs that no later lead
    they may see has the same person. Walked in the table's order, a page looks at about as many
    leads as it shows, each checked against that person's few other leads by index.
    """
    if everyone:
        return leads.filter(latest_for__isnull=False)
    later = leads.filter(person=OuterRef("person"), pk__gt=OuterRef("pk"))
    return leads.filter(~Exists(later))


def attach_sources(page_of_leads, within=None):
    """Set `lead.sources` to [(job id, job query)] for every job that found the same person. One query.

    `within` (a Lead queryset, default all) bounds where to look: the leads the reader may see.
    """
    page_of_leads = list(page_of_leads)
    people = {lead.person_id for lead in page_of_leads if lead.person_id}
    found = {}
    within = Lead.objects.all() if within is None else within
    rows = (
        within.filter(person_id__in=people)
        .order_by("job_id")
        .values_list("person_id", "job_id", "job__query")
        .distinct()
    )
    for person_id, job_id, query in rows:
        found.setdefault(person_id, []).append((job_id, query))
    for lead in page_of_leads:
        lead.sources = found.get(lead.person_id) or [(lead.job_id, None)]
    return page_of_leads


def page_size(params):
    try:
        size = int(params.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]


def is_filtered(params):
    return bool(
        params.get("q", "").strip()
        or params.get("country")
        or params.get("decision_maker") in ("yes", "no")
        or criteria_filters(params)
        or shortlists.is_filtered(params)
        or params.get("new") == "1"
    )


# The query-string keys that describe a view of a table (what a CSV link and a bulk action carry).
VIEW_KEYS = ("q", "country", "decision_maker", "sort", "shortlist", "tag", "new")


def view_params(params):
    """[(key, value)] of the query string that make up the view: filters and sort, not the page."""
    return [
        (key, value)
        for key in params
        if key in VIEW_KEYS or key.startswith(CRITERIA_PREFIX)
        for value in params.getlist(key)
    ]
