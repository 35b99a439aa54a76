"""HTTP endpoints of matching: the vocabulary, my preferences, a score with one person, and
recommendations."""

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from selflink_api.accounts.dependencies import provide_principal
from selflink_api.accounts.services import Principal
from selflink_api.matching.dependencies import provide_matching_service
from selflink_api.matching.jobs import refresh_features
from selflink_api.matching.schemas import (
    Match,
    Mode,
    Preferences,
    PreferencesUpdate,
    RecommendationPage,
)
from selflink_api.matching.services import MatchingService
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_core.matching import load_rules, vocabulary

PUBLIC = {"exclude_from_auth": True}
PAGES = load_rules().pages


class MatchingController(Controller):
    path = "/matching"
    tags = ["matching"]  # noqa: RUF012
    dependencies = {  # noqa: RUF012
        "matching": Provide(provide_matching_service, sync_to_thread=False),
        "principal": Provide(provide_principal, sync_to_thread=False),
    }

    @get("/vocabulary", opt=PUBLIC, summary="Words, options, modes, genders and age limits")
    async def vocabulary(self) -> dict[str, Any]:
        return dict(vocabulary().to_dict())

    @get("/preferences", summary="My matching preferences")
    async def preferences(
        self, principal: NamedDependency[Principal], matching: NamedDependency[MatchingService]
    ) -> Preferences:
        return await matching.preferences(principal.id)

    @patch("/preferences", summary="Change my matching preferences (a merge patch)")
    async def update_preferences(
        self,
        data: JSONBody[PreferencesUpdate],
        principal: NamedDependency[Principal],
        matching: NamedDependency[MatchingService],
        jobs: NamedDependency[JobQueue],
    ) -> Preferences:
        preferences, changed = await matching.update_preferences(principal.id, data)
        if changed:
            await jobs.enqueue(refresh_features, user_id=str(principal.id))
        return preferences

    @delete("/preferences", summary="Delete my matching preferences and features", status_code=204)
    async def delete_preferences(
        self, principal: NamedDependency[Principal], matching: NamedDependency[MatchingService]
    ) -> None:
        await matching.delete_preferences(principal.id)

    @get(
        "/with/{handle:str}",
        summary="How well I match a person open to matching, explained",
        responses=problems(409),
    )
    async def match_with(
        self,
        handle: FromPath[str],
        principal: NamedDependency[Principal],
        matching: NamedDependency[MatchingService],
    ) -> Match:
        return await matching.match_with(principal.id, handle)

    @get(
        "/recommendations",
        summary="People to meet, best first, a diverse page at a time",
        responses=problems(409, 429),
    )
    async def recommendations(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        matching: NamedDependency[MatchingService],
        mode: Annotated[Mode, QueryParameter(description="dating or friends.")],
        cursor: Annotated[
            str | None,
            QueryParameter(max_length=4096, description="`next_cursor` of the previous page."),
        ] = None,
        limit: Annotated[
            int,
            QueryParameter(
                ge=PAGES.min_size,
                le=PAGES.max_size,
                description=f"People per page ({PAGES.min_size}-{PAGES.max_size}).",
            ),
        ] = PAGES.default_size,
    ) -> RecommendationPage:
        return await matching.recommendations(
            principal.id, mode, cursor, limit, request.app.state.shared.limiter
        )
