"""/api/v1/… — no trailing slashes, as API clients expect; unknown paths get a JSON 404."""

from django.urls import URLPattern, URLResolver, path, re_path

from imagestudio.api import (
    audit,
    batch_urls,
    board_urls,
    edits,
    kit_urls,
    provisioning,
    reconciliation,
    routes,
    spend,
    views,
)

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("openapi.json", views.openapi_json, name="openapi"),
    path("generations", views.generations, name="generations"),
    path("generations/<int:pk>", views.generation_detail, name="generation"),
    path("generations/<int:pk>/image", views.generation_image, name="generation-image"),
    path(
        "generations/<int:pk>/thumbnail",
        views.generation_thumbnail,
        name="generation-thumbnail",
    ),
    path("edits", edits.edits, name="edits"),
    path("generations/<int:pk>/iterate", edits.iterate, name="generation-iterate"),
    path(
        "generations/<int:pk>/inputs/<int:position>",
        edits.generation_input,
        name="generation-input",
    ),
    path("models", routes.models, name="models"),
    path("estimate", routes.estimate, name="estimate"),
    path("spend", spend.spend, name="spend"),
    path("audit", audit.audit, name="audit"),
    path("reconciliation", reconciliation.reconciliation, name="reconciliation"),
    path("users", provisioning.users, name="users"),
    path("users/<int:pk>", provisioning.user_detail, name="user"),
    path("teams", provisioning.teams, name="teams"),
    path("teams/<int:pk>/members", provisioning.team_members, name="team-members"),
    path("teams/<int:pk>/members/<int:user_id>", provisioning.team_member, name="team-member"),
    path("budgets", provisioning.budgets, name="budgets"),
    path("tokens", provisioning.tokens, name="tokens"),
    path("tokens/<int:pk>", provisioning.token_detail, name="token"),
    # Campaigns: each area's operations, in a module of its own.
    *batch_urls.urlpatterns,
    *board_urls.urlpatterns,
    *kit_urls.urlpatterns,
    re_path(r"^(?P<path>.*)$", views.not_found, name="not-found"),
]
