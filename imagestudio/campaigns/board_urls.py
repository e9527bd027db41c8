"""Stars, boards, the viewer and ZIP downloads (/boards/…, /downloads…, stars on /g/<id>/…)."""

from django.urls import path  # noqa: F401

app_name = "boards"

urlpatterns: list = []
