"""Every sentence the spend app says to a designer or an admin: budget refusals, team and
override errors, budget labels. Functions, so each is translated in the reader's language
at the moment it is said."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagestudio.spend.money import usd
from imagestudio.upstream.messages import Reason


def budget_label(scope: str, team_name: str = "") -> str:
    if scope == "team":
        return _("Your team %(team)s's monthly budget") % {"team": team_name}
    if scope == "user":
        return _("Your monthly budget")
    return _("The studio's monthly budget")


def budget_name(scope: str, name: str, cap: Decimal) -> str:
    """A budget as a row of the admin or the audit log names it ("team Design:
    $100.00/month"). The audit log stores it in English and says it again with this."""
    if scope == "team":
        return _("team %(name)s: %(cap)s/month") % {"name": name, "cap": usd(cap)}
    if scope == "user":
        return _("user %(name)s: %(cap)s/month") % {"name": name, "cap": usd(cap)}
    return _("the studio: %(cap)s/month") % {"cap": usd(cap)}


# -- the ledger's notes on a call ----------------------------------------------------------
# The ledger's own keys (spend.ledger writes them); the others are upstream Reason keys.
BILLED_AS_LOST = "billed_as_lost"
FOUND_IN_LOG = "found_in_log"
WORKER_STOPPED = "worker_stopped"


def note_restates_detail(note: str) -> bool:
    """A note said for a result that could not be read or fetched: the row's detail is
    then the studio's own English for the same thing, not the gateway's words."""
    return note.startswith(("answer_", "link_"))


def ledger_note(note: str, params: Mapping[str, Any]) -> str:
    """A ledger row's note (spend.ledger, upstream.messages.Reason) in the reader's
    language; "" for none."""
    if not note:
        return ""
    if note == BILLED_AS_LOST:
        return _("Already billed once as lost with its worker: not billed again.")
    if note == FOUND_IN_LOG:
        return _("Found only in the gateway's log: added by reconciliation.")
    if note == WORKER_STOPPED:
        return _("The worker stopped during this call; the gateway bills it anyway.")
    reason = str(Reason(note, {k: v for k, v in params.items() if isinstance(v, int)}))
    return _("%(reason)s.") % {"reason": capfirst(reason)}


def budget_exceeded(
    *,
    label: str,
    cap: Decimal,
    used: Decimal,
    reserved: Decimal,
    count: int,
    cost: Decimal,
    resets_on: date,
    fits: int = 0,
    raisers: list[str] | None = None,
) -> str:
    what = ngettext("this image", "this batch of %(count)s", count) % {"count": count}
    said = _(
        "%(label)s is %(cap)s: %(used)s spent and %(reserved)s reserved for images in "
        "progress; %(what)s (%(cost)s) would go over. It resets on %(resets_on)s."
    ) % {
        "label": label,
        "cap": usd(cap),
        "used": usd(used),
        "reserved": usd(reserved),
        "what": what,
        "cost": usd(cost),
        "resets_on": date_format(resets_on, "Y-m-d"),
    }
    # Only advice that applies: fewer images when some would fit, and who can raise it.
    if fits:
        said += " " + ngettext("%(fits)s image would fit.", "%(fits)s images would fit.", fits) % {
            "fits": fits
        }
    if raisers:
        said += " " + _("An admin can raise the budget: %(names)s.") % {"names": ", ".join(raisers)}
    else:
        said += " " + _("An admin can raise the budget.")
    return said


def not_your_team(teams: list[tuple[int, str]]) -> str:
    if not teams:
        return _("Choose one of your teams. You are not in any team yet.")
    listed = ", ".join(f"{pk} ({name})" for pk, name in teams)
    return _("Choose one of your teams. Yours are: %(teams)s.") % {"teams": listed}


def override_not_boolean() -> str:
    return _("override_budget must be true or false.")


def override_staff_only() -> str:
    return _("Only staff can override a budget.")


def staff_only_pages() -> str:
    return _("The spend pages are for staff.")


# -- budget alerts: the studio's notice, the e-mail ---------------------------------------


def alert_budget_label(scope: str, name: str) -> str:
    if scope == "team":
        return _("Team %(name)s's monthly budget") % {"name": name}
    if scope == "user":
        return _("%(name)s's monthly budget") % {"name": name}
    return _("The studio's monthly budget")


def alert_threshold(*, label: str, percent: str, cap: Decimal, spent: Decimal) -> str:
    return _("%(label)s has passed %(percent)s %% of its %(cap)s: %(spent)s spent this month.") % {
        "label": label,
        "percent": percent,
        "cap": usd(cap),
        "spent": usd(spent),
    }


def alert_exhausted(*, label: str, cap: Decimal, spent: Decimal, resets_on: date) -> str:
    return _(
        "%(label)s of %(cap)s is used up (%(spent)s spent this month): new images are "
        "refused until it resets on %(resets_on)s."
    ) % {
        "label": label,
        "cap": usd(cap),
        "spent": usd(spent),
        "resets_on": date_format(resets_on, "Y-m-d"),
    }


def alert_subject(*, label: str, exhausted: bool, percent: str) -> str:
    if exhausted:
        return _("ImageStudio: %(label)s is used up") % {"label": label}
    return _("ImageStudio: %(label)s passed %(percent)s %%") % {"label": label, "percent": percent}


def alert_body(sentence: str, month: str) -> str:
    return _(
        "%(sentence)s\n\nMonth: %(month)s (UTC). An admin can raise or change this budget "
        "in the studio's administration pages, under Spend › Budgets.\n"
    ) % {"sentence": sentence, "month": month}
