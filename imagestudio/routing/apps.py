from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class RoutingConfig(AppConfig):
    name = "imagestudio.routing"
    label = "routing"
    verbose_name = gettext_lazy("Routes and fallbacks")
