"""The rows of the leads table, written in Python: the table is the largest part of the app's busiest
pages, and a template loop with an include per row cost about as much as everything else on the page.

`lead_rows` writes every row of `leads_page` with the columns the person chose; `shortlist_cell`
is a person's status form, in the table and in the responses that replace it
(`_shortlist.html#shortlist-cell`). Everything scraped is escaped (`escape`) as it is written in;
what is shared by every row (URLs, the form token, the status options) is worked out once a page.
"""

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from .research_extras import lead_cell

register = template.Library()


SENTINEL = 987654321  # a pk no row has: reversed once a page, then filled in per row


def _url_of(name):
    """A function pk -> the URL `name` reverses to for that pk: one reverse() a page, not one a row."""
    prefix, _, suffix = reverse(name, args=[SENTINEL]).partition(str(SENTINEL))
    return lambda pk: f"{prefix}{pk}{suffix}"


@register.simple_tag(takes_context=True)
def lead_rows(context):
    """Every row of the page: the tick box, the name that opens the profile, the chosen columns."""
    columns = [
        (key, escape(label), slugify(key)) for key, label, _sort, _direction in context["table_columns"]
    ]
    table_url, view_query = context.get("table_url", ""), context.get("view_query", "")
    back = escape(quote(str(table_url), safe="/") + quote(str(view_query), safe="/"))
    cell_of = Cells(context, f"{table_url}{view_query}")
    detail_of = _url_of("research:lead_detail")
    width = len(columns) + 2
    rows = []
    for lead in context["leads_page"]:
        pk, name = lead.pk, escape(lead.name or "")
        cells = "\n".join(
            f'<td class="col-status" data-label="{label}">{cell_of(lead)}</td>'
            if key == "status"
            else f'<td class="col-{slug}" data-label="{label}">{_cell(lead, key)}</td>'
            for key, label, slug in columns
        )
        tick = (
            f'<input type="checkbox" name="person" value="{lead.person_id}" form="bulk" '
            f'aria-label="Tick {name or "this person"}">'
            if lead.person_id
            else ""
        )
        dm = ' <span class="tag" title="Decision maker">DM</span>' if lead.is_decision_maker else ""
        detail = detail_of(pk)
        rows.append(
            f'<tr id="lead-{pk}">\n<td class="col-select">{tick}</td>\n<td class="col-name">\n'
            f'<a class="lead-open" id="lead-{pk}-open" href="{detail}?next={back}"\n'
            f' hx-get="{detail}" hx-target="#panel-{pk}" hx-swap="innerHTML"\n'
            f' aria-expanded="false" aria-controls="panel-row-{pk}">'
            f'<span class="lead-name">{name or "(no name)"}</span></a>{dm}\n</td>\n{cells}\n</tr>\n'
            f'<tr class="panel-row" id="panel-row-{pk}" hidden>'
            f'<td colspan="{width}" id="panel-{pk}"></td></tr>\n'
        )
    return mark_safe("".join(rows))


def _cell(lead, key):
    return conditional_escape(lead_cell(lead, key))


class Cells:
    """Shortlist cells for one page: what every row shares (URL, token, options) worked out once."""

    def __init__(self, context, next_url=None, oob=False):
        if not next_url:
            request = context.get("request")
            next_url = request.get_full_path() if request is not None else ""
        self.next_url = escape(next_url)
        self.csrf = escape(str(context.get("csrf_token", "")))
        self.statuses = [
            (escape(value), value, escape(label)) for value, label in context.get("statuses") or ()
        ]
        self.url_of = _url_of("research:shortlist_update")
        self.oob = ' hx-swap-oob="true"' if oob else ""
        self.options = {}

    def _options(self, status):
        if status not in self.options:
            self.options[status] = "".join(
                f'<option value="{value}"{" selected" if status == raw else ""}>{label}</option>'
                for value, raw, label in self.statuses
            )
        return self.options[status]

    def __call__(self, lead):
        person, pk = lead.person_id, lead.pk
        action = self.url_of(person) if person else ""
        entry = getattr(lead, "entry", None)
        status = getattr(entry, "status", None)
        inside = ""
        if person:
            tags = getattr(entry, "tag_names", None)
            chips = (
                '<span class="chips">'
                + "".join(f'<span class="chip">{escape(t)}</span>' for t in tags)
                + "</span>"
                if tags
                else ""
            )
            none = '<option value="" selected>Not shortlisted</option>' if not entry else ""
            inside = (
                f'\n<label class="sr-only" for="status-{pk}">'
                f"Shortlist status of {escape(lead.name)}</label>\n"
                f'<select name="status" id="status-{pk}" class="status-select {escape(status or "none")}">'
                f"{none}{self._options(status)}</select>\n"
                f'<button type="submit" class="secondary small js-hide">Save</button>{chips}\n'
            )
        return mark_safe(
            f'<form method="post" action="{action}" class="shortlist-cell" id="shortlist-cell-{person}"\n'
            f' hx-post="{action}" hx-trigger="change" hx-swap="outerHTML"{self.oob}>\n'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{self.csrf}">'
            f'<input type="hidden" name="next" value="{self.next_url}">'
            '<input type="hidden" name="part" value="cell">'
            f'<input type="hidden" name="lead" value="{pk}">{inside}</form>'
        )


@register.simple_tag(takes_context=True)
def shortlist_cell(context, lead, next_url=None, oob=False):
    """A person's shortlist status: a form that saves itself on change (a Save button without JavaScript)."""
    return Cells(context, next_url, oob)(lead)
