"""The one place numbers and dates from requests are read.

`str.isdigit()` accepts "²" and Arabic-Indic digits; `int()` then raises on the first and
silently takes the second. Every parser here accepts ASCII digits only, bounded, and
answers None (or raises ParseError with the words to show) instead of raising anything
else, so no query string or form field can turn into a 500. Days are bounded too: a year
like 9999 overflows as soon as a day or a month is added to it."""

from __future__ import annotations

import json
import re
from datetime import date

from imagestudio.web import messages

# Primary keys are 64-bit signed integers in every supported database.
MAX_ID = 2**63 - 1
# Days the studio will reason about: nothing was billed before 2000, and a bound far
# below 9999 leaves room for "the day after" and "the next month".
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)

_DIGITS = re.compile(r"[0-9]{1,19}")
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


class ParseError(ValueError):
    """A value that is not what was asked for; `message` is for the person who sent it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_int(value: object, *, low: int = 0, high: int = MAX_ID) -> int:
    """A whole number written in ASCII digits (an int passes through), within [low, high].
    Surrounding spaces are forgiven; signs, decimals and other scripts' digits are not."""
    if isinstance(value, bool):
        raise ParseError(messages.not_a_whole_number(str(value)))
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
    else:
        raise ParseError(messages.not_a_whole_number(_shown(value)))
    if not low <= number <= high:
        raise ParseError(messages.number_out_of_range(str(number), low, high))
    return number


def int_or_none(value: object, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """parse_int, with None for anything it refuses (hand-edited URLs: drop, don't fail)."""
    try:
        return parse_int(value, low=low, high=high)
    except ParseError:
        return None


def id_or_none(value: object) -> int | None:
    """A primary key (1 … MAX_ID) or None."""
    return int_or_none(value, low=1)


def parse_ids(text: str, *, limit: int, separators: str = ", ") -> list[int]:
    """The valid ids in a separated list, first occurrence kept, at most `limit` of them;
    anything else in the list is skipped."""
    seen: dict[int, None] = {}
    for part in re.split(f"[{re.escape(separators)}]+", text or ""):
        if len(seen) >= limit:
            break
        pk = id_or_none(part)
        if pk is not None:
            seen.setdefault(pk, None)
    return list(seen)


def parse_day(value: str, *, first: date = FIRST_DAY, last: date = LAST_DAY) -> date:
    """YYYY-MM-DD in ASCII digits, a real day within [first, last]."""
    text = value.strip() if isinstance(value, str) else ""
    match = _DAY.fullmatch(text)
    if match is None:
        raise ParseError(messages.not_a_day(_shown(value)))
    try:
        day = date(*(int(part) for part in match.groups()))
    except ValueError:
        raise ParseError(messages.not_a_day(_shown(value))) from None
    if not first <= day <= last:
        raise ParseError(messages.day_out_of_range(text))
    return day


def day_or_none(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_day(value)
    except ParseError:
        return None


def parse_month(value: str) -> date:
    """YYYY-MM in ASCII digits; the month's first day, within [FIRST_DAY, LAST_DAY]."""
    text = value.strip() if isinstance(value, str) else ""
    match = _MONTH.fullmatch(text)
    if match is None:
        raise ParseError(messages.not_a_month(_shown(value)))
    year, month = (int(part) for part in match.groups())
    if not 1 <= month <= 12:
        raise ParseError(messages.not_a_month(_shown(value)))
    day = date(year, month, 1)
    if not FIRST_DAY <= day <= LAST_DAY.replace(day=1):
        raise ParseError(messages.day_out_of_range(text))
    return day


def month_or_none(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return parse_month(value)
    except ParseError:
        return None


def _shown(value: object) -> str:
    """The refused value as it may be echoed: short, and encodable (a lone surrogate from
    a JSON string would make the answer itself fail to encode)."""
    text = str(value)[:40]
    return text.encode("utf-8", "replace").decode("utf-8")


# Request bodies are flat objects with a list or two: 32 levels is far beyond any of them.
MAX_JSON_DEPTH = 32


def parse_json(raw: bytes) -> object:
    """A JSON document, or ParseError: not JSON, deeper than MAX_JSON_DEPTH (the decoder
    itself would recurse until RecursionError), or holding a lone surrogate (\\ud800 is
    valid JSON but no valid text: saving or echoing it fails later, far from here) or a
    NUL character (a key or a value: PostgreSQL stores neither)."""
    try:
        data = json.loads(raw or b"null")
    except RecursionError:
        raise ParseError(messages.json_too_deep(MAX_JSON_DEPTH)) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ParseError(str(exc)) from None
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ParseError(messages.json_too_deep(MAX_JSON_DEPTH))
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            if not _encodable(value):
                raise ParseError(messages.lone_surrogate())
            # PostgreSQL refuses NUL in text (SQLite keeps it): refused here, on both.
            if "\x00" in value:
                raise ParseError(messages.nul_character())
    return data


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
