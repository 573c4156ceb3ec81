from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html

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
