"""Batches from a list: the batch page and its actions (/batches/…)."""

from django.urls import path

from imagestudio.campaigns import batch_views

app_name = "batches"

urlpatterns = [
    path("batches/<int:pk>/", batch_views.detail, name="detail"),
    path("batches/<int:pk>/poll", batch_views.poll, name="poll"),
    path("batches/<int:pk>/download", batch_views.download, name="download"),
    path("batches/<int:pk>/retry-failed", batch_views.retry_failed, name="retry-failed"),
    path("batches/<int:pk>/cancel-queued", batch_views.cancel_queued, name="cancel-queued"),
]
