"""Who sees what and who may spend on what: the one place the rule lives.

Teams are Django auth groups (managed in the admin; a person may be in several). A job belongs
to the team chosen at launch, or to no team.

- Staff see every job, lead and export.
- Anyone else sees the jobs they own and the jobs of their teams, with their leads and exports;
  a person in no team sees only their own jobs.
- Spending on a job (check now, cancel, more results, fetch again) follows the same rule. Anyone
  else gets the same 404 as for a job that does not exist, nothing is paid, and the attempt is
  recorded in the audit trail.
- The spend page, budgets and audit trail: staff see all of it; a team lead (the
  `research.view_team_spend` permission) sees their own teams'; anyone else gets a 403.
- Launches are rate-limited per person (`LAUNCH_RATE_LIMIT`), counted from their recent jobs.

Pages, the CLI and other modules read through `visible_jobs`, `visible_leads` and `job_or_404`.
"""

import datetime
from functools import wraps

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from .models import AuditEvent, Lead, ResearchJob
from .outcomes import NOTHING_PAID

TEAM_SPEND_PERMISSION = "research.view_team_spend"


def teams_of(user):
    """The teams (groups) a person belongs to, by name."""
    if user is None or not user.is_authenticated:
        return Group.objects.none()
    return user.groups.order_by("name")


def default_team(user):
    """The team a new job of `user` belongs to unless they pick one: their only team, else none."""
    teams = list(teams_of(user)[:2])
    return teams[0] if len(teams) == 1 else None


def _rule(user, path=""):
    """The visibility rule as a filter on jobs; `path` leads from another model to its job."""
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.is_staff:
        return Q()
    return Q(**{f"{path}owner": user}) | Q(**{f"{path}team__in": user.groups.values("pk")})


def visible_jobs(user, jobs=None):
    """The jobs `user` may see (and spend on), out of `jobs` (default: all)."""
    jobs = ResearchJob.objects.all() if jobs is None else jobs
    return jobs.filter(_rule(user))


def visible_leads(user, leads=None):
    """The leads of the jobs `user` may see, out of `leads` (default: all)."""
    leads = Lead.objects.all() if leads is None else leads
    return leads.filter(_rule(user, "job__"))


def can_see(user, job):
    return visible_jobs(user).filter(pk=job.pk).exists()


def job_or_404(user, job_pk, jobs=None):
    """The job, if `user` may see it; else the same 404 as for a job that does not exist."""
    text = str(job_pk)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise Http404("No such job.")
    job = visible_jobs(user, jobs).filter(pk=int(text)).first()
    if job is None:
        raise Http404("No such job.")
    return job


def job_to_spend_on_or_404(user, job_pk, action):
    """The job `user` pressed a paid button on, if they may spend on it.

    Anyone else gets the same 404 as for a job that does not exist, and the attempt goes into
    the audit trail (what was tried, on which job), so a team lead can see it.
    """
    try:
        return job_or_404(user, job_pk, ResearchJob.objects.select_related("owner", "team"))
    except Http404:
        hidden = ResearchJob.objects.filter(pk=job_pk).first()
        if hidden is not None:
            AuditEvent.objects.create(
                user=user,
                action=AuditEvent.Action.REFUSED,
                job=hidden,
                detail=f"Tried to {action} a job outside their teams: refused, nothing was paid.",
            )
        raise


# --- The spend pages ----------------------------------------------------------------------


def sees_spend(user):
    """Whether `user` may open the spend overview (staff, or a team lead): one query at most."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    holders = Q(user=user) | Q(group__user=user)
    app_label, codename = TEAM_SPEND_PERMISSION.split(".")
    granted = Permission.objects.filter(holders, content_type__app_label=app_label, codename=codename)
    return user.is_active and granted.exists()


def spend_teams(user):
    """Whose spend `user` may see: None for everything (staff), else a queryset of their teams.

    Raises PermissionDenied for anyone who is neither staff nor a team lead of some team.
    """
    if user.is_staff:
        return None
    if user.has_perm(TEAM_SPEND_PERMISSION):
        teams = teams_of(user)
        if teams.exists():
            return teams
    raise PermissionDenied("The spend pages are for staff and team leads.")


def spend_viewer_required(view):
    """Staff and team leads; anyone else logged in gets the app's own 403 page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        request.spend_teams = spend_teams(request.user)
        return view(request, *args, **kwargs)

    return wrapped


def staff_required(view):
    """Staff only; anyone else logged in gets the app's own 403 page, never the admin's login."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("This page is for staff.")
        return view(request, *args, **kwargs)

    return wrapped


# --- How often one person may launch ------------------------------------------------------


class TooManyLaunches(Exception):
    """The person launched as many searches as `LAUNCH_RATE_LIMIT` allows lately: nothing was paid."""


def check_launch_rate(user, now=None):
    """Raise TooManyLaunches if `user` created LAUNCH_RATE_LIMIT jobs within its period.

    Counted from the person's own recent jobs (no other store). Two launches racing at the limit
    may both pass: this guards against runaway scripts and clicks, the budgets guard the money.
    """
    rate = settings.LAUNCH_RATE_LIMIT
    if rate is None:
        return
    count, seconds = rate
    now = now or timezone.now()
    since = now - datetime.timedelta(seconds=seconds)
    recent = ResearchJob.objects.filter(owner=user, created_at__gt=since).order_by("created_at")
    times = list(recent.values_list("created_at", flat=True)[:count])
    if len(times) < count:
        return
    wait = max(int((times[0] + datetime.timedelta(seconds=seconds) - now).total_seconds()), 1)
    raise TooManyLaunches(
        f"You have launched {count} searches within {_period(seconds)}, the most allowed: "
        f"try again in {_period(wait)}. {NOTHING_PAID}"
    )


def _period(seconds):
    """A number of seconds in words, rounded up: "1 hour", "12 minutes", "2 days"."""
    unit, amount = "second", seconds
    for name, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= length:
            unit, amount = name, -(-seconds // length)
            break
    return f"{amount} {unit}{'' if amount == 1 else 's'}"
