"""Boards and stars in the admin: for staff looking into a team's collections; people add
and remove images in the studio (Board.add, Board.remove, Star.put)."""

from django.contrib import admin

from imagestudio.campaigns.models import Board, BoardItem, Star


class BoardItemInline(admin.TabularInline):
    model = BoardItem
    extra = 0
    raw_id_fields = ["generation", "added_by"]
    readonly_fields = ["added_at"]


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created_by", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "created_by__username", "team__name"]
    raw_id_fields = ["created_by"]
    date_hierarchy = "created_at"
    inlines = [BoardItemInline]


@admin.register(Star)
class StarAdmin(admin.ModelAdmin):
    list_display = ["user", "generation", "created_at"]
    search_fields = ["user__username"]
    raw_id_fields = ["user", "generation"]
