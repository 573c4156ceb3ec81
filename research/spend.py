"""Spend figures for the staff overview: aggregate queries over the Charge ledger, nothing else.

What counts: the ledger's COUNTED states, the same money the budgets count.
- *settled*: the gateway's receipt or the chain says the money moved;
- *unconfirmed*: pending (in flight) or unknown (no answer after paying) charges, which may
  have moved and stay reserved against the budgets until reconciled against the chain;
- *total* = settled + unconfirmed. Failed charges moved nothing and are never counted.

All amounts are integers in base units; the templates format them. Every figure can be narrowed
to some teams (a team lead's view): a team's spend is the charges on its jobs.
"""

import datetime
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone

from .budgets import NO_TEAM, cap_for
from .models import AuditEvent, BudgetScope, BudgetWindow, Charge, Lead, ResearchJob

SETTLED = Q(state=Charge.State.SETTLED)
UNCONFIRMED = Q(state__in=Charge.OPEN_STATES)
COUNTED = Q(state__in=Charge.COUNTED_STATES)
STATUS_ENDPOINT = "deep-research-status"


def _sum(condition):
    return Coalesce(Sum("amount", filter=condition), 0)


FIGURES = {
    "total": _sum(COUNTED),
    "settled": _sum(SETTLED),
    "unconfirmed": _sum(UNCONFIRMED),
    "calls": Count("id", filter=COUNTED),
}


def figures(charges):
    """Total, settled, unconfirmed (base units) and the number of counted calls: one query."""
    return charges.aggregate(**FIGURES)


def grouped(charges, *fields):
    """The same figures per group, largest total first; groups with nothing counted are left out."""
    return list(charges.values(*fields).annotate(**FIGURES).filter(calls__gt=0).order_by("-total", *fields))


# --- Periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    label: str
    start: datetime.datetime
    end: datetime.datetime

    def charges(self, charges=None):
        charges = Charge.objects.all() if charges is None else charges
        return charges.filter(created_at__gte=self.start, created_at__lt=self.end)


def of_teams(rows, teams, path="job__"):
    """`rows` (charges, leads, audit events) of the jobs of `teams`; all of them when teams is None."""
    return rows if teams is None else rows.filter(**{f"{path}team__in": teams})


def _midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def periods(now=None):
    """Today, this week (from Monday) and this month, in the site's time zone: the budgets' days."""
    today = timezone.localdate(now or timezone.now())
    tomorrow = _midnight(today + datetime.timedelta(days=1))
    return {
        "today": Period("today", "Today", _midnight(today), tomorrow),
        "week": Period(
            "week", "This week", _midnight(today - datetime.timedelta(days=today.weekday())), tomorrow
        ),
        "month": Period("month", "This month", _midnight(today.replace(day=1)), tomorrow),
    }


# --- Links into the admin ledger ----------------------------------------------------------


def ledger_url(period=None, counted=True, **filters):
    """The admin's charge list filtered to what a figure sums, so its total equals the figure."""
    params = {}
    if period is not None:
        # The admin's own date filter parameters, as aware datetimes.
        params["created_at__gte"] = str(period.start)
        params["created_at__lt"] = str(period.end)
    if counted:
        params["state__in"] = ",".join(Charge.COUNTED_STATES)
    for name, value in filters.items():
        if value is not None:
            params[name] = value
    return reverse("admin:research_charge_changelist") + "?" + urlencode(params)


# --- The overview -------------------------------------------------------------------------


def share(part, whole):
    """part / whole as a percentage string with one decimal ("12.5%"), exact integer arithmetic."""
    if not whole:
        return "—"
    tenths = (part * 1000 + whole // 2) // whole
    return f"{tenths // 10}.{tenths % 10}%"


def per_unit(total, count):
    """Average base units per item, rounded to the nearest base unit; None when there are none."""
    if not count:
        return None
    return (total + count // 2) // count


def overview(period_key="month", now=None, teams=None):
    """Everything the spend page shows for one period, plus the three headline periods.

    `teams` narrows every figure to those teams' jobs (None: everything).
    """
    all_periods = periods(now)
    period = all_periods.get(period_key) or all_periods["month"]
    ledger = of_teams(Charge.objects.all(), teams)
    charges = period.charges(ledger)

    headline = []
    for p in all_periods.values():
        headline.append({"period": p, "url": ledger_url(p), **figures(p.charges(ledger))})

    this = figures(charges)
    status = figures(charges.filter(endpoint=STATUS_ENDPOINT))
    leads = of_teams(Lead.objects.all(), teams)
    leads = leads.filter(created_at__gte=period.start, created_at__lt=period.end).count()

    by_person = grouped(charges, "user_id", "user__username")
    for row in by_person:
        row["url"] = ledger_url(period, user__id__exact=row["user_id"])
    by_endpoint = grouped(charges, "endpoint")
    for row in by_endpoint:
        row["url"] = ledger_url(period, endpoint__exact=row["endpoint"])
    by_job = grouped(charges, "job_id", "job__query")[:20]
    for row in by_job:
        row["url"] = ledger_url(period, job=row["job_id"])

    return {
        "period": period,
        "periods": all_periods.values(),
        "headline": headline,
        "figures": this,
        "ledger_url": ledger_url(period),
        "matrix": person_by_endpoint(charges, period),
        "by_person": by_person,
        "by_endpoint": by_endpoint,
        "by_job": by_job,
        "polling": {
            **status,
            "share": share(status["total"], this["total"]),
            "url": ledger_url(period, endpoint__exact=STATUS_ENDPOINT),
        },
        "leads": leads,
        "cost_per_lead": per_unit(this["total"], leads),
        "chart": daily_chart(now=now, charges=ledger),
    }


def person_by_endpoint(charges, period):
    """Who spent what on what: one row per person, one cell per endpoint, each cell a ledger link."""
    rows = grouped(charges, "user_id", "user__username", "endpoint")
    endpoints = sorted({row["endpoint"] for row in rows})
    people = {}
    for row in rows:
        person = people.setdefault(
            row["user_id"],
            {
                "name": row["user__username"] or "(no person)",
                "cells": {e: None for e in endpoints},
                "total": 0,
                "url": ledger_url(period, user__id__exact=row["user_id"]),
            },
        )
        person["total"] += row["total"]
        person["cells"][row["endpoint"]] = {
            "total": row["total"],
            "calls": row["calls"],
            "url": ledger_url(period, user__id__exact=row["user_id"], endpoint__exact=row["endpoint"]),
        }
    ordered = sorted(people.values(), key=lambda p: (-p["total"], p["name"]))
    for person in ordered:
        person["cells"] = [person["cells"][e] for e in endpoints]
    column_totals = {e: 0 for e in endpoints}
    for row in rows:
        column_totals[row["endpoint"]] += row["total"]
    return {"endpoints": endpoints, "people": ordered, "totals": [column_totals[e] for e in endpoints]}


# --- The daily chart (an inline SVG drawn by the template) --------------------------------

CHART_DAYS = 30
CHART_HEIGHT = 120  # px for the tallest bar
BAR_WIDTH = 18
BAR_GAP = 4


def daily_chart(days=CHART_DAYS, now=None, charges=None):
    """Counted spend per day for the last `days` days, with bar geometry in whole pixels."""
    today = timezone.localdate(now or timezone.now())
    first = today - datetime.timedelta(days=days - 1)
    charges = Charge.objects.all() if charges is None else charges
    rows = (
        charges.filter(
            created_at__gte=_midnight(first), created_at__lt=_midnight(today) + datetime.timedelta(days=1)
        )
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(total=_sum(COUNTED))
        .order_by("day")
    )
    by_day = {row["day"]: row["total"] for row in rows}
    peak = max(by_day.values(), default=0)
    bars = []
    for index in range(days):
        day = first + datetime.timedelta(days=index)
        total = by_day.get(day, 0)
        height = (total * CHART_HEIGHT + peak - 1) // peak if peak else 0  # any spend shows
        bars.append(
            {
                "day": day,
                "total": total,
                "x": index * (BAR_WIDTH + BAR_GAP),
                "y": CHART_HEIGHT - height,
                "height": height,
                "label_x": index * (BAR_WIDTH + BAR_GAP) + BAR_WIDTH // 2,
                "labelled": (days - 1 - index) % 7 == 0,  # today and every week back
            }
        )
    return {
        "bars": bars,
        "peak": peak,
        "total": sum(by_day.values()),
        "width": days * (BAR_WIDTH + BAR_GAP),
        "height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH,
    }


# --- Jobs ---------------------------------------------------------------------------------

JOB_COUNTED = Q(charges__state__in=Charge.COUNTED_STATES)


def _job_sum(condition):
    return Coalesce(Sum("charges__amount", filter=condition), 0)


def jobs_with_breakdown(jobs=None):
    """Jobs annotated with their counted spend per kind of call (base units), in one query.

    Status calls are the polls and, once a job finishes, its result pages: the gateway prices
    them alike and the ledger records them alike.
    """
    jobs = ResearchJob.objects.all() if jobs is None else jobs
    return jobs.annotate(
        spent_launch=_job_sum(JOB_COUNTED & Q(charges__endpoint="deep-research")),
        spent_status=_job_sum(JOB_COUNTED & Q(charges__endpoint=STATUS_ENDPOINT)),
        status_calls=Count("charges", filter=JOB_COUNTED & Q(charges__endpoint=STATUS_ENDPOINT)),
        spent_cancel=_job_sum(JOB_COUNTED & Q(charges__endpoint="deep-research-cancel")),
        spent_more=_job_sum(JOB_COUNTED & Q(charges__endpoint="deep-research-more")),
        spent_total=_job_sum(JOB_COUNTED),
        spent_unconfirmed=_job_sum(Q(charges__state__in=Charge.OPEN_STATES)),
    )


# --- Budgets --------------------------------------------------------------------------------


def budgets(now=None, teams=None):
    """The caps in force and what is used of them (spent + reserved), from the budget windows.

    Every team's day (and the shared window of jobs in no team), then each person's month; for
    `teams`, only those teams and the people in them.
    """
    today = timezone.localdate(now or timezone.now())
    month = today.replace(day=1)
    rows = []

    def row(label, window, cap):
        used = (window.spent + window.reserved) if window else 0
        reserved = window.reserved if window else 0
        return {"label": label, "used": used, "unconfirmed": reserved, "cap": cap, "left": max(cap - used, 0)}

    shown = Group.objects.order_by("name") if teams is None else teams
    days = BudgetWindow.objects.filter(scope=BudgetScope.TEAM_DAY, period_start=today)
    by_key = {window.key: window for window in days}
    for team in shown:
        cap = cap_for(BudgetScope.TEAM_DAY, team=team)
        rows.append(row(f"Team {team.name}, today", by_key.get(str(team.pk)), cap))
    if teams is None:
        rows.append(row("Jobs in no team, today", by_key.get(NO_TEAM), cap_for(BudgetScope.TEAM_DAY)))
    windows = BudgetWindow.objects.filter(scope=BudgetScope.USER_MONTH, period_start=month)
    users = get_user_model().objects.all()
    if teams is not None:
        users = users.filter(groups__in=teams).distinct()
        windows = windows.filter(key__in=[str(pk) for pk in users.values_list("pk", flat=True)])
    windows = list(windows)
    users = users.in_bulk([int(w.key) for w in windows])
    for window in sorted(windows, key=lambda w: -(w.spent + w.reserved)):
        user = users.get(int(window.key))
        label = f"{user.get_username() if user else window.key}, this month"
        rows.append(row(label, window, cap_for(BudgetScope.USER_MONTH, user)))
    return {"rows": rows, "job_cap": cap_for(BudgetScope.JOB)}


def audit_trail(teams=None, count=15):
    """The latest actions, or those on the jobs of `teams`: refused attempts included."""
    return of_teams(AuditEvent.objects.select_related("user", "job"), teams)[:count]
