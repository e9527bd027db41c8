from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "imagestudio.api"
    label = "api"
    verbose_name = "API"
