"""GET /api/v1/models: the catalog's routes that are switched on, with their prices, what
each accepts and the timeout in force, read from the same catalog the form, the client and
the ledger use."""

from __future__ import annotations

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from imagestudio import catalog
from imagestudio.api import messages, schemas
from imagestudio.api.auth import api_view
from imagestudio.api.contract import Reply, invalid, operation, respond
from imagestudio.spend.money import decimal_str
from imagestudio.web import parsing


def route_health(model: str) -> list[schemas.RouteHealth]:
    """The route-health figures of `model` (success rate, latency per size tier, whether
    its breaker skips it), from routing.health."""
    from imagestudio.routing import health

    return [schemas.RouteHealth.model_validate(tier) for tier in health.for_api(model)]


def _timeout(model: str) -> int:
    from django.conf import settings

    if settings.UPSTREAM_TIMEOUT is not None:
        return int(settings.UPSTREAM_TIMEOUT)
    return int(catalog.catalog_timeout(model))


def _sizes(model: catalog.Model) -> schemas.ModelSizes:
    rule = model.sizes
    if rule.kind == catalog.SIZES_PHRASING:
        values = [""] + [p.value for p in catalog.ALL_PHRASINGS]
    else:
        values = list(catalog.SIZE_SETS_BY_VALUE.get(rule.set, {}))
    free = None
    if rule.kind == catalog.SIZES_FREE:
        free = schemas.FreeSizes(
            max_edge=rule.max_edge,
            multiple_of=rule.multiple_of,
            max_ratio=rule.max_ratio,
            min_pixels=rule.min_pixels,
            max_pixels=rule.max_pixels,
        )
    return schemas.ModelSizes(kind=rule.kind, values=values, default=rule.default, free=free)


def _prices(model: catalog.Model) -> schemas.ModelPrices:
    if model.per_token:
        tokens = catalog.token_prices(model.id)
        return schemas.ModelPrices(
            per_image_usd=None,
            text_input_per_million_usd=decimal_str(tokens.text_input),
            image_input_per_million_usd=decimal_str(tokens.image_input),
            image_output_per_million_usd=decimal_str(tokens.image_output),
        )
    return schemas.ModelPrices(per_image_usd=decimal_str(catalog.price(model.id)))


def _estimates(model: catalog.Model) -> list[schemas.Estimate]:
    """Per quality tier at the default size: what one image is expected to cost."""
    tiers = model.quality or ("",)
    rows = []
    for quality in tiers:
        low, high = catalog.estimate_range(model.id, model.sizes.default, quality)
        rows.append(
            schemas.Estimate(
                quality=quality or None,
                size=model.sizes.default,
                low_usd=decimal_str(low),
                high_usd=decimal_str(high),
            )
        )
    return rows


def _size_estimates(model: catalog.Model) -> list[schemas.SizeEstimate]:
    """A token route's estimate at every size the form offers, per quality tier."""
    if not model.per_token:
        return []
    sizes = catalog.SIZE_SETS_BY_VALUE.get(model.sizes.set, {})
    return [
        schemas.SizeEstimate(
            quality=quality or None,
            size=size.value,
            tier=size.tier,
            low_usd=decimal_str(low),
            high_usd=decimal_str(high),
        )
        for size in sizes.values()
        for quality in model.quality or ("",)
        for low, high in [catalog.estimate_range(model.id, size.value, quality)]
    ]


@operation(
    "GET",
    "/estimate",
    operation_id="getEstimate",
    summary="What one image of a request is expected to cost, and what a budget holds back "
    "for it, before submitting.",
    query=schemas.EstimateQuery,
    responses={
        200: Reply("The range per image and the reservation.", schemas.EstimateReply),
        400: Reply(
            "invalid: an unknown or switched-off model, a size, quality or number of "
            "pictures the model does not take (each named).",
            schemas.Error,
        ),
    },
)
def get_estimate(request: HttpRequest) -> HttpResponseBase:
    from imagestudio.spend import budgets
    from imagestudio.studio import services

    query = request.GET
    errors: dict[str, str] = {}
    model = services.check_model(query.get("model"), errors)
    size, options = services.check_size_and_options(
        model, query.get("size"), {"quality": query.get("quality")}, errors
    )
    inputs = 0
    if model is not None:
        limit = catalog.max_inputs(model)
        parsed = parsing.int_or_none(query.get("inputs", "0"), low=0, high=limit)
        if parsed is None:
            errors["inputs"] = messages.bad_inputs_count(model, limit)
        inputs = parsed or 0
    if errors:
        raise invalid(errors, ("model", "size", "quality", "inputs"))
    assert model is not None and isinstance(size, str)
    quality = catalog.quality_sent(model, options.get("quality", ""))
    low, high = catalog.estimate_range(model, size, quality, inputs)
    endpoint = catalog.EDITS if inputs else catalog.GENERATIONS
    return respond(
        schemas.EstimateReply(
            model=model,
            family=catalog.MODELS[model].family,
            size=size,
            tier=catalog.size_tier(model, size),
            quality=quality or None,
            inputs=inputs,
            low_usd=decimal_str(low),
            high_usd=decimal_str(high),
            reserved_usd=decimal_str(budgets.per_image(model, size, quality, inputs, endpoint)),
        )
    )


@operation(
    "GET",
    "/models",
    operation_id="listModels",
    summary="The models (gateway routes) switched on: prices, accepted fields, timeout.",
    responses={200: Reply("Every enabled model of the catalog.", schemas.ModelList)},
)
def list_models(request: HttpRequest) -> HttpResponseBase:
    return respond(
        schemas.ModelList(
            results=[
                schemas.ModelInfo(
                    id=m.id,
                    label=str(m.label),
                    family=m.family,
                    prices=_prices(m),
                    estimates=_estimates(m),
                    size_estimates=_size_estimates(m),
                    reference_picture_tokens=catalog.reference_picture_tokens(m.id),
                    reference_picture_usd=decimal_str(catalog.reference_picture_cost(m.id)),
                    sizes=_sizes(m),
                    quality=list(m.quality),
                    background=list(m.background),
                    output_format=list(m.output_format),
                    mask=m.mask,
                    max_inputs=m.max_inputs,
                    endpoints=list(m.endpoints),
                    usual_seconds=list(m.expected_seconds),
                    timeout_s=_timeout(m.id),
                    health=route_health(m.id),
                )
                for m in catalog.enabled_models()
            ]
        )
    )


models = api_view(list_models)
estimate = api_view(get_estimate)
