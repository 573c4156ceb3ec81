"""Budgets that hold: caps are checked atomically before signing, so racing launches never
overspend, and a call a cap stops pays nothing at all (no charge row, no transfer on chain).

The races are real: threads launch at once, each with its own database connection, each paying
the sandbox gateway over a socket. They run on SQLite (file, WAL) and on PostgreSQL alike.
"""

import pytest
from django.urls import reverse

from research import budgets, jobs
from research.models import AuditEvent, BudgetCap, BudgetWindow, Charge, JobStatus
from tests.conftest import our_transfers, side_by_side

LAUNCH_40 = 10_000 * 40 + 3_000  # $0.403
LAUNCH_10 = 10_000 * 10 + 3_000  # $0.103
STATUS_CALL = 3_000


def launch_all_at_once(launches):
    """Launch every (job, user) in its own thread, released together."""
    side_by_side(*[lambda job=job, user=user: jobs.launch(job, user) for job, user in launches])


@pytest.mark.django_db(transaction=True)
def test_two_launches_racing_for_the_last_dollars_exactly_one_wins(user, sandbox):
    BudgetCap.objects.create(scope=BudgetWindow.Scope.USER_MONTH, user=user, cap=500_000)  # room for one
    racing = [jobs.create_job(user, f"Heads of sales, race {i}", 40) for i in range(2)]
    since = len(sandbox.chain.transfers)

    launch_all_at_once([(job, user) for job in racing])

    for job in racing:
        job.refresh_from_db()
    winners = [job for job in racing if job.status == JobStatus.PENDING]
    losers = [job for job in racing if job.status == JobStatus.NEW]
    assert len(winners) == 1 and len(losers) == 1
    assert "Budget reached (person, per month)" in losers[0].message
    assert "Nothing was paid" in losers[0].message

    charge = Charge.objects.get()
    assert (charge.job, charge.amount, charge.state) == (winners[0], LAUNCH_40, Charge.State.SETTLED)
    transfers = our_transfers(sandbox, since)
    assert [(t.tx_hash, t.amount) for t in transfers] == [(charge.tx_hash, LAUNCH_40)]
    window = BudgetWindow.objects.get(scope=BudgetWindow.Scope.USER_MONTH, key=str(user.pk))
    assert (window.spent, window.reserved) == (LAUNCH_40, 0)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED, job=losers[0]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_team_racing_for_its_daily_cap_never_exceeds_it(django_user_model, sandbox):
    BudgetCap.objects.create(scope=BudgetWindow.Scope.TEAM_DAY, cap=350_000)  # room for three launches
    people = [django_user_model.objects.create_user(f"seller{i}") for i in range(6)]
    racing = [(jobs.create_job(person, "CFOs in Lisbon", 10), person) for person in people]
    since = len(sandbox.chain.transfers)

    launch_all_at_once(racing)

    launched = [job for job, _ in racing if (job.refresh_from_db() or job.status) == JobStatus.PENDING]
    assert len(launched) == 3
    charges = Charge.objects.all()
    assert charges.count() == 3 and charges.counted().total() == 3 * LAUNCH_10 <= 350_000
    assert sorted(t.tx_hash for t in our_transfers(sandbox, since)) == sorted(c.tx_hash for c in charges)
    team = BudgetWindow.objects.get(scope=BudgetWindow.Scope.TEAM_DAY)
    assert (team.spent, team.reserved) == (3 * LAUNCH_10, 0)


@pytest.mark.django_db
def test_a_job_cap_includes_polling_and_stops_it_without_paying(user, sandbox, settings):
    settings.POLL_EXPECTED_CHECKS = 1  # the launch leaves room for one status call, and so does the cap
    BudgetCap.objects.create(scope=BudgetWindow.Scope.JOB, cap=LAUNCH_10 + STATUS_CALL)
    job = jobs.launch(jobs.create_job(user, "Growth leads in Paris [seconds=600]", 10), user)
    assert jobs.refresh(job, user)  # the one status call the cap leaves room for
    since, charges = len(sandbox.chain.transfers), Charge.objects.count()

    jobs.refresh(job, user)

    job.refresh_from_db()
    assert job.message.startswith("Paused: Budget reached (job, lifetime)")
    assert Charge.objects.count() == charges and our_transfers(sandbox, since) == []
    assert job.spend() == LAUNCH_10 + STATUS_CALL
    assert budgets.remaining(user, job) == (0, BudgetWindow.Scope.JOB)


@pytest.mark.django_db
def test_the_pollers_calls_count_against_the_job_owners_monthly_cap(user, clock, sandbox):
    job = jobs.launch(jobs.create_job(user, "Sales engineers in Madrid [seconds=600]", 10), user)
    job.next_poll_at = job.created_at
    job.save(update_fields=["next_poll_at"])
    assert jobs.poll_due_jobs() == 1  # the poller pays on no one's click

    status = Charge.objects.get(endpoint="deep-research-status")
    assert status.user == user
    window = BudgetWindow.objects.get(scope=BudgetWindow.Scope.USER_MONTH, key=str(user.pk))
    assert window.spent == LAUNCH_10 + STATUS_CALL == Charge.objects.filter(user=user).counted().total()


@pytest.mark.django_db
def test_the_new_job_page_shows_the_budget_left(logged_in, user):
    BudgetCap.objects.create(scope=BudgetWindow.Scope.USER_MONTH, user=user, cap=1_000_000)
    jobs.launch(jobs.create_job(user, "CTOs in Berlin", 10), user)

    page = logged_in.get(reverse("research:job_new"))
    assert page.context["budget"].left == 1_000_000 - LAUNCH_10
    assert "$0.897" in page.content.decode()


@pytest.mark.django_db
def test_a_new_job_can_spend_no_more_than_the_per_job_cap(user, settings):
    settings.BUDGET_JOB = 2_000_000
    assert budgets.remaining(user) == (2_000_000, BudgetWindow.Scope.JOB)


@pytest.mark.django_db
def test_an_admin_lowering_a_cap_takes_effect_on_the_next_call(user, sandbox):
    jobs.launch(jobs.create_job(user, "CFOs in Rome", 10), user)
    BudgetCap.objects.create(scope=BudgetWindow.Scope.USER_MONTH, user=user, cap=LAUNCH_10 + 1_000)
    since = len(sandbox.chain.transfers)

    job = jobs.launch(jobs.create_job(user, "CFOs in Milan", 10), user)

    assert job.status == JobStatus.NEW and "Budget reached" in job.message
    assert Charge.objects.count() == 1 and our_transfers(sandbox, since) == []
