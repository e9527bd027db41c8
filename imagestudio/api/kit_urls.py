"""/api/v1/… for brand kits and the built-in presets: spliced into api.urls (names are
api:…)."""

from django.urls import URLPattern, path

from imagestudio.api import kits

urlpatterns: list[URLPattern] = [
    path("presets", kits.presets, name="presets"),
    path("kits", kits.kit_collection, name="kits"),
    path("kits/<int:pk>", kits.kit_detail, name="kit"),
    path("kits/<int:pk>/pictures/<int:position>", kits.kit_picture, name="kit-picture"),
]
