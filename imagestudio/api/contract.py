"""How an API operation is declared, answers and fails: one place, so the OpenAPI document
(openapi.py) and the status-coverage test read the same declarations the views run on.

Every status an operation's own code answers with is a literal at the call site: a
success through `respond(..., status=202)` / `no_content()`, a failure through
`raise ApiError(409, ...)`. That is what lets tests/test_api_contract.py find them with
`ast` and fail when one is missing from the document."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from pydantic import BaseModel, ValidationError

from imagestudio import catalog
from imagestudio.api import messages
from imagestudio.api.schemas import OWN_ERROR, ErrorDetail
from imagestudio.web import parsing

# -- answers -------------------------------------------------------------------------------


def api_json(data: Mapping[str, Any], status: int = 200) -> JsonResponse:
    # Prompts are often Chinese: keep them readable in curl output rather than \u escapes.
    return JsonResponse(dict(data), status=status, json_dumps_params={"ensure_ascii": False})


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """The error envelope, through its model, so a client needs one code path for all."""
    detail = ErrorDetail(code=code, message=message, **extra)
    return api_json({"error": detail.model_dump(exclude_none=True)}, status=status)


def respond(payload: BaseModel, status: int = 200) -> JsonResponse:
    """A success, serialised by its response model (aliases such as `from` included)."""
    return api_json(payload.model_dump(mode="json", by_alias=True), status=status)


def no_content() -> HttpResponse:
    return HttpResponse(status=204)


class ApiError(Exception):
    """An error answer, raised from a view or any helper it calls; api_view turns it into
    the envelope. `status` is always a literal where it is raised (see the module doc)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> JsonResponse:
        return json_error(self.status, self.code, self.message, **self.extra)


def invalid(errors: Mapping[str, str], order: tuple[str, ...] = ()) -> ApiError:
    """A 400 `invalid` naming every bad field; `field` is the first in `order` (the order
    the fields are documented in), then in the order found."""

    def rank(name: str) -> int:
        return order.index(name) if name in order else len(order)

    fields = {name: errors[name] for name in sorted(errors, key=rank)}
    first = next(iter(fields))
    return ApiError(400, "invalid", fields[first], field=first, fields=fields)


# -- declarations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One documented answer of an operation."""

    description: str
    model: type[BaseModel] | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as in the document: /generations/{id}
    operation_id: str
    summary: str
    responses: Mapping[int, Reply]
    func: Callable[..., HttpResponseBase]
    body: type[BaseModel] | None = None
    body_content_type: str = "application/json"
    query: type[BaseModel] | None = None
    public: bool = False
    # Served but left out of the document (the API's index page).
    hidden: bool = False
    path_parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # Request headers the operation reads, name → {"description", "schema"}.
    header_parameters: Mapping[str, dict[str, Any]] = field(default_factory=dict)


class OperationFunc(Protocol):
    operation: Operation

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase: ...


def operation(
    method: str,
    path: str,
    *,
    operation_id: str,
    summary: str,
    responses: Mapping[int, Reply],
    body: type[BaseModel] | None = None,
    body_content_type: str = "application/json",
    query: type[BaseModel] | None = None,
    public: bool = False,
    hidden: bool = False,
    path_parameters: Mapping[str, dict[str, Any]] | None = None,
    header_parameters: Mapping[str, dict[str, Any]] | None = None,
) -> Callable[[Callable[..., HttpResponseBase]], OperationFunc]:
    """Declare what a view function is in the document; api_view routes to it by method."""

    def decorate(func: Callable[..., HttpResponseBase]) -> OperationFunc:
        declared = cast(OperationFunc, func)
        declared.operation = Operation(
            method=method,
            path=path,
            operation_id=operation_id,
            summary=summary,
            responses=responses,
            func=func,
            body=body,
            body_content_type=body_content_type,
            query=query,
            public=public,
            hidden=hidden,
            path_parameters=path_parameters or {},
            header_parameters=header_parameters or {},
        )
        return declared

    return decorate


# -- reading bodies ------------------------------------------------------------------------


def json_object(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object; ApiError 413 or 400 saying what is wrong with it."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise ApiError(413, "too_large", messages.body_too_large()) from exc
    try:
        data = parsing.parse_json(raw)
    except parsing.ParseError as exc:
        raise ApiError(400, "bad_request", messages.body_not_json(exc.message)) from exc
    if not isinstance(data, dict):
        example = json.dumps({"model": catalog.DEFAULT_MODEL, "prompt": "a red bicycle"})
        raise ApiError(400, "bad_request", messages.body_not_object(example))
    return data


def body_values(
    model: type[BaseModel], data: Mapping[str, Any], order: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The fields through their model, or a 400 naming each unknown or wrong-typed field
    (for bodies with no rule owner of their own to word the refusal)."""
    parsed = parse(model, data)
    if parsed.wrong_type or parsed.errors:
        errors = dict(parsed.errors)
        for name in parsed.wrong_type:
            known = name in model.model_fields
            errors[name] = messages.wrong_type(name) if known else messages.not_a_field(name)
        raise invalid(errors, order)
    return parsed.values


class _Wrong:
    """Stands in for a value whose JSON type the model refused, so the rule's owner
    (services.validate, spend.charging) words the error as it always has."""

    def __repr__(self) -> str:
        return "<wrong type>"


WRONG: Any = _Wrong()


@dataclass
class Parsed[M: BaseModel]:
    """A body run through its model: `model` when it passed; otherwise `values` holds the
    fields with defaults filled in and WRONG for each field of the wrong type, and
    `errors` the messages of fields refused outright (n, quality)."""

    model: M | None
    values: dict[str, Any]
    errors: dict[str, str]
    wrong_type: set[str]

    def type_errors(self) -> dict[str, str]:
        """A last-resort message for wrong-typed fields no rule owner words."""
        return {name: messages.wrong_type(name) for name in self.wrong_type}


def parse[M: BaseModel](model: type[M], data: Mapping[str, Any]) -> Parsed[M]:
    try:
        valid = model.model_validate(dict(data))
    except ValidationError as exc:
        names = {(f.alias or name): name for name, f in model.model_fields.items()}
        values = {
            name: data.get(f.alias or name, f.get_default(call_default_factory=True))
            for name, f in model.model_fields.items()
        }
        errors: dict[str, str] = {}
        wrong: set[str] = set()
        for error in exc.errors():
            loc = str(error["loc"][0]) if error["loc"] else ""
            name = names.get(loc, loc)
            if error["type"] == OWN_ERROR:
                errors[name] = error["msg"]
            else:
                values[name] = WRONG
                wrong.add(name)
        return Parsed(None, values, errors, wrong)
    values = {name: getattr(valid, name) for name in model.model_fields}
    return Parsed(valid, values, {}, set())


def storage_down_reply(error_model: Any) -> Reply:
    """The 503 of an operation that stores an uploaded picture."""
    return Reply(
        "storage_unavailable: storage would not take a picture; nothing was queued or "
        "charged. Try again in a few minutes.",
        error_model,
    )
