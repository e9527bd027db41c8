"""Rough edges found when the studio was tried as a new user would (issue 11, part 4):
a pending image's page updates itself, a 4K fallback says what was stored, the simulated
gateway's costs read "would be billed", a deleted image's ledger row says so."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from imagestudio.studio.models import Status
from tests import factories

pytestmark = pytest.mark.django_db


def detail_poll(client, g, status=""):
    return client.get(reverse("studio:detail_poll", args=[g.pk]), {"status": status})


# --- a pending image's page updates itself ------------------------------------------------------
def test_a_pending_images_page_polls_its_own_live_parts_without_asking_for_a_reload(
    owner_client, owner
):
    g = factories.make_generation(owner, status=Status.RUNNING)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert f'hx-get="{reverse("studio:detail_poll", args=[g.pk])}"' in html
    assert 'hx-include="#detail-status"' in html
    assert 'name="status" value="running"' in html
    assert "Reload the page" not in html
    assert "updates itself" in html


def test_a_finished_images_page_does_not_poll(owner_client, owner):
    g = factories.make_finished(owner)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "detail-poller" not in html
    assert reverse("studio:detail_poll", args=[g.pk]) not in html


def test_the_detail_poll_answers_204_while_the_page_shows_the_current_status(owner_client, owner):
    g = factories.make_generation(owner, status=Status.RUNNING)
    response = detail_poll(owner_client, g, "running")
    assert response.status_code == 204
    assert response.content == b""


def test_the_detail_poll_sends_the_live_parts_when_the_status_moved_on(owner_client, owner):
    g = factories.make_generation(owner, status=Status.RUNNING)
    response = detail_poll(owner_client, g, "queued")
    assert response.status_code == 200
    html = response.content.decode()
    for part in ("detail-image", "detail-badge", "detail-facts", "detail-actions"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', html), part
    assert 'name="status" value="running"' in html


def test_the_detail_poll_brings_the_image_cost_and_download_and_stops_with_286(owner_client, owner):
    g = factories.make_finished(owner, billed=True, cost_usd=Decimal("0.0300"))
    response = detail_poll(owner_client, g, "running")
    assert response.status_code == 286
    html = response.content.decode()
    assert reverse("studio:thumb", args=[g.pk]) in html
    assert f"{reverse('studio:image', args=[g.pk])}?download=1" in html
    assert "$0.03" in html
    assert 'id="detail-badge"' in html and "Succeeded" in html
    assert 'name="status"' not in html


def test_the_detail_poll_of_a_failed_image_says_why_and_stops(owner_client, owner):
    g = factories.make_generation(
        owner, status=Status.FAILED, error_code="timeout", error_params={"tries": 1, "timeout": 300}
    )
    response = detail_poll(owner_client, g, "running")
    assert response.status_code == 286
    assert "did not deliver an image within 300 s" in response.content.decode()


def test_the_detail_poll_hides_someone_elses_image(client, other_user, owner):
    g = factories.make_generation(owner, status=Status.RUNNING)
    client.force_login(other_user)
    assert detail_poll(client, g, "queued").status_code == 404


def test_the_detail_poll_is_get_only(owner_client, owner):
    g = factories.make_generation(owner, status=Status.RUNNING)
    response = owner_client.post(reverse("studio:detail_poll", args=[g.pk]))
    assert response.status_code == 405


def test_the_detail_poll_of_a_deleted_image_is_404(owner_client, owner):
    g = factories.make_finished(owner)
    g.soft_delete()
    assert detail_poll(owner_client, g, "running").status_code == 404


# --- a 4K fallback says what was stored ------------------------------------------------------
def fell_back(owner):
    return factories.make_finished(
        owner, size="3840x2160", fell_back_to_2k=True, width=2048, height=1152
    )


def test_a_tile_that_fell_back_from_4k_says_what_was_stored(owner_client, owner):
    g = fell_back(owner)
    response = owner_client.get(reverse("studio:poll"), {"ids": f"{g.pk}:running"})
    html = response.content.decode()
    assert "<span>2048×1152, 4K failed</span>" in html
    assert "3840×2160" not in html


def test_a_gallery_tile_that_fell_back_from_4k_says_what_was_stored(owner_client, owner):
    g = fell_back(owner)
    html = owner_client.get(reverse("studio:gallery")).content.decode()
    card = re.search(rf'<div class="card" id="card-{g.pk}">.*?</a>', html, re.S)
    assert card
    assert "2048×1152, 4K failed" in card.group(0)
    assert "3840×2160" not in card.group(0)


def test_the_detail_page_of_a_4k_fallback_says_what_was_stored(owner_client, owner):
    g = fell_back(owner)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "<dt>Stored</dt><dd>2048×1152, 4K failed" in html


def test_a_tile_that_did_not_fall_back_shows_the_size_asked_for(owner_client, owner):
    g = factories.make_finished(owner, size="3840x2160", width=3840, height=2160)
    response = owner_client.get(reverse("studio:poll"), {"ids": f"{g.pk}:running"})
    assert "4K failed" not in response.content.decode()


# --- the simulated gateway bills nothing -----------------------------------------------------
def refused(owner):
    return factories.make_generation(
        owner,
        status=Status.REFUSED,
        error_code="soft_refusal",
        error_params={"tries": 1, "billed": ["0.03"], "detail": "No."},
        billed=True,
        cost_usd=Decimal("0.0300"),
        finished_at=timezone.now(),
    )


def test_with_the_simulated_gateway_a_tile_says_would_be_billed(owner_client, owner, settings):
    settings.UPSTREAM_SIMULATED = True
    g = refused(owner)
    html = owner_client.get(reverse("studio:poll"), {"ids": f"{g.pk}:running"}).content.decode()
    assert "Would be billed $0.03." in html
    assert "Billed $0.03" not in html


def test_with_the_simulated_gateway_the_detail_page_says_would_be_billed(
    owner_client, owner, settings
):
    settings.UPSTREAM_SIMULATED = True
    g = refused(owner)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "<dt>Cost</dt><dd>Would be billed $0.03</dd>" in html


def test_with_the_real_gateway_the_detail_page_says_billed(owner_client, owner, settings):
    settings.UPSTREAM_SIMULATED = False
    g = refused(owner)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "<dt>Cost</dt><dd>Billed $0.03</dd>" in html


# --- a deleted image's ledger row -----------------------------------------------------------
def test_a_deleted_images_ledger_row_says_deleted_instead_of_linking(owner_client, owner):
    kept = factories.make_finished(owner)
    gone = factories.make_finished(owner)
    factories.make_attempt(owner, generation=kept)
    factories.make_attempt(owner, generation=gone)
    gone.soft_delete()
    html = owner_client.get(reverse("spend:mine")).content.decode()
    assert f'href="{reverse("studio:detail", args=[kept.pk])}"' in html
    assert f'href="{reverse("studio:detail", args=[gone.pk])}"' not in html
    assert f"{gone.pk} (deleted)" in html


def test_the_ledger_page_costs_no_query_per_row(owner_client, owner):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(reverse("spend:mine")).status_code == 200
        return len(captured)

    g = factories.make_finished(owner)
    factories.make_attempt(owner, generation=g)
    one = queries()
    for _ in range(4):
        g = factories.make_finished(owner)
        factories.make_attempt(owner, generation=g)
        g.soft_delete()
    assert queries() == one


def test_with_the_simulated_gateway_the_detail_pages_calls_say_would_be_billed(
    owner_client, owner, settings
):
    settings.UPSTREAM_SIMULATED = True
    g = refused(owner)
    factories.make_attempt(owner, "soft_refusal", generation=g, request_id="req-sim")
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    row = re.search(r"<tr>(?:(?!</tr>).)*req-sim.*?</tr>", html, re.S)
    assert row and "Would be billed $0.03" in row.group(0)


@pytest.mark.parametrize(
    ("simulated", "words"),
    [(True, "would be billed so far $0.03"), (False, "cost so far $0.03")],
)
def test_the_batch_summary_says_would_be_billed_with_the_simulated_gateway(
    owner_client, owner, settings, simulated, words
):
    settings.UPSTREAM_SIMULATED = simulated
    g = refused(owner)
    html = owner_client.get(f"/batches/{g.batch_id}/").content.decode()
    summary = re.search(r'<div id="batch-summary".*?</p>', html, re.S)
    assert summary and words in summary.group(0)
