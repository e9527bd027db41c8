from django.apps import AppConfig


class PrefilterConfig(AppConfig):
    name = "imagestudio.prefilter"
    label = "prefilter"
    verbose_name = "Prompt pre-filter"

    def ready(self) -> None:
        from imagestudio.prefilter import signals  # noqa: F401
