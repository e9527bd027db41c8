"""POST /api/v1/generations with prompts, template + rows, preset and kit; GET
/api/v1/batches/{id}. The studio form's list rules, said in JSON."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from imagestudio import catalog
from imagestudio.studio.models import Batch, Generation
from tests.factories import bearer, make_generation, make_kit, make_token

pytestmark = pytest.mark.django_db
URL = "/api/v1/generations"


class Api:
    def __init__(self, user) -> None:
        _token, raw = make_token(user)
        self.client, self.headers = Client(), bearer(raw)

    def post(self, body: dict):
        return self.client.post(
            URL, json.dumps(body), content_type="application/json", headers=self.headers
        )

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)


@pytest.fixture
def api(owner) -> Api:
    return Api(owner)


def test_prompts_make_one_batch_with_count_images_each(api):
    response = api.post(
        {"model": catalog.ALL, "prompts": ["a red kite", "a blue kite"], "count": 2}
    )

    assert response.status_code == 202
    data = response.json()
    assert len(data["generations"]) == 4
    assert {g["batch"] for g in data["generations"]} == {data["batch"]}
    assert sorted({g["prompt"] for g in data["generations"]}) == ["a blue kite", "a red kite"]


def test_a_template_with_rows_keeps_each_rows_values(api):
    response = api.post(
        {
            "preset": "story",
            "template": "Story for {product}: {slogan}",
            "rows": [
                {"product": "sandals", "slogan": "Step in"},
                {"product": "hat", "slogan": "Shade"},
            ],
        }
    )

    assert response.status_code == 202
    first = response.json()["generations"][0]
    story = catalog.PRESETS_BY_KEY["story"]
    assert first["prompt"] == "Story for sandals: Step in"
    assert first["variables"] == {"product": "sandals", "slogan": "Step in"}
    assert (first["model"], first["size"]) == (story.model, story.size)
    batch = Batch.objects.get()
    assert (batch.template, batch.columns, batch.preset) == (
        "Story for {product}: {slogan}",
        ["product", "slogan"],
        "story",
    )


def test_a_kit_adds_its_style_to_what_is_sent_and_its_pictures(api, owner):
    kit = make_kit(owner, style="brand red", pictures=1)

    response = api.post({"model": catalog.VIP, "prompt": "a poster", "kit": kit.pk})

    g = response.json()["generations"][0]
    assert response.status_code == 202
    assert (g["kit"], g["kind"]) == (kit.pk, "edit")
    assert g["prompt_sent"] == "a poster\nbrand red"
    assert len(g["inputs"]) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": catalog.VIP, "prompts": ["x"] * 201}, "prompts"),
        ({"model": catalog.VIP, "prompts": ["x"] * 21, "count": 10}, "count"),
        ({"model": catalog.VIP, "template": "{a} {b}", "rows": [{"a": "1"}]}, "template"),
        ({"model": catalog.VIP, "template": "{a}", "rows": [{"a": "1"}, {"a": ""}]}, "rows"),
        ({"model": catalog.VIP, "template": "{a", "rows": [{"a": "1"}]}, "template"),
        ({"model": catalog.VIP, "rows": [{"a": "1"}]}, "template"),
        ({"model": catalog.VIP, "prompts": ["ok", ""]}, "prompts"),
        ({"prompt": "x", "preset": "billboard"}, "preset"),
        ({"model": catalog.VIP, "prompt": "x", "prompts": ["y"]}, "prompts"),
    ],
)
def test_bad_lists_are_a_400_naming_the_field(api, body, field):
    response = api.post(body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Generation.objects.exists()


def test_a_missing_value_names_the_row(api):
    response = api.post(
        {"model": catalog.VIP, "template": "{a}", "rows": [{"a": "1"}, {"a": "2"}, {"a": ""}]}
    )

    assert "Row 3" in response.json()["error"]["message"]


def test_a_kit_not_the_callers_is_a_404(api, other_user):
    theirs = make_kit(other_user)

    response = api.post({"model": catalog.VIP, "prompt": "x", "kit": theirs.pk})

    assert response.status_code == 404
    assert not Generation.objects.exists()


def test_get_batch_counts_its_images_and_lists_them(api, owner):
    api.post({"model": catalog.ALL, "prompts": ["a", "b", "c"]})
    batch = Batch.objects.get()
    first, second, _third = batch.generations.order_by("id")
    Generation.objects.filter(pk=first.pk).update(status="succeeded", cost_usd="0.03")
    Generation.objects.filter(pk=second.pk).update(status="refused", cost_usd="0.03")

    data = api.get(f"/api/v1/batches/{batch.pk}").json()

    assert (data["total"], data["done"], data["succeeded"], data["refused"]) == (3, 2, 1, 1)
    assert (data["failed"], data["canceled"], data["cost_usd"]) == (0, 0, "0.06")
    assert [g["prompt"] for g in data["generations"]] == ["a", "b", "c"]


def test_someone_elses_batch_is_a_404(other_user, owner):
    batch = make_generation(owner).batch

    response = Api(other_user).get(f"/api/v1/batches/{batch.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_rows_with_other_columns_than_the_first_are_a_400_naming_rows(api):
    response = api.post(
        {"model": catalog.VIP, "template": "{a}", "rows": [{"a": "1"}, {"a": "2", "b": "3"}]}
    )

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "rows"
    assert not Generation.objects.exists()
