"""A campaign's list: many prompts from one prompt per line, or from a template with
{placeholders} filled from rows (pasted CSV/TSV, an uploaded .csv, or the API's JSON rows).

Pure functions with no Django model in sight: the form, the API and the tests call the same
ones, and every refusal is a ListInvalid naming its field (prompts, template, rows, count)
and, for a row, its number (1-based, as a spreadsheet counts data rows) and column."""

from __future__ import annotations

import csv
import io
import string
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

# A cell longer than this is not a product name but a pasted document.
MAX_CELL_CHARS = 2_000
MAX_COLUMNS = 30
MAX_UPLOAD_BYTES = 1_000_000


class ListInvalid(ValueError):
    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Item:
    """One prompt of the list and the row it came from ({} for a plain line)."""

    prompt: str
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[dict[str, str]]


def placeholders(template: str) -> list[str]:
    """The {names} of a template, in order, once each. ListInvalid for `{unclosed`, a
    stray `}` and `{}` (a literal brace is written {{ or }})."""
    found: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ListInvalid(
            "template",
            _(
                # The list syntax, not a format string:
                # xgettext:no-python-brace-format
                "The template has a brace that is not closed: write {name} for a list "
                "column, or {{ and }} for a brace itself."
            ),
        ) from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.strip() or spec or conversion:
            raise ListInvalid(
                "template",
                _("Write each placeholder as {column}: “{%(name)s}” is not one.")
                % {
                    "name": name
                    + (f"!{conversion}" if conversion else "")
                    + (f":{spec}" if spec else "")
                },
            )
        if name not in found:
            found.append(name)
    return found


def fill(template: str, values: dict[str, str]) -> str:
    """The template with its placeholders replaced (values are inserted as they are: a
    brace inside a value stays a brace)."""
    out = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values[name])
    return "".join(out)


def decode(data: bytes) -> str:
    """UTF-8 with or without a BOM, else GB 18030 (a superset of GBK: what Excel saves a
    Chinese CSV as); ListInvalid when it is neither."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ListInvalid(
        "rows",
        _("The file is neither UTF-8 nor GBK text. Save it from your spreadsheet as “CSV UTF-8”."),
    )


def read_table(text: str) -> Table:
    """Rows pasted from a spreadsheet (tab-separated) or a CSV (comma or semicolon): the
    first line names the columns. Empty lines between rows are skipped; a row with a
    missing or an extra cell is refused with its number."""
    text = text.lstrip("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ListInvalid(
            "rows",
            _("Paste the rows: a header line with the column names, then one line per image."),
        )
    header_line = lines[0]
    delimiter = (
        "\t"
        if "\t" in header_line
        else (";" if header_line.count(";") > header_line.count(",") else ",")
    )
    try:
        records = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    except csv.Error as exc:
        # The csv module refuses a cell over its field limit (131,072 characters), far
        # past any cell from_template would take.
        raise ListInvalid(
            "rows",
            _("A cell of the list is longer than %(n)s characters.") % {"n": MAX_CELL_CHARS},
        ) from exc
    columns = _columns([c.strip() for c in records[0]])
    rows: list[dict[str, str]] = []
    for number, record in enumerate(records[1:], start=1):
        _check_quotes(number, record)
        _check_width(number, len(record), columns)
        rows.append({name: cell.strip() for name, cell in zip(columns, record, strict=True)})
    if not rows:
        raise ListInvalid("rows", _("The list has a header line but no rows under it."))
    return Table(columns, rows)


def table_from_rows(records: list[dict[str, str]]) -> Table:
    """The API's JSON rows (one object per image) as a table, by the rules of a pasted one:
    the first row's keys are the columns (named, at most MAX_COLUMNS), and every row has
    exactly those keys."""
    if not records:
        raise ListInvalid("rows", _("The list has a header line but no rows under it."))
    columns = _columns([name.strip() for name in records[0]])
    rows: list[dict[str, str]] = []
    for number, record in enumerate(records, start=1):
        _check_width(number, len(record), columns)
        row = {name.strip(): value.strip() for name, value in record.items()}
        missing = [name for name in columns if name not in row]
        if missing:
            raise ListInvalid(
                "rows",
                _("Row %(row)s has no value for “%(column)s”.")
                % {"row": number, "column": missing[0]},
            )
        rows.append(row)
    return Table(columns, rows)


def _columns(columns: list[str]) -> list[str]:
    """The header's names, checked: at most MAX_COLUMNS, each named, none twice."""
    if len(columns) > MAX_COLUMNS:
        raise ListInvalid("rows", _("A list has at most %(n)s columns.") % {"n": MAX_COLUMNS})
    for number, name in enumerate(columns, start=1):
        if not name:
            raise ListInvalid(
                "rows", _("Column %(n)s of the header line has no name.") % {"n": number}
            )
        if columns.count(name) > 1:
            raise ListInvalid(
                "rows",
                _("The column “%(name)s” appears twice in the header line.") % {"name": name},
            )
    return columns


def _check_quotes(number: int, record: list[str]) -> None:
    """A quote opened and never closed makes the csv module read the lines after it into
    one cell: one row where the sheet had many. Pasted rows are one line each (blank ones
    are dropped first), so a cell holding a line break can only come from such a quote."""
    if any("\n" in cell for cell in record):
        raise ListInvalid(
            "rows",
            _(
                'Row %(row)s opens a quote (") that is not closed on its line, so the rows '
                "after it would be read into one cell. Close the quote or remove it."
            )
            % {"row": number},
        )


def _check_width(number: int, cells: int, columns: list[str]) -> None:
    if cells != len(columns):
        raise ListInvalid(
            "rows",
            _("Row %(row)s has %(got)s cells but the header names %(want)s columns (%(columns)s).")
            % {"row": number, "got": cells, "want": len(columns), "columns": ", ".join(columns)},
        )


def from_template(template: str, table: Table) -> list[Item]:
    """One item per row. An unknown placeholder names itself and the columns there are; a
    row without a value for a placeholder names the row and the column."""
    names = placeholders(template)
    if not names:
        raise ListInvalid(
            "template",
            _("The template has no {placeholder}: name a column in braces, such as {%(column)s}.")
            % {"column": table.columns[0] if table.columns else "product"},
        )
    unknown = [n for n in names if n not in table.columns]
    if unknown:
        raise ListInvalid(
            "template",
            _(
                "The template names {%(name)s}, but the list has no such column. "
                "Its columns: %(columns)s."
            )
            % {"name": unknown[0], "columns": ", ".join(table.columns)},
        )
    items = []
    for number, row in enumerate(table.rows, start=1):
        for name in names:
            value = row.get(name, "")
            if not value:
                raise ListInvalid(
                    "rows",
                    _("Row %(row)s has no value for “%(column)s”.")
                    % {"row": number, "column": name},
                )
            if len(value) > MAX_CELL_CHARS:
                raise ListInvalid(
                    "rows",
                    _("Row %(row)s: “%(column)s” is longer than %(n)s characters.")
                    % {"row": number, "column": name, "n": MAX_CELL_CHARS},
                )
        items.append(Item(fill(template, row), {k: row[k] for k in table.columns}))
    return items


def from_lines(text: str) -> list[Item]:
    """One prompt per non-empty line."""
    items = [Item(line.strip()) for line in text.splitlines() if line.strip()]
    if not items:
        raise ListInvalid("prompts", _("Write one prompt per line."))
    return items
