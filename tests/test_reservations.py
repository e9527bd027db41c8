"""A budget holds back, per image, the top of its estimate with its reference pictures
counted, stored on the row at submit: an official-route (token-billed) edit of sixteen
pictures reserves more than a prompt alone, through every path that submits (an edit, a
list with a kit's pictures, a retry, a turn), and settles to its bill when it ends."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.spend import budgets, money
from imagestudio.spend.budgets import BudgetExceeded
from imagestudio.studio import services
from imagestudio.studio.models import Generation, GenerationInput, Status
from tests.factories import make_attempt, make_budget, make_finished, picture_bytes

pytestmark = pytest.mark.django_db
OFFICIAL = "gpt-image-2"
SIZE = "1024x1024"


@pytest.fixture(autouse=True)
def _no_broker():
    with mock.patch("imagestudio.studio.services.enqueue"):
        yield


def request(model=OFFICIAL, size=SIZE, quality="high", prompt="the bottle from image1"):
    return services.validate(model=model, prompt=prompt, size=size, count=1, quality=quality)


def uploads(n: int) -> list[services.Upload]:
    return [
        services.Upload(picture_bytes(size=(16, 12), color=(i * 15, 0, 0)), f"ref{i}.jpg")
        for i in range(1, n + 1)
    ]


def top(pictures: int, quality: str = "high") -> Decimal:
    return catalog.reserve_per_image(OFFICIAL, SIZE, quality, pictures)


def test_sixteen_pictures_on_the_official_route_reserve_more_than_a_prompt_alone(owner):
    _, (alone,) = services.submit(owner, request())
    _, (edit,) = services.edit(owner, request(), uploads(16))
    alone.refresh_from_db()
    edit.refresh_from_db()
    assert alone.reserved_usd == top(0)
    assert edit.reserved_usd == top(16) > top(0)
    assert edit.input_count() == 16
    state = budgets.standing(make_budget("100", user=owner))
    assert state.reserved == top(0) + top(16)


def test_a_painted_mask_is_not_reserved_as_a_picture(owner):
    mask = picture_bytes(fmt="PNG", size=(16, 12), color=(0, 0, 0, 0), mode="RGBA")
    _, (edit,) = services.edit(owner, request(), uploads(2), mask=mask)
    assert edit.inputs.filter(position=GenerationInput.MASK_POSITION).exists()
    assert Generation.objects.get(pk=edit.pk).reserved_usd == top(2)


def test_the_budget_refuses_when_the_top_of_the_range_with_pictures_passes_the_cap(owner):
    # Room for a prompt alone, not for the same image with sixteen pictures.
    cap = (top(0) + top(16)) / 2
    make_budget(cap, user=owner)
    with pytest.raises(BudgetExceeded) as exc:
        services.edit(owner, request(), uploads(16))
    assert exc.value.details["cost"] == top(16)
    assert not Generation.objects.exists()
    _, (alone,) = services.submit(owner, request())
    assert Generation.objects.get(pk=alone.pk).reserved_usd == top(0)


def test_the_live_form_check_counts_pictures_too(owner):
    make_budget((top(0) + top(16)) / 2, user=owner)
    assert budgets.check(user=owner, team=None, model=OFFICIAL, count=1, size=SIZE) is None
    refusal = budgets.check(
        user=owner, team=None, model=OFFICIAL, count=1, size=SIZE, quality="high", inputs=16
    )
    assert refusal is not None and refusal.details["cost"] == top(16)


def test_a_retried_edit_reserves_its_pictures_again(owner):
    _, (edit,) = services.edit(owner, request(), uploads(16))
    Generation.objects.filter(pk=edit.pk).update(status=Status.FAILED)
    _, (again,) = services.retry(Generation.objects.get(pk=edit.pk), owner)
    assert Generation.objects.get(pk=again.pk).reserved_usd == top(16)


def test_a_list_with_a_kits_pictures_reserves_them_on_every_row(owner):
    staged = [services.stage(owner, picture_bytes(color=(i, 9, 9)), f"k{i}.jpg") for i in (1, 2)]
    inputs = [GenerationInput(position=n, **s.picture()) for n, s in enumerate(staged, 1)]
    requests = [request(prompt="a label"), request(prompt="a box")]
    _, rows = services.submit_batch(owner, requests, inputs=inputs)
    assert [Generation.objects.get(pk=g.pk).reserved_usd for g in rows] == [top(2)] * 2


def test_a_conversation_turn_reserves_its_one_picture(owner):
    parent = make_finished(owner, model=catalog.VIP, size=catalog.DEFAULT_VIP_SIZE)
    _, (turn,) = services.iterate(owner, parent, "make it blue")
    held = Generation.objects.get(pk=turn.pk).reserved_usd
    assert held == budgets.per_image(
        catalog.VIP, catalog.DEFAULT_VIP_SIZE, inputs=1, endpoint=catalog.CHAT
    )


def test_a_queued_rows_reservation_is_what_was_held_at_submit_then_its_bill(owner):
    budget = make_budget("100", user=owner)
    _, (edit,) = services.edit(owner, request(), uploads(16))
    # The stored figure counts, not an estimate made again now.
    Generation.objects.filter(pk=edit.pk).update(reserved_usd=Decimal("0.777777"))
    assert budgets.standing(budget).reserved == Decimal("0.777777")
    make_attempt(owner, "image", model=OFFICIAL, amount="0.123456", generation=edit)
    Generation.objects.filter(pk=edit.pk).update(status=Status.SUCCEEDED)
    state = budgets.standing(budget)
    assert (state.reserved, state.used) == (Decimal("0"), Decimal("0.123456"))


def test_a_row_queued_before_reservations_were_stored_is_estimated_from_its_request(owner):
    budget = make_budget("100", user=owner)
    _, (alone,) = services.submit(owner, request())
    Generation.objects.filter(pk=alone.pk).update(reserved_usd=None)
    assert budgets.standing(budget).reserved == top(0)


def test_the_forms_cost_line_and_budget_hint_count_its_pictures_size_and_quality(client, owner):
    client.force_login(owner)
    make_budget((top(0) + top(16)) / 2, user=owner)
    form = {"prompt": "a bottle", "model": OFFICIAL, "count": "1", "size": SIZE}
    alone = client.post(reverse("studio:check"), {**form, "quality": "high"}).content.decode()
    assert money.usd(top(0)) in alone and "data-budget-refusal" not in alone
    staged = [str(n) for n in range(1, 17)]
    many = client.post(
        reverse("studio:check"), {**form, "quality": "high", "input": staged}
    ).content.decode()
    assert money.usd(top(16)) in many and "data-budget-refusal" in many
    low = client.post(reverse("studio:check"), {**form, "quality": "low"}).content.decode()
    assert money.usd(top(0, "low")) in low
