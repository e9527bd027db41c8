from django.contrib import admin

from imagestudio.routing.models import Chain, Circuit


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):
    """Staff's fallback chains and breaker thresholds; every change is audited
    (audit.signals) and applies within seconds, without a restart."""

    list_display = [
        "model",
        "tier",
        "fallbacks",
        "allow_dearer",
        "allow_size_change",
        "min_success_rate",
        "window_calls",
        "cool_down_s",
        "updated_at",
    ]
    list_filter = ["model", "tier"]


@admin.register(Circuit)
class CircuitAdmin(admin.ModelAdmin):
    """The breakers' state, as the workers set it: read here, changed by no one else."""

    list_display = ["model", "tier", "state", "changed_at"]
    list_filter = ["state"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
