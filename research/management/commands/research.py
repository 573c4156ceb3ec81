"""The command-line face: start, poll, reconcile, resume, inspect and export research jobs.

python manage.py research start "VPs of sales in Berlin" --limit 20 --user alice
python manage.py research poll
python manage.py research reconcile
python manage.py research status 12
python manage.py research resume 12
python manage.py research export 12 --output leads.csv

Results go to stdout, diagnostics to stderr.
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from research import exports, jobs, leads, pricing, progress, tasks, wallet
from research.models import JobStatus, ResearchJob
from research.money import format_usd


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
            "--company-url",
            action="append",
            default=[],
            dest="company_urls",
            help="Only people at this company (a LinkedIn company URL); repeatable",
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
        export = sub.add_parser("export", help="Write a job's leads as CSV. Spends nothing.")
        export.add_argument("job_pk", type=int, metavar="JOB", help="The job's number")
        export.add_argument("--output", "-o", default="-", help="File path, or - for stdout")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_start(self, query, limit, user, company_urls, again, **_):
        if not pricing.MIN_RESULTS <= limit <= pricing.MAX_RESULTS:
            raise CommandError(f"--limit must be between {pricing.MIN_RESULTS} and {pricing.MAX_RESULTS}.")
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        try:
            job = jobs.create_job(owner, query, limit, company_urls, again=again)
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
        self.stderr.write(f"Job {job.pk}: {jobs.launch_summary(job)}")

    def do_poll(self, **_):
        changed = tasks.reconcile_open_charges()
        polled = jobs.poll_due_jobs()
        self.stdout.write(f"Reconciled {len(changed)} charge(s); polled {polled} job(s).")

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

    def do_resume(self, job_pk, **_):
        job = self._job(job_pk)
        self.stdout.write(jobs.resume(job, job.owner))

    def do_export(self, job_pk, output, **_):
        job = self._job(job_pk)
        rows = leads.browse(job.leads.all(), {})
        if output == "-":
            sys.stdout.writelines(exports.stream_leads(rows))
            return
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(exports.stream_leads(rows))
        self.stderr.write(f"Wrote {job.leads_stored} leads to {output}")

    def _job(self, job_pk):
        try:
            return ResearchJob.objects.get(pk=job_pk)
        except ResearchJob.DoesNotExist:
            raise CommandError(f"No job {job_pk}.") from None
