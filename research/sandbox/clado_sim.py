"""The Clado deep-research API behind the gateway: request bodies, prices, and the four endpoints.

:func:`validate` normalizes a body (or raises :class:`BadRequest`), :func:`price` says
what it costs, and :meth:`CladoSim.answer` performs the call once it has been paid for:
launch a :class:`~research.sandbox.jobs.Job`, report its status page, cancel it, or ask
for more results. Markers in a query shape a job: ``[seconds=N]``, ``[results=N]``,
``[error]`` (stripped from the stored query); :meth:`CladoSim.script` does the same from a test.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import profiles as profile_gen
from .jobs import CHUNK_TOTAL, Extension, Job

ENDPOINTS = ("deep-research", "deep-research-status", "deep-research-cancel", "deep-research-more")
MAX_RESULTS = 1000
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_MARKER_RE = re.compile(r"\[(seconds|results)=(\d+(?:\.\d+)?)\]|\[error\]", re.IGNORECASE)

MESSAGES = {
    "pending": "Job queued",
    "searching": "Searching ({done}/{total} chunks)",
    "processing": "Processing and ranking candidates",
    "completed": "Deep research completed",
    "error": "Deep research failed",
    "cancelled": "Job cancelled",
}


class BadRequest(Exception):
    pass


def price(endpoint: str, body: dict[str, Any]) -> int:
    """Base units (6 decimals) the gateway charges for a validated body."""
    if endpoint == "deep-research":
        return 10_000 * body["limit"] + 3_000
    if endpoint == "deep-research-more":
        return 10_000 * body["additional_limit"] + 3_000
    return 3_000


def _int_field(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
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


def _string_list(body: dict[str, Any], key: str) -> list[str] | None:
    value = body.get(key)
    if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise BadRequest(f"'{key}' must be a list of strings")
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
        criteria = _string_list(body, "criteria")
        _string_list(body, "hard_filter_company_urls")
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


def _iso(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Script:
    """How the next launched job should run (``None``: from markers or defaults)."""

    job_seconds: float | None = None
    results: int | None = None
    error: bool | None = None


class CladoSim:
    """The jobs and the four deep-research endpoints, on the gateway's clock."""

    def __init__(self, clock: Callable[[], float] = time.time, job_seconds: float = 20.0) -> None:
        self.clock = clock
        self.job_seconds = float(job_seconds)
        self.jobs: dict[str, Job] = {}
        self.scripts: list[Script] = []
        self._lock = threading.RLock()

    def script(self, script: Script) -> None:
        with self._lock:
            self.scripts.append(script)

    def clear_scripts(self) -> None:
        with self._lock:
            self.scripts.clear()

    def answer(self, endpoint: str, body: dict[str, Any]) -> tuple[int, Any]:
        """Perform a paid, validated call; return (HTTP status, JSON body)."""
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
                return self._cancel(job, now)
            return self._more(job, now, body["additional_limit"])

    def _launch(self, body: dict[str, Any]) -> dict[str, Any]:
        display, markers = parse_query(body["query"])
        script = self.scripts.pop(0) if self.scripts else Script()
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

    @staticmethod
    def _cancel(job: Job, now: float) -> tuple[int, dict[str, Any]]:
        if job.is_finished(now):
            return 409, {"success": False, "message": f"Cannot cancel job: already {job.status(now)}"}
        job.cancelled_at = now
        return 200, {"success": True, "message": "Job cancelled"}

    @staticmethod
    def _more(job: Job, now: float, wanted: int) -> tuple[int, dict[str, Any]]:
        state = job.status(now)
        if state != "completed":
            return 409, {"success": False, "message": f"Cannot request more results: job is {state}"}
        room = MAX_RESULTS - job.total_results_planned()
        fraction = profile_gen.result_fraction(f"{job.query}#more{len(job.extensions)}")
        added = max(0, min(room, max(1, round(wanted * fraction))))
        job.extensions.append(Extension(now, max(job.duration * 0.5, 0.0), added))
        return 200, {
            "job_id": job.job_id,
            "status": "processing",
            "message": f"Searching for {wanted} more results",
        }

    @staticmethod
    def _status(job: Job, now: float, page: int, page_size: int) -> dict[str, Any]:
        state = job.status(now)
        count = job.result_count(now)
        total_pages = max(1, -(-count // page_size)) if count else 0
        start = (page - 1) * page_size
        stop = min(count, start + page_size)
        results = profile_gen.profiles(job.query, start, stop, job.criteria) if start < count else []
        chunk_done = job.chunk_done(now)
        planned = job.total_results_planned()
        seen = chunk_done / CHUNK_TOTAL
        data: dict[str, Any] = {
            "job_id": job.job_id,
            "status": state,
            "message": MESSAGES[state].format(done=chunk_done, total=CHUNK_TOTAL),
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
