"""Every status an API operation's code can answer with is in the served document.

How: walk the URLconf's api namespace to each operation (api_view keeps them on the view),
then read the operation's source with `ast`, following calls into functions of
imagestudio.api.* transitively. A status is counted where the code names it: a literal
passed as `status` (positional or keyword) to anything whose signature has a `status`
parameter (ApiError, json_error, respond, api_json; its default when not passed), any
`status=<int>` keyword (HttpResponse(status=204)), and `raise Http404`. A status passed as
a variable fails the test: the literal at the call site is the contract. What api_view adds
(401, and 403 csrf_failed on unsafe methods) and what web.files.serve answers (200, 302) are
counted from their one description each."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from types import FunctionType, ModuleType
from typing import Any

import pytest
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver, get_resolver, path
from pydantic import BaseModel

from imagestudio.api import contract, schemas
from imagestudio.api.auth import api_view, wrapper_statuses
from imagestudio.api.contract import ApiError, Operation, Reply, json_object, operation
from imagestudio.api.openapi import build_document
from imagestudio.campaigns import labelling
from imagestudio.web import files

pytestmark = pytest.mark.django_db

# Code outside the API that answers on an operation's behalf: what it can answer.
EXTERNAL = {files.serve: {200, 302, 404}, labelling.response: {200}}


def api_patterns() -> list[URLPattern | URLResolver]:
    """The api namespace of the project's URLconf, as the site serves it."""
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "api":
            return list(pattern.url_patterns)
    raise AssertionError("no api namespace in the URLconf")


def _resolve(node: ast.expr, scope: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return scope.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, scope)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _is_api(target: Any) -> bool:
    module = getattr(target, "__module__", "") or ""
    return module.startswith("imagestudio.api") or module == __name__


def _answers(target: Any) -> bool:
    """Whether a call to `target` with a status is an answer: API code (not a response
    model, whose `status` is a generation's), or a Django response class."""
    if isinstance(target, type):
        return issubclass(target, HttpResponseBase) or (
            _is_api(target) and not issubclass(target, BaseModel)
        )
    # api.messages words things and answers nothing; its `status` is a generation's.
    return _is_api(target) and target.__module__ != "imagestudio.api.messages"


def _status_parameter(target: Any) -> inspect.Parameter | None:
    try:
        parameters = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return None
    return parameters.get("status")


def _literal(node: ast.expr, where: str) -> int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    raise AssertionError(f"{where}: pass the status as a literal, not {ast.unparse(node)}")


def statuses(func: Callable[..., Any], seen: set[Any] | None = None) -> set[int]:
    """The statuses `func` and the imagestudio.api functions it calls can answer with."""
    seen = set() if seen is None else seen
    if func in seen:
        return set()
    seen.add(func)
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    scope = {**func.__globals__, **_closure(func)}
    where = f"{func.__module__}.{func.__qualname__}"
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if getattr(_resolve(raised, scope), "__name__", "") == "Http404":
                found.add(404)
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, scope)
        keyword = next((k for k in node.keywords if k.arg == "status"), None)
        parameter = _status_parameter(target) if target is not None else None
        answers = _answers(target)
        if keyword is not None and answers:
            found.add(_literal(keyword.value, where))
        elif parameter is not None and answers:
            index = list(inspect.signature(target).parameters).index("status")
            if len(node.args) > index:
                found.add(_literal(node.args[index], where))
            else:
                assert isinstance(parameter.default, int), f"{where}: {target} needs a status"
                found.add(parameter.default)
        if target in EXTERNAL:
            found |= EXTERNAL[target]
        # Status plumbing (a `status` parameter) is counted at its call sites, not inside.
        elif isinstance(target, FunctionType) and parameter is None and _is_api(target):
            found |= statuses(target, seen)
    return found


def _closure(func: Callable[..., Any]) -> dict[str, Any]:
    code = getattr(func, "__code__", None)
    cells = getattr(func, "__closure__", None) or ()
    return (
        dict(zip(code.co_freevars, (c.cell_contents for c in cells), strict=True)) if code else {}
    )


def operations_of(patterns: list[URLPattern | URLResolver]) -> list[Operation]:
    found: list[Operation] = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        ops = getattr(pattern.callback, "operations", None)
        if ops is None:
            # Only the catch-all may be a plain view: every path there is a JSON 404.
            assert pattern.name == "not-found", f"{pattern.pattern} declares no operation"
            continue
        found += ops
    return found


def can_return(op: Operation) -> set[int]:
    return statuses(op.func) | set(wrapper_statuses(op))


def documented(document: dict, op: Operation) -> set[int]:
    answers = document["paths"][op.path][op.method.lower()]["responses"]
    return {int(status) for status in answers}


def undocumented(document: dict, ops: list[Operation]) -> dict[str, set[int]]:
    gaps = {
        f"{op.method} {op.path}": can_return(op) - documented(document, op)
        for op in ops
        if not op.hidden
    }
    return {name: missing for name, missing in gaps.items() if missing}


# -- the real API --------------------------------------------------------------------------


def test_every_status_an_operation_can_answer_with_is_in_the_served_document(client):
    document = client.get("/api/v1/openapi.json").json()
    ops = operations_of(api_patterns())
    assert len(ops) >= 11
    assert undocumented(document, ops) == {}


def test_the_document_lists_no_status_the_code_cannot_answer_with(client):
    document = client.get("/api/v1/openapi.json").json()
    for op in operations_of(api_patterns()):
        if not op.hidden:
            assert documented(document, op) == can_return(op), f"{op.method} {op.path}"


def test_the_walk_finds_the_statuses_of_helpers_the_views_call():
    from imagestudio.api import edits, views

    # 413 and 400 come from contract.json_object, 402 from spend.budget_exceeded, 404 from
    # access.visible_generation: none of them is written in the operation itself.
    assert statuses(edits.iterate_generation) == {202, 400, 402, 404, 409, 413}
    assert statuses(views.get_generation_image) == {200, 404}
    assert statuses(views.delete_generation) == {204, 403, 404}


def test_every_path_and_method_of_the_urlconf_is_in_the_document(client):
    document = client.get("/api/v1/openapi.json").json()
    routed = {(op.path, op.method.lower()) for op in operations_of(api_patterns())}
    routed -= {("/", "get")}  # the index is served, not documented
    described = {(p, m) for p, item in document["paths"].items() for m in item}
    assert described == routed


# -- proof that the walk catches a new, undocumented status --------------------------------


@operation(
    "POST",
    "/fake",
    operation_id="fake",
    summary="A deliberately undocumented 409.",
    responses={202: Reply("Accepted.", schemas.CreateResponse), 400: Reply("Invalid.")},
)
def fake_conflict(request: HttpRequest) -> HttpResponseBase:
    body = json_object(request)  # may answer 400 and 413: the 413 is not documented either
    if body:
        raise ApiError(409, "conflict", "Someone added this without documenting it.")
    return contract.respond(schemas.CreateResponse(batch=1, warnings=[], generations=[]), 202)


@operation(
    "GET",
    "/fake-error",
    operation_id="fakeError",
    summary="The old spelling of an error.",
    responses={200: Reply("Fine.")},
)
def fake_json_error(request: HttpRequest) -> HttpResponseBase:
    return contract.json_error(409, "conflict", "Also undocumented.")


def test_an_undocumented_status_in_a_fake_operation_fails_the_check():
    patterns: list[URLPattern | URLResolver] = [
        path("fake", api_view(fake_conflict), name="fake"),
        path("fake-error", api_view(fake_json_error), name="fake-error"),
    ]
    document = build_document("http://testserver/api/v1", patterns)
    gaps = undocumented(document, operations_of(patterns))
    assert gaps == {"POST /fake": {409, 413}, "GET /fake-error": {409}}


def test_a_status_passed_as_a_variable_is_refused_by_the_walk():
    def sneaky(request: HttpRequest, status: int = 418) -> HttpResponseBase:
        code = status
        raise ApiError(code, "teapot", "Which status is this?")

    def caller(request: HttpRequest) -> HttpResponseBase:
        return sneaky(request)

    with pytest.raises(AssertionError, match="literal"):
        statuses(sneaky)
    # Called with the default, a function with a `status` parameter counts that default.
    assert statuses(caller) == {418}


def test_the_module_under_test_is_the_real_one():
    # Guards the walk's module filter: a rename of the package would make it follow nothing.
    import imagestudio.api.views as views

    assert isinstance(views, ModuleType) and _is_api(views.get_generation)
