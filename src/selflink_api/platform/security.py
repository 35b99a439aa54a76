"""Authorization guards shared by every domain."""

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

ROLE_RANK = {"user": 0, "moderator": 1, "staff": 2, "admin": 3}


def requires_role(minimum: str) -> Any:
    """A guard admitting signed-in users whose role is `minimum` or higher."""
    needed = ROLE_RANK[minimum]

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException("Sign in to continue.")
        if ROLE_RANK.get(getattr(user, "role", ""), -1) < needed:
            raise PermissionDeniedException(f"This needs the {minimum} role.")

    guard.__name__ = f"requires_{minimum}"
    return guard


requires_admin = requires_role("admin")
requires_staff = requires_role("staff")
requires_moderator = requires_role("moderator")
