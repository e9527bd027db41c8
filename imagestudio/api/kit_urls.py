"""/api/v1/… for brand kits and the built-in presets: spliced into api.urls (names are api:…)."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
