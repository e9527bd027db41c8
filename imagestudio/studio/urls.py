from django.urls import path

from imagestudio.studio import views

app_name = "studio"

urlpatterns = [
    path("", views.home, name="home"),
    path("sizes", views.sizes, name="sizes"),
    path("check", views.check, name="check"),
    path("generate", views.generate, name="generate"),
    path("poll", views.poll, name="poll"),
    path("gallery/", views.gallery, name="gallery"),
    path("g/<int:pk>/", views.detail, name="detail"),
    path("g/<int:pk>/image", views.image, name="image"),
    path("g/<int:pk>/thumb", views.thumb, name="thumb"),
    path("g/<int:pk>/retry", views.retry, name="retry"),
    path("g/<int:pk>/cancel", views.cancel, name="cancel"),
    path("g/<int:pk>/delete", views.delete, name="delete"),
]
