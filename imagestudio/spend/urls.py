from django.urls import path

from imagestudio.spend import views

app_name = "spend"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("soft-refusals/", views.soft_refusals, name="soft_refusals"),
    path("mine/", views.mine, name="mine"),
]
