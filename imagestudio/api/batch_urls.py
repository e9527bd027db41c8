"""/api/v1/… for list batches (GET /batches/{id}, its download): spliced into
api.urls (names are api:…)."""

from django.urls import URLPattern, path

from imagestudio.api import batches

urlpatterns: list[URLPattern] = [
    path("batches/<int:pk>", batches.batch_detail, name="batch"),
    path("batches/<int:pk>/download", batches.batch_download, name="batch-download"),
]
