from urllib.parse import urlsplit

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
def answer_pill(value, question="", labelled=False):
    """A criteria answer as a coloured pill with the word (and an icon, so colour is never the only cue).
    `labelled`: a screen reader hears the question first (a table cell, far from its column's head)."""
    said = answer_of(value).upper()
    if not said:
        return format_html(
            '<span class="muted" title="{}">—</span>', f"{question}: no answer" if question else ""
        )
    reason = profiles.reasoning_of(value)
    return format_html(
        '<span class="answer {}" title="{}">{}<span aria-hidden="true">{} </span>{}</span>',
        said.lower() if said in ANSWER_ICONS else "other",
        f"{question}: {said}" + (f" — {reason}" if reason else "") if question else reason,
        format_html('<span class="sr-only">{}: </span>', question) if labelled and question else "",
        ANSWER_ICONS.get(said, "·"),
        said,
    )


SHORT = 160  # characters of a long text a table cell shows (the panel shows all of it)


@register.simple_tag
def lead_cell(lead, key):
    """One cell of the leads table: the column's value, shaped for reading (links, pills, short text)."""
    if key.startswith(columns.CRITERIA_PREFIX):
        question = key[len(columns.CRITERIA_PREFIX) :]
        return answer_pill((lead.criteria or {}).get(question), question, labelled=True)
    if key == "title" and not lead.title:
        role = profiles.last_role(lead.raw)
        if role is not None:
            return format_html(
                '<span class="muted">Last role: {}</span>',
                " at ".join(filter(None, (role.title, role.company))),
            )
        return format_html('<span class="muted">{}</span>', Truncator(lead.headline).chars(SHORT))
    if key == "linkedin_url":
        href = safe_url(lead.linkedin_url)
        if not href:  # not http(s): shown as text, never a link
            if not lead.linkedin_url:
                return ""
            return format_html(
                '<span class="url-text" title="Not a web address, so not a link">{}</span>',
                Truncator(lead.linkedin_url).chars(60),
            )
        return format_html(
            '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">LinkedIn'
            '<span class="sr-only"> profile of {} (opens in a new tab)</span></a>',
            href,
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
        url = safe_image_url(profiles.picture(lead.raw))
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


@register.simple_tag(takes_context=True)
def ledger_link(context, url, text):
    """A figure, linked to the admin ledger rows it sums when the reader may open the admin (staff)."""
    user = context.get("user")
    if url and user is not None and user.is_staff:
        return format_html('<a href="{}">{}</a>', url, text)
    return text


def _safe(url, schemes):
    text = str(url or "").strip()
    # Browsers drop tabs and newlines inside a URL ("java\tscript:" is "javascript:") and ignore
    # leading control characters: a URL holding any of them, or spaces, is not a link.
    if not text or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in text):
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme.lower() in schemes and parts.netloc else ""


@register.filter
def safe_url(url):
    """A scraped URL if it is http(s) and may become a link, else "" (show it as text instead).

    {% with href=lead.linkedin_url|safe_url %}{% if href %}<a href="{{ href }}">…{% endif %}{% endwith %}
    """
    return _safe(url, ("http", "https"))


@register.filter
def safe_image_url(url):
    """A scraped picture's URL if it is https, else "": pictures load only over https."""
    return _safe(url, ("https",))
