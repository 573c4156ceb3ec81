"""The spend ledger: one `Charge` row per paid call, and the only code that moves its state.

Every paid call goes through three steps here:

1. `open_charge` (before signing): reserve the amount in every budget window that applies
   (`research.budgets.reserve`) and write the `Charge` row in state *pending*. Both happen in
   one transaction, so a call that would break a cap writes nothing and pays nothing.
2. `record_signature` (after signing, before the paid retry goes out): the transaction hash,
   and until when the transaction can be included.
3. `settle` / `fail` / `mark_unknown`, from a receipt or from the chain. Each is a conditional
   state change, so a charge moves the budget counters exactly once whoever gets there first
   (the caller, or reconciliation later). Only the chain, or a charge whose credential never
   went out, may fail a charge: a gateway's word alone leaves it unknown.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import budgets
from .models import Charge


def open_charge(*, amount, user, job, endpoint, challenge, payer, headroom=0):
    """Reserve `amount` and write the pending `Charge`, or raise `budgets.BudgetExceeded`."""
    request = challenge.request
    currency = str(request.get("currency", ""))
    now = timezone.now()
    if user is None and job is not None:
        # The poller pays on no one's click: its calls are the job owner's spend, so they count
        # against that person's monthly cap and show under their name.
        user = job.owner
    with transaction.atomic():
        budgets.reserve(user, job, amount, now, headroom=headroom)
        return Charge.objects.create(
            endpoint=endpoint,
            user=user,
            job=job,
            amount=amount,
            currency=currency,
            decimals=settings.MPP_CURRENCY_DECIMALS.get(currency.lower(), 6),
            recipient=str(request.get("recipient", "")),
            chain_id=int((request.get("methodDetails") or {}).get("chainId") or settings.TEMPO_CHAIN_ID),
            payer=payer,
            challenge_id=challenge.id,
            created_at=now,
        )


def record_signature(charge, tx_hash, valid_before=None):
    Charge.objects.filter(pk=charge.pk).update(tx_hash=tx_hash, valid_before=valid_before)
    charge.tx_hash, charge.valid_before = tx_hash, valid_before


def _move(charge, to_state, *, spent=None, detail=""):
    """Change an open charge's state once, and its windows' counters with it, atomically.

    `spent` True or False closes the reservation (as spent, or given back); None keeps it.
    """
    from_states = (Charge.State.PENDING,) if to_state == Charge.State.UNKNOWN else Charge.OPEN_STATES
    with transaction.atomic():
        fields = {"state": to_state}
        if detail:
            fields["detail"] = detail[:2000]
        if to_state == Charge.State.SETTLED:
            fields["settled_at"] = timezone.now()
        if not Charge.objects.filter(pk=charge.pk, state__in=from_states).update(**fields):
            return False
        if spent is not None:
            budgets.release(charge.user, charge.job, charge.amount, charge.created_at, spent=spent)
    for name, value in fields.items():
        setattr(charge, name, value)
    return True


def settle(charge, detail=""):
    """The gateway's receipt (or the chain) says the money moved."""
    return _move(charge, Charge.State.SETTLED, spent=True, detail=detail)


def fail(charge, detail):
    """No money moved: the credential never went out, or the chain says the transaction is dead."""
    return _move(charge, Charge.State.FAILED, spent=False, detail=detail)


def mark_unknown(charge, detail):
    """The outcome can't be told from here: the reservation stays until the chain tells."""
    return _move(charge, Charge.State.UNKNOWN, detail=detail)
