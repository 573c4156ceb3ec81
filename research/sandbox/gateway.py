"""The offline MPP gateway: pympp's own payment server in front of the Clado simulation.

Framework-neutral: :meth:`Gateway.handle` takes (endpoint, method, url, headers, body)
and returns a :class:`Reply`; :mod:`research.sandbox.server` wires it to HTTP. Payments
run on one asyncio loop (owned by the server) through ``asyncio.run_coroutine_threadsafe``.

Order of processing a request (documented choices where the real gateway is unknown):

1. unknown endpoint -> 404 (no payment).
2. body parsed and validated, price computed -> 400 problem JSON on bad input (no payment).
3. request without a payment credential: pending pre-payment faults fire here;
   otherwise a 402 challenge is issued (challenge faults bend it).
4. request with a credential: pympp verifies and settles it (402/403 when rejected);
   then the post-payment faults fire.
5. the Clado answer is served with ``Payment-Receipt`` -- also for 404 (unknown job)
   and 409 answers: the call was paid for, as on the real gateway (inferred).

The faults, and what each answers, are listed in :mod:`research.sandbox.faults`.
``calls`` records ``(endpoint, paid, status)`` per request, ``paid`` meaning money moved.
"""

import asyncio
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from . import challenges
from .clado_sim import ENDPOINTS, BadRequest, CladoSim, Script, price, validate
from .faults import (
    CHALLENGE_FAULTS,
    FAULTS,
    HOSTILE_CHALLENGE_FAULTS,
    PAID_RETRY_FAULTS,
    POST_PAYMENT_FAULTS,
    PRE_PAYMENT_FAULTS,
    FaultQueue,
)
from .jobs import Job
from .params import CHAIN_ID, DECIMALS, PATH_USD, USDC_E

__all__ = ["DEFAULT_REALM", "FAULTS", "GATEWAY_RECIPIENT", "Gateway", "Job", "Reply"]

GATEWAY_RECIPIENT = "0x060b0fB0Be9d90557577B3AEE480711067149Ff0"
WRONG_RECIPIENT = "0x000000000000000000000000000000000000dEaD"
DEFAULT_REALM = "clado.mpp.paywithlocus.com"
HUGE_RETRY_AFTER = 999_999_999_999  # seconds (retry_after_huge)
CREDENTIAL_HEADERS = ("authorization", "payment-authorization")
PROBLEM_HEADERS = [("Content-Type", "application/problem+json"), ("Cache-Control", "no-store")]


def display_amount(base_units: int) -> str:
    return format(Decimal(base_units) / Decimal(10**DECIMALS), "f")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    hang: float = 0.0  # seconds to hold the answer (timeout_after_payment)
    drop: bool = False  # close the connection without answering (connection_drop)


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
    return Reply(status, list(PROBLEM_HEADERS), json.dumps(body).encode())


def _verification_failed(reason: str) -> Reply:
    """403 ``verification-failed`` problem JSON, as pympp answers a replayed credential."""
    from mpp.errors import CredentialReplayedError

    problem = CredentialReplayedError(reason).to_problem_details()
    return Reply(403, list(PROBLEM_HEADERS), json.dumps(problem).encode())


def _reply(response: Any) -> Reply:
    """A pympp ``Response`` as a :class:`Reply`."""
    return Reply(response.status, list(response.headers.multi_items()), response.body or b"")


@dataclass
class _Call:
    """One request as it goes through the gateway."""

    endpoint: str
    method: str
    url: str
    headers: dict[str, str]  # lower-case names
    raw: bytes | None
    body: dict[str, Any] = field(default_factory=dict)  # validated
    options: dict[str, Any] = field(default_factory=dict)  # honest charge terms of this route

    def request(self, with_credential: bool = True) -> Any:
        """The request as pympp's server reads it (optionally without its credential)."""
        from mpp.server import Request

        headers = [(k, v) for k, v in self.headers.items() if with_credential or k not in CREDENTIAL_HEADERS]
        return Request(self.method, self.url, headers=headers, body=self.raw)


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
        self.clado = CladoSim(clock=clock, job_seconds=job_seconds)
        self.realm = realm or DEFAULT_REALM
        self.recipient = recipient
        self.secret_key = secrets.token_hex(32)
        self.challenge_ttl = timedelta(minutes=5)
        self.hang_seconds = 5.0
        self.calls: list[tuple[str, bool, int]] = []
        self.faults = FaultQueue()
        self._issued: dict[str, dict[str, Any]] = {}  # challenge id -> charge options
        self._lock = threading.RLock()
        self._run = run or asyncio.run
        self._server: Any = None

    # ------------------------------------------------- the Clado simulation
    @property
    def jobs(self) -> dict[str, Job]:
        return self.clado.jobs

    @property
    def clock(self) -> Callable[[], float]:
        return self.clado.clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        self.clado.clock = clock

    @property
    def job_seconds(self) -> float:
        return self.clado.job_seconds

    @job_seconds.setter
    def job_seconds(self, seconds: float) -> None:
        self.clado.job_seconds = float(seconds)

    # ------------------------------------------------------------ test hooks
    def inject(self, endpoint: str, fault: str, times: int = 1) -> None:
        """Make the next ``times`` matching requests to ``endpoint`` misbehave (see :mod:`.faults`)."""
        self.faults.inject(endpoint, fault, times)

    def clear_faults(self) -> None:
        self.faults.clear()

    def script(
        self,
        job_seconds: float | None = None,
        results: int | None = None,
        error: bool | None = None,
    ) -> None:
        """Shape the next launched job (queued: one call per future job)."""
        self.clado.script(Script(job_seconds, results, error))

    def clear_scripts(self) -> None:
        """Forget the shapes queued for jobs not launched yet (a test that stopped early leaves some)."""
        self.clado.clear_scripts()

    def paid_calls(self, endpoint: str | None = None) -> int:
        with self._lock:
            return sum(1 for e, paid, _ in self.calls if paid and (endpoint in (None, e)))

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
        value = next((headers[name] for name in CREDENTIAL_HEADERS if headers.get(name)), None)
        if not value or not value.lower().startswith("payment "):
            return None
        try:
            from mpp import Credential

            return Credential.from_authorization(value).challenge.id
        except Exception:  # noqa: BLE001 - malformed: let pympp answer it
            return ""

    def _remember_challenges(self, response: Any, options: dict[str, Any]) -> None:
        """Keep a bent challenge's terms, so a credential for it is verified against them."""
        extra = {k: v for k, v in options.items() if k in ("amount", "recipient", "currency")}
        for value in response.headers.get_list("www-authenticate"):
            for match in re.finditer(r'\bid="([^"]+)"', value):
                with self._lock:
                    if len(self._issued) > 10_000:
                        self._issued.clear()
                    self._issued[match.group(1)] = extra

    # ------------------------------------------------------------ main entry
    def handle(
        self, endpoint: str, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> Reply:
        headers = {k.lower(): v for k, v in headers.items()}
        paid = False
        try:
            reply, paid = self._handle(_Call(endpoint, method, url, headers, body))
        except Exception as err:  # noqa: BLE001 - a sandbox must answer, not crash
            reply = _problem(500, "Internal Server Error", f"sandbox error: {err!r}")
        with self._lock:
            self.calls.append((endpoint, paid, 0 if reply.drop else reply.status))
        return reply

    def _handle(self, call: _Call) -> tuple[Reply, bool]:
        if call.endpoint not in ENDPOINTS:
            return _json_reply(404, {"error": f"Unknown endpoint: clado/{call.endpoint}"}), False
        if call.method != "POST":
            return _json_reply(405, {"error": "Method not allowed"}, [("Allow", "POST")]), False
        try:
            call.body = validate(call.endpoint, call.raw)
        except BadRequest as err:
            return _problem(400, "Bad Request", str(err)), False
        amount = price(call.endpoint, call.body)
        call.options = {
            "amount": display_amount(amount),
            "description": f"Locus MPP: clado/{call.endpoint}",
            "expires_in": self.challenge_ttl,
        }
        challenge_id = self._credential_challenge_id(call.headers)
        if challenge_id is None:
            return self._unpaid(call, amount), False
        fault = self.faults.take(call.endpoint, PAID_RETRY_FAULTS)
        if fault == "reject_402_unsettled":
            return self._fresh_challenge(call), False
        if fault == "reject_403_unsettled":
            return _verification_failed("credential refused before settlement (injected)"), False
        with self._lock:
            options = {**call.options, **self._issued.get(challenge_id, {})}
        return self._pay_and_serve(call, options)

    def _unpaid(self, call: _Call, amount: int) -> Reply:
        """A request without a credential: a pre-payment fault, or a (possibly bent) 402."""
        fault = self.faults.take(call.endpoint, PRE_PAYMENT_FAULTS)
        if fault == "http_500":
            return _problem(500, "Internal Server Error", "upstream failure (injected)")
        if fault in ("rate_limit", "retry_after_huge"):
            wait = 60 if fault == "rate_limit" else HUGE_RETRY_AFTER
            return _json_reply(
                429, {"error": "Rate limit exceeded", "retry_after": wait}, [("Retry-After", str(wait))]
            )
        if fault == "not_found":
            return _json_reply(404, {"error": "Not found"})
        if fault == "connection_drop":
            return Reply(0, [], b"", drop=True)
        fault = self.faults.take(call.endpoint, CHALLENGE_FAULTS)
        options = dict(call.options)
        if fault == "overprice":
            options["amount"] = display_amount(amount * 10)
        elif fault == "wrong_recipient":
            options["recipient"] = WRONG_RECIPIENT
        elif fault == "wrong_currency":
            options["currency"] = PATH_USD
        reply = self._challenge(call, options)
        if fault in HOSTILE_CHALLENGE_FAULTS and reply.status == 402:
            reply.headers, reply.body = challenges.rewrite_402(
                fault, reply.headers, reply.body, secret_key=self.secret_key, realm=self.realm
            )
        return reply

    def _challenge(self, call: _Call, options: dict[str, Any]) -> Reply:
        """The 402 pympp issues for this route and these terms (no credential is read)."""
        result = self._run(self._charge(options, call.request(with_credential=False)))
        if result.challenge.status == 402:
            self._remember_challenges(result.challenge, options)
        return _reply(result.challenge)

    def _fresh_challenge(self, call: _Call) -> Reply:
        return self._challenge(call, call.options)

    def _pay_and_serve(self, call: _Call, options: dict[str, Any]) -> tuple[Reply, bool]:
        """Let pympp verify and settle the credential, then answer (post-payment faults here)."""
        from mpp.errors import PaymentError
        from mpp.server import PaymentVerified

        try:
            result = self._run(self._charge(options, call.request()))
        except PaymentError as error:
            # What a framework integration answers for errors pympp raises rather than
            # returns, e.g. 500 internal-payment-error when a broadcast was refused.
            problem = error.to_problem_details()
            return Reply(error.status, list(PROBLEM_HEADERS), json.dumps(problem).encode()), False
        if not isinstance(result, PaymentVerified):
            if result.challenge.status == 402:
                self._remember_challenges(result.challenge, options)
            return _reply(result.challenge), False

        fault = self.faults.take(call.endpoint, POST_PAYMENT_FAULTS)
        if fault == "http_500_after_payment":
            return _problem(500, "Internal Server Error", "upstream failure after payment"), True
        if fault == "reject_402_after_broadcast":
            return self._fresh_challenge(call), True
        if fault == "reject_403_after_broadcast":
            return _verification_failed("payment rejected after settlement (injected)"), True
        status, data = self.clado.answer(call.endpoint, call.body)
        reply = _reply(result.with_receipt(self._mpp_response(status, data, fault == "malformed_json")))
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
