from django.apps import AppConfig


class SpendConfig(AppConfig):
    name = "imagestudio.spend"
    label = "spend"
    verbose_name = "Spend"
