"""Every billing rule of docs/gateway.md, through the real worker and client against the
simulated gateway: the ledger rows, and the totals the dashboard and the report print."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from imagestudio import catalog
from imagestudio.spend import reports
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation
from imagestudio.studio.tasks import run_generation
from imagestudio.upstream.client import reset_client
from tests.factories import make_generation, make_team

pytestmark = pytest.mark.django_db
P = Decimal("0.03")


@pytest.fixture(autouse=True)
def _gateway(gateway, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 3
    settings.UPSTREAM_TIMEOUT = 1.0


def run(owner, prompt, size="1280x720", team=None) -> Generation:
    # The simulator counts once-only faults ([sim:429x2]) per prompt for the whole session.
    prompt = f"{prompt} {uuid.uuid4().hex}"
    generation = make_generation(owner, prompt=prompt, size=size, team=team)
    run_generation(generation.pk)
    return generation


def rows(generation) -> list[tuple[str, int | None, bool, Decimal]]:
    return [
        (a.outcome, a.http_status, a.billed, a.amount)
        for a in Attempt.objects.filter(generation=generation).order_by("number")
    ]


# (prompt, size, the ledger rows the gateway's rules give)
RULES = {
    "image": ("a lighthouse", "1280x720", [("image", 200, True, P)]),
    "soft refusal": ("[sim:soft-refusal] x", "1280x720", [("soft_refusal", 200, True, P)]),
    "corrupt image": ("[sim:corrupt] x", "1280x720", [("bad_image", 200, True, P)]),
    "4xx": ("[sim:moderation] x", "1280x720", [("rejected", 400, False, 0)]),
    "401": ("[sim:401] x", "1280x720", [("rejected", 401, False, 0)]),
    "429 then image": (
        "[sim:429x2] x",
        "1280x720",
        [("saturated", 429, False, 0), ("saturated", 429, False, 0), ("image", 200, True, P)],
    ),
    "5xx then image": (
        "[sim:500x1] x",
        "1280x720",
        [("upstream_error", 500, False, 0), ("image", 200, True, P)],
    ),
    "content policy 500": (
        "[sim:content-policy] x",
        "1280x720",
        [("content_policy", 500, False, 0)],
    ),
    "4K 500 falls back to 2K": (
        "[sim:4k-500] x",
        "3840x2160",
        [("upstream_error", 500, False, 0), ("image", 200, True, P)],
    ),
}


@pytest.mark.parametrize("rule", RULES)
def test_each_rule_writes_the_right_rows(owner, rule):
    prompt, size, expected = RULES[rule]
    generation = run(owner, prompt, size)
    assert rows(generation) == [(o, s, b, Decimal(a)) for o, s, b, a in expected]
    generation.refresh_from_db()
    assert generation.cost_usd == sum((Decimal(e[3]) for e in expected), Decimal("0"))


def test_timeout_is_billed_per_attempt_and_counts_as_bought_nothing(owner, settings):
    settings.UPSTREAM_MAX_ATTEMPTS = 2
    reset_client()
    generation = run(owner, "[sim:timeout] x")
    assert [(o, b) for o, _s, b, _a in rows(generation)] == [("timeout", True), ("timeout", True)]
    now = timezone.now()
    t = reports.totals(reports.Filters(now - timedelta(hours=1), now + timedelta(hours=1)))
    assert t["total"] == Decimal("0.06") and t["wasted"] == Decimal("0.06")
    assert t["wasted_share"] == 1.0


def test_totals_match_the_rows_and_the_report_command(owner):
    team = make_team("Design", owner)
    for prompt, size, _ in RULES.values():
        run(owner, prompt, size, team=team)
    now = timezone.now()
    t = reports.totals(reports.Filters(now - timedelta(hours=1), now + timedelta(hours=1)))
    billed = [e for _p, _s, expected in RULES.values() for e in expected if e[2]]
    unbilled = [e for _p, _s, expected in RULES.values() for e in expected if not e[2]]
    assert t["total"] == P * len(billed) == Decimal("0.18")
    assert (t["billed_calls"], t["unbilled_calls"]) == (len(billed), len(unbilled))
    # soft refusal + corrupt image bought nothing
    assert t["wasted"] == Decimal("0.06") and t["wasted_calls"] == 2
    assert Attempt.objects.filter(team=team).count() == t["calls"]

    out = StringIO()
    call_command("spend_report", "--month", now.strftime("%Y-%m"), stdout=out)
    text = out.getvalue()
    assert "Total: $0.1800 in 6 billed calls" in text
    assert "owner" in text and "Design" in text and catalog.VIP in text
    assert text.count("0.1800") >= 4  # total, user, team, model: the same figure


def test_deleted_image_keeps_its_ledger_rows(owner):
    generation = run(owner, "a lighthouse")
    generation.refresh_from_db()
    generation.soft_delete()
    Generation.objects.filter(pk=generation.pk).delete()
    row = Attempt.objects.get()
    assert row.generation_id is None and row.billed and row.amount == P
