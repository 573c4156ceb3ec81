"""Browsing leads: search, filters and sorting, read from the URL so views can be shared."""

from django.db.models import Q

SORTS = {
    "name": "name",
    "title": "title",
    "company": "company",
    "location": "location",
    "position": "position",
}
PAGE_SIZES = (25, 50, 100)


def browse(leads, params):
    """Apply the query string's search (q), filters and sort (`sort`, `-sort`) to `leads`."""
    q = params.get("q", "").strip()
    if q:
        leads = leads.filter(
            Q(name__icontains=q)
            | Q(title__icontains=q)
            | Q(company__icontains=q)
            | Q(headline__icontains=q)
            | Q(location__icontains=q)
        )
    if country := params.get("country", "").strip():
        leads = leads.filter(country=country)
    decision = params.get("decision_maker", "")
    if decision in ("yes", "no"):
        leads = leads.filter(is_decision_maker=(decision == "yes"))
    sort = params.get("sort", "position")
    field = SORTS.get(sort.lstrip("-"), "position")
    prefix = "-" if sort.startswith("-") else ""
    return leads.order_by(prefix + field, "pk")


def page_size(params):
    try:
        size = int(params.get("per_page", PAGE_SIZES[0]))
    except ValueError:
        return PAGE_SIZES[0]
    return size if size in PAGE_SIZES else PAGE_SIZES[0]
