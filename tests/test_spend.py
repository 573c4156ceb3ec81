"""The spend overview: every figure is a sum of the ledger, and the ledger is the chain's record."""

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from research import jobs, spend
from research.models import Charge
from research.money import format_usd
from tests.conftest import finish_and_poll, our_transfers

pytestmark = pytest.mark.django_db

STATUS = "deep-research-status"


@pytest.fixture
def paid_month(user, bob, clock, sandbox):
    """A month of real payments: two people, launches, polls, result pages, a cancel, and one
    launch paid but never answered (left *unknown*). Returns the chain's transfers from our payer."""
    since = len(sandbox.chain.transfers)
    finish_and_poll(
        jobs.launch(jobs.create_job(user, "VPs of sales in Berlin [results=150]", 150), user), clock, sandbox
    )
    job = jobs.launch(jobs.create_job(bob, "CFOs in Lisbon [seconds=600]", 10), bob)
    jobs.refresh(job, bob)
    jobs.cancel(job, bob)
    sandbox.gateway.inject("deep-research", "http_500_after_payment")
    jobs.launch(jobs.create_job(bob, "CTOs in Madrid", 5), bob)
    return our_transfers(sandbox, since)


def admin_total(client, url):
    return client.get(url).context_data["totals"]["total"]


def test_every_figure_on_the_spend_page_equals_the_ledger_and_the_chain_to_the_base_unit(
    staff_client, paid_month
):
    on_chain = sum(t.amount for t in paid_month)
    assert Charge.objects.counted().total() == on_chain

    page = staff_client.get(reverse("spend:overview"))
    context = page.context
    month = {row["period"].key: row for row in context["headline"]}["month"]
    assert month["total"] == context["figures"]["total"] == on_chain
    assert month["calls"] == len(paid_month)
    assert (
        sum(p["total"] for p in context["matrix"]["people"]) == sum(context["matrix"]["totals"]) == on_chain
    )
    assert sum(r["total"] for r in context["by_person"]) == on_chain
    assert sum(r["total"] for r in context["by_endpoint"]) == on_chain
    assert context["chart"]["total"] == on_chain
    assert format_usd(on_chain) in page.content.decode()

    # The launch that was paid but never answered is counted, and shown apart as unconfirmed.
    unknown = Charge.objects.get(state=Charge.State.UNKNOWN)
    assert (unknown.endpoint, unknown.amount) == ("deep-research", 10_000 * 5 + 3_000)
    assert context["figures"]["unconfirmed"] == unknown.amount
    assert context["figures"]["settled"] == on_chain - unknown.amount

    # The admin ledger behind the page's "this month" link shows the same total, and so does its CSV.
    assert admin_total(staff_client, context["ledger_url"]) == on_chain
    query = context["ledger_url"].split("?", 1)[1]
    export = staff_client.get(reverse("admin:research_charge_export") + "?" + query)
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert sum(int(row["Base units"]) for row in rows) == on_chain
    assert {row["Transaction hash"] for row in rows} == {t.tx_hash for t in paid_month}


def test_who_spent_what_on_what_this_month_is_two_clicks_from_the_nav(staff_client, paid_month, bob):
    jobs_page = staff_client.get(reverse("research:job_list")).content.decode()
    assert f'href="{reverse("spend:overview")}"' in jobs_page

    matrix = staff_client.get(reverse("spend:overview")).context["matrix"]
    assert [p["name"] for p in matrix["people"]] == ["alice", "bob"]  # alice spent more
    bob_row = matrix["people"][1]
    cancel = bob_row["cells"][matrix["endpoints"].index("deep-research-cancel")]
    assert cancel["total"] == 3_000 and cancel["calls"] == 1

    ledger = staff_client.get(cancel["url"])
    assert [(c.user, c.endpoint, c.amount) for c in ledger.context_data["cl"].result_list] == [
        (bob, "deep-research-cancel", 3_000)
    ]
    assert ledger.context_data["totals"]["total"] == 3_000
    for person in matrix["people"]:
        assert admin_total(staff_client, person["url"]) == person["total"]


def test_polling_overhead_cost_per_lead_periods_and_the_daily_chart(staff_client, paid_month):
    context = staff_client.get(reverse("spend:overview")).context
    status = Charge.objects.counted().filter(endpoint=STATUS)
    # alice's job: one status call that finds it complete, then page 2 of 150 results; bob's: one refresh.
    assert status.count() == context["polling"]["calls"] == 3
    assert context["polling"]["total"] == 3 * 3_000
    total = context["figures"]["total"]
    assert context["polling"]["share"] == f"{9_000 * 100 / total:.1f}%"
    assert context["leads"] == 150
    assert context["cost_per_lead"] == round(total / 150)

    # Move the cancel to three days ago and bob's refresh to last month.
    now = timezone.now()
    periods = spend.periods(now)
    today = timezone.localdate(now)
    three_days_ago = today - datetime.timedelta(days=3)
    Charge.objects.filter(endpoint="deep-research-cancel").update(created_at=now - datetime.timedelta(days=3))
    refresh = Charge.objects.filter(endpoint=STATUS, user__username="bob").get()
    Charge.objects.filter(pk=refresh.pk).update(
        created_at=periods["month"].start - datetime.timedelta(days=1)
    )

    context = staff_client.get(reverse("spend:overview")).context
    headline = {row["period"].key: row["total"] for row in context["headline"]}
    counted = Charge.objects.counted()
    for key, period in periods.items():
        assert (
            headline[key] == counted.filter(created_at__gte=period.start, created_at__lt=period.end).total()
        )
    cancel_this_month = three_days_ago >= periods["month"].start.date()
    assert headline["month"] == total - 3_000 - (0 if cancel_this_month else 3_000)

    chart = context["chart"]
    assert len(chart["bars"]) == 30
    by_day = {bar["day"]: bar for bar in chart["bars"] if bar["total"]}
    assert by_day[today]["total"] == total - 3_000 - 3_000 and by_day[three_days_ago]["total"] == 3_000
    assert by_day[today]["height"] == chart["height"]  # the tallest day fills the chart
    assert 0 < by_day[three_days_ago]["height"] < chart["height"]  # any spend shows


def test_only_staff_see_the_spend_page(logged_in):
    response = logged_in.get(reverse("spend:overview"))
    # The app's own "not allowed" page, never the admin's login.
    assert response.status_code == 403 and "Not allowed" in response.content.decode()
    assert "/admin/login/" not in response.content.decode()
    jobs_page = logged_in.get(reverse("research:job_list")).content.decode()
    assert not re.search(rf'href="{reverse("spend:overview")}"', jobs_page)


def test_an_empty_month_shows_zeros_not_errors(staff_client):
    context = staff_client.get(reverse("spend:overview") + "?period=today").context
    assert context["figures"] == {"total": 0, "settled": 0, "unconfirmed": 0, "calls": 0}
    assert context["cost_per_lead"] is None and context["polling"]["share"] == "—"
