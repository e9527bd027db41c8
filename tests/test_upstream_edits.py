"""The client's edits (multipart) and chat turns against scripted answers."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
from decimal import Decimal

import httpx
import pytest

from imagestudio import catalog
from imagestudio.upstream import types as t
from imagestudio.upstream.types import InputImage
from tests.test_upstream_client import (
    BASE,
    KEY,
    PHRASING,
    PNG,
    VIP_2K,
    VIP_4K,
    VIP_4K_FALLBACK,
    Gateway,
    error,
    image_b64,
    make,
)

JPEG_IN = InputImage(b"\xff\xd8\xff\xe0 first input", "image/jpeg", "jpg")
PNG_IN = InputImage(b"\x89PNG\r\n\x1a\n second input", "image/png", "png")
SHELL_BODY = {
    "error": {
        "message": "Unknown error",
        "localized_message": "Unknown error",
        "type": "shell_api_error",
        "code": None,
    }
}


def parts(request: httpx.Request) -> list[tuple[str, str | None, str | None, bytes]]:
    """(field name, file name, content type, payload) of each multipart part, in order."""
    header = request.headers["content-type"]
    raw = f"Content-Type: {header}\r\n\r\n".encode() + request.read()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    found = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        ctype = part.get_content_type() if filename else None
        found.append((name, filename, ctype, part.get_payload(decode=True)))
    return found


def edit(gateway: Gateway, *, model=catalog.VIP, size=VIP_2K, images=(JPEG_IN, PNG_IN), **kw):
    client, sleeps = make(gateway, **kw.pop("options", {}))
    return client.edit(model=model, prompt="put image2 on image1", size=size, images=images, **kw)


def test_edit_is_multipart_with_repeated_image_fields_in_order():
    gateway = Gateway(image_b64())
    result = edit(gateway)
    assert result.ok and result.image_bytes == PNG
    request = gateway.posts[0]
    assert str(request.url) == f"{BASE}/images/edits"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    sent = parts(request)
    fields = {name: payload.decode() for name, filename, _, payload in sent if not filename}
    assert fields == {
        "model": catalog.VIP,
        "prompt": "put image2 on image1",
        "response_format": "b64_json",
        "size": VIP_2K,
    }
    files = [
        (name, filename, ctype, payload) for name, filename, ctype, payload in sent if filename
    ]
    assert files == [
        ("image", "image1.jpg", "image/jpeg", JPEG_IN.data),
        ("image", "image2.png", "image/png", PNG_IN.data),
    ]
    assert result.final_attempt.endpoint == catalog.EDITS


def test_edit_on_all_sends_no_size_and_the_text_it_is_given():
    gateway = Gateway(image_b64())
    edit(gateway, model=catalog.ALL, size=PHRASING, images=(JPEG_IN,))
    fields = {n: p.decode() for n, f, _, p in parts(gateway.posts[0]) if not f}
    assert "size" not in fields and "n" not in fields and "quality" not in fields
    # The phrasing is the caller's (catalog.gateway_text): never added a second time.
    assert fields["prompt"] == "put image2 on image1"


def test_edit_refuses_no_inputs_or_too_many_before_any_call():
    gateway = Gateway(image_b64())
    with pytest.raises(ValueError):
        edit(gateway, images=())
    with pytest.raises(ValueError):
        edit(gateway, images=(JPEG_IN,) * (catalog.MAX_INPUTS + 1))
    assert gateway.posts == []


def test_edit_4k_500_falls_back_to_2k_like_generations():
    vip_500 = error(500, {"error": {"message": "compute fluctuation"}})
    gateway = Gateway(vip_500, image_b64())
    result = edit(gateway, size=VIP_4K)
    assert result.ok and result.fell_back_to_2k
    sizes = [{n: p.decode() for n, f, _, p in parts(r) if not f}["size"] for r in gateway.posts]
    assert sizes == [VIP_4K, VIP_4K_FALLBACK]


def test_shell_api_error_is_retried_then_explained_with_the_seeds_advice():
    gateway = Gateway(error(500, SHELL_BODY))
    result = edit(gateway)
    assert not result.ok
    assert len(gateway.posts) == 3
    assert result.failure.code == "input_error"
    assert "oversized inputs" in result.failure.message
    assert "1.5 MB" in result.failure.message
    assert not any(a.billed for a in result.attempts)


def test_invalid_image_file_is_rejected_not_retried():
    body = {
        "error": {
            "message": "Invalid image file or mode for image 2, please check your image file.",
            "type": "shell_api_error",
            "code": "invalid_image_file",
        }
    }
    gateway = Gateway(error(400, body))
    result = edit(gateway)
    assert len(gateway.posts) == 1
    assert result.failure.code == "invalid_input"
    assert "image 2" in result.failure.message
    assert result.final_attempt.outcome == t.Outcome.REJECTED and not result.final_attempt.billed


def test_content_policy_500_on_an_edit_is_still_content_policy():
    body = {
        "error": {
            "message": "Image was not generated as expected. Please adjust the prompt",
            "localized_message": "Unknown error",
            "type": "invalid_request_error",
        }
    }
    result = edit(Gateway(error(500, body)))
    assert result.failure.code == "content_policy"


# -- chat ----------------------------------------------------------------------------

DATA_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
MESSAGES = [
    {"role": "user", "content": "a red mug"},
    {"role": "assistant", "content": "Here is the image."},
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "now make the background blue"},
            {"type": "image_url", "image_url": {"url": DATA_URL}},
        ],
    },
]


def chat_answer(content) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        },
    )


def chat(gateway: Gateway, model=catalog.ALL, **options):
    client, _ = make(gateway, **options)
    return client.chat(model=model, messages=MESSAGES)


def test_chat_sends_the_messages_unchanged_without_streaming():
    gateway = Gateway(chat_answer(f"Done! ![image]({DATA_URL})"))
    result = chat(gateway)
    assert str(gateway.posts[0].url) == f"{BASE}/chat/completions"
    body = json.loads(gateway.posts[0].content)
    assert body == {"model": catalog.ALL, "messages": MESSAGES, "stream": False}
    assert result.ok and result.image_bytes == PNG
    assert result.text == "Done!"
    assert result.final_attempt.endpoint == catalog.CHAT
    assert result.final_attempt.billed and result.final_attempt.amount == Decimal("0.03")


@pytest.mark.parametrize(
    "content",
    [
        "![image](https://cdn.gateway.test/a/b.png)",
        "Here you go:\n\n![生成的图片](https://cdn.gateway.test/a/b.png)",
        "https://cdn.gateway.test/a/b.png",
        "Your image: https://cdn.gateway.test/a/b.png?sig=1 enjoy",
        [
            {"type": "text", "text": "Here"},
            {"type": "image_url", "image_url": {"url": "https://cdn.gateway.test/a/b.png"}},
        ],
    ],
    ids=["markdown", "markdown-with-text", "bare-url", "bare-url-query", "content-parts"],
)
def test_chat_finds_a_linked_image_in_every_form(content):
    gateway = Gateway(chat_answer(content))
    gateway.serve("https://cdn.gateway.test/a/b.png", httpx.Response(200, content=PNG))
    gateway.serve("https://cdn.gateway.test/a/b.png?sig=1", httpx.Response(200, content=PNG))
    result = chat(gateway, response_format="url", base_url="https://cdn.gateway.test/v1")
    assert result.ok, result.failure
    assert result.image_bytes == PNG


@pytest.mark.parametrize("content", [f"![image]({DATA_URL})", DATA_URL, f"ok {DATA_URL}"], ids=str)
def test_chat_finds_a_data_url_image(content):
    result = chat(Gateway(chat_answer(content)))
    assert result.ok and result.image_bytes == PNG


def test_chat_vip_images_shaped_answer():
    result = chat(Gateway(image_b64()), model=catalog.VIP)
    assert result.ok and result.image_bytes == PNG


def test_chat_text_only_answer_is_a_billed_soft_refusal_with_the_words():
    words = "Sorry, this request involves a real person and I can't edit it."
    result = chat(Gateway(chat_answer(words)))
    assert not result.ok
    assert result.failure.refused and result.failure.code == "soft_refusal"
    assert result.failure.text == words
    assert words in result.failure.message
    assert result.final_attempt.outcome == t.Outcome.SOFT_REFUSAL
    assert result.final_attempt.billed and result.final_attempt.amount == Decimal("0.03")


def test_chat_needs_a_final_user_message():
    client, _ = make(Gateway())
    with pytest.raises(ValueError):
        client.chat(model=catalog.ALL, messages=[{"role": "assistant", "content": "hi"}])
