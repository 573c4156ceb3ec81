"""The wallet's read side: the team's key and address, what the chain says, and reconciliation.

- The key comes from the environment or a file (in sandbox mode a derived throwaway key); it is
  never a setting, never logged, never shown. Pages see only the address derived from it.
- Chain reads are plain JSON-RPC (`eth_call balanceOf`, `eth_getTransactionReceipt`).
- `reconcile` closes open charges from the chain by transaction hash: a receipt settles one;
  a transaction the chain doesn't know once it can no longer be included fails it. This is the
  only place a charge whose credential went out may be booked "nothing moved".

Nothing here spends: paying is `research.payments`, which takes the signing account from here.
"""

import datetime
import functools
import os

import httpx
from django.conf import settings
from django.utils import timezone

from . import ledger
from .models import AuditEvent, Charge

BALANCE_OF = "0x70a08231"  # balanceOf(address)
CURRENCY_NAMES = {settings.USDC_E.lower(): "USDC.e", settings.PATH_USD.lower(): "pathUSD"}
# A transaction whose validBefore wasn't recorded is dead after this long (pympp signs it ~60 s ahead).
TX_VALIDITY_SECONDS = 120
# The chain's clock and ours may differ a little: wait this much past validBefore before failing.
EXPIRY_MARGIN_SECONDS = 30

# A throwaway key for the sandbox chain, derived rather than stored so no key sits in the
# repository. It holds nothing anywhere real.
SANDBOX_KEY_SEED = b"clado-dashboard sandbox wallet: worthless outside the sandbox chain"


class Outage(Exception):
    """Something on our side of the gateway does not answer: nothing was paid; try again later."""


class ChainUnavailable(Outage):
    """The chain's RPC did not answer: nothing was signed, paid or changed."""


# --- The key ------------------------------------------------------------------------------


def _private_key():
    """From the environment or a file; in sandbox mode a derived throwaway key. Never logged."""
    key = os.environ.get("TEMPO_PRIVATE_KEY") or None
    key_file = os.environ.get("TEMPO_PRIVATE_KEY_FILE") or None
    if key is None and key_file is not None:
        with open(key_file, encoding="ascii") as handle:
            key = handle.read().strip()
    if key is None:
        if not settings.SANDBOX_MODE:
            raise ChainUnavailable("No wallet key configured (TEMPO_PRIVATE_KEY or TEMPO_PRIVATE_KEY_FILE).")
        from eth_hash.auto import keccak

        key = "0x" + keccak(SANDBOX_KEY_SEED).hex()
    return key


@functools.cache
def account():
    """The signing account (pympp's TempoAccount). Imports web3: call it off the page path."""
    from mpp.methods.tempo import TempoAccount

    return TempoAccount.from_key(_private_key())


def payer_address():
    return account().address


# --- Chain reads --------------------------------------------------------------------------


def chain_rpc(method, params):
    """One read-only JSON-RPC call to the chain; ChainUnavailable if it does not answer."""
    try:
        response = httpx.post(
            settings.TEMPO_RPC_URL,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=settings.GATEWAY_TIMEOUT,
        )
        response.raise_for_status()
        payload = response.json()
    except (httpx.HTTPError, ValueError) as error:
        host = httpx.URL(settings.TEMPO_RPC_URL).host
        raise ChainUnavailable(
            f"The chain RPC at {host} did not answer {method} ({type(error).__name__})."
        ) from error
    if not isinstance(payload, dict):
        raise ChainUnavailable(f"The chain RPC answered {method} with something that is not JSON-RPC.")
    if payload.get("error"):
        error = payload["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise ChainUnavailable(f"The chain RPC refused {method}: {str(message)[:200]}.")
    return payload.get("result")


def balance_of(token, address):
    """The token balance of `address` in base units, read from the chain (eth_call balanceOf)."""
    data = BALANCE_OF + address.lower().removeprefix("0x").rjust(64, "0")
    result = chain_rpc("eth_call", [{"to": token, "data": data}, "latest"])
    return int(result, 16) if result and result != "0x" else 0


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


def receipt(tx_hash):
    return chain_rpc("eth_getTransactionReceipt", [tx_hash])


def chain_status(charge):
    """What the chain says about a charge's transaction, in words."""
    if not charge.tx_hash:
        return "never signed"
    found = receipt(charge.tx_hash)
    if not found:
        return "not on chain"
    return "settled on chain" if found.get("status") == "0x1" else "reverted on chain"


def open_charges():
    """Pending and unknown charges, oldest first, each with what the chain says about it."""
    charges = list(Charge.objects.open().select_related("user", "job").order_by("created_at", "id"))
    for charge in charges:
        charge.chain_status = chain_status(charge)
    return charges


# --- Reconciliation -----------------------------------------------------------------------


def _dead_after(charge):
    """When the charge's transaction can certainly no longer be included."""
    if charge.valid_before is not None:
        return charge.valid_before + datetime.timedelta(seconds=EXPIRY_MARGIN_SECONDS)
    return charge.created_at + datetime.timedelta(seconds=TX_VALIDITY_SECONDS)


def reconcile(charge, now=None):
    """Resolve one open charge from the chain, by its transaction hash. Returns its state.

    A receipt with status 0x1 settles it; a reverted one fails it; no receipt once the
    transaction can no longer be included fails it (nothing moved); otherwise it stays open.
    """
    now = now or timezone.now()
    if charge.state not in Charge.OPEN_STATES:
        return charge.state
    if not charge.tx_hash:
        if charge.valid_before is None and now > _dead_after(charge):
            # Written before signing, never signed: the credential never went out.
            ledger.fail(charge, "Never signed: no transaction was sent.")
        # Signed but with no hash we can look up (e.g. a fee-sponsored envelope): stays open.
        return charge.state
    found = receipt(charge.tx_hash)
    if found and found.get("status") == "0x1":
        ledger.settle(charge, detail="Settled on chain (reconciled).")
    elif found:
        ledger.fail(charge, "The transaction reverted on chain: nothing moved (reconciled).")
    elif now > _dead_after(charge):
        ledger.fail(charge, "Not on chain and expired: nothing moved (reconciled).")
    return Charge.objects.get(pk=charge.pk).state


def reconcile_open(*, user=None, charge_id=None, older_than_seconds=0, limit=None):
    """Reconcile open charges (one, or all of them) against the chain.

    Audited when a person asked (`user`) or a charge changed state. Returns [(charge, state
    before, state after)]. Raises ChainUnavailable if the chain does not answer; what was
    reconciled before that stays reconciled.
    """
    cutoff = timezone.now() - datetime.timedelta(seconds=older_than_seconds)
    charges = Charge.objects.open().filter(created_at__lte=cutoff)
    if charge_id is not None:
        charges = charges.filter(pk=charge_id)
    charges = charges.select_related("user", "job").order_by("created_at", "id")
    results = []
    for charge in charges[:limit] if limit else charges:
        before = charge.state
        after = reconcile(charge)
        if user is not None or after != before:
            AuditEvent.objects.create(
                user=user,
                action=AuditEvent.Action.RECONCILE,
                job=charge.job,
                detail=f"Charge #{charge.pk} {charge.endpoint} {charge.tx_hash}: {before} -> {after}",
            )
        results.append((charge, before, after))
    return results
