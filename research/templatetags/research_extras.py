from django import template

from research.leads import answer_of
from research.money import format_usd

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
