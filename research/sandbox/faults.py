"""Faults a test can make the gateway commit on purpose, and the queue that holds them.

``gateway.inject(endpoint, fault, times=1)`` queues a fault for the next ``times``
requests to ``endpoint`` at the point where that fault can fire; the gateway takes
it from the queue with :meth:`FaultQueue.take`. Each fault is consumed only by a
request that reaches its phase:

Before payment (a request without a credential):
    ``http_500``          500 problem JSON, no challenge.
    ``rate_limit``        429 ``{"error": "Rate limit exceeded", "retry_after": 60}``, ``Retry-After: 60``.
    ``retry_after_huge``  429 ``{"error": "Rate limit exceeded", "retry_after": 999999999999}``,
                          ``Retry-After: 999999999999``.
    ``not_found``         404 ``{"error": "Not found"}``.
    ``connection_drop``   no answer at all: the server closes the connection (the client
                          sees a transport error); recorded in ``calls`` with status 0.

Bending the challenge of the 402 (the careful client must refuse to pay):
    ``overprice``           amount ten times the price.
    ``wrong_recipient``     recipient ``0x...dEaD``.
    ``wrong_currency``      pathUSD instead of USDC.e.
  Hostile challenges, crafted after pympp built the honest one (see :mod:`.challenges`);
  a credential for one is answered with a fresh 402 and nothing is broadcast:
    ``absurd_amount``       amount ``"1"`` followed by 40 zeros (base units).
    ``negative_amount``     amount ``"-5000"``.
    ``non_integer_amount``  amount ``"0.5"`` (base-unit amounts are integer strings).
    ``wrong_chain``         ``methodDetails.chainId`` 1.
    ``expired_challenge``   ``expires`` ten minutes in the past.

On the paid retry, before verifying (nothing is broadcast, nothing moves):
    ``reject_402_unsettled``  a fresh 402 challenge.
    ``reject_403_unsettled``  403 ``{"type": "https://paymentauth.org/problems/verification-failed",
                              "status": 403, ...}``.

After payment (the credential verified and settled on chain: the money moved):
    ``http_500_after_payment``      500 without receipt; the Clado action is NOT performed.
    ``timeout_after_payment``       the action IS performed, then the answer is held for
                                    ``gateway.hang_seconds``.
    ``malformed_json``              the action is performed; 200 + receipt, truncated non-JSON body.
    ``reject_402_after_broadcast``  a fresh 402 challenge, no receipt, no Clado action.
    ``reject_403_after_broadcast``  403 verification-failed problem JSON, no receipt, no action.
  A pympp client left at its default ``max_payment_retries`` pays the fresh 402 again.
"""

import threading
from dataclasses import dataclass

PRE_PAYMENT_FAULTS = ("http_500", "rate_limit", "retry_after_huge", "not_found", "connection_drop")
OPTION_FAULTS = ("overprice", "wrong_recipient", "wrong_currency")  # pympp issues these
HOSTILE_CHALLENGE_FAULTS = (
    "absurd_amount",
    "negative_amount",
    "non_integer_amount",
    "wrong_chain",
    "expired_challenge",
)
CHALLENGE_FAULTS = OPTION_FAULTS + HOSTILE_CHALLENGE_FAULTS
PAID_RETRY_FAULTS = ("reject_402_unsettled", "reject_403_unsettled")
POST_PAYMENT_FAULTS = (
    "http_500_after_payment",
    "timeout_after_payment",
    "malformed_json",
    "reject_402_after_broadcast",
    "reject_403_after_broadcast",
)
FAULTS = PRE_PAYMENT_FAULTS + CHALLENGE_FAULTS + PAID_RETRY_FAULTS + POST_PAYMENT_FAULTS


@dataclass
class _Pending:
    fault: str
    remaining: int


class FaultQueue:
    """Per-endpoint queues of injected faults; thread-safe."""

    def __init__(self) -> None:
        self._queues: dict[str, list[_Pending]] = {}
        self._lock = threading.Lock()

    def inject(self, endpoint: str, fault: str, times: int = 1) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose from {FAULTS}")
        endpoint = endpoint.strip("/").removeprefix("clado/")
        with self._lock:
            self._queues.setdefault(endpoint, []).append(_Pending(fault, int(times)))

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def take(self, endpoint: str, kinds: tuple[str, ...]) -> str | None:
        """Consume one pending fault of ``kinds`` for ``endpoint`` (oldest first), if any."""
        with self._lock:
            queue = self._queues.get(endpoint, [])
            for pending in queue:
                if pending.fault in kinds and pending.remaining > 0:
                    pending.remaining -= 1
                    if pending.remaining <= 0:
                        queue.remove(pending)
                    return pending.fault
        return None
