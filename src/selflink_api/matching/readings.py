"""Recommendation readings: a person's ranked pages, computed once and read page by page.

Ranking a pool of 10,000 people costs tens of milliseconds, and explaining a page (scores and
reasons for each person on it) a few more; a person scrolling or reopening the screen would pay
both on every request. A reading is everything `select_page` would show this person, page by
page, from one ranking: it is keyed by what decides the ranking (person, mode, page size, the
pool's revision, the day ages are counted on, and whom they may not see), so an unchanged
screen finds its reading again, and any change that could alter it starts a new one. The
cursor names the reading, so page 2 onward never ranks again, even if the pool changed since
page 1: the person keeps scrolling the list they started. Explained pages are kept beside it.

Readings live in a shared store (`platform/stores.py`: Redis when it is configured, so every
API process finds them, else this process's memory) for `READING_SECONDS`; a cursor whose
reading expired is a 400 asking to start again.
"""

import hashlib
from collections.abc import Iterable
from datetime import date
from uuid import UUID

import msgspec
from redis.asyncio import Redis

from selflink_api.matching.schemas import Recommendation
from selflink_api.platform.stores import shared_store

READING_SECONDS = 1800
READING_PEOPLE = 1000
"""How many people a reading ranks at most (50 pages of the default size): the best of the
pool, in page order; a reading ends after them."""


class Reading(msgspec.Struct, array_like=True):
    """The user ids (as strings) on each page, in display order."""

    pages: list[list[str]]


class ExplainedPage(msgspec.Struct, array_like=True):
    """One page as shown, with each person's user id instead of their current name."""

    user_ids: list[str]
    items: list[Recommendation]
    pages: int
    """How many pages its reading has: a page shown again needs nothing else."""


def reading_key(
    user_id: UUID, mode: str, size: int, revision: int, day: date, hidden: Iterable[UUID]
) -> str:
    """The id of the reading this state ranks to: the same inputs give the same id."""
    digest = hashlib.sha256()
    for part in (str(user_id), mode, str(size), str(revision), day.isoformat()):
        digest.update(part.encode() + b"\0")
    for person in sorted(str(hidden_id) for hidden_id in hidden):
        digest.update(person.encode() + b"\0")
    return digest.hexdigest()[:32]


class ReadingStore:
    """Readings and their explained pages, with expiry, in Redis or memory; each under the id
    of the person it was ranked for, so a cursor only finds its own person's reading (the
    reading's id can be recomputed by anyone who knows that person's id)."""

    def __init__(self, redis: Redis | None) -> None:
        self._store = shared_store(redis, "matching:readings")

    async def reading(self, viewer: UUID, key: str) -> Reading | None:
        found = await self._store.get(f"{viewer}:{key}")
        return None if found is None else msgspec.msgpack.decode(found, type=Reading)

    async def keep_reading(self, viewer: UUID, key: str, reading: Reading) -> None:
        await self._store.set(
            f"{viewer}:{key}", msgspec.msgpack.encode(reading), expires_in=READING_SECONDS
        )

    async def page(self, viewer: UUID, key: str, index: int) -> ExplainedPage | None:
        found = await self._store.get(f"{viewer}:{key}:page:{index}")
        return None if found is None else msgspec.msgpack.decode(found, type=ExplainedPage)

    async def keep_page(self, viewer: UUID, key: str, index: int, page: ExplainedPage) -> None:
        await self._store.set(
            f"{viewer}:{key}:page:{index}", msgspec.msgpack.encode(page), expires_in=READING_SECONDS
        )
