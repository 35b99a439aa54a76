"""The feeds: home (built on read, newest first) and for-you (ranked, frozen per reading).

A frozen reading lives in a shared store (Redis when configured), not in the database: reading
the feed writes no row, and any API process can serve the next page.

docs/content.md explains the choices; `ranking.py` holds the for-you formula.
"""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar.stores.base import Store
from sqlalchemy import Integer, Uuid, column
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import User
from selflink_api.accounts.services import PersonalDataStore
from selflink_api.content.media import MediaUrls
from selflink_api.content.schemas import PostView
from selflink_api.content.services import (
    ContentService,
    activity_of,
    posts_by_ids,
    recent_posts_for,
)
from selflink_api.feed.ranking import Ranked, Viewer, Weights, explained, paged, rank
from selflink_api.feed.schemas import ForYouPage, Insight, InsightItem, PostItem, Why
from selflink_api.matching.services import MatchingService, MatchingToolkit
from selflink_api.platform.crypto import PersonalDataCipher
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.pagination import PageRequest, decode_cursor, encode_cursor
from selflink_api.platform.problems import BAD_REQUEST, ProblemError
from selflink_api.social.services import followed_by, hidden_from
from selflink_core.astro.numerology import personal_day

SNAPSHOT_LIFETIME = timedelta(hours=1)
FOR_YOU = "for-you"
READING_KEY = (column("reading", Uuid()), column("page", Integer()))
"""How a for-you cursor's key is typed: a frozen reading's id and a page number."""
SOULMATCH_PAGE = 5
"""The smallest page of recommendations; the card shows the first."""
DAY_MEANINGS = {
    1: "a day to begin something",
    2: "a day for patience and partners",
    3: "a day to say it out loud",
    4: "a day to build, one brick at a time",
    5: "a day for change and small adventures",
    6: "a day for the people you care for",
    7: "a day to think and look inward",
    8: "a day to decide and to lead",
    9: "a day to finish and let go",
}


@dataclass(frozen=True)
class FeedToolkit:
    events: EventBus
    cipher: PersonalDataCipher
    weights: Weights
    media_urls: MediaUrls
    readings: Store
    """Frozen for-you readings by id, each expiring after `SNAPSHOT_LIFETIME`."""


def _expired_cursor() -> ProblemError:
    return ProblemError(BAD_REQUEST, "This for-you cursor has expired; start again without it.")


class FeedService:
    def __init__(
        self,
        session: AsyncSession,
        toolkit: FeedToolkit,
        matching: MatchingToolkit,
        jobs: JobQueue,
    ) -> None:
        self.session = session
        self.toolkit = toolkit
        self.matching = MatchingService(session, matching)
        self.content = ContentService(session, toolkit.events, jobs, toolkit.media_urls)

    async def home(self, viewer_id: UUID, page: PageRequest) -> tuple[list[PostView], str | None]:
        """Posts of the people I follow and mine, newest first by post time; people I muted
        are left out even while I follow them."""
        return await self.content.posts_by_authors(
            viewer_id, followed_by(viewer_id), hidden_from(viewer_id), "home", page
        )

    # For you ------------------------------------------------------------------------------

    async def for_you(self, viewer_id: UUID, page: PageRequest) -> ForYouPage:
        """A page of the viewer's ranking: the first page ranks and freezes the pool, later
        pages read the frozen pages (their posts re-checked for visibility)."""
        now = datetime.now(UTC)
        if page.cursor is None:
            reading_id, pages = uuid.uuid4(), await self._rank(viewer_id, now, page.limit)
            await self.toolkit.readings.set(
                str(reading_id),
                json.dumps({"viewer": str(viewer_id), "pages": pages}),
                expires_in=SNAPSHOT_LIFETIME,
            )
            index = 0
        else:
            reading_id, index, pages = await self._reading_at(viewer_id, page.cursor)
        entries = pages[index] if index < len(pages) else []
        views = await posts_by_ids(
            self.session, viewer_id, [UUID(e["id"]) for e in entries], self.toolkit.media_urls
        )
        items: list[PostItem | InsightItem] = [
            PostItem(
                post=views[UUID(entry["id"])],
                why=Why(
                    score=entry["score"],
                    weights_version=self.toolkit.weights.version,
                    signals=entry["signals"],
                    reasons=entry["reasons"],
                ),
            )
            for entry in entries
            if UUID(entry["id"]) in views
        ]
        if index == 0:
            items = await self._with_insights(viewer_id, items, now)
        more = index + 1 < len(pages)
        cursor = encode_cursor(FOR_YOU, [reading_id, index + 1]) if more else None
        return ForYouPage(items=items, next_cursor=cursor)

    async def _rank(self, viewer_id: UUID, now: datetime, size: int) -> list[list[dict[str, Any]]]:
        w = self.toolkit.weights
        recent = await recent_posts_for(
            self.session, viewer_id, now - timedelta(days=w.pool_days), w.pool_size
        )
        authors = sorted({post.author_id for post in recent})
        activity = await activity_of(self.session, viewer_id, now - timedelta(days=w.affinity_days))
        compatibility = await self.matching.compatibility(viewer_id, authors) if authors else {}
        viewer = Viewer(activity.follows, activity.liked, activity.commented, compatibility)
        pages = paged(rank(recent, viewer, now, w), size, w.per_author_per_page, w.pages)
        return [[_entry(item, viewer) for item in page] for page in pages]

    async def _reading_at(
        self, viewer_id: UUID, cursor: str
    ) -> tuple[UUID, int, list[list[dict[str, Any]]]]:
        reading_id, index = decode_cursor(cursor, FOR_YOU, READING_KEY)
        stored = await self.toolkit.readings.get(str(reading_id))
        reading = json.loads(stored) if stored is not None else None
        if (
            reading is None
            or reading["viewer"] != str(viewer_id)
            or not 0 < index < len(reading["pages"])
        ):
            raise _expired_cursor()
        return reading_id, index, reading["pages"]

    # Insight cards ------------------------------------------------------------------------

    async def _with_insights(
        self, viewer_id: UUID, items: list[PostItem | InsightItem], now: datetime
    ) -> list[PostItem | InsightItem]:
        """The first page's cards at their slots (`insight_slots`), each after at least one
        post, so a card never displaces the first post; a slot past the end goes last."""
        # Read once and held until both cards are made: the session keeps a loaded row only
        # while something refers to it, and matching reads the viewer again for each mode.
        viewer = await self.session.get_one(User, viewer_id)
        cards = {
            "personal_day": await self._personal_day(viewer, now),
            "soulmatch": await self._soulmatch(viewer.id),
        }
        result = list(items)
        for slot, name in sorted((s, n) for n, s in self.toolkit.weights.insight_slots.items()):
            card = cards.get(name)
            if card is not None:
                result.insert(min(max(slot, 1), len(result)), InsightItem(insight=card))
        return result

    async def _personal_day(self, viewer: User, now: datetime) -> Insight | None:
        data = await PersonalDataStore(self.session, self.toolkit.cipher).load(viewer.id)
        if data is None or data.birth is None:
            return None
        today: date = now.astimezone(ZoneInfo(viewer.timezone)).date()
        number = personal_day(data.birth.date, today)
        return Insight(
            kind="personal_day",
            title=f"Your personal day: {number}",
            text=f"Numerology makes {today.isoformat()} {DAY_MEANINGS[number]}.",
            number=number,
        )

    async def _soulmatch(self, viewer_id: UUID) -> Insight | None:
        """The viewer's best recommendation (dating, else friends), if they take part."""
        for mode in ("dating", "friends"):
            try:
                found = await self.matching.recommendations(viewer_id, mode, None, SOULMATCH_PAGE)
            except ProblemError:
                continue
            if found.items:
                best = found.items[0]
                return Insight(
                    kind="soulmatch",
                    title=f"Meet @{best.handle}",
                    text=f"{best.display_name} and you score {round(best.total)} of 100 ({mode}).",
                    handle=best.handle,
                )
        return None


def _entry(item: Ranked, viewer: Viewer) -> dict[str, Any]:
    signals, reasons = explained(item, viewer)
    return {
        "id": str(item.candidate.post_id),
        "score": item.score,
        "signals": signals,
        "reasons": reasons,
    }
