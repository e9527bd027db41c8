from django.urls import path
from django.views.generic import RedirectView

from imagestudio.accounts import views

app_name = "account"

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    # The page's first address, kept for bookmarks and older links.
    path("", RedirectView.as_view(pattern_name="account:preferences"), name="home"),
    path("language", views.language, name="language"),
]
