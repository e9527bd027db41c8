from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy


class StudioConfig(AppConfig):
    name = "imagestudio.studio"
    label = "studio"
    verbose_name = gettext_lazy("Studio")

    def ready(self) -> None:
        from imagestudio.api.models import ApiToken
        from imagestudio.campaigns.models import Board, BoardItem, Star
        from imagestudio.spend import budgets
        from imagestudio.spend.models import Membership, Team
        from imagestudio.studio import changes
        from imagestudio.studio.models import Generation

        # Budgets count queued and running images as reserved; spend cannot import the
        # studio (the studio imports spend), so the studio tells it how.
        budgets.count_pending_with(Generation.objects.pending_by_model)

        # Pollers' tokens (studio.changes) must not outlive who may see what.
        post_save.connect(
            changes.user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="chg-user"
        )
        for model in (Team, Membership):
            for signal in (post_save, post_delete):
                signal.connect(
                    changes.access_changed, sender=model, dispatch_uid=f"chg-{model.__name__}"
                )
        m2m_changed.connect(
            changes.access_changed, sender=Team.members.through, dispatch_uid="chg-m2m"
        )
        for marked in (Star, Board, BoardItem):
            for signal in (post_save, post_delete):
                signal.connect(
                    changes.marks_changed, sender=marked, dispatch_uid=f"chg-{marked.__name__}"
                )
        post_delete.connect(changes.token_revoked, sender=ApiToken, dispatch_uid="chg-token")
