"""Word when a job ends: one email per ending to its owner (Django's email framework), and the
webhook event a program asked for (`research.webhooks`).

Called where a job's state is written (`research.outcomes`, `research.poller`, `research.jobs`),
never from a page. An ending is told once however often it is seen: a conditional UPDATE on
`notified_as` / `notified_at` claims the telling, so two pollers that both see a job complete
send one email, and a budget pause that is tried again every few minutes is told the first time
only. A new run (launch, more results: they clear `notified_as`) or a different ending (paused,
then completed) is told again.
A person turns the email off in their settings (`Preferences.email_when_done`).

The backend comes from EMAIL_URL (the console by default); a failure to send is logged and never
stops the poller.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from . import clock, webhooks
from .models import TERMINAL_STATUSES, Hold, Preferences, ResearchJob
from .money import format_usd

log = logging.getLogger(__name__)

# What each ending is called in the subject line.
ENDINGS = {
    "completed": "Completed",
    "error": "Failed",
    "cancelled": "Cancelled",
    "budget": "Paused for budget",
}


def ending(job):
    """The ending `job` is at ("completed", "error", "cancelled", "budget"), or None while it goes on."""
    if job.status in TERMINAL_STATUSES:
        return job.status
    if job.hold == Hold.BUDGET:
        return "budget"
    return None


def job_ended(job):
    """Tell of the ending `job` is at: its webhook event (if it carries one) and, unless told
    already, an email to the owner. True if an email went out."""
    webhooks.job_ended(job)  # queued once per event, however often it is called
    kind = ending(job)
    if kind is None:
        return False
    now = clock.now()
    # A new run (launch, more results) clears `notified_as`, so its ending is told again.
    if (
        not ResearchJob.objects.filter(pk=job.pk)
        .exclude(notified_as=kind)
        .update(notified_as=kind, notified_at=now)
    ):
        return False
    job.notified_as, job.notified_at = kind, now
    if not wants_email(job.owner):
        return False
    try:
        send_mail(*message(job, kind), from_email=None, recipient_list=[job.owner.email])
    except Exception:  # a mail server down must not stop a poll; the ending stays on the page
        log.exception("Could not email %s that job %s ended (%s)", job.owner, job.pk, kind)
        return False
    return True


def wants_email(user):
    return email_choice(user) == "on"


def email_choice(user):
    """ "on", "off" (turned off in their settings) or "no-address" (nowhere to send it)."""
    if not user.email:
        return "no-address"
    choice = Preferences.objects.filter(user=user).values_list("email_when_done", flat=True).first()
    return "off" if choice is False else "on"  # on unless turned off


def message(job, kind):
    """(subject, body) of the email about `job` at ending `kind`."""
    base = settings.SITE_URL.rstrip("/")
    context = {
        "job": job,
        "kind": kind,
        "ending": ENDINGS[kind],
        "spent": format_usd(job.spend()),
        "job_url": base + job.get_absolute_url(),
        "settings_url": base + reverse("research:settings"),
    }
    subject = f"{ENDINGS[kind]}: {job.query[:60]} (job #{job.pk})"
    return " ".join(subject.split()), render_to_string("research/email/job_ended.txt", context)
