"""The one HTTP seam to Clado's deep research, through the paying gateway.

Typed calls in, typed answers out. Every call is paid (`research.payments.paid_post`, which
only this module calls), so every error says whether money moved (`.charge`). The errors a
call can raise are all named here, so callers catch `clado`'s errors only. Answers are read
tolerantly: field names vary across versions of Clado's docs, and everything in a result is
untrusted scraped text.

Our job's primary key is a job's `pk`; Clado's job id is `clado_id`, everywhere.
"""

import json
import math
from dataclasses import dataclass, field

from . import payments, pricing, wallet

# What a paid call raises when it did not get an answer from Clado (see `research.payments`).
BudgetExceeded = payments.BudgetExceeded  # a cap refused it before signing: nothing paid
PaymentRefused = payments.PaymentRefused  # the challenge is outside our policy: nothing paid
PaymentOutcomeUnknown = payments.PaymentOutcomeUnknown  # paid, no answer: reconciled later
Outage = wallet.Outage  # our side (chain RPC, the network to the gateway) is down: nothing paid
GatewayUnreachable = payments.GatewayUnreachable  # an Outage
ChainUnavailable = wallet.ChainUnavailable  # an Outage

TERMINAL = {"completed", "error", "cancelled", "failed", "success"}
NORMALISED = {"failed": "error", "success": "completed"}
CURRENT_ROLE_END = "1970-01-01"
MAX_RETRY_AFTER = 3600  # seconds: a gateway's Retry-After is honoured up to an hour


class CladoError(Exception):
    """The gateway answered, but not with what we asked for."""

    retryable = True

    def __init__(self, message, *, status_code=None, charge=None):
        super().__init__(message)
        self.status_code = status_code
        self.charge = charge


class RateLimited(CladoError):
    def __init__(self, message, retry_after, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class JobNotFound(CladoError):
    retryable = False


class Conflict(CladoError):
    """409: cancel on a finished job, "more" on an unfinished one."""

    retryable = False


class BadRequest(CladoError):
    retryable = False


class BadResponse(CladoError):
    """A 2xx whose body is not the JSON we expect."""


# Everything a paid call through this seam can raise, for callers that report any failure.
CALL_ERRORS = (CladoError, PaymentRefused, BudgetExceeded, PaymentOutcomeUnknown, Outage)


@dataclass
class Started:
    clado_id: str
    status: str
    message: str


@dataclass
class StatusPage:
    status: str
    message: str = ""
    error: str = ""
    results_count: int | None = None
    chunks_done: int | None = None
    chunks_total: int | None = None
    profiles_scanned: int | None = None
    profiles_matched: int | None = None
    results: list = field(default_factory=list)
    page: int = 1
    total_pages: int | None = None
    has_next: bool | None = None

    def has_more_pages(self, page_size):
        """Whether a page follows this one: from pagination, else the count, else a full page."""
        if not self.results:
            return False
        if self.has_next is not None:
            return self.has_next
        if self.total_pages is not None:
            return self.page < self.total_pages
        return len(self.results) >= page_size


# --- Calls --------------------------------------------------------------------------------


def start(
    query, limit, *, company_urls=None, criteria=None, user=None, job=None, headroom=0, max_amount=None
):
    """Launch a job. `headroom`: what its status checks will need, which the budgets must allow.

    `max_amount`: the most the person accepts for the launch (base units); None: the price table's.
    """
    body = {"query": query, "limit": limit}
    if company_urls:
        body["hard_filter_company_urls"] = list(company_urls)
    if criteria:
        body["criteria"] = list(criteria)
    data, charge = _answer(pricing.LAUNCH, body, user, job, headroom, max_amount)
    clado_id = data.get("job_id") or data.get("jobId") or data.get("id")
    if not clado_id:
        raise BadResponse("The launch answer has no job id", charge=charge)
    return Started(str(clado_id), _status(data.get("status") or "pending"), _text(data.get("message")))


def status(clado_id, *, page=1, page_size=100, user=None, job=None):
    data = _call(pricing.STATUS, {"jobId": clado_id, "page": page, "page_size": page_size}, user, job)
    return parse_status(data, page=page, page_size=page_size)


def cancel(clado_id, *, user=None, job=None):
    data = _call(pricing.CANCEL, {"jobId": clado_id}, user, job)
    return _text(data.get("message")) or "Cancelled."


def more(clado_id, additional_limit, *, user=None, job=None):
    data = _call(pricing.MORE, {"jobId": clado_id, "additional_limit": additional_limit}, user, job)
    return _status(data.get("status") or "processing"), _text(data.get("message"))


def warm_up():
    """Load the paying machinery before the first call needs it (see `payments.warm_up`)."""
    payments.warm_up()


def _call(endpoint, body, user, job):
    return _answer(endpoint, body, user, job)[0]


def _answer(endpoint, body, user, job, headroom=0, max_amount=None):
    """(the JSON object answered, the charge it cost or None), or raise a CladoError saying why."""
    response = payments.paid_post(
        endpoint, body, user=user, job=job, headroom=headroom, max_amount=max_amount
    )
    charge = response.charge
    try:
        data = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        data = None
    if response.ok:
        if not isinstance(data, dict):
            raise BadResponse(
                f"{endpoint} answered HTTP {response.status_code} with a body that is not a JSON object.",
                status_code=response.status_code,
                charge=charge,
            )
        return data, charge
    message = (_error_message(data) or f"HTTP {response.status_code}")[:300].rstrip(". ")
    kwargs = {"status_code": response.status_code, "charge": charge}
    if response.status_code in (402, 403):
        raise CladoError(
            f"The gateway rejected the signed payment (HTTP {response.status_code}: {message}); "
            "the chain will tell whether it moved",
            **kwargs,
        )
    if response.status_code == 429:
        retry_after = _int((data or {}).get("retry_after")) if isinstance(data, dict) else None
        retry_after = retry_after or _int(response.headers.get("retry-after")) or 60
        retry_after = max(1, min(retry_after, MAX_RETRY_AFTER))
        raise RateLimited(f"Rate limited: {message}", retry_after, **kwargs)
    if response.status_code == 404:
        raise JobNotFound(f"Not found: {message}", **kwargs)
    if response.status_code == 409:
        raise Conflict(message, **kwargs)
    if 400 <= response.status_code < 500 and response.status_code not in (402, 403, 408):
        raise BadRequest(f"Rejected: {message}", **kwargs)
    raise CladoError(f"Gateway error: {message}", **kwargs)


# --- Tolerant parsing ---------------------------------------------------------------------


def parse_status(data, *, page=1, page_size=100):
    results = data.get("results")
    results = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
    count = _first_int(data, "final_results_count", "total_results", "total")
    pagination = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
    total_pages = _first_int(pagination, "total_pages", "totalPages")
    if total_pages is None and count is not None:
        total_pages = max(math.ceil(count / page_size), 1)
    has_next = pagination.get("has_next", pagination.get("hasNext"))
    return StatusPage(
        status=_status(data.get("status")),
        message=_text(data.get("message")),
        error=_text(data.get("error")),
        results_count=count if count is not None else (len(results) if results else None),
        chunks_done=_int(data.get("search_chunk_done")),
        chunks_total=_int(data.get("search_chunk_total")),
        profiles_scanned=_int(data.get("opensearch_results")),
        profiles_matched=_int(data.get("total_filtered")),
        results=results,
        page=_int(pagination.get("current_page")) or page,
        total_pages=total_pages,
        has_next=has_next if isinstance(has_next, bool) else None,
    )


def parse_lead(result):
    """The columns we keep of one result; the raw JSON is kept whole beside them."""
    profile = result.get("profile") if isinstance(result.get("profile"), dict) else result
    experience = [e for e in (result.get("experience") or []) if isinstance(e, dict)]
    current = next(
        (e for e in experience if str(e.get("end_date") or "").startswith(CURRENT_ROLE_END)),
        None,
    ) or next((e for e in experience if not e.get("end_date")), None)
    title = _text(current.get("title")) if current else ""
    company = _text(current.get("company_name")) if current else ""
    profile_id = _text(profile.get("id")) or _text(profile.get("linkedin_url"))
    decision = profile.get("is_decision_maker")
    criteria = profile.get("criteria")
    return {
        "profile_id": profile_id[:100],
        "name": _text(profile.get("name"))[:300],
        "headline": _text(profile.get("headline")),
        "title": title[:300],
        "company": company[:300],
        "location": _text(profile.get("location"))[:300],
        "country": _text(profile.get("location_country"))[:100],
        "linkedin_url": _text(profile.get("linkedin_url"))[:500],
        "is_decision_maker": decision if isinstance(decision, bool) else None,
        "criteria": criteria if isinstance(criteria, dict) else {},
        "raw": result,
    }


def _status(value):
    value = _text(value).lower() or "pending"
    return NORMALISED.get(value, value)


def _error_message(data):
    if isinstance(data, dict):
        for key in ("message", "error", "detail", "title"):
            if isinstance(data.get(key), str) and data[key]:
                return data[key]
    return ""


def _text(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _int(value):
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _first_int(data, *keys):
    for key in keys:
        number = _int(data.get(key))
        if number is not None:
            return number
    return None
