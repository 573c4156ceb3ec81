"""The whole profile of a lead, read from the raw JSON the gateway returned (`Lead.raw`).

Read tolerantly: every field may be missing, null or of another type than documented, and all
of it is untrusted scraped text. Nothing here touches the database.
"""

import json
from dataclasses import dataclass

CURRENT_ROLE_END = "1970-01-01"  # the gateway's end date of a role someone still holds
PICTURE_KEYS = ("picture_url", "picture_permalink", "profile_picture_url", "profile_picture", "photo_url")
# Profile fields shown or exported under a name of their own; anything else is kept as "other fields".
KNOWN_PROFILE_KEYS = {  # (the picture key used is known too: see `other_fields`)
    "id",
    "name",
    "headline",
    "location",
    "location_country",
    "linkedin_url",
    "description",
    "connections_count",
    "followers_count",
    "is_working",
    "is_decision_maker",
    "total_experience_duration_months",
    "skills",
    "criteria",
}
KNOWN_RESULT_KEYS = {"profile", "experience", "education"}


@dataclass(frozen=True)
class Role:
    title: str
    company: str
    start: str  # "2021-03", or ""
    end: str  # "2023-05", or "" (current roles have none)
    current: bool
    description: str
    location: str

    def __str__(self):
        what = " at ".join(part for part in (self.title, self.company) if part) or "(a role)"
        where = f", {self.location}" if self.location else ""
        return f"{what} ({self.start or '?'} – {'now' if self.current else self.end or '?'}{where})"


def answer_of(value):
    """The answer of one criteria value, whichever shape it came in ("YES" or {"answer": "YES", ...})."""
    if isinstance(value, dict):
        value = value.get("answer", "")
    return "" if value is None else str(value)


def reasoning_of(value):
    return text(value.get("reasoning")) if isinstance(value, dict) else ""


def profile(raw):
    """The profile object of one result (the result itself if it has none)."""
    raw = raw if isinstance(raw, dict) else {}
    return raw["profile"] if isinstance(raw.get("profile"), dict) else raw


def text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def number(value):
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def flag(value):
    """True, False or None from a boolean the gateway may send as 1/0 or "true"/"false"."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.strip().lower() in ("true", "1", "yes")
    return None


def _month(date_text):
    return text(date_text)[:7]


def _is_current(entry):
    return text(entry.get("end_date")).startswith(CURRENT_ROLE_END) or entry.get("is_current") is True


def roles(raw):
    """Every role, in the gateway's order, the current ones marked."""
    entries = (raw or {}).get("experience") if isinstance(raw, dict) else None
    found = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        current = _is_current(entry)
        found.append(
            Role(
                title=text(entry.get("title")),
                company=text(entry.get("company_name") or entry.get("company")),
                start=_month(entry.get("start_date")),
                end="" if current else _month(entry.get("end_date")),
                current=current,
                description=text(entry.get("description")),
                location=text(entry.get("location")),
            )
        )
    return found


def is_working(raw):
    """Whether the person holds a role now: the gateway's flag, else whether a role is current."""
    said = flag(profile(raw).get("is_working"))
    return said if said is not None else any(role.current for role in roles(raw))


def last_role(raw):
    """The role someone who is not working held last (the latest end date), or None."""
    all_roles = roles(raw)
    if any(role.current for role in all_roles) or not all_roles:
        return None
    return max(all_roles, key=lambda role: role.end or "")


def education(raw):
    entries = (raw or {}).get("education") if isinstance(raw, dict) else None
    schools = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            degree = ", ".join(p for p in (text(entry.get("degree")), text(entry.get("field_of_study"))) if p)
            schools.append(
                {"degree": degree, "school": text(entry.get("school_name") or entry.get("school"))}
            )
    return schools


def skills(raw):
    found = profile(raw).get("skills")
    names = []
    for skill in found if isinstance(found, list) else []:
        name = text(skill.get("name") if isinstance(skill, dict) else skill).strip()
        if name:
            names.append(name)
    return names


def _picture_key(fields):
    return next((key for key in PICTURE_KEYS if text(fields.get(key)).strip()), None)


def picture_url(raw):
    """The profile picture's URL as the gateway sent it, or ""."""
    fields = profile(raw)
    key = _picture_key(fields)
    return text(fields.get(key)).strip() if key else ""


def picture(raw):
    """The picture's URL if a page may show it (https only), or "" (the page shows initials instead)."""
    url = picture_url(raw)
    return url if url.lower().startswith("https://") else ""


def description(raw):
    return text(profile(raw).get("description") or profile(raw).get("summary"))


def connections(raw):
    return number(profile(raw).get("connections_count"))


def followers(raw):
    return number(profile(raw).get("followers_count"))


def count_text(raw, key):
    """A count for a cell: the number, or whatever the gateway sent if it is not one ("500+")."""
    value = profile(raw).get(key)
    return number(value) if number(value) is not None else text(value)


def experience_months(raw):
    return number(profile(raw).get("total_experience_duration_months"))


def other_fields(raw):
    """What the gateway sent that has no column of its own, as JSON ("" when nothing): nothing is lost."""
    raw = raw if isinstance(raw, dict) else {}
    known = KNOWN_PROFILE_KEYS | {_picture_key(profile(raw))}
    extra = {key: value for key, value in profile(raw).items() if key not in known}
    if raw.get("profile") is not None:
        extra.update({key: value for key, value in raw.items() if key not in KNOWN_RESULT_KEYS})
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else ""


def roles_text(raw):
    """Every role, one per line: "Title at Company (2021-03 – now)" and its description after a dash."""
    return "\n".join(
        str(role) + (f" — {role.description}" if role.description else "") for role in roles(raw)
    )


def education_text(raw):
    return "\n".join(" — ".join(p for p in (s["degree"], s["school"]) if p) for s in education(raw))


def last_role_text(raw):
    role = last_role(raw)
    return str(role) if role else ""


def title_or_headline(lead):
    """What a CRM's job title field gets: the current title, else (someone not working) the headline."""
    return lead.title or lead.headline


@dataclass(frozen=True)
class Whole:
    """Everything the gateway returned about one person, ready to show."""

    picture: str
    initials: str
    headline: str
    current: str  # "Title at Company" of the current role, or ""
    description: str
    location: str
    country: str
    skills: list
    connections: int | None
    followers: int | None
    experience_months: int | None
    is_working: bool
    decision_maker: bool | None
    roles: list
    last_role: Role | None
    education: list
    criteria: list  # [(question, answer, reasoning)]
    other: str


def whole(lead):
    raw = lead.raw or {}
    criteria = lead.criteria if isinstance(lead.criteria, dict) else {}
    initials = "".join(part[0] for part in (lead.name or "?").split()[:2] if part[:1].isalpha()) or "?"
    return Whole(
        picture=picture(raw),
        initials=initials.upper(),
        headline=lead.headline,
        current=" at ".join(part for part in (lead.title, lead.company) if part),
        description=description(raw),
        location=lead.location,
        country=lead.country,
        skills=skills(raw),
        connections=connections(raw),
        followers=followers(raw),
        experience_months=experience_months(raw),
        is_working=is_working(raw),
        decision_maker=lead.is_decision_maker,
        roles=roles(raw),
        last_role=last_role(raw),
        education=education(raw),
        criteria=[(question, answer_of(value), reasoning_of(value)) for question, value in criteria.items()],
        other=other_fields(raw),
    )
