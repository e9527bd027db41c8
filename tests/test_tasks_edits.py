"""Edits and conversation turns run by the worker against the simulated gateway over real
HTTP: the multipart edit, the chat turn, refusals, and what the ledger says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from imagestudio import catalog
from imagestudio.studio import services
from imagestudio.studio.models import Kind, Status
from imagestudio.studio.tasks import run_generation
from tests.factories import picture_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _gateway(gateway, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 2


def edit(owner, prompt="put image2 on image1", model=catalog.VIP, size="1280x720"):
    request = services.validate(model=model, prompt=prompt, size=size, count=1)
    uploads = [
        services.Upload(picture_bytes(), "a.jpg"),
        services.Upload(picture_bytes(color=(0, 0, 255)), "b.jpg"),
    ]
    _, (gen,) = services.edit(owner, request, uploads)
    return gen


def ledger(gen) -> list[tuple[str, str, bool]]:
    return [(a.endpoint, a.outcome, a.billed) for a in gen.attempt_rows.order_by("number")]


def test_an_edit_goes_to_images_edits_and_is_stored(owner):
    gen = edit(owner)
    assert run_generation(gen.pk) == "succeeded"
    gen.refresh_from_db()
    assert gen.status == Status.SUCCEEDED
    assert (gen.width, gen.height) == (1280, 720)
    assert default_storage.exists(gen.image.name)
    assert ledger(gen) == [(catalog.EDITS, "image", True)]
    assert gen.cost_usd == Decimal("0.03")


def test_the_placeholder_of_an_edit_shows_the_inputs(owner):
    # The simulator draws the inputs as a strip along the bottom: red then blue.
    gen = edit(owner, model=catalog.ALL, size="")
    run_generation(gen.pk)
    gen.refresh_from_db()
    with default_storage.open(gen.image.name) as fh:
        image = Image.open(fh).convert("RGB")
        colors = {
            image.getpixel((x, y))
            for x in range(0, image.width, 4)
            for y in range(image.height * 3 // 4, image.height, 4)
        }
    assert any(r > 180 and g < 80 and b < 80 for r, g, b in colors)
    assert any(b > 180 and r < 80 and g < 80 for r, g, b in colors)


def test_an_oversize_failure_explains_the_seeds_advice(owner):
    gen = edit(owner, prompt="[sim:oversize] put image2 on image1")
    assert run_generation(gen.pk) == "input_error"
    gen.refresh_from_db()
    assert gen.status == Status.FAILED
    assert "oversized inputs" in gen.error_message
    assert [o for _, o, _ in ledger(gen)] == ["upstream_error", "upstream_error"]
    assert not gen.billed


def test_a_conversation_turn_goes_to_chat_with_the_image(owner):
    root = edit(owner, model=catalog.ALL, size="")
    run_generation(root.pk)
    root.refresh_from_db()
    _, (turn,) = services.iterate(owner, root, "now make the background blue")
    assert run_generation(turn.pk) == "succeeded"
    turn.refresh_from_db()
    assert turn.kind == Kind.CHAT and turn.status == Status.SUCCEEDED
    assert ledger(turn) == [(catalog.CHAT, "image", True)]
    assert default_storage.exists(turn.image.name)
    # And a third turn on top of it still works (history of two turns).
    _, (third,) = services.iterate(owner, turn, "add a cat")
    assert run_generation(third.pk) == "succeeded"


def test_a_text_only_chat_answer_is_refused_billed_and_shows_the_words(owner):
    root = edit(owner, model=catalog.ALL, size="")
    run_generation(root.pk)
    root.refresh_from_db()
    _, (turn,) = services.iterate(owner, root, "[sim:soft-refusal] make it a celebrity")
    assert run_generation(turn.pk) == "soft_refusal"
    turn.refresh_from_db()
    assert turn.status == Status.REFUSED
    assert turn.billed and turn.cost_usd == Decimal("0.03")
    assert turn.reply and turn.reply in turn.error_message
    assert ledger(turn) == [(catalog.CHAT, "soft_refusal", True)]
