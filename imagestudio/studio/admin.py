from django.contrib import admin

from imagestudio.studio.models import Generation


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "model", "size", "status", "attempts", "cost_usd", "created_at"]
    list_filter = ["status", "model", "size_tier"]
    search_fields = ["prompt", "user__username"]
    readonly_fields = [f.name for f in Generation._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
