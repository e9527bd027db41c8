"""Forms for the studio pages.

The generate form declares its fields loosely on purpose: services.validate is the one
place that decides what a valid request is (the JSON API calls it too), so the messages a
designer reads next to each field are the same ones an API client gets."""

from __future__ import annotations

from typing import Any

from django import forms

from imagestudio import catalog
from imagestudio.spend import charging
from imagestudio.spend.models import Team
from imagestudio.studio import services
from imagestudio.studio.models import Status


class GenerateForm(forms.Form):
    prompt = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": "Describe the image — in English or Chinese (中文也可以)",
                "autofocus": True,
            }
        ),
    )
    model = forms.CharField(
        required=False,
        initial=catalog.DEFAULT_MODEL,
        widget=forms.Select(choices=catalog.MODEL_CHOICES),
    )
    size = forms.CharField(required=False, strip=False)
    count = forms.CharField(
        required=False,
        initial="1",
        widget=forms.NumberInput(attrs={"min": 1, "max": catalog.MAX_COUNT, "step": 1}),
    )
    fallback_2k = forms.BooleanField(required=False, initial=True)
    # The team the batch is charged to (an id among the user's teams; empty: the first).
    team = forms.CharField(required=False)
    # Staff only: submit even past a budget. Ignored for everyone else.
    override_budget = forms.BooleanField(required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.validated: services.Request | None = None
        # What spend.charging decided: the Team charged and whether the budget is skipped.
        self.charged_team: Team | None = None
        self.override_budget_allowed = False

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.validated = services.validate(
                model=data.get("model"),
                prompt=data.get("prompt"),
                size=data.get("size"),
                count=data.get("count"),
                fallback_2k=data.get("fallback_2k", True),
            )
        except services.Invalid as exc:
            for field, message in exc.errors.items():
                # A field Django already rejected (a NUL byte, say) keeps its own message
                # rather than gaining a second, confusing one.
                if field in self.errors:
                    continue
                self.add_error(field if field in self.fields else None, message)
        if self.user is not None:
            try:
                self.charged_team = charging.charged_team(self.user, data.get("team") or None)
                self.override_budget_allowed = charging.override_allowed(
                    self.user, bool(data.get("override_budget"))
                )
            except charging.ChargeRefused as exc:
                self.add_error(exc.field, exc.message)
        return data


def _with_any(label: str, choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


class GalleryFilterForm(forms.Form):
    """Every field optional; an unknown value is dropped rather than shown as an error,
    because these arrive from bookmarked or hand-edited URLs."""

    q = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Search prompts"}),
    )
    model = forms.ChoiceField(
        required=False, choices=_with_any("Any model", [(m, m) for m in catalog.MODELS])
    )
    tier = forms.ChoiceField(
        required=False,
        choices=_with_any("Any size", [(t.id, t.label) for t in catalog.TIERS.values()]),
    )
    status = forms.ChoiceField(required=False, choices=_with_any("Any status", Status.choices))
    everyone = forms.BooleanField(required=False, label="Everyone's images")
    stack = forms.BooleanField(required=False, label="Group versions")

    def filters(self) -> dict:
        """The valid filters only, as cleaned values ("" or False when unset)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned.get(name, "") if name not in self.errors else ""
            for name in ("q", "model", "tier", "status", "everyone", "stack")
        }
