"""Hostile challenges: a 402 whose terms no careful client should sign.

pympp's server will not issue some of these (a negative or fractional amount, another
chain), so the gateway lets pympp build the ordinary 402 and :func:`rewrite_402` then
re-issues each ``WWW-Authenticate: Payment`` challenge with bent terms, HMAC-bound with
the gateway's own secret like any challenge it issues, and points the problem body's
``challengeId`` at it. The client therefore receives exactly that challenge.

A credential for a hostile challenge is never honoured: its echoed terms no longer match
the route (or it has expired), so pympp answers it with a fresh 402 and broadcasts nothing.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

ABSURD_AMOUNT = "1" + "0" * 40  # base units: far beyond any balance or uint256-sane price
NEGATIVE_AMOUNT = "-5000"
NON_INTEGER_AMOUNT = "0.5"  # base-unit amounts are integer strings
WRONG_CHAIN_ID = 1  # Ethereum mainnet, not Tempo's 4217
EXPIRED_AGO = timedelta(minutes=10)


def bend(fault: str, request: dict[str, Any], expires: str | None) -> tuple[dict[str, Any], str | None]:
    """The (request, expires) a hostile challenge carries instead of the honest ones."""
    request = dict(request)
    if fault == "absurd_amount":
        request["amount"] = ABSURD_AMOUNT
    elif fault == "negative_amount":
        request["amount"] = NEGATIVE_AMOUNT
    elif fault == "non_integer_amount":
        request["amount"] = NON_INTEGER_AMOUNT
    elif fault == "wrong_chain":
        request["methodDetails"] = {**(request.get("methodDetails") or {}), "chainId": WRONG_CHAIN_ID}
    elif fault == "expired_challenge":
        expires = (datetime.now(UTC) - EXPIRED_AGO).isoformat()
    else:
        raise ValueError(f"not a hostile challenge fault: {fault!r}")
    return request, expires


def _reissue(fault: str, value: str, *, secret_key: str, realm: str) -> tuple[str, str]:
    """One bent ``WWW-Authenticate`` value and its new challenge id."""
    from mpp import Challenge

    honest = Challenge.from_www_authenticate(value)
    request, expires = bend(fault, honest.request, honest.expires)
    hostile = Challenge.create(
        secret_key=secret_key,
        realm=honest.realm,
        method=honest.method,
        intent=honest.intent,
        request=request,
        expires=expires,
        digest=honest.digest,
        description=honest.description,
        meta=honest.opaque,
        header=honest.header,
    )
    return hostile.to_www_authenticate(realm), hostile.id


def rewrite_402(
    fault: str, headers: list[tuple[str, str]], body: bytes, *, secret_key: str, realm: str
) -> tuple[list[tuple[str, str]], bytes]:
    """Bend every Payment challenge of a 402 (headers, body) pympp built."""
    new_headers: list[tuple[str, str]] = []
    last_id = None
    for name, value in headers:
        if name.lower() == "www-authenticate" and value.lower().startswith("payment "):
            value, last_id = _reissue(fault, value, secret_key=secret_key, realm=realm)
        new_headers.append((name, value))
    try:
        problem = json.loads(body)
    except ValueError:
        return new_headers, body
    if isinstance(problem, dict) and last_id is not None and "challengeId" in problem:
        problem["challengeId"] = last_id
        body = json.dumps(problem).encode()
    return new_headers, body
