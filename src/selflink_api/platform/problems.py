"""RFC 9457 problem details for every error the API returns.

Each problem has a stable `type` (a URN naming the kind of problem), a stable `title`, the HTTP
`status`, a human `detail`, the request path as `instance`, and the request id. Validation
problems add `errors`: one entry per offending field.
"""

import re
from dataclasses import dataclass
from enum import Enum
from http import HTTPStatus
from typing import Any

import asyncpg
import structlog
from advanced_alchemy.exceptions import DuplicateKeyError, IntegrityError, NotFoundError
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.types import ExceptionHandlersMap, Scope
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

logger = structlog.get_logger("selflink.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:selflink:problem:"


@dataclass(frozen=True)
class ProblemKind:
    slug: str
    title: str
    status: int

    @property
    def type_uri(self) -> str:
        return PROBLEM_TYPE_PREFIX + self.slug


BAD_REQUEST = ProblemKind("bad-request", "The request could not be read", 400)
MALFORMED_BODY = ProblemKind("malformed-body", "The request body is not valid JSON", 400)
UNAUTHORIZED = ProblemKind("unauthorized", "Authentication is required", 401)
FORBIDDEN = ProblemKind("forbidden", "You are not allowed to do this", 403)
NOT_FOUND = ProblemKind("not-found", "Not found", 404)
METHOD_NOT_ALLOWED = ProblemKind("method-not-allowed", "Method not allowed", 405)
CONFLICT = ProblemKind("conflict", "The request conflicts with the current state", 409)
PAYLOAD_TOO_LARGE = ProblemKind("payload-too-large", "The request body is too large", 413)
UNSUPPORTED_MEDIA_TYPE = ProblemKind("unsupported-media-type", "Unsupported content type", 415)
VALIDATION = ProblemKind("validation-error", "The request has invalid fields", 422)
RATE_LIMITED = ProblemKind("rate-limited", "Too many requests", 429)
INTERNAL = ProblemKind("internal-error", "Internal server error", 500)
UNAVAILABLE = ProblemKind("service-unavailable", "The service is temporarily unavailable", 503)

_KIND_BY_STATUS = {
    kind.status: kind
    for kind in (
        BAD_REQUEST,
        UNAUTHORIZED,
        FORBIDDEN,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        CONFLICT,
        PAYLOAD_TOO_LARGE,
        UNSUPPORTED_MEDIA_TYPE,
        VALIDATION,
        RATE_LIMITED,
        INTERNAL,
        UNAVAILABLE,
    )
}


def kind_for_status(status: int) -> ProblemKind:
    known = _KIND_BY_STATUS.get(status)
    if known is not None:
        return known
    phrase = HTTPStatus(status).phrase
    return ProblemKind(phrase.lower().replace(" ", "-"), phrase, status)


class ProblemError(Exception):
    """Raise from services and handlers to answer with a problem document."""

    def __init__(
        self,
        kind: ProblemKind,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    @classmethod
    def invalid(
        cls,
        field: str,
        message: str,
        *,
        source: str = "body",
        detail: str | None = None,
        **details: Any,
    ) -> "ProblemError":
        """A 422 naming one field as the client sent it, with the platform's wording.

        `source` is where the field came from (`body`, `path`, `query`, `header`); `detail`
        replaces the sentence for people ("field: message."); `details` add to the field's
        entry (e.g. an engine's `code`, or `choices`).
        """
        message = message.rstrip(".")
        entry = {"field": field, "source": source, "message": message, **details}
        return cls(VALIDATION, detail or f"{field}: {message}.", errors=[entry])


def problem_document(
    kind: ProblemKind, detail: str, scope: Scope, **extensions: Any
) -> dict[str, Any]:
    """The RFC 9457 body of a problem answering the request of `scope` (its path is the
    `instance`, its id the `request_id`)."""
    body: dict[str, Any] = {
        "type": kind.type_uri,
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "instance": scope.get("path", ""),
    }
    request_id = scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    body.update(extensions)
    return body


def problem_response(
    request: Request[Any, Any, Any],
    kind: ProblemKind,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response[dict[str, Any]]:
    body = problem_document(kind, detail, request.scope, **extensions)
    return Response(body, status_code=kind.status, media_type=PROBLEM_JSON, headers=headers)


BODY_PARAMETER = "data"
"""Litestar's name for the request body, which clients never see: errors about the body as a
whole get the field "" instead."""
MISSING_FIELD = re.compile(r"Object missing required field `(?P<name>[^`]*)`")
UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(?P<name>[^`]*)`")
MISSING_PARAMETER = re.compile(r"Missing required (?P<source>\w+) parameter '(?P<name>[^']*)'")
"""Litestar's words for an absent required query, header or cookie parameter; it gives no
field list then, so the name is read from the sentence."""


def _field_error(item: dict[str, Any]) -> dict[str, str]:
    """One entry of `errors`, naming the field as the client sent it: msgspec reports a
    missing or unknown field at the object that holds it, so the name moves into `field`.
    Litestar reports a parameter's source as an enum, written as its value ("query")."""
    raw_source = item.get("source") or "body"
    source = str(raw_source.value if isinstance(raw_source, Enum) else raw_source)
    key = str(item.get("key") or "")
    field = "" if source == "body" and key == BODY_PARAMETER else key
    message = str(item.get("message") or "invalid value")
    if message == repr(BODY_PARAMETER):
        return {"field": "", "source": source, "message": "a JSON body is required"}
    for pattern, meaning in (
        (MISSING_FIELD, "is required"),
        (UNKNOWN_FIELD, "is not a known field"),
    ):
        found = pattern.fullmatch(message)
        if found:
            name = found["name"]
            return {
                "field": f"{field}.{name}" if field else name,
                "source": source,
                "message": meaning,
            }
    return {"field": field, "source": source, "message": message}


def _field_errors(extra: Any) -> list[dict[str, str]]:
    items = extra if isinstance(extra, list) else []
    return [_field_error(item) for item in items if isinstance(item, dict)]


def _handle_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[dict[str, Any]]:
    return problem_response(request, exc.kind, exc.detail, headers=exc.headers, **exc.extensions)


def _handle_validation(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    errors = _field_errors(exc.extra)
    missing = MISSING_PARAMETER.match(exc.detail or "")
    if not errors and missing:
        errors = [{"field": missing["name"], "source": missing["source"], "message": "is required"}]
    return problem_response(
        request, VALIDATION, "One or more fields are missing or invalid.", errors=errors
    )


def _handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    if isinstance(exc.__cause__, SerializationException):
        return problem_response(request, MALFORMED_BODY, "The request body is not valid JSON.")
    kind = kind_for_status(exc.status_code)
    headers = dict(exc.headers or {})
    if kind is METHOD_NOT_ALLOWED and "allow" in headers:  # as OPTIONS lists them
        headers["allow"] = ", ".join(sorted(m.strip() for m in headers["allow"].split(",")))
    if kind is RATE_LIMITED and "Retry-After" not in headers:
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
    generic = {kind.title.lower(), HTTPStatus(kind.status).phrase.lower()}
    detail = exc.detail if exc.detail and exc.detail.lower() not in generic else kind.title + "."
    if kind.status >= 500:
        detail = kind.title + "."
    return problem_response(request, kind, detail, headers=headers)


def _handle_not_found(request: Request[Any, Any, Any], _exc: NotFoundError) -> Response[Any]:
    return problem_response(request, NOT_FOUND, "No such resource.")


def _handle_integrity(request: Request[Any, Any, Any], _exc: IntegrityError) -> Response[Any]:
    return problem_response(request, CONFLICT, "This conflicts with data that already exists.")


UNREACHABLE = (
    ConnectionError,  # refused or reset on the way to PostgreSQL or Redis
    SQLAlchemyTimeoutError,  # no pooled connection came free in time
    sqlalchemy_exc.OperationalError,
    sqlalchemy_exc.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,  # class 08, and a connection closed under us
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutting down, starting up
    RedisConnectionError,
    RedisTimeoutError,
)
RETRY_UNAVAILABLE_SECONDS = "5"


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps) says PostgreSQL or Redis could not be reached, as
    when one restarts: a passing outage, not a bug."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UNREACHABLE) or getattr(current, "connection_invalidated", False):
            return True
        orig = getattr(current, "orig", None)
        current = (
            orig if isinstance(orig, BaseException) else current.__cause__ or current.__context__
        )
    return False


def _handle_storage(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A 503 problem with Retry-After while the database or Redis is unreachable; anything
    else is unexpected."""
    if not unreachable(exc):
        return _handle_unexpected(request, exc)
    logger.warning("storage_unreachable", error=type(exc).__name__, path=request.url.path)
    return problem_response(
        request,
        UNAVAILABLE,
        "A storage service is unreachable; try again shortly.",
        headers={"Retry-After": RETRY_UNAVAILABLE_SECONDS},
    )


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("unhandled_error", error=type(exc).__name__, path=request.url.path, exc_info=exc)
    return problem_response(request, INTERNAL, "Something went wrong on our side.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    ProblemError: _handle_problem,
    ValidationException: _handle_validation,
    HTTPException: _handle_http,
    NotFoundError: _handle_not_found,
    DuplicateKeyError: _handle_integrity,
    IntegrityError: _handle_integrity,
    SQLAlchemyError: _handle_storage,
    ConnectionError: _handle_storage,
    RedisError: _handle_storage,
    Exception: _handle_storage,
}
