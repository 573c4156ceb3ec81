"""Every API error is `application/problem+json` (RFC 9457) with a stable `type` per cause.

A program branches on `type` (its last path segment names the cause: `budget`, `price-above-max`,
...); `title` is the cause in words, `detail` this occurrence, and some problems add members of
their own (`errors` for validation, `job` for a search run recently). No error shows a traceback:
an unexpected exception is logged and answered as `server-error`.
"""

import json
import logging

from django.http import Http404, HttpResponse
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
# A relative reference (RFC 9457 allows one): GET it for the cause's description.
BASE = "/api/v1/problems/"

# type: (HTTP status, title, what a program should do)
PROBLEMS = {
    "validation": (422, "The request is not valid", "Fix the fields named in `errors` and send it again."),
    "unauthorized": (
        401,
        "A valid API token is needed",
        "Send `Authorization: Bearer <token>` with a token that is not revoked or expired.",
    ),
    "not-found": (404, "Not found", "Check the path and the job number; you see only your own jobs."),
    "method-not-allowed": (405, "Method not allowed", "See the OpenAPI schema for the methods of this path."),
    "rate-limited": (429, "Too many requests", "Wait for `Retry-After` seconds, then send it again."),
    "budget": (
        403,
        "A budget cap does not allow this",
        "Nothing was paid. Wait for the cap's period to turn, ask for fewer results, or ask an admin.",
    ),
    "price-above-max": (
        422,
        "The price is above your max_price",
        "Nothing was paid. Raise `max_price` or ask for fewer results.",
    ),
    "same-search-recently": (
        409,
        "You ran this search recently",
        "Nothing was paid. Use the earlier job in `job`, or send `again: true` to pay for it again.",
    ),
    "needs-confirmation": (
        409,
        "This may be money for nothing",
        "Nothing was paid. Send the confirmation flag named in `detail` to go ahead anyway.",
    ),
    "idempotency-key-reused": (
        422,
        "This Idempotency-Key was used for another request",
        "Nothing was paid. Use a new key for a new request.",
    ),
    "conflict": (
        409,
        "Not done: the job is not in a state for this",
        "`detail` says why and whether anything was paid; `job` shows its state.",
    ),
    "server-error": (500, "Something went wrong on our side", "Try again later; the error was logged."),
}


class Problem(Exception):
    """Raise to answer with a problem: `kind` is a key of PROBLEMS; `extra` adds members."""

    def __init__(self, kind, detail, *, headers=None, **extra):
        assert kind in PROBLEMS, kind
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_type(kind):
    return BASE + kind


def response(kind, detail, *, headers=None, **extra):
    """The problem as an HttpResponse."""
    status, title, _ = PROBLEMS[kind]
    body = {"type": problem_type(kind), "title": title, "status": status, "detail": detail, **extra}
    answer = HttpResponse(
        json.dumps(body, default=str, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    answer["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        answer[name] = value
    return answer


def describe(kind):
    """What GET /api/v1/problems/<kind> answers."""
    status, title, action = PROBLEMS[kind]
    return {"type": problem_type(kind), "title": title, "status": status, "action": action}


def _validation_errors(errors):
    return [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in errors
    ]


def install(api):
    """Replace ninja's default error answers (plain JSON, or a traceback in DEBUG) with problems."""

    @api.exception_handler(Problem)
    def on_problem(request, exc):
        return response(exc.kind, exc.detail, headers=exc.headers, **exc.extra)

    @api.exception_handler(ValidationError)
    def on_validation(request, exc):
        errors = _validation_errors(exc.errors)
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(first["loc"][1:] or first["loc"]) or "request"
        return response("validation", f"{where}: {first['msg']}", errors=errors)

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request, exc):
        return response(
            "unauthorized",
            "No API token: send `Authorization: Bearer <token>` (create one at /account/tokens/).",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )

    @api.exception_handler(Throttled)
    def on_throttled(request, exc):
        return response("rate-limited", "This token sent too many requests; see Retry-After.")

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return response("not-found", "No such job, or it is not one you can see.")

    @api.exception_handler(HttpError)
    def on_http_error(request, exc):
        kind = {401: "unauthorized", 404: "not-found", 405: "method-not-allowed", 429: "rate-limited"}.get(
            exc.status_code, "validation" if 400 <= exc.status_code < 500 else "server-error"
        )
        return response(kind, str(exc))

    @api.exception_handler(Exception)
    def on_error(request, exc):
        log.exception("API error on %s %s", request.method, request.path)
        return response(
            "server-error",
            "An unexpected error; it was logged. GET the job to see its state before sending this again.",
        )
