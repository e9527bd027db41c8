from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from imagestudio import catalog
from imagestudio.routing.models import Chain, Circuit


class ChainForm(forms.ModelForm):
    # Only the catalog's models: a typo would otherwise be a chain nothing reads.
    model = forms.ChoiceField(choices=catalog.MODEL_CHOICES, label=_("route"))

    class Meta:
        model = Chain
        fields = list(Chain.STAFF_FIELDS)


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):
    """Staff's fallback chains and breaker thresholds; every change is audited
    (audit.signals) and applies within seconds, without a restart."""

    form = ChainForm
    list_display = [
        "model",
        "tier",
        "fallbacks_in_order",
        "allow_dearer",
        "allow_size_change",
        "min_success_rate",
        "window_calls",
        "cool_down_s",
        "updated_at",
    ]
    list_filter = ["model", "tier"]

    @admin.display(description=_("fallbacks"))
    def fallbacks_in_order(self, obj: Chain) -> str:
        # The routes as staff read them, not the JSON they are stored as.
        return " → ".join(obj.fallbacks) or "—"


@admin.register(Circuit)
class CircuitAdmin(admin.ModelAdmin):
    """The breakers' state, as the workers set it: read here, changed by no one else."""

    list_display = ["model", "tier", "state", "changed_at"]
    list_filter = ["state"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
