"""Domain errors: each carries a status code and a stable name, rendered by one handler as
`{"error": <name>, "detail": <what a person can act on>}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dockback_gateway.patterns import describe


class Problem(BaseModel):
    """An expected failure, as every domain error is rendered."""

    error: str
    detail: str


class DomainError(Exception):
    """An expected failure: the client gets the status and the message, never a stack trace."""

    status_code = 400
    error = "bad_request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, keep_changes: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        # A refusal that must leave a trace (failed-login counters, audit rows, a revoked
        # session) commits the request's transaction instead of rolling it back.
        self.keep_changes = keep_changes


class NotAuthenticated(DomainError):
    status_code = 401
    error = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    error = "forbidden"


class NotFound(DomainError):
    status_code = 404
    error = "not_found"


class Conflict(DomainError):
    status_code = 409
    error = "conflict"


class Invalid(DomainError):
    status_code = 422
    error = "invalid"


class TooManyAttempts(DomainError):
    status_code = 429
    error = "too_many_attempts"


def _document_error_shape(app: FastAPI) -> None:
    """Make the OpenAPI document describe our 422 body instead of FastAPI's default one."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["ValidationError"] = {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            }
            schemas["HTTPValidationError"] = {
                "type": "object",
                "required": ["error", "detail"],
                "properties": {
                    "error": {"type": "string"},
                    # A malformed request lists its fields; a refused value (Invalid) says why in words.
                    "detail": {
                        "anyOf": [
                            {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
                            {"type": "string"},
                        ]
                    },
                },
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_error_shape(app)

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(
            {"error": exc.error, "detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields: list[dict[str, Any]] = [
            {"field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]), "message": _message(e)}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "validation_error", "detail": fields}, status_code=422)


def _message(error: dict[str, Any]) -> str:
    """Pydantic's message, in words a person can act on: a format in a sentence rather than its
    regular expression, a validator's reason without pydantic's "Value error, " in front."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return describe(str(ctx.get("pattern", ""))) or "Has a format that is not accepted here"
    worded = _WORDS.get(kind)
    if worded is not None:
        return worded(ctx)
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _at_least(ctx: dict[str, Any]) -> str:
    n = ctx.get("min_length", 1)
    return "Enter a value" if n == 1 else f"Enter at least {n} characters"


def _number(value: object) -> object:
    """2.0 as 2: a bound written as a float in the schema is still a whole number to a person."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _items(n: object) -> str:
    return f"{n} item" if n == 1 else f"{n} items"


def _choices(ctx: dict[str, Any]) -> str:
    return f"Choose one of: {ctx['expected']}" if "expected" in ctx else "Choose one of the offered values"


_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    # pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/), said
    # as what to do rather than what the value "should" be
    "missing": lambda _: "Required: enter a value",
    "string_too_short": _at_least,
    "string_too_long": lambda ctx: f"Enter at most {ctx.get('max_length')} characters",
    "too_short": lambda ctx: f"Give at least {_items(ctx.get('min_length'))}",
    "too_long": lambda ctx: f"Give at most {_items(ctx.get('max_length'))}",
    "int_parsing": lambda _: "Enter a whole number",
    "int_type": lambda _: "Enter a whole number",
    "int_from_float": lambda _: "Enter a whole number",
    "float_parsing": lambda _: "Enter a number",
    "float_type": lambda _: "Enter a number",
    "bool_parsing": lambda _: "Choose yes or no",
    "bool_type": lambda _: "Choose yes or no",
    "greater_than_equal": lambda ctx: f"Enter {_number(ctx.get('ge'))} or more",
    "greater_than": lambda ctx: f"Enter more than {_number(ctx.get('gt'))}",
    "less_than_equal": lambda ctx: f"Enter {_number(ctx.get('le'))} or less",
    "less_than": lambda ctx: f"Enter less than {_number(ctx.get('lt'))}",
    "literal_error": _choices,
    "enum": _choices,
    "extra_forbidden": lambda _: "Not a field of this request: leave it out",
}
