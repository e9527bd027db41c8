"""Secrets stay secret: the data dir and its secrets are the studio user's only, and API
tokens and passwords never reach a log line."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from django.test import Client

from imagestudio.web.private import make_private
from tests.factories import PASSWORD, bearer, make_token

from .conftest import ROOT


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_dir_and_its_secret_key_are_private(tmp_path):
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMAGESTUDIO_")}
    env.update(IMAGESTUDIO_DATA_DIR=str(data), DJANGO_SETTINGS_MODULE="imagestudio.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert mode(data) == 0o700
    assert mode(data / "secret_key") == 0o600


def test_an_existing_open_data_dir_is_closed_at_start(tmp_path):
    (tmp_path / "secret_key").write_text("x")
    (tmp_path / "db.sqlite3").write_text("")
    for path in (tmp_path / "secret_key", tmp_path / "db.sqlite3"):
        path.chmod(0o644)
    tmp_path.chmod(0o755)
    make_private(tmp_path)
    assert mode(tmp_path) == 0o700
    assert mode(tmp_path / "secret_key") == 0o600
    assert mode(tmp_path / "db.sqlite3") == 0o600


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


@pytest.mark.django_db
def test_a_new_token_is_in_its_answer_only(owner, logs):
    _, raw = make_token(owner)
    api = Client(headers=bearer(raw))
    response = api.post(
        "/api/v1/tokens", json.dumps({"name": "ci"}), content_type="application/json"
    )
    assert response.status_code == 201
    issued = response.json()["token"]
    assert issued not in logs.text and raw not in logs.text
    listed = api.get("/api/v1/tokens").content.decode()
    assert issued not in listed and raw not in listed


@pytest.mark.django_db
def test_a_wrong_token_is_not_logged(owner, logs):
    guess = "ist_" + "g" * 40
    for _ in range(7):  # past the throttle, so its log lines are in too
        Client().get("/api/v1/generations", headers=bearer(guess), REMOTE_ADDR="10.9.9.9")
    assert guess not in logs.text


@pytest.mark.django_db
def test_passwords_are_never_logged(client, owner, logs):
    for password in ["wrong-password-1", "wrong-password-2", PASSWORD]:
        client.post("/accounts/login/", {"username": "owner", "password": password})
    for _ in range(5):
        client.post("/accounts/login/", {"username": "owner", "password": "wrong-password-3"})
    assert "wrong-password" not in logs.text
    assert PASSWORD not in logs.text


# -- password reset ----------------------------------------------------------------------------


@pytest.fixture
def deferred(monkeypatch):
    """The reset's background work, held here instead of run in a thread."""
    from imagestudio.web import password_reset

    held: list = []
    monkeypatch.setattr(password_reset, "dispatch", held.append)
    return held


@pytest.mark.django_db
def test_without_e_mail_there_is_no_reset_only_a_pointer_to_an_admin(client, owner, deferred):
    from django.core import mail

    page = client.get("/accounts/password_reset/")
    assert page.status_code == 200 and "Ask an admin" in page.content.decode()
    answer = client.post("/accounts/password_reset/", {"email": owner.email})
    assert "Ask an admin" in answer.content.decode()
    assert deferred == [] and mail.outbox == []


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer_before_any_work(
    client, owner, settings, deferred
):
    from django.core import mail

    settings.EMAIL_CONFIGURED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    known = client.post("/accounts/password_reset/", {"email": owner.email})
    unknown = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    # Nothing was looked up or sent while answering: both answers cost the same.
    assert mail.outbox == [] and len(deferred) == 2
    for work in deferred:
        work()
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "/accounts/reset/" in mail.outbox[0].body


@pytest.mark.django_db
def test_the_link_sets_a_new_password_in_the_studios_layout(client, owner, settings, deferred):
    import re

    from django.core import mail

    settings.EMAIL_CONFIGURED = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/accounts/password_reset/", {"email": owner.email})
    deferred[0]()
    link = re.search(r"http://testserver(/accounts/reset/\S+)", mail.outbox[0].body)[1]
    form = client.get(link, follow=True)
    assert 'class="topbar"' in form.content.decode()
    new = "a brand new passphrase 9"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, follow=True
    )
    assert "Your new password is set." in done.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(new)


@pytest.mark.django_db
def test_a_flood_of_resets_sends_a_handful_per_account_and_per_client(
    client, owner, settings, deferred
):
    from imagestudio.web import password_reset

    settings.EMAIL_CONFIGURED = True
    password_reset.BY_ACCOUNT.reset(owner.email.lower())
    for _ in range(20):
        answer = client.post("/accounts/password_reset/", {"email": owner.email.upper()})
        assert answer.status_code == 302
    assert len(deferred) == 3  # per account

    for number in range(20):
        client.post(
            "/accounts/password_reset/",
            {"email": f"nobody{number}@example.com"},
            REMOTE_ADDR="203.0.113.9",
        )
    assert len(deferred) == 3 + 5  # per client address, whatever the address asked for
