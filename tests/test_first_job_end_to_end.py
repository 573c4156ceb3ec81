"""One paid deep-research job end to end: from the browser form to the CSV, every call paid."""

import csv
import io

import pytest
from django.urls import reverse

from research import jobs
from research.models import Charge, JobStatus, Lead, ResearchJob
from tests.conftest import transfers_by_hash

pytestmark = pytest.mark.django_db


def launch_from_form(client, query, limit):
    page = client.get(reverse("research:job_new"))
    key = page.context["form"].initial["idempotency_key"]
    return client.post(reverse("research:job_new"), {"query": query, "limit": limit, "idempotency_key": key})


def run_to_completion(job, clock, sandbox):
    clock.advance(sandbox.gateway.jobs[job.clado_id].duration + 1)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
    assert jobs.poll_due_jobs() == 1
    job.refresh_from_db()
    return job


def test_a_salesperson_launches_a_job_watches_it_finish_and_downloads_the_profiles(
    logged_in, user, clock, sandbox
):
    response = launch_from_form(logged_in, "VPs of sales at Series B fintechs in Berlin [results=37]", 40)

    job = ResearchJob.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert job.status == JobStatus.PENDING and job.clado_id
    launch = Charge.objects.get(endpoint="deep-research")
    assert (launch.state, launch.amount, launch.user, launch.job) == (
        "settled",
        10_000 * 40 + 3_000,
        user,
        job,
    )

    page = logged_in.get(job.get_absolute_url())
    assert b"Pending" in page.content and b'hx-trigger="every 2s' in page.content

    job = run_to_completion(job, clock, sandbox)
    assert job.status == JobStatus.COMPLETED
    assert job.leads_stored == 37 == Lead.objects.filter(job=job).count()

    progress = logged_in.get(reverse("research:job_progress", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert b"Completed" in progress.content
    assert b'hx-trigger="every' not in progress.content, "a finished job's partial stops polling"

    export = logged_in.get(reverse("research:job_export", args=[job.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 37
    assert {row["Name"] for row in rows} == set(job.leads.values_list("name", flat=True))


def test_every_charge_matches_a_transfer_the_chain_settled_to_the_base_unit(user, clock, sandbox):
    job = jobs.launch(jobs.create_job(user, "Heads of growth in Paris [results=150]", 150), user)
    clock.advance(10)
    ResearchJob.objects.filter(pk=job.pk).update(next_poll_at=job.created_at)
    jobs.poll_due_jobs()  # still running: one status call
    job = run_to_completion(job, clock, sandbox)  # finished: page 1 and page 2

    charges = list(Charge.objects.filter(job=job))
    assert [c.endpoint for c in sorted(charges, key=lambda c: c.pk)] == [
        "deep-research",
        "deep-research-status",
        "deep-research-status",
        "deep-research-status",
    ]
    on_chain = transfers_by_hash(sandbox)
    for charge in charges:
        transfer = on_chain[charge.tx_hash]
        assert charge.state == Charge.State.SETTLED
        assert (transfer.amount, transfer.currency.lower(), transfer.recipient.lower()) == (
            charge.amount,
            charge.currency.lower(),
            charge.recipient.lower(),
        )
        assert transfer.sender.lower() == charge.payer.lower()
    assert job.leads_stored == 150


def test_a_double_submitted_form_launches_one_job_and_pays_once(logged_in):
    page = logged_in.get(reverse("research:job_new"))
    data = {
        "query": "CFOs in Lisbon",
        "limit": 5,
        "idempotency_key": page.context["form"].initial["idempotency_key"],
    }
    logged_in.post(reverse("research:job_new"), data)
    logged_in.post(reverse("research:job_new"), data)
    assert ResearchJob.objects.count() == 1
    assert Charge.objects.filter(endpoint="deep-research").count() == 1


def test_a_bad_form_says_what_is_wrong_and_pays_nothing(logged_in):
    page = logged_in.get(reverse("research:job_new"))
    key = page.context["form"].initial["idempotency_key"]
    response = logged_in.post(
        reverse("research:job_new"), {"query": "CTOs", "limit": 5000, "idempotency_key": key}
    )
    assert response.status_code == 200
    assert "limit" in response.context["form"].errors
    assert not ResearchJob.objects.exists() and not Charge.objects.exists()


def test_a_job_that_fails_at_clado_ends_in_error_with_its_message(user, clock, sandbox):
    job = jobs.launch(jobs.create_job(user, "Growth leads [error]", 10), user)
    job = run_to_completion(job, clock, sandbox)
    assert job.status == JobStatus.ERROR
    assert job.message
    assert job.next_poll_at is None


def test_pages_need_a_login(client):
    response = client.get(reverse("research:job_list"))
    assert response.status_code == 302 and "/login/" in response.url


def test_looking_at_pages_spends_nothing(logged_in, user):
    job = jobs.launch(jobs.create_job(user, "Sales engineers in Madrid", 5), user)
    spent = Charge.objects.count()
    for name in ("research:job_detail", "research:job_progress"):
        assert logged_in.get(reverse(name, args=[job.pk])).status_code == 200
    assert logged_in.get(reverse("research:job_list")).status_code == 200
    assert Charge.objects.count() == spent
