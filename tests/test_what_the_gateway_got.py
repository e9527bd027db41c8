"""The text the gateway gets, read from the simulator's own record of each call, for every
kind of job and both ways in (the studio form and the API go through services.plan and
services.send): text, edit, a kit with and without pictures, list rows, a turn. What the
studio shows as sent (`prompt_sent`) is compared with what arrived, never on its own."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from imagestudio import catalog
from imagestudio.studio.models import Generation, Kind, Status
from imagestudio.studio.tasks import run_generation
from tests.factories import (
    bearer,
    make_finished,
    make_kit,
    make_staged,
    make_token,
    picture_bytes,
)

pytestmark = pytest.mark.django_db
STYLE = "Brand colours teal and coral"
PHRASING = catalog.ALL_PHRASINGS[0].value


@pytest.fixture(autouse=True)
def _gateway(gateway, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 1


class Api:
    def __init__(self, user) -> None:
        _token, raw = make_token(user)
        self.client, self.headers = Client(), bearer(raw)

    def post(self, path: str, body: dict):
        return self.client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


def marked(text: str) -> str:
    """A prompt no other test sends, so its calls can be picked out of the simulator's."""
    return f"{text} {uuid.uuid4().hex[:10]}"


def received(base: str, marker: str) -> list[dict]:
    answer = httpx.get(f"{base.removesuffix('/v1')}/_sim/received", timeout=5)
    return [call for call in answer.json()["received"] if marker in call["prompt"]]


def run(ids) -> list[Generation]:
    for pk in ids:
        assert run_generation(pk) == "succeeded"
    return list(Generation.objects.filter(pk__in=ids).order_by("id"))


def ids_of(response) -> list[int]:
    assert response.status_code == 202, response.content
    return [g["id"] for g in response.json()["generations"]]


def test_api_kit_without_model_uses_its_model_size_and_sends_its_style(api, owner, gateway):
    kit = make_kit(owner, model=catalog.VIP, size="1280x720", style=STYLE)
    prompt = marked("a beach hat")

    (row,) = run(ids_of(api.post("/generations", {"kit": kit.pk, "prompt": prompt})))

    assert (row.model, row.size, row.kind) == (catalog.VIP, "1280x720", Kind.GENERATE)
    (call,) = received(gateway, prompt)
    assert call["endpoint"] == "images"
    assert (call["model"], call["size"]) == (catalog.VIP, "1280x720")
    assert call["prompt"] == f"{prompt}\n{STYLE}" == row.prompt_sent


def test_api_kit_with_a_preset_takes_the_presets_model_and_size(api, owner, gateway):
    story = catalog.PRESETS_BY_KEY["story"]
    kit = make_kit(owner, preset="story", style=STYLE)
    prompt = marked("a sandal")

    (row,) = run(ids_of(api.post("/generations", {"kit": kit.pk, "prompt": prompt})))

    assert (row.model, row.size, row.batch.preset) == (story.model, story.size, "story")
    (call,) = received(gateway, prompt)
    assert call["prompt"] == row.prompt_sent
    assert call["prompt"].endswith(f"\n{STYLE}")


def test_a_kit_on_all_sends_the_phrasing_once_then_prompt_then_style(api, owner, gateway):
    kit = make_kit(owner, model=catalog.ALL, size=PHRASING, style=STYLE)
    prompt = marked("a kite")

    (row,) = run(ids_of(api.post("/generations", {"kit": kit.pk, "prompt": prompt})))

    (call,) = received(gateway, prompt)
    assert call["prompt"] == f"{PHRASING}, {prompt}\n{STYLE}" == row.prompt_sent
    assert call["size"] is None


def test_api_kit_with_pictures_is_an_edit_sending_them_and_the_style(api, owner, gateway):
    kit = make_kit(owner, style=STYLE, pictures=2)
    prompt = marked("put the logo of image1 on a cap")

    (row,) = run(ids_of(api.post("/generations", {"kit": kit.pk, "prompt": prompt})))

    assert row.kind == Kind.EDIT
    (call,) = received(gateway, prompt)
    assert (call["endpoint"], call["pictures"]) == ("edits", 2)
    assert call["prompt"] == f"{prompt}\n{STYLE}" == row.prompt_sent


def test_api_list_rows_with_a_kit_each_send_their_filled_prompt_and_style(api, owner, gateway):
    kit = make_kit(owner, style=STYLE)
    tag = uuid.uuid4().hex[:10]
    body = {
        "kit": kit.pk,
        "template": "Poster for {product} " + tag,
        "rows": [{"product": "sandals"}, {"product": "hats"}],
    }

    rows = run(ids_of(api.post("/generations", body)))

    sent = {call["prompt"] for call in received(gateway, tag)}
    assert sent == {f"Poster for sandals {tag}\n{STYLE}", f"Poster for hats {tag}\n{STYLE}"}
    assert sent == {row.prompt_sent for row in rows}


def test_api_edit_sends_what_prompt_sent_says(api, owner, gateway):
    prompt = marked("make image1 blue")
    response = Api(owner).client.post(
        "/api/v1/edits",
        {
            "model": catalog.ALL,
            "size": PHRASING,
            "prompt": prompt,
            "image1": _upload(),
        },
        headers=api.headers,
    )

    (row,) = run(ids_of(response))

    (call,) = received(gateway, prompt)
    assert (call["endpoint"], call["pictures"]) == ("edits", 1)
    assert call["prompt"] == f"{PHRASING}, {prompt}" == row.prompt_sent


def test_a_turn_sends_its_prompt_sent_as_the_last_user_text(api, owner, gateway):
    parent = make_finished(owner, model=catalog.ALL, size=PHRASING)
    prompt = marked("now at night")

    (row,) = run(ids_of(api.post(f"/generations/{parent.pk}/iterate", {"prompt": prompt})))

    (call,) = received(gateway, prompt)
    assert call["endpoint"] == "chat"
    assert call["prompt"] == f"{PHRASING}, {prompt}" == row.prompt_sent


@pytest.mark.parametrize(
    ("model", "size", "quality"),
    [(catalog.ALL_26, "1536x1024", ""), (catalog.OFFICIAL, "1536x1024", "high")],
)
def test_a_turn_on_a_route_without_chat_is_an_edit_of_the_image(
    api, owner, gateway, model, size, quality
):
    parent = make_finished(
        owner, model=model, size=size, quality=quality, background="opaque", output_format="png"
    )
    prompt = marked("now at night")

    (row,) = run(ids_of(api.post(f"/generations/{parent.pk}/iterate", {"prompt": prompt})))

    (call,) = received(gateway, prompt)
    assert (call["endpoint"], call["model"], call["size"], call["pictures"]) == (
        "edits",
        model,
        size,
        1,
    )
    assert (row.kind, row.parent_id, row.thread_id) == (Kind.EDIT, parent.pk, parent.pk)
    # The parent's options go with the turn.
    assert (row.quality, row.background, row.output_format) == (
        catalog.quality_sent(model, quality) if quality else "",
        "opaque",
        "png",
    )


def test_plain_text_from_the_api_sends_the_prompt_alone(api, gateway):
    prompt = marked("a lighthouse")

    (row,) = run(ids_of(api.post("/generations", {"model": catalog.VIP, "prompt": prompt})))

    (call,) = received(gateway, prompt)
    assert call["prompt"] == prompt == row.prompt_sent


# --- the studio form: the same service, the same text ---------------------------------------
def form(client, **fields):
    data = {
        "model": catalog.VIP,
        "size": catalog.DEFAULT_VIP_SIZE,
        "count": "1",
        "fallback_2k": "on",
        **fields,
    }
    return client.post("/generate", data)


def test_the_form_with_a_style_only_kit_sends_the_style(owner_client, owner, gateway):
    kit = make_kit(owner, style=STYLE)
    prompt = marked("a straw hat")

    response = form(owner_client, kit=str(kit.pk), prompt=prompt)

    assert response.status_code == 302
    (row,) = run(Generation.objects.values_list("pk", flat=True))
    (call,) = received(gateway, prompt)
    assert call["endpoint"] == "images"
    assert call["prompt"] == f"{prompt}\n{STYLE}" == row.prompt_sent


def test_the_form_kit_pictures_come_first_then_the_staged_ones(owner_client, owner, gateway):
    kit = make_kit(owner, style=STYLE, pictures=1)
    staged = make_staged(owner)
    prompt = marked("image2 on image1")

    form(owner_client, kit=str(kit.pk), prompt=prompt, input=str(staged.pk))

    (row,) = run(Generation.objects.values_list("pk", flat=True))
    (call,) = received(gateway, prompt)
    assert (call["endpoint"], call["pictures"]) == ("edits", 2)
    assert call["prompt"] == row.prompt_sent == f"{prompt}\n{STYLE}"
    assert [i.file.name for i in row.inputs.order_by("position")][1] == staged.file.name


def test_the_form_and_the_api_resolve_a_kit_to_the_same_job(owner_client, owner, api):
    kit = make_kit(owner, preset="poster", style=STYLE, pictures=1)

    form(owner_client, kit=str(kit.pk), preset="poster", prompt="a poster", model="", size="")
    api.post("/generations", {"kit": kit.pk, "prompt": "a poster"})

    by_form, by_api = Generation.objects.order_by("id")
    fields = ("model", "size", "kind", "style", "kit_id", "team_id", "prompt_sent")
    assert [getattr(by_form, f) for f in fields] == [getattr(by_api, f) for f in fields]
    assert by_form.batch.preset == by_api.batch.preset == "poster"
    assert by_form.inputs.count() == by_api.inputs.count() == 1


def test_a_kit_of_someone_else_is_a_404_in_the_api_and_a_field_error_in_the_form(
    other_user, owner, owner_client, api
):
    kit = make_kit(other_user, style=STYLE)
    make_kit(owner, name="Own kit")  # so the form shows its kit picker

    assert api.post("/generations", {"kit": kit.pk, "prompt": "x"}).status_code == 404
    response = form(owner_client, kit=str(kit.pk), prompt="x")
    assert response.status_code == 200
    assert "Choose one of your or your teams" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_list_over_the_batch_limit_is_refused_before_its_rows_are_checked(api):
    prompts = [f"a poster of product number {n}, bright colours" for n in range(20_000)]
    api.post("/generations", {})  # the first request of a process loads the URLconf

    started = time.monotonic()
    response = api.post("/generations", {"model": catalog.VIP, "prompts": prompts})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "prompts"
    assert time.monotonic() - started < 1.0
    assert not Generation.objects.filter(status=Status.QUEUED).exists()


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("a.png", picture_bytes(fmt="PNG"), "image/png")
