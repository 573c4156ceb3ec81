"""Run again and saved searches: a search filled in again with its price, or saved to run by itself
daily or weekly on django-q2's scheduler, within its own cap per run, each run naming the people
no earlier run of it found. Pausing or deleting it stops its runs.
"""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule
from django_q.scheduler import scheduler

from research import jobs, quotes, saved_searches, tasks
from research.models import AuditEvent, Charge, JobStatus, ResearchJob, SavedSearch
from tests.conftest import finish_and_poll

pytestmark = pytest.mark.django_db
QUERY = "Heads of sales in Berlin"


def save(user, sandbox, clock, *, results=5, cadence="weekly", max_spend=1_000_000, criteria=()):
    """A saved search whose first run has completed with `results` people."""
    sandbox.gateway.script(job_seconds=30, results=results)
    first = jobs.launch(jobs.create_job(user, QUERY, 10, criteria=criteria, again=True), user)
    first = finish_and_poll(first, clock, sandbox)
    saved = saved_searches.create(
        user, name="Berlin sales heads", query=QUERY, limit=10, cadence=cadence, max_spend=max_spend,
        criteria=criteria, first_run=first,
    )  # fmt: skip
    return saved, first


def run_as_the_scheduler_would(saved):
    """Make the search's schedule due and let django-q2's scheduler start its task (in this process)."""
    Schedule.objects.filter(name=saved.schedule_name).update(
        next_run=timezone.now() - datetime.timedelta(minutes=1)
    )
    Schedule.objects.exclude(name=saved.schedule_name).update(
        next_run=timezone.now() + datetime.timedelta(hours=1)
    )
    scheduler()


@pytest.fixture
def sync_tasks(monkeypatch):
    """django-q2 runs the task a schedule creates at once, in this process, as its worker would."""
    monkeypatch.setattr(Conf, "SYNC", True)


def test_saving_a_search_schedules_it_on_django_q(user, sandbox, clock):
    saved, first = save(user, sandbox, clock)
    schedule = Schedule.objects.get(name=saved.schedule_name)
    assert (schedule.func, schedule.args, schedule.schedule_type, schedule.repeats) == (
        "research.tasks.run_saved_search", repr(saved.pk), Schedule.WEEKLY, -1,
    )  # fmt: skip
    expected = first.launched_at + datetime.timedelta(weeks=1)
    assert abs((schedule.next_run - expected).total_seconds()) < 120
    assert list(saved.runs.all()) == [first], "the job it was saved from is its first run"


@pytest.mark.django_db(transaction=True)
def test_the_schedule_runs_the_search_again_by_itself_and_names_the_new_people(
    user, sandbox, clock, sync_tasks, logged_in
):
    saved, first = save(user, sandbox, clock, results=5)
    charges_before = Charge.objects.count()
    sandbox.gateway.script(job_seconds=30, results=8)  # a week later, three more people
    run_as_the_scheduler_would(saved)

    second = saved.runs.exclude(pk=first.pk).get()
    assert second.status == JobStatus.PENDING and second.owner == user
    launch = Charge.objects.get(job=second, endpoint="deep-research")
    assert launch.state == Charge.State.SETTLED and Charge.objects.count() == charges_before + 1, "paid once"
    second = finish_and_poll(second, clock, sandbox)

    new = list(second.leads.order_by("position")[5:8])
    summary = saved_searches.summary(second)
    assert (summary["first"], summary["count"], summary["names"]) == (False, 3, [lead.name for lead in new])
    page = logged_in.get(second.get_absolute_url()).content.decode()
    assert "3 new people since the last run" in page
    assert all(lead.name.split()[0] in page for lead in new)

    export = logged_in.get(reverse("research:job_export", args=[second.pk]), {"new": "1"})
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [row["LinkedIn URL"] for row in rows] == [lead.linkedin_url for lead in new], (
        "the new people alone"
    )
    assert "-new-" in export["Content-Disposition"]
    assert (
        saved.runs.count() == 2 and Schedule.objects.get(name=saved.schedule_name).next_run > timezone.now()
    )


def test_new_means_found_by_no_earlier_run_at_all(user, sandbox, clock):
    saved, first = save(user, sandbox, clock, results=6)
    sandbox.gateway.script(job_seconds=30, results=4)
    second, _ = saved_searches.run(saved)
    second = finish_and_poll(second, clock, sandbox)
    assert saved_searches.summary(second)["count"] == 0, "everyone was found before"
    sandbox.gateway.script(job_seconds=30, results=9)
    third, _ = saved_searches.run(saved, scheduled=False)
    third = finish_and_poll(third, clock, sandbox)
    assert saved_searches.summary(third)["count"] == 3, "new against every earlier run, not only the last"


def test_a_run_above_the_search_s_cap_is_not_launched(user, sandbox, clock):
    saved, _ = save(user, sandbox, clock, max_spend=50_000)  # $0.05: a run of 10 costs about $0.12
    before = Charge.objects.count()
    message = tasks.run_saved_search(saved.pk)
    assert message.startswith("Not run: a run costs up to $0.") and "cap of $0.05" in message
    assert Charge.objects.count() == before and saved.runs.count() == 1
    saved.refresh_from_db()
    assert saved.last_message == message
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED, detail=message).exists()


def test_a_slot_delivered_twice_runs_and_pays_once(user, sandbox, clock):
    saved, first = save(user, sandbox, clock)
    tasks.run_saved_search(saved.pk)
    second = saved.runs.exclude(pk=first.pk).get()
    finish_and_poll(second, clock, sandbox)
    launches = Charge.objects.filter(endpoint="deep-research").count()
    tasks.run_saved_search(saved.pk)  # the same day: the same slot
    assert saved.runs.count() == 2 and Charge.objects.filter(endpoint="deep-research").count() == launches


def test_a_run_waits_while_the_previous_one_is_still_going(user, sandbox, clock):
    saved, first = save(user, sandbox, clock)
    ResearchJob.objects.filter(pk=first.pk).update(status=JobStatus.PROCESSING)
    message = tasks.run_saved_search(saved.pk)
    assert message == f"Not run: the previous run (job #{first.pk}) is still going."
    assert saved.runs.count() == 1


def test_pausing_or_deleting_stops_its_runs(logged_in, user, sandbox, clock):
    saved, _ = save(user, sandbox, clock)
    logged_in.post(reverse("research:search_pause", args=[saved.pk]), {"paused": "1"})
    assert not Schedule.objects.filter(name=saved.schedule_name).exists()
    assert tasks.run_saved_search(saved.pk) == "Paused: not run." and saved.runs.count() == 1

    logged_in.post(reverse("research:search_pause", args=[saved.pk]), {"paused": "0"})
    assert Schedule.objects.get(name=saved.schedule_name).next_run > timezone.now()

    logged_in.post(reverse("research:search_delete", args=[saved.pk]))
    assert not SavedSearch.objects.exists() and not Schedule.objects.filter(name=saved.schedule_name).exists()
    assert ResearchJob.objects.count() == 1, "its runs stay, as jobs"


def test_a_schedule_whose_search_is_gone_removes_itself(user, sandbox, clock):
    saved, _ = save(user, sandbox, clock)
    SavedSearch.objects.filter(pk=saved.pk).delete()  # e.g. with its owner, bypassing the module
    assert Schedule.objects.filter(name=saved.schedule_name).exists()
    assert "gone" in tasks.run_saved_search(saved.pk)
    assert not Schedule.objects.filter(name=saved.schedule_name).exists()


def test_the_new_search_form_saves_a_search_with_its_schedule(logged_in, user, sandbox):
    key = logged_in.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    response = logged_in.post(
        reverse("research:job_new"),
        {"query": QUERY, "limit": 10, "idempotency_key": key, "criteria": "Has sold to banks.",
         "schedule": "daily", "search_name": "Berlin, every morning", "max_spend": "0.50"},
    )  # fmt: skip
    job = ResearchJob.objects.get()
    assert response.status_code == 302 and response.url == job.get_absolute_url()
    saved = SavedSearch.objects.get()
    assert (saved.name, saved.cadence, saved.max_spend, saved.criteria, saved.limit) == (
        "Berlin, every morning", "daily", 500_000, ["Has sold to banks."], 10,
    )  # fmt: skip
    assert job.saved_search == saved
    assert Schedule.objects.get(name=saved.schedule_name).schedule_type == Schedule.DAILY


def test_a_job_is_saved_from_its_page_with_a_cap_worth_one_run(logged_in, user, sandbox, clock):
    job = finish_and_poll(jobs.launch(jobs.create_job(user, QUERY, 10), user), clock, sandbox)
    page = logged_in.get(job.get_absolute_url()).content.decode()
    assert f'href="/jobs/searches/new/?from={job.pk}"' in page
    form = logged_in.get(reverse("research:search_new"), {"from": job.pk}).context["form"]
    cents = -(-quotes.quote(user, 10).needed // 10_000)  # the launch and the status checks expected
    assert form.initial["max_spend"] == Decimal(cents) / 100, "one run's cost, rounded up to the cent"
    response = logged_in.post(
        reverse("research:search_new"),
        {"from": job.pk, "schedule": "weekly", "search_name": "", "max_spend": ""},
    )
    saved = SavedSearch.objects.get()
    assert response.url == saved.get_absolute_url() and saved.max_spend == cents * 10_000
    detail = logged_in.get(saved.get_absolute_url()).content.decode()
    assert "Every week" in detail and f"#{job.pk}" in detail and "First run" in detail


def test_run_again_opens_the_form_filled_in_with_its_price(logged_in, user, sandbox, clock):
    job = jobs.launch(
        jobs.create_job(user, QUERY, 40, ["https://www.linkedin.com/company/acme"], criteria=["Q?"]), user
    )
    page = logged_in.get(reverse("research:job_new"), {"from": job.pk})
    form = page.context["form"]
    assert (form.initial["query"], form.initial["limit"], form.initial["criteria"]) == (QUERY, 40, "Q?")
    assert form.initial["company_urls"] == "https://www.linkedin.com/company/acme"
    assert 'id="price-amount">$0.403<' in page.content.decode(), "the price is shown"

    key = form.initial["idempotency_key"]
    again = logged_in.post(
        reverse("research:job_new"),
        {"query": QUERY, "limit": 40, "idempotency_key": key, "criteria": "Q?",
         "company_urls": "https://www.linkedin.com/company/acme"},
    )  # fmt: skip
    assert again.status_code == 200 and "You ran this search" in again.content.decode(), "the relaunch guard"
    assert ResearchJob.objects.count() == 1
