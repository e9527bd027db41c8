"""The password pages: a signed-in user changes their password from their preferences;
with local sign-in switched off every password page answers 404."""

from __future__ import annotations

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another long test password"


def _reset_link(user) -> str:
    return reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )


def test_the_preferences_page_links_to_the_password_change(owner_client):
    page = owner_client.get(reverse("account:preferences")).content.decode()
    assert reverse("password_change") in page


def test_a_user_changes_their_password_and_stays_signed_in(owner, owner_client):
    answer = owner_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert answer.status_code == 302 and answer["Location"] == reverse("password_change_done")
    assert owner_client.get(reverse("account:preferences")).status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)


def test_a_wrong_old_password_is_said_on_the_page_and_changes_nothing(owner, owner_client):
    answer = owner_client.post(
        reverse("password_change"),
        {"old_password": "not it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert answer.status_code == 200
    assert "field-error" in answer.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_the_password_change_page_asks_a_stranger_to_sign_in():
    answer = Client().get(reverse("password_change"))
    assert answer.status_code == 302 and reverse("login") in answer["Location"]


def test_the_password_change_page_is_in_chinese_for_a_chinese_reader(owner_client):
    page = owner_client.get(reverse("password_change"), HTTP_ACCEPT_LANGUAGE="zh-CN")
    text = page.content.decode()
    assert "修改密码" in text and "Change your password" not in text


@pytest.mark.parametrize(
    "name", ["password_change", "password_change_done", "password_reset", "password_reset_done"]
)
def test_with_local_sign_in_off_the_password_pages_are_not_there(settings, owner_client, name):
    settings.LOCAL_SIGNIN = False
    assert owner_client.get(reverse(name)).status_code == 404


def test_with_local_sign_in_off_a_mailed_reset_link_no_longer_sets_a_password(settings):
    user = make_user("dana")
    link = _reset_link(user)
    settings.LOCAL_SIGNIN = False

    answer = Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert answer.status_code == 404
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_with_local_sign_in_off_the_preferences_page_offers_no_password(settings, owner_client):
    settings.LOCAL_SIGNIN = False
    page = owner_client.get(reverse("account:preferences")).content.decode()
    assert reverse("password_change") not in page


def test_a_directory_account_without_a_password_is_offered_no_change(client):
    user = make_user("lee")
    user.set_unusable_password()
    user.save()
    client.force_login(user)
    page = client.get(reverse("account:preferences")).content.decode()
    assert reverse("password_change") not in page
