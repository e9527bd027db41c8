"""The data dir and what is in it are the studio user's alone: the directory 0700 (nothing
inside can be opened by anyone else, whatever the files' own modes), the secret key and the
SQLite database 0600 as well, in case the directory is ever opened up."""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
PRIVATE_FILES = ("secret_key", "db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm")


def make_private(data_dir: Path) -> None:
    """Tighten modes the studio's own user may change; leave what it does not own (a
    mounted volume, a directory shared on purpose) as it is."""
    _chmod(data_dir, DIR_MODE)
    for name in PRIVATE_FILES:
        _chmod(data_dir / name, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        info = path.stat()
    except OSError:
        return
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & ~mode == 0:
        return
    try:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
    except OSError:
        return
