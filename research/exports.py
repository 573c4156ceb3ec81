"""CSV that opens correctly in a spreadsheet, streamed so any size starts at once.

- UTF-8 with a byte-order mark, which is what makes Excel read it as UTF-8.
- Every cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
  carriage return) is prefixed with a single quote: scraped text never executes.
- Rows come from `.iterator()` in chunks, so memory stays flat whatever the row count.
- Columns are chosen by the person downloading; criteria answers can be columns of their own.
"""

import csv
import json
from itertools import islice

from . import leads as lead_queries
from .money import format_usd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000

COLUMNS = {
    "name": ("Name", lambda lead: lead.name),
    "title": ("Current title", lambda lead: lead.title),
    "company": ("Company", lambda lead: lead.company),
    "headline": ("Headline", lambda lead: lead.headline),
    "location": ("Location", lambda lead: lead.location),
    "country": ("Country", lambda lead: lead.country),
    "linkedin_url": ("LinkedIn URL", lambda lead: lead.linkedin_url),
    "decision_maker": (
        "Decision maker",
        lambda lead: {True: "yes", False: "no"}.get(lead.is_decision_maker, ""),
    ),
    "criteria": (
        "Criteria (JSON)",
        lambda lead: json.dumps(lead.criteria, ensure_ascii=False) if lead.criteria else "",
    ),
    "profile_id": ("Profile id", lambda lead: lead.profile_id),
    "job": ("Job", lambda lead: lead.job_id),
    # All leads: every job that found this person (filled in per chunk, see `stream_leads`).
    "jobs": ("Found in jobs", lambda lead: " ".join(str(job_id) for job_id, _ in lead.sources)),
}
DEFAULT_COLUMNS = ["name", "title", "company", "location", "country", "linkedin_url", "decision_maker"]
# One column per criteria question: "c:<question>" holds that question's answer.
CRITERIA_PREFIX = lead_queries.CRITERIA_PREFIX


def column_choices(questions=(), all_leads=False):
    """[(key, label)] a person can pick from, for a job's leads or for all leads."""
    keys = [key for key in COLUMNS if key != ("job" if all_leads else "jobs")]
    return [(key, COLUMNS[key][0]) for key in keys] + [
        (CRITERIA_PREFIX + question, question) for question in questions
    ]


def default_columns(all_leads=False):
    return DEFAULT_COLUMNS + (["jobs"] if all_leads else [])


def _column(key):
    if key in COLUMNS:
        return COLUMNS[key]
    question = key[len(CRITERIA_PREFIX) :]
    return question, lambda lead: lead_queries.answer_of((lead.criteria or {}).get(question))


def safe_cell(value):
    """The text of one cell; a leading quote keeps a spreadsheet from reading it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def stream_leads(leads, columns=None, sources_within=None):
    """Yield CSV lines (str) for a Lead queryset, header first, a chunk of rows at a time.

    Nothing is read from the database until the first row is asked for, and never more than
    CHUNK_SIZE leads are held at once; the raw JSON (the bulk of each row) is never loaded.
    "Found in jobs" names only jobs among `sources_within` (the leads the reader may see).
    """
    columns = [c for c in (columns or ()) if c in COLUMNS or c.startswith(CRITERIA_PREFIX)]
    columns = columns or DEFAULT_COLUMNS
    getters = [_column(c)[1] for c in columns]
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([safe_cell(_column(c)[0]) for c in columns])
    rows = leads.defer("raw").iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(rows, CHUNK_SIZE)):
        if "jobs" in columns:
            lead_queries.attach_sources(chunk, sources_within)
        yield "".join(writer.writerow([safe_cell(get(lead)) for get in getters]) for lead in chunk)


def stream_charges(charges):
    """The spend ledger as CSV, for admins."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(
        [
            "Time (UTC)",
            "Person",
            "Job",
            "Endpoint",
            "State",
            "Amount",
            "Base units",
            "Currency",
            "Recipient",
            "Payer",
            "Transaction hash",
            "Settled (UTC)",
            "Detail",  # why a charge failed or is unknown, and how it was reconciled
        ]
    )
    for charge in charges.select_related("user").iterator(chunk_size=2000):
        yield writer.writerow(
            [
                safe_cell(v)
                for v in (
                    charge.created_at.isoformat(),
                    charge.user.get_username() if charge.user else "",
                    charge.job_id or "",
                    charge.endpoint,
                    charge.state,
                    format_usd(charge.amount, charge.decimals),
                    charge.amount,
                    charge.currency,
                    charge.recipient,
                    charge.payer,
                    charge.tx_hash or "",
                    charge.settled_at.isoformat() if charge.settled_at else "",
                    charge.detail,
                )
            ]
        )
