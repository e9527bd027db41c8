"""The simulated gateway's edits, image inputs and chat answers, over real HTTP."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image, ImageChops

from imagestudio import catalog
from imagestudio.simulator import validation
from imagestudio.simulator.config import parse_args
from tests.conftest import ROOT, running_simulator
from tests.test_simulator import (
    PREFIX,
    assert_request_ids,
    decode_b64,
    error_of,
    fetch_image,
    unique,
)

VIP, ALL = catalog.VIP, catalog.ALL
RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
SIZE_1K = catalog.VIP_SIZES_BY_VALUE["1280x720"]
MARKDOWN_IMAGE = re.compile(r"!\[image\]\((?P<link>[^)\s]+)\)")
# The body the gateway's "Unknown error" for oversized inputs is modelled on
# (docs/gateway.md, "POST /images/edits").
UNKNOWN_ERROR = {
    "error": {
        "message": "Unknown error",
        "localized_message": "Unknown error",
        "type": "shell_api_error",
        "param": "",
        "code": None,
    }
}

NOT_IMAGES = {
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
    b'<rect width="8" height="8" fill="red"/></svg>',
    "pdf": b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    "text": b"a lighthouse at dusk, please\n",
}


# -- helpers and fixtures -------------------------------------------------------------------


def picture(colour: tuple[int, int, int] = RED, fmt: str = "PNG", size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def padded_png(total: int, colour: tuple[int, int, int] = RED) -> bytes:
    """A real PNG of exactly `total` bytes: bytes after IEND are ignored by decoders."""
    head = picture(colour)
    return head + b"\0" * (total - len(head))


def gif() -> bytes:
    return picture(fmt="GIF")


def edit(
    base: str,
    images: list[bytes],
    *,
    model: str = ALL,
    prompt: str = "make it blue",
    field: str = "image",
    extra_files: list[tuple[str, bytes]] = (),
    token: str | None = "sk-simulated",
    timeout: float = 30.0,
    **fields: str,
) -> httpx.Response:
    files = [(field, (f"input{n}.png", content, "image/png")) for n, content in enumerate(images)]
    files += [(name, (f"{name}.png", content, "image/png")) for name, content in extra_files]
    return httpx.post(
        f"{base}/images/edits",
        data={"model": model, "prompt": prompt, **fields},
        files=files,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        timeout=timeout,
    )


def data_url(content: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


def image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def chat(
    base: str,
    model: str,
    text: str,
    urls: list[str] = (),
    *,
    history: list[dict[str, Any]] = (),
    timeout: float = 30.0,
    **extra: Any,
) -> httpx.Response:
    content = [{"type": "text", "text": text}, *(image_part(u) for u in urls)]
    body = {"model": model, "messages": [*history, {"role": "user", "content": content}]}
    return httpx.post(
        f"{base}/chat/completions",
        json={**body, **extra},
        headers={"Authorization": "Bearer sk-simulated"},
        timeout=timeout,
    )


def chat_image_link(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content = response.json()["choices"][0]["message"]["content"]
    match = MARKDOWN_IMAGE.fullmatch(content)
    assert match, content
    return match["link"]


def chat_image(response: httpx.Response) -> Image.Image:
    link = chat_image_link(response)
    return decode_b64(link) if link.startswith("data:") else fetch_image(link)


def result_image(response: httpx.Response) -> Image.Image:
    assert response.status_code == 200, response.text
    item = response.json()["data"][0]
    return decode_b64(item["b64_json"]) if "b64_json" in item else fetch_image(item["url"])


def pixels_like(image: Image.Image, colour: tuple[int, int, int]) -> int:
    """How many pixels are close to a pure primary colour (the placeholder's gradient and
    text never are: its channels stay under 182, its text is white or black)."""
    channels = image.convert("RGB").split()
    masks = [
        channel.point(lambda v, on=wanted == 255: 255 if (v > 200 if on else v < 60) else 0)
        for channel, wanted in zip(channels, colour, strict=True)
    ]
    both = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2])
    return both.histogram()[255]


def halves(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    width, height = image.size
    return image.crop((0, 0, width, height // 2)), image.crop((0, height // 2, width, height))


def own_server(*args: str) -> Iterator[str]:
    with running_simulator("--latency", "0", *args) as base:
        yield base


@pytest.fixture(scope="module")
def oversize_url() -> Iterator[str]:
    """Every call with an input over 1.5 MB fails."""
    yield from own_server("--oversize-error-rate", "1")


@pytest.fixture(scope="module")
def lenient_url() -> Iterator[str]:
    """Oversized inputs never fail."""
    yield from own_server("--oversize-error-rate", "0")


@pytest.fixture(scope="module")
def vip_images_url() -> Iterator[str]:
    yield from own_server("--chat-vip-images-shape", "--chat-inline-images")


@pytest.fixture(scope="module")
def faulty_url() -> Iterator[str]:
    yield from own_server("--fault-429", "1")


# -- edits: the happy paths -----------------------------------------------------------------


@pytest.mark.parametrize("field", ["image", "image[]"])
def test_edit_takes_repeated_image_fields(simulator_url, field):
    inputs = [picture(RED), picture(BLUE, "JPEG")]
    response = edit(simulator_url, inputs, field=field, model=VIP, size=SIZE_1K.value)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"created", "data", "usage"}
    assert fetch_image(body["data"][0]["url"]).size == (SIZE_1K.width, SIZE_1K.height)
    assert_request_ids(response)


def test_edit_with_the_official_sdk(simulator_url, tmp_path: Path):
    first, second = tmp_path / "product.png", tmp_path / "logo.webp"
    first.write_bytes(picture(RED))
    second.write_bytes(picture(GREEN, "WEBP"))
    client = openai.OpenAI(base_url=simulator_url, api_key="sk-simulated", max_retries=0)
    with first.open("rb") as f1, second.open("rb") as f2:
        result = client.images.edit(
            model=VIP,
            image=[f1, f2],
            prompt="put the logo from image2 on image1",
            size=SIZE_1K.value,
            response_format="b64_json",
        )
    image = decode_b64(result.data[0].b64_json)
    assert image.size == (SIZE_1K.width, SIZE_1K.height)
    _, bottom = halves(image)
    assert pixels_like(bottom, RED) > 0 and pixels_like(bottom, GREEN) > 0


def test_edit_all_reads_its_size_from_the_phrasing(simulator_url):
    phrasing = catalog.ALL_PHRASINGS[0]
    prompt = catalog.prompt_for_gateway(ALL, phrasing.value, "make it blue")
    response = edit(simulator_url, [picture()], prompt=prompt, response_format="b64_json")
    value = response.json()["data"][0]["b64_json"]
    assert value.startswith(PREFIX)
    assert decode_b64(value).size == (phrasing.width, phrasing.height)


def test_edit_vip_without_size_draws_the_default(simulator_url):
    response = edit(simulator_url, [picture()], model=VIP)
    assert result_image(response).size == catalog.expected_resolution(VIP, catalog.DEFAULT_VIP_SIZE)


def test_edit_sniffs_content_not_names(simulator_url):
    # A WebP and a JPEG sent as "input.png" / image/png are still images.
    response = edit(simulator_url, [picture(fmt="WEBP"), picture(fmt="JPEG")])
    assert response.status_code == 200


def test_edit_accepts_the_gateway_maximum_of_inputs(simulator_url):
    inputs = [picture()] * validation.GATEWAY_MAX_INPUTS
    assert edit(simulator_url, inputs).status_code == 200


def test_edit_vip_ignores_a_mask(simulator_url):
    response = edit(simulator_url, [picture()], model=VIP, extra_files=[("mask", picture())])
    assert response.status_code == 200


# -- edits: validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"model": "gpt-image-2-all", "prompt": "x", "image": "x"}'),
        ("application/x-www-form-urlencoded", b"model=gpt-image-2-all&prompt=x"),
        (None, b""),
    ],
)
def test_edit_requires_multipart(simulator_url, content_type, body):
    headers = {"Authorization": "Bearer x"}
    if content_type:
        headers["Content-Type"] = content_type
    response = httpx.post(
        f"{simulator_url}/images/edits", content=body, headers=headers, timeout=10
    )
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error"
    assert "multipart/form-data" in error["message"]
    assert_request_ids(response)


def test_edit_with_a_broken_multipart_body_is_a_400(simulator_url):
    response = httpx.post(
        f"{simulator_url}/images/edits",
        content=b"--abc\r\nContent-Disposition: form-data; name=model\r\n\r\ngpt",
        headers={"Authorization": "Bearer x", "Content-Type": "multipart/form-data; boundary=abc"},
        timeout=10,
    )
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


@pytest.mark.parametrize("field", ["images", "image_file", "file"])
def test_edit_rejects_other_file_field_names(simulator_url, field):
    response = edit(simulator_url, [picture()], field=field)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"]) == ("invalid_request_error", field)


def test_edit_without_an_image_is_a_400(simulator_url):
    response = edit(simulator_url, [], extra_files=[("mask", picture())])
    assert response.status_code == 400
    assert error_of(response)["param"] == "image"


def test_edit_with_too_many_images_is_a_400(simulator_url):
    response = edit(simulator_url, [picture()] * (validation.GATEWAY_MAX_INPUTS + 1))
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"]) == ("invalid_request_error", "image")


@pytest.mark.parametrize("kind", [*NOT_IMAGES, "gif"])
@pytest.mark.parametrize("position", [1, 3])
def test_edit_rejects_what_is_not_png_jpeg_webp(simulator_url, kind, position):
    bad = gif() if kind == "gif" else NOT_IMAGES[kind]
    inputs = [picture(), picture(fmt="JPEG"), picture(fmt="WEBP")]
    inputs[position - 1] = bad
    response = edit(simulator_url, inputs)
    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "message": f"Invalid image file or mode for image {position}, "
            "please check your image file.",
            "type": "shell_api_error",
            "param": "",
            "code": "invalid_image_file",
        }
    }
    assert_request_ids(response)


def test_edit_rejects_a_file_over_the_hard_limit(simulator_url):
    response = edit(simulator_url, [picture(), padded_png(catalog.INPUT_MAX_BYTES + 1)])
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["param"]) == ("invalid_request_error", "image")
    assert "image 2" in error["message"]


def test_edit_accepts_a_file_at_the_hard_limit(lenient_url):
    assert edit(lenient_url, [padded_png(catalog.INPUT_MAX_BYTES)]).status_code == 200


@pytest.mark.parametrize(
    ("model", "fields", "param"),
    [
        (ALL, {"size": catalog.DEFAULT_VIP_SIZE}, "size"),
        (ALL, {"n": "1"}, "n"),
        (ALL, {"quality": "high"}, "quality"),
        (ALL, {"aspect_ratio": "16:9"}, "aspect_ratio"),
        (VIP, {"size": "1024x1024"}, "size"),
        (VIP, {"quality": "high"}, "quality"),
        (VIP, {"n": "1"}, "n"),
        (ALL, {"response_format": "png"}, "response_format"),
        ("gpt-image-1", {}, "model"),
    ],
)
def test_edit_fields_are_checked_like_generations(simulator_url, model, fields, param):
    response = edit(simulator_url, [picture()], model=model, **fields)
    assert response.status_code == 400
    assert error_of(response)["param"] == param


def test_edit_prompt_is_required(simulator_url):
    response = edit(simulator_url, [picture()], prompt=" ")
    assert response.status_code == 400
    assert error_of(response)["param"] == "prompt"


def test_edit_401_comes_first(simulator_url):
    assert edit(simulator_url, [picture()], token=None).status_code == 401
    # The trigger answers before validation, as on generations: no image, still a 401.
    response = edit(simulator_url, [], prompt=unique("[sim:401]"), extra_files=[("mask", b"")])
    assert response.status_code == 401


# -- oversized inputs -----------------------------------------------------------------------


def test_oversize_trigger_fails_with_unknown_error(simulator_url):
    response = edit(simulator_url, [picture()], prompt=unique("[sim:oversize] make it blue"))
    assert response.status_code == 500
    assert response.json() == UNKNOWN_ERROR
    assert_request_ids(response)


def test_oversize_trigger_once_only(simulator_url):
    prompt = unique("[sim:oversizex1] make it blue")
    statuses = [edit(simulator_url, [picture()], prompt=prompt).status_code for _ in range(2)]
    assert statuses == [500, 200]


def test_oversize_rate_1_fails_every_call_with_an_input_over_1_5_mb(oversize_url):
    big = padded_png(catalog.INPUT_TARGET_BYTES + 1)
    for _ in range(3):
        response = edit(oversize_url, [picture(), big])
        assert response.status_code == 500
        assert response.json() == UNKNOWN_ERROR
    response = chat(oversize_url, ALL, "make it blue", [data_url(big)])
    assert response.json() == UNKNOWN_ERROR


def test_oversize_rate_1_spares_inputs_up_to_1_5_mb(oversize_url):
    at_limit = padded_png(catalog.INPUT_TARGET_BYTES)
    for _ in range(3):
        assert edit(oversize_url, [at_limit, picture()]).status_code == 200
    assert chat(oversize_url, ALL, "make it blue", [data_url(at_limit)]).status_code == 200
    response = httpx.post(
        f"{oversize_url}/images/generations",
        json={"model": ALL, "prompt": "no inputs"},
        headers={"Authorization": "Bearer x"},
        timeout=10,
    )
    assert response.status_code == 200


def test_oversize_rate_0_never_fails(lenient_url):
    big = padded_png(catalog.INPUT_TARGET_BYTES + 1)
    assert edit(lenient_url, [big]).status_code == 200


def test_oversize_flag():
    assert parse_args([]).oversize_error_rate == 0.5
    assert parse_args(["--oversize-error-rate", "1"]).oversize_error_rate == 1.0
    with pytest.raises(SystemExit):
        parse_args(["--oversize-error-rate", "1.5"])


def test_help_lists_the_new_flags_and_trigger():
    result = subprocess.run(
        [sys.executable, "-m", "imagestudio.simulator", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for text in (
        "--oversize-error-rate",
        "--chat-vip-images-shape",
        "--chat-inline-images",
        "[sim:oversize]",
    ):
        assert text in result.stdout


# -- the placeholder shows the inputs -------------------------------------------------------


def test_an_edit_draws_its_inputs_and_a_generation_does_not(simulator_url):
    prompt = "the same prompt"
    edited = result_image(edit(simulator_url, [picture(RED)], model=VIP, prompt=prompt))
    generated = result_image(
        httpx.post(
            f"{simulator_url}/images/generations",
            json={"model": VIP, "prompt": prompt},
            headers={"Authorization": "Bearer x"},
            timeout=30,
        )
    )
    assert edited.size == generated.size
    top, bottom = halves(edited)
    assert pixels_like(bottom, RED) > 1000
    assert pixels_like(top, RED) == 0
    assert pixels_like(generated, RED) == 0


def test_every_input_gets_a_thumbnail(simulator_url):
    response = edit(simulator_url, [picture(RED), picture(GREEN), picture(BLUE, "JPEG")])
    _, bottom = halves(result_image(response))
    assert all(pixels_like(bottom, colour) > 100 for colour in (RED, GREEN, BLUE))


# -- chat -----------------------------------------------------------------------------------


def test_chat_with_a_data_url_image_answers_a_markdown_link(simulator_url):
    response = chat(simulator_url, ALL, "make it blue", [data_url(picture(RED))])
    link = chat_image_link(response)
    assert link.startswith(simulator_url.removesuffix("/v1") + "/files/")
    image = fetch_image(link)
    assert image.format == "PNG"
    assert image.size == catalog.ALL_DEFAULT_RESOLUTION
    assert pixels_like(halves(image)[1], RED) > 0
    assert_request_ids(response)


def test_chat_vip_answers_a_chat_completion(simulator_url):
    response = chat(simulator_url, VIP, "make it blue", [data_url(picture(RED, "JPEG"))])
    image = chat_image(response)
    assert image.size == catalog.expected_resolution(VIP, catalog.DEFAULT_VIP_SIZE)


def test_chat_b64_answers_an_inline_data_url(simulator_url):
    response = chat(simulator_url, ALL, "a fox", response_format="b64_json")
    link = chat_image_link(response)
    assert link.startswith(PREFIX)
    assert decode_b64(link).size == catalog.ALL_DEFAULT_RESOLUTION


def test_chat_object_response_format_is_ignored(simulator_url):
    response = chat(simulator_url, ALL, "a fox", response_format={"type": "text"})
    assert chat_image_link(response).startswith("http")


def test_chat_uses_only_the_last_user_messages_images(simulator_url):
    svg = data_url(NOT_IMAGES["svg"], "image/svg+xml")
    history = [
        {"role": "user", "content": [{"type": "text", "text": "a fox"}, image_part(svg)]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"}, image_part(svg)]},
    ]
    response = chat(simulator_url, ALL, "now in green", [data_url(picture(GREEN))], history=history)
    _, bottom = halves(chat_image(response))
    assert pixels_like(bottom, GREEN) > 0
    # The same SVG in the last user message is read, and refused.
    refused = chat(simulator_url, ALL, "now in green", [data_url(picture(GREEN)), svg])
    assert refused.status_code == 400
    assert error_of(refused)["message"].startswith("Invalid image file or mode for image 2,")


@pytest.mark.parametrize(
    "url", [f"data:image/png;base64,{'!' * 12}", "data:image/png,notbase64", "data:,"]
)
def test_chat_data_url_that_does_not_decode_is_an_invalid_image(simulator_url, url):
    response = chat(simulator_url, ALL, "x", [url])
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_image_file"


def test_chat_gif_or_too_many_or_too_big_images_are_refused(simulator_url):
    gif_answer = chat(simulator_url, ALL, "x", [data_url(gif(), "image/gif")])
    assert error_of(gif_answer)["type"] == "shell_api_error"
    many = [data_url(picture())] * (validation.GATEWAY_MAX_INPUTS + 1)
    assert error_of(chat(simulator_url, ALL, "x", many))["param"] == "messages"
    huge = chat(simulator_url, ALL, "x", [data_url(padded_png(catalog.INPUT_MAX_BYTES + 1))])
    assert huge.status_code == 400
    error = error_of(huge)
    assert (error["type"], error["param"]) == ("invalid_request_error", "messages")


def test_chat_follows_its_own_links_for_multi_turn_edits(simulator_url):
    first = chat(simulator_url, ALL, "a red square", [data_url(picture(RED))])
    link = chat_image_link(first)
    second = chat(simulator_url, ALL, "now add a hat", [link])
    # The first answer (with its red thumbnail) is now image1 of the second one.
    assert pixels_like(halves(chat_image(second))[1], RED) > 0


def test_chat_expired_own_link_is_an_invalid_image(simulator_url):
    gone = f"{simulator_url.removesuffix('/v1')}/files/{uuid.uuid4()}.png"
    response = chat(simulator_url, ALL, "x", [gone])
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("Invalid image file or mode for image 1,")


def test_chat_foreign_links_are_not_fetched(simulator_url):
    response = chat(simulator_url, ALL, "x", ["https://cdn.example.invalid/a.png"])
    image = chat_image(response)
    assert pixels_like(image, RED) == 0


def test_chat_vip_images_shape_option(vip_images_url):
    response = chat(vip_images_url, VIP, "make it blue", [data_url(picture(RED))])
    assert response.status_code == 200
    body = response.json()
    assert "choices" not in body
    assert list(body["data"][0]) == ["url"]
    assert pixels_like(halves(fetch_image(body["data"][0]["url"]))[1], RED) > 0
    b64 = chat(vip_images_url, VIP, "x", response_format="b64_json").json()
    assert b64["data"][0]["b64_json"].startswith(PREFIX)
    # -all is unaffected by the -vip option; --chat-inline-images inlines its image.
    assert chat_image_link(chat(vip_images_url, ALL, "x")).startswith(PREFIX)


# -- soft refusals and faults on edits and chat ---------------------------------------------


def test_edit_soft_refusal_is_a_200_without_an_image(simulator_url):
    response = edit(simulator_url, [picture()], prompt=unique("[sim:soft-refusal] x"))
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == [] and "can't" in body["message"]


@pytest.mark.parametrize("model", [ALL, VIP])
def test_chat_soft_refusal_is_only_text(simulator_url, model):
    response = chat(
        simulator_url,
        model,
        unique("[sim:soft-refusal] x"),
        [data_url(picture())],
        response_format="b64_json",
    )
    assert response.status_code == 200
    content = response.json()["choices"][0]["message"]["content"]
    assert "can't" in content
    assert "![" not in content and "data:" not in content and "http" not in content


def test_chat_soft_refusal_is_a_chat_completion_even_images_shaped(vip_images_url):
    response = chat(vip_images_url, VIP, unique("[sim:soft-refusal] x"))
    assert "can't" in response.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("trigger", "status"),
    [("[sim:429]", 429), ("[sim:quota]", 403), ("[sim:500]", 500), ("[sim:content-policy]", 500)],
)
def test_triggers_apply_to_edits_and_chat(simulator_url, trigger, status):
    assert edit(simulator_url, [picture()], prompt=unique(trigger)).status_code == status
    assert chat(simulator_url, ALL, unique(trigger), [data_url(picture())]).status_code == status


def test_4k_500_applies_to_vip_edits(simulator_url):
    prompt = unique("[sim:4k-500] x")
    failed = edit(simulator_url, [picture()], model=VIP, prompt=prompt, size="3840x2160")
    assert failed.status_code == 500 and failed.json()["status_code"] == 500
    fallback = catalog.fallback_2k("3840x2160")
    assert edit(simulator_url, [picture()], model=VIP, prompt=prompt, size=fallback).is_success


def test_timeout_applies_to_edits_and_chat(simulator_url):
    with pytest.raises(httpx.ReadTimeout):
        edit(simulator_url, [picture()], prompt=unique("[sim:timeout]"), timeout=0.5)
    with pytest.raises(httpx.ReadTimeout):
        chat(simulator_url, ALL, unique("[sim:timeout]"), timeout=0.5)


def test_fault_rates_apply_to_edits_and_chat(faulty_url):
    assert edit(faulty_url, [picture()]).status_code == 429
    assert chat(faulty_url, VIP, "x", [data_url(picture())]).status_code == 429
