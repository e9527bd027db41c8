"""The chosen language and time zone ride in the session, so applying them costs no query.

They are copied there from the account when the user signs in (on any device) and when
they change them; the middleware activates them on every request."""

from __future__ import annotations

from typing import Any

LANGUAGE_KEY = "imagestudio_language"
TIME_ZONE_KEY = "imagestudio_time_zone"


def remember(session: Any, *, language: str | None = None, time_zone: str | None = None) -> None:
    if language is not None:
        session[LANGUAGE_KEY] = language
    if time_zone is not None:
        session[TIME_ZONE_KEY] = time_zone
