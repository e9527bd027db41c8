"""/api/v1/… for stars, boards and downloads: spliced into api.urls (names are api:…)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
