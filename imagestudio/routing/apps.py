from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy


class RoutingConfig(AppConfig):
    name = "imagestudio.routing"
    label = "routing"
    verbose_name = gettext_lazy("Routes and fallbacks")

    def ready(self) -> None:
        from imagestudio.routing import chains
        from imagestudio.routing.models import Chain

        post_save.connect(chains.forget, sender=Chain, dispatch_uid="routing-chain-saved")
        post_delete.connect(chains.forget, sender=Chain, dispatch_uid="routing-chain-deleted")
