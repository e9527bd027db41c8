"""The README's first-day steps name pages that exist and no superuser for everyday users."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.factories import make_user

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parent.parent / "README.md"


def first_day() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### The first day")
    return text[start : text.index("\n## ", start)]


def test_the_first_day_comes_right_after_the_two_commands():
    text = README.read_text(encoding="utf-8")
    assert text.index("make test\n```") < text.index("### The first day") < text.index("\n## ")


def test_every_page_the_readme_names_exists(client):
    client.force_login(make_user("boss", staff=True))
    paths = set(
        re.findall(
            r"`(/(?:people|account|spend|admin|kits|boards|gallery)[^`\s]*/)`",
            README.read_text(encoding="utf-8"),
        )
    )
    assert "/account/preferences/" in paths and "/people/teams/" in paths
    missing = [p for p in sorted(paths) if client.get(p).status_code == 404]
    assert not missing


def test_more_users_are_not_made_superusers():
    text = README.read_text(encoding="utf-8")
    assert "createsuperuser" not in text
    assert "nobody needs a superuser" in first_day()
