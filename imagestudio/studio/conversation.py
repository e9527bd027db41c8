"""What an edit or a conversation turn sends: its stored inputs, and the thread's history.

Read by the worker just before the call; the inputs were compressed and stored at submit.
"""

from __future__ import annotations

import base64
from typing import Any

from imagestudio.studio.models import Generation, GenerationInput
from imagestudio.upstream.types import InputImage

# Earlier turns sent with a conversation turn. The gateway reads only the last user
# message's images; older turns are context in words, and a long thread must not grow
# the request without bound.
MAX_HISTORY_TURNS = 8
# What the assistant said for a turn that answered with an image and no words: the model
# needs a turn between two user messages, and its images there are ignored anyway.
IMAGE_TURN_TEXT = "Here is the image."


def _read(item: GenerationInput) -> bytes:
    with item.file.open("rb") as fh:
        return fh.read()


def input_images(generation: Generation) -> list[InputImage]:
    """The edit's inputs in the order the prompt calls them image1, image2, …"""
    items = list(
        generation.inputs.exclude(position=GenerationInput.MASK_POSITION).order_by("position")
    )
    if not items:
        raise ValueError(f"generation {generation.pk} is an edit with no inputs")
    return [_image(item) for item in items]


def mask_image(generation: Generation) -> InputImage | None:
    """The mask painted over image1, when the edit has one."""
    item = generation.inputs.filter(position=GenerationInput.MASK_POSITION).first()
    return _image(item) if item is not None else None


def _image(item: GenerationInput) -> InputImage:
    return InputImage(
        data=_read(item),
        content_type=item.content_type,
        extension=(item.file.name or "").rsplit(".", 1)[-1],
    )


def data_url(item: GenerationInput) -> str:
    encoded = base64.b64encode(_read(item)).decode("ascii")
    return f"data:{item.content_type};base64,{encoded}"


def history(generation: Generation) -> list[Generation]:
    """The versions this turn builds on, oldest first, up to MAX_HISTORY_TURNS: the parent
    chain back to the start of the thread."""
    chain: list[Generation] = []
    node = generation.parent
    while node is not None and len(chain) < MAX_HISTORY_TURNS:
        chain.append(node)
        node = node.parent
    chain.reverse()
    return chain


def messages(generation: Generation) -> list[dict[str, Any]]:
    """OpenAI chat messages for one turn: earlier turns in words, then this turn's prompt
    with the current image (and any other inputs) as data URLs.

    Data URLs, not links: the studio's storage is private by default, and a signed link
    the gateway fetches later could expire mid-call."""
    turns: list[dict[str, Any]] = []
    for version in history(generation):
        turns.append({"role": "user", "content": version.prompt})
        turns.append({"role": "assistant", "content": version.reply or IMAGE_TURN_TEXT})
    parts: list[dict[str, Any]] = [{"type": "text", "text": generation.prompt_sent}]
    for item in generation.inputs.order_by("position"):
        parts.append({"type": "image_url", "image_url": {"url": data_url(item)}})
    turns.append({"role": "user", "content": parts})
    return turns
