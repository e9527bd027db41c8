"""The OpenAPI 3.1 document, generated from the code that answers: the paths and methods
from the API's URLconf, each operation's summary, parameters and answers from its
declaration (contract.operation), the bodies' schemas from the pydantic models that
validate and serialise them, and the enums from the catalog."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.urls import URLPattern, URLResolver
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from imagestudio.api import schemas
from imagestudio.api.contract import Operation, Reply

Schema = dict[str, Any]


def operations(patterns: Sequence[URLPattern | URLResolver] | None = None) -> list[Operation]:
    """Every operation the URLconf routes to, in URLconf order (the API's own by default)."""
    if patterns is None:
        from imagestudio.api import urls

        patterns = urls.urlpatterns
    found: list[Operation] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += operations(pattern.url_patterns)
        else:
            found += getattr(pattern.callback, "operations", ())
    return found


def _models(ops: Iterable[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for op in ops:
        if op.body is not None:
            wanted[(op.body, "validation")] = None
        for reply in op.responses.values():
            if reply.model is not None:
                wanted[(reply.model, "serialization")] = None
    return list(wanted)


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": schemas.REF_TEMPLATE.format(model=model.__name__)}


def _reply(reply: Reply) -> Schema:
    answer: Schema = {"description": reply.description}
    if reply.model is not None:
        answer["content"] = {reply.content_type: {"schema": _ref(reply.model)}}
    elif reply.content_type == "image/*":
        answer["content"] = {"image/*": {"schema": {"type": "string", "format": "binary"}}}
    elif reply.content_type == "application/json":
        answer["content"] = {"application/json": {"schema": {"type": "object"}}}
    return answer


def _parameters(op: Operation) -> list[Schema]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in op.path_parameters.items()
    ]
    if op.query is not None:
        # Parameters, not a component: the model's own properties, one parameter each.
        _, definitions = models_json_schema(
            [(op.query, "validation")],
            ref_template=schemas.REF_TEMPLATE,
            schema_generator=schemas.ComponentsJsonSchema,
        )
        query = definitions["$defs"][op.query.__name__]
        for name, schema in query["properties"].items():
            parameter: Schema = {"name": name, "in": "query", "schema": dict(schema)}
            description = parameter["schema"].pop("description", None)
            if description:
                parameter["description"] = description
            parameters.append(parameter)
    for name, described in op.header_parameters.items():
        parameters.append({"name": name, "in": "header", "required": False, **described})
    return parameters


def _operation(op: Operation) -> Schema:
    # Imported here: auth imports the contract, and the wrapper's own answers are listed
    # by the function that describes them next to the wrapper.
    from imagestudio.api.auth import wrapper_statuses

    responses = {status: _reply(reply) for status, reply in op.responses.items()}
    error = Reply("", schemas.Error)
    for status, description in wrapper_statuses(op).items():
        if status in responses:
            responses[status]["description"] += f" Or {description}"
        else:
            responses[status] = _reply(Reply(description, error.model))
    described: Schema = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "responses": {str(status): responses[status] for status in sorted(responses)},
    }
    parameters = _parameters(op)
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {op.body_content_type: {"schema": _ref(op.body)}},
        }
    if op.public:
        described["security"] = []
    return described


def build_document(
    server_url: str, patterns: Sequence[URLPattern | URLResolver] | None = None
) -> dict[str, Any]:
    """The whole document; server_url is the absolute /api/v1 URL of this deployment."""
    ops = [op for op in operations(patterns) if not op.hidden]
    paths: dict[str, Schema] = {}
    for op in ops:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    _, definitions = models_json_schema(
        _models(ops),
        ref_template=schemas.REF_TEMPLATE,
        schema_generator=schemas.ComponentsJsonSchema,
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ImageStudio API",
            "version": "1",
            "description": "Generate images through the studio: the same queue, ledger and "
            "pre-filter as the web UI. Every error is "
            '{"error": {"code": ..., "message": ...}}. A method a URL does not take is a '
            "405 method_not_allowed with an Allow header. To retry a submit whose answer "
            "was lost, send it again with the same Idempotency-Key header: the first answer "
            "comes back and nothing is billed twice.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {
            "schemas": {**schemas.enum_schemas(), **definitions.get("$defs", {})},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Created with `python manage.py issue_api_token USERNAME`.",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": settings.SESSION_COOKIE_NAME,
                    "description": "A signed-in browser; changes also need X-CSRFToken.",
                },
            },
        },
    }
