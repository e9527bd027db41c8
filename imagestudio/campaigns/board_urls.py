"""Stars, boards, the viewer and ZIP downloads (/boards/…, /downloads…, stars on /g/<id>/…)."""

from django.urls import path

from imagestudio.campaigns import board_views

app_name = "boards"

urlpatterns = [
    path("boards/", board_views.board_list, name="list"),
    path("boards/add", board_views.board_add, name="add"),
    path("boards/<int:pk>/", board_views.board_detail, name="detail"),
    path("boards/<int:pk>/rename", board_views.board_rename, name="rename"),
    path("boards/<int:pk>/delete", board_views.board_delete, name="delete"),
    path("boards/<int:pk>/download", board_views.board_download, name="download"),
    path("boards/<int:pk>/remove/<int:generation_id>", board_views.board_remove, name="remove"),
    path("g/<int:pk>/star", board_views.star, name="star"),
    path("g/bulk-delete", board_views.bulk_delete, name="bulk-delete"),
    path("downloads", board_views.download, name="downloads"),
]
