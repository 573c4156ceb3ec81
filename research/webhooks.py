"""Telling a program that its job ended: one signed JSON event per end, sent from an outbox.

A job launched through the API may carry a webhook URL (`JobWebhook`). When the job ends
(completed, error, cancelled), `job_ended` writes one `WebhookDelivery` row; the poll cycle
(`research.tasks.poll_cycle`) sends the due ones, each claimed first with a conditional UPDATE
so two cycles never send the same attempt twice, and retries failures with back-off.

Signing (verify it as `verify` does): the header `X-Webhook-Signature: t=<unix seconds>,v1=<hex>`
where v1 is HMAC-SHA256 over `f"{t}.{body}"` with the token's webhook secret. A receiver checks
the HMAC and rejects a `t` more than five minutes from its clock: a replayed event is stale.

Nothing here may break polling: `job_ended` never raises, and a receiver that is down, slow or
rude costs one short timeout per attempt.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json
import logging
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q

from . import clock
from .models import JobStatus, JobWebhook, WebhookDelivery
from .money import format_usd

log = logging.getLogger(__name__)

EVENTS = {
    JobStatus.COMPLETED: "job.completed",
    JobStatus.ERROR: "job.error",
    JobStatus.CANCELLED: "job.cancelled",
}
SIGNATURE_HEADER = "X-Webhook-Signature"
TOLERANCE_SECONDS = 300  # how old a signature timestamp a receiver should accept
CLAIM_SECONDS = 60  # an attempt in flight holds its row this long
MAX_RETRY_DELAY = 6 * 3600


class BadWebhookUrl(ValueError):
    """The URL is not one this app will send events to."""


def allows_loopback():
    return settings.WEBHOOK_ALLOW_LOOPBACK


def validate_url(url):
    """The URL if events may be sent there; else BadWebhookUrl saying why.

    https only, except http to a loopback address where WEBHOOK_ALLOW_LOOPBACK is on (development,
    the sandbox). No credentials in the URL, no literal private, link-local or reserved address.
    """
    url = (url or "").strip()
    if len(url) > 500:
        raise BadWebhookUrl("The webhook URL is longer than 500 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadWebhookUrl("The webhook URL is not a valid URL.") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise BadWebhookUrl("The webhook URL must be an https:// URL with a host.")
    if parts.username or parts.password:
        raise BadWebhookUrl("The webhook URL must not carry a user name or password.")
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    loopback = host == "localhost" or host.endswith(".localhost") or bool(address and address.is_loopback)
    if loopback:
        if not allows_loopback():
            raise BadWebhookUrl("Webhooks to loopback addresses are for development and the sandbox only.")
    elif parts.scheme != "https":
        raise BadWebhookUrl(
            "The webhook URL must use https (http only to a loopback address in development)."
        )
    elif address is not None and not address.is_global:
        raise BadWebhookUrl("The webhook URL points at a private or reserved address.")
    if port == 0:
        raise BadWebhookUrl("The webhook URL has no usable port.")
    return url


# --- Events ---------------------------------------------------------------------------------


def event_for(job):
    """(event id, event type, JSON body) for how `job` ended just now."""
    kind = EVENTS[job.status]
    ended = job.finished_at or clock.now()
    event_id = f"evt_{job.pk}_{job.status}_{int(ended.timestamp() * 1000)}"
    spent = job.charges.counted().total()
    body = {
        "id": event_id,
        "type": kind,
        "created_at": clock.now().isoformat(),
        "job": {
            "id": job.pk,
            "status": job.status,
            "message": job.message,
            "limit": job.limit,
            "leads_stored": job.leads_stored,
            "results_reported": job.results_reported,
            "finished_at": ended.isoformat(),
            "spend": {"base_units": spent, "usd": format_usd(spent)},
            "links": {
                "job": f"/api/v1/jobs/{job.pk}",
                "leads": f"/api/v1/jobs/{job.pk}/leads",
                "export": f"/api/v1/jobs/{job.pk}/export.csv",
            },
        },
    }
    return event_id, kind, json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def job_ended(job):
    """Queue the event for `job`'s end, if it carries a webhook. Never raises: polling goes on."""
    try:
        job.refresh_from_db()
        if job.status not in EVENTS:
            return None
        hook = JobWebhook.objects.filter(job=job).first()
        if hook is None:
            return None
        event_id, kind, body = event_for(job)
        with transaction.atomic():  # a savepoint: a failure here leaves the caller's transaction whole
            delivery, _ = WebhookDelivery.objects.get_or_create(
                webhook=hook,
                event_id=event_id,
                defaults={"event": kind, "body": body, "next_attempt_at": clock.now()},
            )
        return delivery
    except Exception:
        log.exception("Could not queue the webhook event for job %s", getattr(job, "pk", None))
        return None


# --- Signing ----------------------------------------------------------------------------------


def signature(secret, timestamp, body):
    message = f"{int(timestamp)}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, body, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret, header, body, now=None, tolerance=TOLERANCE_SECONDS):
    """What a receiver does: True if `header` signs `body` with `secret`, recently enough."""
    fields = dict(part.split("=", 1) for part in (header or "").split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), fields.get("v1", ""))


# --- Sending ----------------------------------------------------------------------------------


def retry_delay(attempts):
    """Seconds before attempt number `attempts + 1`: WEBHOOK_RETRY_BASE, tripling, up to 6 hours."""
    return min(settings.WEBHOOK_RETRY_BASE * 3 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def due(now):
    return WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING).filter(
        Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True)
    )


def deliver_due(now=None, limit=20):
    """Send every due event (at most `limit`); returns how many were delivered."""
    now = now or clock.now()
    delivered = 0
    for pk in list(due(now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]):
        try:
            delivered += attempt(pk, now)
        except Exception:  # one receiver's surprise must not stop the others, nor polling
            log.exception("Webhook delivery %s failed unexpectedly", pk)
    return delivered


def attempt(pk, now=None):
    """Claim one due delivery and send it once. True if the receiver took it."""
    now = now or clock.now()
    claimed = due(now).filter(pk=pk).update(next_attempt_at=now + datetime.timedelta(seconds=CLAIM_SECONDS))
    if not claimed:
        return False  # another cycle has it
    delivery = WebhookDelivery.objects.select_related("webhook__token").get(pk=pk)
    revoked = delivery.webhook.token.revoked_at is not None
    if revoked:  # its secret may be out: nothing more is signed with it
        status, error = None, "Not sent: the token that launched this job was revoked."
    else:
        status, error = _send(delivery)
    attempts = delivery.attempts + (0 if revoked else 1)
    fields = {"attempts": attempts, "last_status": status, "last_error": error[:1000]}
    if status is not None and 200 <= status < 300:
        fields.update(state=WebhookDelivery.State.DELIVERED, delivered_at=clock.now(), next_attempt_at=None)
    elif revoked or attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        fields.update(state=WebhookDelivery.State.FAILED, next_attempt_at=None)
    else:
        fields["next_attempt_at"] = clock.now() + datetime.timedelta(seconds=retry_delay(attempts))
    WebhookDelivery.objects.filter(pk=pk).update(**fields)
    return fields.get("state") == WebhookDelivery.State.DELIVERED


def _send(delivery):
    """(HTTP status or None, what went wrong) for one POST of the event."""
    hook = delivery.webhook
    try:
        url = validate_url(hook.url)
    except BadWebhookUrl as error:
        return None, str(error)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "clado-dashboard-webhooks/1",
        "X-Webhook-Id": delivery.event_id,
        "X-Webhook-Event": delivery.event,
        SIGNATURE_HEADER: signature_header(hook.token.webhook_secret, delivery.body),
    }
    try:
        response = httpx.post(
            url,
            content=delivery.body.encode(),
            headers=headers,
            timeout=settings.WEBHOOK_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {str(error)[:300]}"
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"
