from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "imagestudio.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from imagestudio.audit import signals

        signals.connect()
