from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from imagestudio.studio.models import Generation

# The admin carries the studio's name (and its language: Django ships the admin's catalogue).
admin.site.site_header = _("ImageStudio administration")
admin.site.site_title = _("ImageStudio admin")
admin.site.index_title = _("Users, teams, budgets and the studio's records")
admin.site.site_url = "/"

# Django 6.1's blank choice (the first option of every drop-down on a model's form) is not
# in its own Chinese catalogue yet: the studio's carries it.
gettext_noop("- Select an option -")


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "model", "size", "status", "attempts", "cost_usd", "created_at"]
    list_filter = ["status", "model", "size_tier"]
    search_fields = ["prompt", "user__username"]
    # The hops as the studio words them, not their JSON.
    readonly_fields = [f.name for f in Generation._meta.fields if f.name != "hops"] + [
        "routes_tried"
    ]

    @admin.display(description=_("routes tried"))
    def routes_tried(self, obj: Generation) -> str:
        return obj.route_note or "—"

    def has_add_permission(self, request) -> bool:
        return False
