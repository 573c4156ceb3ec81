"""Who is calling: a personal API token (`Authorization: Bearer cdr_…`), and how often it may.

A token is looked up by the SHA-256 of what was sent (the secret itself is never stored). A
revoked or expired token, or one whose person is deactivated, is refused with 401. The call then
acts as the token's person: `request.user` is set, so visibility, budgets and the audit trail are
theirs. Each token has a fixed-window rate limit (API_RATE_LIMIT) counted in Django's cache.
"""

import datetime
import re
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from ..models import ApiToken
from ..models.api import hash_key
from .errors import Problem

# last_used_at is written at most this often per token: not one UPDATE per request.
TOUCH_EVERY = datetime.timedelta(seconds=60)
PERIODS = {"s": 1, "second": 1, "m": 60, "minute": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        row = ApiToken.objects.select_related("user").filter(key_hash=hash_key(token)).first()
        if row is None:
            raise _refused("This API token is not known.")
        now = timezone.now()
        state = row.state(now)
        if state != "active":
            raise _refused(
                f"This API token ({row.prefix}…) is {state}: create a new one at /account/tokens/."
            )
        if not row.user.is_active:
            raise _refused("The person this API token belongs to is deactivated.")
        ApiToken.objects.filter(pk=row.pk).exclude(last_used_at__gt=now - TOUCH_EVERY).update(
            last_used_at=now
        )
        request.user = row.user
        return row


def _refused(detail):
    return Problem(
        "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}
    )


def rate():
    """(requests, seconds) of API_RATE_LIMIT, e.g. "120/minute" -> (120, 60)."""
    count, unit = re.fullmatch(r"\s*(\d+)\s*/\s*(\w+)\s*", settings.API_RATE_LIMIT).groups()
    return int(count), PERIODS[unit]


class TokenRateThrottle(BaseThrottle):
    """A fixed window per token: at most N requests per period, counted with one cache increment."""

    def allow_request(self, request):
        token = getattr(request, "auth", None)
        if token is None:
            return True
        count, period = rate()
        key = f"api-rate:{token.pk}:{int(time.time() // period)}"
        cache.add(key, 0, timeout=period + 1)
        try:
            used = cache.incr(key)
        except ValueError:  # evicted between add and incr
            cache.set(key, 1, timeout=period + 1)
            used = 1
        return used <= count

    def wait(self):
        """Seconds until the current window ends (Retry-After)."""
        _, period = rate()
        return period - time.time() % period
