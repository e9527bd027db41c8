"""The OpenAPI 3.1 description of the API, built from the catalog so the enums never drift."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from imagestudio import catalog
from imagestudio.studio.models import Status

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **extra: Any) -> Schema:
    return {"type": [type_, "null"], **extra}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas() -> dict[str, Schema]:
    return {
        "Model": {"type": "string", "enum": list(catalog.MODELS)},
        "Status": {"type": "string", "enum": list(Status.values)},
        "VipSize": {
            "type": "string",
            "description": f"The 30 sizes {catalog.VIP} accepts (1K, 2K and 4K tiers).",
            "enum": [s.value for s in catalog.VIP_SIZES],
        },
        "AllPhrasing": {
            "type": "string",
            "description": f"The 8 verified phrasings for {catalog.ALL}, put at the start of "
            "the prompt; sent exactly as written.",
            "enum": [p.value for p in catalog.ALL_PHRASINGS],
        },
        "Size": {
            "description": f"WIDTHxHEIGHT for {catalog.VIP} (default "
            f'{catalog.DEFAULT_VIP_SIZE}); a phrasing or "" (the model decides, the default) '
            f"for {catalog.ALL}.",
            "anyOf": [_ref("VipSize"), _ref("AllPhrasing"), {"type": "string", "const": ""}],
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {
                            "type": "string",
                            "examples": ["invalid", "unauthorized", "not_found"],
                        },
                        "message": {"type": "string"},
                        "field": {"type": "string", "description": "The first bad field."},
                        "fields": {
                            "type": "object",
                            "description": "Every bad field with its message.",
                            "additionalProperties": {"type": "string"},
                        },
                    },
                }
            },
        },
        "Warning": {
            "type": "object",
            "description": "Pre-filter terms found in the prompt: such prompts are often "
            "refused by the gateway, and refusals are billed.",
            "required": ["category", "terms"],
            "properties": {
                "category": {"type": "string", "examples": ["copyrighted-ip"]},
                "terms": {"type": "array", "items": {"type": "string"}},
            },
        },
        "Generation": _generation_schema(),
        "CreateRequest": {
            "type": "object",
            "required": ["model", "prompt"],
            "properties": {
                "model": _ref("Model"),
                "prompt": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": catalog.PROMPT_MAX_CHARS,
                },
                "size": _ref("Size"),
                "count": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": catalog.MAX_COUNT,
                    "default": 1,
                    "description": "Images to make: one row and one gateway call each.",
                },
                "fallback_2k": {
                    "type": "boolean",
                    "default": True,
                    "description": "When the gateway fails a 4K size with a compute error, "
                    "the next attempt asks for the 2K size of the same ratio.",
                },
                "team": {
                    "type": "integer",
                    "description": "The id of one of the caller's teams to charge (default: "
                    "the first team they joined).",
                },
                "override_budget": {
                    "type": "boolean",
                    "default": False,
                    "description": "Staff only: submit even past a monthly budget.",
                },
            },
            "description": "Other fields are ignored, except n and quality, which are refused "
            "with 400: the gateway bills n images and returns one, and never honours quality.",
            "not": {"anyOf": [{"required": ["n"]}, {"required": ["quality"]}]},
        },
        "CreateResponse": {
            "type": "object",
            "required": ["batch", "warnings", "generations"],
            "properties": {
                "batch": {"type": "integer"},
                "warnings": {"type": "array", "items": _ref("Warning")},
                "generations": {"type": "array", "items": _ref("Generation")},
            },
        },
        "GenerationList": {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "results": {"type": "array", "items": _ref("Generation"), "maxItems": 50},
                "next": _nullable(
                    "string", format="uri", description="The next page, or null on the last."
                ),
            },
        },
    }


def _generation_schema() -> Schema:
    timestamp = {"type": "string", "format": "date-time"}
    properties: dict[str, Schema] = {
        "id": {"type": "integer"},
        "batch": {"type": "integer"},
        "status": _ref("Status"),
        "model": _ref("Model"),
        "prompt": {"type": "string"},
        "size": _ref("Size"),
        "width": _nullable("integer", description="Of the stored image; null until then."),
        "height": _nullable("integer", description="Of the stored image; null until then."),
        "image_url": _nullable(
            "string", format="uri", description="This API's file URL; null until succeeded."
        ),
        "thumbnail_url": _nullable(
            "string", format="uri", description="A WebP preview; null until succeeded."
        ),
        "attempts": {"type": "integer", "description": "Gateway calls made so far."},
        "fell_back_to_2k": {"type": "boolean"},
        "billed": {"type": "boolean"},
        "cost_usd": {
            "type": "string",
            "pattern": r"^\d+\.\d{2,4}$",
            "description": "US dollars billed, as a decimal string with 2 to 4 decimals, "
            'trailing zeros beyond 2 dropped: "0.00", "0.03", "0.0325".',
            "examples": ["0.03"],
        },
        "upstream_request_ids": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The gateway's request ids of the attempts, oldest first.",
        },
        "error": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                },
                {"type": "null"},
            ]
        },
        "created_at": timestamp,
        "started_at": {**timestamp, "type": ["string", "null"]},
        "finished_at": {**timestamp, "type": ["string", "null"]},
        "kind": {"type": "string", "enum": ["generate", "edit", "chat"]},
        "parents": {
            "type": "array",
            "items": {"type": "integer"},
            "description": "The generations this one was made from: the version it "
            "continues first, then any other gallery inputs in order.",
        },
        "thread": {
            "type": "integer",
            "description": "The first version of the thread (its own id for a root).",
        },
        "reply": {
            "type": "string",
            "description": "What the model said besides (or, refused, instead of) the image.",
        },
        "inputs": {
            "type": "array",
            "description": "The pictures sent, in order: image1, image2, …",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "examples": ["image1"]},
                    "source": {"type": ["integer", "null"]},
                    "original_name": {"type": "string"},
                    "original_bytes": {"type": "integer"},
                    "sent_bytes": {
                        "type": "integer",
                        "maximum": 1_500_000,
                        "description": "After compression (the gateway fails more often "
                        "on inputs over 1.5 MB).",
                    },
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "content_type": {"type": "string"},
                    "url": {"type": "string", "format": "uri"},
                },
            },
        },
    }
    # Every key is always present (null when unknown), so all are required.
    return {"type": "object", "required": list(properties), "properties": properties}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_NOT_YOURS = "No such generation, or not the caller's (staff see everyone's)."


def _file_operation(kind: str, summary: str) -> Schema:
    return {
        "get": {
            "operationId": f"getGeneration{kind.capitalize()}",
            "summary": summary,
            "parameters": [_ID],
            "responses": {
                "200": {
                    "description": "The stored file.",
                    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "302": {"description": "With S3 storage: a short-lived signed URL to the file."},
                "401": _error("Not authenticated."),
                "404": _error(_NOT_YOURS + " Also while the generation has not succeeded."),
            },
        }
    }


def _spend_operation(unauthorized: Schema) -> Schema:
    day = {"type": "string", "format": "date"}
    money = {"type": "string", "examples": ["12.30"], "description": "US dollars, exact."}
    report = {
        "type": "object",
        "required": ["from", "to", "total_usd", "billed_calls", "unbilled_calls", "groups"],
        "properties": {
            "from": day,
            "to": day,
            "total_usd": money,
            "billed_calls": {"type": "integer"},
            "unbilled_calls": {"type": "integer"},
            "no_image_usd": {**money, "description": "Billed calls that produced no image."},
            "group_by": {"type": ["string", "null"]},
            "groups": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "total_usd", "calls"],
                    "properties": {
                        "key": {"type": "string"},
                        "total_usd": money,
                        "calls": {"type": "integer", "description": "Attempts, billed or not."},
                        "billed_calls": {"type": "integer"},
                    },
                },
            },
        },
    }
    return {
        "get": {
            "operationId": "getSpend",
            "summary": "Billed spend from the ledger over a range of UTC days (staff: "
            "everyone's; others: their own).",
            "parameters": [
                {
                    "name": "from",
                    "in": "query",
                    "schema": day,
                    "description": "Inclusive; default the first of this month.",
                },
                {
                    "name": "to",
                    "in": "query",
                    "schema": day,
                    "description": "Inclusive; default today.",
                },
                {
                    "name": "group_by",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["user", "team", "model", "day"]},
                },
            ],
            "responses": {
                "200": _json(report, "Totals, and one row per group."),
                "400": _error("A bad date, range or group_by."),
                "401": unauthorized,
            },
        }
    }


def _paths() -> dict[str, Schema]:
    unauthorized = _error("Missing or invalid bearer token, and no signed-in session.")
    not_allowed = _error("Wrong method; the Allow header lists the right ones.")
    return {
        "/generations": {
            "post": {
                "operationId": "createGenerations",
                "summary": "Ask for 1 to 10 images of one prompt (one batch).",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("CreateRequest")}},
                },
                "responses": {
                    "202": _json(_ref("CreateResponse"), "Queued; poll each generation."),
                    "400": _error("Invalid request: error.field names the first bad field."),
                    "402": _error(
                        "budget_exceeded: the batch would go past a monthly budget; the "
                        "error also has scope, cap, used, reserved, cost (decimal strings) "
                        "and resets_on (a date)."
                    ),
                    "401": unauthorized,
                    "405": not_allowed,
                },
            },
            "get": {
                "operationId": "listGenerations",
                "summary": "The caller's generations, newest first, 50 a page.",
                "parameters": [
                    {"name": "status", "in": "query", "schema": _ref("Status")},
                    {"name": "model", "in": "query", "schema": _ref("Model")},
                    {
                        "name": "cursor",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "Opaque; take it from the `next` URL.",
                    },
                ],
                "responses": {
                    "200": _json(_ref("GenerationList"), "A page of generations."),
                    "400": _error("Unknown status or model, or a bad cursor."),
                    "401": unauthorized,
                },
            },
        },
        "/generations/{id}": {
            "get": {
                "operationId": "getGeneration",
                "summary": "One generation (poll this until its status is final).",
                "parameters": [_ID],
                "responses": {
                    "200": _json(_ref("Generation"), "The generation."),
                    "401": unauthorized,
                    "404": _error(_NOT_YOURS),
                },
            },
            "delete": {
                "operationId": "deleteGeneration",
                "summary": "Cancel a queued generation; delete any other one and its files.",
                "parameters": [_ID],
                "responses": {
                    "204": {
                        "description": "Canceled (queued) or deleted (running or finished: "
                        "a running call still ends, and is billed, but its image is dropped)."
                    },
                    "401": unauthorized,
                    "404": _error(_NOT_YOURS),
                },
            },
        },
        "/edits": {
            "post": {
                "operationId": "createEdits",
                "summary": "Edit or fuse 1 to 4 pictures (uploads and/or gallery images).",
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["model", "prompt"],
                                "properties": {
                                    "model": _ref("Model"),
                                    "prompt": {"type": "string"},
                                    "size": _ref("Size"),
                                    "count": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "fallback_2k": {"type": "boolean"},
                                    "image": {
                                        "type": "array",
                                        "items": {"type": "string", "format": "binary"},
                                        "description": "PNG, JPEG or WebP, ≤ 10 MB each.",
                                    },
                                    "source": {
                                        "type": "array",
                                        "items": {"type": "integer"},
                                        "description": "Ids of finished gallery images. "
                                        "Files and ids are image1, image2, … in body order.",
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("CreateResponse"), "Queued; poll each generation."),
                    "400": _error("Invalid request or picture: error.field names it."),
                    "401": unauthorized,
                    "405": not_allowed,
                },
            }
        },
        "/generations/{id}/iterate": {
            "post": {
                "operationId": "iterateGeneration",
                "summary": "The next conversation turn on this finished image.",
                "parameters": [_ID],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["prompt"],
                                "properties": {"prompt": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(_ref("CreateResponse"), "Queued: one generation, the turn."),
                    "400": _error("Invalid prompt."),
                    "401": unauthorized,
                    "404": _error(_NOT_YOURS),
                    "409": _error("The image has not succeeded, so there is nothing to edit."),
                },
            }
        },
        "/generations/{id}/inputs/{position}": {
            "get": {
                "operationId": "getGenerationInput",
                "summary": "The compressed picture an edit sent as image{position}.",
                "parameters": [
                    _ID,
                    {
                        "name": "position",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": {"description": "The picture as sent."},
                    "401": unauthorized,
                    "404": _error(_NOT_YOURS + " Or no such input."),
                },
            }
        },
        "/generations/{id}/image": _file_operation("image", "The original image file."),
        "/generations/{id}/thumbnail": _file_operation("thumbnail", "A WebP thumbnail."),
        "/spend": _spend_operation(unauthorized),
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI document."}},
            }
        },
    }


def build_document(server_url: str) -> dict[str, Any]:
    """The whole document; server_url is the absolute /api/v1 URL of this deployment."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ImageStudio API",
            "version": "1",
            "description": "Generate images through the studio: the same queue, ledger and "
            "pre-filter as the web UI. Every error is "
            '{"error": {"code": ..., "message": ...}}.',
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
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
