"""Brand kits in the app (/kits/…)."""

from django.urls import path  # noqa: F401

app_name = "kits"

urlpatterns: list = []
