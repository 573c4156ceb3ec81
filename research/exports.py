"""CSV that opens correctly in a spreadsheet, streamed so any size starts at once.

- UTF-8 with a byte-order mark, which is what makes Excel read it as UTF-8.
- Every cell that a spreadsheet would read as a formula (starting with = + - @, a tab or a
  carriage return) is prefixed with a single quote: scraped text never executes.
- Rows come from `.iterator()` in chunks, so memory stays flat whatever the row count.
"""

import csv
import json

from .money import format_usd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

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
        "Criteria",
        lambda lead: json.dumps(lead.criteria, ensure_ascii=False) if lead.criteria else "",
    ),
    "profile_id": ("Profile id", lambda lead: lead.profile_id),
    "job": ("Job", lambda lead: lead.job_id),
}
DEFAULT_COLUMNS = ["name", "title", "company", "location", "country", "linkedin_url", "decision_maker"]


def safe_cell(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Echo:
    def write(self, value):
        return value


def stream_leads(leads, columns=None):
    """Yield CSV lines (str) for a Lead queryset, header first."""
    columns = [c for c in (columns or DEFAULT_COLUMNS) if c in COLUMNS] or DEFAULT_COLUMNS
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([COLUMNS[c][0] for c in columns])
    for lead in leads.iterator(chunk_size=2000):
        yield writer.writerow([safe_cell(COLUMNS[c][1](lead)) for c in columns])


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
                )
            ]
        )
