"""403, 404 and 500 pages in the studio's layout, with a way back."""

from __future__ import annotations

import pytest
from django.contrib.auth.decorators import login_not_required
from django.test import Client, override_settings
from django.urls import path

from imagestudio import urls as site_urls
from tests.factories import make_finished

pytestmark = pytest.mark.django_db


def test_a_missing_image_is_a_404_in_the_studios_layout(owner_client):
    response = owner_client.get("/g/987654/")

    assert response.status_code == 404
    page = response.content.decode()
    assert 'class="topbar"' in page
    assert "Back to the studio" in page


def test_an_outsiders_image_looks_the_same_as_a_missing_one(other_client, owner):
    image = make_finished(owner)

    response = other_client.get(f"/g/{image.pk}/")

    assert response.status_code == 404
    assert "Back to the studio" in response.content.decode()


def test_a_staff_page_says_why_in_the_layout(owner_client):
    response = owner_client.get("/audit/")

    assert response.status_code == 403
    page = response.content.decode()
    assert "The audit log is for staff." in page
    assert 'class="topbar"' in page


@login_not_required
def _boom(request):
    raise RuntimeError("unexpected")


urlpatterns = [path("boom", _boom), *site_urls.urlpatterns]


@override_settings(ROOT_URLCONF=__name__)
def test_an_unexpected_error_is_a_500_page_with_a_way_back():
    client = Client(raise_request_exception=False)

    response = client.get("/boom")

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert 'href="/"' in page


def test_the_admin_has_the_studios_name(admin_client_):
    assert "ImageStudio administration" in admin_client_.get("/admin/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/api/v1/generations", "/accounts/login/"])
def test_an_unknown_host_is_a_400_not_a_500(client, settings, path):
    settings.ALLOWED_HOSTS = ["studio.example"]

    response = client.get(path, HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert "host" in response.content.decode()
