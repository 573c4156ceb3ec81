"""The command-line face: start, poll, status and export research jobs.

python manage.py research start "VPs of sales in Berlin" --limit 20 --user alice
python manage.py research poll
python manage.py research status 12
python manage.py research export 12 --output leads.csv
"""

import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from research import exports, jobs, leads
from research.models import JobStatus, ResearchJob
from research.money import format_usd


class Command(BaseCommand):
    help = "Start, poll, inspect and export deep-research jobs."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        start = sub.add_parser("start", help="Launch a job (paid). Prints the job id.")
        start.add_argument("query")
        start.add_argument("--limit", type=int, default=30)
        start.add_argument("--user", required=True, help="Username the job and its charges belong to")
        start.add_argument("--company-url", action="append", default=[], dest="company_urls")
        sub.add_parser("poll", help="Run one poll cycle now (pays for due status calls).")
        status = sub.add_parser("status", help="Show a job's stored state. Spends nothing.")
        status.add_argument("job_id", type=int)
        export = sub.add_parser("export", help="Write a job's leads as CSV. Spends nothing.")
        export.add_argument("job_id", type=int)
        export.add_argument("--output", "-o", default="-", help="File path, or - for stdout")

    def handle(self, *args, action, **options):
        getattr(self, f"do_{action}")(**options)

    def do_start(self, query, limit, user, company_urls, **_):
        if not 1 <= limit <= 1000:
            raise CommandError("--limit must be between 1 and 1000.")
        try:
            owner = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {user!r}.") from None
        job = jobs.launch(jobs.create_job(owner, query, limit, company_urls), owner)
        if job.status == JobStatus.ERROR:
            raise CommandError(f"Job {job.pk}: {job.message}")
        self.stdout.write(str(job.pk))

    def do_poll(self, **_):
        polled = jobs.poll_due_jobs()
        self.stderr.write(f"Polled {polled} job(s).")

    def do_status(self, job_id, **_):
        job = self._job(job_id)
        lines = [
            ("Job", f"{job.pk} ({job.clado_job_id or 'not launched'})"),
            ("Query", job.query),
            ("Status", job.status),
            ("Progress", f"{job.progress_percent}%" if job.progress_percent is not None else "-"),
            ("Leads stored", job.leads_stored),
            ("Results reported", job.results_reported if job.results_reported is not None else "-"),
            ("Status checks", job.polls),
            ("Spent", format_usd(job.spend())),
            ("Next poll", job.next_poll_at.isoformat() if job.next_poll_at else "-"),
            ("Message", job.message or "-"),
        ]
        for label, value in lines:
            self.stdout.write(f"{label + ':':<18}{value}")

    def do_export(self, job_id, output, **_):
        job = self._job(job_id)
        rows = leads.browse(job.leads.all(), {})
        if output == "-":
            sys.stdout.writelines(exports.stream_leads(rows))
            return
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.writelines(exports.stream_leads(rows))
        self.stderr.write(f"Wrote {job.leads_stored} leads to {output}")

    def _job(self, job_id):
        try:
            return ResearchJob.objects.get(pk=job_id)
        except ResearchJob.DoesNotExist:
            raise CommandError(f"No job {job_id}.") from None
