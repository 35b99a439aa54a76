"""Request-scoped providers for the astro domain."""

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.astro.services import AstroService, AstroToolkit
from selflink_api.platform.http import client_ip
from selflink_api.platform.jobs import JobQueue


def provide_astro_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> AstroService:
    toolkit: AstroToolkit = request.app.state.astro
    return AstroService(db_session, toolkit, jobs, client_ip(request))
