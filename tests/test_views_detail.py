"""One image: its page, its files, deleting it."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from functools import partial
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from imagestudio import catalog
from imagestudio.spend.models import Attempt
from imagestudio.studio import imaging
from imagestudio.studio.models import Generation, Kind, Status
from tests import factories

pytestmark = pytest.mark.django_db


png = partial(factories.picture_bytes, "PNG", (96, 54), (200, 40, 40))


make_generation = partial(
    factories.make_generation, size="3840x2160", prompt="Harbour at dawn, 35mm film"
)


@pytest.fixture
def finished(owner) -> Generation:
    stored = imaging.store(png())
    g = make_generation(
        owner,
        status=Status.SUCCEEDED,
        finished_at=timezone.now(),
        fell_back_to_2k=True,
        attempts=2,
        billed=True,
        cost_usd=Decimal("0.0600"),
        **stored,
    )
    for number, (size, status, outcome, request_id) in enumerate(
        [
            ("3840x2160", 504, "timeout", "req-4k-aaa"),
            ("2048x1152", 200, "image", "req-2k-bbb"),
        ],
        start=1,
    ):
        factories.make_attempt(
            owner,
            outcome,
            generation=g,
            number=number,
            tier="",
            size_sent=size,
            http_status=status,
            request_id=request_id,
        )
    return g


# --- the page ------------------------------------------------------------------------------------
def test_detail_shows_everything_about_the_image(owner_client, finished):
    response = owner_client.get(reverse("studio:detail", args=[finished.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Harbour at dawn, 35mm film</pre>" in html
    assert 'data-copy="#prompt-text"' in html
    assert catalog.VIP in html
    assert "16:9 Wide · 3840×2160" in html
    assert "96×54" in html
    assert "generated at 2K instead" in html
    assert "<dt>Attempts</dt><dd>2</dd>" in html
    assert "$0.06" in html
    assert "req-4k-aaa" in html and "req-2k-bbb" in html
    assert f'src="/g/{finished.pk}/thumb"' in html
    assert f'href="/g/{finished.pk}/image?download=1"' in html
    assert f'href="/g/{finished.pk}/delete"' in html


def test_generate_again_prefills_the_studio(owner_client, finished):
    html = owner_client.get(reverse("studio:detail", args=[finished.pk])).content.decode()
    href = unescape(re.search(r'href="([^"]+)">Generate again</a>', html).group(1))
    query = parse_qs(urlsplit(href).query)
    assert query == {
        "prompt": ["Harbour at dawn, 35mm film"],
        "model": [catalog.VIP],
        "size": ["3840x2160"],
    }
    studio = owner_client.get(href).content.decode()
    assert "Harbour at dawn, 35mm film</textarea>" in studio
    assert '<option value="3840x2160" selected data-4k>' in studio


def test_generate_again_with_a_long_prompt_uses_the_id(owner_client, owner):
    g = make_generation(owner, prompt="lighthouse " * 1000, status=Status.FAILED)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert f'href="/?again={g.pk}"' in html


def test_detail_of_a_failed_image_offers_retry(owner_client, owner):
    g = make_generation(
        owner, status=Status.FAILED, error_code="timeout", error_params={"tries": 1, "timeout": 300}
    )
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "did not deliver an image within 300 s (1 try)" in html
    assert "Nothing was billed." in html
    assert f'action="/g/{g.pk}/retry"' in html
    assert "Not billed" in html
    assert "?download=1" not in html


def test_detail_of_a_pending_image_polls(owner_client, owner):
    g = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert "<progress" in html
    assert 'hx-trigger="every 2s"' in html
    assert f'name="ids" value="{g.pk}:{g.status}"' in html


def test_detail_of_someone_elses_is_404(owner_client, other_user):
    g = make_generation(other_user)
    assert owner_client.get(reverse("studio:detail", args=[g.pk])).status_code == 404


def test_staff_see_anyones_detail(admin_client_, owner):
    g = make_generation(owner)
    response = admin_client_.get(reverse("studio:detail", args=[g.pk]))
    assert response.status_code == 200
    assert "<dt>Owner</dt><dd>owner</dd>" in response.content.decode()


def test_deleted_is_404_even_for_staff(admin_client_, owner):
    g = make_generation(owner)
    g.soft_delete()
    assert admin_client_.get(reverse("studio:detail", args=[g.pk])).status_code == 404


def test_detail_is_get_only(owner_client, owner):
    g = make_generation(owner)
    assert owner_client.post(reverse("studio:detail", args=[g.pk])).status_code == 405


def test_detail_needs_login(client, owner):
    g = make_generation(owner)
    response = client.get(reverse("studio:detail", args=[g.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/g/{g.pk}/"


def test_missing_generation_is_404(owner_client):
    assert owner_client.get(reverse("studio:detail", args=[999999])).status_code == 404


# --- the page's live parts when the image finishes ----------------------------------------------
def test_the_final_detail_poll_brings_the_continue_editing_form(owner_client, owner):
    g = factories.make_finished(owner)
    response = owner_client.get(reverse("studio:detail_poll", args=[g.pk]), {"status": "running"})
    assert response.status_code == 286
    html = response.content.decode()
    assert re.search(r'id="detail-editing"[^>]*hx-swap-oob="true"', html)
    assert f'action="{reverse("studio:iterate", args=[g.pk])}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "Continue editing" in html


def test_the_final_detail_poll_brings_the_version_list_with_the_finished_version(
    owner_client, owner
):
    root = factories.make_finished(owner, prompt="a lighthouse")
    turn = factories.make_finished(
        owner, prompt="make it blue", parent=root, thread=root, kind=Kind.CHAT
    )
    response = owner_client.get(
        reverse("studio:detail_poll", args=[turn.pk]), {"status": "running"}
    )
    html = response.content.decode()
    versions = html[html.index('class="versions"') :]
    assert f'href="{reverse("studio:detail", args=[root.pk])}"' in versions
    assert f"#{turn.pk} make it blue" in versions
    assert reverse("studio:thumb", args=[turn.pk]) in versions


def test_a_pending_images_page_keeps_an_empty_place_for_the_continue_editing_form(
    owner_client, owner
):
    g = factories.make_generation(owner, status=Status.RUNNING)
    html = owner_client.get(reverse("studio:detail", args=[g.pk])).content.decode()
    assert re.search(r'<div id="detail-editing">\s*</div>', html)
    assert 'id="iterate"' not in html


def test_a_pending_poll_answer_has_no_continue_editing_form_yet(owner_client, owner):
    g = factories.make_generation(owner, status=Status.RUNNING)
    response = owner_client.get(reverse("studio:detail_poll", args=[g.pk]), {"status": "queued"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="detail-editing"' in html
    assert 'id="iterate"' not in html


# --- files -----------------------------------------------------------------------------
def test_image_is_served_inline(owner_client, finished):
    response = owner_client.get(reverse("studio:image", args=[finished.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    # A labelled copy (tests/test_labelling.py); ?original=1 is the stored file itself.
    assert b"".join(response.streaming_content) != png()
    assert response["Content-Disposition"].startswith("inline")
    assert "private" in response["Cache-Control"]
    original = owner_client.get(reverse("studio:image", args=[finished.pk]), {"original": "1"})
    assert b"".join(original.streaming_content) == png()


def test_image_download_has_a_sensible_filename(owner_client, finished):
    response = owner_client.get(reverse("studio:image", args=[finished.pk]), {"download": "1"})
    assert response["Content-Disposition"] == (
        f'attachment; filename="imagestudio-{finished.pk}-harbour-at-dawn-35mm-film.png"'
    )


def test_download_of_a_chinese_prompt_keeps_its_words(owner_client, owner):
    g = make_generation(owner, prompt="海边的灯塔", status=Status.SUCCEEDED, **imaging.store(png()))
    response = owner_client.get(reverse("studio:image", args=[g.pk]), {"download": "1"})
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert "%E6%B5%B7" in response["Content-Disposition"]


def test_thumbnail_is_webp(owner_client, finished):
    response = owner_client.get(reverse("studio:thumb", args=[finished.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    data = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(data)).format == "WEBP"


def test_files_of_someone_else_are_404(owner_client, other_user):
    g = make_generation(other_user, status=Status.SUCCEEDED, **imaging.store(png()))
    assert owner_client.get(reverse("studio:image", args=[g.pk])).status_code == 404
    assert owner_client.get(reverse("studio:thumb", args=[g.pk])).status_code == 404


def test_staff_get_anyones_files(admin_client_, finished):
    assert admin_client_.get(reverse("studio:image", args=[finished.pk])).status_code == 200


def test_no_file_yet_is_404(owner_client, owner):
    g = make_generation(owner, status=Status.RUNNING)
    assert owner_client.get(reverse("studio:image", args=[g.pk])).status_code == 404
    assert owner_client.get(reverse("studio:thumb", args=[g.pk])).status_code == 404


def test_file_missing_from_storage_is_404(owner_client, finished):
    default_storage.delete(finished.image.name)
    assert owner_client.get(reverse("studio:image", args=[finished.pk])).status_code == 404


def test_files_are_get_only(owner_client, finished):
    assert owner_client.post(reverse("studio:image", args=[finished.pk])).status_code == 405
    assert owner_client.post(reverse("studio:thumb", args=[finished.pk])).status_code == 405


def test_files_need_login(client, finished):
    assert client.get(reverse("studio:image", args=[finished.pk])).status_code == 302
    assert client.get(reverse("studio:thumb", args=[finished.pk])).status_code == 302


def test_with_a_bucket_the_browser_is_sent_to_storage(owner_client, finished, settings):
    settings.S3_BUCKET = "images"
    response = owner_client.get(reverse("studio:thumb", args=[finished.pk]))
    assert response.status_code == 302
    assert response["Location"] == default_storage.url(finished.thumbnail.name)
    response = owner_client.get(
        reverse("studio:image", args=[finished.pk]), {"download": "1", "original": "1"}
    )
    assert response.status_code == 302
    assert response["Location"] == default_storage.url(finished.image.name)


# --- delete ----------------------------------------------------------------------------
def test_delete_asks_first(owner_client, finished):
    response = owner_client.get(reverse("studio:delete", args=[finished.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "cannot be undone" in html
    assert f'action="/g/{finished.pk}/delete"' in html
    finished.refresh_from_db()
    assert finished.deleted_at is None


def test_delete_removes_files_and_hides_the_image(owner_client, finished):
    names = [finished.image.name, finished.thumbnail.name]
    assert all(default_storage.exists(n) for n in names)
    response = owner_client.post(reverse("studio:delete", args=[finished.pk]), follow=True)
    assert response.redirect_chain == [(reverse("studio:gallery"), 302)]
    assert "Deleted." in response.content.decode()
    assert not any(default_storage.exists(n) for n in names)
    finished.refresh_from_db()
    assert finished.deleted_at is not None
    # The ledger keeps the attempts.
    assert Attempt.objects.filter(generation=finished).count() == 2
    assert owner_client.get(reverse("studio:detail", args=[finished.pk])).status_code == 404
    assert owner_client.get(reverse("studio:image", args=[finished.pk])).status_code == 404


def test_delete_a_queued_image_cancels_it(owner_client, owner):
    g = make_generation(owner, status=Status.QUEUED)
    owner_client.post(reverse("studio:delete", args=[g.pk]))
    g.refresh_from_db()
    assert g.status == Status.CANCELED


def test_delete_someone_elses_is_404(owner_client, other_user):
    g = make_generation(other_user, status=Status.SUCCEEDED, **imaging.store(png()))
    assert owner_client.get(reverse("studio:delete", args=[g.pk])).status_code == 404
    assert owner_client.post(reverse("studio:delete", args=[g.pk])).status_code == 404
    g.refresh_from_db()
    assert g.deleted_at is None
    assert default_storage.exists(g.image.name)


def test_delete_rejects_other_methods(owner_client, finished):
    assert owner_client.put(reverse("studio:delete", args=[finished.pk])).status_code == 405
    assert owner_client.delete(reverse("studio:delete", args=[finished.pk])).status_code == 405


def test_delete_needs_login(client, finished):
    assert client.post(reverse("studio:delete", args=[finished.pk])).status_code == 302
    finished.refresh_from_db()
    assert finished.deleted_at is None
