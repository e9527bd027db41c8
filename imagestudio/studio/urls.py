from django.urls import path

from imagestudio.studio import edit_views, views

app_name = "studio"

urlpatterns = [
    path("", views.home, name="home"),
    path("sizes", views.sizes, name="sizes"),
    path("check", views.check, name="check"),
    path("generate", views.generate, name="generate"),
    path("poll", views.poll, name="poll"),
    path("gallery/", views.gallery, name="gallery"),
    path("g/<int:pk>/", views.detail, name="detail"),
    path("g/<int:pk>/poll", views.detail_poll, name="detail_poll"),
    path("g/<int:pk>/image", views.image, name="image"),
    path("g/<int:pk>/thumb", views.thumb, name="thumb"),
    path("g/<int:pk>/retry", views.retry, name="retry"),
    path("g/<int:pk>/cancel", views.cancel, name="cancel"),
    path("g/<int:pk>/delete", views.delete, name="delete"),
    path("g/<int:pk>/iterate", edit_views.iterate, name="iterate"),
    path("g/<int:pk>/inputs/<int:position>", edit_views.input_file, name="input"),
    path("inputs", edit_views.stage, name="stage"),
    path("inputs/pick", edit_views.pick, name="pick"),
    path("inputs/<int:pk>", edit_views.staged_file, name="staged"),
]
