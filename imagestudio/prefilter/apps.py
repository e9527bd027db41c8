from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class PrefilterConfig(AppConfig):
    name = "imagestudio.prefilter"
    label = "prefilter"
    verbose_name = gettext_lazy("Prompt pre-filter")

    def ready(self) -> None:
        from imagestudio.prefilter import signals  # noqa: F401
