"""Request-scoped providers for the matching domain."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.matching.services import MatchingService, MatchingToolkit


def provide_matching_service(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> MatchingService:
    toolkit: MatchingToolkit = request.app.state.matching
    return MatchingService(db_session, toolkit)
