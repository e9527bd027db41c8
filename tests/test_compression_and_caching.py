"""How answers travel: text compressed (pages, fragments, JSON, the scripts' catalogue), what
is compressed already left alone, and what a browser may keep (the catalogue and static
files until they change, stored images for good). The same criteria as Lighthouse's
"text compression" and "efficient cache policy" audits, checked from the headers."""

from __future__ import annotations

import gzip
import re

import pytest
from django.urls import resolve

from imagestudio.studio.models import Status
from imagestudio.web import jscatalog
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

GZIP = {"Accept-Encoding": "gzip, deflate, br"}
YEAR = 31_536_000


def cache_control(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",") if part}


def gunzipped(response) -> str:
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    return gzip.decompress(response.content).decode()


def test_pages_and_their_fragments_are_gzipped(owner_client, owner):
    make_generation(owner, status=Status.SUCCEEDED, with_files=True)
    for url in ("/", "/gallery/"):
        assert "</html>" in gunzipped(owner_client.get(url, headers=GZIP))
    fragment = owner_client.get("/gallery/", headers={**GZIP, "HX-Request": "true"})
    assert 'id="results"' in gunzipped(fragment)


def test_a_browser_that_does_not_ask_gets_plain_text(owner_client):
    response = owner_client.get("/")
    assert not response.has_header("Content-Encoding")
    assert b"</html>" in response.content


def test_api_json_is_gzipped(owner_client, owner):
    make_generation(owner, status=Status.RUNNING)
    response = owner_client.get("/api/v1/generations", headers=GZIP)
    assert '"results"' in gunzipped(response)


def test_images_and_zips_are_not_compressed_again(owner_client, owner):
    g = make_generation(owner, status=Status.SUCCEEDED, with_files=True)
    thumb = owner_client.get(f"/g/{g.pk}/thumb", headers=GZIP)
    assert thumb.status_code == 200
    assert not thumb.has_header("Content-Encoding")
    zipped = owner_client.get(f"/batches/{g.batch_id}/download", headers=GZIP)
    assert zipped.status_code == 200
    assert not zipped.has_header("Content-Encoding")


def test_thumbnails_are_kept_by_the_browser_for_good(owner_client, owner):
    # What the gallery and the studio show. (A download is labelled as it leaves, by the
    # owner's current setting, so it is asked for again each time: docs/labelling.md.)
    g = make_generation(owner, status=Status.SUCCEEDED, with_files=True)
    directives = cache_control(owner_client.get(f"/g/{g.pk}/thumb"))
    assert {"private", "immutable", f"max-age={YEAR}"} <= directives


def test_the_catalogue_is_versioned_gzipped_and_kept_for_a_year(client):
    page = client.get("/accounts/login/").content.decode()
    url = re.search(r'<script src="(/jsi18n/[^"]+)"', page).group(1)
    assert url == jscatalog.url_for("en")
    response = client.get(url, headers=GZIP)
    assert response.status_code == 200
    assert "django.gettext" in gunzipped(response)
    assert {"public", "immutable", f"max-age={YEAR}"} <= cache_control(response)


def test_an_old_catalogue_url_is_sent_to_the_current_one(client):
    current = jscatalog.url_for("zh-hans")
    response = client.get("/jsi18n/zh-hans/0123456789abcdef.js")
    assert response.status_code == 302
    assert response["Location"] == current
    assert client.get("/jsi18n/xx/0123456789abcdef.js").status_code == 404


def test_each_language_has_its_own_catalogue_url():
    english, chinese = jscatalog.url_for("en"), jscatalog.url_for("zh-hans")
    assert english != chinese
    assert resolve(chinese).kwargs["language"] == "zh-hans"


def test_static_files_have_hashed_names_and_are_cached_until_they_change(
    client, settings, tmp_path
):
    # What collectstatic leaves (tests run on plain storage, without it): a hashed copy,
    # its gzip twin and the manifest that maps the plain name to it.
    root = tmp_path / "static"
    root.mkdir()
    script = b"document.title = 'x';\n" * 40
    (root / "studio.0123456789ab.js").write_bytes(script)
    (root / "studio.0123456789ab.js.gz").write_bytes(gzip.compress(script))
    (root / "staticfiles.json").write_text(
        '{"paths": {"studio.js": "studio.0123456789ab.js"}, "version": "1.1"}'
    )
    settings.STATIC_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    # As deployed (the tests' settings swap in plain storage).
    from imagestudio import settings as deployed

    assert deployed.STORAGES["staticfiles"] == settings.STORAGES["staticfiles"]

    from django.templatetags.static import static

    assert static("studio.js") == "/static/studio.0123456789ab.js"
    response = client.get("/static/studio.0123456789ab.js", headers=GZIP)
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert {"public", "immutable"} <= cache_control(response)
    assert int(re.search(r"max-age=(\d+)", response["Cache-Control"]).group(1)) >= YEAR
