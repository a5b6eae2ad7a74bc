"""Money as the account shows it: in its company currency (account details' `companyCurrency`),
with thousands separators. Formatted without locale data: staff read "€1,234.50" or
"CHF 1,234.50" whatever language the admin runs in."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .. import errors
from ..credentials import get_client
from . import report_cache

# The common currencies' symbols; any other ISO code is written before the amount.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "AUD": "A$", "CAD": "C$"}
# ISO 4217 currencies without minor units.
NO_DECIMALS = {"JPY", "KRW", "ISK", "CLP", "VND", "HUF"}


def currency() -> str:
    """The account's currency code, cached with the dashboard's figures; blank when HubSpot
    cannot say right now (amounts then show without a currency)."""

    def fetch():
        data = get_client().account_details().data
        return (
            str((data or {}).get("companyCurrency") or "").upper() if isinstance(data, dict) else ""
        )

    try:
        return report_cache.cached("account-currency", fetch).data or ""
    except errors.HubSpotError:
        return ""


def format_money(value, code: str = "") -> str:
    """ "€1,234.50"; a value that is not a number comes back as it is."""
    if value in (None, ""):
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    code = (code or "").upper()
    places = 0 if code in NO_DECIMALS else 2
    text = f"{abs(amount):,.{places}f}"
    sign = "-" if amount < 0 else ""
    if code in SYMBOLS:
        return f"{sign}{SYMBOLS[code]}{text}"
    return f"{sign}{code} {text}" if code else f"{sign}{text}"
