from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class StudioConfig(AppConfig):
    name = "imagestudio.studio"
    label = "studio"
    verbose_name = gettext_lazy("Studio")

    def ready(self) -> None:
        from imagestudio.spend import budgets
        from imagestudio.studio.models import Generation

        # Budgets count queued and running images as reserved; spend cannot import the
        # studio (the studio imports spend), so the studio tells it how.
        budgets.count_pending_with(Generation.objects.pending_by_model)
