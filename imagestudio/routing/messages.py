"""Every sentence about routes a person reads: their health, how an image was routed and
why a fallback was not taken. Functions, so each is said in the reader's language."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagestudio.spend.money import usd


def tier_name(tier: str) -> str:
    return tier.upper()


def health_line(model: str, tier: str, succeeded: int, calls: int, window: str) -> str:
    """ "gpt-image-2-vip 4K: 9 of 20 succeeded in the last hour"."""
    values = {"route": model, "tier": tier_name(tier), "ok": succeeded, "calls": calls}
    if window == "hour":
        return (
            ngettext(
                "%(route)s %(tier)s: %(ok)s of %(calls)s call succeeded in the last hour",
                "%(route)s %(tier)s: %(ok)s of %(calls)s succeeded in the last hour",
                calls,
            )
            % values
        )
    return (
        ngettext(
            "%(route)s %(tier)s: %(ok)s of %(calls)s call succeeded in the last day",
            "%(route)s %(tier)s: %(ok)s of %(calls)s succeeded in the last day",
            calls,
        )
        % values
    )


def latency_line(p50_s: float | None, p95_s: float | None) -> str:
    if p50_s is None or p95_s is None:
        return ""
    return _("half within %(p50)s s, 95%% within %(p95)s s") % {
        "p50": round(p50_s),
        "p95": round(p95_s),
    }


def circuit_open(model: str, tier: str) -> str:
    return _("%(route)s %(tier)s is failing: its calls go to the fallback for now") % {
        "route": model,
        "tier": tier_name(tier),
    }


def failed_hop(model: str, attempts: int, billed: Decimal) -> str:
    """One route that did not make the image: "gpt-image-2-vip failed twice, not billed"."""
    if attempts == 1:
        tried = _("%(route)s failed once") % {"route": model}
    elif attempts == 2:
        tried = _("%(route)s failed twice") % {"route": model}
    else:
        tried = _("%(route)s failed %(n)s times") % {"route": model, "n": attempts}
    if billed:
        return _("%(tried)s, billed %(cost)s") % {"tried": tried, "cost": usd(billed)}
    return _("%(tried)s, not billed") % {"tried": tried}


def refused_hop(model: str, billed: Decimal) -> str:
    """The route that refused the request (a safety verdict, a refusal): the image ends
    there, so it did not fail the way a rerouted route did."""
    if billed:
        return _("%(route)s refused it, billed %(cost)s") % {"route": model, "cost": usd(billed)}
    return _("%(route)s refused it, not billed") % {"route": model}


def skipped_hop(model: str) -> str:
    return _("%(route)s skipped while it is failing") % {"route": model}


def _dims(size: str) -> str:
    return size.replace("x", "×")


def made_by(route: str, before: list[str], size: str = "") -> str:
    """ "made by gpt-image-2.6-all after gpt-image-2-vip failed twice, not billed"; with
    `size`, the size it made instead of the one asked for: "made by gpt-image-2.6-all at
    1024×1536 after …"."""
    values = {"route": route, "before": _("; ").join(before), "size": _dims(size)}
    if size and before:
        return _("made by %(route)s at %(size)s after %(before)s") % values
    if size:
        return _("made by %(route)s at %(size)s") % values
    if not before:
        return _("made by %(route)s") % values
    return _("made by %(route)s after %(before)s") % values


def tried(before: list[str]) -> str:
    """A failed image's routes: "gpt-image-2-vip failed twice, not billed"."""
    return _("; ").join(before)


def hop_over_budget(route: str, label: str) -> str:
    # The label starts a sentence elsewhere ("Your monthly budget is …"); here it does not.
    return _("%(route)s not tried: it would have gone over %(label)s") % {
        "route": route,
        "label": label[:1].lower() + label[1:],
    }


def hop_size_not_made(route: str, size: str) -> str:
    """ "gpt-image-2.6-all not tried: it does not make 2336×3520"."""
    return _("%(route)s not tried: it does not make %(size)s") % {
        "route": route,
        "size": _dims(size),
    }


def hop_dearer(route: str) -> str:
    return _(
        "%(route)s not tried: it costs more than the model asked for, and staff have not "
        "allowed dearer fallbacks for it"
    ) % {"route": route}
