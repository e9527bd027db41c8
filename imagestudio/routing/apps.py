from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "imagestudio.routing"
    label = "routing"
    verbose_name = "Routes and fallbacks"
