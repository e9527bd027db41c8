from django.urls import path

from imagestudio.accounts import signin

app_name = "oidc"

urlpatterns = [
    path("start/", signin.start, name="start"),
    path("callback/", signin.callback, name="callback"),
    path("end/", signin.end_provider_session, name="end"),
]
