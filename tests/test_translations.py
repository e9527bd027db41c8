"""The Chinese catalogue: complete, compiled, and in step with the code.

The .mo files are committed (a user's machine has no GNU gettext), so a test proves they say
what the .po files say; another regenerates the catalogue from the code (when xgettext is
here: always under CI) and fails on a marked string the catalogue lacks."""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")


def entries(po: Path) -> list[dict]:
    """A .po file's entries: msgid, msgid_plural, msgstr (or msgstr[0]), flags."""
    found: list[dict] = []
    current: dict = {}
    key = ""

    def close() -> None:
        if current.get("msgid") is not None:
            found.append(dict(current))
        current.clear()

    for line in po.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            close()
            key = ""
            continue
        if line.startswith("#,"):
            current["flags"] = {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            key = "msgstr" if key in ("msgstr", "msgstr[0]") else key
            current[key] = ast.literal_eval(value)
    return [e for e in found if e["msgid"]]  # the header has an empty msgid


def catalogues() -> list[Path]:
    return [LOCALE / f"{d}.po" for d in DOMAINS if (LOCALE / f"{d}.po").exists()]


def test_the_django_catalogue_exists():
    assert (LOCALE / "django.po").exists()
    assert (LOCALE / "django.mo").exists()


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: p.name)
def test_every_entry_is_translated_and_none_is_fuzzy(po):
    items = entries(po)
    assert items
    untranslated = [e["msgid"] for e in items if not e.get("msgstr")]
    fuzzy = [e["msgid"] for e in items if "fuzzy" in e.get("flags", set())]
    assert not untranslated, f"{po.name}: untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{po.name}: fuzzy: {fuzzy[:20]}"


@pytest.mark.parametrize("po", catalogues(), ids=lambda p: p.name)
def test_the_compiled_catalogue_says_what_the_po_file_says(po):
    with po.with_suffix(".mo").open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    stale = []
    for entry in entries(po):
        if "msgid_plural" in entry:
            said = compiled.ngettext(entry["msgid"], entry["msgid_plural"], 2)
        elif "msgctxt" in entry:
            said = compiled.pgettext(entry["msgctxt"], entry["msgid"])
        else:
            said = compiled.gettext(entry["msgid"])
        if said != entry["msgstr"]:
            stale.append(entry["msgid"])
    assert not stale, f"{po.name} and its .mo differ (run `make messages`): {stale[:10]}"


@pytest.mark.skipif(
    not shutil.which("xgettext") and os.environ.get("CI") != "true",
    reason="GNU gettext (xgettext) is not installed here; CI runs this check",
)
def test_every_marked_string_is_in_the_catalogue(tmp_path):
    # makemessages writes into the tree it runs in: a copy of what it reads.
    for part in ("imagestudio", "templates", "static", "locale"):
        shutil.copytree(ROOT / part, tmp_path / part, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    for domain in DOMAINS:
        args = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-d", domain]
        subprocess.run(
            args, cwd=tmp_path, check=True, capture_output=True, env={**os.environ}, timeout=120
        )
        fresh = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"
        if not fresh.exists():
            continue
        kept = (
            {e["msgid"] for e in entries(LOCALE / f"{domain}.po")}
            if (LOCALE / f"{domain}.po").exists()
            else set()
        )
        missing = sorted({e["msgid"] for e in entries(fresh)} - kept)
        assert not missing, (
            f"{domain}: marked in the code but not in the catalogue (run `make messages` and "
            f"translate): {missing[:15]}"
        )


@pytest.mark.django_db
def test_a_browser_asking_for_chinese_gets_the_studio_in_chinese(owner_client):
    page = owner_client.get("/kits/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})

    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "工作室" in html and "品牌套件" in html
    assert ">Gallery<" not in html


@pytest.mark.django_db
def test_the_scripts_catalogue_is_served_in_the_language_asked(client):
    page = client.get("/accounts/login/", headers={"Accept-Language": "zh-hans"}).content.decode()
    url = re.search(r'<script src="(/jsi18n/[^"]+)"', page).group(1)
    assert url.startswith("/jsi18n/zh-hans/")

    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "django.gettext" in response.content.decode()
    # JSON inside the script: the words as \u escapes (four hex digits each).
    assert json.dumps("已加星标")[1:-1] in response.content.decode()


@pytest.mark.django_db
def test_api_messages_follow_accept_language_and_codes_stay_english(client):
    response = client.get("/api/v1/generations", headers={"Accept-Language": "zh-hans"})

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert "登录" in error["message"] or "令牌" in error["message"]
