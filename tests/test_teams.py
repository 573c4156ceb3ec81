"""Teams and access: members of a job's team see it and spend on it; anyone else gets the same
404 as for a job that does not exist, and nothing is paid.

Alice and Carol are in the East team, Bob in the West team: two plain users in two teams.
"""

import csv
import io

import pytest
from django.contrib.auth.models import AnonymousUser, Permission
from django.core.management import CommandError, call_command
from django.db.models import ProtectedError
from django.test import Client
from django.urls import reverse

from research import access, budgets, jobs
from research.models import AuditEvent, BudgetCap, BudgetScope, BudgetWindow, Charge, JobStatus, ResearchJob
from tests.conftest import finish_and_poll, in_team, start
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db

LAUNCH_10 = 10_000 * 10 + 3_000


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user("carol", password="s3cret-pass")


@pytest.fixture
def east(user, carol):
    return in_team("East", user, carol)


@pytest.fixture
def west(bob):
    return in_team("West", bob)


def client_for(person):
    client = Client()
    client.force_login(person)
    return client


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def nothing_paid_since(sandbox, charges, paid_calls):
    return Charge.objects.count() == charges and sandbox.gateway.paid_calls() == paid_calls


# --- Who sees what ------------------------------------------------------------------------


def test_another_team_can_t_open_list_or_export_a_job_while_a_teammate_can(user, bob, carol, east, west):
    job = stored_job(user, "CFOs in Lisbon", count=5)
    assert job.team == east, "a person's only team is the job's team"
    bobs = client_for(bob)
    job_urls = [
        job.get_absolute_url(),
        reverse("research:job_progress", args=[job.pk]),
        reverse("research:job_export", args=[job.pk]),
    ]
    missing = reverse("research:job_detail", args=[job.pk + 1000])

    for url in job_urls:
        assert bobs.get(url).status_code == 404, url
    # Exactly the answer for a job that does not exist: nothing tells them it does.
    assert bobs.get(job_urls[0]).content == bobs.get(missing).content
    team_list = bobs.get(reverse("research:job_list"), {"who": "team"}).content.decode()
    assert "CFOs in Lisbon" not in team_list
    assert bobs.get(reverse("research:lead_list")).context["leads_page"].paginator.count == 0
    assert csv_rows(bobs.get(reverse("research:lead_export"))) == []

    carols = client_for(carol)
    for url in job_urls:
        assert carols.get(url).status_code == 200, url
    assert "CFOs in Lisbon" in carols.get(reverse("research:job_list"), {"who": "team"}).content.decode()
    assert carols.get(reverse("research:lead_list")).context["leads_page"].paginator.count == 5
    assert len(csv_rows(carols.get(job_urls[2]))) == 5


def test_all_leads_its_filters_and_its_csv_show_only_the_reader_s_teams(user, bob, east, west):
    mine = stored_job(user, "Heads of sales in Berlin", count=6)
    theirs = stored_job(bob, "Heads of sales in Berlin", count=10)  # the same first six people, and more
    theirs.leads.update(country="Westland")
    theirs.leads.filter(position=0).update(criteria={"Only West asks this?": "YES"})
    alices = client_for(user)

    page = alices.get(reverse("research:lead_list"), {"per_page": 100})
    rows = list(page.context["leads_page"])
    assert len(rows) == 6 and {lead.job_id for lead in rows} == {mine.pk}
    assert all(sources == [(mine.pk, mine.query)] for sources in (lead.sources for lead in rows)), (
        "the jobs that found a person name none of another team's"
    )
    assert "Westland" not in list(page.context["countries"])
    assert "Only West asks this?" not in page.content.decode()
    exported = csv_rows(alices.get(reverse("research:lead_export"), {"columns": ["name", "jobs"]}))
    assert len(exported) == 6 and {row["Found in jobs"] for row in exported} == {str(mine.pk)}


def test_a_person_in_no_team_sees_only_their_own_jobs_and_staff_see_everyone_s(user, bob, staff, east):
    alices = stored_job(user, "Alice's search", count=1)
    loner = stored_job(bob, "Bob's lonely search", count=2)
    assert loner.team is None

    assert list(access.visible_jobs(bob)) == [loner]
    assert list(access.visible_jobs(user)) == [alices]
    assert set(access.visible_jobs(staff)) == {alices, loner}
    everyone = client_for(staff).get(reverse("research:job_list"), {"who": "team"}).content.decode()
    assert "Alice&#x27;s search" in everyone and "Bob&#x27;s lonely search" in everyone
    assert client_for(staff).get(loner.get_absolute_url()).status_code == 200


def test_the_owner_still_sees_and_spends_on_a_job_after_leaving_its_team(user, east):
    job = stored_job(user, "Old search", count=1)
    east.user_set.remove(user)
    assert access.can_see(user, job)


def test_anonymous_visitors_see_nothing(client, user, east):
    job = stored_job(user, count=1)
    assert not access.visible_jobs(AnonymousUser()).exists()
    assert client.get(job.get_absolute_url()).status_code == 302  # to the login page


# --- Who spends ---------------------------------------------------------------------------


def test_another_team_can_t_spend_on_a_job_and_nothing_is_paid(user, bob, east, west, sandbox, sim_now):
    running = start(user, sandbox, seconds=600)
    completed = stored_job(user, "Completed search", count=3)
    failed = stored_job(user, "Failed search", count=1, status=JobStatus.ERROR)
    charges, paid = Charge.objects.count(), sandbox.gateway.paid_calls()
    bobs = client_for(bob)

    attempts = [
        ("job_refresh", running, {}),
        ("job_cancel", running, {}),
        ("job_more", completed, {"additional": 10, "confirmed": "on"}),
        ("job_resume", failed, {}),
    ]
    for name, job, data in attempts:
        response = bobs.post(reverse(f"research:{name}", args=[job.pk]), data)
        assert response.status_code == 404, name
        missing = bobs.post(reverse(f"research:{name}", args=[job.pk + 1000]), data)
        assert response.content == missing.content, "the same answer as for a job that does not exist"

    assert nothing_paid_since(sandbox, charges, paid)
    running.refresh_from_db()
    assert running.status == JobStatus.PENDING and running.polls == 0, "not checked, not cancelled"
    refused = AuditEvent.objects.filter(action=AuditEvent.Action.REFUSED, user=bob).order_by("id")
    assert [(event.job_id, event.detail.split(" a job")[0]) for event in refused] == [
        (running.pk, "Tried to check now"),
        (running.pk, "Tried to cancel"),
        (completed.pk, "Tried to ask for more results on"),
        (failed.pk, "Tried to fetch again"),
    ]
    assert all("nothing was paid" in event.detail for event in refused)


def test_a_teammate_spends_on_the_job_and_is_charged_for_it(user, carol, east, sandbox, sim_now):
    job = start(user, sandbox, seconds=600)
    paid = sandbox.gateway.paid_calls()

    response = client_for(carol).post(reverse("research:job_refresh", args=[job.pk]))

    assert response.status_code == 302
    check = Charge.objects.get(job=job, endpoint="deep-research-status")
    assert check.user == carol, "charged to the person who pressed the button"
    assert sandbox.gateway.paid_calls() == paid + 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.REFRESH, user=carol, job=job).exists()
    carols_month = BudgetWindow.objects.get(scope=BudgetScope.USER_MONTH, key=str(carol.pk))
    easts_day = BudgetWindow.objects.get(scope=BudgetScope.TEAM_DAY, key=str(east.pk))
    assert carols_month.spent == check.amount
    assert easts_day.spent == Charge.objects.filter(job__team=east).counted().total() == job.spend()


def test_a_teammate_cancels_and_asks_for_more(user, carol, east, clock, sandbox, sim_now):
    done = finish_and_poll(start(user, sandbox, seconds=30, results=10), clock, sandbox)
    carols = client_for(carol)
    carols.post(reverse("research:job_more", args=[done.pk]), {"additional": 5})
    done.refresh_from_db()
    more = Charge.objects.get(job=done, endpoint="deep-research-more")
    assert more.user == carol and done.is_running

    carols.post(reverse("research:job_cancel", args=[done.pk]))
    cancel = Charge.objects.get(job=done, endpoint="deep-research-cancel")
    assert cancel.user == carol
    assert AuditEvent.objects.filter(user=carol, action=AuditEvent.Action.CANCEL, job=done).exists()


# --- The team picker ----------------------------------------------------------------------


def new_job_form(client, **data):
    form = client.get(reverse("research:job_new")).context["form"]
    fields = {"query": "Founders in Tallinn", "limit": 10, "idempotency_key": form.initial["idempotency_key"]}
    return client.post(reverse("research:job_new"), {**fields, **data})


def test_one_team_needs_no_choice_and_no_team_makes_a_private_job(user, bob, east, sandbox):
    assert "team" not in client_for(user).get(reverse("research:job_new")).context["form"].fields
    new_job_form(client_for(user))
    new_job_form(client_for(bob))
    assert ResearchJob.objects.get(owner=user).team == east
    assert ResearchJob.objects.get(owner=bob).team is None


def test_a_person_in_several_teams_picks_one_of_theirs(user, bob, east, west, sandbox):
    west.user_set.add(user)
    alices = client_for(user)
    page = alices.get(reverse("research:job_new"))
    assert list(page.context["form"].fields["team"].queryset) == [east, west]
    assert 'name="team"' in page.content.decode() and "For which team" in page.content.decode()

    unchosen = new_job_form(alices)
    assert "team" in unchosen.context["form"].errors and not ResearchJob.objects.exists()
    somebody_elses = in_team("North", bob)
    not_theirs = new_job_form(alices, team=somebody_elses.pk)
    assert "team" in not_theirs.context["form"].errors and not ResearchJob.objects.exists()
    absurd = new_job_form(alices, team="99999999999999999999999")
    assert absurd.status_code == 200 and "team" in absurd.context["form"].errors

    new_job_form(alices, team=west.pk)
    job = ResearchJob.objects.get()
    assert job.team == west and job.status == JobStatus.PENDING
    assert access.can_see(bob, job), "West's members see it"


def test_create_job_refuses_a_team_the_owner_is_not_in(user, bob, west):
    with pytest.raises(ValueError):
        jobs.create_job(user, "CTOs in Oslo", 10, team=west)


# --- Budgets per team ---------------------------------------------------------------------


def test_each_team_has_its_own_daily_cap(user, bob, east, west, sandbox, settings):
    settings.POLL_EXPECTED_CHECKS = 0  # a launch needs room for itself alone
    BudgetCap.objects.create(scope=BudgetScope.TEAM_DAY, team=east, cap=LAUNCH_10 + 1_000)
    first = jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    second = jobs.launch(jobs.create_job(user, "CTOs in Bergen", 10), user)
    wests = jobs.launch(jobs.create_job(bob, "CTOs in Lima", 10, team=west), bob)

    assert first.status == JobStatus.PENDING and first.team == east
    assert second.status == JobStatus.NEW and "Budget reached (team, per day)" in second.message
    assert wests.status == JobStatus.PENDING, "another team's cap is its own"
    day = {w.key: w.spent for w in BudgetWindow.objects.filter(scope=BudgetScope.TEAM_DAY)}
    assert day == {str(east.pk): LAUNCH_10, str(west.pk): LAUNCH_10}
    assert budgets.remaining(user, team=east) == (1_000, BudgetScope.TEAM_DAY)


def test_a_job_in_no_team_counts_against_the_shared_no_team_window(bob, sandbox, settings):
    settings.POLL_EXPECTED_CHECKS = 0
    settings.BUDGET_TEAM_DAILY = LAUNCH_10 + 500
    jobs.launch(jobs.create_job(bob, "CMOs in Quito", 10), bob)
    window = BudgetWindow.objects.get(scope=BudgetScope.TEAM_DAY)
    assert (window.key, window.spent) == (budgets.NO_TEAM, LAUNCH_10)
    assert budgets.remaining(bob) == (500, BudgetScope.TEAM_DAY)


def test_a_team_s_cap_overrides_the_default_for_every_team(east, west):
    BudgetCap.objects.create(scope=BudgetScope.TEAM_DAY, cap=5_000_000)  # every team's default
    BudgetCap.objects.create(scope=BudgetScope.TEAM_DAY, team=east, cap=1_000_000)
    assert budgets.cap_for(BudgetScope.TEAM_DAY, team=east) == 1_000_000
    assert budgets.cap_for(BudgetScope.TEAM_DAY, team=west) == 5_000_000
    assert budgets.cap_for(BudgetScope.TEAM_DAY) == 5_000_000  # and the jobs in no team


def test_the_admin_sets_a_cap_per_team_once(staff_client, east):
    add = reverse("admin:research_budgetcap_add")
    staff_client.post(add, {"scope": BudgetScope.TEAM_DAY, "team": east.pk, "cap_usd": "40"})
    assert BudgetCap.objects.get(team=east).cap == 40_000_000
    twice = staff_client.post(add, {"scope": BudgetScope.TEAM_DAY, "team": east.pk, "cap_usd": "50"})
    assert twice.status_code == 200 and twice.context["adminform"].form.errors
    wrong_scope = staff_client.post(add, {"scope": BudgetScope.USER_MONTH, "team": east.pk, "cap_usd": "5"})
    assert "team" in wrong_scope.context["adminform"].form.errors
    assert BudgetCap.objects.count() == 1


# --- Team leads ---------------------------------------------------------------------------


@pytest.fixture
def lead_of_east(django_user_model, east):
    dave = django_user_model.objects.create_user("dave", password="s3cret-pass")
    dave.user_permissions.add(Permission.objects.get(codename="view_team_spend"))
    east.user_set.add(dave)
    return dave


def test_a_team_lead_sees_the_spend_budgets_and_audit_of_their_own_teams_only(
    user, bob, east, west, lead_of_east, sandbox
):
    easts = jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    wests = jobs.launch(jobs.create_job(bob, "CTOs in Lima", 5), bob)
    client_for(bob).post(reverse("research:job_cancel", args=[easts.pk]))  # refused, audited

    daves = client_for(lead_of_east)
    assert 'href="/spend/"' in daves.get(reverse("research:job_list")).content.decode()
    page = daves.get(reverse("spend:overview"))
    assert page.status_code == 200
    context = page.context
    assert context["figures"]["total"] == Charge.objects.filter(job=easts).counted().total() == LAUNCH_10
    assert [row["job_id"] for row in context["by_job"]] == [easts.pk]
    assert [row["user__username"] for row in context["by_person"]] == ["alice"]
    labels = [row["label"] for row in context["budgets"]["rows"]]
    assert "Team East, today" in labels and not any("West" in label for label in labels)
    assert not any(label.startswith("bob") for label in labels)
    audit = list(context["audit"])
    assert {event.job_id for event in audit} == {easts.pk}
    assert any(event.action == AuditEvent.Action.REFUSED and event.user == bob for event in audit)
    html = page.content.decode()
    assert "/admin/" not in html, "a team lead gets no links into the admin"
    assert "CTOs in Lima" not in html
    assert daves.get(reverse("spend:wallet")).status_code == 403, "the wallet stays staff only"

    everything = client_for(user).get(reverse("spend:overview"))  # a plain member: not allowed
    assert everything.status_code == 403 and "Not allowed" in everything.content.decode()
    assert wests.status == JobStatus.PENDING


def test_staff_see_every_team_s_spend(staff_client, user, bob, east, west, sandbox):
    jobs.launch(jobs.create_job(user, "CTOs in Oslo", 10), user)
    jobs.launch(jobs.create_job(bob, "CTOs in Lima", 5), bob)
    context = staff_client.get(reverse("spend:overview")).context
    assert context["figures"]["total"] == Charge.objects.counted().total()
    labels = [row["label"] for row in context["budgets"]["rows"]]
    assert {"Team East, today", "Team West, today", "Jobs in no team, today"} <= set(labels)


def test_a_team_lead_in_no_team_is_not_allowed(django_user_model):
    lonely_lead = django_user_model.objects.create_user("erin", password="s3cret-pass")
    lonely_lead.user_permissions.add(Permission.objects.get(codename="view_team_spend"))
    response = client_for(lonely_lead).get(reverse("spend:overview"))
    assert response.status_code == 403 and "Not allowed" in response.content.decode()


# --- The command line and the demo login ---------------------------------------------------


def test_the_command_line_asks_which_team_when_there_are_several(user, east, west, sandbox):
    west.user_set.add(user)
    with pytest.raises(CommandError, match="several teams .*--team"):
        call_command("research", "start", "CTOs in Oslo", "--limit", "5", "--user", "alice")
    with pytest.raises(CommandError, match="not in a team named 'North'"):
        call_command(
            "research", "start", "CTOs in Oslo", "--limit", "5", "--user", "alice", "--team", "North"
        )
    assert not ResearchJob.objects.exists()
    call_command("research", "start", "CTOs in Oslo", "--limit", "5", "--user", "alice", "--team", "West")
    assert ResearchJob.objects.get().team == west


def test_the_demo_login_is_staff_in_the_sales_team(django_user_model):
    call_command("demo_user")
    call_command("demo_user")  # twice is once
    demo = django_user_model.objects.get(username="demo")
    assert demo.is_staff and demo.check_password("demo")
    assert [team.name for team in demo.groups.all()] == ["Sales"]


def test_a_team_with_jobs_can_t_be_deleted(user, east):
    stored_job(user, count=1)
    with pytest.raises(ProtectedError):
        east.delete()
