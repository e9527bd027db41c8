from django.urls import path

from imagestudio.accounts import views

app_name = "account"

urlpatterns = [
    path("", views.preferences, name="preferences"),
    path("language", views.language, name="language"),
]
