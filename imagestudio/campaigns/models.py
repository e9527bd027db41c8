"""Campaigns: brand kits, boards and stars — what a team works with beyond one image.

Access follows the studio's rule (studio.models.GenerationQuerySet): staff see and change
everything; a personal kit or board is its creator's; a team's kit or board is shared with
every member of that team. Only a board's creator (or staff) deletes the board itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from imagestudio import catalog
from imagestudio.spend.models import Membership, Team
from imagestudio.studio.models import InputPicture


def _shared_with(user: Any, owner_field: str) -> Q:
    teams = Membership.objects.filter(user=user).values("team_id")
    return Q(**{owner_field: user, "team__isnull": True}) | Q(team_id__in=teams)


class KitQuerySet(models.QuerySet):
    def usable_by(self, user: Any) -> KitQuerySet:
        """Kits `user` may choose, edit and delete: their own personal kits and their
        teams' kits (a kit is the team's, so every member maintains it)."""
        if user.is_staff:
            return self.all()
        return self.filter(_shared_with(user, "created_by"))


def may_change_team(user: Any, obj: Any) -> bool:
    """Who may change whom a board or a kit is shared with (move it to another team, or
    make it personal): its creator and staff. A team-mate may use and edit it, but not
    take it away from the team, or from its creator."""
    return bool(user.is_staff or obj.created_by_id == user.pk)


class Kit(models.Model):
    """A brand kit: the team's recurring model, size, style and reference pictures."""

    name = models.CharField(max_length=100, verbose_name=gettext_lazy("name"))
    # Null: a personal kit of `created_by`.
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="kits",
        verbose_name=gettext_lazy("team"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="kits",
        verbose_name=gettext_lazy("created by"),
    )
    model = models.CharField(
        max_length=40, choices=catalog.MODEL_CHOICES, verbose_name=gettext_lazy("model")
    )
    # A -vip size or a -all phrasing ("" = the model decides); a built-in preset, when
    # chosen, set both and is remembered for the form.
    size = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("size"))
    preset = models.CharField(max_length=40, blank=True, verbose_name=gettext_lazy("preset"))
    # Added to every prompt, after it (for -all the phrasing still goes first).
    style = models.TextField(blank=True, verbose_name=gettext_lazy("style"))
    # Optional: the team's recurring layout, with {placeholders} filled from a list.
    template = models.TextField(blank=True, verbose_name=gettext_lazy("template"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = KitQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("brand kit")
        verbose_name_plural = gettext_lazy("brand kits")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class KitPicture(InputPicture):
    """A kit's reference picture (a logo, a product shot), stored like an edit input and
    attached to every image made with the kit, as image1, image2 in this order."""

    kit = models.ForeignKey(Kit, on_delete=models.CASCADE, related_name="pictures")
    position = models.PositiveSmallIntegerField()  # 1-based

    class Meta:
        ordering = ["kit", "position"]
        constraints = [
            models.UniqueConstraint(fields=["kit", "position"], name="kit_picture_position"),
        ]

    def __str__(self) -> str:
        return _("picture %(position)s of kit %(kit)s") % {
            "position": self.position,
            "kit": self.kit_id,
        }


class BoardQuerySet(models.QuerySet):
    def viewable_by(self, user: Any) -> BoardQuerySet:
        """Boards `user` may open, add to and remove from."""
        if user.is_staff:
            return self.all()
        return self.filter(_shared_with(user, "created_by"))


class Board(models.Model):
    """A named collection of images, personal or shared with one team."""

    name = models.CharField(max_length=120, verbose_name=gettext_lazy("name"))
    team = models.ForeignKey(
        Team,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="boards",
        verbose_name=gettext_lazy("team"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="boards",
        verbose_name=gettext_lazy("created by"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("created"))
    generations = models.ManyToManyField(
        "studio.Generation",
        through="BoardItem",
        related_name="boards",
        verbose_name=gettext_lazy("images"),
    )

    objects = BoardQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("board")
        verbose_name_plural = gettext_lazy("boards")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def can_delete(self, user: Any) -> bool:
        return may_change_team(user, self)

    def add(self, generation_ids: Iterable[int], user: Any) -> int:
        """Put the images among `generation_ids` that `user` may see on the board (those
        already on it stay as they were); how many were added."""
        from imagestudio.studio.models import Generation

        visible = Generation.objects.viewable_by(user).filter(pk__in=list(generation_ids))
        with transaction.atomic():
            present = set(self.items.values_list("generation_id", flat=True))
            new = [pk for pk in visible.values_list("pk", flat=True) if pk not in present]
            BoardItem.objects.bulk_create(
                [BoardItem(board=self, generation_id=pk, added_by=user) for pk in new],
                ignore_conflicts=True,
            )
        return len(new)

    def remove(self, generation_id: int) -> bool:
        deleted, _ = self.items.filter(generation_id=generation_id).delete()
        return bool(deleted)


class BoardItem(models.Model):
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="items")
    generation = models.ForeignKey(
        "studio.Generation", on_delete=models.CASCADE, related_name="board_items"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = gettext_lazy("board item")
        verbose_name_plural = gettext_lazy("board items")
        ordering = ["-added_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["board", "generation"], name="board_item_once"),
        ]

    def __str__(self) -> str:
        return _("image %(image)s on board %(board)s") % {
            "image": self.generation_id,
            "board": self.board_id,
        }


class Star(models.Model):
    """One user's star on one image (each user has their own)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=gettext_lazy("user"),
    )
    generation = models.ForeignKey(
        "studio.Generation",
        on_delete=models.CASCADE,
        related_name="stars",
        verbose_name=gettext_lazy("image"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=gettext_lazy("starred"))

    class Meta:
        verbose_name = gettext_lazy("star")
        verbose_name_plural = gettext_lazy("stars")
        constraints = [
            models.UniqueConstraint(fields=["user", "generation"], name="star_once"),
        ]

    def __str__(self) -> str:
        return _("star of user %(user)s on image %(image)s") % {
            "user": self.user_id,
            "image": self.generation_id,
        }

    @classmethod
    def put(cls, user: Any, generation: Any, on: bool) -> bool:
        """Star (or unstar) `generation` for `user`, who must be able to see it; idempotent
        under double clicks. Returns whether it is starred now."""
        if on:
            cls.objects.get_or_create(user=user, generation=generation)
        else:
            cls.objects.filter(user=user, generation=generation).delete()
        return on
