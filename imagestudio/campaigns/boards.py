"""The rules of boards and stars for the pages and the API alike: what a board's name may be,
which team a board may be shared with, and the words said when they are broken. Access
itself is the models' (Board.objects.viewable_by, Board.can_delete, Generation.viewable_by)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from imagestudio.campaigns.models import Board
from imagestudio.spend import teams as spend_teams
from imagestudio.spend.models import Team
from imagestudio.web import parsing

NAME_MAX = Board._meta.get_field("name").max_length or 120
# A selection (a download, a bulk action) names at most this many images.
MAX_SELECTION = 1000


class BoardInvalid(Exception):
    """Bad input: field → message, where the user is looking."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def name_empty() -> str:
    return _("Give the board a name.")


def name_too_long(limit: int, length: int) -> str:
    return _("A board's name is at most %(limit)s characters (this one has %(length)s).") % {
        "limit": limit,
        "length": length,
    }


def not_yours_to_move() -> str:
    return _("Only the board's creator or staff can change whom it is shared with.")


def not_your_team() -> str:
    return _("You can share a board only with a team you belong to.")


def added(count: int, name: str) -> str:
    if count == 0:
        return _("Already on “%(name)s”.") % {"name": name}
    return _("Added %(count)s to “%(name)s”.") % {"count": count, "name": name}


def removed(name: str) -> str:
    return _("Removed from “%(name)s”.") % {"name": name}


def deleted(name: str) -> str:
    return _("Board “%(name)s” deleted; its images stay in the gallery.") % {"name": name}


def nothing_selected() -> str:
    return _("Select at least one image first.")


def no_board_chosen() -> str:
    return _("Choose a board or name a new one.")


def bulk_deleted(count: int, skipped: int) -> str:
    text = _("Deleted %(count)s images.") % {"count": count}
    if skipped:
        text += " " + _("%(skipped)s were not yours and stay.") % {"skipped": skipped}
    return text


def cannot_delete() -> str:
    return _("Only the board's creator or staff can delete it.")


def clean_name(value: Any) -> str:
    name = str(value or "").strip()
    if not name:
        raise BoardInvalid({"name": name_empty()})
    if len(name) > NAME_MAX:
        raise BoardInvalid({"name": name_too_long(NAME_MAX, len(name))})
    return name


def teams_choosable(user: Any) -> list[Team]:
    """The teams a form offers for sharing a board: the user's own (cached, no query)."""
    return spend_teams.teams_for(user)


def clean_team(user: Any, value: Any) -> Team | None:
    """None (a personal board) for an empty value; else one of the user's teams (staff: any
    team, as they see every board anyway)."""
    if value in (None, ""):
        return None
    found = next((t for t in teams_choosable(user) if str(t.pk) == str(value)), None)
    team_id = parsing.id_or_none(value)
    if found is None and user.is_staff and team_id is not None:
        found = Team.objects.filter(pk=team_id).first()
    if found is None:
        raise BoardInvalid({"team": not_your_team()})
    return found


def create(user: Any, name: Any, team: Any = None) -> Board:
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for field, check in (
        ("name", lambda: clean_name(name)),
        ("team", lambda: clean_team(user, team)),
    ):
        try:
            clean[field] = check()
        except BoardInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise BoardInvalid(errors)
    return Board.objects.create(name=clean["name"], team=clean["team"], created_by=user)


def rename(board: Board, name: Any) -> Board:
    board.name = clean_name(name)
    board.save(update_fields=["name"])
    return board


def selection(values: Iterable[Any]) -> list[int]:
    """Ids from a form's or a body's list (repeated fields or comma lists), de-duplicated,
    in the order given; anything that is not an id is ignored."""
    ids: dict[int, None] = {}
    for value in values:
        for part in str(value).split(","):
            number = parsing.id_or_none(part)
            if number is not None and len(ids) < MAX_SELECTION:
                ids.setdefault(number, None)
    return list(ids)


def delete_own(user: Any, ids: list[int]) -> tuple[int, int]:
    """Soft-delete those of `ids` that `user` may change; (deleted, skipped)."""
    from imagestudio.studio.models import Generation

    mine = list(Generation.objects.changeable_by(user).filter(pk__in=ids).only("pk"))
    for generation in mine:
        # Each in its own transaction (soft_delete's), its files removed after it.
        generation.soft_delete()
    return len(mine), len(ids) - len(mine)


def viewer_boards(user: Any) -> list[Board]:
    """The boards the viewer's "add to board" offers (campaigns/_viewer.html), one query."""
    return list(Board.objects.viewable_by(user).only("id", "name", "team_id"))
