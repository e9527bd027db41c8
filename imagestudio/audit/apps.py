from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AuditConfig(AppConfig):
    name = "imagestudio.audit"
    label = "audit"
    verbose_name = gettext_lazy("Audit log")

    def ready(self) -> None:
        from imagestudio.audit import signals

        signals.connect()
