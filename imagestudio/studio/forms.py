"""Forms for the studio pages.

The generate form declares its fields loosely on purpose: services.validate is the one
place that decides what a valid request is (the JSON API calls it too), so the messages a
designer reads next to each field are the same ones an API client gets."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from imagestudio import catalog
from imagestudio.campaigns import lists
from imagestudio.campaigns.models import Kit
from imagestudio.spend.models import Team
from imagestudio.studio import services
from imagestudio.studio.models import Status

ONE, LIST = "one", "list"


class GenerateForm(forms.Form):
    # What the image is for: a built-in preset sets model and size (sizes stay selectable).
    preset = forms.ChoiceField(required=False)
    # A brand kit the user may use: its style on every prompt, its pictures with them.
    kit = forms.CharField(required=False)
    mode = forms.ChoiceField(
        required=False, choices=[(ONE, _("One prompt")), (LIST, _("A list"))], initial=ONE
    )
    # "A list": one prompt per line, or with a template the rows of a CSV/TSV table.
    template = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": _("Summer sale poster for {product}, headline “{slogan}”"),
            }
        ),
    )
    items = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 6}))
    items_file = forms.FileField(required=False)
    prompt = forms.CharField(
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": _("Describe the image — in English or Chinese (中文也可以)"),
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
    # The route's options, offered only where the chosen model takes them (the catalog).
    quality = forms.CharField(required=False)
    background = forms.CharField(required=False)
    output_format = forms.CharField(required=False)
    # The team the batch is charged to (an id among the user's teams; empty: the first).
    team = forms.CharField(required=False)
    # Staff only: submit even past a budget. Ignored for everyone else.
    override_budget = forms.BooleanField(required=False)

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if not self.is_bound:
            self.fields["model"].initial = catalog.default_model()
        self.validated: services.Request | None = None
        self.plan: services.Plan | None = None
        # Every prompt of the batch (one, or the list's) and what the batch keeps.
        self.requests: list[services.Request] = []
        self.campaign = services.Campaign()
        self.kits = list(Kit.objects.usable_by(user).prefetch_related("pictures")) if user else []
        preset = cast(forms.ChoiceField, self.fields["preset"])
        preset.choices = [("", "")] + [(p.key, p.key) for p in catalog.PRESETS]
        # What spend.charging decided: the Team charged and whether the budget is skipped.
        self.charged_team: Team | None = None
        self.override_budget_allowed = False

    def is_list(self) -> bool:
        return (self["mode"].value() or ONE) == LIST

    def chosen_kit(self) -> Kit | None:
        wanted = str(self["kit"].value() or "")
        return next((k for k in self.kits if str(k.pk) == wanted), None)

    def list_items(self, data: dict[str, Any]) -> list[lists.Item]:
        """The list's prompts: a template fills the rows of the table (pasted or uploaded);
        without one, each line is a prompt. ListInvalid names the field and the row."""
        upload = data.get("items_file")
        if upload is not None:
            if upload.size > lists.MAX_UPLOAD_BYTES:
                raise lists.ListInvalid(
                    "items_file", gettext("The file is larger than 1 MB: is it the list?")
                )
            text = lists.decode(upload.read())
        else:
            text = data.get("items") or ""
        template = (data.get("template") or "").strip()
        if template:
            table = lists.read_table(text)
            self.campaign.columns = table.columns
            self.campaign.template = template
            return lists.from_template(template, table)
        return lists.from_lines(text)

    def clean(self) -> dict[str, Any]:
        """The form's fields as an `services.Ask`; services.plan applies every rule (the
        API's POST /generations asks the same function)."""
        data = super().clean() or {}
        ask = services.Ask(
            model=data.get("model"),
            prompt=data.get("prompt"),
            size=data.get("size"),
            count=data.get("count"),
            fallback_2k=data.get("fallback_2k", True),
            quality=data.get("quality") or None,
            background=data.get("background") or None,
            output_format=data.get("output_format") or None,
            preset=data.get("preset") or "",
            kit=data.get("kit") or "",
            team=data.get("team") or None,
            override_budget=bool(data.get("override_budget")),
        )
        try:
            if self.is_list():
                try:
                    ask.items, ask.list_field = self.list_items(data), "items"
                except lists.ListInvalid as exc:
                    field = exc.field if exc.field in ("template", "items_file") else "items"
                    ask.refused[field] = exc.message
                ask.template, ask.columns = self.campaign.template, self.campaign.columns
            self.plan = services.plan(self.user, ask)
        except services.Invalid as exc:
            for field, message in exc.errors.items():
                # A field Django already rejected (a NUL byte, say) keeps its own message
                # rather than gaining a second, confusing one.
                if field in self.errors:
                    continue
                self.add_error(field if field in self.fields else None, message)
            return data
        self.campaign = self.plan.campaign
        self.requests = self.plan.requests
        self.validated = self.plan.request
        self.charged_team = self.plan.team
        self.override_budget_allowed = self.plan.override_budget
        return data


def _with_any(label: Any, choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", label), *choices]


class GalleryFilterForm(forms.Form):
    """Every field optional; an unknown value is dropped rather than shown as an error,
    because these arrive from bookmarked or hand-edited URLs."""

    q = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Search prompts")}),
    )
    model = forms.ChoiceField(
        required=False, choices=_with_any(_("Any model"), [(m, m) for m in catalog.MODELS])
    )
    tier = forms.ChoiceField(
        required=False,
        choices=_with_any(_("Any size"), [(t.id, t.label) for t in catalog.TIERS.values()]),
    )
    status = forms.ChoiceField(required=False, choices=_with_any(_("Any status"), Status.choices))
    everyone = forms.BooleanField(required=False, label=_("Everyone's images"))
    stack = forms.BooleanField(required=False, label=_("Group versions"))

    def filters(self) -> dict:
        """The valid filters only, as cleaned values ("" or False when unset)."""
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {
            name: cleaned.get(name, "") if name not in self.errors else ""
            for name in ("q", "model", "tier", "status", "everyone", "stack")
        }
