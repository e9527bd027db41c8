from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "imagestudio.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from imagestudio.accounts import signals  # noqa: F401  (connects the receivers)
