from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "imagestudio.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
