"""`manage.py issue_api_token`: prints a working token last, stores only its hash."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from imagestudio.api.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def issue(*args: str) -> list[str]:
    out = StringIO()
    call_command("issue_api_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_the_last_line_is_a_token_that_works(owner):
    lines = issue("owner", "--name", "render farm")
    raw = lines[-1]

    token = ApiToken.objects.get()
    assert token.user == owner
    assert token.name == "render farm"
    assert token.token_hash == hash_token(raw)
    assert token.prefix == raw[:12]
    assert "render farm" in lines[0]

    response = Client().get("/api/v1/generations", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 200


def test_only_the_hash_is_stored(owner):
    raw = issue("owner")[-1]
    token = ApiToken.objects.get()
    stored = [str(value) for value in token.__dict__.values()]
    assert raw not in stored


def test_each_call_issues_a_new_token(owner):
    first, second = issue("owner")[-1], issue("owner")[-1]
    assert first != second
    assert ApiToken.objects.count() == 2


def test_an_unknown_user_is_an_error():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        issue("ghost")
    assert not ApiToken.objects.exists()


def test_an_inactive_user_is_an_error(owner):
    owner.is_active = False
    owner.save()
    with pytest.raises(CommandError, match="inactive"):
        issue("owner")
    assert not ApiToken.objects.exists()
