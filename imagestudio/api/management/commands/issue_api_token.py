"""Create an API token for a user and print it once (only its hash is stored)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

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
            raise CommandError(_("No user named %(name)r.") % {"name": username}) from exc
        if not user.is_active:
            # Such a token would be refused on every request (see auth.find_token).
            raise CommandError(
                _("User %(name)r is inactive; activate them first.") % {"name": username}
            )
        token, raw = ApiToken.issue(user, name=name)
        label = f" ({name})" if name else ""
        self.stdout.write(
            _("API token %(prefix)s…%(label)s for %(name)s.")
            % {"prefix": token.prefix, "label": label, "name": username}
        )
        self.stdout.write(_("Copy it now: only its hash is stored, it cannot be shown again."))
        # Last line, alone, so scripts can take it with `| tail -n 1`.
        self.stdout.write(raw)
