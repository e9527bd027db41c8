"""/api/v1/… for list batches (GET /batches/{id}, its download): spliced into
api.urls (names are api:…)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
