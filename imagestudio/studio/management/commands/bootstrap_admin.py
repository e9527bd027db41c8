"""First run only: create an admin with a generated password and print it once."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the first admin account (when there is none) and print its credentials once."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000/accounts/login/")
        parser.add_argument("--username", default="admin")

    def handle(self, *args, url: str, username: str, **options) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write(f"Sign in at {url}")
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        # Printed once, to the terminal of whoever ran `make run`; never logged.
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "An admin account was created. This password is shown only now:",
                    f"  sign in at: {url}",
                    f"  user name:  {username}",
                    f"  password:   {password}",
                    "",
                ]
            )
        )
