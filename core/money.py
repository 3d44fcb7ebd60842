"""Money as people read it: the budget currency (``PLS_CURRENCY``) formatted for the active
language by Babel (``NT$1,234.00`` in English, ``US$1,234.00`` in zh-Hant, ``$1,234.00`` for
the home currency).

Amounts are stored as integer hundredths of the currency (``*_cents`` columns, as the API
reports them). The currency is a label, not a conversion: switching it relabels every
stored amount, so it is chosen once, when the budgets are first set. The console, the
reports and the API (``currency`` beside every amount) all take it from here.
"""

from babel.numbers import format_currency
from django.conf import settings
from django.utils import translation

_FALLBACK_LOCALE = "en"


def currency() -> str:
    """The budget currency's ISO 4217 code."""
    return str(settings.PLS_CURRENCY)


def money(cents: int | None, *, language: str | None = None) -> str:
    """``cents`` hundredths of the budget currency, written for ``language`` (default: the
    active one)."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    amount = (cents or 0) / 100
    try:
        return format_currency(amount, currency(), locale=translation.to_locale(language))
    except (ValueError, LookupError):  # a language Babel has no data for
        return format_currency(amount, currency(), locale=_FALLBACK_LOCALE)
