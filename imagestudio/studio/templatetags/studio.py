"""Template flags for an image, so templates never re-derive a rule:
`{% if g|changeable_by:user %}` shows Retry, Cancel and Delete (Generation.can_change);
`{{ g|stored_size }}` says what was stored when 4K fell back to 2K; `{% charged amount %}`
words a cost as billed, or as what would be billed behind the simulated gateway;
`{% image_url 'studio:detail' g.pk %}` is `{% url %}` for an image's many links."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.translation import gettext as _

from imagestudio.spend import money
from imagestudio.studio.models import Generation
from imagestudio.web import jscatalog

register = template.Library()


@register.filter
def changeable_by(generation: Generation, user: Any) -> bool:
    return generation.can_change(user)


@register.filter
def fell_back(generation: Generation) -> bool:
    """4K failed and 2K was stored. False when the query left the column out (a narrow
    tile query): a tile keeps its label rather than cost a query a tile."""
    return "fell_back_to_2k" not in generation.get_deferred_fields() and generation.fell_back_to_2k


@register.filter
def stored_size(generation: Generation) -> str:
    """The size asked for, or, after a 4K call failed and 2K was stored, the stored pixels
    and why: the 4K label would promise a size the file does not have."""
    if fell_back(generation) and generation.width and generation.height:
        return _("%(width)s×%(height)s, 4K failed") % {
            "width": generation.width,
            "height": generation.height,
        }
    return generation.size_label


@register.simple_tag(takes_context=True)
def charged(context: template.Context, amount: Decimal | None, so_far: bool = False) -> str:
    """The words for a cost: billed, or, behind the simulated gateway whose banner says
    nothing is billed, what would be billed (the context flag from
    studio.context_processors). `so_far`: a running total (a batch's summary line)."""
    words = {"amount": money.usd(amount)}
    if context.get("simulated_gateway"):
        if so_far:
            return _("would be billed so far %(amount)s") % words
        return _("Would be billed %(amount)s") % words
    if so_far:
        return _("cost so far %(amount)s") % words
    return _("Billed %(amount)s") % words


@register.simple_tag
def js_catalogue_url() -> str:
    """The scripts' translations in the active language, at a URL kept for a year."""
    return jscatalog.url_for()


# An id no image has: reversed with it, a route's URL is split around where an id goes.
_MARKER = "987654321987"


@lru_cache(maxsize=64)
def _around_an_id(name: str, prefix: str) -> tuple[str, str]:
    head, marker, tail = reverse(name, args=[_MARKER]).rpartition(_MARKER)
    if not marker:
        raise ValueError(f"{name} has no id in its URL")
    return head, tail


@register.simple_tag
def image_url(name: str, pk: int) -> str:
    """`{% url name pk %}` for the links each tile draws (five a tile: fifty tiles a gallery
    page, every changed tile of every poll): the route is reversed once per script prefix,
    where `{% url %}` reversed it for each link (45 µs each, 15 % of a poll's rendering)."""
    head, tail = _around_an_id(name, get_script_prefix())
    return f"{head}{int(pk)}{tail}"
