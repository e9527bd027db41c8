"""The studio form's route options (quality, background, file format) read as words in
the reader's language, while the value sent stays the OpenAI Images name."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.catalog.labels import OPTION_LABELS

pytestmark = pytest.mark.django_db
RAW = {"low", "medium", "high", "auto", "transparent", "opaque"}


def options(html: str, name: str) -> dict[str, str]:
    select = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))


def sizes(client, language: str) -> str:
    url = reverse("studio:sizes")
    response = client.get(url, {"model": catalog.OFFICIAL}, headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.content.decode()


def estimate_line(client, language: str) -> str:
    """The form's estimate line (redrawn by the feedback check) for the official route."""
    data = {"prompt": "a kite", "model": catalog.OFFICIAL, "count": "1"}
    response = client.post(reverse("studio:check"), data, headers={"Accept-Language": language})
    assert response.status_code == 200
    return response.content.decode().split("data-estimate>", 1)[1].split("</p>", 1)[0]


def test_every_offered_value_has_a_label():
    for model in catalog.MODELS.values():
        for name in catalog.OPTION_FIELDS:
            assert set(getattr(model, name)) <= set(OPTION_LABELS[name]), (model.id, name)


def test_the_choices_read_in_english_and_send_their_names(client, owner):
    client.force_login(owner)
    html = sizes(client, "en")
    assert options(html, "quality") == {
        "low": "Low (cheapest)",
        "medium": "Medium",
        "high": "High (most detail)",
        "auto": "The model decides",
    }
    # "auto" is what the empty choice means: offered once, not twice in the same words.
    assert options(html, "background") == {
        "": "The model decides",
        "transparent": "Transparent",
        "opaque": "Opaque",
    }
    assert "(quality: Medium)" in estimate_line(client, "en")


def test_the_choices_read_in_chinese(client, owner):
    client.force_login(owner)
    html = sizes(client, "zh-hans")
    quality, background = options(html, "quality"), options(html, "background")
    assert quality["low"] == "低（最便宜）" and quality["high"] == "高（细节最多）"
    assert background["transparent"] == "透明" and background["opaque"] == "不透明"
    for label in [*quality.values(), *background.values()]:
        assert not re.search(r"[A-Za-z]", label), label
    line = estimate_line(client, "zh-hans")
    assert "画质：中" in line
    assert not RAW & set(re.findall(r"[a-z]+", line))
