"""Operator endpoints: liveness, readiness and Prometheus metrics."""

from typing import Any

import msgspec
import structlog
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.plugins.prometheus import PrometheusController
from litestar.response import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from selflink_api.platform.openapi import problems
from selflink_api.platform.problems import UNAVAILABLE, problem_response

logger = structlog.get_logger("selflink.system")


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    status: str
    checks: dict[str, str]


class SystemController(Controller):
    tags = ["system"]  # noqa: RUF012 - Litestar reads this class attribute
    include_in_schema = True

    @get("/health", summary="Liveness: the process answers", exclude_from_auth=True)
    async def health(self) -> Health:
        return Health(status="ok")

    @get(
        "/ready",
        summary="Readiness: the database (and Redis, when configured) answer",
        exclude_from_auth=True,
        responses=problems(503),
    )
    async def ready(
        self, request: Request[Any, Any, Any], db_engine: NamedDependency[AsyncEngine]
    ) -> Response[Any]:
        checks = {"database": await _check_database(db_engine)}
        redis = request.app.state.get("redis")
        if redis is not None:
            checks["redis"] = await _check_redis(redis)
        if all(result == "ok" for result in checks.values()):
            return Response(Readiness(status="ready", checks=checks))
        unavailable = ", ".join(name for name, result in checks.items() if result != "ok")
        return problem_response(
            request, UNAVAILABLE, f"Not ready: {unavailable} unreachable.", checks=checks
        )


class MetricsController(PrometheusController):
    """Litestar's Prometheus endpoint, documented as the text it answers rather than JSON."""

    tags = ["system"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(summary="Prometheus metrics", media_type="text/plain")
    async def get(self) -> Response[bytes]:
        response: Response[bytes] = await PrometheusController.get.fn(self)
        return response


async def _check_database(engine: AsyncEngine) -> str:
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the logs
        logger.warning("readiness_check_failed", dependency="database", error=type(exc).__name__)
        return "unavailable"
    return "ok"


async def _check_redis(redis: Any) -> str:
    try:
        await redis.ping()
    except Exception as exc:  # same contract as the database check
        logger.warning("readiness_check_failed", dependency="redis", error=type(exc).__name__)
        return "unavailable"
    return "ok"
