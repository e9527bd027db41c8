"""What staff read about the gateway's books (one home for the wording)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagestudio.spend.money import usd

KINDS = {
    "unknown_here": gettext_lazy("Billed by the gateway, unknown here"),
    "not_billed_by_gateway": gettext_lazy("In the ledger, not billed by the gateway"),
    "amount_differs": gettext_lazy("Amount differs"),
    "not_in_log_yet": gettext_lazy("Not in the gateway's log yet"),
}

# Why a row of the log could not be read (logapi.parse_row's codes).
MALFORMED = {
    "not_an_object": gettext_lazy("not a JSON object"),
    "no_id": gettext_lazy("no numeric id"),
    "no_created_at": gettext_lazy("no created_at timestamp"),
    "no_quota": gettext_lazy("no quota"),
    "no_model": gettext_lazy("no model_name"),
    "other_not_json": gettext_lazy("“other” is not JSON"),
    "unreadable_number": gettext_lazy("an unreadable number"),
}


def malformed(problem: str) -> str:
    return str(MALFORMED.get(problem, problem))


def day_differs(day: date, gateway: Decimal, ledger: Decimal) -> str:
    return _(
        "The gateway's books and ours differ on %(day)s: it billed %(gateway)s, the ledger "
        "has %(ledger)s (%(difference)s)."
    ) % {
        "day": day.isoformat(),
        "gateway": usd(gateway),
        "ledger": usd(ledger),
        "difference": usd(gateway - ledger),
    }


def alert_subject(day: date) -> str:
    return _("ImageStudio: the gateway's bill differs from the ledger on %(day)s") % {
        "day": day.isoformat()
    }


def alert_body(sentence: str) -> str:
    return _(
        "%(sentence)s\n\nThe calls behind the difference are on the reconciliation page "
        "(Spend › Gateway's books)."
    ) % {"sentence": sentence}


def no_token() -> str:
    return _(
        "Reconciliation is off: IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN is not set. Create a system "
        "token in the gateway's console and set it in the environment; nothing is read or "
        "marked until then."
    )


def bad_token() -> str:
    return _(
        "The gateway refused the system token (IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN): nothing "
        "was read or marked. Check the token in the gateway's console; it is sent without "
        "“Bearer”."
    )


def unavailable(when: str) -> str:
    return _(
        "The gateway's log could not be read at %(when)s (down or too slow): nothing was "
        "marked; it is read again at the next hourly run."
    ) % {"when": when}


def bad_threshold() -> str:
    return _("Enter an amount in US dollars, such as 1.00.")


def threshold_saved(amount: Decimal) -> str:
    return _("Days whose books differ by more than %(amount)s are now reported.") % {
        "amount": usd(amount)
    }
