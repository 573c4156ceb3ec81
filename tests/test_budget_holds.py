"""Budgets a person can read: a job held by a cap says so, names the cap and who can raise it, and
carries on at once when an admin raises it. A launch needs room for its status checks too."""

import re

import pytest
from django.urls import reverse

from research import jobs, quotes
from research.models import BudgetCap, BudgetScope, Charge, Hold, JobStatus
from tests.conftest import advance_to, assert_ledger_matches_chain, cap_jobs_at, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sim_now")]

LAUNCH_10 = 103_000
CHECK = 3_000


def text_of(response):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_job_paused_by_a_cap_shows_paused_budget_names_the_cap_and_never_says_updates_live(
    logged_in, user, sandbox, clock
):
    job = start(user, sandbox, seconds=600, results=10)
    cap_jobs_at(job.spend())  # nothing left for the next status check
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.hold == Hold.BUDGET and job.is_running

    page = logged_in.get(job.get_absolute_url())
    assert 'class="badge paused"' in page.content.decode()
    words = text_of(page)
    assert "Paused: budget" in words and "Updates live" not in words
    assert "Budget reached (job, lifetime)" in words
    assert "An admin can raise the per-job cap under Admin → Budget caps." in words
    listing = logged_in.get(reverse("research:job_list"))
    assert "Paused: budget" in text_of(listing)
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_raising_a_cap_in_the_admin_resumes_held_jobs_at_once(client, staff, user, sandbox, clock):
    job = start(user, sandbox, seconds=600, results=10)
    cap_jobs_at(job.spend())
    advance_to(clock, job.next_poll_at)
    jobs.poll_due_jobs()
    job.refresh_from_db()
    held_until = job.next_poll_at
    assert job.hold == Hold.BUDGET and (held_until - clock.aware()).total_seconds() >= 60

    client.force_login(staff)
    cap = BudgetCap.objects.get(scope=BudgetScope.JOB, user=None)
    answer = client.post(
        reverse("admin:research_budgetcap_change", args=[cap.pk]),
        {"scope": BudgetScope.JOB, "user": "", "cap_usd": "25"},
        follow=True,
    )
    assert "1 job(s) paused by a budget cap will try again now." in answer.content.decode()
    job.refresh_from_db()
    assert job.next_poll_at <= clock.aware(), "due now, not at the next budget retry"

    jobs.poll_due_jobs()
    job.refresh_from_db()
    assert job.hold == Hold.NONE and job.polls == 1, "the status check the cap had held back"
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_a_launch_needs_room_for_the_status_checks_the_poller_expects(user, sandbox, settings):
    settings.POLL_EXPECTED_CHECKS = 4
    cap_jobs_at(LAUNCH_10 + 3 * CHECK)  # the launch fits, its checks would not
    quote = quotes.quote(user, 10)
    assert (quote.price, quote.checks, quote.checks_price) == (LAUNCH_10, 4, 4 * CHECK)
    assert not quote.fits
    job = jobs.launch(jobs.create_job(user, "Sales leads in Ghent", 10), user)
    assert (job.status, job.hold) == (JobStatus.NEW, Hold.BUDGET)
    assert "its status checks need about $0.012 more" in job.message
    assert not Charge.objects.exists()

    cap_jobs_at(LAUNCH_10 + 4 * CHECK)
    assert quotes.quote(user, 10).fits
    assert_ledger_matches_chain(sandbox, Charge.objects.all())


def test_the_new_search_form_says_which_cap_its_budget_figure_is(logged_in, user, settings):
    settings.BUDGET_USER_MONTHLY = 1_000_000
    words = text_of(logged_in.get(reverse("research:job_new")))
    assert "Left under your monthly cap: $1.00" in words
    assert "about 6 ($0.018), which the budget must leave room for" in words
