"""The staff pages: where the money went (the spend overview) and the wallet it came from.

Thin views: figures come from `research.spend`, the address, balances, open charges and
reconciliation from `research.wallet`. Reconciling settles or fails charges; it never pays.
Staff see everything; a team lead (`research.access`) sees the spend overview of their own
teams; anyone else gets the app's 403 page.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from .. import spend, wallet
from ..access import spend_viewer_required, staff_required


@spend_viewer_required
@require_GET
def spend_overview(request):
    teams = request.spend_teams  # None: everything (staff)
    context = spend.overview(request.GET.get("period", "month"), teams=teams)
    context["budgets"] = spend.budgets(teams=teams)
    context["audit"] = spend.audit_trail(teams)
    context["teams"] = teams
    return TemplateResponse(request, "spend/overview.html", context)


@staff_required
@require_GET
def wallet_status(request):
    address = wallet.payer_address()
    context = {"address": address, "chain_error": None, "balances": [], "open_charges": []}
    try:
        context["balances"] = wallet.balances(address)
        context["open_charges"] = wallet.open_charges()
    except wallet.ChainUnavailable as error:
        context["chain_error"] = str(error)
    return TemplateResponse(request, "spend/wallet.html", context)


@staff_required
@require_POST
def wallet_reconcile(request):
    """Check open charges against the chain (one, or all): settles or fails them, never pays."""
    charge_id = request.POST.get("charge") or None
    if charge_id is not None and not (charge_id.isascii() and charge_id.isdigit()):
        messages.error(request, "That is not a charge number. Nothing was changed.")
        return redirect("spend:wallet")
    try:
        results = wallet.reconcile_open(user=request.user, charge_id=charge_id and int(charge_id))
    except wallet.ChainUnavailable as error:
        messages.error(request, f"{error} Nothing was changed.")
        return redirect("spend:wallet")
    if not results:
        messages.info(request, "Nothing to reconcile.")
    for charge, before, after in results:
        messages.success(request, f"Charge #{charge.pk}: {before} → {after}.")
    return redirect("spend:wallet")
