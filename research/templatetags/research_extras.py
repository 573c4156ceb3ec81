from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from research import columns, profiles
from research.money import format_usd
from research.profiles import answer_of

register = template.Library()


@register.filter
def usd(base_units, decimals=6):
    """{{ charge.amount|usd:charge.decimals }} -> "$0.003"."""
    if base_units is None or base_units == "":
        return "—"
    return format_usd(base_units, int(decimals))


@register.filter
def duration(delta):
    """A timedelta as "4 min 05 s" or "12 s"."""
    if delta is None:
        return "—"
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@register.filter
def answer(value):
    """A criteria value as its answer: "YES" and {"answer": "YES", "reasoning": ...} both give "YES"."""
    return answer_of(value)


@register.filter
def reasoning(value):
    return str(value.get("reasoning") or "") if isinstance(value, dict) else ""


@register.filter
def month(date_text):
    """ "2021-03-01T00:00:00" -> "2021-03"; the gateway's 1970 end date marks a current role."""
    text = str(date_text or "")
    if text.startswith("1970"):
        return "now"
    return text[:7]


@register.filter
def whole(lead):
    """{% with p=lead|whole %}: everything the gateway returned about the person, ready to show."""
    return profiles.whole(lead)


ANSWER_ICONS = {"YES": "✓", "MAYBE": "?", "NO": "✗"}


@register.simple_tag
def answer_pill(value, question=""):
    """A criteria answer as a coloured pill with the word (and an icon, so colour is never the only cue)."""
    said = answer_of(value).upper()
    if not said:
        return format_html(
            '<span class="muted" title="{}">—</span>', f"{question}: no answer" if question else ""
        )
    reason = profiles.reasoning_of(value)
    return format_html(
        '<span class="answer {}" title="{}"><span aria-hidden="true">{} </span>{}</span>',
        said.lower() if said in ANSWER_ICONS else "other",
        f"{question}: {said}" + (f" — {reason}" if reason else "") if question else reason,
        ANSWER_ICONS.get(said, "·"),
        said,
    )


SHORT = 160  # characters of a long text a table cell shows (the panel shows all of it)


@register.simple_tag
def lead_cell(lead, key):
    """One cell of the leads table: the column's value, shaped for reading (links, pills, short text)."""
    if key.startswith(columns.CRITERIA_PREFIX):
        question = key[len(columns.CRITERIA_PREFIX) :]
        return answer_pill((lead.criteria or {}).get(question), question)
    if key == "title" and not lead.title:
        role = profiles.last_role(lead.raw)
        if role is not None:
            return format_html(
                '<span class="muted">Last role: {}</span>',
                " at ".join(filter(None, (role.title, role.company))),
            )
        return format_html('<span class="muted">{}</span>', Truncator(lead.headline).chars(SHORT))
    if key == "linkedin_url":
        if not lead.linkedin_url.lower().startswith(("https://", "http://")):
            return lead.linkedin_url
        return format_html(
            '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">LinkedIn'
            '<span class="sr-only"> profile of {} (opens in a new tab)</span></a>',
            lead.linkedin_url,
            lead.name,
        )
    if key == "jobs":
        return format_html_join(
            ", ",
            '<a href="{}" title="{}">#{}</a>',
            (
                (reverse("research:job_detail", args=[job_id]), query or "", job_id)
                for job_id, query in lead.sources
            ),
        )
    if key == "tags":
        entry = getattr(lead, "entry", None)
        return (
            format_html_join(" ", '<span class="chip">{}</span>', ((t,) for t in entry.tag_names))
            if entry
            else ""
        )
    if key == "picture":
        url = profiles.picture(lead.raw)
        return format_html('<img src="{}" alt="" class="avatar small" loading="lazy">', url) if url else ""
    value = columns.column(key).value(lead)
    text = "" if value is None else str(value)
    if len(text) > SHORT:
        return format_html('<span title="{}">{}</span>', text[:1000], Truncator(text).chars(SHORT))
    return text


@register.filter
def months(count):
    """234 -> "19 years 6 months"."""
    years, rest = divmod(int(count or 0), 12)
    parts = [f"{years} year{'s' if years != 1 else ''}"] if years else []
    if rest or not parts:
        parts.append(f"{rest} month{'s' if rest != 1 else ''}")
    return " ".join(parts)
