"""Editing in the browser: staging pictures, picking from the gallery, the studio form
as an edit, continuing a conversation, the version tree."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from imagestudio import catalog
from imagestudio.studio.models import Generation, Kind, StagedInput, Status
from tests.factories import make_finished, make_team, picture_bytes

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
STAGE = reverse("studio:stage")


def upload(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def finished(user, prompt="a mug", **fields) -> Generation:
    return make_finished(user, model=catalog.ALL, prompt=prompt, **fields)


# -- staging --------------------------------------------------------------------------


def test_stage_compresses_and_answers_numbered_tiles(owner_client, owner):
    response = owner_client.post(
        STAGE,
        {"image": [upload(picture_bytes(), "mug.jpg"), upload(picture_bytes("PNG"), "logo.png")]},
        **HTMX,
    )
    assert response.status_code == 200
    staged = list(StagedInput.objects.filter(user=owner).order_by("pk"))
    assert [s.original_name for s in staged] == ["mug.jpg", "logo.png"]
    html = response.content.decode()
    assert html.index("image1") < html.index("image2")
    assert f'name="input" value="{staged[0].pk}"' in html
    assert "→" in html  # original → sent size
    assert all(s.sent_bytes <= catalog.INPUT_TARGET_BYTES for s in staged)


def test_stage_numbers_after_the_pictures_already_in_the_form(owner_client, owner):
    first = owner_client.post(STAGE, {"image": [upload(picture_bytes(), "a.jpg")]}, **HTMX)
    assert first.status_code == 200
    existing = StagedInput.objects.get(user=owner)
    response = owner_client.post(
        STAGE, {"input": [existing.pk], "image": [upload(picture_bytes(), "b.jpg")]}, **HTMX
    )
    assert "image2" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "logo.svg", "SVG"),
        (b"%PDF-1.7 brochure", "brochure.pdf", "PDF"),
        (b"just some notes", "notes.png", "not an image"),
        (b"", "empty.png", "empty"),
    ],
)
def test_stage_refuses_what_is_not_a_picture_with_a_message(owner_client, data, name, words):
    response = owner_client.post(STAGE, {"image": [upload(data, name)]}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="input-errors"' in html and 'role="alert"' in html
    assert words.lower() in html.lower()
    assert not StagedInput.objects.exists()


def test_stage_refuses_more_than_the_forms_model_takes(owner_client, owner):
    limit = catalog.max_inputs(catalog.ALL)
    files = [upload(picture_bytes(), f"{n}.jpg") for n in range(limit + 1)]
    response = owner_client.post(STAGE, {"image": files, "model": catalog.ALL}, **HTMX)
    assert StagedInput.objects.filter(user=owner).count() == limit
    assert f"at most {limit}" in response.content.decode()


def test_stage_takes_as_many_pictures_as_the_official_route(owner_client, owner):
    limit = catalog.max_inputs("gpt-image-2")
    assert limit == 16
    have = [str(n) for n in range(1, 13)]  # twelve already in the form (ids need not exist)
    files = [upload(picture_bytes(size=(8, 8)), f"{n}.jpg") for n in range(5)]
    response = owner_client.post(
        STAGE, {"image": files, "model": "gpt-image-2", "input": have}, **HTMX
    )
    assert StagedInput.objects.filter(user=owner).count() == 4
    body = response.content.decode()
    assert ">image16<" in body and "at most 16" in body


def test_stage_a_gallery_image(owner_client, owner):
    source = finished(owner)
    response = owner_client.post(STAGE, {"source": source.pk}, **HTMX)
    staged = StagedInput.objects.get(user=owner)
    assert staged.source == source
    assert f'value="{staged.pk}"' in response.content.decode()


def test_stage_someone_elses_image_is_refused(owner_client, other_user):
    theirs = finished(other_user)
    response = owner_client.post(STAGE, {"source": theirs.pk}, **HTMX)
    assert "no image" in response.content.decode()
    assert not StagedInput.objects.exists()


def test_stage_without_htmx_comes_back_to_the_studio_with_the_pictures(owner_client, owner):
    source = finished(owner)
    response = owner_client.post(STAGE, {"source": source.pk})
    staged = StagedInput.objects.get(user=owner)
    assert response.status_code == 302
    assert f"inputs={staged.pk}" in response["Location"]
    page = owner_client.get(response["Location"])
    assert f'name="input" value="{staged.pk}"' in page.content.decode()


def test_stage_needs_post_and_login(client, owner_client):
    assert owner_client.get(STAGE).status_code == 405
    client.logout()
    assert client.post(STAGE).status_code == 302


def test_staged_file_is_served_to_its_owner_only(owner_client, owner, other_user, client):
    owner_client.post(STAGE, {"image": [upload(picture_bytes(), "a.jpg")]}, **HTMX)
    staged = StagedInput.objects.get(user=owner)
    url = reverse("studio:staged", args=[staged.pk])
    response = owner_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == staged.content_type
    client.force_login(other_user)
    assert client.get(url).status_code == 404


def test_picker_lists_finished_images_of_the_user(owner_client, owner, other_user):
    mine, theirs = finished(owner, "mine"), finished(other_user, "theirs")
    html = owner_client.get(reverse("studio:pick"), **HTMX).content.decode()
    assert f'"source": "{mine.pk}"' in html
    assert f'"source": "{theirs.pk}"' not in html
    assert "<form" not in html  # it is swapped into the studio form
    page = owner_client.get(reverse("studio:pick")).content.decode()
    assert 'name="source"' in page and "<form" in page


# -- the studio form as an edit -----------------------------------------------------


def test_generate_with_staged_pictures_is_an_edit_in_their_order(owner_client, owner):
    owner_client.post(
        STAGE,
        {"image": [upload(picture_bytes(), "a.jpg"), upload(picture_bytes(), "b.jpg")]},
        **HTMX,
    )
    first, second = StagedInput.objects.filter(user=owner).order_by("pk")
    response = owner_client.post(
        reverse("studio:generate"),
        {
            "prompt": "put image1 on image2",
            "model": catalog.ALL,
            "size": "",
            "count": "1",
            "input": [second.pk, first.pk],
        },
        **HTMX,
    )
    assert response.status_code == 200
    gen = Generation.objects.get(user=owner)
    assert gen.kind == Kind.EDIT
    assert [i.original_name for i in gen.inputs.order_by("position")] == ["b.jpg", "a.jpg"]
    # Sent with this batch: the form starts the next one without them (issue 11).
    assert f'name="input" value="{second.pk}"' not in response.content.decode()


def test_generate_ignores_someone_elses_staged_ids(owner_client, owner, other_user):
    from imagestudio.studio import services

    theirs = services.stage(other_user, picture_bytes(), "x.jpg")
    owner_client.post(
        reverse("studio:generate"),
        {"prompt": "a cat", "model": catalog.ALL, "size": "", "count": "1", "input": theirs.pk},
        **HTMX,
    )
    assert Generation.objects.get(user=owner).kind == Kind.GENERATE


# -- conversation and versions ------------------------------------------------------


def test_iterate_starts_the_next_turn_and_goes_to_it(owner_client, owner):
    root = finished(owner)
    response = owner_client.post(
        reverse("studio:iterate", args=[root.pk]), {"prompt": "now make it blue"}
    )
    turn = Generation.objects.get(parent=root)
    assert response.status_code == 302
    assert response["Location"] == reverse("studio:detail", args=[turn.pk])
    assert turn.kind == Kind.CHAT and turn.thread == root


def test_iterate_with_htmx_redirects_the_page(owner_client, owner):
    root = finished(owner)
    response = owner_client.post(
        reverse("studio:iterate", args=[root.pk]), {"prompt": "blue"}, **HTMX
    )
    assert response.headers["HX-Redirect"].startswith("/g/")


def test_iterate_empty_prompt_says_so_in_the_form(owner_client, owner):
    root = finished(owner)
    response = owner_client.post(reverse("studio:iterate", args=[root.pk]), {"prompt": ""}, **HTMX)
    assert response.status_code == 200
    assert "Write a prompt" in response.content.decode()
    assert not Generation.objects.filter(parent=root).exists()


def test_iterate_is_404_for_others_and_405_for_get(owner_client, other_user, owner):
    theirs = finished(other_user)
    url = reverse("studio:iterate", args=[theirs.pk])
    assert owner_client.post(url, {"prompt": "x"}).status_code == 404
    assert owner_client.get(reverse("studio:iterate", args=[finished(owner).pk])).status_code == 405


def test_iterate_on_an_unfinished_image_is_refused(owner_client, owner):
    gen = finished(owner)
    Generation.objects.filter(pk=gen.pk).update(status=Status.FAILED)
    owner_client.post(reverse("studio:iterate", args=[gen.pk]), {"prompt": "x"})
    assert not Generation.objects.filter(parent=gen).exists()


def test_detail_shows_the_version_tree_inputs_and_actions(owner_client, owner):
    root = finished(owner, "a red mug")
    blue = finished(owner, "make it blue", parent=root, thread=root, kind=Kind.CHAT)
    green = finished(owner, "make it green", parent=root, thread=root, kind=Kind.CHAT)
    steam = finished(owner, "add steam", parent=blue, thread=root, kind=Kind.CHAT, reply="Here.")
    html = owner_client.get(reverse("studio:detail", args=[blue.pk])).content.decode()
    # Depth-first: root, blue, steam (under blue), green.
    order = [html.index(f"#{g.pk} ") for g in (root, blue, steam, green)]
    assert order == sorted(order)
    assert 'class="depth-2"' in html  # steam hangs under blue
    assert "Branch from here" in html  # blue has a child: continuing from it branches
    steam_html = owner_client.get(reverse("studio:detail", args=[steam.pk])).content.decode()
    assert "Continue editing" in steam_html and "Here." in steam_html
    assert html.count('aria-current="page"') >= 1


def test_detail_of_an_edit_lists_the_pictures_sent(owner_client, owner):
    from imagestudio.studio import services

    req = services.validate(model=catalog.ALL, prompt="p", size=None, count=1)
    _, (gen,) = services.edit(owner, req, [services.Upload(picture_bytes(), "mug.jpg")])
    html = owner_client.get(reverse("studio:detail", args=[gen.pk])).content.decode()
    assert "Pictures sent" in html and "image1" in html
    url = reverse("studio:input", args=[gen.pk, 1])
    assert url in html
    assert owner_client.get(url).status_code == 200
    assert owner_client.get(reverse("studio:input", args=[gen.pk, 2])).status_code == 404


def test_input_file_is_404_for_someone_else(client, owner, other_user):
    from imagestudio.studio import services

    req = services.validate(model=catalog.ALL, prompt="p", size=None, count=1)
    _, (gen,) = services.edit(owner, req, [services.Upload(picture_bytes(), "mug.jpg")])
    client.force_login(other_user)
    assert client.get(reverse("studio:input", args=[gen.pk, 1])).status_code == 404


def test_staged_sweep_keeps_files_an_edit_used(owner):
    from datetime import timedelta

    from django.utils import timezone

    from imagestudio.studio import services

    used = services.stage(owner, picture_bytes(), "used.jpg")
    unused = services.stage(owner, picture_bytes(), "unused.jpg")
    req = services.validate(model=catalog.ALL, prompt="p", size=None, count=1)
    services.edit(owner, req, [services.Upload(b"", staged=used)])
    StagedInput.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert StagedInput.sweep() == 2
    assert default_storage.exists(used.file.name)
    assert not default_storage.exists(unused.file.name)


def test_gallery_can_collapse_a_thread_to_its_newest_version(owner_client, owner):
    root = finished(owner, "a red mug")
    blue = finished(owner, "make it blue", parent=root, thread=root, kind=Kind.CHAT)
    lone = finished(owner, "a lone lighthouse")
    url = reverse("studio:gallery")
    flat = owner_client.get(url).content.decode()
    assert all(reverse("studio:detail", args=[g.pk]) in flat for g in (root, blue, lone))
    stacked = owner_client.get(url, {"stack": "on"}).content.decode()
    assert reverse("studio:detail", args=[blue.pk]) in stacked
    assert reverse("studio:detail", args=[root.pk]) not in stacked
    assert reverse("studio:detail", args=[lone.pk]) in stacked
    assert "2 versions" in stacked


def test_stacked_gallery_is_one_query_per_page(owner_client, owner, django_assert_num_queries):
    root = finished(owner)
    for n in range(5):
        finished(owner, f"v{n}", parent=root, thread=root, kind=Kind.CHAT)
    owner_client.get(reverse("studio:gallery"), {"stack": "on"})  # warm the session
    # The signed-in user, the boards offered, the page itself (subqueries inline) and the
    # boards its tiles are on: the same 4 whatever the page holds.
    with django_assert_num_queries(4):
        owner_client.get(reverse("studio:gallery"), {"stack": "on"})


def test_a_team_mate_can_branch_from_a_team_image(client, owner, other_user):
    team = make_team("Design", owner, other_user)
    root = finished(owner, team=team)
    client.force_login(other_user)
    detail = client.get(reverse("studio:detail", args=[root.pk])).content.decode()
    assert "Continue editing" in detail
    response = client.post(reverse("studio:iterate", args=[root.pk]), {"prompt": "warmer"})
    assert response.status_code == 302
    turn = Generation.objects.get(parent=root)
    assert turn.user == other_user and turn.thread == root
    # The tree shows both versions to the team-mate.
    html = client.get(reverse("studio:detail", args=[turn.pk])).content.decode()
    assert f"#{root.pk} " in html and f"#{turn.pk} " in html


def test_someone_outside_the_team_cannot_branch(client, owner, other_user):
    team = make_team("Design", owner)
    root = finished(owner, team=team)
    client.force_login(other_user)
    response = client.post(reverse("studio:iterate", args=[root.pk]), {"prompt": "warmer"})
    assert response.status_code == 404
