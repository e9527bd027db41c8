"""The homes of issue 9's rules: charging, the ledger writer, the state machine's revival
and atomic delete, and the one-way dependency from the studio to spend."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest

from imagestudio import catalog
from imagestudio.spend import charging, ledger
from imagestudio.spend.models import Attempt
from imagestudio.studio.models import Generation, Status
from imagestudio.upstream import types as t
from tests.factories import make_finished, make_generation, make_team, make_user

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def attempt(outcome=t.Outcome.IMAGE, *, amount="9.99", request_id=" req-1\n", size="2048x2048"):
    return t.AttemptRecord(
        number=1,
        endpoint="images/generations",
        model=catalog.VIP,
        size_sent=size,
        http_status=200,
        request_id=request_id,
        latency_ms=10,
        outcome=outcome,
        billed=outcome in t.BILLED_OUTCOMES,
        amount=Decimal(amount),
    )


# -- charging ----------------------------------------------------------------------------


def test_the_asked_for_team_is_charged_when_the_user_is_in_it(owner, team):
    assert charging.charged_team(owner, team.pk) == team
    assert charging.charged_team(owner, str(team.pk)) == team


def test_a_team_the_user_is_not_in_is_refused_naming_their_teams(other_user, team):
    mine = make_team("Ops", other_user)
    with pytest.raises(charging.ChargeRefused) as caught:
        charging.charged_team(other_user, team.pk)
    assert caught.value.field == "team"
    assert f"{mine.pk} (Ops)" in caught.value.message
    for junk in (True, -3, "x", 2**80, 1.5):
        with pytest.raises(charging.ChargeRefused):
            charging.charged_team(other_user, junk)


def test_a_turn_goes_to_the_parents_team_only_for_its_members(owner, teammate, other_user, team):
    ops = make_team("Ops", other_user)
    assert charging.charged_team(teammate, parent_team_id=team.pk) == team
    assert charging.charged_team(other_user, parent_team_id=team.pk) == ops


def test_without_a_request_the_first_joined_team_pays(owner, team):
    make_team("Later", owner)
    assert charging.charged_team(owner) == team
    assert charging.charged_team(make_user("loner")) is None


def test_only_staff_may_override_and_only_with_a_boolean(owner, admin_user):
    assert charging.override_allowed(admin_user, True) is True
    assert charging.override_allowed(owner, False) is False
    with pytest.raises(charging.ChargeRefused, match="Only staff"):
        charging.override_allowed(owner, True)
    with pytest.raises(charging.ChargeRefused, match="true or false"):
        charging.override_allowed(admin_user, "yes")


def test_the_studio_form_charges_the_team_it_names(owner_client, owner, team):
    other = make_team("Other", owner)
    response = owner_client.post(
        "/generate", {"prompt": "a", "model": catalog.ALL, "count": 1, "team": other.pk}
    )
    assert response.status_code == 302
    assert Generation.objects.get().team == other


# -- the ledger writer -------------------------------------------------------------------


def test_the_ledger_takes_the_amount_from_the_catalog_not_the_client(owner):
    generation = make_generation(owner, size="3840x2160")
    row = ledger.record(
        attempt(), generation_id=generation.pk, user_id=owner.pk, team_id=None, size_asked="x"
    )
    assert row.amount == catalog.price(catalog.VIP) and row.billed
    assert row.request_id == "req-1" and row.size_tier == "2k"
    unbilled = ledger.record(
        attempt(t.Outcome.SATURATED),
        generation_id=None,
        user_id=owner.pk,
        team_id=None,
        size_asked="3840x2160",
    )
    assert unbilled.amount == 0 and not unbilled.billed


def test_every_attempt_row_in_the_code_is_written_by_spend_ledger():
    writers = []
    for path in (ROOT / "imagestudio").rglob("*.py"):
        if "migrations" in path.parts or path.name == "ledger.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in {"create", "bulk_create"}
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "objects"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id == "Attempt"
            ):
                writers.append(str(path.relative_to(ROOT)))
    assert writers == []


# -- the state machine -------------------------------------------------------------------


def test_an_image_that_arrives_after_the_sweep_gave_up_is_revived_with_its_ledger_row(owner):
    generation = make_generation(owner, status=Status.RUNNING)
    Generation.objects.filter(pk=generation.pk).update(
        status=Status.FAILED, error_code=t.FailureCode.WORKER_LOST, error_params={}
    )
    assert generation.finish_succeeded(attempt(), stored={"width": 5}, fell_back=False)
    generation.refresh_from_db()
    assert (generation.status, generation.error_code, generation.width) == (
        Status.SUCCEEDED,
        "",
        5,
    )
    assert generation.cost_usd == catalog.price(catalog.VIP)
    assert Attempt.objects.filter(generation=generation, billed=True).count() == 1


def test_a_failure_of_another_kind_is_not_revived_but_still_billed(owner):
    generation = make_generation(owner, status=Status.CANCELED)
    assert not generation.finish_succeeded(attempt(), stored={}, fell_back=False)
    generation.refresh_from_db()
    assert generation.status == Status.CANCELED
    assert Attempt.objects.filter(generation=generation).count() == 1


def test_soft_delete_hides_cancels_and_removes_files_once(owner):
    finished = make_finished(owner)
    storage, name = finished.image.storage, finished.image.name
    finished.soft_delete()
    finished.soft_delete()  # a second press (or a race) changes nothing more
    finished.refresh_from_db()
    assert finished.deleted_at is not None and not finished.image
    assert not storage.exists(name)
    queued = make_generation(owner)
    queued.soft_delete()
    queued.refresh_from_db()
    assert queued.status == Status.CANCELED and queued.deleted_at is not None


# -- dependencies ------------------------------------------------------------------------


def test_spend_never_imports_the_studio_not_even_inside_a_function():
    offenders = []
    for path in (ROOT / "imagestudio" / "spend").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [f"{path.name}: {n}" for n in names if n.startswith("imagestudio.studio")]
    assert offenders == []
