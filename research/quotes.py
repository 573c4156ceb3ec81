"""What a launch will cost, whether the budgets allow it now, and what a launch did.

Read by the new-search page, the API's quote, saved searches and the command line; a launch
itself asks the budgets for the same room atomically (`research.budgets.reserve`).
"""

from dataclasses import dataclass

from . import access, budgets, polling, pricing
from .models import JobStatus
from .money import format_usd


def status_check_reserve(limit):
    """Base units a launch must leave room for: the status checks the poller expects for it."""
    return pricing.checks_price(polling.expected_status_calls(limit))


@dataclass(frozen=True)
class Quote:
    """The price of launching a search of `limit` results, and whether the budgets allow it now."""

    limit: int
    price: int  # the launch call
    checks: int  # status calls the poller expects for it
    checks_price: int
    left: int  # what the tightest cap leaves
    scope: str  # which cap that is

    @property
    def needed(self):
        return self.price + self.checks_price

    @property
    def fits(self):
        return self.needed <= self.left


def quote(user, limit, team=None):
    """What launching `limit` results for `team` (default: the person's only team) costs and allows."""
    checks = polling.expected_status_calls(limit)
    left, scope = budgets.remaining(user, team=team if team is not None else access.default_team(user))
    return Quote(limit, pricing.results_price(limit), checks, pricing.checks_price(checks), left, scope)


def launch_summary(job):
    """What a launch did, in one sentence, with the amount actually charged."""
    if job.status == JobStatus.NEW and job.hold:
        return job.message
    if job.status == JobStatus.ERROR:
        return job.message
    charged = job.charges.filter(endpoint=pricing.LAUNCH).counted().total()
    return f"Launched and charged {format_usd(charged)}."
