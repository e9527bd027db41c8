"""The one CSV writer. Every export (spend tables, the soft-refusal report, a user's own
ledger, the monthly report command, and any future ZIP manifest) writes through `lines` or
`response`, whose every cell goes through `safe_cell`, so a prompt, a username, a team name
or a gateway's request id cannot become a spreadsheet formula.

A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (or the
full-width `＝＋－＠`, which CJK spreadsheets also take for a formula) is prefixed with `'`:
spreadsheets show it as text and never evaluate it. Only text is neutralised: numbers the
code itself writes (int, Decimal, float: amounts, counts, latencies) stay numbers, so a
figure stays a figure; every string is treated as untrusted, whoever wrote it."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell that no spreadsheet evaluates."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in row]


class _Echo:
    """A file whose write() hands the line back, so the writer's output can stream."""

    def write(self, value: str) -> str:
        return value


def lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text one line at a time (each ending in \\r\\n): the header, then each row."""
    writer = csv.writer(_Echo())
    yield writer.writerow(safe_row(header))
    for row in rows:
        yield writer.writerow(safe_row(row))


def response(
    filename: str, header: Sequence[str], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A streamed CSV download."""
    answer = StreamingHttpResponse(lines(header, rows), content_type="text/csv; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    return answer
