"""Every sentence a designer reads about the pre-filter: the warning under a prompt that
mentions a listed term, the notice when an admin has blocked it, and the refusal when such
a prompt is submitted. The admin's own labels stay with the models.

Functions, so each is translated in the reader's language when it is said."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The starter categories' names as the migration wrote them, keyed by their key: said in
# the reader's language while an admin has not renamed them (a renamed one is said as
# written, it is the admin's own word).
_STARTER_NAMES = {
    "real-people": ("Real people and celebrities", gettext_lazy("Real people and celebrities")),
    "copyrighted-ip": (
        "Copyrighted characters, brands and IP",
        gettext_lazy("Copyrighted characters, brands and IP"),
    ),
    "sensitive": ("Sensitive topics", gettext_lazy("Sensitive topics")),
}


def category_name(key: str, name: str) -> str:
    starter = _STARTER_NAMES.get(key)
    if starter is not None and starter[0] == name:
        return str(starter[1])
    return name


def quoted_terms(terms: Sequence[str]) -> str:
    return ", ".join(_("“%(term)s”") % {"term": term} for term in terms)


def warning(category: str, terms: Sequence[str]) -> str:
    return _("%(category)s: %(terms)s. Prompts like this often fail and may still be billed.") % {
        "category": category,
        "terms": quoted_terms(terms),
    }


def blocked(category: str, terms: Sequence[str]) -> str:
    return _(
        "Blocked — %(category)s: %(terms)s. An admin has blocked these terms; rephrase the "
        "prompt without them."
    ) % {"category": category, "terms": quoted_terms(terms)}


def prompt_blocked(terms: Sequence[str], categories: Sequence[str]) -> str:
    """The refusal when a prompt with blocked terms is submitted (form and API)."""
    return _(
        "This prompt mentions %(terms)s (%(categories)s), which an admin has blocked: such "
        "prompts are usually refused and still billed. Rephrase it without them."
    ) % {"terms": ", ".join(terms), "categories": ", ".join(categories)}
