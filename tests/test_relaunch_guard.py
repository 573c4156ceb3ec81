"""One intent, one payment: the same search a second time, or more results from an exhausted one,
needs the person's explicit second yes. Without it nothing is paid."""

import re
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from research import jobs, searches
from research.models import Charge, JobStatus, ResearchJob
from tests.conftest import advance_to, assert_ledger_matches_chain, finish, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]


def fresh_form(client, **fields):
    """What the new-search page hands out: a new idempotency key every time it is opened."""
    key = client.get(reverse("research:job_new")).context["form"].initial["idempotency_key"]
    return {
        "query": "VPs of sales at Series B fintechs in Berlin",
        "limit": 20,
        "idempotency_key": key,
        **fields,
    }


def test_back_then_launch_again_shows_the_earlier_job_and_pays_nothing(logged_in, sandbox):
    first = logged_in.post(reverse("research:job_new"), fresh_form(logged_in))
    job = ResearchJob.objects.get()
    assert first.status_code == 302 and Charge.objects.filter(endpoint="deep-research").count() == 1

    # A minute later the same person opens a fresh form for the same search (spacing and case aside).
    again = logged_in.post(
        reverse("research:job_new"),
        fresh_form(logged_in, query="  vps of sales at series B fintechs in berlin. "),
    )
    page = again.content.decode()
    assert again.status_code == 200
    assert re.search(r"You ran this search (now|[\w\s]+ ago)</h1>", page)
    earlier = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert f"Job #{job.pk}, Pending, 0 profiles" in earlier
    assert f'href="{job.get_absolute_url()}"' in page, "one choice: open it"
    assert "Pay again · $0.203" in page, "the other: pay again, price shown"
    assert ResearchJob.objects.count() == 1 and Charge.objects.filter(endpoint="deep-research").count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_paying_again_needs_the_second_confirmation_and_then_launches_once(logged_in, sandbox):
    logged_in.post(reverse("research:job_new"), fresh_form(logged_in))
    form = fresh_form(logged_in)
    logged_in.post(reverse("research:job_new"), form)  # the guard page
    confirmed = logged_in.post(reverse("research:job_new"), {**form, "again": "on"})
    assert confirmed.status_code == 302
    assert ResearchJob.objects.count() == 2
    assert Charge.objects.filter(endpoint="deep-research").count() == 2
    # Sending the confirmation twice (a reload) still launches that second job once.
    logged_in.post(reverse("research:job_new"), {**form, "again": "on"})
    assert Charge.objects.filter(endpoint="deep-research").count() == 2
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_a_different_limit_criteria_or_company_filter_is_a_different_search(user):
    base = searches.fingerprint("CTOs in Oslo", 10)
    assert base == searches.fingerprint("ctos in  oslo.", 10)
    assert base != searches.fingerprint("CTOs in Oslo", 11)
    assert base != searches.fingerprint("CTOs in Oslo", 10, criteria=["Works at a startup?"])
    assert base != searches.fingerprint("CTOs in Oslo", 10, company_urls=["https://linkedin.com/company/x"])


def test_a_search_run_more_than_a_day_ago_and_finished_runs_again_without_asking(user, sandbox, clock):
    job = jobs.launch(jobs.create_job(user, "CMOs in Riga", 5), user)
    ResearchJob.objects.filter(pk=job.pk).update(
        status=JobStatus.COMPLETED, launched_at=job.launched_at.replace(year=2020)
    )
    assert jobs.create_job(user, "CMOs in Riga", 5).pk != job.pk


def test_the_command_line_refuses_a_repeat_unless_told_again(user, sandbox, capsys):
    call_command("research", "start", "Heads of data in Prague", "--limit", "5", "--user", "alice")
    first = ResearchJob.objects.get()
    with pytest.raises(
        CommandError, match=rf"You ran this search recently: job {first.pk}, .*--again to pay \$0\.053"
    ):
        call_command("research", "start", "Heads of data in Prague", "--limit", "5", "--user", "alice")
    assert Charge.objects.filter(endpoint="deep-research").count() == 1
    call_command("research", "start", "Heads of data in Prague", "--limit", "5", "--user", "alice", "--again")
    assert Charge.objects.filter(endpoint="deep-research").count() == 2
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


# --- More results from a search that found everyone --------------------------------------------


@pytest.fixture
def exhausted_job(user, sandbox, clock):
    """A job that asked for 25 and found 12: the pool is probably exhausted."""
    job = start(user, sandbox, seconds=30, results=12)
    jobs.ResearchJob.objects.filter(pk=job.pk).update(limit=25)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.found_fewer_than_asked
    return job


def test_more_on_an_exhausted_search_warns_with_the_total_and_needs_a_confirmation(
    logged_in, exhausted_job, sandbox
):
    page = logged_in.get(exhausted_job.get_absolute_url()).content.decode()
    assert "Find 30 more · $0.303" in page
    assert "has probably found everyone it can" in page

    answer = logged_in.post(reverse("research:job_more", args=[exhausted_job.pk]), {"additional": 10})
    text = answer.content.decode()
    assert answer.status_code == 200
    assert "The last run found 12 of the 25 asked for" in text and "$0.103" in text
    assert not Charge.objects.filter(endpoint="deep-research-more").exists()

    confirmed = logged_in.post(
        reverse("research:job_more", args=[exhausted_job.pk]), {"additional": 10, "confirmed": "on"}
    )
    assert confirmed.status_code == 302
    assert Charge.objects.filter(endpoint="deep-research-more").count() == 1
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_more_on_a_search_that_found_all_it_was_asked_for_needs_no_extra_confirmation(user, sandbox, clock):
    job = start(user, sandbox, seconds=30, results=30)
    finish(job, clock, sandbox)
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert not job.found_fewer_than_asked
    assert jobs.more(job, user, 10) == "Searching for 10 more results"
    assert uuid.UUID(job.clado_id)
