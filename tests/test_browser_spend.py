"""An admin opens the spend dashboard in a real browser: totals, the SVG chart (drawn
under the self-only CSP, no console errors), a filter, and a CSV download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from imagestudio import catalog
from tests.factories import make_attempt, make_user
from tests.test_browser import TIMEOUT_MS, chromium_path, page  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a long test password"


@pytest.fixture
def ledger():
    # Created before Playwright starts: its event loop makes the ORM refuse this thread.
    admin = make_user("admin", superuser=True, password=PASSWORD)
    designer = make_user("designer", password=PASSWORD)
    for user, outcome, model in [
        (designer, "image", catalog.VIP),
        (designer, "soft_refusal", catalog.ALL),
        (admin, "image", catalog.ALL),
        (admin, "saturated", catalog.VIP),
    ]:
        make_attempt(
            user,
            outcome,
            model=model,
            http_status=429 if outcome == "saturated" else 200,
            latency=5_000,
        )
    return admin


def test_admin_reads_the_dashboard_and_downloads_a_csv(live_server, ledger, page):  # noqa: F811
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/?next=/spend/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/spend/")

    expect(page.locator("[data-total=month]")).to_have_text("$0.09")
    expect(page.locator("[data-total=range]")).to_have_text("$0.09")
    expect(page.locator("[data-total=wasted]")).to_contain_text("$0.03 in 1 billed call")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    assert page.locator("svg.chart rect.chart__bar").count() >= 1
    # The bar's colour comes from the stylesheet, which the CSP allows; an inline style
    # would have been refused and left the bar black.
    fill = page.locator("svg.chart rect.chart__bar").last.evaluate(
        "el => getComputedStyle(el).fill"
    )
    assert fill not in ("", "rgb(0, 0, 0)")

    page.select_option("#f-user", label="designer")
    page.click("form.filters button[type=submit]")
    expect(page.locator("[data-total=range]")).to_have_text("$0.06")

    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        page.click("text=CSV >> nth=2")  # totals, latency, then the by-user table
    download = download_info.value
    assert download.suggested_filename.startswith("spend-by-user-")
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    # Human headers in the reader's language (English here).
    assert [(r["User"], r["Spend (USD)"], r["Calls"]) for r in rows] == [
        ("designer", "0.0600", "2")
    ]
    assert page.problems == [], "\n".join(page.problems)
