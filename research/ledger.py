"""The spend ledger and the budgets it is checked against.

Every paid call goes through three steps here:

1. `open_charge` (before signing): reserve the amount in every budget window that applies,
   with conditional UPDATEs, and write the `Charge` row in state *pending*. Both happen in one
   transaction, so a call that would break a cap writes nothing and pays nothing.
2. `record_hash` (after signing, before the paid retry goes out): the transaction hash.
3. `settle` / `fail` / `mark_unknown` from what the gateway answered. Each is a conditional
   state change, so a charge moves the budget counters exactly once whoever gets there first
   (the caller, or reconciliation later).
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import BudgetCap, Charge, SpendWindow

JOB_PERIOD = datetime.date(1970, 1, 1)  # a job's budget is for its whole life


class BudgetExceeded(Exception):
    """A cap would be broken by this charge: nothing was signed or paid."""

    def __init__(self, window, amount):
        self.scope = window.scope
        self.remaining = max(window.cap - window.spent - window.reserved, 0)
        self.amount = amount
        label = SpendWindow.Scope(window.scope).label.lower()
        from .money import format_usd

        super().__init__(
            f"Budget reached ({label}): this call costs {format_usd(amount)} "
            f"and {format_usd(self.remaining)} is left."
        )


@dataclass(frozen=True)
class WindowKey:
    scope: str
    key: str
    period_start: datetime.date


def windows_for(user, job, when=None):
    """The budget windows a charge by `user` for `job` at `when` counts against."""
    day = timezone.localdate(when or timezone.now())
    keys = [WindowKey(SpendWindow.Scope.TEAM_DAY, "team", day)]
    if user is not None:
        keys.append(WindowKey(SpendWindow.Scope.USER_MONTH, str(user.pk), day.replace(day=1)))
    if job is not None:
        keys.append(WindowKey(SpendWindow.Scope.JOB, str(job.pk), JOB_PERIOD))
    return keys


def cap_for(scope, user=None):
    """The cap in force: an admin's override if there is one, else the setting."""
    overrides = BudgetCap.objects.filter(scope=scope)
    if scope == SpendWindow.Scope.USER_MONTH:
        override = overrides.filter(user=user).first() or overrides.filter(user=None).first()
    else:
        override = overrides.filter(user=None).first()
    if override is not None:
        return override.cap
    return {
        SpendWindow.Scope.TEAM_DAY: settings.BUDGET_TEAM_DAILY,
        SpendWindow.Scope.USER_MONTH: settings.BUDGET_USER_MONTHLY,
        SpendWindow.Scope.JOB: settings.BUDGET_JOB,
    }[scope]


def _window(key, user):
    cap = cap_for(key.scope, user)
    window, _ = SpendWindow.objects.get_or_create(
        scope=key.scope, key=key.key, period_start=key.period_start, defaults={"cap": cap}
    )
    return window, cap


def remaining(user, job=None):
    """What can still be spent by `user` (on `job`) right now: (base units, scope of the tightest cap).

    Without a job this is for a job about to be launched, which its own per-job cap bounds too.
    """
    left = []
    for key in windows_for(user, job):
        window = SpendWindow.objects.filter(
            scope=key.scope, key=key.key, period_start=key.period_start
        ).first()
        cap = cap_for(key.scope, user)
        used = (window.spent + window.reserved) if window else 0
        left.append((max(cap - used, 0), key.scope))
    if job is None:
        left.append((cap_for(SpendWindow.Scope.JOB), SpendWindow.Scope.JOB))
    return min(left)


def open_charge(*, amount, user, job, endpoint, challenge, payer):
    """Reserve `amount` in every window and write the pending `Charge`, or raise BudgetExceeded."""
    request = challenge.request
    currency = str(request.get("currency", ""))
    now = timezone.now()
    if user is None and job is not None:
        # The poller pays on no one's click: its calls are the job owner's spend, so they count
        # against that person's monthly cap and show under their name.
        user = job.owner
    with transaction.atomic():
        for key in windows_for(user, job, now):
            window, cap = _window(key, user)
            # The check and the reservation are one statement: no read-then-write race.
            reserved = (
                SpendWindow.objects.filter(pk=window.pk)
                .filter(spent__lte=cap - amount - F("reserved"))
                .update(reserved=F("reserved") + amount, cap=cap)
            )
            if not reserved:
                window.refresh_from_db()
                window.cap = cap
                raise BudgetExceeded(window, amount)
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


def record_hash(charge, tx_hash):
    Charge.objects.filter(pk=charge.pk).update(tx_hash=tx_hash)
    charge.tx_hash = tx_hash


def _move(charge, to_state, *, from_states, spent_delta, detail=""):
    """Change a charge's state once, and its windows' counters with it, atomically."""
    with transaction.atomic():
        fields = {"state": to_state}
        if detail:
            fields["detail"] = detail[:2000]
        if to_state == Charge.State.SETTLED:
            fields["settled_at"] = timezone.now()
        moved = Charge.objects.filter(pk=charge.pk, state__in=from_states).update(**fields)
        if not moved:
            return False
        if spent_delta is not None:
            for key in windows_for(charge.user, charge.job, charge.created_at):
                SpendWindow.objects.filter(
                    scope=key.scope, key=key.key, period_start=key.period_start
                ).update(
                    reserved=F("reserved") - charge.amount,
                    spent=F("spent") + (charge.amount if spent_delta else 0),
                )
    for name, value in fields.items():
        setattr(charge, name, value)
    return True


OPEN = (Charge.State.PENDING, Charge.State.UNKNOWN)


def settle(charge, detail=""):
    """The gateway's receipt (or the chain) says the money moved."""
    return _move(charge, Charge.State.SETTLED, from_states=OPEN, spent_delta=True, detail=detail)


def fail(charge, detail):
    """The credential was rejected, or the transaction never made it on chain."""
    return _move(charge, Charge.State.FAILED, from_states=OPEN, spent_delta=False, detail=detail)


def mark_unknown(charge, detail):
    """The outcome can't be told from here: the reservation stays until reconciled."""
    return _move(
        charge, Charge.State.UNKNOWN, from_states=(Charge.State.PENDING,), spent_delta=None, detail=detail
    )
