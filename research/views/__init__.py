"""Pages, by audience: the sales workspace (`jobs`, `leads`) and the staff spend pages (`spend`).

Thin function views: the work is in `research.jobs` (the actions that pay), and the reading in
`research.leads`, `research.spend`, `research.wallet` and `research.pricing`. Pages read the
database only; nothing spends money on GET. Each page works without JavaScript; for HTMX
requests a view renders the named partial of the same template (django-template-partials).
"""

from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers


def render(request, template, context, partial=None):
    """The whole page, or for an HTMX request the named partial of the same template.

    htmx asks for the whole page when it restores history (back/forward with no cached copy).
    """
    wants_partial = partial and request.htmx and not request.htmx.history_restore_request
    name = f"{template}#{partial}" if wants_partial else template
    response = TemplateResponse(request, name, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def bad_request(request, message, back=None):
    """The app's 400 page, saying what was wrong: nothing was read beyond it, nothing paid."""
    context = {"message": message, "back": back}
    return TemplateResponse(request, "400.html", context, status=400)
