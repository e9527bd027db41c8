"""Django's SQLite backend with a process's write transactions queued on a lock of the
process before they ask SQLite.

SQLite lets one connection write at a time. A connection that finds the write lock taken
sleeps in SQLite's busy handler (1, 2, 5, 10 … 100 ms) and tries again, in no order, so
dozens of worker threads writing at once wait on those sleeps rather than on one another:
in bench k, 25 jobs whose -vip call failed at the same moment took up to 0.9 s to write
their hop, each write holding the lock for a few milliseconds (50 threads writing three
transactions each: 3 s before the last was done, 0.4 s queued here). Here a transaction
(an atomic block, started with BEGIN IMMEDIATE) first takes its process's lock for the
database file, so the process's writers go one after another and only one of them at a
time meets SQLite's lock, which the other processes (the web, beat) still share. Reads
and single statements outside a transaction take no lock: WAL lets reads go on, and a
lone UPDATE waits in SQLite as before."""

from __future__ import annotations

import threading
from typing import Any

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

# The stubs leave out the backend's private hooks overridden here.
_SQLite: Any = base.DatabaseWrapper

_guard = threading.Lock()
_writers: dict[str, threading.Lock] = {}


def _writer(name: str) -> threading.Lock:
    with _guard:
        return _writers.setdefault(name, threading.Lock())


class DatabaseWrapper(_SQLite):
    _holding: threading.Lock | None = None

    def _start_transaction_under_autocommit(self) -> None:
        lock = _writer(str(self.settings_dict["NAME"]))
        # As long as SQLite itself would wait for its lock (OPTIONS timeout), then the
        # same error it would raise.
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked (waited for this process's writers)")
        self._holding = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _release_writer(self) -> None:
        lock, self._holding = self._holding, None
        if lock is not None:
            lock.release()

    # A transaction ends in one of these, whatever happened in it.
    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._release_writer()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._release_writer()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._release_writer()

    def _set_autocommit(self, autocommit: bool) -> None:
        # Back to autocommit without a commit (set_autocommit(True) by hand): sqlite3
        # commits what is pending.
        try:
            super()._set_autocommit(autocommit)
        finally:
            if autocommit:
                self._release_writer()
