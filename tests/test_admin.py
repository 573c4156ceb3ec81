"""The admin as the people who fund the wallet use it: a ledger no one can rewrite, filtered and
totalled, exported as CSV; jobs with their spend broken down; caps in dollars; the audit trail."""

import csv
import io

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from research import jobs
from research.models import AuditEvent, BudgetCap, BudgetWindow, Charge
from tests.conftest import finish_and_poll
from tests.workspace_data import stored_job

pytestmark = pytest.mark.django_db

LEDGER = reverse("admin:research_charge_changelist")


@pytest.fixture
def two_jobs(user, bob, clock, sandbox):
    """alice: launch, then the poll that finds 5 results; bob: launch and cancel."""
    mine = finish_and_poll(
        jobs.launch(jobs.create_job(user, "CTOs in Berlin [results=5]", 10), user), clock, sandbox
    )
    theirs = jobs.launch(jobs.create_job(bob, "CFOs in Lisbon [seconds=600]", 20), bob)
    jobs.cancel(theirs, bob)
    return mine, theirs


def listed(client, query=""):
    response = client.get(LEDGER + query)
    rows = list(response.context_data["cl"].result_list)
    return rows, response.context_data["totals"]["total"]


def test_no_one_adds_edits_or_deletes_a_charge(staff_client, two_jobs):
    charge = Charge.objects.first()
    assert staff_client.get(reverse("admin:research_charge_add")).status_code == 403
    change = reverse("admin:research_charge_change", args=[charge.pk])
    assert staff_client.get(change).status_code == 200  # viewable, read-only
    staff_client.post(change, {"amount": 1, "state": "failed"})
    assert staff_client.get(reverse("admin:research_charge_delete", args=[charge.pk])).status_code == 403
    staff_client.post(
        LEDGER, {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [charge.pk], "post": "yes"}
    )
    refreshed = Charge.objects.get(pk=charge.pk)
    assert (refreshed.amount, refreshed.state) == (charge.amount, charge.state)
    assert Charge.objects.count() == 4


def test_filters_and_search_narrow_the_ledger_and_the_total_follows(staff_client, two_jobs, bob):
    mine, theirs = two_jobs
    everything, total = listed(staff_client)
    assert (
        len(everything) == 4
        and total == sum(c.amount for c in everything) == 103_000 + 3_000 + 203_000 + 3_000
    )

    rows, total = listed(staff_client, f"?user__id__exact={bob.pk}")
    assert {c.endpoint for c in rows} == {"deep-research", "deep-research-cancel"} and total == 206_000
    rows, total = listed(staff_client, "?endpoint__exact=deep-research-status")
    assert [c.job for c in rows] == [mine] and total == 3_000
    rows, total = listed(staff_client, f"?job={theirs.pk}")
    assert {c.job for c in rows} == {theirs} and total == 206_000
    rows, total = listed(staff_client, "?state__exact=failed")
    assert rows == [] and total == 0

    launch = theirs.charges.get(endpoint="deep-research")
    rows, total = listed(staff_client, f"?q={launch.tx_hash}")
    assert rows == [launch] and total == launch.amount
    rows, _ = listed(staff_client, f"?q={mine.pk}")
    assert {c.job for c in rows} == {mine}

    page = staff_client.get(LEDGER + f"?user__id__exact={bob.pk}").content.decode()
    assert "Total for this filter: <strong>$0.206</strong>" in page


def test_the_ledger_exports_the_current_filter_or_the_selection_as_csv(staff_client, staff, two_jobs, bob):
    def rows_of(response):
        text = b"".join(response.streaming_content).decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text)))

    page = staff_client.get(LEDGER + f"?user__id__exact={bob.pk}")
    export_link = reverse("admin:research_charge_export") + f"?user__id__exact={bob.pk}"
    assert export_link in page.content.decode()
    rows = rows_of(staff_client.get(export_link))
    assert [(r["Person"], r["Endpoint"], r["Base units"]) for r in rows] == [
        ("bob", "deep-research", "203000"),
        ("bob", "deep-research-cancel", "3000"),
    ]
    assert all(row["State"] == "settled" and row["Settled (UTC)"] for row in rows)

    picked = Charge.objects.filter(endpoint="deep-research-status").get()
    response = staff_client.post(
        LEDGER, {"action": "export_selected", helpers.ACTION_CHECKBOX_NAME: [picked.pk]}
    )
    assert [r["Transaction hash"] for r in rows_of(response)] == [picked.tx_hash]
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, user=staff).count() == 2


def test_jobs_show_their_spend_broken_down_and_the_cost_per_lead(staff_client, two_jobs):
    mine, theirs = two_jobs
    response = staff_client.get(reverse("admin:research_researchjob_changelist"))
    by_id = {job.pk: job for job in response.context_data["cl"].result_list}
    job_admin = response.context_data["cl"].model_admin

    assert (by_id[mine.pk].spent_launch, by_id[mine.pk].spent_status, by_id[mine.pk].status_calls) == (
        103_000,
        3_000,
        1,
    )
    assert by_id[mine.pk].spent_total == 106_000 and mine.leads_stored == 5
    assert job_admin.cost_per_lead(by_id[mine.pk]) == "$0.0212"  # $0.106 / 5
    assert (by_id[theirs.pk].spent_launch, by_id[theirs.pk].spent_cancel, by_id[theirs.pk].spent_total) == (
        203_000,
        3_000,
        206_000,
    )
    assert job_admin.cost_per_lead(by_id[theirs.pk]) == "—"  # no leads
    detail = staff_client.get(reverse("admin:research_researchjob_change", args=[theirs.pk]))
    assert theirs.charges.get(endpoint="deep-research-cancel").tx_hash in detail.content.decode()


def test_admins_edit_caps_in_dollars(staff_client, user):
    add = reverse("admin:research_budgetcap_add")
    staff_client.post(add, {"scope": BudgetWindow.Scope.USER_MONTH, "user": user.pk, "cap_usd": "12.50"})
    staff_client.post(add, {"scope": BudgetWindow.Scope.TEAM_DAY, "user": "", "cap_usd": "0.25"})
    assert dict(BudgetCap.objects.values_list("scope", "cap")) == {
        BudgetWindow.Scope.USER_MONTH: 12_500_000,
        BudgetWindow.Scope.TEAM_DAY: 250_000,
    }
    cap = BudgetCap.objects.get(scope=BudgetWindow.Scope.USER_MONTH)
    assert (
        staff_client.get(reverse("admin:research_budgetcap_change", args=[cap.pk]))
        .context["adminform"]
        .form.initial["cap_usd"]
        == 12_500_000 / 10**6
    )

    second_team_cap = staff_client.post(
        add, {"scope": BudgetWindow.Scope.TEAM_DAY, "user": "", "cap_usd": "9"}
    )
    assert second_team_cap.status_code == 200 and second_team_cap.context["adminform"].form.errors
    team_cap_for_one_person = staff_client.post(
        add, {"scope": BudgetWindow.Scope.JOB, "user": user.pk, "cap_usd": "9"}
    )
    assert "user" in team_cap_for_one_person.context["adminform"].form.errors
    assert BudgetCap.objects.count() == 2


def test_every_paid_action_leaves_an_audit_event_filterable_in_the_admin(staff_client, user, clock, sandbox):
    job = finish_and_poll(
        jobs.launch(jobs.create_job(user, "Designers in Porto [results=3]", 3), user), clock, sandbox
    )
    jobs.more(job, user, 2)
    jobs.refresh(job, user)
    jobs.cancel(job, user)

    actions = list(AuditEvent.objects.order_by("id").values_list("action", "user", "job"))
    assert actions == [
        ("launch", user.pk, job.pk),
        ("more", user.pk, job.pk),
        ("refresh", user.pk, job.pk),
        ("cancel", user.pk, job.pk),
    ]
    response = staff_client.get(reverse("admin:research_auditevent_changelist") + "?action__exact=cancel")
    assert [(e.action, e.job) for e in response.context_data["cl"].result_list] == [("cancel", job)]
    # Each person's paid call has its audit event: who did what on which job.
    action_of = {"deep-research": "launch", "deep-research-more": "more", "deep-research-cancel": "cancel"}
    for charge in Charge.objects.filter(endpoint__in=action_of):
        assert AuditEvent.objects.filter(
            action=action_of[charge.endpoint], user=charge.user, job=charge.job
        ).exists()


def test_leads_can_be_looked_at_in_the_admin_but_not_added(staff_client, user):
    job = stored_job(user, count=3)
    listing = staff_client.get(reverse("admin:research_lead_changelist"))
    assert listing.status_code == 200 and job.leads.first().name.encode() in listing.content
    assert staff_client.get(reverse("admin:research_lead_add")).status_code == 403
