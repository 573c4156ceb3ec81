"""The offline MPP gateway: pympp's own payment server in front of a Clado simulation.

Framework-neutral: :meth:`Gateway.handle` takes (endpoint, method, url, headers, body)
and returns a :class:`Reply`; :mod:`research.sandbox.server` wires it to HTTP. Payments
run on one asyncio loop (owned by the server) through ``asyncio.run_coroutine_threadsafe``.

Order of processing a request (documented choices where the real gateway is unknown):

1. unknown endpoint -> 404 (no payment).
2. body parsed and validated, price computed -> 400 problem JSON on bad input (no payment).
3. request without a payment credential: pending pre-payment faults ("http_500",
   "rate_limit", "not_found") fire here; otherwise a 402 challenge is issued (the
   challenge faults "overprice", "wrong_recipient", "wrong_currency" bend it).
4. request with a credential: pympp verifies and settles it (402/403 when rejected);
   then the post-payment faults fire ("http_500_after_payment": 500 without receipt and
   the Clado action is NOT performed; "timeout_after_payment": the action IS performed,
   then the answer is held for ``hang_seconds``; "malformed_json": action performed,
   200 + receipt with a truncated non-JSON body).
5. the Clado answer is served with ``Payment-Receipt`` -- also for 404 (unknown job)
   and 409 answers: the call was paid for, as on the real gateway (inferred).
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from . import profiles as profile_gen
from .chain import CHAIN_ID, PATH_USD, USDC_E

GATEWAY_RECIPIENT = "0x060b0fB0Be9d90557577B3AEE480711067149Ff0"
WRONG_RECIPIENT = "0x000000000000000000000000000000000000dEaD"
DEFAULT_REALM = "clado.mpp.paywithlocus.com"
DECIMALS = 6

ENDPOINTS = ("deep-research", "deep-research-status", "deep-research-cancel", "deep-research-more")
PRE_PAYMENT_FAULTS = ("http_500", "rate_limit", "not_found")
CHALLENGE_FAULTS = ("overprice", "wrong_recipient", "wrong_currency")
POST_PAYMENT_FAULTS = ("http_500_after_payment", "timeout_after_payment", "malformed_json")
FAULTS = PRE_PAYMENT_FAULTS + CHALLENGE_FAULTS + POST_PAYMENT_FAULTS

MAX_RESULTS = 1000
CHUNK_TOTAL = 10
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_MARKER_RE = re.compile(r"\[(seconds|results)=(\d+(?:\.\d+)?)\]|\[error\]", re.IGNORECASE)


def price(endpoint: str, body: dict[str, Any]) -> int:
    """Base units (6 decimals) the gateway charges for a validated body."""
    if endpoint == "deep-research":
        return 10_000 * body["limit"] + 3_000
    if endpoint == "deep-research-more":
        return 10_000 * body["additional_limit"] + 3_000
    return 3_000


def display_amount(base_units: int) -> str:
    return format(Decimal(base_units) / Decimal(10**DECIMALS), "f")


class BadRequest(Exception):
    pass


def _int_field(body: dict, key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise BadRequest(f"'{key}' must be an integer between {low} and {high}")
    try:
        value = int(value)
    except ValueError as err:
        raise BadRequest(f"'{key}' must be an integer between {low} and {high}") from err
    if not low <= value <= high:
        raise BadRequest(f"'{key}' must be an integer between {low} and {high}")
    return value


def validate(endpoint: str, raw: bytes | None) -> dict[str, Any]:
    """Parse and normalize a request body; raise :class:`BadRequest`."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as err:
        raise BadRequest("request body must be a JSON object") from err
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    if endpoint == "deep-research":
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadRequest("'query' is required")
        criteria = body.get("criteria")
        if criteria is not None and not (
            isinstance(criteria, list) and all(isinstance(c, str) for c in criteria)
        ):
            raise BadRequest("'criteria' must be a list of strings")
        urls = body.get("hard_filter_company_urls")
        if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
            raise BadRequest("'hard_filter_company_urls' must be a list of strings")
        return {
            **body,
            "query": query,
            "limit": _int_field(body, "limit", 30, 1, MAX_RESULTS),
            "criteria": criteria,
        }
    job_id = body.get("jobId")
    if not isinstance(job_id, str) or not job_id.strip():
        raise BadRequest("'jobId' is required")
    body = {**body, "jobId": job_id}
    if endpoint == "deep-research-status":
        body["page"] = _int_field(body, "page", 1, 1, 1_000_000)
        body["page_size"] = _int_field(body, "page_size", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    elif endpoint == "deep-research-more":
        body["additional_limit"] = _int_field(body, "additional_limit", 30, 1, MAX_RESULTS)
    return body


def parse_query(query: str) -> tuple[str, dict[str, Any]]:
    """Strip ``[seconds=N]``, ``[results=N]``, ``[error]`` markers; return (display, markers)."""
    markers: dict[str, Any] = {}
    for match in _MARKER_RE.finditer(query):
        if match.group(1):
            key = match.group(1).lower()
            markers[key] = float(match.group(2)) if key == "seconds" else int(float(match.group(2)))
        else:
            markers["error"] = True
    display = re.sub(r"\s{2,}", " ", _MARKER_RE.sub("", query)).strip()
    return display, markers


@dataclass
class Extension:
    """One ``deep-research-more`` round: processing from ``start`` for ``duration``."""

    start: float
    duration: float
    added: int


@dataclass
class Job:
    job_id: str
    query: str  # display query, markers stripped
    limit: int
    criteria: list[str] | None
    started: float  # gateway clock
    duration: float
    base_results: int
    fails: bool = False
    error_at: float = 0.5  # fraction of duration at which a failing job errors
    cancelled_at: float | None = None
    extensions: list[Extension] = field(default_factory=list)
    created_at: str = ""

    # -- state at a clock value ----------------------------------------------
    def _extension_running(self, now: float) -> Extension | None:
        for ext in self.extensions:
            if ext.start <= now < ext.start + ext.duration:
                return ext
        return None

    def result_count(self, now: float) -> int:
        """Results visible at ``now`` (finished phases only)."""
        if self.cancelled_at is not None:
            now = min(now, self.cancelled_at)
        if self.fails or not self.base_done(now):
            return 0
        return self.base_results + sum(e.added for e in self.extensions if now >= e.start + e.duration)

    def total_results_planned(self) -> int:
        return self.base_results + sum(e.added for e in self.extensions)

    def base_done(self, now: float) -> bool:
        return now >= self.started + self.duration

    def status(self, now: float) -> str:
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "cancelled"
        elapsed = now - self.started
        fraction = elapsed / self.duration if self.duration > 0 else 1.0
        if self.fails and fraction >= self.error_at:
            return "error"
        if fraction < 0.05:
            return "pending"
        if fraction < 0.60:
            return "searching"
        if fraction < 1.0:
            return "processing"
        if self._extension_running(now) is not None:
            return "processing"
        return "completed"

    def is_finished(self, now: float) -> bool:
        return self.status(now) in ("completed", "error", "cancelled")

    def chunk_done(self, now: float) -> int:
        elapsed = now - self.started
        fraction = elapsed / self.duration if self.duration > 0 else 1.0
        if self.fails:
            fraction = min(fraction, self.error_at)
        if fraction < 0.05:
            return 0
        return min(CHUNK_TOTAL, int(CHUNK_TOTAL * (fraction - 0.05) / 0.55))


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    hang: float = 0.0  # seconds to hold the answer (timeout_after_payment)


def _json_reply(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(
        status,
        [("Content-Type", "application/json"), *(headers or [])],
        json.dumps(data, ensure_ascii=False).encode("utf-8"),
    )


def _problem(status: int, title: str, detail: str, type_: str | None = None) -> Reply:
    body = {
        "type": type_ or f"https://httpstatuses.io/{status}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    return Reply(
        status,
        [("Content-Type", "application/problem+json"), ("Cache-Control", "no-store")],
        json.dumps(body).encode(),
    )


@dataclass
class _Script:
    job_seconds: float | None = None
    results: int | None = None
    error: bool | None = None


class Gateway:
    """MPP-paid Clado deep-research simulation."""

    def __init__(
        self,
        *,
        rpc_url: str,
        clock: Callable[[], float] = time.time,
        job_seconds: float = 20.0,
        realm: str | None = None,
        recipient: str = GATEWAY_RECIPIENT,
        run: Callable[[Any], Any] | None = None,
    ) -> None:
        self.rpc_url = rpc_url
        self.clock = clock
        self.job_seconds = float(job_seconds)
        self.realm = realm or DEFAULT_REALM
        self.recipient = recipient
        self.secret_key = secrets.token_hex(32)
        self.challenge_ttl = timedelta(minutes=5)
        self.hang_seconds = 5.0
        self.jobs: dict[str, Job] = {}
        self.calls: list[tuple[str, bool, int]] = []
        self._faults: dict[str, list[list[Any]]] = {}  # endpoint -> [[fault, remaining]]
        self._scripts: list[_Script] = []
        self._issued: dict[str, dict[str, Any]] = {}  # challenge id -> charge options
        self._lock = threading.RLock()
        self._run = run or asyncio.run
        self._server: Any = None

    # ------------------------------------------------------------ test hooks
    def inject(self, endpoint: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` matching requests to ``endpoint`` misbehave (see module doc)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        endpoint = endpoint.strip("/").removeprefix("clado/")
        with self._lock:
            self._faults.setdefault(endpoint, []).append([fault, int(times)])

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def script(
        self,
        job_seconds: float | None = None,
        results: int | None = None,
        error: bool | None = None,
    ) -> None:
        """Shape the next launched job (queued: one call per future job)."""
        with self._lock:
            self._scripts.append(_Script(job_seconds, results, error))

    def paid_calls(self, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(1 for e, paid, _ in self.calls if paid and (endpoint in (None, e)))

    def _take_fault(self, endpoint: str, kinds: tuple[str, ...]) -> str | None:
        with self._lock:
            queue = self._faults.get(endpoint, [])
            for entry in queue:
                if entry[0] in kinds and entry[1] > 0:
                    entry[1] -= 1
                    if entry[1] <= 0:
                        queue.remove(entry)
                    return entry[0]
        return None

    # --------------------------------------------------------------- payment
    @property
    def server(self) -> Any:
        if self._server is None:
            from mpp.methods.tempo import server as tempo_server
            from mpp.server import Mpp
            from mpp.store import MemoryStore

            self._server = Mpp(
                methods=tempo_server.charge(
                    recipient=self.recipient,
                    chain_id=CHAIN_ID,
                    currencies=[USDC_E],
                    rpc_url=self.rpc_url,
                    store=MemoryStore(),  # replay protection: one sandbox process
                ),
                realm=self.realm,
                secret_key=self.secret_key,
            )
        return self._server

    async def _charge(self, options: dict[str, Any], request: Any) -> Any:
        return await self.server.charge(**options)(request)

    @staticmethod
    def _credential_challenge_id(headers: dict[str, str]) -> str | None:
        value = headers.get("authorization") or headers.get("payment-authorization")
        if not value or not value.lower().startswith("payment "):
            return None
        try:
            from mpp import Credential

            return Credential.from_authorization(value).challenge.id
        except Exception:  # noqa: BLE001 - malformed: let pympp answer it
            return ""

    # ------------------------------------------------------------ main entry
    def handle(
        self, endpoint: str, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Reply:
        headers = {k.lower(): v for k, v in headers.items()}
        paid = False
        try:
            reply, paid = self._handle(endpoint, method, url, headers, body)
        except Exception as err:  # noqa: BLE001 - a sandbox must answer, not crash
            reply = _problem(500, "Internal Server Error", f"sandbox error: {err!r}")
        with self._lock:
            self.calls.append((endpoint, paid, reply.status))
        return reply

    def _handle(
        self, endpoint: str, method: str, url: str, headers: dict[str, str], raw: bytes | None
    ) -> tuple[Reply, bool]:
        if endpoint not in ENDPOINTS:
            return _json_reply(404, {"error": f"Unknown endpoint: clado/{endpoint}"}), False
        if method != "POST":
            return _json_reply(405, {"error": "Method not allowed"}, [("Allow", "POST")]), False
        try:
            body = validate(endpoint, raw)
        except BadRequest as err:
            return _problem(400, "Bad Request", str(err)), False
        amount = price(endpoint, body)
        options: dict[str, Any] = {
            "amount": display_amount(amount),
            "description": f"Locus MPP: clado/{endpoint}",
            "expires_in": self.challenge_ttl,
        }
        challenge_id = self._credential_challenge_id(headers)
        if challenge_id is None:
            fault = self._take_fault(endpoint, PRE_PAYMENT_FAULTS)
            if fault == "http_500":
                return _problem(500, "Internal Server Error", "upstream failure (injected)"), False
            if fault == "rate_limit":
                return (
                    _json_reply(
                        429,
                        {"error": "Rate limit exceeded", "retry_after": 60},
                        [("Retry-After", "60")],
                    ),
                    False,
                )
            if fault == "not_found":
                return _json_reply(404, {"error": "Not found"}), False
            fault = self._take_fault(endpoint, CHALLENGE_FAULTS)
            if fault == "overprice":
                options["amount"] = display_amount(amount * 10)
            elif fault == "wrong_recipient":
                options["recipient"] = WRONG_RECIPIENT
            elif fault == "wrong_currency":
                options["currency"] = PATH_USD
        else:
            with self._lock:
                issued = self._issued.get(challenge_id)
            if issued is not None:
                options = {**options, **issued}

        from mpp.errors import PaymentError
        from mpp.server import PaymentVerified, Request

        request = Request(method, url, headers=list(headers.items()), body=raw)
        try:
            result = self._run(self._charge(options, request))
        except PaymentError as error:
            # What a framework integration answers for errors pympp raises rather than
            # returns, e.g. 500 internal-payment-error when a broadcast was refused.
            problem = error.to_problem_details()
            return Reply(
                error.status,
                [("Content-Type", "application/problem+json"), ("Cache-Control", "no-store")],
                json.dumps(problem).encode(),
            ), False
        if not isinstance(result, PaymentVerified):
            response = result.challenge
            if response.status == 402:
                self._remember_challenges(response, options)
            return Reply(response.status, list(response.headers.multi_items()), response.body or b""), False

        fault = self._take_fault(endpoint, POST_PAYMENT_FAULTS)
        if fault == "http_500_after_payment":
            return _problem(500, "Internal Server Error", "upstream failure after payment"), True
        status, data = self._clado(endpoint, body)
        response = self._mpp_response(status, data, fault == "malformed_json")
        response = result.with_receipt(response)
        reply = Reply(response.status, list(response.headers.multi_items()), response.body or b"")
        if fault == "timeout_after_payment":
            reply.hang = self.hang_seconds
        return reply, True

    @staticmethod
    def _mpp_response(status: int, data: Any, malformed: bool) -> Any:
        from mpp.server import Response

        if malformed:
            text = json.dumps(data, ensure_ascii=False)
            garbled = "<html><body>502 Bad Gateway</body></html>\n" + text[: len(text) // 2]
            return Response(status, {"Content-Type": "application/json"}, garbled.encode())
        return Response.json(data, status=status)

    def _remember_challenges(self, response: Any, options: dict[str, Any]) -> None:
        extra = {k: v for k, v in options.items() if k in ("amount", "recipient", "currency")}
        for value in response.headers.get_list("www-authenticate"):
            for match in re.finditer(r'\bid="([^"]+)"', value):
                with self._lock:
                    if len(self._issued) > 10_000:
                        self._issued.clear()
                    self._issued[match.group(1)] = extra

    # ------------------------------------------------------ clado simulation
    def _clado(self, endpoint: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self._lock:
            if endpoint == "deep-research":
                return 200, self._launch(body)
            job = self.jobs.get(body["jobId"])
            if job is None:
                if endpoint == "deep-research-cancel":
                    return 404, {"success": False, "message": "Job not found"}
                return 404, {"error": "Job not found"}
            now = self.clock()
            if endpoint == "deep-research-status":
                return 200, self._status(job, now, body["page"], body["page_size"])
            if endpoint == "deep-research-cancel":
                state = job.status(now)
                if job.is_finished(now):
                    return 409, {
                        "success": False,
                        "message": f"Cannot cancel job: already {state}",
                    }
                job.cancelled_at = now
                return 200, {"success": True, "message": "Job cancelled"}
            # deep-research-more
            state = job.status(now)
            if state != "completed":
                return 409, {
                    "success": False,
                    "message": f"Cannot request more results: job is {state}",
                }
            current = job.total_results_planned()
            room = MAX_RESULTS - current
            wanted = body["additional_limit"]
            fraction = profile_gen.result_fraction(f"{job.query}#more{len(job.extensions)}")
            added = max(0, min(room, max(1, round(wanted * fraction))))
            job.extensions.append(Extension(now, max(job.duration * 0.5, 0.0), added))
            return 200, {
                "job_id": job.job_id,
                "status": "processing",
                "message": f"Searching for {wanted} more results",
            }

    def _launch(self, body: dict[str, Any]) -> dict[str, Any]:
        display, markers = parse_query(body["query"])
        script = self._scripts.pop(0) if self._scripts else _Script()
        duration = markers.get("seconds", self.job_seconds)
        if script.job_seconds is not None:
            duration = script.job_seconds
        limit = body["limit"]
        if script.results is not None:
            count = script.results
        elif "results" in markers:
            count = markers["results"]
        else:
            count = max(1, round(limit * profile_gen.result_fraction(display)))
        count = max(0, min(MAX_RESULTS, int(count)))
        fails = bool(markers.get("error")) if script.error is None else bool(script.error)
        now = self.clock()
        job = Job(
            job_id=str(uuid.uuid4()),
            query=display,
            limit=limit,
            criteria=body.get("criteria"),
            started=now,
            duration=float(duration),
            base_results=count,
            fails=fails,
            created_at=_iso(now),
        )
        self.jobs[job.job_id] = job
        return {"job_id": job.job_id, "status": "pending", "message": "Deep research job initiated"}

    def _status(self, job: Job, now: float, page: int, page_size: int) -> dict[str, Any]:
        state = job.status(now)
        count = job.result_count(now)
        total_pages = max(1, -(-count // page_size)) if count else 0
        start = (page - 1) * page_size
        stop = min(count, start + page_size)
        results = profile_gen.profiles(job.query, start, stop, job.criteria) if start < count else []
        chunk_done = job.chunk_done(now)
        planned = job.total_results_planned()
        seen = chunk_done / CHUNK_TOTAL
        messages = {
            "pending": "Job queued",
            "searching": f"Searching ({chunk_done}/{CHUNK_TOTAL} chunks)",
            "processing": "Processing and ranking candidates",
            "completed": "Deep research completed",
            "error": "Deep research failed",
            "cancelled": "Job cancelled",
        }
        data: dict[str, Any] = {
            "job_id": job.job_id,
            "status": state,
            "message": messages[state],
            "query": job.query,
            "created_at": job.created_at,
            "search_chunk_done": chunk_done,
            "search_chunk_total": CHUNK_TOTAL,
            "opensearch_results": int(planned * 37 * seen) + int(11 * seen),
            "total_filtered": int(planned * 3 * seen),
            "total_results": count,
            "final_results_count": count,
            "results": results,
            "pagination": {
                "current_page": page,
                "page_size": page_size,
                "total_pages": total_pages,
                "total_results": count,
                "has_next": stop < count,
            },
        }
        if state == "error":
            data["error"] = "Search backend failed while processing the job (simulated)"
        return data


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
