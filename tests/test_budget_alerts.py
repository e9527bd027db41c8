"""Budget alerts: when a month's billed spend first passes a budget's threshold, and again
at its cap, the budget's people see a notice in the studio, get an e-mail (read back from
the file backend here) and, when IMAGESTUDIO_ALERT_WEBHOOK_URL is set, the event is POSTed
as JSON (to a real HTTP server here), retried; once per budget, level and month, however
many workers record spend at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection, transaction

from imagestudio import catalog
from imagestudio.spend import alerts, budgets, ledger
from imagestudio.spend.budgets import month_start
from imagestudio.spend.models import Budget, BudgetAlert
from imagestudio.upstream import types as t
from tests.conftest import ROOT
from tests.factories import make_budget, make_generation, make_team, make_user

pytestmark = pytest.mark.django_db
PRICE = catalog.gateway_price(catalog.VIP)  # 0.03 a billed call


def billed(number: int = 1) -> t.AttemptRecord:
    return t.AttemptRecord(
        number=number,
        endpoint="images/generations",
        model=catalog.VIP,
        size_sent="2048x2048",
        http_status=200,
        request_id=f"req-{number}",
        latency_ms=900,
        outcome=t.Outcome.IMAGE,
        billed=True,
        amount=PRICE,
    )


def record_spend(user, team=None, times: int = 1) -> None:
    """Record billed attempts as a worker does: each in its own transaction."""
    for _ in range(times):
        with transaction.atomic():
            ledger.record(
                billed(),
                generation_id=None,
                user_id=user.pk,
                team_id=team and team.pk,
                size_asked="2048x2048",
            )


@pytest.fixture
def spend(django_capture_on_commit_callbacks):
    """record_spend, with what each commit would set off run at that commit (the test's
    own transaction never commits)."""

    def spending(user, team=None, times: int = 1) -> None:
        for _ in range(times):
            with django_capture_on_commit_callbacks(execute=True):
                record_spend(user, team)

    return spending


# -- the outside world: mail files, a webhook receiver, an eager Celery ------------------


@pytest.fixture
def mailbox(settings, tmp_path) -> Path:
    folder = tmp_path / "mail"
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(folder)
    return folder


def read_mail(folder: Path) -> list[Message]:
    if not folder.exists():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        # The file backend writes each message followed by a line of dashes.
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                found.append(message_from_bytes(chunk))
    return found


class Receiver:
    """A webhook endpoint: records each POST's JSON body and answers the next queued
    status (200 once the queue is empty)."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.content_types: list[str] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                receiver.content_types.append(self.headers.get("Content-Type", ""))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/budget"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(settings):
    receiver = Receiver()
    settings.ALERT_WEBHOOK_URL = receiver.url
    yield receiver
    receiver.close()


@pytest.fixture
def eager():
    """Tasks run in the test's thread (a retry at once); the real path enqueues them."""
    from imagestudio.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _fresh_notices():
    alerts.forget_notices()
    yield
    alerts.forget_notices()


@pytest.fixture
def budget(team) -> Budget:
    # $0.10 with a warning at half: the 2nd billed call ($0.06) passes it, the 4th
    # ($0.12) uses it up.
    return Budget.put("team", team=team, cap=Decimal("0.10"), alert_at=Decimal("0.50"))


# -- once each, with the three channels ----------------------------------------------------


def test_the_threshold_and_the_cap_are_each_told_once(
    owner, teammate, admin_user, other_user, team, budget, mailbox, webhook, eager, spend
):
    spend(owner, team)
    assert not BudgetAlert.objects.exists() and webhook.bodies == []
    spend(owner, team)
    assert list(BudgetAlert.objects.values_list("level", flat=True)) == ["threshold"]
    spend(teammate, team)  # $0.09: still only the threshold
    spend(owner, team, times=3)  # $0.12 … $0.18: used up, told once
    assert sorted(BudgetAlert.objects.values_list("level", flat=True)) == [
        "exhausted",
        "threshold",
    ]
    month = month_start().strftime("%Y-%m")
    assert webhook.bodies == [
        {
            "event": "budget.threshold",
            "scope": "team",
            "name": "Design",
            "cap_usd": "0.10",
            "spent_usd": "0.06",
            "month": month,
        },
        {
            "event": "budget.exhausted",
            "scope": "team",
            "name": "Design",
            "cap_usd": "0.10",
            "spent_usd": "0.12",
            "month": month,
        },
    ]
    assert webhook.content_types == ["application/json", "application/json"]
    mails = read_mail(mailbox)
    # The team's members and staff, once per event; never the outsider.
    recipients = sorted(m["To"] for m in mails)
    expected = ["boss@example.com", "mate@example.com", "owner@example.com"]
    assert recipients == sorted(expected * 2)
    threshold = [m for m in mails if "passed 50 %" in m["Subject"]]
    assert len(threshold) == 3
    body = threshold[0].get_payload(decode=True).decode()
    assert "Team Design's monthly budget has passed 50 % of its $0.10: $0.06 spent" in body
    used_up = [m for m in mails if "used up" in m["Subject"]]
    assert (
        "new images are refused until it resets on" in used_up[0].get_payload(decode=True).decode()
    )


def test_a_single_call_past_both_lines_is_one_event_the_caps(owner, mailbox, webhook, eager, spend):
    make_budget("0.02", user=owner)
    spend(owner)
    assert sorted(BudgetAlert.objects.values_list("level", flat=True)) == ["exhausted", "threshold"]
    assert [b["event"] for b in webhook.bodies] == ["budget.exhausted"]
    assert [b["name"] for b in webhook.bodies] == ["owner"]


def test_each_month_starts_afresh(owner, team, budget, eager, spend, webhook):
    spend(owner, team, times=2)
    last_month = month_start().replace(year=month_start().year - 1).date()
    BudgetAlert.objects.update(month=last_month)
    spend(owner, team)  # this month's spend is still $0.09 → past 50 % again, this month
    assert BudgetAlert.objects.filter(month=month_start().date()).count() == 1


def test_a_raised_cap_is_warned_about_again(
    owner, team, budget, eager, spend, webhook, django_capture_on_commit_callbacks
):
    spend(owner, team, times=4)  # used up at $0.10
    with django_capture_on_commit_callbacks(execute=True):
        # $0.12 is past half of the new cap already: told as the cap is set.
        Budget.put("team", team=team, cap=Decimal("0.20"), alert_at=Decimal("0.50"))
    spend(owner, team)  # $0.15 of $0.20: nothing new to tell
    events = [(b["event"], b["cap_usd"]) for b in webhook.bodies]
    assert events == [
        ("budget.threshold", "0.10"),
        ("budget.exhausted", "0.10"),
        ("budget.threshold", "0.20"),
    ]


def test_unbilled_attempts_never_alert(owner, team, budget, spend):
    record = billed()
    record.billed, record.outcome, record.amount = False, t.Outcome.SATURATED, Decimal("0")
    for _ in range(10):
        ledger.record(record, generation_id=None, user_id=owner.pk, team_id=team.pk, size_asked="")
    assert not BudgetAlert.objects.exists()


def test_without_a_webhook_url_nothing_is_posted(
    owner, team, budget, settings, eager, spend, mailbox
):
    settings.ALERT_WEBHOOK_URL = ""
    sent: list[int] = []
    original = alerts.post_alert.delay
    alerts.post_alert.delay = sent.append  # type: ignore[method-assign]
    try:
        spend(owner, team, times=2)
    finally:
        alerts.post_alert.delay = original  # type: ignore[method-assign]
    assert sent == [] and len(read_mail(mailbox)) == 2  # the team's two members


def test_a_failing_webhook_is_retried(owner, team, budget, webhook, eager, spend, mailbox):
    webhook.statuses = [503, 500]
    spend(owner, team, times=2)
    assert [b["event"] for b in webhook.bodies] == ["budget.threshold"] * 3
    # Retrying the webhook never sends the e-mail again (one to each of the two members).
    assert len(read_mail(mailbox)) == 2


def test_the_alert_waits_for_the_commit(owner, team, budget, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_spend(owner, team, times=2)
    # Claimed in the ledger's transaction, sent only once it commits.
    assert BudgetAlert.objects.count() == 1 and len(callbacks) == 1


def test_a_broker_that_is_down_never_fails_the_worker(
    owner, team, budget, monkeypatch, spend, django_capture_on_commit_callbacks, caplog
):
    def down(*args: object) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(alerts.email_alert, "delay", down)
    generation = make_generation(owner, team=team)
    spend(owner, team)
    with django_capture_on_commit_callbacks(execute=True):
        # Passes the threshold; the enqueue fails after the commit, and is only logged.
        generation.record_attempt(billed(2))
    assert "broker unreachable" in caplog.text
    generation.refresh_from_db()
    assert generation.attempts == 1 and BudgetAlert.objects.count() == 1


# -- the studio's notice -------------------------------------------------------------------


def test_the_budgets_people_see_the_notice_others_do_not(
    owner_client,
    teammate_client,
    other_client,
    admin_client_,
    owner,
    team,
    budget,
    spend,
    eager,
    mailbox,
):
    spend(owner, team, times=2)
    notice = "Team Design&#x27;s monthly budget has passed 50 % of its $0.10"
    for client in (owner_client, teammate_client, admin_client_):
        assert notice in client.get("/").content.decode()
    assert notice not in other_client.get("/").content.decode()
    spend(owner, team, times=2)
    html = owner_client.get("/gallery/").content.decode()
    assert "is used up" in html and "has passed" not in html


def test_a_raised_cap_clears_the_notice(owner_client, owner, team, budget, spend, eager, mailbox):
    spend(owner, team, times=2)
    assert "has passed" in owner_client.get("/").content.decode()
    Budget.put("team", team=team, cap=Decimal("100"), alert_at=Decimal("0.80"))
    assert "has passed" not in owner_client.get("/").content.decode()


def test_a_users_own_budget_is_told_to_them_and_staff(
    owner_client, teammate_client, admin_client_, owner, spend, eager, mailbox
):
    make_budget("0.03", user=owner)
    spend(owner)
    assert (
        "owner&#x27;s monthly budget of $0.03 is used up" in owner_client.get("/").content.decode()
    )
    assert "is used up" in admin_client_.get("/").content.decode()
    assert "is used up" not in teammate_client.get("/").content.decode()
    assert sorted(m["To"] for m in read_mail(mailbox)) == ["boss@example.com", "owner@example.com"]


def test_the_notice_costs_a_page_no_query(
    owner_client, owner, team, budget, spend, eager, mailbox, django_assert_max_num_queries
):
    spend(owner, team, times=2)
    url = "/gallery/"
    owner_client.get(url)  # warms the session and the notices
    # The gallery's own 4 (user, boards offered, page, its tiles' boards): none for notices.
    with django_assert_max_num_queries(4):
        html = owner_client.get(url).content.decode()
    assert "has passed" in html


# -- many workers at once -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_many_workers_at_once_claim_each_alert_once(settings, eager):
    settings.ALERT_WEBHOOK_URL = ""
    spender = make_user("busy")
    team = make_team("Rush", spender)
    Budget.put("team", team=team, cap=Decimal("0.30"), alert_at=Decimal("0.50"))
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def worker() -> None:
        try:
            start.wait()
            record_spend(spender, team, times=2)
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    claimed = list(BudgetAlert.objects.order_by("level").values_list("level", "spent"))
    # 16 calls of $0.03: the threshold ($0.15) and the cap ($0.30) are each claimed once,
    # by the call that crossed it (each call sees every earlier one: the budget is locked).
    assert claimed == [("exhausted", Decimal("0.3000")), ("threshold", Decimal("0.1500"))]


# -- settings ------------------------------------------------------------------------------

PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "smtp = s.EMAIL_BACKEND.endswith('smtp.EmailBackend'); "
    "print('|'.join(map(str, [s.EMAIL_BACKEND, s.EMAIL_HOST if smtp else s.EMAIL_FILE_PATH, "
    "s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, "
    "repr(s.ALERT_WEBHOOK_URL)])))"
)


def settings_with(tmp_path, **extra: str) -> list[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("IMAGESTUDIO_", "DATABASE_URL"))
    }
    env.update(
        IMAGESTUDIO_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="imagestudio.settings", **extra
    )
    done = subprocess.run(
        [sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 or extra, done.stderr
    return (done.stdout.strip() or done.stderr).split("|")


def test_mail_is_written_to_files_under_the_data_dir_by_default(tmp_path):
    out = settings_with(tmp_path)
    assert out[0] == "django.core.mail.backends.filebased.EmailBackend"
    assert out[1] == str(tmp_path / "mail") and out[-1] == "''"


def test_an_smtp_url_configures_smtp(tmp_path):
    out = settings_with(
        tmp_path,
        IMAGESTUDIO_EMAIL_URL="smtp://alerts%40studio:p%40ss@mail.example.com:587",
        IMAGESTUDIO_ALERT_WEBHOOK_URL="https://chat.example.com/hook",
    )
    assert out == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "alerts@studio",
        "p@ss",
        "True",
        "False",
        "'https://chat.example.com/hook'",
    ]
    smtps = settings_with(tmp_path, IMAGESTUDIO_EMAIL_URL="smtps://mail.example.com")
    assert smtps == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "465",
        "",
        "",
        "False",
        "True",
        "''",
    ]


def test_a_bad_email_url_fails_loudly(tmp_path):
    out = "|".join(settings_with(tmp_path, IMAGESTUDIO_EMAIL_URL="mail.example.com"))
    assert "IMAGESTUDIO_EMAIL_URL='mail.example.com'" in out


def test_each_person_is_told_in_their_own_language(
    owner, teammate, team, budget, mailbox, webhook, eager, spend
):
    from email.header import decode_header, make_header

    from imagestudio.accounts.models import Preference

    Preference.objects.create(user=owner, language="zh-hans")
    spend(owner, team, times=2)

    by_person = {m["To"]: str(make_header(decode_header(m["Subject"]))) for m in read_mail(mailbox)}
    assert "已超过" in by_person["owner@example.com"]
    assert "passed 50 %" in by_person["mate@example.com"]


def test_the_notice_is_said_in_each_readers_language_not_the_first_readers(
    owner_client, teammate_client, owner, team, budget, spend, eager, mailbox
):
    spend(owner, team, times=2)
    # The first page drawn after the alert fills the shared cache, in Chinese.
    chinese = owner_client.get("/", headers={"Accept-Language": "zh-hans"}).content.decode()
    english = teammate_client.get("/", headers={"Accept-Language": "en"}).content.decode()
    assert "已超过" in chinese and "has passed" not in chinese
    assert "has passed 50 % of its $0.10" in english


def test_the_alert_email_speaks_of_pages_not_of_the_api_or_commands(
    owner, team, budget, mailbox, eager, spend
):
    spend(owner, team, times=2)
    (message,) = [m for m in read_mail(mailbox) if m["To"] == "owner@example.com"]
    body = message.get_payload(decode=True).decode()
    assert "Spend › Budgets" in body
    for jargon in ("/api/", "PUT", "manage.py", "set_budget"):
        assert jargon not in body


def test_a_cap_set_below_what_is_spent_is_told_at_once(
    owner, team, mailbox, webhook, eager, spend, django_capture_on_commit_callbacks
):
    spend(owner, team, times=3)  # $0.09, no budget yet
    assert not BudgetAlert.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        Budget.put("team", team=team, cap=Decimal("0.05"), alert_at=Decimal("0.80"))
    assert sorted(BudgetAlert.objects.values_list("level", flat=True)) == [
        "exhausted",
        "threshold",
    ]
    assert [body["event"] for body in webhook.bodies] == ["budget.exhausted"]


# -- what each billed call costs ------------------------------------------------------------


def test_a_billed_call_under_no_budget_asks_one_question(owner, team, django_assert_num_queries):
    # Every billed call of every worker checks its budgets, inside the ledger's transaction.
    with transaction.atomic(), django_assert_num_queries(1):
        alerts.after_spend(user_id=owner.pk, team_id=team.pk)


def test_a_budgets_check_sums_the_billed_spend_only(owner, team, budget, django_assert_num_queries):
    # Images in progress would add a grouped query of every pending image in scope.
    make_generation(owner, team=team, status="queued")
    with transaction.atomic(), django_assert_num_queries(2):
        alerts.after_spend(user_id=owner.pk, team_id=team.pk)


def test_budgets_are_locked_whole_studio_first_then_team_then_user(owner, team):
    # The order every lock on them takes (reserve's, the alerts'): two workers never wait
    # on each other in a cycle. Made in the opposite order, so the ids disagree.
    mine = make_budget("1", user=owner)
    ours = make_budget("1", team=team)
    everyone = make_budget("1")
    with transaction.atomic():
        locked = budgets.applicable(user=owner, team=team, lock=True)
    assert locked == [everyone, ours, mine]
