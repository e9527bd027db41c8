"""The shared factories build rows the models accept, with the documented defaults."""

from decimal import Decimal

import pytest
from django.contrib.auth.hashers import get_hasher

from imagestudio import catalog
from imagestudio.api.models import hash_token
from imagestudio.studio.models import Status
from tests.factories import (
    PASSWORD,
    make_attempt,
    make_finished,
    make_generation,
    make_generations,
    make_input,
    make_staged,
    make_token,
)

pytestmark = pytest.mark.django_db


def test_the_suite_hashes_passwords_with_the_fast_hasher(owner):
    assert get_hasher().algorithm == "md5"
    assert owner.password.startswith("md5$")
    assert owner.check_password(PASSWORD)


def test_the_shared_team_holds_the_owner_and_the_teammate_only(team, owner, teammate, other_user):
    assert set(team.members.all()) == {owner, teammate}


def test_a_generation_gets_the_models_default_size_and_tier(owner, team):
    vip = make_generation(owner, team=team)
    assert (vip.size, vip.size_tier, vip.status) == (catalog.DEFAULT_VIP_SIZE, "2k", Status.QUEUED)
    assert vip.batch.team == team
    every = make_generation(owner, model=catalog.ALL)
    assert every.size == "" and every.size_tier == catalog.size_tier(catalog.ALL, "")


def test_a_finished_generation_has_its_files_and_inputs_are_compressed(owner):
    done = make_finished(owner)
    assert done.image.storage.exists(done.image.name)
    assert done.thumbnail.storage.exists(done.thumbnail.name)
    assert (done.width, done.height) == (96, 96) and done.finished_at is not None
    first = make_input(make_generation(owner), source=done)
    assert first.content_type == "image/jpeg" and first.file.storage.exists(first.file.name)
    assert make_staged(owner).sent_bytes > 0


def test_many_generations_come_one_second_apart_newest_last(owner):
    rows = make_generations(owner, 3)
    assert [(b.created_at - a.created_at).seconds for a, b in zip(rows, rows[1:])] == [1, 1]


def test_attempts_are_billed_by_their_outcome_and_a_token_keeps_only_its_hash(owner):
    assert make_attempt(owner).amount == Decimal("0.03")
    assert make_attempt(owner, "saturated").billed is False
    token, raw = make_token(owner)
    assert token.token_hash == hash_token(raw) != raw
