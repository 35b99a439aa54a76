"""Keyset pagination shared by every list endpoint.

A page is `{"items": [...], "next_cursor": "..." | null}`. The cursor is an opaque token holding
the sort key of the last item returned, so the next page starts strictly after it: rows
inserted meanwhile never shift a page or repeat an item.
"""

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from selflink_api.platform.problems import BAD_REQUEST, ProblemError

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class CursorPage(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    cursor: str | None
    limit: int


def provide_page_request(
    cursor: Annotated[
        str | None, QueryParameter(description="`next_cursor` of the previous page.")
    ] = None,
    limit: Annotated[
        int, QueryParameter(ge=1, le=MAX_LIMIT, description="Items per page (1-100).")
    ] = DEFAULT_LIMIT,
) -> PageRequest:
    """The `page` dependency: list handlers declare `page: NamedDependency[PageRequest]`."""
    return PageRequest(cursor=cursor, limit=limit)


def _encode_value(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _decode_value(raw: Any, python_type: type) -> Any:
    if python_type is UUID:
        return UUID(str(raw))
    if python_type is datetime:
        return datetime.fromisoformat(str(raw))
    if python_type is int and not isinstance(raw, int):
        raise TypeError
    if python_type is float:  # a rank: a finite JSON number, never a string or true/false
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            raise TypeError
        return float(raw)
    return raw


def encode_cursor(scope: str, key: Sequence[Any]) -> str:
    payload = json.dumps({"s": scope, "k": [_encode_value(v) for v in key]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


KeyColumn = InstrumentedAttribute[Any] | ColumnElement[Any]
"""A column of a page's sort key: a model's column, or a computed one such as a search rank."""


def decode_cursor(cursor: str, scope: str, columns: Sequence[KeyColumn]) -> list[Any]:
    invalid = ProblemError(
        BAD_REQUEST, "The cursor is not valid for this list; start again without it."
    )
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if payload.get("s") != scope or len(payload.get("k", ())) != len(columns):
            raise invalid
        return [
            _decode_value(raw, column.type.python_type)
            for raw, column in zip(payload["k"], columns, strict=True)
        ]
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError) as exc:
        raise invalid from exc


async def paginate(
    session: AsyncSession,
    statement: Select[Any] | Select[Any, Any],
    *,
    scope: str,
    order_by: Sequence[KeyColumn],
    page: PageRequest,
    descending: bool = False,
    key_of: Callable[[T], Sequence[Any]] | None = None,
    rows: bool = False,
) -> tuple[list[T], str | None]:
    """One page of `statement`, ordered by the unique key `order_by` (ties impossible).

    `scope` names the list so a cursor from one list is refused by another. With `rows`, the
    items are whole result rows (a statement selecting several entities) and the key is read
    from the first entity of the last row, or by `key_of` from the whole last row (a key
    holding computed columns, such as a rank).
    """
    key_columns = tuple_(*order_by)
    if page.cursor is not None:
        values = decode_cursor(page.cursor, scope, order_by)
        after = tuple_(
            *(bindparam(None, v, type_=c.type) for v, c in zip(values, order_by, strict=True))
        )
        statement = statement.where(key_columns < after if descending else key_columns > after)
    ordering = [column.desc() if descending else column.asc() for column in order_by]
    ordered = statement.order_by(*ordering).limit(page.limit + 1)
    result = await session.execute(ordered) if rows else await session.scalars(ordered)
    items: list[Any] = list(result.all())
    if len(items) <= page.limit:
        return items, None
    items = items[: page.limit]
    if key_of is not None:
        key = key_of(items[-1])
    else:
        last = items[-1][0] if rows else items[-1]
        key = [getattr(last, str(column.key)) for column in order_by]
    return items, encode_cursor(scope, key)
