"""Set, change or remove a monthly budget from a script on the server:

    python manage.py set_budget global 500
    python manage.py set_budget team Design 120.50 --alert-at 0.9
    python manage.py set_budget user alice 0 --clear

Recorded in the audit log via "command"."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from imagestudio.audit.trail import Via, acting
from imagestudio.spend.models import DEFAULT_ALERT_AT, Budget, Team
from imagestudio.spend.money import decimal_str, parse_usd, usd

Scope = Budget.Scope


def share(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not 0 < value <= 1 or value != value.quantize(Decimal("0.01")):
        raise CommandError(
            _("--alert-at %(value)r: use a share above 0 and at most 1, e.g. 0.8.")
            % {"value": text}
        )
    return value


class Command(BaseCommand):
    help = (
        "Set the monthly budget (US dollars, calendar month UTC) of the studio, a team or a "
        "user: set_budget (global | team NAME | user USERNAME) AMOUNT [--alert-at 0.8] "
        "[--clear]. With --clear the budget is removed (the scope becomes unlimited) and "
        "AMOUNT may be left out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scope", choices=list(Scope.values))
        parser.add_argument(
            "rest", nargs="*", help="NAME or USERNAME for team and user, then AMOUNT."
        )
        parser.add_argument(
            "--alert-at",
            default=str(DEFAULT_ALERT_AT),
            help="Warn at this share of the cap (default 0.8); again when it is used up.",
        )
        parser.add_argument("--clear", action="store_true", help="Remove the budget.")

    def handle(self, *args: Any, scope: str, rest: list[str], **options: Any) -> None:
        owner_given = scope != Scope.GLOBAL
        if owner_given and not rest:
            raise CommandError(
                _("Name the %(scope)s: set_budget %(scope)s NAME AMOUNT.") % {"scope": scope}
            )
        name = rest[0] if owner_given else ""
        amounts = rest[1:] if owner_given else rest
        team, user = self._owner(scope, name)
        with acting(via=Via.COMMAND):
            if options["clear"]:
                self._clear(scope, team, user)
                return
            if len(amounts) != 1:
                raise CommandError(_("Give one AMOUNT in dollars, e.g. 120.50 (or --clear)."))
            cap = parse_usd(amounts[0])
            if cap is None:
                raise CommandError(
                    _("AMOUNT %(value)r: dollars with at most 2 decimals, e.g. 120.50.")
                    % {"value": amounts[0]}
                )
            alert_at = share(options["alert_at"])
            budget = Budget.put(scope, team=team, user=user, cap=cap, alert_at=alert_at)
        self.stdout.write(
            _("%(budget)s: %(cap)s a month, alert at %(percent)s %%.")
            % {
                "budget": budget.describe().capitalize(),
                "cap": usd(budget.monthly_cap),
                "percent": decimal_str(budget.alert_at * 100).removesuffix(".00"),
            }
        )

    def _owner(self, scope: str, name: str) -> tuple[Team | None, Any]:
        if scope == Scope.TEAM:
            team = Team.objects.filter(name=name).first()
            if team is None:
                raise CommandError(_("No team named %(name)r.") % {"name": name})
            return team, None
        if scope == Scope.USER:
            model = get_user_model()
            try:
                return None, model.objects.get_by_natural_key(name)
            except model.DoesNotExist as exc:
                raise CommandError(_("No user named %(name)r.") % {"name": name}) from exc
        return None, None

    def _clear(self, scope: str, team: Team | None, user: Any) -> None:
        budget = Budget.objects.filter(scope=scope, team=team, user=user).first()
        if budget is None:
            self.stdout.write(_("No such budget: nothing to clear."))
            return
        label = budget.describe()
        budget.delete()
        self.stdout.write(
            _("Removed the budget of %(label)s: it is unlimited now.") % {"label": label}
        )
