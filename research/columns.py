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
    raw: bool = False  # reads Lead.raw
    needs: str = ""  # "sources" or "shortlist": attached to each chunk of leads in one query


COLUMNS = {
    "name": Column("Name", lambda lead: lead.name, sort="name"),
    "headline": Column("Headline", lambda lead: lead.headline),
    "title": Column("Current title", lambda lead: lead.title, sort="title"),
    "company": Column("Company", lambda lead: lead.company, sort="company"),
    "location": Column("Location", lambda lead: lead.location, sort="location"),
    "country": Column("Country", lambda lead: lead.country),
    "linkedin_url": Column("LinkedIn URL", lambda lead: lead.linkedin_url),
    "decision_maker": Column("Decision maker", lambda lead: _yes_no(lead.is_decision_maker)),
    "status": Column(
        "Shortlist status",
        lambda lead: _entry(lead).get_status_display() if _entry(lead) else "",
        sort="status",
        needs="shortlist",
    ),
    "tags": Column(
        "Tags", lambda lead: ", ".join(_entry(lead).tag_names) if _entry(lead) else "", needs="shortlist"
    ),
    "note": Column("Note", lambda lead: _entry(lead).note if _entry(lead) else "", needs="shortlist"),
    "description": Column("Description", lambda lead: profiles.description(lead.raw), raw=True),
    "skills": Column("Skills", lambda lead: ", ".join(profiles.skills(lead.raw)), raw=True),
    "connections": Column(
        "Connections", lambda lead: profiles.count_text(lead.raw, "connections_count"), raw=True
    ),
    "followers": Column("Followers", lambda lead: profiles.count_text(lead.raw, "followers_count"), raw=True),
    "experience_months": Column(
        "Experience (months)",
        lambda lead: profiles.count_text(lead.raw, "total_experience_duration_months"),
        raw=True,
    ),
    "is_working": Column("Working now", lambda lead: _yes_no(profiles.is_working(lead.raw)), raw=True),
    "last_role": Column("Last role", lambda lead: profiles.last_role_text(lead.raw), raw=True),
    "roles": Column("Roles", lambda lead: profiles.roles_text(lead.raw), raw=True),
    "education": Column("Education", lambda lead: profiles.education_text(lead.raw), raw=True),
    "picture": Column("Picture URL", lambda lead: profiles.picture_url(lead.raw), raw=True),
    "criteria": Column(
        "Criteria (JSON)",
        lambda lead: json.dumps(lead.criteria, ensure_ascii=False) if lead.criteria else "",
    ),
    "profile_id": Column("Profile id", lambda lead: lead.profile_id),
    "job": Column("Job", lambda lead: lead.job_id),
    # All leads: every job that found this person.
    "jobs": Column(
        "Found in jobs",
        lambda lead: " ".join(str(job_id) for job_id, _ in lead.sources),
        needs="sources",
    ),
    # Everything the gateway sent, as it sent it: whatever has no column of its own is here too.
    "raw": Column("Raw result (JSON)", lambda lead: json.dumps(lead.raw, ensure_ascii=False), raw=True),
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
        return Column(question, lambda lead: answer_of((lead.criteria or {}).get(question)))
    if key.startswith(REASONING_PREFIX) and len(key) > len(REASONING_PREFIX):
        question = key[len(REASONING_PREFIX) :]
        return Column(
            f"{question} (reasoning)", lambda lead: reasoning_of((lead.criteria or {}).get(question))
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
