"""What the gateway accepts: models (routes), sizes, phrasings, prices, durations.

The routes are data: `routes.json` beside this module, one entry per model. The form, the
API validation, the client, the ledger and the simulator all read them through this
module; no size string or price is written anywhere else. Staff overrides (on/off, price,
timeout) come from the database through `use_overrides`, which the studio registers; this
module itself needs no Django (the simulator reads it too).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from pathlib import Path
from typing import Any, NamedTuple

VIP = "gpt-image-2-vip"
ALL = "gpt-image-2-all"


# Labels are English here, marked for the catalogue (gettext_noop) and translated where they
# are read (`translated`), so this data module needs no Django to be imported (the
# simulator reads it too).
def gettext_noop(text: str) -> str:
    return text


def translated(text: str) -> str:
    """`text` in the active language when Django is set up; as it is otherwise."""
    try:
        from django.conf import settings

        if settings.configured:
            from django.utils.translation import gettext

            return gettext(text)
    except ImportError:  # pragma: no cover - Django is always installed with the studio
        pass
    return text


class _Label(str):
    """A label that reads itself in the active language when rendered or formatted."""

    def __str__(self) -> str:
        return translated(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


# --- the routes, read from routes.json -----------------------------------------------------
PER_CALL = "per_call"
PER_TOKEN = "per_token"
FAMILIES = (PER_CALL, PER_TOKEN)
SIZES_FIXED = "fixed"
SIZES_PHRASING = "phrasing"
SIZES_FREE = "free"

# Gateway endpoints, relative to the base url.
GENERATIONS = "images/generations"
EDITS = "images/edits"
CHAT = "chat/completions"

MILLION = Decimal(1_000_000)
# Token-billed costs are kept to a millionth of a dollar (the gateway's own precision).
MICRO = Decimal("0.000001")
_ONE_MP = 1024 * 1024
_DATA_FILE = Path(__file__).with_name("routes.json")


@dataclass(frozen=True)
class Tier:
    id: str
    label: str


TIER_1K = Tier("1k", _Label(gettext_noop("1K Fast")))
TIER_2K = Tier("2k", _Label(gettext_noop("2K Recommended")))
TIER_4K = Tier("4k", _Label(gettext_noop("4K Detail")))
TIERS: dict[str, Tier] = {t.id: t for t in (TIER_1K, TIER_2K, TIER_4K)}
MULTI_REFERENCE = "multi_reference"


@dataclass(frozen=True)
class Size:
    tier: str
    ratio: str
    name: str
    width: int
    height: int

    @property
    def value(self) -> str:
        # The gateway wants a lowercase ASCII "x".
        return f"{self.width}x{self.height}"

    @property
    def label(self) -> str:
        return f"{self.ratio} {translated(self.name)} · {self.width}×{self.height}"


@dataclass(frozen=True)
class Phrasing:
    # The exact string sent at the start of the prompt (kept in Chinese on purpose:
    # docs/gateway.md: the verified strings are the ones that reproduce).
    value: str
    english: str
    width: int
    height: int
    ratio: str

    @property
    def label(self) -> str:
        # In the reader's language with the resolution: a Chinese reader sees the phrase
        # as it is sent, an English one its meaning ("Landscape 16:9", not "横版 16:9").
        return f"{translated(self.english)} · {self.width}×{self.height}"

    @property
    def tier(self) -> str:
        # Every -all output sits at the ~1.5K tier; group it with 2K for filtering.
        return TIER_2K.id


@dataclass(frozen=True)
class TokenPrices:
    """Dollars per million tokens."""

    text_input: Decimal
    image_input: Decimal
    image_output: Decimal


@dataclass(frozen=True)
class Estimate:
    """What a token-billed image is expected to use, for the range shown before a call."""

    output_tokens_1mp: dict[str, int]
    spread: Decimal
    prompt_tokens_max: int
    image_input_tokens: int


@dataclass(frozen=True)
class SizeRule:
    kind: str
    set: str = ""
    default: str = ""
    default_resolution: tuple[int, int] = (0, 0)
    max_edge: int = 0
    multiple_of: int = 1
    max_ratio: float = 0.0
    min_pixels: int = 0
    max_pixels: int = 0
    tier_long_edge: dict[str, int] = field(default_factory=dict)


class Usual(NamedTuple):
    """A route's usual seconds for one call. Templates read `.low` and `.high`: an index
    into a plain tuple is tried as an attribute first, which Django's template engine
    answers with a dir() of it (twice a pending tile on every poll)."""

    low: int
    high: int


@dataclass(frozen=True)
class Model:
    id: str
    label: str
    description: str
    family: str
    # The gateway's price per image (per call) for a per-call route; 0 for a token route.
    price_per_call: Decimal
    token_prices: TokenPrices | None
    estimate: Estimate | None
    sizes: SizeRule
    n: tuple[int, int]
    quality: tuple[str, ...]
    default_quality: str
    background: tuple[str, ...]
    output_format: tuple[str, ...]
    mask: bool
    max_inputs: int
    endpoints: tuple[str, ...]
    # Whether `response_format` is sent: the official route refuses the field (400).
    response_format: bool
    # Usual seconds for one call (typical range): the tiles' "usually N–M s" and progress.
    expected_seconds: Usual
    timeout_s: dict[str, int]
    retry_429_s: dict[str, tuple[float, ...]]

    @property
    def accepts_size(self) -> bool:
        """Whether the route takes a `size` field (the -all phrasings go in the prompt)."""
        return self.sizes.kind != SIZES_PHRASING

    @property
    def per_token(self) -> bool:
        return self.family == PER_TOKEN


def _size_set(table: list[list[Any]]) -> list[Size]:
    sizes: list[Size] = []
    for index, tier in enumerate((TIER_1K, TIER_2K, TIER_4K)):
        for ratio, name, *dims in table:
            if dims[index] is not None:
                sizes.append(Size(tier.id, ratio, name, *dims[index]))
    return sizes


def _model(entry: dict[str, Any]) -> Model:
    family = entry["family"]
    if family not in FAMILIES:
        raise ValueError(f"{entry['id']}: family must be one of {FAMILIES}")
    tokens = entry.get("token_prices")
    estimate = entry.get("estimate")
    sizes = dict(entry["sizes"])
    if "default_resolution" in sizes:
        sizes["default_resolution"] = tuple(sizes["default_resolution"])
    return Model(
        id=entry["id"],
        label=_Label(entry["label"]),
        description=_Label(entry["description"]),
        family=family,
        price_per_call=Decimal(entry.get("price_per_image", "0")),
        token_prices=TokenPrices(**{k: Decimal(v) for k, v in tokens.items()}) if tokens else None,
        estimate=Estimate(
            output_tokens_1mp=dict(estimate["output_tokens_1mp"]),
            spread=Decimal(estimate["spread"]),
            prompt_tokens_max=int(estimate["prompt_tokens_max"]),
            image_input_tokens=int(estimate["image_input_tokens"]),
        )
        if estimate
        else None,
        sizes=SizeRule(**sizes),
        n=(int(entry["n"][0]), int(entry["n"][1])),
        quality=tuple(entry["quality"]),
        default_quality=entry.get("default_quality", ""),
        background=tuple(entry["background"]),
        output_format=tuple(entry["output_format"]),
        mask=bool(entry["mask"]),
        max_inputs=int(entry["max_inputs"]),
        endpoints=tuple(entry["endpoints"]),
        response_format=bool(entry["response_format"]),
        expected_seconds=Usual(int(entry["latency_s"][0]), int(entry["latency_s"][1])),
        timeout_s={k: int(v) for k, v in entry["timeout_s"].items()},
        retry_429_s={
            k: tuple(float(s) for s in v) for k, v in entry.get("retry_429_s", {}).items()
        },
    )


def _load() -> dict[str, Any]:
    with _DATA_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


_DATA = _load()
SIZE_SETS: dict[str, list[Size]] = {
    name: _size_set(spec["table"]) for name, spec in _DATA["size_sets"].items()
}
SIZE_SETS_BY_VALUE: dict[str, dict[str, Size]] = {
    name: {s.value: s for s in sizes} for name, sizes in SIZE_SETS.items()
}
MODELS: dict[str, Model] = {m.id: m for m in map(_model, _DATA["models"])}
MODEL_CHOICES: list[tuple[str, str]] = [(m.id, m.label) for m in MODELS.values()]

VIP = "gpt-image-2-vip"
ALL = "gpt-image-2-all"
ALL_26 = "gpt-image-2.6-all"
OFFICIAL = "gpt-image-2"
DEFAULT_MODEL = ALL

VIP_SIZES: list[Size] = SIZE_SETS["vip30"]
VIP_SIZES_BY_VALUE: dict[str, Size] = SIZE_SETS_BY_VALUE["vip30"]
DEFAULT_VIP_SIZE = MODELS[VIP].sizes.default

ALL_PHRASINGS: list[Phrasing] = [Phrasing(*row) for row in _DATA["phrasings"]]
ALL_PHRASINGS_BY_VALUE: dict[str, Phrasing] = {p.value: p for p in ALL_PHRASINGS}
# With no phrasing the -all model picks for itself; it is usually square-ish.
ALL_DEFAULT_RESOLUTION: tuple[int, int] = MODELS[ALL].sizes.default_resolution

PROMPT_MAX_CHARS = 32_000
MAX_COUNT = 10

# Edit inputs. The gateway's pages (docs/gateway.md) name image1/image2/image3 in
# prompts and warn that the reverse channel "struggles under heavy input load"; four
# leaves room for a product, a logo and two references without inviting the failures more
# inputs bring. A route may allow more
# (`max_inputs`: the official route takes 16).
MAX_INPUTS = 4
INPUT_MAX_BYTES = 10 * 1024 * 1024  # the gateway's hard limit per file
INPUT_TARGET_BYTES = 1_500_000  # the gateway's recommended ceiling: bigger inputs fail more
# A decompression bomb check: 50 MP is a 8660x5773 photo, larger than any camera we expect.
INPUT_MAX_PIXELS = 50_000_000
INPUT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


# --- staff overrides (the database), applied without a restart ----------------------------
@dataclass(frozen=True)
class Override:
    """What staff changed about a route in the app; None keeps the catalog's value."""

    enabled: bool = True
    price_per_image: Decimal | None = None
    text_input: Decimal | None = None
    image_input: Decimal | None = None
    image_output: Decimal | None = None
    timeout_s: int | None = None


NO_OVERRIDE = Override()
# The studio registers the database's overrides when it starts (spend.apps); the simulator
# and scripts without Django see the catalog as it is.
OverrideSource = Callable[[], Mapping[str, Override]]
_override_source: OverrideSource = dict


def use_overrides(source: OverrideSource) -> None:
    global _override_source
    _override_source = source


def override(model: str) -> Override:
    return _override_source().get(model, NO_OVERRIDE)


def enabled(model: str) -> bool:
    """A known model that staff have not switched off."""
    return model in MODELS and override(model).enabled


def enabled_models() -> list[Model]:
    overrides = _override_source()
    return [m for m in MODELS.values() if overrides.get(m.id, NO_OVERRIDE).enabled]


def default_model() -> str:
    """The form's model when none is asked for: DEFAULT_MODEL, or while staff have it
    switched off, the first model still on (a form must not start on a refusal)."""
    if enabled(DEFAULT_MODEL):
        return DEFAULT_MODEL
    on = enabled_models()
    return on[0].id if on else DEFAULT_MODEL


def model_choices() -> list[tuple[str, str]]:
    """The <select> of models: only those switched on."""
    return [(m.id, m.label) for m in enabled_models()]


# --- prices --------------------------------------------------------------------------------
def gateway_price(model: str) -> Decimal:
    """The gateway's per-image price as the catalog says (no staff override): the simulator
    bills with it."""
    return MODELS[model].price_per_call


def token_prices(model: str) -> TokenPrices:
    """A token route's prices per million tokens, staff overrides applied."""
    base = MODELS[model].token_prices
    if base is None:
        raise ValueError(f"{model} is not billed by tokens")
    o = override(model)
    return TokenPrices(
        text_input=o.text_input if o.text_input is not None else base.text_input,
        image_input=o.image_input if o.image_input is not None else base.image_input,
        image_output=o.image_output if o.image_output is not None else base.image_output,
    )


def token_cost(
    model: str,
    *,
    text_tokens: int,
    image_tokens: int,
    output_tokens: int,
    prices: TokenPrices | None = None,
) -> Decimal:
    """What a token-billed answer costs: its usage × the prices (staff's, unless `prices`
    are given: the simulator bills at the catalog's), to a millionth."""
    prices = prices or token_prices(model)
    total = (
        text_tokens * prices.text_input
        + image_tokens * prices.image_input
        + output_tokens * prices.image_output
    ) / MILLION
    return total.quantize(MICRO, rounding=ROUND_HALF_UP)


def expected_output_tokens(model: str, size: str, quality: str) -> int:
    """The image-output tokens of one image at this size and quality (the middle of the
    range): what the simulator reports, and the centre of the estimate."""
    m = MODELS[model]
    assert m.estimate is not None
    width, height = expected_resolution(model, size or m.sizes.default)
    per_mp = m.estimate.output_tokens_1mp[_quality_for(m, quality)]
    return round(per_mp * width * height / _ONE_MP)


def _quality_for(model: Model, quality: str) -> str:
    if quality in model.quality:
        return quality
    return model.default_quality or (model.quality[-1] if model.quality else "")


def estimate_range(
    model: str,
    size: str = "",
    quality: str = "",
    inputs: int = 0,
    *,
    prices: TokenPrices | None = None,
) -> tuple[Decimal, Decimal]:
    """What one image is expected to cost, lowest and highest: the price for a per-call
    route; for a token route the output tokens of this quality at this size (± the spread),
    the prompt's tokens (none to the longest), plus `inputs` × reference_picture_cost (so
    the estimate without pictures and that one figure give it for any number)."""
    m = MODELS[model]
    if not m.per_token:
        one = price(model)
        return one, one
    assert m.estimate is not None
    prices = prices or token_prices(model)
    width, height = expected_resolution(model, size or m.sizes.default)
    per_mp = m.estimate.output_tokens_1mp[_quality_for(m, quality)]
    output = Decimal(per_mp) * Decimal(width * height) / Decimal(_ONE_MP)
    low_out = output * (1 - m.estimate.spread)
    high_out = output * (1 + m.estimate.spread)
    low = (low_out * prices.image_output / MILLION).quantize(MICRO, rounding=ROUND_HALF_UP)
    high = (
        (high_out * prices.image_output + m.estimate.prompt_tokens_max * prices.text_input)
        / MILLION
    ).quantize(MICRO, rounding=ROUND_UP)
    pictures = max(0, inputs) * reference_picture_cost(model, prices=prices)
    return low + pictures, high + pictures


def reference_picture_tokens(model: str) -> int:
    """The image-input tokens one reference picture is estimated at; 0 for a per-call
    route, whose price does not depend on its pictures."""
    estimate = MODELS[model].estimate
    return estimate.image_input_tokens if estimate is not None else 0


def reference_picture_cost(model: str, *, prices: TokenPrices | None = None) -> Decimal:
    """What each reference picture adds to an image's estimate: its image-input tokens ×
    the image-input price, to a millionth (rounded up: a reservation covers it)."""
    tokens = reference_picture_tokens(model)
    if not tokens:
        return Decimal("0")
    prices = prices or token_prices(model)
    return (tokens * prices.image_input / MILLION).quantize(MICRO, rounding=ROUND_UP)


def reserve_per_image(model: str, size: str = "", quality: str = "", inputs: int = 0) -> Decimal:
    """What a budget holds back for one image of this kind until its bill is known: the
    top of its estimate range (the price itself for a per-call route). A fallback chain
    reserves the largest of its hops' values."""
    return estimate_range(model, size, quality, inputs)[1]


def attempt_cost(
    model: str,
    *,
    billed: bool,
    size: str = "",
    quality: str = "",
    inputs: int = 0,
    text_tokens: int | None = None,
    image_tokens: int | None = None,
    output_tokens: int | None = None,
) -> tuple[Decimal, bool]:
    """What the gateway bills for one attempt, and whether a token route's usage was
    missing: nothing when not billed; a per-call route's price; a token route's usage ×
    its prices, or (no usage in the answer, a call given up on) the top of its range."""
    if not billed:
        return Decimal("0"), False
    if not MODELS[model].per_token:
        return price(model), False
    if text_tokens is None or image_tokens is None or output_tokens is None:
        return reserve_per_image(model, size, quality, inputs), True
    cost = token_cost(
        model, text_tokens=text_tokens, image_tokens=image_tokens, output_tokens=output_tokens
    )
    return cost, False


def price(model: str) -> Decimal:
    """The price of one image: a per-call route's price (staff override applied); for a
    token route, the top of its range at its default size and quality."""
    m = MODELS[model]
    if m.per_token:
        return reserve_per_image(model)
    o = override(model)
    return o.price_per_image if o.price_per_image is not None else m.price_per_call


def batch_cost(model: str, count: int) -> Decimal:
    return price(model) * count


# --- sizes ---------------------------------------------------------------------------------
def _fixed(model: str) -> dict[str, Size]:
    rule = MODELS[model].sizes
    return SIZE_SETS_BY_VALUE.get(rule.set, {}) if rule.kind != SIZES_PHRASING else {}


def parse_size(size: str) -> tuple[int, int] | None:
    width, x, height = size.partition("x")
    if not x or not width.isdigit() or not height.isdigit() or not width.isascii():
        return None
    if not height.isascii():
        return None
    return int(width), int(height)


def free_size_ok(model: str, size: str) -> bool:
    """Whether `size` keeps the route's rules for free sizes (edges, multiple, ratio,
    pixels)."""
    rule = MODELS[model].sizes
    dims = parse_size(size)
    if rule.kind != SIZES_FREE or dims is None:
        return False
    width, height = dims
    if min(width, height) < 1 or max(width, height) > rule.max_edge:
        return False
    if width % rule.multiple_of or height % rule.multiple_of:
        return False
    if max(width, height) / min(width, height) > rule.max_ratio:
        return False
    return rule.min_pixels <= width * height <= rule.max_pixels


def size_choices(model: str) -> list[tuple[str, list[tuple[str, str]]]] | list[tuple[str, str]]:
    """Choices for a <select>: grouped by tier where the route takes a size, flat for the
    -all phrasings."""
    if MODELS[model].sizes.kind == SIZES_PHRASING:
        decides = translated(gettext_noop("Model decides (no phrasing)"))
        return [("", decides)] + [(p.value, p.label) for p in ALL_PHRASINGS]
    sizes = list(_fixed(model).values())
    return [
        (str(tier.label), [(s.value, s.label) for s in sizes if s.tier == tier.id])
        for tier in TIERS.values()
        if any(s.tier == tier.id for s in sizes)
    ]


def valid_size(model: str, size: str) -> bool:
    rule = MODELS[model].sizes
    if rule.kind == SIZES_PHRASING:
        return size == "" or size in ALL_PHRASINGS_BY_VALUE
    if size in _fixed(model):
        return True
    return rule.kind == SIZES_FREE and free_size_ok(model, size)


def nearest_size(model: str, size: str) -> str | None:
    """The size of `model`'s own list closest to `size` (another route's): the nearest
    aspect ratio first, so the picture keeps its framing, then the nearest pixel count.
    None for a route whose size comes from a phrasing, or a size that is not WxH."""
    dims = parse_size(size)
    offered = _fixed(model)
    if dims is None or not offered:
        return None
    ratio, pixels = math.log(dims[0] / dims[1]), math.log(dims[0] * dims[1])

    def distance(s: Size) -> tuple[float, float]:
        own = abs(math.log(s.width / s.height) - ratio)
        return round(own, 6), abs(math.log(s.width * s.height) - pixels)

    return min(offered.values(), key=distance).value


def default_size(model: str) -> str:
    return MODELS[model].sizes.default


def size_tier(model: str, size: str) -> str:
    if model not in MODELS:
        return TIER_2K.id
    rule = MODELS[model].sizes
    fixed = _fixed(model).get(size)
    if fixed is not None:
        return fixed.tier
    if rule.kind == SIZES_FREE and (dims := parse_size(size)) is not None:
        edge = max(dims)
        for tier in (TIER_1K.id, TIER_2K.id):
            if edge <= rule.tier_long_edge.get(tier, 0):
                return tier
        return TIER_4K.id
    return TIER_2K.id


def expected_resolution(model: str, size: str) -> tuple[int, int]:
    rule = MODELS[model].sizes
    if rule.kind == SIZES_PHRASING:
        if size in ALL_PHRASINGS_BY_VALUE:
            p = ALL_PHRASINGS_BY_VALUE[size]
            return p.width, p.height
        return ALL_DEFAULT_RESOLUTION
    fixed = _fixed(model).get(size)
    if fixed is not None:
        return fixed.width, fixed.height
    dims = parse_size(size)
    if dims is not None:
        return dims
    return expected_resolution(model, rule.default)


def fallback_2k(size: str) -> str | None:
    """The 2K size of the same ratio as a 4K -vip size, or None if it is not 4K."""
    s = VIP_SIZES_BY_VALUE.get(size)
    if s is None or s.tier != TIER_4K.id:
        return None
    return next(x.value for x in VIP_SIZES if x.tier == TIER_2K.id and x.ratio == s.ratio)


def size_label(model: str, size: str) -> str:
    fixed = _fixed(model).get(size) if model in MODELS else None
    if fixed is not None:
        return fixed.label
    if size in ALL_PHRASINGS_BY_VALUE:
        return ALL_PHRASINGS_BY_VALUE[size].label
    if (dims := parse_size(size)) is not None:
        return f"{dims[0]}×{dims[1]}"
    return translated(gettext_noop("Model decides"))


# --- what else a route accepts -------------------------------------------------------------
OPTION_FIELDS = ("quality", "background", "output_format")


def options(model: str, name: str) -> tuple[str, ...]:
    """The values a route takes for `quality`, `background` or `output_format` (empty: the
    field is not sent at all)."""
    if name not in OPTION_FIELDS:
        raise ValueError(f"unknown option {name!r}")
    values: tuple[str, ...] = getattr(MODELS[model], name)
    return values


def option_label(name: str, value: str) -> str:
    """An option's value as a person reads it, in the active language (catalog.labels);
    a value routes.json gains without a label reads as it is sent."""
    from imagestudio.catalog.labels import OPTION_LABELS

    label = OPTION_LABELS.get(name, {}).get(value)
    return translated(label) if label is not None else value


def accepts_endpoint(model: str, endpoint: str) -> bool:
    return endpoint in MODELS[model].endpoints


def max_inputs(model: str) -> int:
    return MODELS[model].max_inputs


def accepts_mask(model: str) -> bool:
    return MODELS[model].mask


def sends_response_format(model: str) -> bool:
    return MODELS[model].response_format


def quality_sent(model: str, quality: str) -> str:
    """The quality tier a call sends: the one asked for, else the route's default ("" for a
    route without tiers)."""
    m = MODELS[model]
    if not m.quality:
        return ""
    return _quality_for(m, quality)


# --- time ----------------------------------------------------------------------------------
def timeout_for(model: str, size: str = "", inputs: int = 0) -> float:
    """Seconds to wait for one answer of this route at this size: staff's override, else
    the catalog's per tier (the multi-reference value when two or more pictures go, if
    longer). The environment's IMAGESTUDIO_UPSTREAM_TIMEOUT, when set, overrides all of it
    in the client."""
    m = MODELS[model]
    o = override(model)
    if o.timeout_s is not None:
        return float(o.timeout_s)
    seconds = m.timeout_s.get(size_tier(model, size), max(m.timeout_s.values()))
    if inputs >= 2:
        seconds = max(seconds, m.timeout_s.get(MULTI_REFERENCE, seconds))
    return float(seconds)


def catalog_timeout(model: str) -> float:
    """The longest wait the route may need (its largest tier), for listings."""
    o = override(model)
    if o.timeout_s is not None:
        return float(o.timeout_s)
    return float(max(MODELS[model].timeout_s.values()))


def expected_seconds(model: str) -> Usual:
    return MODELS[model].expected_seconds


def retry_429_delays(model: str, size: str) -> tuple[float, ...]:
    """The gateway's advised waits before retrying a 429 at this size ("" tier: none
    advised, the client's own backoff applies)."""
    return MODELS[model].retry_429_s.get(size_tier(model, size), ())


def with_style(prompt: str, style: str) -> str:
    """A brand kit's style goes after the user's words, on a line of its own."""
    style = style.strip()
    return f"{prompt.rstrip()}\n{style}" if style else prompt


def prompt_for_gateway(model: str, size: str, prompt: str) -> str:
    """-all takes its size from a phrasing at the very start of the prompt. Only one of its
    phrasings goes there: a pixel size (a -vip value carried over by a reroute or a stale
    form) would be read by the gateway as the first words of the prompt."""
    if (
        size in ALL_PHRASINGS_BY_VALUE
        and model in MODELS
        and MODELS[model].sizes.kind == SIZES_PHRASING
    ):
        return f"{size}, {prompt}"
    return prompt


def gateway_text(model: str, size: str, prompt: str, style: str = "") -> str:
    """The one builder of the text the gateway gets, for every kind of job: a phrasing
    route's phrasing first, then the prompt, then a brand kit's style on a line of its own.
    The worker sends what this returns; `Generation.prompt_sent` and the list preview show
    it."""
    return prompt_for_gateway(model, size, with_style(prompt, style))


# --- deliverable presets: what an image is for sets its model and size --------------------
@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    model: str
    # A -vip size value, or a -all phrasing (sent at the start of the prompt).
    size: str
    for_: str


def _vip(tier: Tier, ratio: str) -> str:
    return next(s.value for s in VIP_SIZES if s.tier == tier.id and s.ratio == ratio)


# Labels and the "for" lines are English here; the views translate them.
PRESETS: list[Preset] = [
    Preset(
        "poster",
        gettext_noop("Poster (2:3)"),
        VIP,
        _vip(TIER_2K, "2:3"),
        gettext_noop("Print and in-store posters"),
    ),
    Preset(
        "poster-4k",
        gettext_noop("Poster 4K (2:3)"),
        VIP,
        _vip(TIER_4K, "2:3"),
        gettext_noop("Large-format print"),
    ),
    Preset(
        "story",
        gettext_noop("Story (9:16)"),
        VIP,
        _vip(TIER_2K, "9:16"),
        gettext_noop("Phone stories and short-video covers"),
    ),
    Preset(
        "banner",
        gettext_noop("Banner (16:9)"),
        VIP,
        _vip(TIER_2K, "16:9"),
        gettext_noop("Web banners and slides"),
    ),
    Preset(
        "cinema-banner",
        gettext_noop("Cinema banner (21:9)"),
        VIP,
        _vip(TIER_2K, "21:9"),
        gettext_noop("Website headers and wide hero strips"),
    ),
    Preset(
        "social-square",
        gettext_noop("Social square (1:1)"),
        VIP,
        _vip(TIER_2K, "1:1"),
        gettext_noop("Feed posts and avatars"),
    ),
    Preset(
        "social-portrait",
        gettext_noop("Social portrait (4:5)"),
        VIP,
        _vip(TIER_2K, "4:5"),
        gettext_noop("Portrait feed posts"),
    ),
    Preset(
        "product-hero-4k",
        gettext_noop("Product hero 4K (1:1)"),
        VIP,
        _vip(TIER_4K, "1:1"),
        gettext_noop("Shop product pages in full detail"),
    ),
    Preset(
        "wallpaper-4k",
        gettext_noop("Wallpaper 4K (16:9)"),
        VIP,
        _vip(TIER_4K, "16:9"),
        gettext_noop("Desktop wallpapers and screens"),
    ),
    Preset(
        "thumbnail",
        gettext_noop("Thumbnail (16:9)"),
        VIP,
        _vip(TIER_1K, "16:9"),
        gettext_noop("Video thumbnails, fast and cheap to review"),
    ),
    Preset(
        "draft-landscape",
        gettext_noop("Draft landscape (16:9)"),
        ALL,
        "横版 16:9",
        gettext_noop("Quick landscape drafts (about 30–60 s)"),
    ),
    Preset(
        "draft-portrait",
        gettext_noop("Draft portrait (9:16)"),
        ALL,
        "竖屏 9:16",
        gettext_noop("Quick portrait drafts (about 30–60 s)"),
    ),
]
PRESETS_BY_KEY: dict[str, Preset] = {p.key: p for p in PRESETS}

# A batch (one list) holds at most this many images: count × rows.
BATCH_MAX_IMAGES = 200
# A brand kit carries at most this many reference pictures (sent as image1, image2).
KIT_MAX_PICTURES = 2
