"""The brand kit form of the kit pages. Its rules are campaigns.kits.clean's (the API calls
the same): the form only collects the fields and shows the messages beside them."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from imagestudio import catalog
from imagestudio.campaigns import kits
from imagestudio.campaigns.models import Kit


def preset_choices() -> list[tuple[str, Any]]:
    return [("", _("None: choose model and size by hand"))] + [
        (p.key, f"{gettext(p.label)} — {gettext(p.for_)}") for p in catalog.PRESETS
    ]


def size_choices() -> list[tuple[str, Any]]:
    """Every model's sizes in one select, grouped by model (kits.clean checks the pair)."""
    # -vip's sizes come grouped by tier: (tier, [(value, label), …]).
    grouped = cast(list[tuple[str, list[tuple[str, str]]]], catalog.size_choices(catalog.VIP))
    vip = [
        (value, f"{catalog.VIP} · {tier} · {label}")
        for tier, options in grouped
        for value, label in options
    ]
    phrasings = [
        (value, f"{catalog.ALL} · {label}")
        for value, label in catalog.size_choices(catalog.ALL)
        if value
    ]
    return [("", _("Model decides"))] + [(catalog.VIP, vip), (catalog.ALL, phrasings)]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def clean(self, data: Any, initial: Any = None) -> Any:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data]
        return one(data, initial)


class KitForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=kits.NAME_MAX_CHARS, required=False)
    team = forms.TypedChoiceField(label=_("For"), coerce=int, empty_value=None, required=False)
    preset = forms.ChoiceField(label=_("What is it for?"), required=False)
    model = forms.ChoiceField(label=_("Model"), choices=catalog.MODEL_CHOICES, required=False)
    size = forms.ChoiceField(label=_("Size"), required=False)
    style = forms.CharField(
        label=_("Style"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Added after every prompt made with the kit, on a line of its own."),
    )
    template = forms.CharField(
        label=_("Prompt template"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        # The list syntax, not a format string:
        # xgettext:no-python-brace-format
        help_text=_("Optional: the team's recurring layout, with {placeholders} for a list."),
    )
    pictures = MultipleFileField(
        label=_("Reference pictures"),
        required=False,
        widget=MultipleFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_pictures = forms.BooleanField(label=_("Remove the pictures"), required=False)

    def __init__(self, *args: Any, user: Any, kit: Kit | None = None, **kwargs: Any) -> None:
        if kit is not None and not kwargs.get("data"):
            kwargs["initial"] = {
                "name": kit.name,
                "team": kit.team_id,
                "preset": kit.preset,
                "model": kit.model,
                "size": kit.size,
                "style": kit.style,
                "template": kit.template,
            }
        super().__init__(*args, **kwargs)
        self.user, self.kit = user, kit
        choices: dict[str, list[tuple[Any, Any]]] = {
            "team": [("", _("Just me")), *kits.team_choices(user)],
            "preset": preset_choices(),
            "size": size_choices(),
        }
        for name, options in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = options
        self.fields["model"].initial = catalog.VIP
        # Said here, per request: a lazy string filled in at import is fixed in English.
        self.fields["pictures"].help_text = gettext(
            "Up to %(n)s (a logo, a product shot), sent as image1, image2."
        ) % {"n": catalog.KIT_MAX_PICTURES}
        self.kit_fields: kits.KitFields | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.kit_fields = kits.clean(
                self.user,
                name=data.get("name", ""),
                team_id=data.get("team"),
                model=data.get("model") or catalog.VIP,
                size=data.get("size", ""),
                preset=data.get("preset", ""),
                style=data.get("style", ""),
                template=data.get("template", ""),
                kit=self.kit,
            )
        except kits.KitInvalid as exc:
            for field, message in exc.errors.items():
                self.add_error(field if field in self.fields else None, message)
        return data

    def uploaded(self) -> list[kits.Picture] | None:
        """The pictures to save: new uploads replace the kit's, "remove" clears them, and
        neither keeps them (None)."""
        files = self.files.getlist("pictures") if self.files else []
        if files:
            return [kits.Picture(f.read(), f.name or "") for f in files]
        if self.cleaned_data.get("remove_pictures"):
            return []
        return None
