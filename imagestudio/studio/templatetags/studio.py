"""The access rule as a template flag: `{% if g|changeable_by:user %}` shows Retry, Cancel
and Delete. It calls Generation.can_change; a template never re-derives the rule."""

from __future__ import annotations

from typing import Any

from django import template

from imagestudio.studio.models import Generation

register = template.Library()


@register.filter
def changeable_by(generation: Generation, user: Any) -> bool:
    return generation.can_change(user)
