"""The wallet page: the paying address, its balance read from the chain, and charges still open,
which an admin reconciles against the chain. The private key never shows."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from research import jobs, wallet
from research.models import AuditEvent, BudgetWindow, Charge
from tests.conftest import transfers_by_hash

pytestmark = pytest.mark.django_db


@pytest.fixture
def unknown_launch(user, sandbox):
    """A launch the gateway took payment for but answered with a 500: the charge is *unknown*."""
    sandbox.gateway.inject("deep-research", "http_500_after_payment")
    jobs.launch(jobs.create_job(user, "Heads of growth in Oslo", 10), user)
    return Charge.objects.get(state=Charge.State.UNKNOWN)


def test_the_wallet_page_shows_the_address_and_the_balance_on_chain(staff_client, user, sandbox):
    address = wallet.payer_address()
    before = sandbox.chain.balance_of(settings.USDC_E, address)
    job = jobs.launch(jobs.create_job(user, "CFOs in Vienna", 10), user)
    charge = job.charges.get()

    page = staff_client.get(reverse("spend:wallet"))

    assert page.context["address"] == address and address in page.content.decode()
    balance = {row["currency"]: row["balance"] for row in page.context["balances"]}[settings.USDC_E]
    assert balance == sandbox.chain.balance_of(settings.USDC_E, address)
    # The wallet paid the charge and the network fee, both in the charge currency.
    assert before - balance == charge.amount + transfers_by_hash(sandbox)[charge.tx_hash].fee
    assert page.context["open_charges"] == []


def test_an_unknown_charge_shows_its_chain_status_and_an_admin_reconciles_it(
    staff_client, staff, unknown_launch
):
    page = staff_client.get(reverse("spend:wallet"))
    [shown] = page.context["open_charges"]
    assert (shown.pk, shown.chain_status) == (unknown_launch.pk, "settled on chain")
    window = BudgetWindow.objects.get(scope=BudgetWindow.Scope.TEAM_DAY)
    assert (window.spent, window.reserved) == (0, unknown_launch.amount)  # reserved until known

    response = staff_client.post(reverse("spend:reconcile"), {"charge": unknown_launch.pk}, follow=True)

    unknown_launch.refresh_from_db()
    assert unknown_launch.state == Charge.State.SETTLED
    assert f"Charge #{unknown_launch.pk}: unknown → settled." in response.content.decode()
    assert response.context["open_charges"] == []
    event = AuditEvent.objects.get(action=AuditEvent.Action.RECONCILE)
    assert (event.user, event.job) == (staff, unknown_launch.job)
    assert unknown_launch.tx_hash in event.detail
    window.refresh_from_db()
    assert (window.spent, window.reserved) == (unknown_launch.amount, 0)


def test_reconcile_all_leaves_a_charge_the_chain_has_not_seen_yet_open(staff_client, unknown_launch, sandbox):
    # A second open charge whose transaction the chain does not know (yet): it stays open.
    Charge.objects.filter(pk=unknown_launch.pk).update(tx_hash="0x" + "ab" * 32)

    staff_client.post(reverse("spend:reconcile"))

    unknown_launch.refresh_from_db()
    assert unknown_launch.state == Charge.State.UNKNOWN  # still within the transaction's validity
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RECONCILE).count() == 1
    assert wallet.chain_status(unknown_launch) == "not on chain"


def test_only_staff_reconcile_and_only_by_post(logged_in, staff, unknown_launch):
    response = logged_in.post(reverse("spend:reconcile"), {"charge": unknown_launch.pk})
    assert response.status_code == 403 and "Not allowed" in response.content.decode()
    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get(reverse("spend:reconcile")).status_code == 405
    unknown_launch.refresh_from_db()
    assert unknown_launch.state == Charge.State.UNKNOWN
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.RECONCILE).exists()


def test_the_private_key_never_shows_on_the_staff_pages_or_in_the_logs(staff_client, unknown_launch, caplog):
    key = wallet._private_key().lower().removeprefix("0x")
    with caplog.at_level(logging.DEBUG):
        pages = [
            staff_client.get(reverse("spend:wallet")),
            staff_client.post(reverse("spend:reconcile"), follow=True),
            staff_client.get(reverse("spend:overview")),
        ]
    for page in pages:
        assert page.status_code == 200 and key not in page.content.decode().lower()
    assert key not in caplog.text.lower()
