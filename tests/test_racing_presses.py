"""Racing presses pay once: launch, more, cancel and check now each take the job's claim first.

Real parallel HTTP requests (threads, each with its own client, session and database connection)
against the real sandbox, on SQLite and PostgreSQL alike. The gateway holds each paid answer a
little, so the two presses really overlap. The one that loses pays nothing and says what is
already under way.
"""

import time
import uuid

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from research import jobs
from research.models import Charge, JobStatus, ResearchJob
from tests.conftest import advance_to, assert_ledger_matches_chain, finish, side_by_side, start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("sim_now")]


@pytest.fixture
def slow_gateway(sandbox, monkeypatch):
    """Every paid answer takes 200 ms, so two presses sent together overlap."""
    handle = sandbox.gateway.handle

    def slowly(endpoint, method, url, headers, body):
        if any(name.lower() == "authorization" for name in headers):
            time.sleep(0.2)
        return handle(endpoint, method, url, headers, body)

    monkeypatch.setattr(sandbox.gateway, "handle", slowly)


def press_together(user, url, *forms):
    """One person's two tabs: two POSTs sent at the same instant. Returns the responses."""
    clients = []
    for _ in forms:
        client = Client()
        client.force_login(user)
        clients.append(client)
    return side_by_side(*[lambda c=c, f=f: c.post(url, f) for c, f in zip(clients, forms, strict=True)])


def said(responses):
    return [" ".join(str(m) for m in get_messages(r.wsgi_request)) for r in responses]


def paid(job, endpoint):
    return Charge.objects.filter(job=job, endpoint=endpoint).count()


def test_two_more_results_presses_pay_one_more(user, sandbox, clock, slow_gateway):
    job = start(user, sandbox, seconds=30, results=30)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED

    url = reverse("research:job_more", args=[job.pk])
    told = said(press_together(user, url, {"additional": 10}, {"additional": 10}))
    assert paid(job, "deep-research-more") == 1
    losers = [s for s in told if "a request for more results is under way" in s]
    assert len(losers) == 1 and losers[0].endswith("Nothing was paid."), told
    job.refresh_from_db()
    assert job.limit == 40 and job.status == JobStatus.PROCESSING
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_two_cancel_presses_pay_one_cancel(user, sandbox, slow_gateway):
    job = start(user, sandbox, seconds=600)
    told = said(press_together(user, reverse("research:job_cancel", args=[job.pk]), {}, {}))
    assert paid(job, "deep-research-cancel") == 1
    assert sum("Not cancelled: a cancel is under way" in s for s in told) == 1, told
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_two_check_now_presses_pay_one_status_check(user, sandbox, slow_gateway):
    job = start(user, sandbox, seconds=600)
    told = said(press_together(user, reverse("research:job_refresh", args=[job.pk]), {}, {}))
    assert paid(job, "deep-research-status") == 1
    assert sorted(s.split(":")[0] for s in told) == ["Checked", "Not checked"], told
    assert_ledger_matches_chain(sandbox, Charge.objects.filter(job=job))


def test_the_same_launch_form_sent_twice_at_once_launches_one_job(user, sandbox, slow_gateway):
    data = {"query": "RevOps leads in Dublin", "limit": 5, "idempotency_key": str(uuid.uuid4())}
    press_together(user, reverse("research:job_new"), data, data)
    job = ResearchJob.objects.get()
    assert paid(job, "deep-research") == 1 and job.status == JobStatus.PENDING
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_two_fresh_forms_for_the_same_search_sent_at_once_launch_it_once(user, sandbox, slow_gateway):
    forms = [
        {"query": "RevOps leads in Cork", "limit": 5, "idempotency_key": str(uuid.uuid4())} for _ in range(2)
    ]
    answers = press_together(user, reverse("research:job_new"), *forms)
    assert ResearchJob.objects.count() == 1
    assert Charge.objects.filter(endpoint="deep-research").count() == 1
    assert sorted(a.status_code for a in answers) == [200, 302], "one launched, one asked to confirm"
    assert_ledger_matches_chain(sandbox, Charge.objects.all())
