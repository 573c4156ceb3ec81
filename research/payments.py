"""The one door money leaves by: `paid_post()` pays the gateway's MPP challenges with pympp, carefully.

Only `research.clado` calls it. For one call it:
- sends the request; a `402` carries the gateway's price in a Tempo charge challenge;
- refuses, before anything is signed, any challenge outside our policy: expired, to another
  recipient, in another currency, on another chain, an amount that is not a positive integer,
  or above what `research.pricing` says this endpoint costs (pympp checks the same again:
  `max_atomic_amount`, `expected_recipients`, `allowed_chain_ids`, `allowed_origins`);
- reserves the amount against the budgets and writes the `Charge` row *before* signing
  (`research.ledger.open_charge`), records the transaction hash and its expiry once signed,
  and only then lets the paid retry go out;
- settles the row from the `Payment-Receipt`. Any other answer to the paid retry (402, 403,
  5xx, a timeout, garbage) leaves it *unknown* until the chain says (`research.wallet.reconcile`):
  a gateway may broadcast and then reject, so its word alone never books "nothing moved".
  It never re-pays.

pympp is async (httpx); Django code here is sync, so `paid_post` bridges with asgiref's
`async_to_sync` and the ledger writes run through `sync_to_async`. pympp's Tempo support
imports web3 (slow), so it is imported inside the functions that sign, never at start-up.
"""

import datetime
import logging
import re
from dataclasses import dataclass, field

import httpx
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings

from . import ledger, pricing, wallet
from .budgets import BudgetExceeded
from .money import format_usd

log = logging.getLogger(__name__)

__all__ = [
    "BudgetExceeded",
    "GatewayUnreachable",
    "PaidResponse",
    "PaymentOutcomeUnknown",
    "PaymentRefused",
    "paid_post",
    "warm_up",
]


class PaymentRefused(Exception):
    """The gateway asked for something we won't pay: nothing was signed or paid."""


class PaymentOutcomeUnknown(Exception):
    """The paid retry went out but no answer came back: the charge is left *unknown*."""

    def __init__(self, message, charge):
        super().__init__(message)
        self.charge = charge


class GatewayUnreachable(wallet.Outage):
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


def paid_post(endpoint, body, *, user=None, job=None, headroom=0, max_amount=None):
    """POST `body` to the gateway's `endpoint`, paying its challenge if it is within policy.

    `headroom`: base units the budgets must have room for beyond this call (not reserved).
    `max_amount`: the most the caller accepts (base units); it can only lower the ceiling.
    """
    ceiling = pricing.price_ceiling(endpoint, body)
    if max_amount is not None:
        ceiling = min(ceiling, int(max_amount))
    return async_to_sync(_paid_post)(endpoint, body, user, job, headroom, ceiling)


def warm_up():
    """Load what a paid call needs and derive the signing account, so a worker's first paid call
    costs what later ones do: pympp's client and Tempo method, pytempo and web3 (which pympp only
    imports while signing, about a second), and httpx's async stack, through one free chain read.

    Signs, pays and writes nothing. A worker calls it when it starts; pages never do.
    """
    import rlp  # noqa: F401 - _valid_before reads the signed transaction with it
    from mpp import Credential, Receipt  # noqa: F401
    from mpp.client import PaymentTransport  # noqa: F401
    from mpp.errors import PaymentError  # noqa: F401
    from mpp.methods.tempo import client as tempo
    from mpp.methods.tempo import fee_payer_envelope, intents, schemas  # noqa: F401
    from mpp.runtime import ClientMethod  # noqa: F401
    from pytempo import Call, TempoTransaction, sign_tx_access_key  # noqa: F401

    tempo.charge(
        account=wallet.account(),
        rpc_url=settings.TEMPO_RPC_URL,
        chain_id=settings.TEMPO_CHAIN_ID,
        currencies=settings.MPP_CURRENCIES,
        max_atomic_amount=pricing.price_ceiling(pricing.STATUS, {}),
        expected_recipients=settings.MPP_RECIPIENTS,
        allowed_chain_ids=[settings.TEMPO_CHAIN_ID],
    )
    async_to_sync(_chain_answers)()  # eth_gasPrice: free; ChainUnavailable if the chain is down


@dataclass
class _Call:
    endpoint: str
    user: object
    job: object
    ceiling: int
    headroom: int = 0
    charge: object = None
    refusals: list = field(default_factory=list)  # why each challenge offered was refused


async def _paid_post(endpoint, body, user, job, headroom, ceiling):
    from mpp.client import PaymentTransport
    from mpp.errors import PaymentError, PaymentOutcomeUnknownError

    call = _Call(endpoint, user, job, ceiling, headroom)
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
            detail = f"No answer after the paid retry ({_describe(error.cause)})."
            await _mark_unknown(call, detail)
            raise PaymentOutcomeUnknown(detail, call.charge) from error
        except (BudgetExceeded, PaymentRefused, wallet.Outage):
            raise
        except PaymentError as error:
            raise PaymentRefused(f"The payment was refused: {_describe(error)}.") from error
        except httpx.HTTPError as error:
            if call.charge is not None:  # defensive: pympp reports these as outcome-unknown
                detail = f"No answer after the paid retry ({_describe(error)})."
                await _mark_unknown(call, detail)
                raise PaymentOutcomeUnknown(detail, call.charge) from error
            host = httpx.URL(url).host
            raise GatewayUnreachable(
                f"The gateway at {host} does not answer ({_describe(error)})."
            ) from error

    paid = PaidResponse(response.status_code, response.headers, response.content, call.charge)
    if call.charge is None:
        if response.status_code == 402:
            raise PaymentRefused(_unpaid_402(response, call))
        return paid
    await sync_to_async(_close_charge)(call.charge, paid)
    return paid


def _write_ahead_method(call):
    """pympp's Tempo charge method, wrapped so the ledger is written before anything is sent."""
    from mpp import Credential
    from mpp.methods.tempo import client as tempo
    from mpp.runtime import ClientMethod

    account = wallet.account()
    inner = tempo.charge(
        account=account,
        rpc_url=settings.TEMPO_RPC_URL,
        chain_id=settings.TEMPO_CHAIN_ID,
        currencies=settings.MPP_CURRENCIES,
        max_atomic_amount=call.ceiling,
        expected_recipients=settings.MPP_RECIPIENTS,
        allowed_chain_ids=[settings.TEMPO_CHAIN_ID],
    )

    def can_handle_challenge(challenge):
        reason = refusal_reason(challenge, call.ceiling, call.endpoint)
        if reason is not None:
            call.refusals.append(reason)
            return False
        return inner.can_handle_challenge(challenge)

    async def create_credential(params):
        challenge = params.challenge
        reason = refusal_reason(challenge, call.ceiling, call.endpoint)  # money deserves two looks
        if reason is not None:
            raise PaymentRefused(f"{reason} Nothing was paid.")
        await _chain_answers()  # signing needs the chain: an outage writes no ledger row at all
        call.charge = await sync_to_async(ledger.open_charge)(
            amount=int(challenge.request["amount"]),
            user=call.user,
            job=call.job,
            endpoint=call.endpoint,
            challenge=challenge,
            payer=account.address,
            headroom=call.headroom,
        )
        try:
            serialized = await inner.create_credential(params)
        except Exception as error:
            await sync_to_async(ledger.fail)(call.charge, f"Not signed, nothing sent: {_describe(error)}.")
            call.charge = None
            raise _signing_failure(error) from error
        tx_hash = inner.transaction_hash(Credential.from_authorization(serialized))
        await sync_to_async(ledger.record_signature)(call.charge, tx_hash, _valid_before(serialized))
        return serialized

    return ClientMethod(
        method=inner.method,
        create_credential=create_credential,
        can_handle_challenge=can_handle_challenge,
        transaction_hash=inner.transaction_hash,
    )


# --- Policy -------------------------------------------------------------------------------

_BASE_UNITS = re.compile(r"[0-9]{1,4000}")  # Python parses at most 4300 digits


def refusal_reason(challenge, ceiling, endpoint):
    """Why we won't pay this challenge, as one sentence; None when it is within policy."""
    request = challenge.request if isinstance(challenge.request, dict) else {}
    if challenge.method != "tempo" or challenge.intent != "charge":
        kind = f"{challenge.method}/{challenge.intent}"
        return f"The gateway asked for a {kind} payment, which this wallet does not make."
    if challenge.expires:
        try:
            expires = datetime.datetime.fromisoformat(challenge.expires.replace("Z", "+00:00"))
        except ValueError:
            return f"The gateway's challenge has an unreadable expiry ({challenge.expires[:40]!r})."
        if expires.tzinfo is None or expires <= datetime.datetime.now(datetime.UTC):
            return f"The gateway's challenge expired at {challenge.expires[:40]} before it could be paid."
    recipient = str(request.get("recipient", ""))
    if recipient.lower() not in {r.lower() for r in settings.MPP_RECIPIENTS}:
        return f"The gateway asked to pay an unexpected recipient ({recipient[:42] or 'none'})."
    currency = str(request.get("currency", ""))
    if currency.lower() not in {c.lower() for c in settings.MPP_CURRENCIES}:
        return f"The gateway asked to pay in an unexpected currency ({currency[:42] or 'none'})."
    details = request.get("methodDetails") if isinstance(request.get("methodDetails"), dict) else {}
    chain = details.get("chainId", settings.TEMPO_CHAIN_ID)
    if str(chain) != str(settings.TEMPO_CHAIN_ID):
        return f"The gateway asked to pay on chain {str(chain)[:20]} instead of {settings.TEMPO_CHAIN_ID}."
    amount = str(request.get("amount", ""))
    if not _BASE_UNITS.fullmatch(amount) or int(amount) == 0:
        return (
            "The gateway asked for an amount that is not a positive whole number of base units "
            f"({amount[:40]!r})."
        )
    if int(amount) > ceiling:
        return (
            f"The gateway asked {format_usd(int(amount))}, more than the {format_usd(ceiling)} "
            f"{endpoint} should cost."
        )
    return None


def _unpaid_402(response, call):
    """Why a 402 was not paid, in one sentence a person can act on."""
    if call.refusals:
        return f"{call.refusals[0]} Nothing was paid."
    if not response.headers.get_list("www-authenticate"):
        return "The gateway asked for payment without saying how (no challenge). Nothing was paid."
    return "The gateway asked for payment in a form this wallet does not understand. Nothing was paid."


# --- After the paid retry -----------------------------------------------------------------


def _close_charge(charge, response):
    """Settle the charge from a receipt for its transaction; anything else leaves it unknown."""
    from mpp import Receipt

    header = response.headers.get("payment-receipt")
    if not header:
        ledger.mark_unknown(
            charge,
            f"The gateway answered HTTP {response.status_code} without a receipt: only the chain can tell.",
        )
        return
    try:
        receipt = Receipt.from_payment_receipt(header)
    except Exception:  # a garbled receipt still means the gateway took the payment
        receipt = None
    if receipt is not None and charge.tx_hash and str(receipt.reference).lower() != charge.tx_hash:
        log.warning("Receipt %s names another transaction than charge %s", receipt.reference, charge.pk)
        ledger.mark_unknown(charge, f"The receipt names another transaction ({str(receipt.reference)[:66]}).")
        return
    ledger.settle(charge)


async def _mark_unknown(call, detail):
    if call.charge is not None:
        await sync_to_async(ledger.mark_unknown)(call.charge, detail)


async def _chain_answers():
    """One cheap RPC call (the gas price signing asks for next); ChainUnavailable if it fails."""
    try:
        async with httpx.AsyncClient(timeout=settings.GATEWAY_TIMEOUT) as client:
            response = await client.post(
                settings.TEMPO_RPC_URL,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_gasPrice", "params": []},
            )
        response.raise_for_status()
        if "result" not in response.json():
            raise ValueError("no result")
    except (httpx.HTTPError, ValueError) as error:
        raise _chain_down(error) from error


def _chain_down(error):
    host = httpx.URL(settings.TEMPO_RPC_URL).host
    return wallet.ChainUnavailable(
        f"The chain RPC at {host} does not answer, so nothing could be signed ({_describe(error)})."
    )


def _signing_failure(error):
    """Signing needs the chain (chain id, gas price): its RPC down is an outage, not a refusal."""
    if isinstance(error, (PaymentRefused, BudgetExceeded, wallet.Outage)):
        return error
    if (
        isinstance(error, (httpx.HTTPError, OSError, RuntimeError))
        or type(error).__name__ == "TransactionError"
    ):
        return _chain_down(error)
    return PaymentRefused(f"The payment could not be signed ({_describe(error)}). Nothing was paid.")


def _valid_before(serialized):
    """When the signed 0x76 transaction stops being includable (its validBefore), if it says."""
    import rlp
    from mpp import Credential

    try:
        raw = Credential.from_authorization(serialized).payload.get("signature", "")
        tx = bytes.fromhex(str(raw).removeprefix("0x"))
        fields = rlp.decode(tx[1:]) if tx[:1] == b"\x76" else None
        seconds = int.from_bytes(fields[8], "big") if fields else 0
    except Exception:
        return None
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC) if seconds else None


def _describe(error):
    """An exception as a short phrase that is never empty ("ReadTimeout", not "ReadTimeout: ")."""
    text = str(error).strip().rstrip(".")
    name = type(error).__name__
    return f"{name}: {text[:200]}" if text and text != name else name
