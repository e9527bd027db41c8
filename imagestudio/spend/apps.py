from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy


class SpendConfig(AppConfig):
    name = "imagestudio.spend"
    label = "spend"
    verbose_name = gettext_lazy("Spend")

    def ready(self) -> None:
        from imagestudio import catalog
        from imagestudio.spend import routes, teams
        from imagestudio.spend.models import Membership, RouteSetting, Team

        catalog.use_overrides(routes.overrides)
        for signal in (post_save, post_delete):
            signal.connect(routes.forget, sender=RouteSetting, dispatch_uid=f"routes-{signal}")

        for model in (Team, Membership):
            post_save.connect(teams.changed, sender=model, dispatch_uid=f"teams-{model.__name__}")
            post_delete.connect(
                teams.changed, sender=model, dispatch_uid=f"teams-del-{model.__name__}"
            )
        m2m_changed.connect(teams.changed, sender=Team.members.through, dispatch_uid="teams-m2m")
