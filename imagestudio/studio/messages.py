"""Every sentence the studio itself says to a designer: why an image ended without a
picture (the studio's own failures; the gateway's are in upstream.messages), request
validation, picture refusals and the notices after an action. Functions, so each is
translated in the reader's language when it is said."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from imagestudio import catalog
from imagestudio.upstream import messages as gateway
from imagestudio.upstream.types import FailureCode


def explain(code: str, params: Mapping[str, Any] | None = None) -> str:
    """Why an image ended without a picture, in the active language: the one place the
    stored code and parameters become a sentence (pages, the API, e-mails and logs)."""
    if not code:
        return ""
    match code:
        case FailureCode.CANCELED:
            return canceled()
        case FailureCode.WORKER_LOST:
            return worker_lost()
        case FailureCode.INTERNAL_ERROR:
            return internal_error()
        case FailureCode.BAD_IMAGE:
            return bad_image()
        case FailureCode.STORAGE_ERROR:
            return storage_error()
    try:
        known = FailureCode(code)
    except ValueError:
        known = FailureCode.BAD_RESPONSE
    return gateway.from_params(known, params or {})


# -- why an image ended without a picture ------------------------------------------------


def canceled() -> str:
    return _("Canceled before it was sent to the gateway. Nothing was billed.")


def worker_lost() -> str:
    return _(
        "The worker handling this image stopped before it finished. It was not retried "
        "automatically, because the gateway may already have billed the call. Press Retry "
        "to try again."
    )


def internal_error() -> str:
    return _(
        "Something went wrong inside the studio while handling this image. An admin can "
        "find the details in the worker log. Press Retry to try again."
    )


def bad_image() -> str:
    return _(
        "The gateway answered, but what it sent is not a readable image. The gateway bills "
        "such a call all the same. Press Retry to try again."
    )


def storage_error() -> str:
    return _(
        "The image was generated (and billed) but could not be saved to storage. An admin "
        "has a copy on the server and can restore it."
    )


def upload_storage_refused() -> str:
    return _(
        "The picture could not be stored just now (storage is not answering). Nothing was "
        "sent or charged: try again in a few minutes."
    )


# -- validating a request ----------------------------------------------------------------


def unknown_model(models: list[str]) -> str:
    return _("Unknown model. Choose one of: %(models)s.") % {"models": ", ".join(models)}


def model_switched_off(model: str, models: list[str]) -> str:
    return _("%(model)s is switched off by an admin for now. Choose one of: %(models)s.") % {
        "model": model,
        "models": ", ".join(models),
    }


def model_not_on_endpoint(model: str) -> str:
    return _(
        "%(model)s cannot continue a conversation (it has no chat endpoint). Choose another "
        "model for this turn."
    ) % {"model": model}


def size_invalid_for(model: str, size: str) -> str:
    """A route with a size list says so; one that takes free sizes says its rules, from
    the catalog (a route of fixed sizes has no rules to offer)."""
    rule = catalog.MODELS[model].sizes
    if rule.kind != catalog.SIZES_FREE:
        return _("%(size)s is not a size %(model)s accepts: pick one from the list.") % {
            "size": repr(size),
            "model": model,
        }
    return _(
        "%(size)s is not a size %(model)s accepts: pick one from the list, or WIDTHxHEIGHT "
        "with edges up to %(max_edge)s in multiples of %(multiple)s, at most %(ratio)s:1, "
        "%(min)s to %(max)s pixels."
    ) % {
        "size": repr(size),
        "model": model,
        "max_edge": rule.max_edge,
        "multiple": rule.multiple_of,
        "ratio": f"{rule.max_ratio:g}",
        "min": f"{rule.min_pixels:,}",
        "max": f"{rule.max_pixels:,}",
    }


def option_not_taken(model: str, name: str) -> str:
    return _("%(model)s does not take %(field)s: leave it out.") % {
        "model": model,
        "field": name,
    }


def option_invalid(model: str, name: str, value: object, allowed: tuple[str, ...]) -> str:
    return _("%(field)s must be one of %(allowed)s for %(model)s, not %(value)s.") % {
        "field": name,
        "allowed": ", ".join(allowed),
        "model": model,
        "value": repr(value),
    }


def jpeg_is_never_transparent() -> str:
    return _(
        "A JPEG cannot be transparent: choose PNG (or WebP where offered) for a transparent "
        "background, or another background."
    )


def unknown_preset(keys: list[str]) -> str:
    return _("Unknown preset. Use one of: %(keys)s (GET /api/v1/presets).") % {
        "keys": ", ".join(keys)
    }


def kit_not_usable() -> str:
    return _("Choose one of your or your teams' kits.")


def prompt_missing() -> str:
    return _("Write a prompt: describe the image you want.")


def prompt_has_nul() -> str:
    return _("The prompt holds a NUL character (\\0): remove it and send it again.")


def prompt_too_long(length: int, limit: int) -> str:
    return _("The prompt is %(length)s characters; the limit is %(limit)s. Shorten it.") % {
        "length": f"{length:,}",
        "limit": f"{limit:,}",
    }


def size_not_string() -> str:
    return _("The size must be a string.")


def vip_size_invalid(size: str) -> str:
    return _(
        "%(size)s is not one of the 30 sizes gpt-image-2-vip accepts (for example "
        "2048x2048 or 3840x2160)."
    ) % {"size": repr(size)}


def all_phrasing_invalid(size: str) -> str:
    return _(
        "%(size)s is not one of the 8 verified phrasings for gpt-image-2-all; choose one "
        "from the list or leave it empty."
    ) % {"size": repr(size)}


def count_not_number(limit: int) -> str:
    return _("The number of images must be a whole number from 1 to %(limit)s.") % {"limit": limit}


def count_out_of_range(limit: int, count: int) -> str:
    return _("Ask for 1 to %(limit)s images at once (got %(count)s).") % {
        "limit": limit,
        "count": count,
    }


def choose_count(limit: int) -> str:
    return _("Choose 1 to %(limit)s images.") % {"limit": limit}


def fallback_not_boolean() -> str:
    return _("fallback_2k must be true or false.")


def prompt_blocked(terms: str, categories: str) -> str:
    return _(
        "This prompt mentions %(terms)s (%(categories)s), which an admin has blocked: such "
        "prompts are usually refused and still billed. Rephrase it without them."
    ) % {"terms": terms, "categories": categories}


# -- pictures for an edit ----------------------------------------------------------------


def picture_refused(number: int, reason: str) -> str:
    return _("image%(number)s: %(reason)s") % {"number": number, "reason": reason}


def no_picture_to_edit(pk: int) -> str:
    return _("Image #%(id)s has no finished picture to edit.") % {"id": pk}


def add_a_picture() -> str:
    return _("Add at least one picture to edit.")


def too_many_pictures(count: int, limit: int) -> str:
    return _("%(count)s pictures: an edit takes at most %(limit)s. Remove some.") % {
        "count": count,
        "limit": limit,
    }


def picture_not_added(name: str, limit: int) -> str:
    return _("%(name)s was not added: an edit takes at most %(limit)s pictures.") % {
        "name": name or _("A picture"),
        "limit": limit,
    }


def no_such_image(name: str) -> str:
    return _("There is no image %(name)s that you can use.") % {"name": name}


def only_finished_can_be_edited() -> str:
    return _("Only a finished image can be edited further.")


# -- notices after an action -------------------------------------------------------------


def queued(count: int) -> str:
    return ngettext("Queued %(count)s image.", "Queued %(count)s images.", count) % {"count": count}


def queued_again() -> str:
    return _("Queued again as a new image.")


def still_generating() -> str:
    return _("This image is still being generated.")


def canceled_notice() -> str:
    return _("Canceled. Nothing was billed.")


def too_late_to_cancel() -> str:
    return _("It was already sent to the gateway, so it can no longer be canceled.")


def deleted_notice() -> str:
    return _("Deleted. The image and its thumbnail were removed.")


def estimate_line(low: str, high: str, quality: str, pictures: int) -> str:
    """What one image of a token route should cost (the bill comes from its tokens)."""
    values = {"low": low, "high": high, "quality": quality, "count": pictures}
    if not pictures:
        return (
            _(
                "Billed by tokens: about %(low)s to %(high)s per image at this size "
                "(quality: %(quality)s)."
            )
            % values
        )
    return (
        ngettext(
            "Billed by tokens: about %(low)s to %(high)s per image at this size with its "
            "reference picture (quality: %(quality)s).",
            "Billed by tokens: about %(low)s to %(high)s per image at this size with its "
            "%(count)s reference pictures (quality: %(quality)s).",
            pictures,
        )
        % values
    )


def hold_line(held: str, model: str, *, by_fallback: bool) -> str:
    """What a budget holds back per image until its bill is known, and why that figure:
    the top of the route's estimate, or a dearer fallback the image may be rerouted to."""
    if by_fallback:
        return _(
            "Until the bill is known, the budget holds back %(held)s per image: if %(model)s "
            "fails, the fallback route it may go to can cost that much."
        ) % {"held": held, "model": model}
    return _(
        "Until the bill is known, the budget holds back %(held)s per image, the top of the "
        "estimate."
    ) % {"held": held}


def cost_line(count: int, price: str, total: str) -> str:
    return ngettext(
        "%(count)s image × %(price)s = %(total)s",
        "%(count)s images × %(price)s = %(total)s",
        count,
    ) % {"count": count, "price": price, "total": total}


def cost_range_line(count: int, low: str, high: str, total_low: str, total_high: str) -> str:
    """A token route's cost line: each image's estimate and the batch's, low to high."""
    return ngettext(
        "%(count)s image × %(low)s to %(high)s = %(total_low)s to %(total_high)s",
        "%(count)s images × %(low)s to %(high)s = %(total_low)s to %(total_high)s",
        count,
    ) % {
        "count": count,
        "low": low,
        "high": high,
        "total_low": total_low,
        "total_high": total_high,
    }


# -- upload refusals (studio.inputs): `label` is the file's name as the person knows it ----


def this_file() -> str:
    return _("This file")


def picture_empty(label: str) -> str:
    return _("%(label)s is empty (0 bytes).") % {"label": label}


def picture_too_big(label: str, size: str, limit_mb: int) -> str:
    return _(
        "%(label)s is %(size)s; the gateway accepts at most %(limit)s MB per image. Export it "
        "smaller."
    ) % {"label": label, "size": size, "limit": limit_mb}


def picture_is_svg(label: str) -> str:
    return _("%(label)s is an SVG drawing; export it as PNG or JPEG first.") % {"label": label}


def picture_is_markup(label: str) -> str:
    return _("%(label)s is not an image (it is XML or HTML text).") % {"label": label}


def picture_is_pdf(label: str) -> str:
    return _("%(label)s is a PDF document, not an image; export it as PNG or JPEG.") % {
        "label": label
    }


def a_format_file(fmt: str) -> str:
    return _("a %(format)s file") % {"format": fmt}


def picture_wrong_format(label: str, kind: str) -> str:
    return _("%(label)s is %(kind)s; the gateway accepts PNG, JPEG or WebP.") % {
        "label": label,
        "kind": kind,
    }


def picture_is_heic(label: str) -> str:
    return _(
        "%(label)s is a HEIC photo; the gateway accepts PNG, JPEG or WebP. Export it as JPEG first."
    ) % {"label": label}


def picture_not_an_image(label: str) -> str:
    return _("%(label)s is not an image.") % {"label": label}


def picture_is_text(label: str) -> str:
    return _("%(label)s is not an image (it is text).") % {"label": label}


def picture_damaged(label: str) -> str:
    return _("%(label)s is damaged or incomplete; open it and export it again.") % {"label": label}


def pixels_and_megapixels(width: str, height: str, megapixels: str) -> str:
    return _("%(width)s×%(height)s pixels (%(mp)s megapixels)") % {
        "width": width,
        "height": height,
        "mp": megapixels,
    }


def megapixels(amount: str) -> str:
    return _("%(mp)s megapixels") % {"mp": amount}


def picture_too_many_pixels(label: str, what: str, limit: str) -> str:
    return _(
        "%(label)s is %(what)s; the gateway's inputs are limited to %(limit)s megapixels. "
        "Export it smaller."
    ) % {"label": label, "what": what, "limit": limit}


# -- lists (a campaign's many prompts) -------------------------------------------------------
def list_empty() -> str:
    return _("The list is empty: write one prompt per line, or a template and its rows.")


def list_row(number: int, problem: str) -> str:
    return _("Row %(row)s: %(problem)s") % {"row": number, "problem": problem}


def batch_too_large(prompts: int, count: int, total: int) -> str:
    return _(
        "%(prompts)s prompts × %(count)s = %(total)s images; a batch holds at most "
        "%(max)s. Split the list or lower the count."
    ) % {"prompts": prompts, "count": count, "total": total, "max": catalog.BATCH_MAX_IMAGES}
