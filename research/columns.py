"""The columns a table of leads and its CSV can show: one list, one chooser, remembered per person.

A column reads one lead. Some read the raw JSON (the CSV then loads it), some need what is
attached to a chunk of leads in one query (the jobs that found the person, the team's
shortlist entry). "c:<question>" is the answer to a criteria question, "r:<question>" its
reasoning. A person's choice (`Preferences.columns`) lists keys shown and, as "-<key>",
keys hidden, so a question never seen before shows by default and one hidden stays hidden.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from . import profiles
from .leads import CRITERIA_PREFIX
from .profiles import answer_of, reasoning_of

REASONING_PREFIX = "r:"  # the reasoning given for it
MAX_REMEMBERED = 300  # choices kept per person (questions come and go with jobs)


def _yes_no(value):
    return {True: "yes", False: "no"}.get(value, "")


def _entry(lead):
    return getattr(lead, "entry", None)


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], Any]
    sort: str = ""  # a key of `research.leads.SORTS`
    # The Lead fields `value` reads: a CSV loads only these ("raw" and "criteria" are JSON, decoded
    # only when read). `tests/test_exports.py` checks that every column reads no more than this.
    reads: tuple[str, ...] = ()
    needs: str = ""  # "sources" or "shortlist": attached to each chunk of leads in one query
    # A column of one field (`reads`) shown as stored (`AS_STORED`) or through `cell(value)`:
    # a CSV of such columns only writes each row's values, with no object a row.
    cell: Callable[[Any], Any] | None = None

    @property
    def of_one_field(self):
        return self.cell is not None and len(self.reads) == 1 and not self.needs

    @property
    def raw(self):
        return "raw" in self.reads


def AS_STORED(value):  # noqa: N802  (a marker more than a function)
    return value


def plain(label, name, **options):
    """The column of one Lead field, as stored."""
    return Column(label, attrgetter(name), reads=(name,), cell=AS_STORED, **options)


def from_raw(label, read):
    """A column read from the raw result the gateway returned."""
    return Column(label, lambda lead: read(lead.raw), reads=("raw",))


SHORTLIST = ("person_id",)  # what attaching a shortlist entry reads

COLUMNS = {
    "name": plain("Name", "name", sort="name"),
    "headline": plain("Headline", "headline"),
    "title": plain("Current title", "title", sort="title"),
    "company": plain("Company", "company", sort="company"),
    "location": plain("Location", "location", sort="location"),
    "country": plain("Country", "country"),
    "linkedin_url": plain("LinkedIn URL", "linkedin_url"),
    "decision_maker": Column(
        "Decision maker",
        lambda lead: _yes_no(lead.is_decision_maker),
        reads=("is_decision_maker",),
        cell=_yes_no,
    ),
    "status": Column(
        "Shortlist status",
        lambda lead: _entry(lead).get_status_display() if _entry(lead) else "",
        sort="status",
        reads=SHORTLIST,
        needs="shortlist",
    ),
    "tags": Column(
        "Tags",
        lambda lead: ", ".join(_entry(lead).tag_names) if _entry(lead) else "",
        reads=SHORTLIST,
        needs="shortlist",
    ),
    "note": Column(
        "Note", lambda lead: _entry(lead).note if _entry(lead) else "", reads=SHORTLIST, needs="shortlist"
    ),
    "description": from_raw("Description", profiles.description),
    "skills": from_raw("Skills", lambda raw: ", ".join(profiles.skills(raw))),
    "connections": from_raw("Connections", lambda raw: profiles.count_text(raw, "connections_count")),
    "followers": from_raw("Followers", lambda raw: profiles.count_text(raw, "followers_count")),
    "experience_months": from_raw(
        "Experience (months)", lambda raw: profiles.count_text(raw, "total_experience_duration_months")
    ),
    "is_working": from_raw("Working now", lambda raw: _yes_no(profiles.is_working(raw))),
    "last_role": from_raw("Last role", profiles.last_role_text),
    "roles": from_raw("Roles", profiles.roles_text),
    "education": from_raw("Education", profiles.education_text),
    "picture": from_raw("Picture URL", profiles.picture_url),
    "criteria": Column(
        "Criteria (JSON)",
        lambda lead: json.dumps(lead.criteria, ensure_ascii=False) if lead.criteria else "",
        reads=("criteria",),
    ),
    "profile_id": plain("Profile id", "profile_id"),
    "job": plain("Job", "job_id"),
    # All leads: every job that found this person.
    "jobs": Column(
        "Found in jobs",
        lambda lead: " ".join(str(job_id) for job_id, _ in lead.sources),
        reads=("person_id", "job_id"),
        needs="sources",
    ),
    # Everything the gateway sent, as it sent it: whatever has no column of its own is here too.
    "raw": from_raw("Raw result (JSON)", lambda raw: json.dumps(raw, ensure_ascii=False)),
}
# The "default" export. The table (and a person's own CSV) adds the shortlist status.
DEFAULT_COLUMNS = [
    "name",
    "headline",
    "title",
    "company",
    "location",
    "country",
    "linkedin_url",
    "decision_maker",
]


def column(key):
    """The Column of a key (criteria keys included), or None for a key that names nothing."""
    if key in COLUMNS:
        return COLUMNS[key]
    if key.startswith(CRITERIA_PREFIX) and len(key) > len(CRITERIA_PREFIX):
        question = key[len(CRITERIA_PREFIX) :]
        return Column(
            question, lambda lead: answer_of((lead.criteria or {}).get(question)), reads=("criteria",)
        )
    if key.startswith(REASONING_PREFIX) and len(key) > len(REASONING_PREFIX):
        question = key[len(REASONING_PREFIX) :]
        return Column(
            f"{question} (reasoning)",
            lambda lead: reasoning_of((lead.criteria or {}).get(question)),
            reads=("criteria",),
        )
    return None


def valid(keys):
    """The keys that name a column, in the order given, once each."""
    return [key for key in dict.fromkeys(keys or ()) if column(key) is not None]


def offered(questions=(), all_leads=False):
    """[(key, label)] a person can choose from, for a job's leads or for all leads.

    The name, the shortlist status and the answers to the criteria come first: what a rep reads at a glance.
    """
    skip = "job" if all_leads else "jobs"
    first = [("name", COLUMNS["name"].label), ("status", COLUMNS["status"].label)]
    rest = [(key, col.label) for key, col in COLUMNS.items() if key not in (skip, "name", "status")]
    return first + [(CRITERIA_PREFIX + question, question) for question in questions] + rest


def default_columns(all_leads=False):
    """What a person sees until they choose: the default export, the shortlist status, where found."""
    return DEFAULT_COLUMNS + ["status"] + (["jobs"] if all_leads else [])


def shown(saved, questions=(), all_leads=False):
    """The keys a person sees, in the chooser's order: their choice, else the defaults (all questions)."""
    saved = set(saved or ())
    defaults = set(default_columns(all_leads)) | {CRITERIA_PREFIX + q for q in questions}
    return [
        key
        for key, _ in offered(questions, all_leads)
        if key in saved or ("-" + key not in saved and key in defaults)
    ]


def remember(saved, offered_keys, chosen):
    """The person's new choice: what this chooser offered, shown or hidden; choices about others kept."""
    offered_keys = list(offered_keys)
    chosen = set(chosen)
    others = [key for key in (saved or ()) if key.lstrip("-") not in offered_keys]
    mine = [key if key in chosen else "-" + key for key in offered_keys]
    return (others + mine)[-MAX_REMEMBERED:]
