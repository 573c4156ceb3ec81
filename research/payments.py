"""The wallet: pays the gateway's MPP challenges with pympp, carefully.

`paid_post()` is the only way money leaves. For one call it:
- sends the request; a `402` carries the gateway's price in a Tempo charge challenge;
- lets pympp refuse any challenge outside our policy (the endpoint's price ceiling, our
  currencies, recipients, chain and gateway origin) and refuses it again itself;
- reserves the amount against the budgets and writes the `Charge` row *before* signing
  (`research.ledger.open_charge`), records the transaction hash once signed, and only then
  lets the paid retry go out;
- settles the row from the `Payment-Receipt`, fails it when the credential was rejected
  (nothing moved), and marks it *unknown* on a timeout or a `5xx` after the paid retry,
  for `reconcile()` to resolve against the chain by transaction hash. It never re-pays.

pympp is async (httpx); Django code here is sync, so `paid_post` bridges with asgiref's
`async_to_sync` and the ledger writes run through `sync_to_async`. pympp's Tempo support
imports web3 (slow), so it is imported inside the functions that sign, never at start-up.
"""

import functools
import logging
import os
from dataclasses import dataclass, field

import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from . import ledger
from .ledger import BudgetExceeded
from .money import format_usd

log = logging.getLogger(__name__)

# A throwaway key for the sandbox chain, derived rather than stored so no key sits in the
# repository. It holds nothing anywhere real.
SANDBOX_KEY_SEED = b"clado-dashboard sandbox wallet: worthless outside the sandbox chain"

__all__ = [
    "BudgetExceeded",
    "GatewayUnreachable",
    "PaidResponse",
    "PaymentOutcomeUnknown",
    "PaymentRefused",
    "paid_post",
    "payer_address",
    "reconcile",
]


class PaymentRefused(Exception):
    """The gateway asked for something we won't pay (or can't): nothing was paid."""


class PaymentOutcomeUnknown(Exception):
    """The paid retry went out but no answer came back: the charge is left *unknown*."""

    def __init__(self, message, charge):
        super().__init__(message)
        self.charge = charge


class GatewayUnreachable(Exception):
    """No answer from the gateway before any payment: nothing was paid."""


@dataclass
class PaidResponse:
    status_code: int
    headers: httpx.Headers
    content: bytes
    charge: object = None  # the Charge row, when the call was paid

    @property
    def ok(self):
        return 200 <= self.status_code < 300


# --- The wallet ---------------------------------------------------------------------------


def _private_key():
    """From the environment or a file; in sandbox mode a derived throwaway key. Never logged."""
    key = os.environ.get("TEMPO_PRIVATE_KEY") or None
    key_file = os.environ.get("TEMPO_PRIVATE_KEY_FILE") or None
    if key is None and key_file is not None:
        with open(key_file, encoding="ascii") as handle:
            key = handle.read().strip()
    if key is None:
        if not settings.SANDBOX_MODE:
            raise PaymentRefused("No wallet key configured (TEMPO_PRIVATE_KEY).")
        from eth_hash.auto import keccak

        key = "0x" + keccak(SANDBOX_KEY_SEED).hex()
    return key


@functools.cache
def _account():
    from mpp.methods.tempo import TempoAccount

    return TempoAccount.from_key(_private_key())


def payer_address():
    return _account().address


# --- One paid call ------------------------------------------------------------------------


def table_price(endpoint, body):
    """What this call should cost, from our own price table (base units)."""
    if endpoint == "deep-research":
        return settings.PRICE_PER_RESULT * int(body.get("limit") or 30) + settings.PRICE_CALL
    if endpoint == "deep-research-more":
        return settings.PRICE_PER_RESULT * int(body.get("additional_limit") or 30) + settings.PRICE_CALL
    return settings.PRICE_CALL


def price_ceiling(endpoint, body):
    """The most we pay for this call: flat prices exactly, dynamic ones with a tolerance."""
    price = table_price(endpoint, body)
    if endpoint in ("deep-research", "deep-research-more"):
        price += price * settings.MPP_PRICE_TOLERANCE_PERCENT // 100
    return price


def paid_post(endpoint, body, *, user=None, job=None):
    """POST `body` to the gateway's `endpoint`, paying its challenge if it is within policy."""
    return async_to_sync(_paid_post)(endpoint, body, user, job)


@dataclass
class _Call:
    endpoint: str
    user: object
    job: object
    ceiling: int
    charge: object = None
    refusal: Exception | None = field(default=None)


async def _paid_post(endpoint, body, user, job):
    from mpp.client import PaymentTransport
    from mpp.errors import PaymentError, PaymentOutcomeUnknownError

    call = _Call(endpoint, user, job, price_ceiling(endpoint, body))
    url = f"{settings.CLADO_MPP_URL}/clado/{endpoint}"
    origin = str(httpx.URL(url).copy_with(path="/", query=None, fragment=None)).rstrip("/")
    transport = PaymentTransport(
        methods=[_write_ahead_method(call)],
        inner=httpx.AsyncHTTPTransport(),
        allowed_origins=[origin],
        max_payment_retries=1,  # a second 402 is returned, never paid again
        paid_retry_timeout=settings.GATEWAY_PAID_TIMEOUT,
    )
    async with httpx.AsyncClient(transport=transport, timeout=settings.GATEWAY_TIMEOUT) as client:
        try:
            response = await client.post(url, json=body)
        except PaymentOutcomeUnknownError as error:
            detail = f"No answer after the paid retry: {type(error.cause).__name__}"
            await _mark_unknown(call, detail)
            raise PaymentOutcomeUnknown(detail, call.charge) from error
        except (BudgetExceeded, PaymentRefused):
            raise
        except PaymentError as error:
            raise PaymentRefused(str(error)) from error
        except httpx.HTTPError as error:
            if call.charge is not None:  # defensive: pympp reports these as outcome-unknown
                await _mark_unknown(call, f"{type(error).__name__} after the paid retry")
                raise PaymentOutcomeUnknown(str(error), call.charge) from error
            raise GatewayUnreachable(f"{type(error).__name__}: {error}") from error
        except ValueError as error:
            # pympp's policy check before signing (amount cap, recipient, chain).
            if call.charge is None:
                raise PaymentRefused(str(error)) from error
            raise

    paid = PaidResponse(response.status_code, response.headers, response.content, call.charge)
    if call.charge is None:
        if response.status_code == 402:
            raise PaymentRefused(_describe_refusal(response, call))
        return paid
    await sync_to_async(_close_charge)(call.charge, paid)
    return paid


def _write_ahead_method(call):
    """pympp's Tempo charge method, wrapped so the ledger is written before anything is sent."""
    from mpp import Credential
    from mpp.methods.tempo import client as tempo
    from mpp.runtime import ClientMethod

    inner = tempo.charge(
        account=_account(),
        rpc_url=settings.TEMPO_RPC_URL,
        chain_id=settings.TEMPO_CHAIN_ID,
        currencies=settings.MPP_CURRENCIES,
        max_atomic_amount=call.ceiling,
        expected_recipients=settings.MPP_RECIPIENTS,
        allowed_chain_ids=[settings.TEMPO_CHAIN_ID],
    )

    async def create_credential(params):
        challenge = params.challenge
        amount = int(challenge.request["amount"])
        if not 0 < amount <= call.ceiling:  # pympp checked already; money deserves two looks
            raise PaymentRefused(f"Gateway asked {format_usd(amount)}, more than expected.")
        call.charge = await sync_to_async(ledger.open_charge)(
            amount=amount,
            user=call.user,
            job=call.job,
            endpoint=call.endpoint,
            challenge=challenge,
            payer=_account().address,
        )
        try:
            serialized = await inner.create_credential(params)
        except Exception as error:
            await sync_to_async(ledger.fail)(call.charge, f"Signing failed: {type(error).__name__}")
            call.charge = None
            raise
        tx_hash = inner.transaction_hash(Credential.from_authorization(serialized))
        await sync_to_async(ledger.record_hash)(call.charge, tx_hash)
        return serialized

    return ClientMethod(
        method=inner.method,
        create_credential=create_credential,
        can_handle_challenge=inner.can_handle_challenge,
        transaction_hash=inner.transaction_hash,
    )


def _close_charge(charge, response):
    """Settle, fail or leave unknown the charge of a paid retry, from its response."""
    from mpp import Receipt

    header = response.headers.get("payment-receipt")
    if header:
        try:
            receipt = Receipt.from_payment_receipt(header)
        except Exception:  # a garbled receipt still means the gateway took the payment
            receipt = None
        if receipt is not None and charge.tx_hash and receipt.reference.lower() != charge.tx_hash:
            log.warning("Receipt %s names another transaction than charge %s", receipt.reference, charge.pk)
            ledger.mark_unknown(charge, f"Receipt names {receipt.reference}")
            return
        ledger.settle(charge)
    elif response.status_code in (402, 403):
        ledger.fail(charge, f"Credential rejected with HTTP {response.status_code}; nothing moved.")
    else:
        ledger.mark_unknown(charge, f"HTTP {response.status_code} without a receipt after paying.")


async def _mark_unknown(call, detail):
    if call.charge is not None:
        await sync_to_async(ledger.mark_unknown)(call.charge, detail)


def _describe_refusal(response, call):
    """Why a 402 was not paid, in words a person can act on."""
    from mpp import Challenge

    offers = []
    for header in response.headers.get_list("www-authenticate"):
        try:
            offers.append(Challenge.from_www_authenticate(header))
        except Exception:
            continue
    if not offers:
        return "The gateway asked for payment in a form this wallet does not understand."
    request = offers[0].request
    amount = request.get("amount")
    asked = format_usd(amount) if str(amount).isdigit() else repr(amount)
    parts = [f"The gateway asked {asked}"]
    parts.append(f"(we expect at most {format_usd(call.ceiling)} for {call.endpoint})")
    recipient = str(request.get("recipient", ""))
    if recipient.lower() not in {r.lower() for r in settings.MPP_RECIPIENTS}:
        parts.append(f"to an unexpected recipient {recipient}")
    currency = str(request.get("currency", ""))
    if currency.lower() not in {c.lower() for c in settings.MPP_CURRENCIES}:
        parts.append(f"in an unexpected currency {currency}")
    chain = (request.get("methodDetails") or {}).get("chainId")
    if chain is not None and int(chain) != settings.TEMPO_CHAIN_ID:
        parts.append(f"on chain {chain} instead of {settings.TEMPO_CHAIN_ID}")
    return " ".join(parts) + ". Nothing was paid."


# --- Reconciliation -----------------------------------------------------------------------


def chain_rpc(method, params):
    """One JSON-RPC call to the chain (read-only lookups for reconciliation and balances)."""
    response = httpx.post(
        settings.TEMPO_RPC_URL,
        json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
        timeout=settings.GATEWAY_TIMEOUT,
    )
    response.raise_for_status()
    payload = response.json()
    if payload.get("error"):
        raise RuntimeError(f"{method}: {payload['error'].get('message', payload['error'])}")
    return payload.get("result")


# A signed transaction is valid for at most this long (pympp signs `valid_before` about 60 s
# ahead, capped at the challenge's expiry): a hash still unknown to the chain after it is dead.
TX_VALIDITY_SECONDS = 120


def reconcile(charge, now=None):
    """Resolve a pending or unknown charge from the chain, by its transaction hash.

    Returns the charge's new state. A receipt with status 0x1 settles it; no receipt once the
    transaction can no longer be included fails it (nothing moved); otherwise it stays open.
    """
    from django.utils import timezone

    from .models import Charge

    now = now or timezone.now()
    if charge.state not in ledger.OPEN:
        return charge.state
    if not charge.tx_hash:
        if (now - charge.created_at).total_seconds() > TX_VALIDITY_SECONDS:
            ledger.fail(charge, "Never signed: no transaction was sent.")
        return charge.state
    receipt = chain_rpc("eth_getTransactionReceipt", [charge.tx_hash])
    if receipt and receipt.get("status") == "0x1":
        ledger.settle(charge, detail="Settled on chain (reconciled).")
    elif receipt:
        ledger.fail(charge, "Transaction reverted on chain (reconciled).")
    elif (now - charge.created_at).total_seconds() > TX_VALIDITY_SECONDS:
        ledger.fail(charge, "Transaction never included and now expired (reconciled).")
    return Charge.objects.get(pk=charge.pk).state
