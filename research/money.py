"""Formatting base units as dollars: only at the edge (templates, CSV), never for arithmetic."""

from decimal import Decimal

DEFAULT_DECIMALS = 6


def to_decimal(base_units, decimals=DEFAULT_DECIMALS):
    return Decimal(int(base_units or 0)).scaleb(-decimals)


def format_usd(base_units, decimals=DEFAULT_DECIMALS):
    """$0.003, $1.25, $1,234.50: cents always, more digits only when they are not zero.

    Exact integer arithmetic, so any amount formats, however absurd ($10^34 included).
    """
    units = int(base_units or 0)
    sign, units = ("-", -units) if units < 0 else ("", units)
    whole, fraction = divmod(units, 10**decimals)
    digits = str(fraction).rjust(decimals, "0").rstrip("0")
    digits = digits.ljust(2, "0") if decimals >= 2 else digits
    return f"{sign}${whole:,}" + (f".{digits}" if digits else "")


def from_dollars(dollars, decimals=DEFAULT_DECIMALS):
    """Dollars a person typed (a Decimal) as base units, rounded down: the edge the other way."""
    return int(Decimal(dollars).scaleb(decimals))
