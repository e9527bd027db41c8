"""Route health beside the model in the studio form and on the staff spend page."""

from __future__ import annotations

from typing import Any

from django import template

from imagestudio.routing import health, messages
from imagestudio.routing.models import Circuit

register = template.Library()


def _skipped() -> set[tuple[str, str]]:
    """The routes whose breaker is open or probing: their calls go to the fallback."""
    return set(Circuit.objects.exclude(state=Circuit.State.CLOSED).values_list("model", "tier"))


def hint_lines(model: str) -> list[str]:
    """One sentence per size tier of `model` called in the last day: the last hour's
    numbers, or the day's when the hour had no calls; and which of its tiers are being
    skipped to their fallback."""
    lines = []
    skipped = _skipped()
    for route in health.for_model(model):
        name = "hour" if route.hour.calls else "day"
        window = route.window(name)
        lines.append(
            messages.health_line(route.model, route.tier, window.succeeded, window.calls, name)
        )
    for skipped_model, tier in sorted(skipped):
        if skipped_model == model:
            lines.append(messages.circuit_open(model, tier))
    return lines


@register.inclusion_tag("routing/_health_hint.html")
def route_health(model: str) -> dict[str, Any]:
    return {"lines": hint_lines(model)}


@register.inclusion_tag("routing/_health_table.html")
def route_health_table() -> dict[str, Any]:
    skipped = _skipped()
    return {
        "routes": [
            {"health": route, "skipped": (route.model, route.tier) in skipped}
            for route in health.table().values()
        ]
    }


@register.filter
def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


@register.filter
def share(window: health.Window) -> str:
    return "—" if window.rate is None else f"{window.rate:.0%}"
