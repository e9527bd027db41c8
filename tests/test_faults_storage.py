"""Storage outages heal (issue 12, part 6): an image storage refused is kept on the
worker's disk, billed, shown as being saved, and written by the sweep once storage works
again, with no admin step. Storage really fails here: its folder is a plain file."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from imagestudio import catalog
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import run_generation, sweep
from imagestudio.upstream.types import Outcome
from tests.factories import make_generation

pytestmark = pytest.mark.django_db


def storage_at(settings, folder: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    settings.MEDIA_ROOT = str(folder)


@pytest.fixture
def broken_storage(settings, tmp_path) -> Path:
    blocked = tmp_path / "media-out"
    blocked.write_text("not a folder")
    storage_at(settings, blocked)
    return tmp_path / "media-back"


def test_an_image_storage_refused_is_saved_by_the_sweep_once_storage_works(
    owner, owner_client, settings, gateway, broken_storage
):
    generation = make_generation(owner, model=catalog.ALL)
    assert run_generation(generation.pk) == "saving"
    generation.refresh_from_db()
    assert generation.status == Status.RUNNING and generation.is_saving
    assert generation.billed and generation.cost_usd == catalog.price(catalog.ALL)
    held = Path(generation.saving_from)
    assert held.is_file()
    page = owner_client.get(reverse("studio:detail", args=[generation.pk])).content.decode()
    assert "Paid for and being saved" in page

    assert sweep()["saved"] == 0  # still out: kept, not lost, not failed
    generation.refresh_from_db()
    assert generation.is_saving and held.is_file()

    storage_at(settings, broken_storage)  # storage is back
    assert sweep()["saved"] == 1
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and not generation.saving_from
    assert default_storage.exists(generation.image.name)
    assert default_storage.exists(generation.thumbnail.name)
    assert generation.width and generation.sha256
    assert not held.exists()
    # Billed once, for the one call: saving it again costs nothing.
    assert [(a.outcome, a.billed) for a in generation.attempt_rows.all()] == [(Outcome.IMAGE, True)]


def test_an_image_being_saved_is_never_declared_lost(owner, settings, gateway, broken_storage):
    generation = make_generation(owner, model=catalog.ALL)
    run_generation(generation.pk)
    settings.STALE_RUNNING_SECONDS = 0
    assert sweep()["failed"] == 0
    assert Generation.objects.get(pk=generation.pk).status == Status.RUNNING


def test_an_image_deleted_while_being_saved_leaves_no_files(
    owner, settings, gateway, broken_storage
):
    generation = make_generation(owner, model=catalog.ALL)
    run_generation(generation.pk)
    generation.refresh_from_db()
    generation.soft_delete()
    storage_at(settings, broken_storage)
    assert sweep()["saved"] == 0
    assert not Path(generation.saving_from).exists()
    assert not broken_storage.exists() or not any(p.is_file() for p in broken_storage.rglob("*"))
