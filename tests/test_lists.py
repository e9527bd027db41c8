"""A campaign's list, parsed: lines, templates, pasted and uploaded tables (UTF-8, BOM,
Excel's Chinese CSV), and every refusal naming its field, row and column."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imagestudio.campaigns import lists
from imagestudio.campaigns.lists import Item, ListInvalid

TEMPLATE = 'Summer sale poster for {product}, headline "{slogan}"'


def refusal(call, *args) -> ListInvalid:
    with pytest.raises(ListInvalid) as caught:
        call(*args)
    return caught.value


def test_each_line_is_a_prompt_and_blank_lines_are_skipped():
    assert lists.from_lines("a red bicycle\n\n  a blue kite  \n") == [
        Item("a red bicycle"),
        Item("a blue kite"),
    ]


def test_a_template_fills_each_pasted_spreadsheet_row():
    table = lists.read_table("product\tslogan\nsandals\tStep into summer\nhat\tShade in style\n")

    items = lists.from_template(TEMPLATE, table)

    assert table.columns == ["product", "slogan"]
    assert items[0] == Item(
        'Summer sale poster for sandals, headline "Step into summer"',
        {"product": "sandals", "slogan": "Step into summer"},
    )
    assert len(items) == 2


def test_csv_with_quotes_commas_and_chinese_is_read():
    table = lists.read_table('产品,标语\n"凉鞋, 夏季款",踏入夏天\n草帽,"遮阳 ""有型"""\n')

    items = lists.from_template("海报：{产品}，标题“{标语}”", table)

    assert items[0].prompt == "海报：凉鞋, 夏季款，标题“踏入夏天”"
    assert items[1].variables == {"产品": "草帽", "标语": '遮阳 "有型"'}


@pytest.mark.parametrize(
    "data",
    [
        b"product,slogan\nsandals,Go\n",
        "\ufeffproduct,slogan\nsandals,Go\n".encode(),  # Excel's "CSV UTF-8"
    ],
)
def test_utf8_with_or_without_a_bom_decodes(data):
    assert lists.read_table(lists.decode(data)).columns == ["product", "slogan"]


def test_excels_chinese_csv_in_gbk_decodes():
    data = "产品,标语\n凉鞋,踏入夏天\n".encode("gbk")

    table = lists.read_table(lists.decode(data))

    assert table.rows == [{"产品": "凉鞋", "标语": "踏入夏天"}]


def test_bytes_that_are_neither_utf8_nor_gbk_are_refused():
    error = refusal(lists.decode, b"\xff\xfe\x00\x81\x30\xff\xff")

    assert error.field == "rows"
    assert "UTF-8" in error.message


def test_an_unknown_placeholder_names_itself_and_the_columns():
    table = lists.read_table("product\nsandals\n")

    error = refusal(lists.from_template, "{product} by {brand}", table)

    assert error.field == "template"
    assert "{brand}" in error.message and "product" in error.message


def test_an_unclosed_brace_is_refused_on_the_template():
    error = refusal(lists.placeholders, "Poster for {product")

    assert error.field == "template"
    assert "not closed" in error.message


def test_a_missing_value_names_the_row_and_the_column():
    table = lists.read_table("product,slogan\nsandals,Go\nhat,\n")

    error = refusal(lists.from_template, TEMPLATE, table)

    assert error.field == "rows"
    assert "Row 2" in error.message and "slogan" in error.message


def test_a_row_with_a_missing_cell_names_the_row():
    error = refusal(lists.read_table, "product,slogan\nsandals,Go\nhat\n")

    assert "Row 2 has 1 cells" in error.message


def test_a_header_without_rows_is_refused():
    assert "no rows" in refusal(lists.read_table, "product,slogan\n").message


def test_literal_braces_stay_and_values_with_braces_are_not_expanded():
    table = lists.read_table("product\n{weird}\n")

    (item,) = lists.from_template("{{logo}} {product}", table)

    assert item.prompt == "{logo} {weird}"


@given(st.text(max_size=200))
def test_any_pasted_text_is_either_a_table_or_a_named_refusal(text):
    try:
        table = lists.read_table(text)
    except ListInvalid as exc:
        assert exc.field == "rows" and exc.message
    else:
        assert table.columns and table.rows
        assert all(set(row) == set(table.columns) for row in table.rows)


@given(st.text(max_size=80))
def test_any_template_is_either_parsed_or_refused_on_the_template(template):
    try:
        names = lists.placeholders(template)
    except ListInvalid as exc:
        assert exc.field == "template"
    else:
        assert len(names) == len(set(names))


def test_a_cell_past_the_csv_modules_field_limit_is_refused_with_the_row_field():
    text = "product\n" + "x" * 200_000 + "\n"

    with pytest.raises(lists.ListInvalid) as refused:
        lists.read_table(text)

    assert refused.value.field == "rows"
    assert "2000" in refused.value.message


def test_json_rows_follow_the_pasted_tables_column_rules():
    assert lists.table_from_rows([{"a": "1", "b": "2"}]).columns == ["a", "b"]
    bad = [
        [{"a": "1"}, {"a": "2", "b": "3"}],  # a row with an extra cell
        [{"a": "1", "b": "2"}, {"a": "1", "c": "2"}],  # a row with another column
        [{" ": "1"}],  # a column with no name
        [{f"c{n}": "v" for n in range(lists.MAX_COLUMNS + 1)}],  # too many columns
    ]
    for rows in bad:
        with pytest.raises(lists.ListInvalid) as refused:
            lists.table_from_rows(rows)
        assert refused.value.field == "rows", rows


def test_an_unclosed_quote_names_its_row_instead_of_merging_the_rows_after_it():
    error = refusal(
        lists.read_table, 'product,slogan\nsandals,Go\n"hat,Shade\numbrella,Rain\nfan,Cool\n'
    )
    assert error.field == "rows"
    assert "Row 2 opens a quote" in error.message
