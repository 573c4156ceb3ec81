"""Budgets: the caps in force, what is left of them, and the atomic reservation a paid call needs.

A cap is an admin's `BudgetCap` override, else the default in settings. Each scope a charge
counts against has a `BudgetWindow` counter per period (the job's team per day, a person per
month, a job for its life). `reserve` checks and reserves in one conditional UPDATE per window, so two
calls racing for the last dollars can't both win.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import BudgetCap, BudgetScope, BudgetWindow
from .money import format_usd

JOB_PERIOD = datetime.date(1970, 1, 1)  # a job's budget is for its whole life

# Who can raise each cap, in the words a person reads when a cap stops them.
RAISED_BY = {
    BudgetScope.TEAM_DAY: "An admin can raise the team's daily cap under Admin → Budget caps.",
    BudgetScope.USER_MONTH: "An admin can raise your monthly cap under Admin → Budget caps.",
    BudgetScope.JOB: "An admin can raise the per-job cap under Admin → Budget caps.",
}


# Each cap as a person names it.
CAP_NAMES = {
    BudgetScope.TEAM_DAY: "the team's daily cap",
    BudgetScope.USER_MONTH: "your monthly cap",
    BudgetScope.JOB: "the per-job cap",
}


class BudgetExceeded(Exception):
    """A cap would be broken by this charge: nothing was signed or paid."""

    def __init__(self, scope, remaining, amount, headroom=0):
        self.scope = scope
        self.remaining = remaining
        self.amount = amount
        label = BudgetScope(scope).label.lower()
        needs = f"this call costs {format_usd(amount)}"
        if headroom:
            needs += f" and its status checks need about {format_usd(headroom)} more"
        super().__init__(f"Budget reached ({label}): {needs}, and {format_usd(remaining)} is left.")
        self.raised_by = RAISED_BY[scope]


# The team-day window that jobs in no team share: a person outside every team still has a
# daily cap above their own monthly one, and the default team cap applies to it.
NO_TEAM = "none"


@dataclass(frozen=True)
class WindowKey:
    scope: str
    key: str
    period_start: datetime.date
    team_id: int | None = None  # the team-day window's team, for its cap


def windows_for(user, job, when=None, team=None):
    """The budget windows a charge by `user` for `job` at `when` counts against.

    The team-day window is the job's team's (or, before the job exists, `team`'s); a job in no
    team counts against the shared NO_TEAM window.
    """
    day = timezone.localdate(when or timezone.now())
    team_id = job.team_id if job is not None else getattr(team, "pk", team)
    keys = [WindowKey(BudgetScope.TEAM_DAY, str(team_id) if team_id else NO_TEAM, day, team_id)]
    if user is not None:
        keys.append(WindowKey(BudgetScope.USER_MONTH, str(user.pk), day.replace(day=1)))
    if job is not None:
        keys.append(WindowKey(BudgetScope.JOB, str(job.pk), JOB_PERIOD))
    return keys


def cap_for(scope, user=None, team=None, overrides=None):
    """The cap in force: the person's or team's override, else the scope's default override,
    else the setting. `team` is a group or its id (team-day only). `overrides`: the `BudgetCap`
    rows already read (`_overrides_for`), else they are read here."""
    team_id = getattr(team, "pk", team)
    if overrides is None:
        overrides = _overrides_for([scope], user, [team_id])
    of_scope = [cap for cap in overrides if cap.scope == scope]
    default = next((cap for cap in of_scope if cap.user_id is None and cap.team_id is None), None)
    own = None
    if scope == BudgetScope.USER_MONTH and user is not None:
        own = next((cap for cap in of_scope if cap.user_id == user.pk), None)
    elif scope == BudgetScope.TEAM_DAY and team_id:
        own = next((cap for cap in of_scope if cap.team_id == team_id), None)
    override = own or default
    if override is not None:
        return override.cap
    return {
        BudgetScope.TEAM_DAY: settings.BUDGET_TEAM_DAILY,
        BudgetScope.USER_MONTH: settings.BUDGET_USER_MONTHLY,
        BudgetScope.JOB: settings.BUDGET_JOB,
    }[scope]


def _overrides_for(scopes, user, team_ids):
    """The `BudgetCap` rows that may be in force for `scopes`, for `user` and `team_ids`: one query."""
    whose = Q(user=None, team=None)
    if user is not None:
        whose |= Q(user=user)
    if team_ids := [team_id for team_id in team_ids if team_id]:
        whose |= Q(team_id__in=team_ids)
    return list(BudgetCap.objects.filter(whose, scope__in=scopes).order_by("pk"))


def _cap(key, user):
    return cap_for(key.scope, user, key.team_id)


def remaining(user, job=None, team=None):
    """What can still be spent by `user` (on `job`) right now: (base units, scope of the tightest cap).

    Without a job this is for a job about to be launched for `team`, which its own per-job cap
    bounds too. Two queries: the windows, and the caps.
    """
    keys = windows_for(user, job, team=team)
    windows = {
        (window.scope, window.key, window.period_start): window
        for window in BudgetWindow.objects.filter(_any_of(keys))
    }
    scopes = {key.scope for key in keys} | ({BudgetScope.JOB} if job is None else set())
    overrides = _overrides_for(scopes, user, [key.team_id for key in keys])
    left = []
    for key in keys:
        window = windows.get((key.scope, key.key, key.period_start))
        cap = cap_for(key.scope, user, key.team_id, overrides)
        used = (window.spent + window.reserved) if window else 0
        left.append((max(cap - used, 0), key.scope))
    if job is None:
        left.append((cap_for(BudgetScope.JOB, overrides=overrides), BudgetScope.JOB))
    return min(left)


def _any_of(keys):
    """A filter for the windows of `keys`."""
    where = Q(pk__in=[])
    for key in keys:
        where |= Q(scope=key.scope, key=key.key, period_start=key.period_start)
    return where


def reserve(user, job, amount, when, headroom=0):
    """Reserve `amount` in every window `user`'s charge for `job` counts against, or raise.

    `headroom` must fit as well but is not reserved: a launch needs room for the status checks
    that will follow it. Call inside a transaction, so a refusal in one window undoes the others.
    """
    for key in windows_for(user, job, when):
        cap = _cap(key, user)
        window, _ = BudgetWindow.objects.get_or_create(
            scope=key.scope, key=key.key, period_start=key.period_start, defaults={"cap": cap}
        )
        # The check and the reservation are one statement: no read-then-write race.
        reserved = (
            BudgetWindow.objects.filter(pk=window.pk)
            .filter(spent__lte=cap - amount - headroom - F("reserved"))
            .update(reserved=F("reserved") + amount, cap=cap)
        )
        if not reserved:
            window.refresh_from_db()
            left = max(cap - window.spent - window.reserved, 0)
            raise BudgetExceeded(key.scope, left, amount, headroom)


def release(user, job, amount, when, spent):
    """Take a reservation back; `spent` says whether the money moved (it then counts as spent)."""
    for key in windows_for(user, job, when):
        BudgetWindow.objects.filter(scope=key.scope, key=key.key, period_start=key.period_start).update(
            reserved=F("reserved") - amount, spent=F("spent") + (amount if spent else 0)
        )
