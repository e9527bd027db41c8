from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RoutingConfig(AppConfig):
    name = "imagestudio.routing"
    label = "routing"
    verbose_name = "Routes and fallbacks"

    def ready(self) -> None:
        from imagestudio.routing import chains
        from imagestudio.routing.models import Chain

        post_save.connect(chains.forget, sender=Chain, dispatch_uid="routing-chain-saved")
        post_delete.connect(chains.forget, sender=Chain, dispatch_uid="routing-chain-deleted")
