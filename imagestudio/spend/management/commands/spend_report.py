"""Print a calendar month's spend per user, team and model: the dashboard's figures, for
reconciling with the gateway's bill."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from imagestudio.spend import reports


class Command(BaseCommand):
    help = "Print a month's billed spend per user, team and model (UTC calendar month)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: this month, UTC)")

    def handle(self, *args, month: str | None = None, **options) -> None:
        if month:
            try:
                moment = datetime.strptime(month, "%Y-%m")
            except ValueError as exc:
                raise CommandError(f"--month must look like 2026-11 (got {month!r}).") from exc
        else:
            moment = timezone.now().astimezone(UTC)
        start, end = reports.month_bounds(moment.year, moment.month)
        filters = reports.Filters(start, end)
        totals = reports.totals(filters)
        out = self.stdout
        out.write(f"Spend for {start:%Y-%m} (UTC)")
        out.write(
            f"Total: ${totals['total']:.4f} in {totals['billed_calls']} billed calls "
            f"({totals['unbilled_calls']} not billed); no image: ${totals['wasted']:.4f} "
            f"in {totals['wasted_calls']} calls"
        )
        for group, title in (("user", "User"), ("team", "Team"), ("model", "Model")):
            rows = reports.breakdown(filters, group)
            out.write("")
            out.write(f"{title:<30} {'spend':>12} {'billed':>8} {'calls':>8} {'no image':>12}")
            for row in rows:
                out.write(
                    f"{str(row['key'])[:30]:<30} {row['total']:>12.4f} {row['billed_calls']:>8} "
                    f"{row['calls']:>8} {row['wasted']:>12.4f}"
                )
            if not rows:
                out.write("(no calls)")
