"""A person's API tokens: create one (its secret shown once), see them, revoke one.

Plain forms that work without JavaScript. A token acts as its person in the API (`research.api`):
their jobs, budgets and audit trail. Only the token's SHA-256 is stored, so a secret lost is a
token to revoke and create again.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ..forms import NewTokenForm
from ..models import ApiToken


def _page(request, form, created=None, status=200):
    tokens = list(ApiToken.objects.filter(user=request.user))
    now = timezone.now()
    for token in tokens:
        token.shown_state = token.state(now)
    context = {"form": form, "tokens": tokens, "created": created}
    return TemplateResponse(request, "account/tokens.html", context, status=status)


@login_required
def token_list(request):
    """The list and the form; a POST creates a token and shows its secret on this one answer."""
    if request.method != "POST":
        return _page(request, NewTokenForm())
    form = NewTokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    days = form.cleaned_data["expires_in"]
    expires = timezone.now() + datetime.timedelta(days=days) if days else None
    token, secret = ApiToken.issue(request.user, form.cleaned_data["name"], expires_at=expires)
    response = _page(request, NewTokenForm(), created={"token": token, "secret": secret}, status=201)
    response["Cache-Control"] = "no-store"  # the secret must not stay in any cache
    return response


@login_required
@require_POST
def token_revoke(request, token_pk):
    token = get_object_or_404(ApiToken, pk=token_pk, user=request.user)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(revoked_at=timezone.now())
        messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked: it no longer works.")
    else:
        messages.info(request, f"Token “{token.name}” was already revoked.")
    return redirect("account:tokens")
