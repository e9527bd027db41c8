"""Print a calendar month's spend per user, team and model: the dashboard's figures, for
reconciling with the gateway's bill. `--format csv` prints the same rows as one CSV (through
the neutralising writer every export uses), for a spreadsheet."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from imagestudio.spend import csvsafe, money, reports

GROUPS = (("user", "User"), ("team", "Team"), ("model", "Model"))
CSV_HEADER = [
    "group",
    "key",
    "total_usd",
    "billed_calls",
    "calls",
    "unbilled_calls",
    "images",
    "no_image_usd",
    "no_image_calls",
]


class Command(BaseCommand):
    help = "Print a month's billed spend per user, team and model (UTC calendar month)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", help="YYYY-MM (default: this month, UTC)")
        parser.add_argument(
            "--format",
            dest="output_format",
            choices=("text", "csv"),
            default="text",
            help=_("text (a table to read, the default) or csv (one row per user, team, model)"),
        )

    def handle(
        self, *args, month: str | None = None, output_format: str = "text", **options
    ) -> None:
        if month:
            try:
                moment = datetime.strptime(month, "%Y-%m")
            except ValueError as exc:
                raise CommandError(f"--month must look like 2026-11 (got {month!r}).") from exc
        else:
            moment = timezone.now().astimezone(UTC)
        start, end = reports.month_bounds(moment.year, moment.month)
        filters = reports.Filters(start, end)
        if output_format == "csv":
            self._csv(filters)
            return
        totals = reports.totals(filters)
        out = self.stdout
        out.write(f"Spend for {start:%Y-%m} (UTC)")
        out.write(
            f"Total: ${money.ledger_str(totals['total'])} in {totals['billed_calls']} billed "
            f"calls ({totals['unbilled_calls']} not billed); no image: "
            f"${money.ledger_str(totals['wasted'])} "
            f"in {totals['wasted_calls']} calls"
        )
        for group, title in GROUPS:
            rows = reports.breakdown(filters, group)
            out.write("")
            out.write(f"{title:<30} {'spend':>12} {'billed':>8} {'calls':>8} {'no image':>12}")
            for row in rows:
                out.write(
                    f"{str(row['key'])[:30]:<30} {money.ledger_str(row['total']):>12} "
                    f"{row['billed_calls']:>8} {row['calls']:>8} "
                    f"{money.ledger_str(row['wasted']):>12}"
                )
            if not rows:
                out.write("(no calls)")

    def _csv(self, filters: reports.Filters) -> None:
        rows = (
            [
                group,
                row["key"],
                money.ledger_str(row["total"]),
                row["billed_calls"],
                row["calls"],
                row["unbilled_calls"],
                row["images"],
                money.ledger_str(row["wasted"]),
                row["wasted_calls"],
            ]
            for group, _title in GROUPS
            for row in reports.breakdown(filters, group)
        )
        for line in csvsafe.lines(CSV_HEADER, rows):
            # Each line ends with the CSV's own \r\n: no newline of the wrapper's.
            self.stdout.write(line, ending="")
