"""The command-line face: start, poll, reconcile, resume, inspect and export research jobs.

python3 run.py manage research start "VPs of sales in Berlin" --limit 20 --user alice \
    --criteria "Sold to banks?" [--team Sales]
python3 run.py manage research poll
python3 run.py manage research reconcile
python3 run.py manage research status 12
python3 run.py manage research resume 12
python3 run.py manage research export 12 --output leads.csv
python3 run.py manage research export 12 --preset hubspot -o hubspot.csv
python3 run.py manage research export --all-leads --columns name,headline,linkedin_url
python3 run.py manage research token --user alice --name "lead pipeline"

(`python3 run.py manage` is `manage.py` with the project's virtual environment.)
Results go to stdout, diagnostics (and what to do next) to stderr.
"""

import datetime
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from research import access, exports, forms, jobs, leads, pricing, progress, quotes, shortlists, tasks, wallet
from research.models import ApiToken, Hold, JobStatus, Lead, ResearchJob
from research.money import format_usd

START_SANDBOX = (
    "Start the sandbox gateway with `python3 run.py app` (it also runs a worker and the web server), "
    "or on its own with `python3 run.py manage sandbox`."
)
NEED_WORKER = (
    "A worker makes its paid status checks: `python3 run.py app` runs one (or `python3 run.py manage "
    "qcluster`), or `python3 run.py manage research poll` does one poll cycle now."
)
OVERDUE_SECONDS = 60  # a due poll this late means no worker is running


def next_steps(job, just_started=False):
    """What a person should do next about an open job, as sentences for stderr (none when nothing):
    start the sandbox when the gateway does not answer, run a worker when nothing polls the job."""
    if not job.is_active:
        return []
    steps = []
    if job.hold == Hold.OUTAGE and settings.SANDBOX_MODE:
        steps.append(START_SANDBOX)
    late = (timezone.now() - job.next_poll_at).total_seconds() if job.next_poll_at else 0
    if late > OVERDUE_SECONDS:
        steps.append(f"Its next check was due {progress.ago(late)}: no worker seems to be running.")
    if just_started or late > OVERDUE_SECONDS:
        steps.append(NEED_WORKER)
    return steps


class Command(BaseCommand):
    help = "Start, poll, reconcile, resume, inspect and export deep-research jobs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        start = sub.add_parser("start", help="Launch a job (paid). Prints the job id.")
        start.add_argument(
            "query", help='Who to look for, e.g. "VPs of sales at Series B fintechs in Berlin"'
        )
        start.add_argument(
            "--limit",
            type=int,
            default=pricing.DEFAULT_RESULTS,
            help=f"How many results to ask for ({pricing.MIN_RESULTS}-{pricing.MAX_RESULTS}); "
            f"the launch costs {format_usd(pricing.per_result())} each plus "
            f"{format_usd(pricing.call_price())} (default {pricing.DEFAULT_RESULTS})",
        )
        start.add_argument("--user", required=True, help="Username the job and its charges belong to")
        start.add_argument(
            "--team",
            help="The team (group) whose members see the job and may spend on it; needed when the "
            "user is in several (default: their only team)",
        )
        start.add_argument(
            "--company-url",
            action="append",
            default=[],
            dest="company_urls",
            help="Only people at this company (a LinkedIn company URL); repeatable",
        )
        start.add_argument(
            "--criteria",
            action="append",
            default=[],
            metavar="TEXT",
            help=f"A yes/no question asked of every person found (up to {forms.MAX_CRITERIA}); repeatable. "
            "Each answer becomes a column of the export",
        )
        start.add_argument(
            "--again",
            action="store_true",
            help="Launch (and pay) even if you ran this same search in the last 24 hours",
        )
        sub.add_parser(
            "poll", help="Run one poll cycle now: reconcile open charges, pay for due status calls."
        )
        sub.add_parser("reconcile", help="Resolve every open charge against the chain. Spends nothing.")
        status = sub.add_parser("status", help="Show a job's stored state. Spends nothing.")
        status.add_argument("job_pk", type=int, metavar="JOB", help="The job's number")
        resume = sub.add_parser(
            "resume", help="Fetch the results of a job that ended in error again (pays for missing pages)."
        )
        resume.add_argument("job_pk", type=int, metavar="JOB", help="The job's number")
        export = sub.add_parser("export", help="Write a job's leads (or all leads) as CSV. Spends nothing.")
        export.add_argument("job_pk", type=int, metavar="JOB", nargs="?", help="The job's number")
        export.add_argument(
            "--all-leads",
            action="store_true",
            help="Every person the team found, once each, instead of one job",
        )
        export.add_argument("--output", "-o", default="-", help="File path, or - for stdout")
        export.add_argument(
            "--preset",
            choices=list(exports.PRESETS),
            help="default, full (every stored field), hubspot or salesforce (their import headers)",
        )
        export.add_argument(
            "--columns",
            help="Comma-separated column keys instead of a preset, e.g. name,headline,linkedin_url",
        )
        export.add_argument(
            "--user", help="Whose shortlist the status, tags and note columns show (default: none)"
        )
        token = sub.add_parser(
            "token", help="Create an API token for a person. Prints it, then its webhook secret (shown once)."
        )
        token.add_argument("--user", required=True, help="Username the token acts as")
        token.add_argument("--name", required=True, help="What it is for, e.g. 'lead pipeline'")
        token.add_argument("--days", type=int, default=90, help="Days until it expires (0: never)")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_start(self, query, limit, user, company_urls, criteria, again, team=None, **_):
        if not pricing.MIN_RESULTS <= limit <= pricing.MAX_RESULTS:
            raise CommandError(f"--limit must be between {pricing.MIN_RESULTS} and {pricing.MAX_RESULTS}.")
        criteria = list(dict.fromkeys(c.strip() for c in criteria if c.strip()))
        if len(criteria) > forms.MAX_CRITERIA:
            raise CommandError(f"At most {forms.MAX_CRITERIA} --criteria questions.")
        owner = self._user(user)
        try:
            team = self._team(owner, team)
            job = jobs.create_job(
                owner, query, limit, company_urls, criteria=criteria, again=again, team=team
            )
        except access.TooManyLaunches as error:
            raise CommandError(str(error)) from None
        except jobs.SameSearchRecently as same:
            earlier = same.job
            raise CommandError(
                f"You ran this search recently: job {earlier.pk}, {earlier.get_status_display().lower()}, "
                f"{earlier.leads_stored} profiles. Open it with `research status {earlier.pk}`, or pass "
                f"--again to pay {format_usd(pricing.results_price(limit))} to launch it again."
            ) from None
        job = jobs.launch(job, owner)
        if job.status == JobStatus.ERROR:
            raise CommandError(f"Job {job.pk}: {job.message}")
        self.stdout.write(str(job.pk))
        self.stderr.write(f"Job {job.pk}: {quotes.launch_summary(job)}")
        for step in next_steps(job, just_started=True):
            self.stderr.write(step)

    def do_token(self, user, name, days, **_):
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        expires = timezone.now() + datetime.timedelta(days=days) if days > 0 else None
        token, secret = ApiToken.issue(owner, name, expires_at=expires)
        self.stdout.write(secret)
        self.stdout.write(token.webhook_secret)
        self.stderr.write(f"Token {token.prefix}… for {owner.get_username()}; revoke it at /account/tokens/.")

    def do_poll(self, **_):
        changed = tasks.reconcile_open_charges()
        polled = jobs.poll_due_jobs()
        sent = tasks.deliver_webhooks()
        self.stdout.write(
            f"Reconciled {len(changed)} charge(s); polled {polled} job(s); sent {sent} webhook(s)."
        )

    def do_reconcile(self, **_):
        try:
            results = wallet.reconcile_open()
        except wallet.ChainUnavailable as error:
            raise CommandError(f"{error} Nothing more was changed.") from None
        changed = [(c, before, after) for c, before, after in results if before != after]
        for charge, before, after in changed:
            self.stdout.write(
                f"Charge {charge.pk} ({charge.endpoint}, {charge.tx_hash or 'unsigned'}): {before} -> {after}"
            )
        still_open = len(results) - len(changed)
        self.stdout.write(f"Reconciled {len(changed)} charge(s); {still_open} still open.")

    def do_status(self, job_pk, **_):
        job = self._job(job_pk)
        shown = progress.of(job)
        estimate = shown.estimate_percent
        lines = [
            ("Job", f"{job.pk} ({job.clado_id or 'not launched'})"),
            ("Query", job.query),
            ("Status", shown.label),
            (
                "Last check",
                f"{shown.checked_at.isoformat()} ({progress.ago(shown.checked_seconds_ago)})"
                if shown.checked_at
                else "-",
            ),
            (
                "Estimate",
                f"about {estimate}% done, expected {shown.forecast.finish_at.isoformat()} "
                f"(from {shown.basis})"
                if estimate is not None
                else "-",
            ),
            ("Leads stored", job.leads_stored),
            ("Results reported", job.results_reported if job.results_reported is not None else "-"),
            ("Status checks", job.polls),
            ("Spent", format_usd(job.spend())),
            ("Next poll", job.next_poll_at.isoformat() if job.next_poll_at else "-"),
            ("Message", job.message or "-"),
        ]
        for label, value in lines:
            self.stdout.write(f"{label + ':':<18}{value}")
        for step in next_steps(job):
            self.stderr.write(step)

    def do_resume(self, job_pk, **_):
        job = self._job(job_pk)
        self.stdout.write(jobs.resume(job, job.owner))

    def do_export(self, job_pk, all_leads, output, preset, columns, user, **_):
        if (job_pk is None) == (not all_leads):
            raise CommandError("Name a job, or pass --all-leads (not both).")
        if preset and columns:
            raise CommandError("Choose --preset or --columns, not both.")
        if all_leads:
            rows = leads.deduplicated(Lead.objects.all())
            questions = leads.criteria_questions(leads.team_sample())
        else:
            job = self._job(job_pk)
            rows = job.leads.all()
            questions = leads.criteria_questions(leads.job_sample(job), job.criteria)
        if columns:
            keys = [key.strip() for key in columns.split(",") if key.strip()]
            unknown = [key for key in keys if key not in exports.cols.valid(keys)]
            if unknown:
                known = ", ".join(exports.COLUMNS)
                raise CommandError(f"Unknown column(s): {', '.join(unknown)}. Known: {known}, c:<question>.")
            chosen = exports.keyed(keys)
        else:
            chosen = exports.preset_columns(preset or "default", questions, all_leads)
        scope = shortlists.scope_of(self._user(user)) if user else None
        stream = exports.stream_leads(leads.browse(rows, {}), chosen, scope=scope)
        if output == "-":
            sys.stdout.writelines(stream)
            return
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(stream)
        self.stderr.write(f"Wrote {rows.count()} leads to {output}")

    def _user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None

    def _team(self, owner, name):
        teams = access.teams_of(owner)
        if name is not None:
            team = teams.filter(name=name).first()
            if team is None:
                raise CommandError(f"{owner} is not in a team named {name!r}.")
            return team
        if teams.count() > 1:
            names = ", ".join(repr(t.name) for t in teams)
            raise CommandError(f"{owner} is in several teams ({names}): choose one with --team.")
        return None  # their only team, or none

    def _job(self, job_pk):
        try:
            return ResearchJob.objects.get(pk=job_pk)
        except ResearchJob.DoesNotExist:
            raise CommandError(f"No job {job_pk}.") from None
