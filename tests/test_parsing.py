"""Numbers and dates are read in one place (imagestudio.web.parsing): ASCII digits only,
bounded; and no input anywhere turns into a 500 or an HTML error on the API."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from imagestudio.web import parsing
from imagestudio.web.parsing import ParseError
from tests.factories import bearer, make_generation, make_token, picture_bytes

# Each example reuses the test's signed-in client and rows: nothing is changed by a GET.
FIXTURES = [HealthCheck.function_scoped_fixture]
UNICODE_DIGITS = ["²", "١٢", "１２", "𝟙", "½", "٣-٤", "-1", "+1", "1.0", "1e3", "0x10", ""]


# -- the parsers ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", UNICODE_DIGITS)
def test_only_ascii_digits_are_numbers(value):
    with pytest.raises(ParseError):
        parsing.parse_int(value)
    assert parsing.int_or_none(value) is None


def test_numbers_are_bounded():
    assert parsing.parse_int("12") == 12
    assert parsing.parse_int(" 12 ") == 12
    assert parsing.parse_int(7, low=1, high=9) == 7
    with pytest.raises(ParseError):
        parsing.parse_int("10", low=1, high=9)
    with pytest.raises(ParseError):
        parsing.parse_int(str(2**63))
    with pytest.raises(ParseError):
        parsing.parse_int("9" * 400)
    with pytest.raises(ParseError):
        parsing.parse_int(True)
    assert parsing.id_or_none("0") is None


def test_an_id_list_keeps_valid_ids_in_order_once_and_at_most_the_limit():
    assert parsing.parse_ids("3,1,²,3,x,2", limit=10) == [3, 1, 2]
    assert parsing.parse_ids("1,2,3", limit=2) == [1, 2]


@pytest.mark.parametrize(
    "value",
    ["9999-12-31", "0001-01-01", "2026-02-30", "２０２６-０１-０１", "2026-1-1", "20260101", "x"],
)
def test_days_outside_the_bounds_or_not_ascii_are_refused(value):
    assert parsing.day_or_none(value) is None


def test_a_day_is_read():
    assert parsing.parse_day("2026-12-03") == date(2026, 12, 3)


@pytest.mark.parametrize("value", ["9999-12", "2026-13", "2026-00", "٢٠٢٦-٠١", "0001-01"])
def test_far_or_bad_months_are_refused(value):
    assert parsing.month_or_none(value) is None


def test_a_month_is_its_first_day():
    assert parsing.parse_month("2026-02") == date(2026, 2, 1)


@given(st.text(max_size=30))
def test_no_text_makes_a_parser_raise_anything_but_parse_error(text):
    for parse in (parsing.parse_int, parsing.parse_day, parsing.parse_month):
        try:
            parse(text)
        except ParseError as exc:
            exc.message.encode("utf-8")  # the words can always be sent


def test_deep_json_is_refused():
    with pytest.raises(ParseError):
        parsing.parse_json(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ParseError):
        parsing.parse_json(b"[" * 40 + b"]" * 40)
    assert parsing.parse_json(b'{"a": [[1]]}') == {"a": [[1]]}


def test_a_lone_surrogate_is_refused():
    with pytest.raises(ParseError):
        parsing.parse_json(b'{"prompt": "a \\ud800 b"}')
    with pytest.raises(ParseError):
        parsing.parse_json(b'{"\\udfff": 1}')
    assert parsing.parse_json(b'{"prompt": "\\ud83d\\ude00"}') == {"prompt": "😀"}


# -- the API answers 400 in its envelope ------------------------------------------------------


@pytest.fixture
def api(db, owner):
    _, raw = make_token(owner)
    return Client(headers=bearer(raw))


def assert_envelope_400(response):
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["message"]


def test_deeply_nested_json_is_a_400(api):
    body = '{"prompt": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert_envelope_400(api.post("/api/v1/generations", body, content_type="application/json"))


def test_a_lone_surrogate_in_a_prompt_is_a_400(api):
    body = '{"model": "gpt-image-2-all", "prompt": "a \\ud800 red bicycle"}'
    assert_envelope_400(api.post("/api/v1/generations", body, content_type="application/json"))


def test_a_multipart_body_without_a_boundary_is_a_400(api):
    response = api.post("/api/v1/edits", b"--x\r\n", content_type="multipart/form-data")
    assert_envelope_400(response)


@pytest.mark.parametrize("value", ["²", "١", "9" * 30])
def test_unicode_digits_as_a_source_id_are_a_400(api, value):
    response = api.post(
        "/api/v1/edits", {"prompt": "x", "model": "gpt-image-2-all", "source": value}
    )
    assert_envelope_400(response)


@pytest.mark.parametrize(
    "query", ["to=9999-12-31", "from=9999-12-01&to=9999-12-31", "from=٢٠٢٦-٠١-٠١"]
)
def test_far_or_unicode_days_on_the_spend_api_are_a_400(api, query):
    assert_envelope_400(api.get(f"/api/v1/spend?{query}"))


@pytest.mark.parametrize("cursor", ["1-²", "²-1", "1-" + "9" * 40, "9" * 40 + "-1", "-", "1-١"])
def test_bad_cursors_are_a_400(api, cursor):
    assert_envelope_400(api.get("/api/v1/generations", {"cursor": cursor}))


@pytest.mark.parametrize("value", ["²", "١", "9" * 30, "-1"])
def test_unicode_ids_in_a_budget_selector_are_a_400(db, admin_user, value):
    _, raw = make_token(admin_user)
    staff = Client(headers=bearer(raw))
    body = json.dumps({"scope": "user", "user": value, "monthly_usd": "1.00"})
    assert_envelope_400(staff.put("/api/v1/budgets", body, content_type="application/json"))


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 30])
def test_unicode_team_ids_on_a_submit_are_a_400(api, value):
    body = json.dumps({"model": "gpt-image-2-all", "prompt": "a red bicycle", "team": value})
    assert_envelope_400(api.post("/api/v1/generations", body, content_type="application/json"))


@pytest.mark.parametrize("value", ["²", "١", "9" * 30])
def test_a_unicode_count_is_a_400(api, value):
    body = json.dumps({"model": "gpt-image-2-all", "prompt": "a red bicycle", "count": value})
    assert_envelope_400(api.post("/api/v1/generations", body, content_type="application/json"))


# -- pages: a message or the right page, never a 500 -------------------------------------------


@pytest.mark.parametrize(
    "query",
    ["month=9999-12", "month=0001-01", "month=٢٠٢٦-٠١", "month=2026-13", "page=²", "page=١"],
)
def test_the_soft_refusal_report_takes_any_month(admin_client_, query):
    assert admin_client_.get(f"/spend/soft-refusals/?{query}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "to=9999-12-31",
        "from=0001-01-01",
        "from=9999-12-31&to=0001-01-01",
        "user=²",
        "team=١",
        "user=" + "9" * 40,
        "from=２０２６-０１-０１",
    ],
)
def test_the_spend_dashboard_takes_any_range(admin_client_, query):
    assert admin_client_.get(f"/spend/?{query}").status_code == 200


def test_the_spend_page_range_is_capped_at_366_days_and_says_so(admin_client_):
    response = admin_client_.get("/spend/?from=2000-01-01&to=2026-06-30")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="2025-06-30"' in page  # 366 days ending on the day asked for
    assert "At most 366 days" in page


def test_a_staged_picture_list_skips_unicode_ids(owner_client):
    response = owner_client.post("/inputs", {"source": ["²", "١", "9" * 40]})
    assert response.status_code < 500


@given(
    ids=st.lists(st.text(max_size=12), max_size=6),
    extra=st.dictionaries(st.sampled_from(["cursor", "ids", "page"]), st.text(max_size=20)),
)
@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
def test_the_gallery_takes_any_query_string(owner_client, ids, extra):
    response = owner_client.get("/gallery/", {"ids": ids, **extra})
    assert response.status_code < 500, (ids, extra)


@given(ids=st.lists(st.text(max_size=12), max_size=6))
@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
def test_the_poll_takes_any_query_string(owner_client, ids):
    response = owner_client.get("/poll", {"ids": [*ids, "1,²"]})
    assert response.status_code < 500, ids


@given(
    query=st.dictionaries(
        st.sampled_from(["prompt", "model", "size", "again", "count"]), st.text(max_size=20)
    )
)
@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
def test_the_studio_form_takes_any_query_string(owner_client, query):
    assert owner_client.get("/", query).status_code < 500


@given(
    form=st.dictionaries(
        st.sampled_from(["prompt", "model", "size", "count", "team", "quality"]),
        st.text(max_size=20),
    )
)
@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
def test_the_studio_form_check_takes_any_fields(owner_client, form):
    assert owner_client.post("/check", form).status_code < 500


def test_poll_ignores_unicode_ids(owner_client, owner):
    g = make_generation(owner)
    assert owner_client.get("/poll", {"ids": f"{g.pk},²,١"}).status_code in (200, 286)


def test_the_studio_page_takes_any_again(owner_client):
    assert owner_client.get("/", {"again": "²"}).status_code in (200, 404)


def test_the_form_check_takes_a_unicode_count(owner_client):
    assert owner_client.post("/check", {"count": "²", "prompt": "x"}).status_code < 500


def test_a_nul_character_is_refused_in_a_value_or_a_key():
    with pytest.raises(ParseError):
        parsing.parse_json(b'{"prompt": "a \\u0000 b"}')
    with pytest.raises(ParseError):
        parsing.parse_json(b'{"rows": [{"a\\u0000": "1"}]}')


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/generations", '{"model": "gpt-image-2-all", "prompt": "a \\u0000 kite"}'),
        ("/api/v1/kits", '{"name": "Brand\\u0000", "model": "gpt-image-2-all"}'),
        ("/api/v1/boards", '{"name": "Summer\\u0000"}'),
    ],
)
def test_a_nul_character_in_any_json_string_is_a_400(api, path, body):
    assert_envelope_400(api.post(path, body, content_type="application/json"))


def test_a_nul_character_in_a_multipart_prompt_is_a_400(api):
    response = api.post(
        "/api/v1/edits",
        {"prompt": "a \x00 kite", "model": "gpt-image-2-all", "image1": picture_upload()},
    )
    assert_envelope_400(response)


def picture_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("a\x00.png", picture_bytes(fmt="PNG"), "image/png")


@pytest.mark.parametrize(
    "path",
    ["/boards/", "/api/v1/kits"],
)
def test_a_nul_character_in_a_form_field_is_a_400_before_any_view(api, owner_client, path):
    client = api if path.startswith("/api/") else owner_client
    response = client.post(path, {"name": "Summer\x00sale", "model": "gpt-image-2-vip"})
    assert response.status_code == 400
    if path.startswith("/api/"):
        assert response.json()["error"]["code"] == "bad_request"
