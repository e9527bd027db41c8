"""The English words of routes.json, marked for the translators' catalogue.

routes.json is data, which makemessages does not read; every label, description and size
name in it is listed here so it gets a msgid, and the catalog translates it where it is
shown. tests/test_catalog.py checks that nothing in the data file is missing here."""

from imagestudio.catalog import gettext_noop

LABELS = (
    # Models.
    gettext_noop("gpt-image-2-vip — exact sizes up to 4K"),
    gettext_noop("Locks the output to one of 30 sizes (1K / 2K / 4K). Slower: ~90–150 s."),
    gettext_noop("gpt-image-2-all — faster, size from the prompt"),
    gettext_noop("Aspect ratio comes from a phrasing at the start of the prompt. ~30–60 s."),
    gettext_noop("gpt-image-2.6-all — sizes 1K to 4K, cheapest"),
    gettext_noop(
        "Takes a size from 1K to 4K (2K and 4K are upscaled), a background and a file "
        "format. ~10–46 s."
    ),
    gettext_noop("gpt-image-2 — official, billed by tokens"),
    gettext_noop(
        "OpenAI's own route: quality tiers, native 4K, masks, up to 16 reference pictures. "
        "Billed by tokens."
    ),
    # Size names.
    gettext_noop("Square"),
    gettext_noop("Portrait"),
    gettext_noop("Photo"),
    gettext_noop("Standard"),
    gettext_noop("Social"),
    gettext_noop("Large"),
    gettext_noop("Story"),
    gettext_noop("Wide"),
    gettext_noop("Cinema"),
    # The -all phrasings' meanings (the Chinese catalogue gives back the phrase as sent).
    gettext_noop("Landscape 16:9"),
    gettext_noop("Portrait 9:16"),
    gettext_noop("2:5 portrait"),
    gettext_noop("5:2 landscape"),
)

# The route options' values as the form offers them (the value sent stays the OpenAI
# Images name): {field: {value: label}}. catalog.option_label translates them.
OPTION_LABELS = {
    "quality": {
        "low": gettext_noop("Low (cheapest)"),
        "medium": gettext_noop("Medium"),
        "high": gettext_noop("High (most detail)"),
        "auto": gettext_noop("The model decides"),
    },
    "background": {
        "auto": gettext_noop("The model decides"),
        "transparent": gettext_noop("Transparent"),
        "opaque": gettext_noop("Opaque"),
    },
    "output_format": {
        "png": gettext_noop("PNG"),
        "jpeg": gettext_noop("JPEG"),
        "webp": gettext_noop("WebP"),
    },
}
