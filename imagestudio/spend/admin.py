from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from imagestudio import catalog
from imagestudio.spend import budgets
from imagestudio.spend.models import Attempt, Budget, Membership, RouteSetting, Team
from imagestudio.spend.money import usd


@admin.register(Attempt)
class AttemptAdmin(admin.ModelAdmin):
    """Read-only: the ledger is append-only, corrections are new rows."""

    list_display = [
        "created_at",
        "user",
        "model",
        "size_sent",
        "http_status",
        "outcome",
        "billed",
        "amount",
        "latency_ms",
        "request_id",
    ]
    list_filter = ["model", "outcome", "billed", "size_tier"]
    search_fields = ["request_id", "user__username"]
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["scope", "team", "user", "monthly_cap", "spent", "left", "updated_at"]
    list_filter = ["scope"]
    autocomplete_fields = ["team", "user"]
    readonly_fields = ["spent", "left"]

    # Two aggregate queries a row: an admin lists a handful of budgets, and the figures are
    # the same ones a refusal quotes (budgets.standing), not a second way to add them up.
    @admin.display(description=_("Spent this month"))
    def spent(self, obj: Budget) -> str:
        if obj.pk is None:
            return "—"
        return usd(budgets.standing(obj).used)

    @admin.display(description=_("Left this month"))
    def left(self, obj: Budget) -> str:
        if obj.pk is None:
            return "—"
        return usd(budgets.standing(obj).remaining)


class RouteSettingForm(forms.ModelForm):
    # Only the catalog's models: a typo would otherwise be a setting nothing reads.
    model = forms.ChoiceField(choices=catalog.MODEL_CHOICES, label=_("Model"))

    class Meta:
        model = RouteSetting
        fields = [
            "model",
            "enabled",
            "price_per_image",
            "text_input_per_million",
            "image_input_per_million",
            "image_output_per_million",
            "timeout_seconds",
        ]


@admin.register(RouteSetting)
class RouteSettingAdmin(admin.ModelAdmin):
    """Switch a route off, or set its price or timeout; audited like every tracked model
    and applied within seconds (spend.routes)."""

    form = RouteSettingForm
    list_display = [
        "model",
        "enabled",
        "price_per_image",
        "image_output_per_million",
        "timeout_seconds",
        "updated_at",
    ]
    list_editable = ["enabled"]
