"""The OpenAPI document: valid JSON, every endpoint, enums straight from the catalog."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.test import RequestFactory

from imagestudio import catalog
from imagestudio.api import serializers
from imagestudio.api.openapi import build_document
from imagestudio.studio.models import Generation, Status
from tests.factories import make_generation

pytestmark = pytest.mark.django_db

URL = "/api/v1/openapi.json"


@pytest.fixture
def document(client) -> dict:
    response = client.get(URL)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


def refs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


def resolve(document: dict, ref: str):
    assert ref.startswith("#/")
    node = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_it_is_openapi_3_1_with_this_servers_url(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["servers"] == [{"url": "http://testserver/api/v1"}]


def test_it_describes_every_endpoint(document):
    # Every route of the API's URLconf (but the index and the JSON 404) is documented.
    from imagestudio.api import urls

    routes = {
        "/"
        + re.sub(
            r"<int:(\w+)>", lambda m: "{" + ("id" if m[1] == "pk" else m[1]) + "}", str(p.pattern)
        )
        for p in urls.urlpatterns
        if p.name not in ("index", "not-found")
    }
    assert document["paths"].keys() == routes
    assert {"/generations", "/edits", "/generations/{id}/iterate"} <= routes
    assert document["paths"]["/generations"].keys() == {"get", "post"}
    assert document["paths"]["/generations/{id}"].keys() == {"get", "patch", "delete"}
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values()
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_ref_resolves(document):
    all_refs = refs(document)
    assert all_refs
    for ref in all_refs:
        assert resolve(document, ref) is not None


def test_enums_come_from_the_catalog(document):
    schemas = document["components"]["schemas"]
    vip = schemas["VipSize"]["enum"]
    phrasings = schemas["AllPhrasing"]["enum"]
    assert len(vip) == len(set(vip)) == 30
    assert vip == [s.value for s in catalog.VIP_SIZES]
    assert len(phrasings) == 8
    assert phrasings == [p.value for p in catalog.ALL_PHRASINGS]
    assert "横版 16:9" in phrasings
    assert schemas["Model"]["enum"] == list(catalog.MODELS)
    assert catalog.ALL_26 in schemas["Model"]["enum"]
    assert schemas["Status"]["enum"] == list(Status.values)
    request = schemas["CreateRequest"]["properties"]
    assert request["count"]["maximum"] == catalog.MAX_COUNT
    # Optional now (a list sends prompts or a template instead): the string branch.
    prompt = next(b for b in request["prompt"]["anyOf"] if b.get("type") == "string")
    assert prompt["maxLength"] == catalog.PROMPT_MAX_CHARS
    assert request["prompts"]["maxItems"] == catalog.BATCH_MAX_IMAGES


def test_bearer_security_is_declared_and_the_document_itself_is_public(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearerAuth"]["description"],
    }
    assert {"bearerAuth": []} in document["security"]
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_the_generation_schema_matches_the_serializer(owner):
    generation = make_generation(owner, cost_usd=Decimal("0.0325"))
    row = Generation.objects.get(pk=generation.pk)
    shape = serializers.generation(RequestFactory().get("/"), row).model_dump(mode="json")
    schema = build_document("http://testserver/api/v1")["components"]["schemas"]["Generation"]
    assert list(shape) == list(schema["properties"]) == schema["required"]
    assert re.fullmatch(schema["properties"]["cost_usd"]["pattern"], shape["cost_usd"])


def test_the_document_rejects_other_methods(client):
    response = client.post(URL)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# --- multipart uploads over the size limit (imagestudio.web.middleware) --------------------
# The operations that take multipart/form-data: the request guard answers them 413 in the
# error envelope, from the declared length or while a file streams in.
MULTIPART = [("/kits", "post"), ("/edits", "post")]


@pytest.fixture
def api(owner):
    from django.test import Client

    from tests.factories import bearer, make_token

    _, raw = make_token(owner)
    return Client(headers=bearer(raw))


@pytest.mark.parametrize(("path", "method"), MULTIPART)
def test_a_multipart_operation_documents_the_413_error_envelope(document, path, method):
    answer = document["paths"][path][method]["responses"]["413"]
    assert answer["description"].startswith("too_large:")
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(("path", "method"), MULTIPART)
def test_a_file_over_the_limit_gets_the_documented_413(api, settings, document, path, method):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from imagestudio.api import schemas

    settings.MAX_UPLOAD_FILE_BYTES = 2048
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"\x00" * 10_000, "image/png")
    response = api.post(f"/api/v1{path}", {"name": "Kit", "prompt": "x", "image": big})
    assert response.status_code == 413
    assert "413" in document["paths"][path][method]["responses"]
    error = schemas.Error.model_validate(response.json()).error
    assert error.code == "too_large" and error.message


@pytest.mark.parametrize(("path", "method"), MULTIPART)
def test_a_multipart_body_declared_over_the_limit_gets_the_documented_413(
    api, settings, document, path, method
):
    from imagestudio.api import schemas

    response = api.generic(
        method.upper(),
        f"/api/v1{path}",
        b"",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(settings.MAX_REQUEST_BYTES + 1),
    )
    assert response.status_code == 413
    assert "413" in document["paths"][path][method]["responses"]
    assert schemas.Error.model_validate(response.json()).error.code == "too_large"


def _nodes(value: object):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def test_every_schema_is_valid_json_schema_and_every_enum_value_obeys_its_schema(document):
    import jsonschema_rs

    components = {"components": document["components"]}
    for name in document["components"]["schemas"]:
        # Each component compiles as JSON Schema 2020-12 (3.1's dialect), its $refs resolved.
        ref = {"$ref": f"#/components/schemas/{name}", **components}
        jsonschema_rs.Draft202012Validator(ref)
    checked = 0
    for node in _nodes(document):
        if not isinstance(node.get("enum"), list):
            continue
        rest = {k: v for k, v in node.items() if k not in ("enum", "description", "title")}
        check = jsonschema_rs.Draft202012Validator({**rest, **components})
        for value in node["enum"]:
            assert check.is_valid(value), (node, value)
            checked += 1
    assert checked > 30  # the sizes and phrasings at least
