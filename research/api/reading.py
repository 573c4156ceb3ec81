"""The reading endpoints: a job's leads (cursor-paginated), its CSV, the caller's spend. No paid call.

Leads take the results table's own filters (`research.leads.browse`): `q`, `country`,
`decision_maker` (yes/no), criteria answers as `c:<question>=YES|MAYBE|NO`, and `sort` (name,
title, company, location, position; `-` for descending). Pages are keyset pages on (sort key, id):
the cursor is opaque base64url JSON, bound to the sort and filters it was made for.
"""

import base64
import binascii
import hashlib
import json

from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from ninja import Query, Router

from .. import access, budgets, exports, leads, shortlists, spend
from ..models import AuditEvent, BudgetScope, BudgetWindow, Charge
from . import present
from .errors import Problem
from .schemas import ChargePage, LeadPage, ProblemOut, SpendOut

router = Router(tags=["reading"])
PROBLEMS = {code: ProblemOut for code in (401, 404, 422, 429)}
MAX_PAGE = 100
FILTER_KEYS = ("q", "country", "decision_maker")
LEAD_FIELDS = (
    "id",
    "job_id",
    "position",
    "profile_id",
    "name",
    "headline",
    "title",
    "company",
    "location",
    "country",
    "linkedin_url",
    "is_decision_maker",
    "criteria",
)


# --- Leads ------------------------------------------------------------------------------------


def _filters_digest(params):
    chosen = sorted(
        (key, value)
        for key in params
        if key in FILTER_KEYS or key.startswith(leads.CRITERIA_PREFIX)
        for value in params.getlist(key)
    )
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()[:16]


def _sort(params):
    """(field, descending) exactly as `leads.browse` orders: unknown sorts fall back to position, and so
    does the shortlist status, which is a team's and not a program's (browse is given no scope here)."""
    sort = params.get("sort", "position")
    field = leads.SORTS.get(sort.lstrip("-"), "position")
    if field == leads.SORTS["status"]:
        field = "position"
    return field, sort.startswith("-")


def encode_cursor(data):
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(text):
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        data = None
    if (
        not isinstance(data, dict)
        or not {"s", "f", "v", "k"} <= data.keys()
        or not isinstance(data["k"], int)
    ):
        raise Problem("validation", "This cursor is not one this API gave out.")
    return data


def keyset_page(rows, params, cursor, limit):
    """(leads of one page, the next cursor or None), ordered as `leads.browse` orders them."""
    # merge: use the keyset helper of research.leads once keyset pagination (issue 12) lands.
    rows = leads.browse(rows, params)
    field, descending = _sort(params)
    sort_key = ("-" if descending else "") + field
    digest = _filters_digest(params)
    if cursor:
        seen = decode_cursor(cursor)
        if seen["s"] != sort_key or seen["f"] != digest:
            raise Problem("validation", "This cursor was made for another sort or other filters.")
        after = Q(**{f"{field}__{'lt' if descending else 'gt'}": seen["v"]})
        rows = rows.filter(after | Q(**{field: seen["v"], "pk__gt": seen["k"]}))
    page = list(rows.values(*LEAD_FIELDS)[: limit + 1])
    more, page = len(page) > limit, page[:limit]
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = encode_cursor({"s": sort_key, "f": digest, "v": last[field], "k": last["id"]})
    return page, next_cursor


@router.get(
    "/jobs/{job_pk}/leads", response={200: LeadPage, **PROBLEMS}, summary="A job's leads, a page at a time"
)
def job_leads(
    request,
    job_pk: int,
    q: str = "",
    country: str = "",
    decision_maker: str = Query("", description="yes or no"),
    sort: str = Query("position", description="name, title, company, location or position; '-' descends"),
    cursor: str | None = Query(None, max_length=2000),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    """Criteria filters are `c:<question>=YES|MAYBE|NO` query parameters, as on the results table."""
    job = present.job_of(request.user, job_pk)
    page, next_cursor = keyset_page(job.leads.all(), request.GET, cursor, limit)
    items = [{**{k: v for k, v in row.items() if k != "job_id"}, "job": row["job_id"]} for row in page]
    return {"items": items, "next_cursor": next_cursor, "limit": limit}


# --- CSV ------------------------------------------------------------------------------------------


def export_columns(job, preset, columns):
    """The CSV's columns: `columns` if given, else the preset's (as on the pages). Unknown: refused."""
    if columns:
        return columns
    if preset not in exports.PRESETS:
        names = ", ".join(exports.PRESETS)
        raise Problem("validation", f"Unknown preset {preset[:40]!r}: use one of {names}, or name columns.")
    return exports.preset_columns(preset, leads.criteria_questions(leads.job_sample(job), job.criteria))


@router.get(
    "/jobs/{job_pk}/export.csv",
    response={**PROBLEMS},
    summary="A job's leads as CSV, streamed",
    openapi_extra={
        "responses": {
            200: {
                "description": "CSV (UTF-8 with BOM)",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
def job_export(request, job_pk: int, preset: str = "default", columns: list[str] = Query(None)):
    """Takes the same filters as the leads endpoint; `columns` (repeatable) overrides the preset."""
    job = present.job_of(request.user, job_pk)
    chosen = export_columns(job, preset, columns)
    rows = leads.browse(job.leads.all(), request.GET, shortlists.scope_of(request.user))
    AuditEvent.objects.create(
        user=request.user,
        action=AuditEvent.Action.EXPORT,
        job=job,
        detail=f"API token {request.auth.prefix}…",
    )
    stream = exports.stream_leads(
        rows,
        chosen,
        scope=shortlists.scope_of(request.user),
        sources_within=access.visible_leads(request.user),
    )
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    name = f"job-{job.pk}-{slugify(job.query)[:40].strip('-') or 'leads'}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- Spend ----------------------------------------------------------------------------------------


def _budgets(user):
    """The caps that bind the caller, what is used of them (spent + reserved) and what is left."""
    rows = []
    for key in budgets.windows_for(user, None):
        window = BudgetWindow.objects.filter(
            scope=key.scope, key=key.key, period_start=key.period_start
        ).first()
        cap = budgets.cap_for(key.scope, user)
        used = (window.spent + window.reserved) if window else 0
        rows.append((key.scope, cap, used))
    rows.append((BudgetScope.JOB, budgets.cap_for(BudgetScope.JOB), 0))  # per job: a new job's room
    return [
        {
            "scope": scope,
            "name": budgets.CAP_NAMES[scope],
            "cap": present.money(cap),
            "used": present.money(used),
            "left": present.money(max(cap - used, 0)),
        }
        for scope, cap, used in rows
    ]


@router.get(
    "/spend", response={200: SpendOut, **PROBLEMS}, summary="Your spend and the budgets you have left"
)
def my_spend(request):
    """From the ledger: counted charges (settled, plus unconfirmed ones awaiting the chain)."""
    user = request.user
    mine = Charge.objects.filter(user=user)
    periods = spend.periods()
    by_job = (
        mine.values("job_id", "job__query")
        .annotate(**{name: spend.FIGURES[name] for name in ("total", "calls")})
        .filter(calls__gt=0)
        .order_by("-job_id")[:100]
    )
    left, scope = budgets.remaining(user)
    return {
        "today": present.figures(mine.filter(created_at__gte=periods["today"].start)),
        "month": present.figures(mine.filter(created_at__gte=periods["month"].start)),
        "all_time": present.figures(mine),
        "by_job": [
            {
                "job": row["job_id"],
                "query": row["job__query"],
                "total": present.money(row["total"]),
                "calls": row["calls"],
            }
            for row in by_job
        ],
        "budgets": _budgets(user),
        "left": present.money(left),
        "cap": scope,
    }


@router.get(
    "/charges", response={200: ChargePage, **PROBLEMS}, summary="Your charges, each with its transaction"
)
def my_charges(
    request,
    job: int | None = None,
    cursor: str | None = Query(None, max_length=200),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    """Every paid call you made (or the poller made for your jobs), latest first: the ledger
    behind /spend. Each settled charge's `tx_hash` is one transfer on the chain, to the base unit."""
    charges = Charge.objects.filter(user=request.user).order_by("-pk")
    if job is not None:
        charges = charges.filter(job_id=job)
    if cursor:
        seen = decode_cursor(cursor)
        if seen["s"] != "-id" or seen["f"] != "charges":
            raise Problem("validation", "This cursor was made for another list.")
        charges = charges.filter(pk__lt=seen["k"])
    page = list(charges[: limit + 1])
    more, page = len(page) > limit, page[:limit]
    next_cursor = encode_cursor({"s": "-id", "f": "charges", "v": None, "k": page[-1].pk}) if more else None
    items = [
        {
            "id": charge.pk,
            "created_at": charge.created_at,
            "job": charge.job_id,
            "endpoint": charge.endpoint,
            "state": charge.state,
            "amount": present.money(charge.amount),
            "currency": charge.currency,
            "recipient": charge.recipient,
            "chain_id": charge.chain_id,
            "payer": charge.payer,
            "tx_hash": charge.tx_hash,
            "settled_at": charge.settled_at,
        }
        for charge in page
    ]
    return {"items": items, "next_cursor": next_cursor}
