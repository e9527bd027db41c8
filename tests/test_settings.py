"""Settings come from the environment and fail loudly, in one line, on bad values."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from imagestudio import env as envmod

from .conftest import ROOT

PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.STORAGES['default']['BACKEND']); print(s.DATABASES['default']['ENGINE']); "
    "print(s.CELERY_BROKER_URL); print(s.UPSTREAM_SIMULATED); print(s.DEBUG)"
)


def settings_in_subprocess(tmp_path, **extra) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMAGESTUDIO_", "DATABASE_URL", "CELERY_"))
    }
    env.update(
        IMAGESTUDIO_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="imagestudio.settings", **extra
    )
    return subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_embedded_defaults(tmp_path):
    out = settings_in_subprocess(tmp_path).stdout.split()
    assert out == [
        "django.core.files.storage.FileSystemStorage",
        "imagestudio.sqlite3",
        "filesystem://",
        "True",  # no API key: the simulated gateway stands in
        "False",  # DEBUG off unless asked
    ]
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert settings_in_subprocess(tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key  # generated once, then reused


def test_scale_out_switches_by_environment_only(tmp_path):
    out = settings_in_subprocess(
        tmp_path,
        IMAGESTUDIO_S3_BUCKET="images",
        IMAGESTUDIO_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/imagestudio",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        IMAGESTUDIO_API_KEY="sk-real",
        IMAGESTUDIO_DEBUG="1",
    ).stdout.split()
    assert out == [
        "storages.backends.s3.S3Storage",
        "django.db.backends.postgresql",
        "redis://127.0.0.1:6379/0",
        "False",
        "True",
    ]


def test_bad_value_is_one_clear_line(tmp_path):
    env = {
        **os.environ,
        "IMAGESTUDIO_DATA_DIR": str(tmp_path),
        "IMAGESTUDIO_UPSTREAM_TIMEOUT": "soon",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "error: IMAGESTUDIO_UPSTREAM_TIMEOUT='soon' is not a number"


@pytest.mark.parametrize(
    ("reader", "raw", "message"),
    [
        (lambda: envmod.env_bool("X_FLAG"), "maybe", "is not a boolean"),
        (lambda: envmod.env_int("X_FLAG", 1, minimum=1), "0", "must be at least 1"),
        (lambda: envmod.env_int("X_FLAG", 1), "3.5", "is not an integer"),
        (lambda: envmod.env_choice("X_FLAG", "url", {"url", "b64_json"}), "png", "must be one of"),
    ],
)
def test_readers_refuse_bad_values(monkeypatch, reader, raw, message):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(envmod.EnvError, match=message):
        reader()


def test_readers_accept_good_values(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert envmod.env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "")
    assert envmod.env_int("X_FLAG", 7) == 7
