"""Formatting base units as dollars: only at the edge (templates, CSV), never for arithmetic."""

from decimal import Decimal

DEFAULT_DECIMALS = 6


def to_decimal(base_units, decimals=DEFAULT_DECIMALS):
    return Decimal(int(base_units or 0)).scaleb(-decimals)


def format_usd(base_units, decimals=DEFAULT_DECIMALS, places=None):
    """$0.003, $1.25, $1,234.50: cents always, more digits only when they are not zero."""
    amount = to_decimal(base_units, decimals)
    if places is None:
        places = 2
        while places < decimals and amount != round(amount, places):
            places += 1
    return f"${amount:,.{places}f}"
