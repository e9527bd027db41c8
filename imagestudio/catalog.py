"""What the gateway accepts: models, sizes, phrasings, prices, durations.

Data only. The form, the API validation, the client and the simulator all read this
module; no size string is written anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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


@dataclass(frozen=True)
class Model:
    id: str
    label: str
    price_per_call: Decimal
    # Expected seconds for one call (typical range), used for the progress bars.
    expected_seconds: tuple[int, int]
    accepts_size: bool
    description: str


MODELS: dict[str, Model] = {
    VIP: Model(
        id=VIP,
        label=_Label(gettext_noop("gpt-image-2-vip — exact sizes up to 4K")),
        price_per_call=Decimal("0.03"),
        expected_seconds=(90, 150),
        accepts_size=True,
        description=_Label(
            gettext_noop("Locks the output to one of 30 sizes (1K / 2K / 4K). Slower: ~90–150 s.")
        ),
    ),
    ALL: Model(
        id=ALL,
        label=_Label(gettext_noop("gpt-image-2-all — faster, size from the prompt")),
        price_per_call=Decimal("0.03"),
        expected_seconds=(30, 60),
        accepts_size=False,
        description=_Label(
            gettext_noop("Aspect ratio comes from a phrasing at the start of the prompt. ~30–60 s.")
        ),
    ),
}
MODEL_CHOICES: list[tuple[str, str]] = [(m.id, m.label) for m in MODELS.values()]
DEFAULT_MODEL = ALL


@dataclass(frozen=True)
class Tier:
    id: str
    label: str


TIER_1K = Tier("1k", _Label(gettext_noop("1K Fast")))
TIER_2K = Tier("2k", _Label(gettext_noop("2K Recommended")))
TIER_4K = Tier("4k", _Label(gettext_noop("4K Detail")))
TIERS: dict[str, Tier] = {t.id: t for t in (TIER_1K, TIER_2K, TIER_4K)}


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


# (ratio, name, 1K, 2K, 4K) — the gateway's table for gpt-image-2-vip (docs/gateway.md).
_VIP_TABLE = [
    ("1:1", gettext_noop("Square"), (1280, 1280), (2048, 2048), (2880, 2880)),
    ("2:3", gettext_noop("Portrait"), (848, 1280), (1360, 2048), (2336, 3520)),
    ("3:2", gettext_noop("Photo"), (1280, 848), (2048, 1360), (3520, 2336)),
    ("3:4", gettext_noop("Portrait"), (960, 1280), (1536, 2048), (2480, 3312)),
    ("4:3", gettext_noop("Standard"), (1280, 960), (2048, 1536), (3312, 2480)),
    ("4:5", gettext_noop("Social"), (1024, 1280), (1632, 2048), (2560, 3216)),
    ("5:4", gettext_noop("Large"), (1280, 1024), (2048, 1632), (3216, 2560)),
    ("9:16", gettext_noop("Story"), (720, 1280), (1152, 2048), (2160, 3840)),
    ("16:9", gettext_noop("Wide"), (1280, 720), (2048, 1152), (3840, 2160)),
    ("21:9", gettext_noop("Cinema"), (1280, 544), (2048, 864), (3840, 1632)),
]

VIP_SIZES: list[Size] = [
    Size(tier.id, ratio, name, *dims[index])
    for index, tier in enumerate((TIER_1K, TIER_2K, TIER_4K))
    for ratio, name, *dims in _VIP_TABLE
]
VIP_SIZES_BY_VALUE: dict[str, Size] = {s.value: s for s in VIP_SIZES}
DEFAULT_VIP_SIZE = "2048x2048"


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
        # Shown as it is sent (Chinese), with the resolution, in either language.
        return f"{self.value} · {self.width}×{self.height}"

    @property
    def tier(self) -> str:
        # Every -all output sits at the ~1.5K tier; group it with 2K for filtering.
        return TIER_2K.id


ALL_PHRASINGS: list[Phrasing] = [
    Phrasing("横版 16:9", "Landscape 16:9", 1672, 941, "16:9"),
    Phrasing("竖屏 9:16", "Portrait 9:16", 941, 1672, "9:16"),
    Phrasing("4:3", "4:3", 1448, 1086, "4:3"),
    Phrasing("3:4", "3:4", 1086, 1448, "3:4"),
    Phrasing("3:2 尺寸", "3:2", 1536, 1024, "3:2"),
    Phrasing("2:3 尺寸", "2:3", 1024, 1536, "2:3"),
    Phrasing("2:5 竖屏", "2:5 portrait", 793, 1983, "2:5"),
    Phrasing("5:2 横屏", "5:2 landscape", 1983, 793, "5:2"),
]
ALL_PHRASINGS_BY_VALUE: dict[str, Phrasing] = {p.value: p for p in ALL_PHRASINGS}
# With no phrasing the -all model picks for itself; it is usually square-ish.
ALL_DEFAULT_RESOLUTION = (1254, 1254)

PROMPT_MAX_CHARS = 32_000
MAX_COUNT = 10

# Gateway endpoints, relative to the base url.
GENERATIONS = "images/generations"
EDITS = "images/edits"
CHAT = "chat/completions"

# Edit inputs. The gateway's pages (docs/gateway.md) name image1/image2/image3 in
# prompts and warn that the reverse channel "struggles under heavy input load"; four
# leaves room for a product, a logo and two references without inviting the failures more
# inputs bring.
MAX_INPUTS = 4
INPUT_MAX_BYTES = 10 * 1024 * 1024  # the gateway's hard limit per file
INPUT_TARGET_BYTES = 1_500_000  # the gateway's recommended ceiling: bigger inputs fail more
# A decompression bomb check: 50 MP is a 8660x5773 photo, larger than any camera we expect.
INPUT_MAX_PIXELS = 50_000_000
INPUT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def price(model: str) -> Decimal:
    return MODELS[model].price_per_call


def batch_cost(model: str, count: int) -> Decimal:
    return price(model) * count


def size_choices(model: str) -> list[tuple[str, list[tuple[str, str]]]] | list[tuple[str, str]]:
    """Choices for a <select>: grouped by tier for -vip, flat for -all."""
    if model == VIP:
        return [
            (str(tier.label), [(s.value, s.label) for s in VIP_SIZES if s.tier == tier.id])
            for tier in TIERS.values()
        ]
    decides = translated(gettext_noop("Model decides (no phrasing)"))
    return [("", decides)] + [(p.value, p.label) for p in ALL_PHRASINGS]


def valid_size(model: str, size: str) -> bool:
    if model == VIP:
        return size in VIP_SIZES_BY_VALUE
    return size == "" or size in ALL_PHRASINGS_BY_VALUE


def size_tier(model: str, size: str) -> str:
    if model == VIP and size in VIP_SIZES_BY_VALUE:
        return VIP_SIZES_BY_VALUE[size].tier
    return TIER_2K.id


def expected_resolution(model: str, size: str) -> tuple[int, int]:
    if model == VIP:
        s = VIP_SIZES_BY_VALUE[size]
        return s.width, s.height
    if size in ALL_PHRASINGS_BY_VALUE:
        p = ALL_PHRASINGS_BY_VALUE[size]
        return p.width, p.height
    return ALL_DEFAULT_RESOLUTION


def fallback_2k(size: str) -> str | None:
    """The 2K size of the same ratio as a 4K -vip size, or None if it is not 4K."""
    s = VIP_SIZES_BY_VALUE.get(size)
    if s is None or s.tier != TIER_4K.id:
        return None
    return next(x.value for x in VIP_SIZES if x.tier == TIER_2K.id and x.ratio == s.ratio)


def size_label(model: str, size: str) -> str:
    if model == VIP and size in VIP_SIZES_BY_VALUE:
        return VIP_SIZES_BY_VALUE[size].label
    if size in ALL_PHRASINGS_BY_VALUE:
        return ALL_PHRASINGS_BY_VALUE[size].label
    return translated(gettext_noop("Model decides"))


def with_style(prompt: str, style: str) -> str:
    """A brand kit's style goes after the user's words, on a line of its own."""
    style = style.strip()
    return f"{prompt.rstrip()}\n{style}" if style else prompt


def prompt_for_gateway(model: str, size: str, prompt: str) -> str:
    """-all takes its size from a phrasing at the very start of the prompt."""
    if model == ALL and size:
        return f"{size}, {prompt}"
    return prompt


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
