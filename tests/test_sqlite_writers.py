"""The embedded profile's SQLite backend queues a process's write transactions on a lock
of the process (imagestudio.sqlite3), so threads writing at once take turns instead of
sleeping in SQLite's busy handler. The lock must be free again however a transaction
ends, or every later write of the process would wait for it."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.db.models import F

from imagestudio.sqlite3.base import _writer
from imagestudio.studio.models import Generation
from tests.factories import make_generation

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded profile's backend"),
]
THREADS = 20


def writers() -> threading.Lock:
    return _writer(str(connection.settings_dict["NAME"]))


def test_a_transaction_holds_its_process_writer_lock_until_it_commits(owner):
    generation = make_generation(owner)
    with transaction.atomic():
        Generation.objects.filter(pk=generation.pk).update(attempts=1)
        assert writers().locked()
    assert not writers().locked()


def test_the_writer_lock_is_freed_when_a_transaction_rolls_back(owner):
    generation = make_generation(owner)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        Generation.objects.filter(pk=generation.pk).update(attempts=1)
        1 / 0  # noqa: B018
    assert not writers().locked()
    assert Generation.objects.get(pk=generation.pk).attempts == 0


def test_the_writer_lock_is_freed_when_the_connection_closes_mid_transaction(owner):
    generation = make_generation(owner)
    with transaction.atomic():
        Generation.objects.filter(pk=generation.pk).update(attempts=1)
        connection.close()
        assert not writers().locked()
    connection.connect()
    assert Generation.objects.get(pk=generation.pk).attempts == 0


def test_threads_writing_at_once_all_commit_one_after_another(owner):
    generation = make_generation(owner)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(3):
                with transaction.atomic():
                    row = Generation.objects.select_for_update().get(pk=generation.pk)
                    Generation.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert Generation.objects.get(pk=generation.pk).attempts == THREADS * 3
    assert not writers().locked()
