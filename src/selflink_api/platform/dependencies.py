"""Route dependencies resolved one after another, without a task group per request.

Litestar resolves a route's independent dependencies (the session, the job queue, the signed-in
person, ...) concurrently, in an anyio task group: three tasks and their bookkeeping for what
are plain function calls, about 7% of a signed-in `GET /users/me` (py-spy;
litestar-org/litestar#4563 measures the same cliff). None of SelfLink's providers waits on
anything another could use meanwhile, and they share one database session, which must not be
used concurrently anyway. So each route's batches are split into one dependency per batch,
keeping their order: a dependency still comes after everything it depends on (and, within a
batch, by name, the same in every process).
"""

from typing import TYPE_CHECKING

from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute, WebSocketRoute

if TYPE_CHECKING:
    from litestar._kwargs import KwargsModel


class SequentialDependencies(ReceiveRoutePlugin):
    def receive_route(self, route: BaseRoute) -> None:
        models: list[KwargsModel | None]
        if isinstance(route, HTTPRoute):
            models = [model for _, model in route.route_handler_map.values()]
        elif isinstance(route, WebSocketRoute):
            models = [route.handler_parameter_model]
        else:
            return
        for model in models:
            if model is not None:
                model.dependency_batches = [
                    {dependency}
                    for batch in model.dependency_batches
                    for dependency in sorted(batch, key=lambda each: each.key)
                ]
