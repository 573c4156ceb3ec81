"""CSV that opens correctly in a spreadsheet or a CRM's import, streamed so any size starts at once.

- UTF-8 with a byte-order mark, which is what makes Excel read it as UTF-8.
- Every cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
  carriage return) is prefixed with a single quote: scraped text never executes.
- Rows come from `.iterator()` in chunks, so memory stays flat whatever the row count; what a
  chunk needs besides its leads (the jobs that found them, the team's shortlist) is one query
  per chunk, never one per row.
- Columns are the person's own (`research.columns`), or a preset: `default`, `full` (every
  stored field, one column per criteria question), `hubspot` and `salesforce` (each CRM's own
  import headers, the name split in two). docs/exports.md says what each holds.
"""

import csv
from itertools import islice

from . import columns as cols
from . import crm, profiles, shortlists
from . import leads as lead_queries
from .columns import Column
from .money import format_usd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000
RAW_CHUNK_SIZE = 500  # a chunk that loads the raw JSON (kilobytes a lead) stays a few megabytes
# Kept for callers that name them here.
COLUMNS = cols.COLUMNS
DEFAULT_COLUMNS = cols.DEFAULT_COLUMNS
CRITERIA_PREFIX = cols.CRITERIA_PREFIX
column_choices = cols.offered
default_columns = cols.default_columns


def _place(part):
    return lambda lead: getattr(crm.place_of(lead), part)


# HubSpot's contact import: its default property labels, which its import maps by itself.
HUBSPOT = [
    Column("First Name", lambda lead: crm.name_of(lead).first, raw=True),
    Column("Last Name", lambda lead: crm.name_of(lead).last, raw=True),
    Column("Job Title", profiles.title_or_headline),
    Column("Company Name", lambda lead: lead.company),
    Column("City", _place("city"), raw=True),
    Column("State/Region", _place("region"), raw=True),
    Column("Country/Region", _place("country"), raw=True),
    Column("LinkedIn URL", lambda lead: lead.linkedin_url),
]


def _sf_last(lead):
    name = crm.name_of(lead)
    return name.last or name.first or "[not provided]"  # LastName is required: a single name goes here


def _sf_first(lead):
    name = crm.name_of(lead)
    return name.first if name.last else ""


def _sf_description(lead):
    link = f"LinkedIn: {lead.linkedin_url}" if lead.linkedin_url else ""
    return "\n".join(part for part in (lead.headline, link) if part)


# Salesforce's Lead import (Data Import Wizard, Data Loader): the Lead object's field API names.
SALESFORCE = [
    Column("Salutation", lambda lead: crm.name_of(lead).salutation, raw=True),
    Column("FirstName", _sf_first, raw=True),
    Column("LastName", _sf_last, raw=True),
    Column("Title", profiles.title_or_headline),
    Column("Company", lambda lead: lead.company or "[not provided]"),  # required by Salesforce
    Column("City", _place("city"), raw=True),
    Column("State", _place("region"), raw=True),
    Column("Country", _place("country"), raw=True),
    Column("Description", _sf_description),
]

PRESETS = {
    "full": "Full profile (every field)",
    "hubspot": "HubSpot contacts import",
    "salesforce": "Salesforce leads import",
    "default": "Default columns",
}


def preset_columns(preset, questions=(), all_leads=False):
    """The Columns of a preset; `questions` are the criteria asked (a column each in `full`)."""
    if preset == "hubspot":
        return HUBSPOT
    if preset == "salesforce":
        return SALESFORCE
    if preset == "full":
        skip = "job" if all_leads else "jobs"
        keys = [key for key in cols.COLUMNS if key != skip]
        for question in questions:
            keys += [cols.CRITERIA_PREFIX + question, cols.REASONING_PREFIX + question]
        return keyed(keys)
    if preset == "default":
        return keyed(cols.DEFAULT_COLUMNS + (["jobs"] if all_leads else []))
    raise ValueError(f"No export preset {preset!r}: choose one of {', '.join(PRESETS)}.")


def keyed(keys):
    """The Columns of column keys (unknown keys are left out; none at all gives the default)."""
    return [cols.column(key) for key in cols.valid(keys) or cols.DEFAULT_COLUMNS]


def safe_cell(value):
    """The text of one cell; a leading quote keeps a spreadsheet from reading it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def stream_leads(leads, columns=None, scope=None, sources_within=None):
    """Yield CSV lines (str) for a Lead queryset, header first, a chunk of rows at a time.

    `columns` are column keys or Columns (a preset's). `scope` is whose shortlist the shortlist
    columns read (`research.shortlists.scope_of`); without one they are empty. "Found in jobs"
    names only jobs among `sources_within` (the leads the reader may see). Nothing is read
    from the database until the first row is asked for, never more than a chunk of leads is
    held at once, and the raw JSON (the bulk of each row) is loaded only if a column reads it.
    """
    chosen = list(columns or ())
    chosen = chosen if chosen and isinstance(chosen[0], Column) else keyed(chosen)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([safe_cell(c.label) for c in chosen])
    needs = {c.needs for c in chosen}
    raw = any(c.raw for c in chosen)
    size = RAW_CHUNK_SIZE if raw else CHUNK_SIZE
    rows = (leads if raw else leads.defer("raw")).iterator(chunk_size=size)
    while chunk := list(islice(rows, size)):
        if "sources" in needs:
            lead_queries.attach_sources(chunk, sources_within)
        if "shortlist" in needs and scope:
            shortlists.attach(chunk, scope)
        yield "".join(writer.writerow([safe_cell(c.value(lead)) for c in chosen]) for lead in chunk)


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
