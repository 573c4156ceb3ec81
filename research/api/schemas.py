"""What the API reads and answers, as pydantic schemas: the OpenAPI schema is generated from these.

Money is always an object `{"base_units": 203000, "usd": "$0.203"}`: integers of the charge
currency's base units (6 decimals) to compute with, and dollars to show. Inputs in money
(`max_price`) are base units.
"""

import datetime
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from ninja import Schema
from pydantic import Field, field_validator

from .. import pricing, webhooks

MAX_CRITERIA = 20
MAX_COMPANY_URLS = 100


class Money(Schema):
    base_units: int = Field(description="Integer amount in base units of the currency (6 decimals).")
    usd: str = Field(description="The same amount in dollars, for people.")


class ProblemOut(Schema):
    type: str = Field(description="Stable per cause, e.g. /api/v1/problems/budget.")
    title: str
    status: int
    detail: str


# --- Quote and launch ---------------------------------------------------------------------


class QuoteIn(Schema):
    query: str | None = Field(None, max_length=2000, description="Not priced today; accepted for symmetry.")
    limit: int = Field(pricing.DEFAULT_RESULTS, ge=pricing.MIN_RESULTS, le=pricing.MAX_RESULTS)
    criteria: list[str] = Field(default_factory=list, max_length=MAX_CRITERIA)


class QuoteOut(Schema):
    limit: int
    launch: Money = Field(description="What the launch call costs, from the price table.")
    launch_ceiling: Money = Field(description="The most the wallet would pay the gateway for it.")
    status_checks: int = Field(description="Paid status checks the poller expects for this run.")
    status_checks_price: Money
    needed: Money = Field(description="Launch plus expected checks: what the budgets must allow.")
    budget_left: Money = Field(description="What the tightest cap leaves you right now.")
    cap: str = Field(description="Which cap that is: team-day, user-month or job.")
    cap_name: str
    fits: bool = Field(description="Whether a launch would be allowed by the budgets now.")


class LaunchIn(Schema):
    query: str = Field(min_length=3, max_length=2000, description="Who to look for, in words.")
    limit: int = Field(pricing.DEFAULT_RESULTS, ge=pricing.MIN_RESULTS, le=pricing.MAX_RESULTS)
    criteria: list[str] = Field(
        default_factory=list, max_length=MAX_CRITERIA, description="Yes/no questions asked of every profile."
    )
    company_urls: list[str] = Field(
        default_factory=list, max_length=MAX_COMPANY_URLS, description="Only people at these companies."
    )
    max_price: int | None = Field(
        None,
        ge=0,
        description="The most you accept for the launch call, in base units (1000000 = $1.00). "
        "Refused with nothing paid when the price is above it; the wallet refuses any challenge above it.",
    )
    again: bool = Field(False, description="Pay again for a search you ran in the last 24 hours.")
    webhook_url: str | None = Field(
        None,
        description="https URL to POST a signed event to when the job ends (loopback http in development).",
    )

    @field_validator("query")
    @classmethod
    def _query(cls, value):
        value = value.strip()
        if len(value) < 3:
            raise ValueError("describe the people you want in a few words")
        return value

    @field_validator("criteria")
    @classmethod
    def _criteria(cls, value):
        value = [item.strip() for item in value if item.strip()]
        if any(len(item) > 500 for item in value):
            raise ValueError("each criterion is at most 500 characters")
        return value

    @field_validator("company_urls")
    @classmethod
    def _company_urls(cls, value):
        check = URLValidator(schemes=["http", "https"])
        urls = [url.strip() for url in value if url.strip()]
        for url in urls:
            try:
                check(url)
            except DjangoValidationError:
                raise ValueError(f"not a URL: {url[:100]}") from None
        return urls

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value):
        if value is None or not value.strip():
            return None
        try:
            return webhooks.validate_url(value)
        except webhooks.BadWebhookUrl as error:
            raise ValueError(str(error)) from None


# --- A job ------------------------------------------------------------------------------------


class Progress(Schema):
    state: str = Field(
        description="pending, searching, processing, paused (budget), waiting (outage), completed, error, "
        "cancelled."
    )
    estimated_percent: int | None = Field(
        description="The poller's estimate of how far the run is now (below 100 until seen done): "
        "not a measure."
    )
    estimate_rests_on_runs: int = Field(description="How many past runs the estimate rests on (0: defaults).")
    chunks_done: int | None = Field(description="Measured at the latest paid check: search chunks done.")
    chunks_total: int | None = Field(description="Measured at the latest paid check: search chunks in all.")
    checked_at: datetime.datetime | None = Field(description="When the latest paid status check answered.")
    next_check_at: datetime.datetime | None = Field(
        description="When the next paid check (or launch try) is due."
    )
    expected_finish: datetime.datetime | None = Field(description="The poller's prediction, if it has one.")
    status_checks: int = Field(description="Paid status checks so far.")


class Counts(Schema):
    leads_stored: int
    results_reported: int | None
    profiles_scanned: int | None
    profiles_matched: int | None
    chunks_done: int | None
    chunks_total: int | None


class Spend(Schema):
    total: Money = Field(description="Settled plus unconfirmed: what the budgets count.")
    settled: Money
    unconfirmed: Money = Field(description="Paid, the chain's word still awaited (reconciled by the app).")
    calls: int


class JobOut(Schema):
    id: int
    url: str
    page_url: str
    query: str
    limit: int
    criteria: list[str]
    company_urls: list[str]
    status: str = Field(
        description="new, launching, pending, searching, processing, completed, error, cancelled."
    )
    hold: str = Field(
        description="'' or why no paid call is made for now: budget, outage. It resumes by itself."
    )
    active: bool = Field(description="Not ended yet (new, launching or running).")
    message: str
    created_at: datetime.datetime
    launched_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    progress: Progress
    counts: Counts
    spend: Spend
    max_price: Money | None
    webhook_url: str | None
    version: str = Field(
        description="Changes whenever the job's state does: pass it as ?version= to long-poll."
    )


class ActionOut(Schema):
    message: str
    job: JobOut


class MoreIn(Schema):
    additional: int = Field(pricing.DEFAULT_RESULTS, ge=pricing.MIN_RESULTS, le=pricing.MAX_RESULTS)
    confirm_exhausted: bool = Field(
        False, description="Ask for more even though the last run found fewer people than asked."
    )


# --- Leads and spend --------------------------------------------------------------------------


class LeadOut(Schema):
    id: int
    job: int
    position: int
    profile_id: str
    name: str
    headline: str
    title: str
    company: str
    location: str
    country: str
    linkedin_url: str
    is_decision_maker: bool | None
    criteria: dict


class LeadPage(Schema):
    items: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last.")
    limit: int


class Figures(Schema):
    total: Money
    settled: Money
    unconfirmed: Money
    calls: int


class JobSpend(Schema):
    job: int | None
    query: str | None
    total: Money
    calls: int


class BudgetOut(Schema):
    scope: Literal["team-day", "user-month", "job"]
    name: str
    cap: Money
    used: Money
    left: Money


class SpendOut(Schema):
    today: Figures
    month: Figures
    all_time: Figures
    by_job: list[JobSpend] = Field(description="Your jobs with charges, latest first (at most 100).")
    budgets: list[BudgetOut]
    left: Money = Field(description="What the tightest cap leaves for a new launch.")
    cap: str


class ChargeOut(Schema):
    id: int
    created_at: datetime.datetime
    job: int | None
    endpoint: str
    state: Literal["pending", "settled", "failed", "unknown"] = Field(
        description="settled: the money moved; pending/unknown: awaiting the chain; failed: nothing moved."
    )
    amount: Money
    currency: str
    recipient: str
    chain_id: int
    payer: str
    tx_hash: str | None = Field(description="Look it up on the chain: its transfer is this charge.")
    settled_at: datetime.datetime | None


class ChargePage(Schema):
    items: list[ChargeOut]
    next_cursor: str | None
