"""The gallery: newest first, filters, search, keyset paging at constant cost."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from imagestudio import catalog
from imagestudio.studio.models import Batch, Generation, Status
from imagestudio.studio.views import GALLERY_PAGE_SIZE
from tests.factories import make_generations

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def shown_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<a class="thumb[^"]*" href="/g/(\d+)/"', html)]


def more_href(html: str) -> str | None:
    match = re.search(r'<a class="more" href="([^"]+)"', html)
    return unescape(match.group(1)) if match else None


def gallery(client, params=None, **extra):
    return client.get(reverse("studio:gallery"), params or {}, **extra)


def test_own_images_newest_first(owner_client, owner, other_user):
    mine = make_generations(owner, 3)
    make_generations(other_user, 2)
    response = gallery(owner_client)
    assert response.status_code == 200
    assert shown_ids(response.content.decode()) == [g.pk for g in reversed(mine)]


def test_deleted_images_are_not_shown(owner_client, owner):
    kept, gone = make_generations(owner, 2)
    gone.soft_delete()
    assert shown_ids(gallery(owner_client).content.decode()) == [kept.pk]


def test_thumbnails_only_and_badges_for_the_unfinished(owner_client, owner):
    ok = make_generations(owner, 1)[0]
    failed = make_generations(owner, 1, status=Status.FAILED, thumbnail="", image="")[0]
    html = gallery(owner_client).content.decode()
    assert f'src="/g/{ok.pk}/thumb"' in html
    assert f' src="/g/{ok.pk}/image"' not in html  # the viewer's data-viewer-src loads it on demand
    failed_tile = re.search(rf'href="/g/{failed.pk}/".*?</a>', html, re.S).group(0)
    assert "badge--failed" in failed_tile
    assert "Failed" in failed_tile
    assert "thumb" not in failed_tile.split('class="thumb__placeholder"')[1]


def test_staff_toggle_shows_everyones(admin_client_, admin_user, owner):
    theirs = make_generations(owner, 2)
    mine = make_generations(admin_user, 1, start=timezone.now())
    html = gallery(admin_client_).content.decode()
    assert shown_ids(html) == [mine[0].pk]
    assert "Everyone&#x27;s images" in html or "Everyone's images" in html
    html = gallery(admin_client_, {"everyone": "on"}).content.decode()
    assert shown_ids(html) == [mine[0].pk, theirs[1].pk, theirs[0].pk]
    assert '<span class="thumb__owner">owner</span>' in html


def test_non_staff_cannot_see_everyones(owner_client, owner, other_user):
    make_generations(other_user, 2)
    html = gallery(owner_client, {"everyone": "on"}).content.decode()
    assert shown_ids(html) == []
    assert 'name="everyone"' not in html


def test_filter_by_model_tier_and_status(owner_client, owner):
    vip4k = make_generations(owner, 1, model=catalog.VIP, size="3840x2160", size_tier="4k")[0]
    vip1k = make_generations(owner, 1, model=catalog.VIP, size="1280x1280", size_tier="1k")[0]
    all2k = make_generations(owner, 1)[0]
    refused = make_generations(owner, 1, status=Status.REFUSED, thumbnail="")[0]
    assert shown_ids(gallery(owner_client, {"model": catalog.VIP}).content.decode()) == [
        vip1k.pk,
        vip4k.pk,
    ]
    assert shown_ids(gallery(owner_client, {"tier": "4k"}).content.decode()) == [vip4k.pk]
    assert shown_ids(gallery(owner_client, {"tier": "2k"}).content.decode()) == [
        refused.pk,
        all2k.pk,
    ]
    assert shown_ids(gallery(owner_client, {"status": "refused"}).content.decode()) == [refused.pk]
    html = gallery(owner_client, {"model": catalog.VIP, "tier": "1k"}).content.decode()
    assert shown_ids(html) == [vip1k.pk]
    # The filters stay selected.
    assert '<option value="1k" selected>' in html


def test_search_in_prompts(owner_client, owner):
    make_generations(owner, 3)
    cat = make_generations(owner, 1, prompt="A Tabby CAT on a windowsill")[0]
    chinese = make_generations(owner, 1, prompt="一只橘猫在窗台上")[0]
    assert shown_ids(gallery(owner_client, {"q": "tabby cat"}).content.decode()) == [cat.pk]
    assert shown_ids(gallery(owner_client, {"q": "橘猫"}).content.decode()) == [chinese.pk]
    html = gallery(owner_client, {"q": "nothing like it"}).content.decode()
    assert shown_ids(html) == []
    assert "No images match these filters." in html


def test_unknown_filter_values_are_ignored(owner_client, owner):
    made = make_generations(owner, 2)
    html = gallery(owner_client, {"model": "x", "tier": "8k", "cursor": "junk"}).content.decode()
    assert shown_ids(html) == [made[1].pk, made[0].pk]


def test_pages_follow_each_other_and_keep_the_filters(owner_client, owner):
    made = make_generations(owner, 30, model=catalog.VIP, size="2048x2048")
    make_generations(owner, 5)  # -all images, filtered out
    newest_first = [g.pk for g in reversed(made)]

    first = gallery(owner_client, {"model": catalog.VIP}).content.decode()
    assert shown_ids(first) == newest_first[:GALLERY_PAGE_SIZE]
    href = more_href(first)
    assert href and "model=gpt-image-2-vip" in href and "cursor=" in href
    assert 'hx-trigger="revealed, click"' in first

    second = owner_client.get(reverse("studio:gallery") + href).content.decode()
    assert shown_ids(second) == newest_first[GALLERY_PAGE_SIZE:]
    assert more_href(second) is None
    assert "← Newest images" in second


def test_images_created_in_the_same_instant_are_neither_lost_nor_repeated(owner_client, owner):
    now = timezone.now()
    batch = Batch.objects.create(user=owner)
    made = Generation.objects.bulk_create(
        Generation(
            user=owner,
            batch=batch,
            model=catalog.ALL,
            prompt="same",
            size_tier="2k",
            created_at=now,
        )
        for _ in range(GALLERY_PAGE_SIZE + 5)
    )
    first = gallery(owner_client).content.decode()
    second = owner_client.get(reverse("studio:gallery") + more_href(first)).content.decode()
    seen = shown_ids(first) + shown_ids(second)
    assert sorted(seen) == sorted(g.pk for g in made)
    assert len(set(seen)) == len(seen)


def test_htmx_next_page_is_a_fragment(owner_client, owner):
    make_generations(owner, 30)
    first = gallery(owner_client).content.decode()
    response = owner_client.get(reverse("studio:gallery") + more_href(first), **HX)
    html = response.content.decode()
    assert "<html" not in html
    assert 'id="results"' not in html
    assert len(shown_ids(html)) == 30 - GALLERY_PAGE_SIZE
    assert "HX-Request" in response["Vary"]


def test_htmx_filtering_returns_the_results_block(owner_client, owner):
    make_generations(owner, 3)
    html = gallery(owner_client, {"q": "number 1"}, **HX).content.decode()
    assert html.lstrip().startswith('<div id="results">')
    assert "<form" not in html
    assert len(shown_ids(html)) == 1


def test_htmx_history_restore_gets_the_whole_page(owner_client, owner):
    html = gallery(owner_client, HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX).content.decode()
    assert "<html" in html


def test_empty_gallery_says_so(owner_client):
    assert "No images yet." in gallery(owner_client).content.decode()


def count_queries(client, params=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert gallery(client, params).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "picture", "model": catalog.ALL, "tier": "2k"}])
def test_queries_do_not_grow_with_rows(owner_client, owner, params):
    make_generations(owner, 30)
    gallery(owner_client)  # warm-up: session and pre-filter caches
    with_30 = count_queries(owner_client, params)
    make_generations(owner, 30, start=timezone.now())
    with_60 = count_queries(owner_client, params)
    # The session's user, the boards the filter offers, the page, its tiles' boards.
    assert with_30 == with_60 == 4


def test_staff_everyone_view_is_constant_too(admin_client_, owner, other_user):
    make_generations(owner, 10)
    gallery(admin_client_)
    few = count_queries(admin_client_, {"everyone": "on"})
    make_generations(other_user, 40)
    assert count_queries(admin_client_, {"everyone": "on"}) == few == 4


def test_gallery_loads_only_what_a_tile_needs(owner_client, owner):
    make_generations(owner, 3, prompt="x" * 5000)
    gallery(owner_client)
    with CaptureQueriesContext(connection) as captured:
        gallery(owner_client)
    sql = next(
        q["sql"] for q in captured.captured_queries if 'FROM "studio_generation"' in q["sql"]
    )
    assert "error_message" not in sql
    assert "sha256" not in sql
    assert "SUBSTR" in sql.upper()
    assert "LIMIT 25" in sql


def test_gallery_is_get_only(owner_client):
    assert owner_client.post(reverse("studio:gallery")).status_code == 405


def test_gallery_needs_login(client):
    response = gallery(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/gallery/"
