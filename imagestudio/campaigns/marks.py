"""What the caller has put on an image: their own star, the boards they can see it on.

One home for both, so the gallery, the batch and board pages and the API's G read the same
answer. `with_marks(queryset, user)` adds them to a list in two extra queries whatever its
length; `with_marks_inline(queryset, user)` puts both on the row's own query (one row: the
API's GET); a row fetched without either falls back to a query of its own (detail pages)."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    Prefetch,
    QuerySet,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from imagestudio.campaigns.models import Board, BoardItem, Star

STARRED = "starred_by_me"
ON_BOARDS = "visible_board_items"
BOARD_LIST = "visible_board_ids"


def with_star[Q: QuerySet](queryset: Q, user: Any) -> Q:
    """The caller's star alone, on the row's own query: the studio's tiles show it (and the
    viewer opened from them starts from it) but list no boards."""
    if not user.is_authenticated:
        return queryset
    return queryset.annotate(
        **{STARRED: Exists(Star.objects.filter(user=user, generation=OuterRef("pk")))}
    )


def with_marks(queryset: QuerySet, user: Any) -> QuerySet:
    if not user.is_authenticated:
        return queryset
    return with_star(queryset, user).prefetch_related(
        Prefetch(
            "board_items",
            queryset=BoardItem.objects.filter(board__in=Board.objects.viewable_by(user))
            .only("id", "board_id", "generation_id")
            .order_by("board_id"),
            to_attr=ON_BOARDS,
        )
    )


def with_marks_inline(queryset: QuerySet, user: Any) -> QuerySet:
    """The same marks as subqueries of the row's own query (no second query): the board ids
    as one comma-separated string, for a query of one or a few rows."""
    if not user.is_authenticated:
        return queryset
    boards = (
        BoardItem.objects.filter(
            generation=OuterRef("pk"), board__in=Board.objects.viewable_by(user)
        )
        .values("generation")
        .annotate(ids=StringAgg(Cast("board_id", TextField()), Value(",")))
        .values("ids")
    )
    return queryset.annotate(
        **{
            STARRED: Exists(Star.objects.filter(user=user, generation=OuterRef("pk"))),
            BOARD_LIST: Subquery(boards, output_field=TextField()),
        }
    )


def starred(row: Any, user: Any) -> bool:
    found = getattr(row, STARRED, None)
    if found is not None:
        return bool(found)
    if user is None or not user.is_authenticated:
        return False
    return Star.objects.filter(user=user, generation=row).exists()


def board_ids(row: Any, user: Any) -> list[int]:
    items = getattr(row, ON_BOARDS, None)
    if items is not None:
        return [item.board_id for item in items]
    if hasattr(row, BOARD_LIST):
        listed = getattr(row, BOARD_LIST) or ""
        return sorted(int(pk) for pk in listed.split(",") if pk)
    if user is None or not user.is_authenticated:
        return []
    return list(
        BoardItem.objects.filter(generation=row, board__in=Board.objects.viewable_by(user))
        .order_by("board_id")
        .values_list("board_id", flat=True)
    )
