"""From a parsed body to the studio's typed image request: services.validate decides, its
messages are the ones a person reads (they replace the models' type fallbacks)."""

from __future__ import annotations

from typing import Any

from imagestudio.studio import services

# The order in which a 400 names "the" bad field: as the fields appear in the docs.
FIELD_ORDER = (
    "n",
    "preset",
    "kit",
    "model",
    "prompt",
    "prompts",
    "template",
    "rows",
    "size",
    "quality",
    "background",
    "output_format",
    "count",
    "fallback_2k",
)


def validate_image_request(
    values: dict[str, Any], errors: dict[str, str]
) -> services.Request | None:
    """The request, or None with services' messages added to `errors`."""
    try:
        return services.validate(
            model=values["model"],
            prompt=values["prompt"],
            size=values["size"],
            count=values["count"],
            fallback_2k=values["fallback_2k"],
            quality=values.get("quality"),
            background=values.get("background"),
            output_format=values.get("output_format"),
        )
    except services.Invalid as exc:
        errors.update(exc.errors)
        return None
