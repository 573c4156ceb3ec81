"""CSV that opens correctly in a spreadsheet or a CRM's import, streamed so any size starts at once.

- UTF-8 with a byte-order mark, which is what makes Excel read it as UTF-8.
- Every cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
  carriage return) is prefixed with a single quote: scraped text never executes.
- Rows come from `.iterator()` in chunks, so memory stays flat whatever the row count; what a
  chunk needs besides its leads (the jobs that found them, the team's shortlist) is one query
  per chunk, never one per row.
- A row is the plain values of the fields its columns read (`LeadRow`), not a model instance,
  and the JSON columns (criteria, the raw result) are read and decoded only when a column
  shows them: building a model per row cost more than writing it.
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


# What the name and place columns read: the name and location as stored, and the raw result's parts of them.
NAME = ("name", "raw")
PLACE = ("location", "country", "raw")
TITLE = ("title", "headline")  # `profiles.title_or_headline`


def _place(part):
    return lambda lead: getattr(crm.place_of(lead), part)


# HubSpot's contact import: its default property labels, which its import maps by itself.
HUBSPOT = [
    Column("First Name", lambda lead: crm.name_of(lead).first, reads=NAME),
    Column("Last Name", lambda lead: crm.name_of(lead).last, reads=NAME),
    Column("Job Title", profiles.title_or_headline, reads=TITLE),
    cols.plain("Company Name", "company"),
    Column("City", _place("city"), reads=PLACE),
    Column("State/Region", _place("region"), reads=PLACE),
    Column("Country/Region", _place("country"), reads=PLACE),
    cols.plain("LinkedIn URL", "linkedin_url"),
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
    Column("Salutation", lambda lead: crm.name_of(lead).salutation, reads=NAME),
    Column("FirstName", _sf_first, reads=NAME),
    Column("LastName", _sf_last, reads=NAME),
    Column("Title", profiles.title_or_headline, reads=TITLE),
    Column(
        "Company", lambda lead: lead.company or "[not provided]", reads=("company",)
    ),  # required by Salesforce
    Column("City", _place("city"), reads=PLACE),
    Column("State", _place("region"), reads=PLACE),
    Column("Country", _place("country"), reads=PLACE),
    Column("Description", _sf_description, reads=("headline", "linkedin_url")),
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
    text = value if type(value) is str else "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class LeadRow:
    """One lead as a CSV row reads it: the fields its columns read, named as on `Lead`, from a
    values_list row. Attachments (`sources`, `entry`) are set on it per chunk, as on a Lead."""

    @classmethod
    def rows(cls, leads, fields, chunk_size):
        for values in leads.values_list(*fields).iterator(chunk_size=chunk_size):
            row = cls.__new__(cls)
            row.__dict__ = dict(zip(fields, values, strict=True))
            yield row


class _Echo:
    def write(self, value):
        return value


def stream_leads(leads, columns=None, scope=None, sources_within=None):
    """Yield CSV lines (str) for a Lead queryset, header first, a chunk of rows at a time.

    `columns` are column keys or Columns (a preset's). `scope` is whose shortlist the shortlist
    columns read (`research.shortlists.scope_of`); without one they are empty. "Found in jobs"
    names only jobs among `sources_within` (the leads the reader may see). Nothing is read
    from the database until the first row is asked for, never more than a chunk of leads is
    held at once, and the JSON fields (the raw result is the bulk of each row) are loaded
    only if a column reads them.
    """
    chosen = list(columns or ())
    chosen = chosen if chosen and isinstance(chosen[0], Column) else keyed(chosen)
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([safe_cell(c.label) for c in chosen])
    needs = {c.needs for c in chosen}
    fields = tuple(dict.fromkeys(field for c in chosen for field in c.reads)) or ("pk",)
    size = RAW_CHUNK_SIZE if "raw" in fields else CHUNK_SIZE
    if all(c.of_one_field for c in chosen):
        yield from _values_only(leads, chosen, fields, size, writer)
        return
    rows = LeadRow.rows(leads, fields, size)
    while chunk := list(islice(rows, size)):
        if "sources" in needs:
            lead_queries.attach_sources(chunk, sources_within)
        if "shortlist" in needs and scope:
            shortlists.attach(chunk, scope)
        yield "".join(writer.writerow([safe_cell(c.value(lead)) for c in chosen]) for lead in chunk)


def _values_only(leads, chosen, fields, size, writer):
    """The rows of columns that each show one field: straight from the database's values."""
    at = {field: index for index, field in enumerate(fields)}
    cells = [(at[c.reads[0]], None if c.cell is cols.AS_STORED else c.cell) for c in chosen]
    rows = leads.values_list(*fields).iterator(chunk_size=size)
    while chunk := list(islice(rows, size)):
        yield "".join(
            writer.writerow([safe_cell(row[i] if cell is None else cell(row[i])) for i, cell in cells])
            for row in chunk
        )


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
