"""The studio form: its messages come from services.validate, field by field."""

from __future__ import annotations

import pytest

from imagestudio import catalog
from imagestudio.prefilter.models import Category, Term
from imagestudio.studio.forms import GalleryFilterForm, GenerateForm

pytestmark = pytest.mark.django_db

VALID = {
    "prompt": "A lighthouse at dusk, oil painting",
    "model": catalog.VIP,
    "size": "3840x2160",
    "count": "3",
    "fallback_2k": "on",
}


def form_with(**changes) -> GenerateForm:
    data = {**VALID, **changes}
    return GenerateForm({k: v for k, v in data.items() if v is not None})


def test_valid_form_carries_the_validated_request():
    form = form_with()
    assert form.is_valid(), form.errors
    request = form.validated
    assert (request.model, request.size, request.count, request.fallback_2k) == (
        catalog.VIP,
        "3840x2160",
        3,
        True,
    )
    assert request.prompt == VALID["prompt"]


def test_unchecked_fallback_is_false():
    form = form_with(fallback_2k=None)
    assert form.is_valid(), form.errors
    assert form.validated.fallback_2k is False


@pytest.mark.parametrize("prompt", ["", "   \n  "])
def test_empty_prompt_is_reported_on_the_prompt_field(prompt):
    form = form_with(prompt=prompt)
    assert not form.is_valid()
    assert form.errors["prompt"] == ["Write a prompt: describe the image you want."]
    assert set(form.errors) == {"prompt"}


def test_prompt_over_the_limit_says_how_long_it_is():
    form = form_with(prompt="x" * (catalog.PROMPT_MAX_CHARS + 1))
    assert not form.is_valid()
    (message,) = form.errors["prompt"]
    assert "32,001 characters" in message
    assert "32,000" in message


def test_prompt_at_the_limit_is_fine():
    assert form_with(prompt="x" * catalog.PROMPT_MAX_CHARS).is_valid()


@pytest.mark.parametrize(
    ("model", "size", "expected"),
    [
        (catalog.VIP, "1024x1024", "not one of the 30 sizes"),
        (catalog.VIP, "3840X2160", "not one of the 30 sizes"),
        (catalog.ALL, "1024x1024", "not one of the 8 verified phrasings"),
    ],
)
def test_size_outside_the_catalog(model, size, expected):
    form = form_with(model=model, size=size)
    assert not form.is_valid()
    assert expected in form.errors["size"][0]
    assert set(form.errors) == {"size"}


def test_all_model_accepts_model_decides_and_every_phrasing():
    assert form_with(model=catalog.ALL, size="").is_valid()
    for phrasing in catalog.ALL_PHRASINGS:
        assert form_with(model=catalog.ALL, size=phrasing.value).is_valid()


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        ("0", "Ask for 1 to 10 images at once (got 0)."),
        ("11", "Ask for 1 to 10 images at once (got 11)."),
        ("abc", "whole number from 1 to 10"),
        ("", "whole number from 1 to 10"),
    ],
)
def test_count_outside_one_to_ten(count, expected):
    form = form_with(count=count)
    assert not form.is_valid()
    assert expected in form.errors["count"][0]


def test_unknown_model_is_reported_on_the_model_field():
    form = form_with(model="dall-e-9")
    assert not form.is_valid()
    assert "Unknown model" in form.errors["model"][0]


def test_several_errors_land_on_their_own_fields():
    form = form_with(prompt="", size="huge", count="0")
    assert not form.is_valid()
    assert set(form.errors) == {"prompt", "size", "count"}


def test_warned_terms_pass_with_warnings():
    form = form_with(prompt="Pikachu surfing a wave")
    assert form.is_valid(), form.errors
    (match,) = form.validated.warnings
    assert "Pikachu" in match.terms


def test_blocked_category_is_a_prompt_error():
    category = Category.objects.create(
        key="blocked-test", name="Blocked test", action=Category.Action.BLOCK
    )
    Term.objects.create(category=category, term="zorblax")
    form = form_with(prompt="a zorblax on a hill")
    assert not form.is_valid()
    assert "zorblax" in form.errors["prompt"][0]
    assert "blocked" in form.errors["prompt"][0]


def test_gallery_filter_form_drops_unknown_values():
    form = GalleryFilterForm({"model": "nope", "tier": "4k", "status": "weird", "q": "cat"})
    filters = form.filters()
    assert filters == {
        "q": "cat",
        "model": "",
        "tier": "4k",
        "status": "",
        "everyone": False,
        "stack": False,
    }


def test_gallery_filter_form_unbound_values_are_empty():
    assert GalleryFilterForm({}).filters() == {
        "q": "",
        "model": "",
        "tier": "",
        "status": "",
        "everyone": False,
        "stack": False,
    }
