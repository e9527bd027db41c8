# ruff: noqa: F811
"""What a studio page asks again when its tiles finish (studio.js, issue 26): the spend
line and the form's hint at the first finished tile, then at most every 10 s while a batch
goes on finishing, and once after the last. The browser's clock is Playwright's, so the
10 s pass at once; Debian's Chromium and the live server, no worker (the tiles' finishing
is their poll inputs leaving the page, as a poll's swap does)."""

from __future__ import annotations

import pytest

from imagestudio.studio.models import Status
from tests.factories import make_generation
from tests.test_browser import chromium_path, designer, page  # noqa: F401  (fixtures)
from tests.test_browser_form_edges import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COUNT_ASKS = """() => {
  window.asked = 0;
  document.body.addEventListener("studio:images-finished", () => { window.asked += 1; });
}"""
# What a poll's swap does to a finished tile's poll input, and the settle that follows it.
FINISH = """pk => {
  document.querySelector(`#tiles [data-poll-id][value^="${pk}:"]`).remove();
  document.dispatchEvent(new Event("htmx:afterSettle"));
}"""


@pytest.fixture
def running(designer):
    # Made before Playwright starts (see `designer`). The fourth stays pending, so the
    # poller still has inputs to send.
    return [make_generation(designer, status=Status.RUNNING).pk for _ in range(4)]


def test_tiles_finishing_one_after_another_ask_at_the_first_and_once_after_the_last(
    live_server, designer, running, page
):
    page.clock.install()
    sign_in(page, live_server)
    page.evaluate(COUNT_ASKS)

    def finish(pk: int) -> int:
        page.evaluate(FINISH, pk)
        page.clock.run_for(100)  # studio.js settles 30 ms after a swap
        return page.evaluate("window.asked")

    assert finish(running[0]) == 1  # at once
    page.clock.run_for(2_000)
    assert finish(running[1]) == 1  # within 10 s of the last ask: owed, not sent
    page.clock.run_for(2_000)
    assert finish(running[2]) == 1
    page.clock.run_for(6_000)
    assert page.evaluate("window.asked") == 2  # the owed ask, 10 s after the first
    page.clock.run_for(20_000)
    assert page.evaluate("window.asked") == 2  # nothing more finished
    assert page.problems == []
