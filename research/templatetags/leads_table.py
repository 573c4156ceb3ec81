"""The rows of the leads table, written in Python: the table is the largest part of the app's busiest
pages, and a template loop with an include per row cost about as much as everything else on the page.

`lead_rows` writes every row of `leads_page` with the columns the person chose; `shortlist_cell`
is a person's status form, in the table and in the responses that replace it
(`_shortlist.html#shortlist-cell`). Everything scraped goes through `format_html`, which escapes it.
"""

from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from .research_extras import lead_cell

register = template.Library()


@register.simple_tag(takes_context=True)
def lead_rows(context):
    """Every row of the page: the tick box, the name that opens the profile, the chosen columns."""
    columns = [(key, label, slugify(key)) for key, label, _sort, _direction in context["table_columns"]]
    table_url, view_query = context.get("table_url", ""), context.get("view_query", "")
    back = quote(str(table_url), safe="/") + quote(str(view_query), safe="/")
    next_url = f"{table_url}{view_query}"
    width = len(columns) + 2
    rows = []
    for lead in context["leads_page"]:
        detail = reverse("research:lead_detail", args=[lead.pk])
        cells = []
        for key, label, slug in columns:
            if key == "status":
                cell = shortlist_cell(context, lead, next_url)
                cells.append(format_html('<td class="col-status" data-label="{}">{}</td>', label, cell))
            else:
                value = conditional_escape(lead_cell(lead, key))
                cells.append(format_html('<td class="col-{}" data-label="{}">{}</td>', slug, label, value))
        tick = (
            format_html(
                '<input type="checkbox" name="person" value="{}" form="bulk" aria-label="Tick {}">',
                lead.person_id,
                lead.name or "this person",
            )
            if lead.person_id
            else ""
        )
        rows.append(
            format_html(
                '<tr id="lead-{pk}">\n<td class="col-select">{tick}</td>\n<td class="col-name">\n'
                '<a class="lead-open" id="lead-{pk}-open" href="{detail}?next={back}"\n'
                ' hx-get="{detail}" hx-target="#panel-{pk}" hx-swap="innerHTML"\n'
                ' aria-expanded="false" aria-controls="panel-row-{pk}">'
                '<span class="lead-name">{name}</span></a>{dm}\n</td>\n{cells}\n</tr>\n'
                '<tr class="panel-row" id="panel-row-{pk}" hidden>'
                '<td colspan="{width}" id="panel-{pk}"></td></tr>\n',
                pk=lead.pk,
                tick=tick,
                detail=detail,
                back=mark_safe(back),  # already quoted for a query string
                name=lead.name or "(no name)",
                dm=mark_safe(' <span class="tag" title="Decision maker">DM</span>')
                if lead.is_decision_maker
                else "",
                cells=mark_safe("\n".join(cells)),
                width=width,
            )
        )
    return mark_safe("".join(rows))


@register.simple_tag(takes_context=True)
def shortlist_cell(context, lead, next_url=None, oob=False):
    """A person's shortlist status: a form that saves itself on change (a Save button without JavaScript)."""
    if not next_url:
        request = context.get("request")
        next_url = request.get_full_path() if request is not None else ""
    action = reverse("research:shortlist_update", args=[lead.person_id]) if lead.person_id else ""
    entry = getattr(lead, "entry", None)
    status = getattr(entry, "status", None)
    inside = ""
    if lead.person_id:
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (value, mark_safe(" selected") if status == value else "", label)
                for value, label in context.get("statuses") or ()
            ),
        )
        tags = getattr(entry, "tag_names", None)
        inside = format_html(
            '\n<label class="sr-only" for="status-{pk}">Shortlist status of {name}</label>\n'
            '<select name="status" id="status-{pk}" class="status-select {css}">{none}{options}</select>\n'
            '<button type="submit" class="secondary small js-hide">Save</button>{chips}\n',
            pk=lead.pk,
            name=lead.name,
            css=status or "none",
            none=mark_safe('<option value="" selected>Not shortlisted</option>') if not entry else "",
            options=options,
            chips=format_html(
                '<span class="chips">{}</span>',
                format_html_join("", '<span class="chip">{}</span>', ((tag,) for tag in tags)),
            )
            if tags
            else "",
        )
    return format_html(
        '<form method="post" action="{action}" class="shortlist-cell" id="shortlist-cell-{person}"\n'
        ' hx-post="{action}" hx-trigger="change" hx-swap="outerHTML"{oob}>\n'
        '<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        '<input type="hidden" name="next" value="{next}"><input type="hidden" name="part" value="cell">'
        '<input type="hidden" name="lead" value="{pk}">{inside}</form>',
        action=action,
        person=lead.person_id if lead.person_id is not None else "None",
        oob=mark_safe(' hx-swap-oob="true"') if oob else "",
        csrf=str(context.get("csrf_token", "")),
        next=next_url,
        pk=lead.pk,
        inside=inside,
    )
