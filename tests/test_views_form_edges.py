"""The studio form's rough edges (issue 11, part 4): pictures cleared after a submit, the
prompt counter's limit, upload sizes in the limit's unit, a budget refusal said once and
about the next batch, the "Queued …" notice and the spend line that asks again."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from imagestudio import catalog
from imagestudio.studio import inputs
from imagestudio.studio.inputs import InputRejected
from imagestudio.studio.models import Generation
from tests.factories import make_budget, make_kit, make_staged, make_team

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
ONE = {"prompt": "put image1 on a beach", "model": catalog.ALL, "size": "", "count": "1"}


# --- pictures -----------------------------------------------------------------------------
def test_staged_pictures_are_cleared_after_a_successful_submit(owner_client, owner):
    staged = make_staged(owner)
    response = owner_client.post(reverse("studio:generate"), {**ONE, "input": staged.pk}, **HX)
    assert response.status_code == 200
    assert Generation.objects.get(user=owner).inputs.count() == 1
    html = response.content.decode()
    assert 'name="input"' not in html
    assert "put image1 on a beach</textarea>" in html  # the prompt stays for a variation


def test_staged_pictures_stay_when_the_submit_is_refused(owner_client, owner):
    staged = make_staged(owner)
    make_budget("0", user=owner)
    response = owner_client.post(reverse("studio:generate"), {**ONE, "input": staged.pk}, **HX)
    assert not Generation.objects.exists()
    assert f'name="input" value="{staged.pk}"' in response.content.decode()


def test_staged_pictures_are_numbered_after_the_kits_pictures(owner_client, owner):
    kit = make_kit(owner, pictures=2)
    staged = make_staged(owner)
    url = reverse("studio:home") + f"?kit={kit.pk}&inputs={staged.pk}"
    html = owner_client.get(url).content.decode()
    assert '<span class="input-tile__name" data-input-name>image3</span>' in html
    assert f'value="{kit.pk}" data-model' in html and 'data-pictures="2"' in html


def test_staged_pictures_start_at_image1_without_a_kit(owner_client, owner):
    staged = make_staged(owner)
    html = owner_client.get(reverse("studio:home") + f"?inputs={staged.pk}").content.decode()
    assert '<span class="input-tile__name" data-input-name>image1</span>' in html


def test_upload_size_message_uses_the_limits_unit():
    limit_mb = catalog.INPUT_MAX_BYTES // (1024 * 1024)
    with pytest.raises(InputRejected) as caught:
        inputs._check_bytes(b"\0" * (catalog.INPUT_MAX_BYTES + 1), "big.png")
    message = str(caught.value)
    # Both figures in the gateway's MB (2**20 bytes): one byte over reads 10.1 MB, not 10.5.
    assert f"{limit_mb + 0.1:.1f} MB" in message and f"at most {limit_mb} MB" in message


def test_pictures_panel_states_the_limit_in_the_gateways_mb(owner_client):
    html = owner_client.get(reverse("studio:home")).content.decode()
    limit_mb = catalog.INPUT_MAX_BYTES // (1024 * 1024)
    assert f"PNG, JPEG or WebP, under {limit_mb} MB" in html
    assert "Drop or paste pictures here," in html


# --- the prompt counter ---------------------------------------------------------------------
def test_form_carries_the_prompt_limit_for_the_counter(owner_client):
    html = owner_client.get(reverse("studio:home")).content.decode()
    assert f'data-prompt-counter data-limit="{catalog.PROMPT_MAX_CHARS}"' in html


# --- budgets ------------------------------------------------------------------------------
def test_budget_refusal_is_said_once(owner_client, owner):
    make_budget("0.05", user=owner)
    data = {**ONE, "prompt": "a red kite", "count": "3"}
    html = owner_client.post(reverse("studio:generate"), data, **HX).content.decode()
    assert not Generation.objects.exists()
    assert html.count("would go over") == 1
    assert html.count("data-budget-refusal") == 1
    assert "Not sent — Your monthly budget is $0.05" in html


def test_budget_refusal_is_said_once_without_htmx(owner_client, owner):
    make_budget("0.05", user=owner)
    data = {**ONE, "prompt": "a red kite", "count": "3"}
    html = owner_client.post(reverse("studio:generate"), data).content.decode()
    assert html.count("would go over") == 1


def test_over_budget_hint_is_about_the_next_batch(owner_client, owner):
    make_budget("0.05", user=owner)
    data = {"prompt": "x", "model": catalog.ALL, "count": "3"}
    html = owner_client.post(reverse("studio:check"), data).content.decode()
    assert "Over budget for the next batch (nothing has been sent)" in html
    # Only advice that applies: one of the three would fit; whom to ask for more.
    assert "1 image would fit." in html
    assert "An admin can raise the budget" in html
    assert "cheaper model" not in html
    assert "data-budget-refusal" in html and "data-overridable" not in html


def test_over_budget_hint_offers_staff_the_override(admin_client_):
    make_budget("0")
    data = {"prompt": "x", "model": catalog.ALL, "count": "1"}
    html = admin_client_.post(reverse("studio:check"), data).content.decode()
    assert "data-overridable" in html and "Override budgets" in html


def test_a_list_preview_says_the_budget_once(owner_client, owner):
    make_budget("0.05", user=owner)
    data = {
        "mode": "list",
        "items": "a kite\na boat\na cat",
        "model": catalog.ALL,
        "size": "",
        "count": "1",
        "action": "preview",
    }
    html = owner_client.post(reverse("studio:generate"), data, **HX).content.decode()
    assert html.count("data-budget-refusal") == 1


# --- after a submit -------------------------------------------------------------------------
def test_queued_notice_names_its_images(owner_client, owner):
    response = owner_client.post(reverse("studio:generate"), {**ONE, "count": "2"}, **HX)
    ids = sorted(Generation.objects.values_list("pk", flat=True))
    notice = re.search(r'data-queued-notice="([^"]*)"', response.content.decode())
    assert notice is not None
    assert sorted(int(pk) for pk in notice.group(1).split(",")) == ids


def test_spend_line_asks_again_when_images_finish(owner_client):
    html = owner_client.get(reverse("studio:home")).content.decode()
    line = re.search(r'<div class="budget-line" id="budget-line"[^>]*>', html)
    assert line is not None
    assert 'hx-trigger="studio:images-finished from:body"' in line.group(0)
    assert f'hx-get="{reverse("studio:home")}"' in line.group(0)
    feedback = re.search(r'<div id="feedback"[^>]*>', html)
    assert feedback is not None and "studio:images-finished from:body" in feedback.group(0)


def test_spend_line_alone_for_its_htmx_request(owner_client, owner):
    from tests.test_spend_budgets import billed

    billed(owner, "0.30")
    response = owner_client.get(reverse("studio:home"), **HX, HTTP_HX_TARGET="budget-line")
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="budget-line" id="budget-line"')
    assert "Your spend this month: <strong>$0.30</strong>" in html
    assert "<form" not in html and 'id="tiles"' not in html


def test_spend_line_for_the_team_sent_along(owner_client, owner):
    design, other = make_team("Design", owner), make_team("Other", owner)
    make_budget("5", team=design)
    make_budget("7", team=other)
    url = reverse("studio:home") + f"?team={other.pk}"
    html = owner_client.get(url, **HX, HTTP_HX_TARGET="budget-line").content.decode()
    assert "Team Other: $7.00 left of $7.00" in html


def test_spend_line_refuses_post(owner_client):
    assert owner_client.post(reverse("studio:home"), **HX).status_code == 405


def test_spend_line_needs_a_login(client):
    response = client.get(reverse("studio:home"), **HX, HTTP_HX_TARGET="budget-line")
    # htmx is sent to the login page with HX-Redirect; no spend figures either way.
    assert "budget-line" not in response.content.decode()
    assert "/accounts/login/" in (response.get("HX-Redirect") or response.get("Location", ""))
