from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from imagestudio.studio.models import Generation

# The admin carries the studio's name (and its language: Django ships the admin's catalogue).
admin.site.site_header = _("ImageStudio administration")
admin.site.site_title = _("ImageStudio admin")
admin.site.index_title = _("Users, teams, budgets and the studio's records")
admin.site.site_url = "/"


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "model", "size", "status", "attempts", "cost_usd", "created_at"]
    list_filter = ["status", "model", "size_tier"]
    search_fields = ["prompt", "user__username"]
    readonly_fields = [f.name for f in Generation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
