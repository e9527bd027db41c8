from django.urls import path

from imagestudio.reconcile import views

app_name = "reconcile"

urlpatterns = [
    path("", views.books_page, name="books"),
    path("threshold/", views.set_threshold, name="threshold"),
]
