"""What the caller has put on an image: their own star, the boards they can see it on.

One home for both, so the gallery, the batch and board pages and the API's G read the same
answer. `with_marks(queryset, user)` adds them to a list in two extra queries whatever its
length; a row fetched without it falls back to a query of its own (detail pages)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from imagestudio.campaigns.models import Board, BoardItem, Star

STARRED = "starred_by_me"
ON_BOARDS = "visible_board_items"


def with_marks(queryset: QuerySet, user: Any) -> QuerySet:
    if not user.is_authenticated:
        return queryset
    return queryset.annotate(
        **{STARRED: Exists(Star.objects.filter(user=user, generation=OuterRef("pk")))}
    ).prefetch_related(
        Prefetch(
            "board_items",
            queryset=BoardItem.objects.filter(board__in=Board.objects.viewable_by(user))
            .only("id", "board_id", "generation_id")
            .order_by("board_id"),
            to_attr=ON_BOARDS,
        )
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
    if user is None or not user.is_authenticated:
        return []
    return list(
        BoardItem.objects.filter(generation=row, board__in=Board.objects.viewable_by(user))
        .order_by("board_id")
        .values_list("board_id", flat=True)
    )
