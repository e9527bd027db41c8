"""Match a prompt against the admin-editable term lists.

Latin-script terms match whole words, case-insensitively ("Pikachu" but not "pikachus");
CJK terms match as substrings, because Chinese and Japanese are written without spaces."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from typing import TypedDict

from django.core.cache import cache

from imagestudio.prefilter import messages
from imagestudio.prefilter.models import Category, Term

_CACHE_KEY = "prefilter:terms:v1"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


class MatchWarning(TypedDict):
    """A match as the API reports it: the category's key and the terms found."""

    category: str
    terms: list[str]


@dataclass(frozen=True)
class Match:
    category: str
    name: str
    action: str
    terms: tuple[str, ...]

    @property
    def blocks(self) -> bool:
        return self.action == Category.Action.BLOCK

    @property
    def message(self) -> str:
        """What the studio shows under the prompt for this match."""
        if self.blocks:
            return messages.blocked(self.name, self.terms)
        return messages.warning(self.name, self.terms)

    def as_warning(self) -> MatchWarning:
        return {"category": self.category, "terms": list(self.terms)}


def _normalise(text: str) -> str:
    # NFKC folds full-width Latin (Ｐｉｋａｃｈｕ) and compatibility forms into plain ones.
    return unicodedata.normalize("NFKC", text).casefold()


def _load() -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] | None = cache.get(_CACHE_KEY)
    if rows is None:
        rows = list(
            Term.objects.filter(enabled=True)
            .select_related("category")
            .values_list("category__key", "category__name", "category__action", "term")
        )
        cache.set(_CACHE_KEY, rows, 300)
    return rows


# (key, name, action, term, needle, pattern or None for a CJK substring), built once per
# term list: a 200-row list checks 200 prompts against the same terms.
Rule = tuple[str, str, str, str, str, re.Pattern[str] | None]
# The rules and when they were read: kept for a second in this process, so a list's
# prompts cost one shared-cache read, while an admin's change reaches every process soon.
_RULES: tuple[float, list[Rule]] | None = None
_RULES_SECONDS = 1.0


def _rules() -> list[Rule]:
    global _RULES
    now = time.monotonic()
    if _RULES is not None and now - _RULES[0] < _RULES_SECONDS:
        return _RULES[1]
    rules: list[Rule] = []
    for key, name, action, term in _load():
        needle = _normalise(term).strip()
        if not needle:
            continue
        pattern = None if _CJK.search(needle) else re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")
        rules.append((key, name, action, term, needle, pattern))
    _RULES = (now, rules)
    return rules


def invalidate() -> None:
    global _RULES
    _RULES = None
    cache.delete(_CACHE_KEY)


def check(prompt: str) -> list[Match]:
    text = _normalise(prompt)
    found: dict[str, list[str]] = {}
    meta: dict[str, tuple[str, str]] = {}
    for key, name, action, term, needle, pattern in _rules():
        hit = needle in text if pattern is None else pattern.search(text) is not None
        if hit:
            found.setdefault(key, [])
            if term not in found[key]:
                found[key].append(term)
            meta[key] = (name, action)
    return [
        Match(key, messages.category_name(key, meta[key][0]), meta[key][1], tuple(terms))
        for key, terms in sorted(found.items())
    ]
