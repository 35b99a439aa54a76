"""Request input every route can trust: checked once, here, before any handler runs.

Litestar decodes JSON bodies with msgspec, which lets the last of two equal keys win, meets
deep nesting with a RecursionError and invalid UTF-8 with a UnicodeDecodeError (both 500s),
and does not look at the content type. PostgreSQL cannot store U+0000 in text at all, while
SQLite stores it silently. `RequestInputGuard` refuses all of these as problem documents, for
every route, so that no handler has to remember to; it also answers OPTIONS, which Litestar
gets wrong. docs/api-errors.md#limits lists the rules.

Only bodies Litestar decodes as JSON (a handler's `data`) are checked here. An upload route
takes no `data` and reads its multipart body itself with `platform.uploads.received_file`,
which applies the rules of uploads; so does the GitHub webhook with its raw payload.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType, ScopeType
from litestar.handlers import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.params import BodyKwarg
from litestar.routes import HTTPRoute
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Receive,
    Scope,
    Send,
)

from selflink_api.platform.problems import (
    MALFORMED_BODY,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION,
    ProblemError,
)

MAX_JSON_DEPTH = 64
"""Arrays and objects a JSON body may nest: far more than any SelfLink or GitHub body needs."""
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"

# A JSON string, cut out before brackets are counted. An unterminated one runs to the end of
# the body rather than failing, so the scan stays linear however the body is crafted.
_STRING = re.compile(rb'"(?:[^"\\]++|\\.?)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_SQUARE = bytes.maketrans(b"{}", b"[]")


class MalformedJSONError(ValueError):
    """The bytes are not a JSON document SelfLink accepts."""


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")


def parse_json(body: bytes) -> Any:
    """Decode JSON strictly: UTF-8, at most `MAX_JSON_DEPTH` deep, no key twice in an object.

    Depth is measured on the raw bytes first: msgspec and Python's json both recurse, and a deep
    enough document makes either raise RecursionError.
    """
    _refuse_deep_nesting(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        msg = "the body is not valid UTF-8"
        raise MalformedJSONError(msg) from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        raise MalformedJSONError(str(exc)) from None
    except ValueError:
        msg = "the body is not valid JSON"
        raise MalformedJSONError(msg) from None


def _refuse_deep_nesting(body: bytes) -> None:
    """Each pass drops the innermost pairs of brackets, at C speed: a document `MAX_JSON_DEPTH`
    deep is gone after that many passes, and one whose brackets do not pair up is not JSON."""
    brackets = _STRING.sub(b"", body).translate(_SQUARE, _NOT_BRACKETS)
    for _level in range(MAX_JSON_DEPTH):
        if not brackets:
            return
        fewer = brackets.replace(b"[]", b"")
        if fewer == brackets:
            msg = "the body is not valid JSON"
            raise MalformedJSONError(msg)
        brackets = fewer
    if brackets:
        msg = f"JSON may be nested at most {MAX_JSON_DEPTH} levels deep"
        raise MalformedJSONError(msg)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def nul_fields(value: Any, path: str = "") -> Iterator[str]:
    """Where a decoded JSON value holds U+0000, in a key or a string, named like field errors."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else key
            yield from [name] if NUL in key else nul_fields(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_fields(item, f"{path}[{index}]")


def is_json_media_type(content_type: str) -> bool:
    """`application/json` or `application/*+json`, in UTF-8 (the only charset JSON allows)."""
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return False
    charsets = [
        value.strip().strip('"')
        for name, _, value in (parameter.partition("=") for parameter in parameters)
        if name.strip() == "charset"
    ]
    return all(charset == "utf-8" for charset in charsets)


def takes_json_body(handler: BaseRouteHandler) -> bool:
    """Whether Litestar will decode the body as JSON for this handler's `data`."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    kwarg = data.kwarg_definition
    return not isinstance(kwarg, BodyKwarg) or kwarg.media_type == RequestEncodingType.JSON


def _parameter_errors(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    errors = [
        {"field": name, "source": "path", "message": NUL_MESSAGE}
        for name, value in request.path_params.items()
        if isinstance(value, str) and NUL in value
    ]
    errors.extend(
        {"field": name, "source": "query", "message": NUL_MESSAGE}
        for name, value in request.query_params.multi_items()
        if NUL in name or NUL in value
    )
    return errors


async def _body_errors(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    body = await request.body()
    if not body:
        return []  # Litestar answers an absent body itself: 422 "a JSON body is required"
    if not is_json_media_type(request.headers.get("content-type", "")):
        raise ProblemError(UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json (UTF-8).")
    try:
        value = parse_json(body)
    except MalformedJSONError as exc:
        raise ProblemError(MALFORMED_BODY, f"The request body is not valid JSON: {exc}.") from None
    return [{"field": name, "source": "body", "message": NUL_MESSAGE} for name in nul_fields(value)]


class RequestInputGuard(ASGIMiddleware):
    """Refuse unusable input before the handler runs, and answer OPTIONS truthfully."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        handler = scope["route_handler"]
        if _is_litestar_options_handler(handler):
            await _answer_options(scope, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        errors = _parameter_errors(request)
        if takes_json_body(handler):
            errors.extend(await _body_errors(request))
        if errors:
            raise ProblemError(
                VALIDATION, "One or more fields are missing or invalid.", errors=errors
            )
        await next_app(scope, receive, send)


def _is_litestar_options_handler(handler: BaseRouteHandler) -> bool:
    """Litestar's own OPTIONS answer lists the methods the path had when its first handler was
    registered, not those of the route that finally serves it; and it sits behind the route's
    guards, while authentication skips OPTIONS, so guarded routes answered it with a 401."""
    qualname = getattr(handler.fn, "__qualname__", "")
    return bool(qualname == "HTTPRoute.create_options_handler.<locals>.options_handler")


async def _answer_options(scope: Scope, send: Send) -> None:
    allow = allowed_methods(scope).encode("latin-1")
    await send(
        HTTPResponseStartEvent(type="http.response.start", status=204, headers=[(b"allow", allow)])
    )
    await send(HTTPResponseBodyEvent(type="http.response.body", body=b"", more_body=False))


def allowed_methods(scope: Scope) -> str:
    """The methods of the requested path, listed as the 405 answer lists them."""
    template = scope["path_template"]
    return ", ".join(
        sorted(
            method
            for route in scope["litestar_app"].routes
            if isinstance(route, HTTPRoute) and route.path_format == template
            for method in route.methods
        )
    )
