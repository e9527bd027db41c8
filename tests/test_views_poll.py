"""Progress: the one poll per page, the tiles it refreshes, cancel and retry."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from functools import partial

import pytest
from django.urls import reverse
from django.utils import timezone

from imagestudio import catalog
from imagestudio.studio.models import Generation, Status
from tests import factories

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


make_generation = partial(
    factories.make_generation, model=catalog.VIP, prompt="a red kite over green hills"
)


def poll(client, *ids, **extra):
    return client.get(reverse("studio:poll"), {"ids": ",".join(str(i) for i in ids)}, **extra)


def tile(html: str, pk: int) -> str:
    match = re.search(rf'<article[^>]*id="tile-{pk}".*?</article>', html, re.S)
    assert match, f"tile {pk} missing"
    return match.group(0)


# --- the poll --------------------------------------------------------------------------------
def test_poll_refreshes_pending_tiles_out_of_band(owner_client, owner):
    started = timezone.now() - timedelta(seconds=45)
    running = make_generation(owner, status=Status.RUNNING, started_at=started)
    queued = make_generation(owner, model=catalog.ALL, size="", status=Status.QUEUED)
    response = poll(owner_client, running.pk, queued.pk, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    running_tile = tile(html, running.pk)
    assert 'hx-swap-oob="true"' in running_tile
    assert '<progress value="45" max="150"' in running_tile
    assert "Generating · <span data-elapsed-text>45 s</span>" in running_tile
    assert "usually 90–150 s" in running_tile
    assert "Cancel" not in running_tile
    queued_tile = tile(html, queued.pk)
    assert 'max="60"' in queued_tile
    assert "Waiting for a worker" in queued_tile
    assert f'action="/g/{queued.pk}/cancel"' in queued_tile
    assert f'name="ids" value="{queued.pk}:queued" data-poll-id' in queued_tile


def test_poll_accepts_repeated_ids_as_htmx_sends_them(owner_client, owner):
    a = make_generation(owner, status=Status.RUNNING)
    b = make_generation(owner, status=Status.QUEUED)
    response = owner_client.get(f"{reverse('studio:poll')}?ids={a.pk}&ids={b.pk}", **HX)
    html = response.content.decode()
    assert f'id="tile-{a.pk}"' in html
    assert f'id="tile-{b.pk}"' in html


def test_a_pending_tiles_seconds_are_worded_in_the_readers_language(owner_client, owner):
    started = timezone.now() - timedelta(seconds=45)
    g = make_generation(owner, status=Status.RUNNING, started_at=started)
    response = poll(owner_client, g.pk, headers={"Accept-Language": "zh-hans"}, **HX)
    running_tile = tile(response.content.decode(), g.pk)
    assert "<span data-elapsed-text>45 秒</span>" in running_tile
    assert "45 s<" not in running_tile


def test_slow_job_says_it_is_taking_longer(owner_client, owner):
    g = make_generation(
        owner, status=Status.RUNNING, started_at=timezone.now() - timedelta(seconds=200)
    )
    html = poll(owner_client, g.pk).content.decode()
    assert '<p class="muted" data-overdue>Taking longer than usual' in html


def test_on_time_job_hides_the_taking_longer_note(owner_client, owner):
    g = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    html = poll(owner_client, g.pk).content.decode()
    assert "data-overdue hidden>Taking longer" in html


def test_poll_renders_only_tiles_whose_status_changed(owner_client, owner):
    still = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    started = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    response = owner_client.get(f"/poll?ids={still.pk}:running&ids={started.pk}:queued", **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="tile-{started.pk}"' in html
    assert f'id="tile-{still.pk}"' not in html


def test_poll_with_nothing_changed_draws_no_tile_and_hands_the_poller_its_token(
    owner_client, owner
):
    g = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    response = owner_client.get(f"/poll?ids={g.pk}:running", **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "tile-" not in html
    poller = re.search(
        r'<div id="poller"[^>]*hx-get="/poll\?v=([^"]+)"[^>]*hx-swap-oob="true"', html
    )
    assert poller, html
    # With the token, the same poll is the middleware's empty 204 (tests/test_poll_fast.py).
    again = owner_client.get(f"/poll?v={poller.group(1)}&ids={g.pk}:running", **HX)
    assert again.status_code == 204
    assert again.content == b""


def test_poll_of_a_tile_that_finished_since_is_rendered_and_stops(owner_client, owner):
    g = make_generation(owner, status=Status.FAILED, error_code="content_policy")
    response = owner_client.get(f"/poll?ids={g.pk}:running", **HX)
    assert response.status_code == 286
    assert "content policy blocked this prompt" in response.content.decode()


def test_poll_stops_with_286_once_nothing_is_pending(owner_client, owner, tmp_path):
    done = make_generation(
        owner,
        status=Status.SUCCEEDED,
        thumbnail="thumbs/x.webp",
        image="images/x.png",
        finished_at=timezone.now(),
    )
    failed = make_generation(
        owner,
        status=Status.FAILED,
        error_code="saturated",
        error_params={"tries": 3, "http_status": 429},
        finished_at=timezone.now(),
    )
    response = poll(owner_client, done.pk, failed.pk, **HX)
    assert response.status_code == 286
    html = response.content.decode()
    # The last tiles still come with the 286: htmx swaps them and then stops.
    done_tile = tile(html, done.pk)
    assert f'href="/g/{done.pk}/"' in done_tile
    assert f'src="/g/{done.pk}/thumb"' in done_tile
    assert "data-poll-id" not in html


def test_poll_keeps_going_while_one_is_pending(owner_client, owner):
    done = make_generation(owner, status=Status.FAILED, error_code="timeout")
    pending = make_generation(owner, status=Status.RUNNING)
    assert poll(owner_client, done.pk, pending.pk).status_code == 200


def test_poll_without_ids_stops(owner_client):
    assert owner_client.get(reverse("studio:poll")).status_code == 286
    assert owner_client.get(reverse("studio:poll"), {"ids": "a,,b"}).status_code == 286


def test_poll_ignores_other_users_and_deleted(owner_client, owner, other_user):
    theirs = make_generation(other_user, status=Status.RUNNING)
    gone = make_generation(owner, status=Status.QUEUED)
    gone.soft_delete()
    response = poll(owner_client, theirs.pk, gone.pk)
    assert response.status_code == 286
    assert "tile-" not in response.content.decode()


def test_staff_poll_sees_everyones(admin_client_, other_user):
    theirs = make_generation(other_user, status=Status.RUNNING)
    response = poll(admin_client_, theirs.pk)
    assert response.status_code == 200
    assert f'id="tile-{theirs.pk}"' in response.content.decode()


def test_poll_draws_changed_tiles_in_three_queries(
    owner_client, owner, django_assert_max_num_queries
):
    ids = [make_generation(owner, status=Status.RUNNING).pk for _ in range(10)]
    ids += [make_generation(owner, status=Status.FAILED, error_code="timeout").pk for _ in range(5)]
    # Warm-up: the first request after sign-in may read the session from the database.
    poll(owner_client, *ids, **HX)
    with django_assert_max_num_queries(3) as captured:
        response = poll(owner_client, *ids, **HX)
    assert response.status_code == 200
    assert response.content.decode().count("<article") == 15
    # The user, every tile's state, the changed tiles in full.
    assert len(captured.captured_queries) == 3


def test_poll_reads_in_full_only_the_tiles_that_changed(
    owner_client, owner, django_assert_num_queries
):
    shown = [make_generation(owner, status=Status.RUNNING) for _ in range(5)]
    finished = make_generation(owner, status=Status.SUCCEEDED, thumbnail="thumbs/t.webp")
    params = [f"{g.pk}:running" for g in [*shown, finished]]
    poll_url = reverse("studio:poll")
    owner_client.get(poll_url, {"ids": params}, **HX)
    with django_assert_num_queries(3) as captured:
        response = owner_client.get(poll_url, {"ids": params}, **HX)
    html = response.content.decode()
    assert html.count("<article") == 1
    assert f'id="tile-{finished.pk}"' in html
    full_read = captured.captured_queries[-1]["sql"]
    assert "starred_by_me" in full_read
    read = re.search(r'"studio_generation"\."id" IN \(([^)]*)\)', full_read)
    assert read and [int(pk) for pk in read.group(1).split(",")] == [finished.pk]


def test_poll_of_tiles_shown_as_they_are_reads_none_in_full(
    owner_client, owner, django_assert_num_queries
):
    # The user's counter moved for an image this page does not show: the view runs, finds
    # every tile as the page shows it, and answers with the next poller alone.
    shown = [make_generation(owner, status=Status.RUNNING) for _ in range(5)]
    params = [f"{g.pk}:running" for g in shown]
    owner_client.get(reverse("studio:poll"), {"ids": params}, **HX)
    with django_assert_num_queries(2):
        response = owner_client.get(reverse("studio:poll"), {"ids": params}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<article" not in html
    assert 'id="poller"' in html


def test_poll_query_count_does_not_grow_with_tiles(owner_client, owner, django_assert_num_queries):
    few = [make_generation(owner, status=Status.RUNNING).pk for _ in range(2)]
    many = few + [make_generation(owner, status=Status.QUEUED).pk for _ in range(30)]
    poll(owner_client, *few)
    with django_assert_num_queries(3):
        poll(owner_client, *few)
    with django_assert_num_queries(3):
        poll(owner_client, *many)


def test_poll_is_get_only(owner_client):
    assert owner_client.post(reverse("studio:poll")).status_code == 405


def test_poll_needs_login(client, owner):
    g = make_generation(owner, status=Status.RUNNING)
    response = poll(client, g.pk)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- what finished tiles say ------------------------------------------------------------------
def test_failed_tile_says_why_and_that_it_was_not_billed(owner_client, owner):
    g = make_generation(
        owner,
        status=Status.FAILED,
        error_code="saturated",
        error_params={"tries": 3, "http_status": 429},
    )
    html = tile(poll(owner_client, g.pk).content.decode(), g.pk)
    assert "The gateway is overloaded right now (still after 3 tries)." in html
    assert "Nothing was billed." in html
    assert "Not billed." in html
    assert f'action="/g/{g.pk}/retry"' in html
    assert "Failed" in html


def test_refused_tile_says_it_was_billed(owner_client, owner, settings):
    settings.UPSTREAM_SIMULATED = False
    g = make_generation(
        owner,
        status=Status.REFUSED,
        error_code="soft_refusal",
        error_params={"tries": 1, "billed": ["0.03"], "detail": "I cannot draw that."},
        billed=True,
        cost_usd=Decimal("0.0300"),
    )
    html = tile(poll(owner_client, g.pk).content.decode(), g.pk)
    assert "The model declined and answered with text instead of an image" in html
    assert "I cannot draw that." in html
    assert "Billed $0.03." in html
    assert "Refused" in html
    assert "Retry" in html


# --- cancel -------------------------------------------------------------------------------------
def test_cancel_a_queued_image_with_htmx(owner_client, owner):
    g = make_generation(owner, status=Status.QUEUED)
    response = owner_client.post(reverse("studio:cancel", args=[g.pk]), **HX)
    assert response.status_code == 200
    g.refresh_from_db()
    assert g.status == Status.CANCELED
    html = response.content.decode()
    assert html.lstrip().startswith(f'<article class="tile tile--canceled" id="tile-{g.pk}"')
    assert "Nothing was billed" in html
    assert "data-poll-id" not in html


def test_cancel_without_htmx_redirects_to_detail(owner_client, owner):
    g = make_generation(owner, status=Status.QUEUED)
    response = owner_client.post(reverse("studio:cancel", args=[g.pk]), follow=True)
    assert response.redirect_chain == [(reverse("studio:detail", args=[g.pk]), 302)]
    assert "Canceled. Nothing was billed." in response.content.decode()


def test_a_running_image_cannot_be_canceled(owner_client, owner):
    g = make_generation(owner, status=Status.RUNNING)
    response = owner_client.post(reverse("studio:cancel", args=[g.pk]), follow=True)
    assert "can no longer be canceled" in response.content.decode()
    g.refresh_from_db()
    assert g.status == Status.RUNNING


def test_cancel_someone_elses_is_404(owner_client, other_user):
    g = make_generation(other_user, status=Status.QUEUED)
    assert owner_client.post(reverse("studio:cancel", args=[g.pk])).status_code == 404
    g.refresh_from_db()
    assert g.status == Status.QUEUED


def test_cancel_is_post_only(owner_client, owner):
    g = make_generation(owner, status=Status.QUEUED)
    assert owner_client.get(reverse("studio:cancel", args=[g.pk])).status_code == 405


def test_cancel_needs_login(client, owner):
    g = make_generation(owner, status=Status.QUEUED)
    assert client.post(reverse("studio:cancel", args=[g.pk])).status_code == 302


# --- retry ----------------------------------------------------------------------------------------
def test_retry_from_the_studio_adds_a_tile(owner_client, owner, django_capture_on_commit_callbacks):
    g = make_generation(owner, status=Status.FAILED, error_code="timeout", size="3840x2160")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = owner_client.post(
            reverse("studio:retry", args=[g.pk]), HTTP_HX_CURRENT_URL="http://testserver/", **HX
        )
    assert response.status_code == 200
    assert len(callbacks) == 1
    new = Generation.objects.exclude(pk=g.pk).get()
    assert (new.prompt, new.model, new.size, new.status) == (
        g.prompt,
        g.model,
        "3840x2160",
        Status.QUEUED,
    )
    html = response.content.decode()
    assert 'hx-swap-oob="afterbegin:#tiles"' in html
    assert f'id="tile-{new.pk}"' in html
    assert re.search(r'<div id="poller"[^>]*every 2s', html)


def test_retry_from_another_page_redirects_to_the_studio(
    owner_client, owner, django_capture_on_commit_callbacks
):
    g = make_generation(owner, status=Status.REFUSED, error_code="soft_refusal")
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(
            reverse("studio:retry", args=[g.pk]),
            HTTP_HX_CURRENT_URL=f"http://testserver/g/{g.pk}/",
            **HX,
        )
    assert response["HX-Redirect"] == "/"


def test_retry_without_htmx_redirects(owner_client, owner, django_capture_on_commit_callbacks):
    g = make_generation(owner, status=Status.CANCELED)
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(reverse("studio:retry", args=[g.pk]), follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "Queued again as a new image." in response.content.decode()
    assert Generation.objects.count() == 2


def test_retry_of_a_pending_image_is_a_conflict(owner_client, owner):
    g = make_generation(owner, status=Status.RUNNING)
    assert owner_client.post(reverse("studio:retry", args=[g.pk])).status_code == 409
    assert Generation.objects.count() == 1


def test_retry_someone_elses_is_404(owner_client, other_user):
    g = make_generation(other_user, status=Status.FAILED)
    assert owner_client.post(reverse("studio:retry", args=[g.pk])).status_code == 404
    assert Generation.objects.count() == 1


def test_retry_is_post_only(owner_client, owner):
    g = make_generation(owner, status=Status.FAILED)
    assert owner_client.get(reverse("studio:retry", args=[g.pk])).status_code == 405


def test_retry_needs_login(client, owner):
    g = make_generation(owner, status=Status.FAILED)
    assert client.post(reverse("studio:retry", args=[g.pk])).status_code == 302


def test_a_job_rerouted_while_it_runs_is_redrawn_with_the_new_routes_usual_time(
    owner_client, owner
):
    now = timezone.now()
    g = make_generation(
        owner, size="2160x3840", status=Status.RUNNING, started_at=now - timedelta(seconds=320)
    )
    # -vip answered its 504 after 300 s; the same request went to gpt-image-2.6-all then.
    Generation.objects.filter(pk=g.pk).update(
        route=catalog.ALL_26,
        hops=[{"route": catalog.VIP, "outcome": "upstream_error", "attempts": 1}],
        calling_since=now - timedelta(seconds=20),
    )

    html = owner_client.get(f"/poll?ids={g.pk}:running", **HX).content.decode()

    redrawn = tile(html, g.pk)
    low, high = catalog.expected_seconds(catalog.ALL_26)
    assert f"usually {300 + low}–{300 + high} s" in redrawn
    assert "data-overdue hidden>" in redrawn  # on time for its new route
    assert f'value="{g.pk}:running&gt;{catalog.ALL_26}" data-poll-id' in redrawn
    # Sent back as it is now shown, the tile is not drawn again.
    again = owner_client.get(
        reverse("studio:poll"), {"ids": f"{g.pk}:running>{catalog.ALL_26}"}, **HX
    ).content.decode()
    assert f'id="tile-{g.pk}"' not in again


def test_drawing_tiles_never_looks_up_what_a_tile_lacks(owner_client, owner, missing_lookups):
    running = make_generation(owner, status=Status.RUNNING, started_at=timezone.now())
    queued = make_generation(owner)
    done = factories.make_finished(owner)
    assert owner_client.get("/").status_code == 200
    answer = poll(owner_client, f"{running.pk}:queued", f"{queued.pk}:", f"{done.pk}:running", **HX)
    assert all(f'id="tile-{g.pk}"' in answer.content.decode() for g in (running, queued, done))
    assert missing_lookups == []
