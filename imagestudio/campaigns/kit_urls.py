"""Brand kits in the app (/kits/…)."""

from django.urls import path

from imagestudio.campaigns import kit_views

app_name = "kits"

urlpatterns = [
    path("", kit_views.kit_list, name="list"),
    path("new", kit_views.kit_new, name="new"),
    path("<int:pk>/", kit_views.kit_edit, name="edit"),
    path("<int:pk>/delete", kit_views.kit_delete, name="delete"),
    path("<int:pk>/pictures/<int:position>", kit_views.kit_picture, name="picture"),
]
