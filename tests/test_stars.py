"""The state changes of stars and boards (campaigns.models) and their rules
(campaigns.boards): Star.put, Board.add, Board.remove, Board.can_delete, names and teams."""

from __future__ import annotations

import pytest

from imagestudio.campaigns import boards, marks
from imagestudio.campaigns.models import Board, BoardItem, Star
from imagestudio.studio.models import Generation
from tests.factories import make_board, make_finished, make_generations, make_star, make_team

pytestmark = pytest.mark.django_db


def test_put_stars_once_and_unstars(owner):
    image = make_finished(owner)
    assert Star.put(owner, image, True) is True
    Star.put(owner, image, True)
    assert Star.objects.count() == 1
    assert Star.put(owner, image, False) is False
    assert not Star.objects.exists()
    Star.put(owner, image, False)  # unstarring what is not starred is harmless


def test_stars_are_each_users_own(owner, teammate, team):
    image = make_finished(owner, team=team)
    make_star(teammate, image)
    assert marks.starred(image, owner) is False
    assert marks.starred(image, teammate) is True


def test_add_puts_only_visible_images_once_and_counts_the_new(owner, other_user):
    mine = make_generations(owner, 3)
    theirs = make_finished(other_user)
    board = make_board(owner, items=mine[:1])
    assert board.add([g.pk for g in mine] + [theirs.pk, 999999], owner) == 2
    assert board.add([mine[0].pk], owner) == 0
    assert set(board.generations.values_list("pk", flat=True)) == {g.pk for g in mine}
    assert set(BoardItem.objects.values_list("added_by", flat=True)) == {owner.pk}


def test_a_deleted_image_is_not_added(owner):
    image = make_finished(owner)
    image.soft_delete()
    assert make_board(owner).add([image.pk], owner) == 0


def test_remove_says_whether_it_was_there(owner):
    image = make_finished(owner)
    board = make_board(owner, items=[image])
    assert board.remove(image.pk) is True
    assert board.remove(image.pk) is False
    assert Generation.objects.filter(pk=image.pk).exists()


def test_an_image_on_many_boards_leaves_one_and_stays_on_the_others(owner):
    image = make_finished(owner)
    one, two = make_board(owner, "one", items=[image]), make_board(owner, "two", items=[image])
    one.delete()
    assert list(two.generations.all()) == [image]


def test_only_the_creator_or_staff_may_delete(owner, teammate, admin_user, team):
    board = make_board(owner, team=team)
    assert board.can_delete(owner)
    assert board.can_delete(admin_user)
    assert not board.can_delete(teammate)


def test_boards_are_viewable_by_their_creator_team_and_staff(owner, teammate, other_user, team):
    personal = make_board(owner, "personal")
    shared = make_board(owner, "shared", team=team)
    assert set(Board.objects.viewable_by(owner)) == {personal, shared}
    assert set(Board.objects.viewable_by(teammate)) == {shared}
    assert not Board.objects.viewable_by(other_user).exists()


@pytest.mark.parametrize(
    ("name", "ok"), [("Summer", True), ("  padded  ", True), ("", False), ("x" * 121, False)]
)
def test_a_name_is_1_to_120_characters(name, ok):
    if ok:
        assert boards.clean_name(name) == name.strip()
    else:
        with pytest.raises(boards.BoardInvalid) as caught:
            boards.clean_name(name)
        assert caught.value.errors["name"]


def test_a_board_is_shared_only_with_ones_own_team_staff_with_any(
    owner, other_user, admin_user, team
):
    strangers = make_team("Strangers", other_user)
    assert boards.clean_team(owner, team.pk) == team
    assert boards.clean_team(owner, "") is None
    with pytest.raises(boards.BoardInvalid):
        boards.clean_team(owner, strangers.pk)
    assert boards.clean_team(admin_user, strangers.pk) == strangers


def test_create_reports_every_bad_field_at_once(owner, other_user):
    strangers = make_team("Strangers", other_user)
    with pytest.raises(boards.BoardInvalid) as caught:
        boards.create(owner, "", strangers.pk)
    assert set(caught.value.errors) == {"name", "team"}


def test_a_selection_reads_repeated_and_comma_lists_and_drops_the_rest():
    assert boards.selection(["3", "1,2", "x", "3", " 4 "]) == [3, 1, 2, 4]


def test_bulk_delete_deletes_ones_own_and_counts_the_rest(owner, teammate, team):
    mine = make_finished(owner, team=team)
    theirs = make_finished(teammate, team=team)
    assert boards.delete_own(owner, [mine.pk, theirs.pk]) == (1, 1)
    assert Generation.objects.visible().filter(pk=theirs.pk).exists()
