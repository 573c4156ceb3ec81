"""What each gateway call should cost: the one price table, read by forms, pages, budgets and payments.

The gateway sets the real price in its challenge; the wallet refuses any challenge above the
ceiling computed here. All amounts are base units (6 decimals); `research.money` formats them.
"""

from django.conf import settings

MIN_RESULTS = 1
MAX_RESULTS = 1000  # a deep-research job returns at most about this many profiles
DEFAULT_RESULTS = 30

LAUNCH = "deep-research"
STATUS = "deep-research-status"
CANCEL = "deep-research-cancel"
MORE = "deep-research-more"
DYNAMIC = (LAUNCH, MORE)  # priced per requested result; the others are flat


def per_result():
    return settings.PRICE_PER_RESULT


def call_price():
    """A status check, a cancel, and the fixed part of a launch or "more"."""
    return settings.PRICE_CALL


def results_price(count):
    """A launch of `count` results, or a "more" of `count` additional results."""
    return settings.PRICE_PER_RESULT * int(count) + settings.PRICE_CALL


def table_price(endpoint, body):
    """What this call should cost, from our own price table."""
    if endpoint == LAUNCH:
        return results_price(body.get("limit") or DEFAULT_RESULTS)
    if endpoint == MORE:
        return results_price(body.get("additional_limit") or DEFAULT_RESULTS)
    return call_price()


def price_ceiling(endpoint, body):
    """The most we pay for this call: flat prices exactly, dynamic ones with a tolerance."""
    price = table_price(endpoint, body)
    if endpoint in DYNAMIC:
        price += price * settings.MPP_PRICE_TOLERANCE_PERCENT // 100
    return price


def checks_price(checks):
    """What `checks` status calls cost."""
    return checks * call_price()


def for_templates():
    """The prices pages show, so no template writes a price of its own."""
    return {"status_check": call_price(), "per_result": per_result(), "cancel": call_price()}
