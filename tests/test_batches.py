"""A list batch from the studio form, and the batch page: preview, submit, the page with
its rows, progress, retry-all-failed and cancel-all-queued; queries stay constant."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from imagestudio import catalog
from imagestudio.studio.models import Batch, Generation, GenerationInput, Status
from tests.factories import make_budget, make_generation, make_kit

pytestmark = pytest.mark.django_db

ROWS = "product,slogan\nsandals,Step into summer\nhat,Shade in style\numbrella,Rain or shine\n"
TEMPLATE = "Poster for {product}, headline {slogan}"


def post_list(client, **fields):
    data = {
        "mode": "list",
        "model": catalog.VIP,
        "size": catalog.DEFAULT_VIP_SIZE,
        "count": "1",
        "fallback_2k": "on",
        "template": TEMPLATE,
        "items": ROWS,
        **fields,
    }
    return client.post("/generate", data)


def test_a_preview_shows_every_rows_prompt_and_the_cost_and_sends_nothing(owner_client):
    response = post_list(owner_client, action="preview")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Poster for umbrella, headline Rain or shine" in page
    assert "3 images × $0.03 = $0.09" in page
    assert not Generation.objects.exists()


def test_a_list_becomes_one_batch_that_keeps_its_rows_and_opens_its_page(owner_client, owner):
    response = post_list(owner_client, preset="poster")

    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/batches/{batch.pk}/"
    rows = list(batch.generations.order_by("id"))
    assert [g.variables["product"] for g in rows] == ["sandals", "hat", "umbrella"]
    assert rows[0].prompt == "Poster for sandals, headline Step into summer"
    poster = catalog.PRESETS_BY_KEY["poster"]
    assert {(g.model, g.size) for g in rows} == {(poster.model, poster.size)}
    assert (batch.template, batch.columns, batch.preset) == (
        TEMPLATE,
        ["product", "slogan"],
        "poster",
    )


def test_count_applies_per_row(owner_client):
    post_list(owner_client, count="2")

    assert Generation.objects.count() == 6


def test_lines_without_a_template_are_prompts(owner_client):
    post_list(owner_client, template="", items="a red kite\na green kite\n")

    assert sorted(Generation.objects.values_list("prompt", flat=True)) == [
        "a green kite",
        "a red kite",
    ]


def test_an_uploaded_excel_csv_in_gbk_is_read(owner_client):
    upload = SimpleUploadedFile("list.csv", "产品\n凉鞋\n草帽\n".encode("gbk"), "text/csv")

    post_list(owner_client, template="海报：{产品}", items="", items_file=upload)

    assert sorted(Generation.objects.values_list("prompt", flat=True)) == [
        "海报：凉鞋",
        "海报：草帽",
    ]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"template": "Poster for {product} by {brand}"}, "template", "{brand}"),
        ({"template": "Poster for {product"}, "template", "not closed"),
        ({"items": "product,slogan\nsandals,\n"}, "items", "Row 1"),
        ({"items": "product,slogan\nsandals\n"}, "items", "Row 1 has 1 cells"),
        ({"template": "", "items": "\n\n"}, "items", "one prompt per line"),
        ({"template": "", "items": "x\n" * 201}, "items", "at most 200"),
        ({"count": "10", "template": "", "items": "x\n" * 21}, "count", "at most 200"),
    ],
)
def test_a_bad_list_is_refused_beside_its_field_and_nothing_is_queued(
    owner_client, fields, field, words
):
    response = post_list(owner_client, **fields)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert words in " ".join(errors[field]), errors
    assert not Generation.objects.exists()


def test_a_blocked_term_in_one_row_names_the_row(owner_client):
    from imagestudio.prefilter.models import Category, Term

    category = Category.objects.create(key="ip", name="Copyrighted", action="block")
    Term.objects.create(category=category, term="mickey mouse")

    response = post_list(owner_client, template="", items="a kite\na mickey mouse poster\n")

    assert "Row 2" in " ".join(response.context["form"].errors["items"])


def test_a_kits_style_and_pictures_go_with_every_image(owner_client, owner, team):
    kit = make_kit(owner, team=team, pictures=2, style="brand red, bold type")

    post_list(owner_client, kit=str(kit.pk), team=str(team.pk))

    rows = list(Generation.objects.order_by("id"))
    assert {g.kit_id for g in rows} == {kit.pk}
    assert rows[0].prompt_sent.endswith("\nbrand red, bold type")
    assert {g.kind for g in rows} == {"edit"}
    assert GenerationInput.objects.filter(generation=rows[0]).count() == 2
    assert Batch.objects.get().kit == kit


def test_someone_elses_kit_is_refused(owner_client, other_user):
    theirs = make_kit(other_user)

    response = post_list(owner_client, kit=str(theirs.pk))

    assert response.context["form"].errors["kit"]
    assert not Generation.objects.exists()


def test_a_list_past_the_budget_is_refused_whole(owner_client, owner):
    make_budget("0.05", user=owner)

    response = post_list(owner_client)

    assert not Generation.objects.exists()
    assert "would go over" in response.content.decode()


# --- the batch page ------------------------------------------------------------------------
def _batch_of(owner, statuses, **fields):
    batch = Batch.objects.create(user=owner, columns=["product"], template="{product}")
    rows = [
        make_generation(
            owner,
            batch=batch,
            status=s,
            prompt=f"p{i}",
            variables={"product": f"item {i}"},
            **fields,
        )
        for i, s in enumerate(statuses)
    ]
    return batch, rows


def test_the_batch_page_shows_progress_cost_and_each_rows_values(owner_client, owner):
    batch, rows = _batch_of(owner, ["succeeded", "failed", "running", "queued"])
    Generation.objects.filter(pk=rows[0].pk).update(cost_usd=Decimal("0.03"), billed=True)

    page = owner_client.get(f"/batches/{batch.pk}/").content.decode()

    assert "2 of 4 done" in page
    assert "1 failed" in page
    assert "$0.03" in page
    assert "item 3" in page
    assert "Retry the failed image" in page and "Cancel all queued" in page


def test_retry_all_failed_adds_the_retries_to_the_same_batch_with_their_rows(owner_client, owner):
    batch, rows = _batch_of(owner, ["failed", "refused", "succeeded"])

    response = owner_client.post(f"/batches/{batch.pk}/retry-failed")

    assert response.status_code == 302
    new = list(batch.generations.filter(status=Status.QUEUED).order_by("id"))
    assert [g.variables for g in new] == [rows[0].variables, rows[1].variables]
    page = owner_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "1 of 3 done" in page  # the failures are counted once, by their retries


def test_cancel_all_queued_cancels_only_queued_ones(owner_client, owner):
    batch, rows = _batch_of(owner, ["queued", "queued", "running"])

    owner_client.post(f"/batches/{batch.pk}/cancel-queued")

    assert [g.status for g in batch.generations.order_by("id")] == [
        "canceled",
        "canceled",
        "running",
    ]


def test_a_team_mate_sees_the_batch_but_cancels_nothing(teammate_client, owner, team):
    batch, _rows = _batch_of(owner, ["queued"], team=team)
    Batch.objects.filter(pk=batch.pk).update(team=team)

    assert teammate_client.get(f"/batches/{batch.pk}/").status_code == 200
    teammate_client.post(f"/batches/{batch.pk}/cancel-queued")

    assert batch.generations.get().status == "queued"


def test_the_poll_sends_changed_tiles_and_the_summary_and_stops_when_done(owner_client, owner):
    batch, rows = _batch_of(owner, ["running", "succeeded"])

    pending = owner_client.get(f"/batches/{batch.pk}/poll", {"ids": f"{rows[0].pk}:queued"})
    Generation.objects.filter(pk=rows[0].pk).update(status=Status.FAILED)
    done = owner_client.get(f"/batches/{batch.pk}/poll", {"ids": f"{rows[0].pk}:running"})

    assert pending.status_code == 200
    assert f'id="tile-{rows[0].pk}"' in pending.content.decode()
    assert "batch-summary" in pending.content.decode()
    assert done.status_code == 286
    assert "2 of 2 done" in done.content.decode()


def test_the_poll_reads_only_the_changed_tiles_in_full(owner_client, owner):
    # Every row's state and what the summary counts, then the one finished tile in full.
    batch, rows = _batch_of(owner, ["running"] * 5 + ["succeeded"])
    ids = [f"{g.pk}:running" for g in rows]

    with CaptureQueriesContext(connection) as captured:
        response = owner_client.get(f"/batches/{batch.pk}/poll", {"ids": ids})

    html = response.content.decode()
    assert html.count("<article") == 1
    assert f'id="tile-{rows[-1].pk}"' in html
    assert "1 of 6 done" in html
    full = [q["sql"] for q in captured.captured_queries if '"thumbnail"' in q["sql"]]
    assert len(full) == 1
    read = re.search(r'"studio_generation"\."id" IN \(([^)]*)\)', full[0])
    assert read and [int(pk) for pk in read.group(1).split(",")] == [rows[-1].pk]


@pytest.mark.parametrize("n", [10, 200])
def test_the_batch_page_and_its_poll_cost_the_same_queries_at_any_size(
    owner_client, owner, django_assert_max_num_queries, n
):
    batch, rows = _batch_of(owner, ["running"] * n)
    ids = ",".join(f"{g.pk}:running" for g in rows)

    # Session, user, the batch, its rows, the caller's teams (staged for the tiles' rule).
    with django_assert_max_num_queries(8):
        owner_client.get(f"/batches/{batch.pk}/")
    with django_assert_max_num_queries(8):
        owner_client.get(f"/batches/{batch.pk}/poll", {"ids": ids})


def test_other_methods_are_405(owner_client, owner):
    batch, _rows = _batch_of(owner, ["queued"])

    assert owner_client.post(f"/batches/{batch.pk}/").status_code == 405
    assert owner_client.get(f"/batches/{batch.pk}/retry-failed").status_code == 405
    assert owner_client.get(f"/batches/{batch.pk}/cancel-queued").status_code == 405


def test_a_batch_downloads_as_a_zip_whose_manifest_has_its_row_columns(owner_client, owner):
    import csv
    import io
    import zipfile

    batch = Batch.objects.create(user=owner, columns=["product"], template="{product}")
    make_generation(
        owner, batch=batch, status="succeeded", with_files=True, variables={"product": "凉鞋"}
    )

    response = owner_client.get(f"/batches/{batch.pk}/download")

    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    manifest = archive.read("manifest.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(manifest)))
    assert rows[0]["product"] == "凉鞋"
    assert len(archive.namelist()) == 2


def test_the_detail_page_shows_what_was_sent_and_the_row(owner_client, owner):
    kit = make_kit(owner, style="brand red")
    batch = Batch.objects.create(user=owner, columns=["product"], template="{product}")
    g = make_generation(
        owner,
        batch=batch,
        prompt="sandals",
        style="brand red",
        kit=kit,
        variables={"product": "sandals"},
    )

    page = owner_client.get(f"/g/{g.pk}/").content.decode()

    assert "What was sent to the gateway" in page
    assert "sandals\nbrand red" in page
    assert f'href="/batches/{batch.pk}/"' in page


def test_a_pasted_cell_past_the_csv_field_limit_is_a_message_not_a_500(owner_client):
    response = post_list(owner_client, items="product,slogan\n" + "x" * 200_000 + ",y\n")

    assert response.status_code == 200
    assert "longer than 2000 characters" in response.content.decode()
    assert not Generation.objects.exists()


def test_a_starred_image_shows_its_star_on_the_batch_page(owner_client, owner):
    from tests.factories import make_finished, make_star

    image = make_finished(owner)
    other = make_finished(owner, batch=image.batch)
    make_star(owner, image)
    page = owner_client.get(f"/batches/{image.batch_id}/").content.decode()
    tile = page[page.index(f'id="tile-{image.pk}"') :]
    tile = tile[: tile.index("</article>")]
    plain = page[page.index(f'id="tile-{other.pk}"') :]
    plain = plain[: plain.index("</article>")]
    assert "data-star-badge" in tile
    assert "data-star-badge" not in plain
