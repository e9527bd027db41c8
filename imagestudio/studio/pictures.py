"""How many pictures an edit may send: each route's own limit, the catalog's `max_inputs`
(4 on the reverse routes, 16 on the official one). Where the model is not known yet (a
picture staged before the form is sent, an API body being read) the largest limit any route
has applies, and the model's own is checked when the edit is submitted."""

from __future__ import annotations

from imagestudio import catalog


def most() -> int:
    """The most pictures any route takes."""
    return max(catalog.max_inputs(model) for model in catalog.MODELS)


def limit(model: object) -> int:
    """`model`'s limit; the largest when `model` is not one the catalog knows."""
    if isinstance(model, str) and model in catalog.MODELS:
        return catalog.max_inputs(model)
    return most()
