"""The staff spend dashboard shows the tokens of token-billed calls where there are any, on
the page and in its CSV exports, as a user's own ledger does."""

from __future__ import annotations

import pytest

from imagestudio import catalog
from tests.factories import make_attempt
from tests.test_spend_dashboard import DASHBOARD, body, parse_csv

pytestmark = pytest.mark.django_db
OFFICIAL = "gpt-image-2"


def official(user, text, image, output, amount="0.051234"):
    return make_attempt(
        user,
        model=OFFICIAL,
        amount=amount,
        quality="high",
        text_tokens=text,
        image_tokens=image,
        output_tokens=output,
    )


@pytest.fixture
def ledger(owner):
    official(owner, 40, 1000, 4000)
    official(owner, 60, 0, 6000)
    make_attempt(owner, model=OFFICIAL, amount="0.2", quality="high", usage_missing=True)
    make_attempt(owner, model=catalog.VIP)  # per call: no tokens


def test_the_dashboard_sums_the_tokens_per_model_and_over_the_range(admin_client_, ledger):
    html = body(admin_client_.get(DASHBOARD))
    assert "100 + 1000 → 10000 in 2 calls billed by tokens" in html
    assert "1 call answered without usage, billed at the top of its estimate" in html
    by_model = html.split('data-table="by_model"', 1)[1].split("</table>", 1)[0]
    official_row = by_model.split(f"<td>{OFFICIAL}</td>", 1)[1].split("</tr>", 1)[0]
    vip_row = by_model.split(f"<td>{catalog.VIP}</td>", 1)[1].split("</tr>", 1)[0]
    assert official_row.endswith("<td>100 + 1000 → 10000</td>")
    assert vip_row.endswith("<td>—</td>")


def test_a_range_without_token_calls_says_nothing_of_tokens(admin_client_, owner):
    make_attempt(owner, model=catalog.VIP)
    html = body(admin_client_.get(DASHBOARD))
    assert 'data-total="tokens"' not in html
    assert "billed by tokens" not in html


def test_the_csv_has_the_tokens_where_there_are_any(admin_client_, ledger):
    rows = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "by_model"}))
    by_key = {r["key"]: r for r in rows}
    got = by_key[OFFICIAL]
    assert (got["token_calls"], got["text_tokens"], got["image_tokens"]) == ("2", "100", "1000")
    assert (got["output_tokens"], got["usage_missing_calls"]) == ("10000", "1")
    vip = by_key[catalog.VIP]
    assert [vip[k] for k in ("token_calls", "text_tokens", "output_tokens")] == ["", "", ""]
    (total,) = parse_csv(admin_client_.get(DASHBOARD, {"format": "csv", "table": "totals"}))
    assert total["output_tokens"] == "10000"
