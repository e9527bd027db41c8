"""The gateway's own books (issue 24): its Log Query API, served by a simulator process
over real HTTP, read and matched with the ledger; each kind of difference found."""

from __future__ import annotations

import time
from datetime import UTC, timedelta
from decimal import Decimal

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from imagestudio import catalog
from imagestudio.audit.models import AuditEntry
from imagestudio.reconcile import books, logapi
from imagestudio.reconcile.models import LogRow, MalformedRow, Pull, State
from imagestudio.reconcile.tasks import reconcile_recent
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.studio.tasks import run_generation, sweep
from imagestudio.upstream.client import reset_client
from imagestudio.upstream.types import Outcome

from .conftest import running_simulator
from .factories import make_generation
from .test_budget_alerts import Receiver, read_mail

pytestmark = pytest.mark.django_db
TOKEN = "system-token-for-tests"
PRICE = catalog.gateway_price(catalog.VIP)
# The simulator draws this size fastest.
SMALL = "1280x544"


@pytest.fixture(scope="module")
def log_sim():
    with running_simulator("--latency", "0", "--log-token", TOKEN) as base:
        yield base


class Sim:
    """The simulator's log, steered over HTTP as a test tells it to."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.root = base.removesuffix("/v1")

    def tell(self, action: str, body: dict | None = None) -> dict:
        answer = httpx.post(f"{self.root}/_sim/log/{action}", json=body or {}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def call(self, prompt: str = "a lost lighthouse") -> str:
        """A call that reaches the gateway and is billed, whatever the studio does next."""
        answer = httpx.post(
            f"{self.base}/{catalog.GENERATIONS}",
            headers={"Authorization": "Bearer sk-test"},
            json={
                "model": catalog.VIP,
                "prompt": prompt,
                "size": SMALL,
                "response_format": "url",
            },
            timeout=10,
        )
        assert answer.status_code == 200
        return answer.headers["x-request-id"]


@pytest.fixture
def sim(log_sim, settings):
    settings.UPSTREAM_BASE_URL = log_sim
    settings.UPSTREAM_API_KEY = "sk-test"
    settings.UPSTREAM_RETRY_BASE_DELAY = 0
    settings.GATEWAY_SYSTEM_TOKEN = TOKEN
    settings.GATEWAY_LOG_BASE_URL = log_sim.removesuffix("/v1")
    settings.GATEWAY_LOG_MIN_INTERVAL = 0
    settings.GATEWAY_LOG_BACKOFF = 0
    settings.RECONCILE_SETTLE_SECONDS = 0
    reset_client()
    steer = Sim(log_sim)
    steer.tell("reset")
    yield steer
    reset_client()


def period():
    now = timezone.now()
    return now - timedelta(hours=1), now + timedelta(seconds=5)


def today():
    return timezone.now().astimezone(UTC).date()


def kinds() -> list[tuple[str, str]]:
    return [(d.kind, d.request_id) for d in books.differences(today(), today())]


def test_every_billed_call_is_matched_by_its_request_id_and_the_day_agrees(owner, sim):
    made = [make_generation(owner, size=SMALL) for _ in range(2)]
    refused = make_generation(owner, prompt="[sim:soft-refusal] a poster", size=SMALL)
    for g in [*made, refused]:
        run_generation(g.pk)
    outcome = books.reconcile(*period())
    assert outcome.pull.outcome == Pull.Outcome.OK and outcome.decided == 3
    rows = LogRow.objects.select_related("attempt")
    assert {(r.state, r.attempt.request_id == r.request_id) for r in rows} == {
        (State.MATCHED, True)
    }
    assert [r.amount for r in rows] == [PRICE] * 3
    [day] = books.days(today(), today())
    assert (day.gateway, day.ledger, day.difference) == (PRICE * 3, PRICE * 3, 0)
    assert kinds() == []


def test_a_second_run_over_an_overlapping_period_keeps_each_row_once(owner, sim):
    sim.tell("rows", {"rows": [{"model": catalog.VIP} for _ in range(12)]})  # > 1 page
    first = books.reconcile(*period())
    start, end = period()
    second = books.reconcile(start - timedelta(hours=2), end)
    assert (first.pull.rows, first.pull.new_rows, first.decided) == (12, 12, 12)
    assert (second.pull.rows, second.pull.new_rows) == (12, 0)
    # Page 0 and page 1 are the same first page (read as 1), then 2, then an empty page.
    assert first.pull.pages == 4
    assert LogRow.objects.count() == 12


def test_a_call_the_studio_never_heard_of_is_added_to_the_ledger_once(owner, sim):
    sim.tell("rows", {"rows": [{"model": catalog.ALL, "request_id": "phantom-1"}]})
    books.reconcile(*period())
    books.reconcile(*period())
    row = LogRow.objects.get()
    assert (row.state, row.added) == (State.UNKNOWN_HERE, True)
    attempt = Attempt.objects.get()
    assert row.attempt == attempt
    assert (attempt.outcome, attempt.billed, attempt.amount, attempt.request_id) == (
        Outcome.LOST,
        True,
        catalog.gateway_price(catalog.ALL),
        "phantom-1",
    )
    assert attempt.user.username == books.GATEWAY_USER and not attempt.user.is_active
    assert kinds() == [("unknown_here", "phantom-1")]
    [day] = books.days(today(), today())
    assert day.difference == 0  # the ledger has it now


def test_a_call_the_gateway_did_not_bill_is_named_and_a_later_one_is_not_in_the_log_yet(
    owner, sim, settings
):
    # A call is "not billed" once a complete pull has read the window after it.
    settings.RECONCILE_WINDOW_SECONDS = 1
    skipped, kept = make_generation(owner, size=SMALL), make_generation(owner, size=SMALL)
    run_generation(skipped.pk)
    run_generation(kept.pk)
    request_id = skipped.attempt_rows.get().request_id
    sim.tell("skip", {"request_ids": [request_id]})
    time.sleep(1.2)
    start, _end = period()
    books.reconcile(start, timezone.now() + timedelta(hours=1))
    later = make_generation(owner, size=SMALL)
    run_generation(later.pk)
    late_id = later.attempt_rows.get().request_id
    assert kinds() == [("not_billed_by_gateway", request_id), ("not_in_log_yet", late_id)]
    [day] = books.days(today(), today())
    assert day.difference == -2 * PRICE


def test_a_call_the_gateway_billed_and_the_ledger_did_not_is_an_amount_difference(owner, sim):
    generation = make_generation(owner, prompt="[sim:500] a poster", size=SMALL)
    Generation.claim(generation.pk)
    from .test_faults_lost import answer

    generation.record_attempt(answer(1, outcome=Outcome.UPSTREAM_ERROR, billed=False))
    sim.tell("rows", {"rows": [{"model": catalog.VIP, "request_id": "req-late"}]})
    books.reconcile(*period())
    row = LogRow.objects.get()
    assert row.state == State.AMOUNT_DIFFERS and row.attempt.generation_id == generation.pk
    [d] = books.differences(today(), today())
    assert (d.kind, d.gateway, d.ledger, d.generation_id) == (
        "amount_differs",
        PRICE,
        0,
        generation.pk,
    )


def silent(generation, settings) -> None:
    """Its worker died with its request at the gateway (as tests/test_faults_lost.py)."""
    assert Generation.claim(generation.pk)
    gone = timezone.now() - timedelta(seconds=settings.STALE_RUNNING_SECONDS + 5)
    Generation.objects.filter(pk=generation.pk).update(heartbeat_at=gone, calling_since=gone)


def test_a_killed_workers_call_is_found_and_added_once(owner, sim, settings):
    generation = make_generation(owner, size=SMALL)
    silent(generation, settings)
    request_id = sim.call(generation.prompt)
    # The beat was down: no sweep has run. Reconciling finds the call, and the dead
    # job's lost row is written by the sweep's own path, once.
    books.reconcile(*period())
    books.reconcile(*period())
    assert sweep()["failed"] == 0
    generation.refresh_from_db()
    assert (generation.status, generation.cost_usd) == (Status.FAILED, PRICE)
    [attempt] = Attempt.objects.all()
    assert (attempt.outcome, attempt.generation_id) == (Outcome.LOST, generation.pk)
    row = LogRow.objects.get()
    assert (row.request_id, row.attempt, row.state) == (request_id, attempt, State.MATCHED)
    assert kinds() == []


def test_a_killed_workers_call_the_sweep_billed_is_matched_by_time(owner, sim, settings):
    generation = make_generation(owner, size=SMALL)
    silent(generation, settings)
    sim.call(generation.prompt)
    assert sweep()["failed"] == 1
    books.reconcile(*period())
    row = LogRow.objects.get()
    assert row.state == State.MATCHED and row.attempt.generation_id == generation.pk
    assert Attempt.objects.count() == 1


def test_no_row_is_matched_to_two_calls_nor_two_rows_to_one(owner, sim, settings):
    lost = [make_generation(owner, size=SMALL) for _ in range(2)]
    for generation in lost:
        silent(generation, settings)
    assert sweep()["failed"] == 2  # two lost calls, neither with a request id
    sim.tell("rows", {"rows": [{"model": catalog.VIP} for _ in range(3)]})
    books.reconcile(*period())
    matched = LogRow.objects.filter(state=State.MATCHED)
    assert {r.attempt.generation_id for r in matched} == {g.pk for g in lost}
    extra = LogRow.objects.get(state=State.UNKNOWN_HERE)
    assert extra.added and extra.attempt.generation_id is None
    assert Attempt.objects.count() == 3


def test_clock_skew_of_minutes_is_absorbed(owner, settings, sim):
    sim.tell("skew", {"seconds": -240})  # the gateway's clock is 4 minutes slow
    generation = make_generation(owner, size=SMALL)
    silent(generation, settings)
    sim.call(generation.prompt)
    sweep()
    books.reconcile(*period())
    row = LogRow.objects.get()
    assert timezone.now() - row.created_at > timedelta(minutes=3)
    assert row.state == State.MATCHED and row.attempt.generation_id == generation.pk


def test_a_wrong_token_marks_nothing_and_the_page_says_so(owner, sim, settings, admin_client_):
    sim.call()
    settings.GATEWAY_SYSTEM_TOKEN = "not-the-token"
    outcome = books.reconcile(*period())
    assert outcome.pull.outcome == Pull.Outcome.BAD_TOKEN
    assert not LogRow.objects.exists() and not Attempt.objects.exists()
    page = admin_client_.get(reverse("reconcile:books")).content.decode()
    assert "refused the system token" in page and "not-the-token" not in page
    with pytest.raises(CommandError, match="refused the system token"):
        call_command("reconcile", "--from", today().isoformat())


def test_a_log_that_is_down_is_retried_later_and_marks_nothing(owner, sim, admin_client_):
    generation = make_generation(owner, size=SMALL)
    run_generation(generation.pk)
    sim.tell("fault", {"status": 503, "times": 5})  # the first try and its 4 retries
    down = books.reconcile(*period())
    assert down.pull.outcome == Pull.Outcome.UNAVAILABLE and down.pull.pages == 5
    assert not LogRow.objects.exists()
    # Nothing marked: the call is only "not in the log yet", never "not billed".
    assert [k for k, _ in kinds()] == ["not_in_log_yet"]
    assert "could not be read" in admin_client_.get(reverse("reconcile:books")).content.decode()
    assert books.reconcile(*period()).pull.outcome == Pull.Outcome.OK
    assert LogRow.objects.get().state == State.MATCHED


def test_the_beat_reconciles_every_hour():
    from imagestudio.celery import app

    entry = app.conf.beat_schedule["reconcile-gateway-log"]
    assert (entry["task"], entry["schedule"]) == (reconcile_recent.name, 3600.0)


def test_the_hourly_period_starts_where_the_last_complete_pull_ended(sim):
    now = timezone.now()
    assert books.recent_period(now) == (
        now - timedelta(days=1, seconds=60),
        now - timedelta(seconds=60),
    )
    Pull.objects.create(
        period_start=now - timedelta(hours=5), period_end=now - timedelta(hours=3), outcome="ok"
    )
    Pull.objects.create(
        period_start=now - timedelta(hours=3),
        period_end=now - timedelta(hours=1),
        outcome="unavailable",
    )
    start, end = books.recent_period(now)
    assert start == now - timedelta(hours=3) - 2 * books.window()
    assert reconcile_recent()["outcome"] == Pull.Outcome.OK
    assert Pull.objects.first().period_start == start


def test_a_slow_log_is_given_up_on_and_429_is_backed_off(owner, sim, settings):
    settings.GATEWAY_LOG_TIMEOUT = 0.2
    sim.tell("fault", {"delay": 0.5, "times": 5})
    assert books.reconcile(*period()).pull.outcome == Pull.Outcome.UNAVAILABLE
    sim.call()
    sim.tell("fault", {"status": 429, "times": 2})
    outcome = books.reconcile(*period())
    assert outcome.pull.outcome == Pull.Outcome.OK and outcome.pull.new_rows == 1


def test_a_malformed_row_is_kept_aside_once_and_shown(owner, sim, admin_client_):
    sim.call()
    sim.tell("malformed", {"row": {"type": 2, "quota": "lots", "model_name": catalog.VIP}})
    books.reconcile(*period())
    books.reconcile(*period())
    bad = MalformedRow.objects.get()
    assert bad.problem == "no_created_at" and '"lots"' in bad.raw
    # The good row beside it is read as usual (a call made outside the studio).
    assert LogRow.objects.get().state == State.UNKNOWN_HERE
    page = admin_client_.get(reverse("reconcile:books")).content.decode()
    assert "could not be read" in page and "no created_at timestamp" in page


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ("a line of text", "not_an_object"),
        ({"created_at": 1, "quota": 1, "model_name": "m"}, "no_id"),
        ({"id": 1, "quota": 1, "model_name": "m"}, "no_created_at"),
        ({"id": 1, "created_at": 1, "quota": -5, "model_name": "m"}, "no_quota"),
        ({"id": 1, "created_at": 1, "quota": 1}, "no_model"),
        (
            {"id": 1, "created_at": 1, "quota": 1, "model_name": "m", "other": "{oops"},
            "other_not_json",
        ),
        ({"id": 1, "created_at": 10**20, "quota": 1, "model_name": "m"}, "unreadable_number"),
    ],
)
def test_a_row_that_cannot_be_read_is_named_never_raised(item, problem):
    parsed = logapi.parse_row(item)
    assert isinstance(parsed, logapi.Malformed) and parsed.problem == problem


def test_a_row_is_read_to_the_millionth_with_its_path_from_other():
    row = logapi.parse_row(
        {
            "id": 7,
            "created_at": 1_796_600_000,
            "quota": 2_063,
            "model_name": "gpt-image-2",
            "other": '{"request_path": "/v1/images/edits", "billing_type": "per_token",'
            ' "request_id": "req-7"}',
        }
    )
    assert isinstance(row, logapi.Row)
    assert (row.amount, row.path, row.request_id) == (
        Decimal("0.004126"),
        "/v1/images/edits",
        "req-7",
    )


def test_without_a_token_the_page_says_so_and_nothing_happens(settings, admin_client_):
    settings.GATEWAY_SYSTEM_TOKEN = ""
    assert reconcile_recent() == {"configured": False}
    assert not Pull.objects.exists()
    page = admin_client_.get(reverse("reconcile:books")).content.decode()
    assert "IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN is not set" in page


def test_the_system_token_never_reaches_the_page(owner, sim, admin_client_):
    sim.call()
    books.reconcile(*period())
    page = admin_client_.get(reverse("reconcile:books")).content.decode()
    assert TOKEN not in page and "0.03" in page
    assert TOKEN not in repr(books.reader())


def test_the_gzip_answer_holds_at_most_ten_rows_whatever_page_size_says(sim):
    sim.tell("rows", {"rows": [{"model": catalog.VIP} for _ in range(11)]})
    answer = httpx.get(
        f"{sim.root}/api/log/self",
        params={"p": 1, "page_size": 100, "type": 2},
        headers={"Authorization": TOKEN},
    )
    assert answer.headers["content-encoding"] == "gzip"
    items = answer.json()["data"]["items"]
    assert len(items) == 10 and isinstance(items[0]["other"], str)
    assert items[0]["quota"] == int(PRICE * 500_000)
    bearer = httpx.get(f"{sim.root}/api/log/self", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 401 and bearer.json()["success"] is False


def test_the_command_prints_each_day(owner, sim, capsys):
    generation = make_generation(owner, size=SMALL)
    run_generation(generation.pk)
    call_command("reconcile", "--from", today().isoformat(), "--to", today().isoformat())
    out = capsys.readouterr().out
    assert f"{today()}  gateway 0.03  ledger 0.03  difference 0.00" in out
    with pytest.raises(CommandError):
        call_command("reconcile", "--from", "yesterday")


def test_a_credit_worthy_soft_refusal_is_matched_and_claimed_with_the_gateways_log_id(
    owner, sim, admin_client_
):
    generation = make_generation(owner, prompt="[sim:soft-refusal] a poster", size=SMALL)
    run_generation(generation.pk)
    books.reconcile(*period())
    row = LogRow.objects.get()
    assert row.state == State.MATCHED and row.attempt.outcome == Outcome.SOFT_REFUSAL
    month = today().strftime("%Y-%m")
    page = admin_client_.get(reverse("spend:soft_refusals"), {"month": month}).content.decode()
    assert f"<td data-gateway-log-id>{row.log_id}</td>" in page
    csv = admin_client_.get(reverse("spend:soft_refusals"), {"month": month, "format": "csv"})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].endswith("Gateway log id") and lines[1].endswith(f",{row.log_id}")


# -- what staff read: the page, its CSV, the API, /metrics, the alert ------------------------
def differing_day(owner, sim) -> None:
    """Today: one call only the gateway knew of, one it did not bill."""
    generation = make_generation(owner, size=SMALL)
    run_generation(generation.pk)
    sim.tell("skip", {"request_ids": [generation.attempt_rows.get().request_id]})
    sim.tell("rows", {"rows": [{"model": catalog.VIP, "request_id": "phantom-2", "usd": "0.05"}]})
    books.reconcile(*period())


def test_the_api_answers_the_days_and_the_differences(owner, sim, admin_client_, client):
    differing_day(owner, sim)
    answer = admin_client_.get(reverse("api:reconciliation"), {"from": today(), "to": today()})
    assert answer.status_code == 200
    body = answer.json()
    assert body["days"] == [
        {
            "day": str(today()),
            "gateway_usd": "0.05",
            "ledger_usd": "0.08",
            "difference_usd": "-0.03",
        }
    ]
    assert sorted((d["kind"], d["gateway_usd"], d["ledger_usd"]) for d in body["differences"]) == [
        ("not_in_log_yet", "0.00", "0.03"),
        ("unknown_here", "0.05", "0.00"),
    ]
    assert set(body["differences"][0]) == {
        "kind",
        "request_id",
        "gateway_usd",
        "ledger_usd",
        "generation",
    }
    bad = admin_client_.get(reverse("api:reconciliation"), {"from": "2026-13-01"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "from"
    client.force_login(owner)
    assert client.get(reverse("api:reconciliation")).status_code == 403


def test_the_api_without_a_token_says_so(settings, admin_client_):
    settings.GATEWAY_SYSTEM_TOKEN = ""
    answer = admin_client_.get(reverse("api:reconciliation"))
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_configured"


def test_the_page_and_its_csv_name_every_difference(owner, sim, admin_client_):
    differing_day(owner, sim)
    page = admin_client_.get(reverse("reconcile:books")).content.decode()
    assert 'data-kind="unknown_here"' in page and "phantom-2" in page
    assert "added to the ledger" in page
    csv = admin_client_.get(reverse("reconcile:books"), {"format": "csv"})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Kind,Day (UTC)")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["not_in_log_yet", "unknown_here"]
    assert owner_client_for(owner).get(reverse("reconcile:books")).status_code == 403
    assert admin_client_.post(reverse("reconcile:books")).status_code == 405
    assert admin_client_.get(reverse("reconcile:threshold")).status_code == 405


def test_the_page_reads_in_chinese(owner, sim, admin_client_):
    from .test_pages_in_chinese import english_words

    differing_day(owner, sim)
    sim.tell("malformed", {"row": {"type": 2}})
    books.reconcile(*period())
    page = admin_client_.get(reverse("reconcile:books"), headers={"Accept-Language": "zh-hans"})
    assert "网关账目" in page.content.decode()
    assert not english_words(page.content.decode())


def test_metrics_export_the_unreconciled_amount(owner, sim, admin_client_):
    differing_day(owner, sim)
    text = admin_client_.get(reverse("ops:metrics")).content.decode()
    assert 'imagestudio_unreconciled_usd{kind="not_in_log_yet"} 0.03' in text
    assert 'imagestudio_unreconciled_usd{kind="unknown_here"} 0.0' in text  # added


@pytest.fixture
def hook(settings, tmp_path):
    """A webhook receiver, and e-mail written as files under tmp_path/mail."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    receiver = Receiver()
    settings.ALERT_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.close()


def test_a_day_past_the_threshold_raises_the_alert_channels_once(
    owner, admin_user, sim, admin_client_, hook, tmp_path, django_capture_on_commit_callbacks
):
    webhook, mailbox = hook, tmp_path / "mail"
    admin_user.email = "boss@example.com"
    admin_user.save()
    assert (
        admin_client_.post(reverse("reconcile:threshold"), {"threshold": "0.02"}).status_code == 302
    )
    assert books.threshold() == Decimal("0.02")
    change = AuditEntry.objects.get(object_type="reconciliation_threshold")
    assert (change.actor_name, change.after["usd"]) == (admin_user.username, "0.02")
    # Yesterday the ledger billed a call the gateway's log does not have.
    generation = make_generation(owner, size=SMALL)
    run_generation(generation.pk)
    yesterday = timezone.now() - timedelta(days=1)
    Attempt.objects.filter(generation=generation).update(created_at=yesterday)
    sim.tell("reset")
    start = yesterday - timedelta(days=1)
    from imagestudio.celery import app

    app.conf.task_always_eager = True
    try:
        for _ in range(2):
            with django_capture_on_commit_callbacks(execute=True):
                books.reconcile(start, timezone.now())
    finally:
        app.conf.task_always_eager = False
    day = yesterday.astimezone(UTC).date()
    assert webhook.bodies == [
        {
            "event": "reconciliation.difference",
            "day": str(day),
            "gateway_usd": "0.00",
            "ledger_usd": "0.03",
            "difference_usd": "-0.03",
            "threshold_usd": "0.02",
        }
    ]
    [mail] = read_mail(mailbox)
    assert mail["To"] == "boss@example.com" and str(day) in mail["Subject"]
    page = admin_client_.get(reverse("reconcile:books"), {"from": day, "to": day}).content.decode()
    assert "alerted" in page and "differ on " + str(day) in page  # the notice, for staff
    assert "differ on" not in owner_client_for(owner).get(reverse("studio:home")).content.decode()
    assert (
        admin_client_.post(reverse("reconcile:threshold"), {"threshold": "lots"}).status_code == 302
    )
    assert books.threshold() == Decimal("0.02")


def owner_client_for(user):
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


def test_metrics_follow_a_new_difference_at_the_next_scrape(owner, sim, admin_client_):
    differing_day(owner, sim)
    first = admin_client_.get(reverse("ops:metrics")).content.decode()
    assert 'imagestudio_unreconciled_usd{kind="not_in_log_yet"} 0.03' in first

    run_generation(make_generation(owner, size=SMALL).pk)  # a row no pull has seen yet
    again = admin_client_.get(reverse("ops:metrics")).content.decode()

    def open_amounts(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.startswith("imagestudio_unrecon")]

    assert open_amounts(again) != open_amounts(first)
