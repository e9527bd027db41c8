"""What a person reads when the site's defences refuse them (sign-in lockout, token
throttling, oversized or malformed requests, unreadable numbers and dates)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def signin_locked(minutes: int) -> str:
    return ngettext(
        "Too many failed sign-ins for this user name. It is locked for %(minutes)d minute; "
        "try again later or ask an admin to unlock it.",
        "Too many failed sign-ins for this user name. It is locked for %(minutes)d minutes; "
        "try again later or ask an admin to unlock it.",
        minutes,
    ) % {"minutes": minutes}


def token_throttled(seconds: int) -> str:
    return _(
        "Too many requests with unknown API tokens from your address. "
        "Try again in %(seconds)d seconds."
    ) % {"seconds": seconds}


def body_too_large(limit_mb: int) -> str:
    return _("The request is too large: at most %(limit)d MB may be sent at once.") % {
        "limit": limit_mb
    }


def body_malformed() -> str:
    return _("The request could not be read (a form upload without its boundary?).")


def not_a_whole_number(value: str) -> str:
    return _("“%(value)s” is not a whole number (use the digits 0–9).") % {"value": value}


def number_out_of_range(value: str, low: int, high: int) -> str:
    return _("%(value)s is outside %(low)d–%(high)d.") % {"value": value, "low": low, "high": high}


def not_a_day(value: str) -> str:
    return _("“%(value)s” is not a day (use YYYY-MM-DD).") % {"value": value}


def not_a_month(value: str) -> str:
    return _("“%(value)s” is not a month (use YYYY-MM).") % {"value": value}


def day_out_of_range(value: str) -> str:
    return _("%(value)s is too far from today.") % {"value": value}


def range_shortened(limit: int) -> str:
    return _(
        "At most %(limit)d days are shown at a time: "
        "the range was shortened to end on the day you asked for."
    ) % {"limit": limit}


def json_too_deep(limit: int) -> str:
    return _("The JSON is nested more than %(limit)d levels deep.") % {"limit": limit}


def lone_surrogate() -> str:
    return _("The JSON holds a lone surrogate escape (such as \\ud800), which is not text.")


def nul_character() -> str:
    return _("The JSON holds a NUL character (\\u0000), which no text field can store.")


def picture_too_large_to_decode(label: str, width: str, height: str, limit: str) -> str:
    return _(
        "%(label)s is %(width)s×%(height)s pixels: too large to prepare here (PNG and WebP "
        "up to %(limit)s megapixels). Export it smaller, or as a JPEG."
    ) % {"label": label, "width": width, "height": height, "limit": limit}


def result_link_refused() -> str:
    return _(
        "The gateway's answer pointed to a place the studio does not fetch pictures from. "
        "Nothing was downloaded; try again, and tell an admin if it happens again."
    )


def unknown_host() -> str:
    return _("This server does not answer for that host name.")


def form_nul() -> str:
    return _("A field holds a NUL character (\\0), which no text can store: remove it.")
