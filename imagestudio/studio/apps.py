from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "imagestudio.studio"
    label = "studio"
    verbose_name = "Studio"
