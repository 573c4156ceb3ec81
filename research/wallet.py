"""The wallet as admins see it: its address, its balance on chain, and charges still open.

Read-only chain lookups (eth_call balanceOf, eth_getTransactionReceipt) through
`payments.chain_rpc`; reconciliation itself is `payments.reconcile`. The private key never
leaves `payments`: only the address derived from it is shown.
"""

import httpx
from django.conf import settings

from . import payments
from .models import AuditEvent, Charge

BALANCE_OF = "0x70a08231"  # balanceOf(address)


class ChainUnavailable(Exception):
    """The chain's RPC did not answer: nothing was changed."""


def _rpc(method, params):
    try:
        return payments.chain_rpc(method, params)
    except (httpx.HTTPError, RuntimeError, ValueError) as error:
        raise ChainUnavailable(f"The chain did not answer {method}: {type(error).__name__}") from error


def balance_of(token, address):
    """The token balance of `address` in base units, read from the chain (eth_call balanceOf)."""
    data = BALANCE_OF + address.lower().removeprefix("0x").rjust(64, "0")
    result = _rpc("eth_call", [{"to": token, "data": data}, "latest"])
    return int(result, 16) if result and result != "0x" else 0


CURRENCY_NAMES = {settings.USDC_E.lower(): "USDC.e", settings.PATH_USD.lower(): "pathUSD"}


def balances(address):
    """The wallet's balance in every currency it pays in."""
    return [
        {
            "currency": currency,
            "name": CURRENCY_NAMES.get(currency.lower(), currency),
            "decimals": settings.MPP_CURRENCY_DECIMALS.get(currency.lower(), 6),
            "balance": balance_of(currency, address),
        }
        for currency in settings.MPP_CURRENCIES
    ]


def chain_status(charge):
    """What the chain says about a charge's transaction, in words."""
    if not charge.tx_hash:
        return "never signed"
    receipt = _rpc("eth_getTransactionReceipt", [charge.tx_hash])
    if not receipt:
        return "not on chain"
    return "settled on chain" if receipt.get("status") == "0x1" else "reverted on chain"


def open_charges():
    """Pending and unknown charges, oldest first, each with what the chain says about it."""
    charges = list(
        Charge.objects.filter(state__in=(Charge.State.PENDING, Charge.State.UNKNOWN))
        .select_related("user", "job")
        .order_by("created_at", "id")
    )
    for charge in charges:
        charge.chain_status = chain_status(charge)
    return charges


def reconcile(user, charge_id=None):
    """Reconcile one open charge, or all of them, against the chain; audit each one.

    Returns [(charge, state before, state after)].
    """
    charges = Charge.objects.filter(state__in=(Charge.State.PENDING, Charge.State.UNKNOWN))
    if charge_id is not None:
        charges = charges.filter(pk=charge_id)
    results = []
    for charge in charges.select_related("user", "job").order_by("created_at", "id"):
        before = charge.state
        try:
            after = payments.reconcile(charge)
        except (httpx.HTTPError, RuntimeError) as error:
            raise ChainUnavailable(f"The chain did not answer: {type(error).__name__}") from error
        AuditEvent.objects.create(
            user=user,
            action=AuditEvent.Action.RECONCILE,
            job=charge.job,
            detail=f"Charge #{charge.pk} {charge.endpoint} {charge.tx_hash}: {before} -> {after}",
        )
        results.append((charge, before, after))
    return results
