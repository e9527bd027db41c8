"""/api/v1/… for stars, boards and downloads: spliced into api.urls (names are api:…)."""

from django.urls import URLPattern, path

from imagestudio.api import boards

urlpatterns: list[URLPattern] = [
    path("boards", boards.board_collection, name="boards"),
    path("boards/<int:pk>", boards.board_detail, name="board"),
    path("boards/<int:pk>/items", boards.board_items, name="board-items"),
    path("boards/<int:pk>/items/<int:generation_id>", boards.board_item, name="board-item"),
    path("boards/<int:pk>/download", boards.board_download, name="board-download"),
    path("downloads", boards.downloads, name="downloads"),
]
