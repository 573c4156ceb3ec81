"""Staff pages: the spend overview and the wallet. Thin views: figures come from
`research.spend`, chain lookups and reconciliation from `research.wallet`."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from research import payments, spend, wallet
from research.models import AuditEvent


@staff_member_required
@require_GET
def spend_overview(request):
    context = spend.overview(request.GET.get("period", "month"))
    context["budgets"] = spend.budgets()
    context["audit"] = AuditEvent.objects.select_related("user", "job")[:15]
    return TemplateResponse(request, "spend/overview.html", context)


@staff_member_required
@require_GET
def wallet_status(request):
    address = payments.payer_address()
    context = {"address": address, "chain_error": None, "balances": [], "open_charges": []}
    try:
        context["balances"] = wallet.balances(address)
        context["open_charges"] = wallet.open_charges()
    except wallet.ChainUnavailable as error:
        context["chain_error"] = str(error)
    return TemplateResponse(request, "spend/wallet.html", context)


@staff_member_required
@require_POST
def wallet_reconcile(request):
    """Check open charges against the chain (one, or all): settles or fails them, never pays."""
    charge_id = request.POST.get("charge") or None
    try:
        results = wallet.reconcile(request.user, charge_id=charge_id)
    except wallet.ChainUnavailable as error:
        messages.error(request, f"{error}. Nothing was changed.")
        return redirect("spend:wallet")
    if not results:
        messages.info(request, "Nothing to reconcile.")
    for charge, before, after in results:
        messages.success(request, f"Charge #{charge.pk}: {before} → {after}.")
    return redirect("spend:wallet")
