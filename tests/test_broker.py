"""The embedded profile's filesystem broker never shows a worker a half-written message."""

from __future__ import annotations

import os
from pathlib import Path
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from imagestudio import broker
from imagestudio.celery import app


def _channel(folder: Path):
    connection = Connection(
        "filesystem://",
        transport=broker.Transport,
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "store_processed": False,
        },
    )
    return connection, connection.default_channel


def test_the_embedded_profile_sends_through_the_whole_message_transport():
    assert settings.CELERY_BROKER_URL.startswith("filesystem://")
    with app.connection_for_write() as connection:
        assert isinstance(connection.default_channel, broker.Channel)


def test_a_message_is_unseen_until_it_is_written_whole_and_then_read_intact(tmp_path, monkeypatch):
    connection, channel = _channel(tmp_path)
    seen_while_writing: list[object] = []
    real_replace = os.replace

    def replace_after_looking(src, dst):
        # The file is written but not yet in place: a polling worker must find nothing.
        try:
            seen_while_writing.append(channel._get("celery"))
        except Empty:
            seen_while_writing.append(None)
        real_replace(src, dst)

    monkeypatch.setattr(broker.os, "replace", replace_after_looking)
    with connection:
        channel._put("celery", {"body": "job 7"})
        assert seen_while_writing == [None]
        assert channel._get("celery") == {"body": "job 7"}
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(Empty):
            channel._get("celery")
