"""Money as people read it. The one formatter: templates (the `usd` filter), budget
refusals, the studio's cost line and the API's decimal strings all come through here."""

from __future__ import annotations

import re
from decimal import Decimal

CENTS = Decimal("0.01")


def usd(amount: Decimal | int | str | None) -> str:
    """$1,234.56; a sub-cent amount keeps its digits rather than rounding to $0.00."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount < 0:
        # A difference between two books: -$0.03, not $-0.03.
        return "-" + usd(-amount)
    if amount == amount.quantize(CENTS):
        return f"${amount:,.2f}"
    return f"${amount.normalize():,f}"


def decimal_str(value: Decimal) -> str:
    """Dollars as a string with at least 2 decimals and no trailing zeros beyond them:
    0.0300 → "0.03", 0 → "0.00", 0.0325 → "0.0325". A string, because floats lose cents."""
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if not isinstance(exponent, int) or exponent > -2:
        normal = value.quantize(CENTS)
    return f"{normal:f}"


LEDGER_PLACES = Decimal("0.0001")


def ledger_str(value: Decimal) -> str:
    """A ledger amount for an export: 4 decimals, as the ledger was kept before token
    billing ("0.0300"), and up to 6 where a token-billed call needs them ("0.052560" →
    "0.05256")."""
    if value == value.quantize(LEDGER_PLACES):
        return f"{value.quantize(LEDGER_PLACES):f}"
    return f"{value.normalize():f}"


_DOLLARS = re.compile(r"[0-9]{1,8}(\.[0-9]{1,2})?", re.ASCII)


def parse_usd(text: str) -> Decimal | None:
    """Dollars as typed ("12.50", "100"): ASCII digits, at most 2 decimals and below 10^8
    (the budget column's size); None for anything else, a negative amount included."""
    if not isinstance(text, str) or not _DOLLARS.fullmatch(text):
        return None
    return Decimal(text).quantize(CENTS)
