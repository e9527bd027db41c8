"""python manage.py reconcile --from YYYY-MM-DD --to YYYY-MM-DD: read the gateway's log
for those UTC days (inclusive), match it with the ledger and print each day's books."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imagestudio.reconcile import books
from imagestudio.reconcile.models import Pull
from imagestudio.spend.money import decimal_str
from imagestudio.web.parsing import day_or_none


class Command(BaseCommand):
    help = "Reconcile the ledger with the gateway's log over a range of UTC days."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="first", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last", help="YYYY-MM-DD (default: --from)")

    def handle(self, *args, first: str, last: str | None, **options) -> None:
        if not books.configured():
            raise CommandError("IMAGESTUDIO_GATEWAY_SYSTEM_TOKEN is not set: nothing to do.")
        start_day = day_or_none(first)
        end_day = day_or_none(last) if last else start_day
        if start_day is None or end_day is None or end_day < start_day:
            raise CommandError("--from and --to are days (YYYY-MM-DD), --to not before --from.")
        start, end = books.bounds(start_day, end_day)
        now = timezone.now().astimezone(UTC)
        end = min(end - timedelta(seconds=1), now)
        outcome = books.reconcile(start, end)
        run = outcome.pull
        assert run is not None
        if run.outcome == Pull.Outcome.BAD_TOKEN:
            raise CommandError("The gateway refused the system token: nothing was marked.")
        if run.outcome != Pull.Outcome.OK:
            raise CommandError(f"The gateway's log could not be read ({run.message}); try later.")
        self.stdout.write(
            f"{run.rows} log rows read in {run.pages} pages ({run.new_rows} new, "
            f"{run.malformed} unreadable); {outcome.decided} decided."
        )
        for day in books.days(start_day, end_day):
            self.stdout.write(
                f"{day.day}  gateway {decimal_str(day.gateway)}  ledger "
                f"{decimal_str(day.ledger)}  difference {decimal_str(day.difference)}"
            )
        for d in books.differences(start_day, end_day):
            self.stdout.write(
                f"  {d.kind:<22} {d.request_id or '-':<36} gateway {decimal_str(d.gateway)} "
                f"ledger {decimal_str(d.ledger)} image {d.generation_id or '-'}"
            )
