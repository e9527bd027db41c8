from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class AccountsConfig(AppConfig):
    name = "imagestudio.accounts"
    label = "accounts"
    verbose_name = gettext_lazy("Accounts")

    def ready(self) -> None:
        from imagestudio.accounts import signals  # noqa: F401  (connects the receivers)
