"""The results search: `q` found in a lead's name, title, company, headline or location, any case.

The meaning is Django's `icontains` over those five columns, on both databases; what differs is
how the rows are found. On PostgreSQL trigram indexes on UPPER(column) answer the same
`UPPER(col) LIKE UPPER('%q%')` Django writes (migration 0014_perf). On SQLite an FTS5 table with the
trigram tokenizer (kept by triggers on the leads table, migration 0015_sqlite_search) names the candidate rows
first: it folds case at least as widely as SQLite's LIKE, so it never misses a row that LIKE finds,
and the LIKE conditions still decide. A term under three characters has no trigram: then the
job's rows are scanned, as before.
"""

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

COLUMNS = ("name", "title", "company", "headline", "location")
FTS_TABLE = "research_lead_search"  # SQLite only
TRIGRAM = 3


def matching(leads, q):
    """The `leads` whose searched columns contain `q` (case-insensitive)."""
    found = Q()
    for column in COLUMNS:
        found |= Q(**{f"{column}__icontains": q})
    leads = leads.filter(found)
    if connection.vendor == "sqlite" and len(q) >= TRIGRAM:
        phrase = '"' + q.replace('"', '""') + '"'
        leads = leads.filter(
            pk__in=RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [phrase])
        )
    return leads
