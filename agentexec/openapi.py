"""The OpenAPI 3.1 document (drf-spectacular): the bearer scheme, the one error shape and the
small JSON-schema vocabulary the API modules describe their responses with.

Most views are APIViews answering dicts, so each declares its request serializer and a raw
response schema with `@extend_schema`; `add_error_responses` then gives every operation the
error responses it can answer, all with the `Error` component.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
ANY_OBJECT: Schema = {"type": "object", "additionalProperties": True}
STRINGS: Schema = {"type": "array", "items": STRING}
ERROR_REF: Schema = {"$ref": "#/components/schemas/Error"}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "description": "Every error: a stable `type`, a readable `message`, and for invalid "
    "input the offending fields (`sandbox.cpu`, `prompt`, ...) with their messages.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {
                "type": {
                    "type": "string",
                    "examples": ["invalid_request", "not_found", "authentication_error"],
                },
                "message": STRING,
                "fields": {"type": "object", "additionalProperties": STRINGS},
            },
        }
    },
}

# Status → when it is answered. 400/401/404/... can come from any authenticated operation.
ERROR_STATUSES = {
    "400": "Invalid input (the fields are named) or a broken domain rule.",
    "401": "Missing, malformed or revoked API key.",
    "404": "No such resource in the caller's organization.",
    "405": "Method not allowed on this path.",
    "406": "The Accept header asks for a media type this endpoint does not produce.",
    "409": "The resource's state forbids the operation.",
    "413": "Request body too large.",
    "429": "Rate limited.",
    "500": "Internal server error.",
}
BODY_ERROR_STATUSES = {"415": "Unsupported request media type."}


def nullable(schema: Schema) -> Schema:
    """The OAS 3.1 way: the type list gains "null"."""
    if "$ref" in schema or "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*types, "null"]}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object whose properties are all present unless named optional (extra keys allowed:
    the SDK ignores what it does not know, and so may clients)."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


# GET /agent/v1/models and /agent/v1/tools (agentexec.catalog)
MODELS = obj(
    {
        "default": STRING,
        "providers": array(
            obj(
                {
                    "name": STRING,
                    "configured": BOOLEAN,
                    "baseUrl": nullable(STRING),
                    "routes": STRINGS,
                    "enabledBy": nullable(STRING),
                }
            )
        ),
        "models": array(
            obj(
                {
                    "id": STRING,
                    "provider": nullable(STRING),
                    "routable": BOOLEAN,
                    "unavailableReason": nullable(STRING),
                    "pricing": nullable(ANY_OBJECT),
                }
            )
        ),
    }
)
TOOLS = obj(
    {
        "tools": array(
            obj(
                {
                    "name": STRING,
                    "description": STRING,
                    "inputSchema": ANY_OBJECT,
                    "location": STRING,
                    "available": BOOLEAN,
                    "unavailableReason": nullable(STRING),
                    "cli": nullable(STRING),
                }
            )
        )
    }
)


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "agentexec.tenancy.auth.ApiKeyAuthentication"
    match_subclasses = True
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> Schema:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py createapikey`.",
        }


class ObjectIdsFieldSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """vaults' search filter: one object id or a list of them."""

    target_class = "vaults.serializers.ObjectIdsField"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> Schema:
        one = {"type": "string", "minLength": 1}
        return {"oneOf": [one, {"type": "array", "items": one, "maxItems": 1000}]}


def add_error_responses(result: Schema, generator: Any, request: Any, public: bool) -> Schema:
    """Postprocessing hook: the Error component, and the error responses on every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = dict(ERROR_STATUSES)
            if "requestBody" in operation:
                statuses.update(BODY_ERROR_STATUSES)
            responses = operation.setdefault("responses", {})
            for code, description in statuses.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": ERROR_REF}},
                    },
                )
    return result
