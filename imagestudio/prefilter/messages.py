"""Every sentence a designer reads about the pre-filter: the warning under a prompt that
mentions a listed term, the notice when an admin has blocked it, and the refusal when such
a prompt is submitted. The admin's own labels stay with the models.

Functions, so each is translated in the reader's language when it is said."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _


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
