"""Submitting edits and conversation turns: inputs compressed and stored, lineage set."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from imagestudio import catalog
from imagestudio.spend import charging
from imagestudio.studio import conversation, services
from imagestudio.studio.models import Generation, GenerationInput, Kind, Status
from tests.factories import make_finished, make_team
from tests.factories import picture_bytes as picture

pytestmark = pytest.mark.django_db


def finished(owner, prompt="a mug", model=catalog.ALL, size="", **fields) -> Generation:
    return make_finished(owner, prompt=prompt, model=model, size=size, **fields)


def request(model=catalog.ALL, prompt="put image2 on image1", size=None, count=1):
    return services.validate(model=model, prompt=prompt, size=size, count=count)


def test_edit_of_uploads_stores_compressed_inputs_in_order(owner):
    uploads = [
        services.Upload(picture("JPEG"), "mug.jpg"),
        services.Upload(picture("PNG", color=(0, 0, 255)), "logo.png"),
    ]
    batch, (gen,) = services.edit(owner, request(), uploads)
    assert gen.kind == Kind.EDIT and gen.status == Status.QUEUED
    assert gen.parent is None and gen.thread is None
    items = list(gen.inputs.order_by("position"))
    assert [(i.position, i.original_name) for i in items] == [(1, "mug.jpg"), (2, "logo.png")]
    for item in items:
        assert default_storage.exists(item.file.name)
        assert 0 < item.sent_bytes <= catalog.INPUT_TARGET_BYTES
        assert item.original_bytes > 0
        assert (item.width, item.height) == (64, 48)
        with default_storage.open(item.file.name) as fh:
            assert len(fh.read()) == item.sent_bytes


def test_every_image_of_a_batch_gets_the_inputs(owner):
    _, gens = services.edit(owner, request(count=3), [services.Upload(picture(), "a.jpg")])
    assert len(gens) == 3
    assert GenerationInput.objects.filter(generation__in=gens).count() == 3


def test_edit_from_the_gallery_joins_the_parents_thread(owner):
    root = finished(owner)
    child = finished(owner, parent=root, thread=root)
    _, (gen,) = services.edit(
        owner,
        request(),
        [services.Upload(b"", "", child), services.Upload(picture(), "x.jpg")],
    )
    assert gen.parent == child and gen.thread == root
    first, second = gen.inputs.order_by("position")
    assert first.source == child and second.source is None


def test_bad_upload_names_the_picture_and_stores_nothing(owner):
    uploads = [
        services.Upload(picture(), "ok.jpg"),
        services.Upload(b"%PDF-1.4 ...", "cv.pdf"),
    ]
    with pytest.raises(services.Invalid) as info:
        services.edit(owner, request(), uploads)
    assert "image2" in info.value.errors["images"]
    assert Generation.objects.count() == 0
    assert not default_storage.exists("inputs") or not default_storage.listdir("inputs")[1]


def test_too_many_or_no_pictures(owner):
    with pytest.raises(services.Invalid) as info:
        services.edit(owner, request(), [])
    assert "at least one" in info.value.errors["images"]
    too_many = [services.Upload(picture(), f"{n}.jpg") for n in range(catalog.MAX_INPUTS + 1)]
    with pytest.raises(services.Invalid) as info:
        services.edit(owner, request(), too_many)
    assert f"at most {catalog.MAX_INPUTS}" in info.value.errors["images"]


def test_an_unfinished_gallery_image_cannot_be_an_input(owner):
    source = finished(owner)
    Generation.objects.filter(pk=source.pk).update(status=Status.FAILED, image="")
    source.refresh_from_db()
    with pytest.raises(services.Invalid):
        services.edit(owner, request(), [services.Upload(b"", "", source)])


def test_iterate_is_a_chat_turn_on_the_parents_image(owner):
    root = finished(owner, size=catalog.ALL_PHRASINGS[0].value)
    _, (turn,) = services.iterate(owner, root, "now make the background blue")
    assert turn.kind == Kind.CHAT
    assert turn.parent == root and turn.thread == root
    assert (turn.model, turn.size) == (root.model, root.size)
    (item,) = turn.inputs.all()
    assert item.source == root and item.position == 1

    # The next turn stays in the same thread.
    Generation.objects.filter(pk=turn.pk).update(status=Status.SUCCEEDED, image=root.image.name)
    turn.refresh_from_db()
    _, (third,) = services.iterate(owner, turn, "and add a cat")
    assert third.thread == root and third.parent == turn


def test_iterate_validates_the_prompt(owner):
    with pytest.raises(services.Invalid) as info:
        services.iterate(owner, finished(owner), "  ")
    assert "prompt" in info.value.errors


def test_conversation_messages_carry_earlier_turns_and_the_current_image(owner):
    root = finished(owner, prompt="a red mug", reply="")
    second = finished(owner, prompt="make it blue", parent=root, thread=root, reply="Done, blue.")
    _, (turn,) = services.iterate(owner, second, "add steam")
    messages = conversation.messages(turn)
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[0]["content"] == "a red mug"
    assert messages[1]["content"] == conversation.IMAGE_TURN_TEXT
    assert messages[3]["content"] == "Done, blue."
    text, image = messages[-1]["content"]
    assert text == {"type": "text", "text": "add steam"}
    assert image["image_url"]["url"].startswith("data:image/")


def test_retry_of_an_edit_reuses_its_inputs(owner):
    _, (gen,) = services.edit(owner, request(), [services.Upload(picture(), "a.jpg")])
    _, (again,) = services.retry(gen, owner)
    assert again.kind == Kind.EDIT
    assert [i.file.name for i in again.inputs.all()] == [i.file.name for i in gen.inputs.all()]


def test_deleting_an_edit_removes_input_files_nobody_else_uses(owner):
    _, (one, two) = services.edit(owner, request(count=2), [services.Upload(picture(), "a.jpg")])
    (name,) = {i.file.name for i in one.inputs.all()}
    one.soft_delete()
    assert default_storage.exists(name), "the other image of the batch still uses it"
    two.soft_delete()
    assert not default_storage.exists(name)


def test_a_turn_is_charged_to_the_parents_team_only_for_its_members(owner, admin_user):
    design, ops = make_team("Design", owner), make_team("Ops", admin_user)
    root = finished(owner, team=design)

    def turn(user, prompt):
        team = charging.charged_team(user, parent_team_id=root.team_id)
        return services.iterate(user, root, prompt, team=team)[1][0]

    mine, staff = turn(owner, "warmer"), turn(admin_user, "cooler")
    assert mine.team == design
    assert staff.team == ops
