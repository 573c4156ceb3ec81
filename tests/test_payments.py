"""The wallet: each paid call leaves exactly one ledger row, written before the money moves."""

import threading
import time

import pytest

from research import budgets, payments, pricing, wallet
from research.models import BudgetWindow, Charge
from tests.conftest import transfers_by_hash

STATUS = {"jobId": "no-such-job", "page": 1, "page_size": 100}


@pytest.fixture
def clean_gateway(sandbox):
    sandbox.gateway.clear_faults()
    yield sandbox.gateway
    sandbox.gateway.clear_faults()


@pytest.mark.django_db
def test_a_paid_call_is_settled_from_the_receipt_and_matches_the_chain(user, sandbox):
    response = payments.paid_post("deep-research", {"query": "CMOs in Oslo", "limit": 3}, user=user)

    charge = Charge.objects.get()
    assert response.ok and response.charge.pk == charge.pk
    assert charge.state == Charge.State.SETTLED and charge.settled_at is not None
    assert (charge.amount, charge.decimals, charge.chain_id) == (33_000, 6, 4217)
    assert charge.payer == wallet.payer_address()
    transfer = transfers_by_hash(sandbox)[charge.tx_hash]
    assert (transfer.amount, transfer.sender.lower()) == (33_000, charge.payer.lower())
    team_day = BudgetWindow.objects.get(scope=BudgetWindow.Scope.TEAM_DAY)
    assert (team_day.spent, team_day.reserved) == (33_000, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["overprice", "wrong_recipient", "wrong_currency"])
def test_a_challenge_outside_policy_is_refused_before_signing(user, sandbox, clean_gateway, settings, fault):
    settings.MPP_CURRENCIES = [settings.USDC_E]  # pathUSD is accepted by default; not here
    clean_gateway.inject("deep-research-status", fault)
    transfers_before = len(sandbox.chain.transfers)

    with pytest.raises(payments.PaymentRefused, match="Nothing was paid"):
        payments.paid_post("deep-research-status", STATUS, user=user)

    assert not Charge.objects.exists()
    assert len(sandbox.chain.transfers) == transfers_before


@pytest.mark.django_db
def test_a_call_that_would_break_a_cap_pays_nothing(user, sandbox, settings):
    settings.BUDGET_USER_MONTHLY = 20_000  # $0.02: a status call fits, a launch of 3 does not
    transfers_before = len(sandbox.chain.transfers)

    with pytest.raises(budgets.BudgetExceeded, match="Budget reached"):
        payments.paid_post("deep-research", {"query": "CMOs in Oslo", "limit": 3}, user=user)

    assert not Charge.objects.exists()
    assert len(sandbox.chain.transfers) == transfers_before
    assert not BudgetWindow.objects.filter(reserved__gt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_the_ledger_row_exists_before_the_gateway_answers_and_a_lost_answer_is_reconciled(
    user, sandbox, clean_gateway
):
    # The gateway takes the money, then never answers in time (as a crash or a cut line would).
    clean_gateway.inject("deep-research-status", "timeout_after_payment")
    outcome = {}

    def pay():
        try:
            payments.paid_post("deep-research-status", STATUS, user=user)
        except payments.PaymentOutcomeUnknown as error:
            outcome["error"] = error

    caller = threading.Thread(target=pay)
    caller.start()
    charge = None
    for _ in range(100):  # wait until the money has moved on chain
        charge = Charge.objects.filter(tx_hash__isnull=False).first()
        if charge and charge.tx_hash in transfers_by_hash(sandbox):
            break
        time.sleep(0.05)
    # The payment settled while the caller is still waiting: its row was already written.
    assert charge is not None and charge.state == Charge.State.PENDING
    caller.join()

    charge.refresh_from_db()
    assert outcome["error"].charge.pk == charge.pk
    assert charge.state == Charge.State.UNKNOWN
    assert Charge.objects.count() == 1, "never re-paid blindly"

    assert wallet.reconcile(charge) == Charge.State.SETTLED
    team_day = BudgetWindow.objects.get(scope=BudgetWindow.Scope.TEAM_DAY)
    assert (team_day.spent, team_day.reserved) == (3_000, 0)


@pytest.mark.django_db
def test_a_5xx_after_paying_leaves_the_charge_unknown_until_the_chain_says_otherwise(
    user, sandbox, clean_gateway
):
    clean_gateway.inject("deep-research-status", "http_500_after_payment")

    response = payments.paid_post("deep-research-status", STATUS, user=user)

    assert response.status_code == 500
    charge = Charge.objects.get()
    assert charge.state == Charge.State.UNKNOWN
    assert wallet.reconcile(charge) == Charge.State.SETTLED
    assert transfers_by_hash(sandbox)[charge.tx_hash].amount == charge.amount


@pytest.mark.django_db
def test_a_charge_whose_transaction_never_reached_the_chain_fails_once_it_has_expired(user):
    charge = Charge.objects.create(
        endpoint="deep-research-status",
        user=user,
        amount=3_000,
        currency="0x20c0",
        decimals=6,
        recipient="0x060b",
        chain_id=4217,
        payer="0xabc",
        challenge_id="c1",
        tx_hash="0x" + "ab" * 32,
        state=Charge.State.UNKNOWN,
    )
    from datetime import timedelta

    later = charge.created_at + timedelta(seconds=wallet.TX_VALIDITY_SECONDS + 1)
    assert wallet.reconcile(charge, now=charge.created_at) == Charge.State.UNKNOWN
    assert wallet.reconcile(charge, now=later) == Charge.State.FAILED


def test_prices_come_from_our_own_table():
    assert pricing.table_price("deep-research", {"limit": 40}) == 403_000
    assert pricing.table_price("deep-research-status", {}) == 3_000
    assert pricing.price_ceiling("deep-research-status", {}) == 3_000, "flat prices get no tolerance"
    assert pricing.price_ceiling("deep-research", {"limit": 40}) == 443_300
