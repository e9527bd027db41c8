from django.urls import path

from imagestudio.accounts import people

app_name = "people"

urlpatterns = [
    path("", people.users, name="users"),
    path("users/<int:pk>/", people.change_user, name="change_user"),
    path("teams/", people.teams, name="teams"),
    path("teams/<int:pk>/members/", people.add_member, name="add_member"),
    path(
        "teams/<int:pk>/members/<int:user_id>/remove/", people.remove_member, name="remove_member"
    ),
    path("budgets/", people.budgets, name="budgets"),
    path("budgets/<int:pk>/delete/", people.delete_budget, name="delete_budget"),
]
