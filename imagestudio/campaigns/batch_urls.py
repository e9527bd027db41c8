"""Batches from a list: the batch page and its actions (/batches/…)."""

from django.urls import path  # noqa: F401

app_name = "batches"

urlpatterns: list = []
