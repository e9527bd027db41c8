"""Create an API token for a user and print it once (only its hash is stored)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from imagestudio.api.models import ApiToken


class Command(BaseCommand):
    help = "Issue a bearer token for the JSON API. The token is the last line of the output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label, e.g. the script using it.")

    def handle(self, *args, username: str, name: str, **options) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get_by_natural_key(username)
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            # Such a token would be refused on every request (see auth.find_token).
            raise CommandError(f"User {username!r} is inactive; activate them first.")
        token, raw = ApiToken.issue(user, name=name)
        label = f" ({name})" if name else ""
        self.stdout.write(f"API token {token.prefix}…{label} for {username}.")
        self.stdout.write("Copy it now: only its hash is stored, it cannot be shown again.")
        # Last line, alone, so scripts can take it with `| tail -n 1`.
        self.stdout.write(raw)
