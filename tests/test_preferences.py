"""Language and time zone: from the browser until the user picks, then kept on the account."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from imagestudio.accounts.models import Preference
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_browser_asking_for_chinese_gets_a_chinese_page_language(owner_client):
    page = owner_client.get(reverse("studio:gallery"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    assert page.status_code == 200
    assert '<html lang="zh-hans">' in page.content.decode()


def test_a_browser_asking_for_neither_language_gets_english(owner_client):
    page = owner_client.get(reverse("studio:gallery"), HTTP_ACCEPT_LANGUAGE="de-DE")
    assert '<html lang="en">' in page.content.decode()


def test_picking_a_language_in_the_header_is_kept_on_the_account_for_other_devices(owner):
    laptop = Client()
    laptop.force_login(owner)
    answer = laptop.post(reverse("account:language"), {"language": "zh-hans", "next": "/gallery/"})
    assert answer.status_code == 302 and answer["Location"] == "/gallery/"
    assert Preference.objects.get(user=owner).language == "zh-hans"

    phone = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    assert phone.login(username=owner.username, password=PASSWORD)
    page = phone.get(reverse("studio:gallery"))
    assert '<html lang="zh-hans">' in page.content.decode()


def test_the_language_picker_never_redirects_off_the_site(owner_client):
    answer = owner_client.post(
        reverse("account:language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert answer.status_code == 302
    assert "evil.example" not in answer["Location"]


def test_an_unknown_language_is_not_saved(owner, owner_client):
    owner_client.post(reverse("account:language"), {"language": "xx", "next": "/"})
    assert not Preference.objects.filter(user=owner, language="xx").exists()


def test_the_language_picker_takes_posts_only(owner_client):
    assert owner_client.get(reverse("account:language")).status_code == 405


def test_a_saved_time_zone_is_used_for_the_users_requests(owner, owner_client):
    answer = owner_client.post(
        reverse("account:preferences"), {"language": "", "time_zone": "Asia/Shanghai"}
    )
    assert answer.status_code == 302
    assert Preference.objects.get(user=owner).time_zone == "Asia/Shanghai"
    page = owner_client.get(reverse("account:preferences"))
    assert page.context["TIME_ZONE"] == "Asia/Shanghai"


def test_an_unknown_time_zone_is_refused_on_the_form(owner, owner_client):
    answer = owner_client.post(
        reverse("account:preferences"), {"language": "", "time_zone": "Mars/Olympus"}
    )
    assert answer.status_code == 200
    assert answer.context["form"].errors["time_zone"]
    assert not Preference.objects.filter(user=owner).exists()


def test_the_preferences_page_needs_a_sign_in(client):
    answer = client.get(reverse("account:preferences"))
    assert answer.status_code == 302 and "/accounts/login/" in answer["Location"]


def test_the_preferences_page_refuses_other_methods(owner_client):
    assert owner_client.delete(reverse("account:preferences")).status_code == 405
