"""Media of posts and messages: uploads, who may fetch which file, thumbnails and removal.

An upload belongs to its uploader and, until a post takes it, only they may fetch it. Once on
a post, the post's visibility decides (`visible_posts`): anyone for a post everyone may see,
at a plain URL with public cache headers; otherwise the people the post is shown to, through
URLs signed for them (or with their bearer token). Another domain may hold an upload instead
(`hold_media`: a message's media); it then shows it only through signed URLs, to the people
it decides. Removing media hides them at once (`removed_at`); `content.remove_media` deletes
the files, then the rows.
"""

import contextlib
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import anyio
from advanced_alchemy.types.file_object import FileObject
from advanced_alchemy.types.file_object.backends.obstore import ObstoreBackend
from obstore.exceptions import NotFoundError
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.models import AccountStatus, User
from selflink_api.content import schemas
from selflink_api.content.media import (
    FILE_TYPES,
    ORIGINAL,
    VARIANTS,
    ByteRange,
    FileType,
    MediaUrls,
    byte_limit,
    media_backend,
    object_path,
    reencoded_image,
    requested_range,
    sniff,
    thumbnails,
)
from selflink_api.content.models import Media, MediaKind, Post
from selflink_api.content.services import mark_removed, media_view, take_uploads, visible_posts
from selflink_api.platform.problems import FORBIDDEN, NOT_FOUND, ProblemError
from selflink_api.platform.uploads import ReceivedFile
from selflink_api.settings import Settings

if TYPE_CHECKING:
    from obstore import GetOptions, GetResult
    from obstore.store import ObjectStore

UNATTACHED_LIFETIME = timedelta(days=1)
"""How long an upload may wait for a post before the sweep removes it."""
REMOVAL_RETRY_AFTER = timedelta(hours=1)
"""Removed media whose files are still there this long after (a failed `remove_media`) are
removed again by the sweep."""
SWEEP_BATCH = 500


@dataclass(frozen=True)
class MediaToolkit:
    """The app's long-lived media helpers: its settings, storage and URL signer."""

    settings: Settings
    backend: ObstoreBackend
    urls: MediaUrls

    @classmethod
    def from_settings(cls, settings: Settings) -> "MediaToolkit":
        return cls(settings, media_backend(settings), MediaUrls(settings))

    def limit_for(self, head: bytes) -> int:
        """The byte limit of a file starting with `head` (a 415 for types we do not take)."""
        return byte_limit(self.settings, sniff(head))

    @property
    def largest_upload(self) -> int:
        return max(self.settings.media_max_image_bytes, self.settings.media_max_video_bytes)


@dataclass(frozen=True)
class MediaFile:
    """A file to serve, and how it may be cached."""

    media: Media
    file_type: FileType
    path: str
    cache_control: str
    variant: str

    @property
    def etag(self) -> str:
        """Strong: a stored file never changes (an edit is a new upload, a new id)."""
        return f'"{self.media.id}-{self.variant}"'


@dataclass(frozen=True)
class StoredFile:
    """A stored file opened for streaming: all of it, or the `part` a range asked for."""

    result: "GetResult"
    size: int
    part: ByteRange | None


def _now() -> datetime:
    return datetime.now(UTC)


def _no_such_media() -> ProblemError:
    return ProblemError(NOT_FOUND, "No such media.")


async def save_file(backend: ObstoreBackend, path: str, file_type: FileType, data: Any) -> None:
    """Store `data` (bytes or a local file's path) at `path` through advanced-alchemy's
    file objects, which stream a path to the storage rather than reading it whole."""
    stored = FileObject(backend=backend, filename=path, content_type=file_type.content_type)
    await stored.save_async(data)


def _reencode_file(path: Path, file_type: FileType, settings: Settings) -> Any:
    with path.open("rb") as source:
        return reencoded_image(
            source,
            file_type,
            max_pixels=settings.media_max_image_pixels,
            max_dimension=settings.media_max_image_dimension,
        )


class MediaService:
    """Uploading and fetching media. Never commits."""

    def __init__(self, session: AsyncSession, toolkit: MediaToolkit) -> None:
        self.session = session
        self.toolkit = toolkit

    async def upload(self, owner_id: UUID, received: ReceivedFile) -> schemas.MediaView:
        """Store an upload: images re-encoded (in a worker thread), videos as sent. The row
        is written first, so a failed storage write leaves nothing behind."""
        file_type = sniff(received.head)
        media = Media(
            owner_id=owner_id,
            kind=file_type.kind,
            content_type=file_type.content_type,
            size_bytes=received.size,
        )
        data: bytes | Path = received.path
        if file_type.kind is MediaKind.IMAGE:
            encoded = await anyio.to_thread.run_sync(
                functools.partial(_reencode_file, received.path, file_type, self.toolkit.settings)
            )
            data = encoded.data
            media.width, media.height, media.size_bytes = (
                encoded.width,
                encoded.height,
                len(encoded.data),
            )
        self.session.add(media)
        await self.session.flush()
        await save_file(
            self.toolkit.backend, object_path(media.id, ORIGINAL, file_type), file_type, data
        )
        return media_view(media, self.toolkit.urls, public=False, now=_now())

    async def file(
        self,
        viewer_id: UUID | None,
        media_id: UUID,
        variant: str,
        expires: int | None,
        signature: str | None,
    ) -> MediaFile:
        """The file a request may fetch. A signed URL is checked before anything is looked up
        (403 when forged or expired); without one, the viewer must be allowed to see the
        post (or be the uploader of media on no post). Everything else is one 404."""
        settings = self.toolkit.settings
        if expires is not None or signature is not None:
            now = _now()
            if (
                expires is None
                or signature is None
                or not self.toolkit.urls.verify(media_id, variant, expires, signature, now)
            ):
                raise ProblemError(FORBIDDEN, "This media link is not valid or has expired.")
            media = await self._live(media_id)
            seconds = max(0, expires - int(now.timestamp()))
            cache = f"private, max-age={seconds}"
        else:
            media = await self._visible(viewer_id, media_id)
            cache = (
                "private, no-cache"
                if viewer_id is not None
                else f"public, max-age={settings.media_public_max_age_seconds}, immutable"
            )
        if variant not in VARIANTS or (variant != ORIGINAL and not media.thumbnails):
            raise ProblemError(NOT_FOUND, "This media has no such variant (yet).")
        file_type = FILE_TYPES[media.content_type]
        return MediaFile(
            media, file_type, object_path(media.id, variant, file_type), cache, variant
        )

    async def stored(self, found: MediaFile, byte_range: str | None = None) -> StoredFile:
        """The stored file, or the part of it `byte_range` (a `Range` header) asks for,
        ready to stream; a 404 if the storage lost it, a 416 for a range outside it."""
        store: ObjectStore = self.toolkit.backend.fs
        try:
            if byte_range is None:
                whole = await store.get_async(found.path)
                return StoredFile(whole, int(whole.meta["size"]), None)
            size = int((await store.head_async(found.path))["size"])
            part = requested_range(byte_range, size)
            options: GetOptions = {} if part is None else {"range": (part.start, part.end)}
            return StoredFile(await store.get_async(found.path, options=options), size, part)
        except (FileNotFoundError, NotFoundError):
            raise _no_such_media() from None

    async def size(self, found: MediaFile) -> int:
        """The stored file's size in bytes (for HEAD); a 404 if the storage lost it."""
        store: ObjectStore = self.toolkit.backend.fs
        try:
            return int((await store.head_async(found.path))["size"])
        except (FileNotFoundError, NotFoundError):
            raise _no_such_media() from None

    async def _live(self, media_id: UUID) -> Media:
        """Media not removed, on no post or on a live post of an active author: what a signed
        URL, issued to someone allowed at the time, may still fetch until it expires."""
        media = await self.session.scalar(
            select(Media)
            .outerjoin(Post, Post.id == Media.post_id)
            .outerjoin(User, User.id == Post.author_id)
            .where(
                Media.id == media_id,
                Media.removed_at.is_(None),
                or_(
                    Media.post_id.is_(None),
                    and_(Post.deleted_at.is_(None), User.status == AccountStatus.ACTIVE),
                ),
            )
        )
        if media is None:
            raise _no_such_media()
        return media

    async def _visible(self, viewer_id: UUID | None, media_id: UUID) -> Media:
        on_a_visible_post = await self.session.scalar(
            select(Media)
            .join(Post, Post.id == Media.post_id)
            .join(User, User.id == Post.author_id)
            .where(Media.id == media_id, Media.removed_at.is_(None), visible_posts(viewer_id))
        )
        if on_a_visible_post is not None:
            return on_a_visible_post
        if viewer_id is None:
            raise _no_such_media()
        own_unattached = await self.session.scalar(
            select(Media).where(
                Media.id == media_id,
                Media.owner_id == viewer_id,
                Media.post_id.is_(None),
                Media.removed_at.is_(None),
            )
        )
        if own_unattached is None:
            raise _no_such_media()
        return own_unattached


# Media held by other domains ---------------------------------------------------------------


async def hold_media(
    session: AsyncSession, owner_id: UUID, media_ids: Sequence[UUID], holder: str
) -> None:
    """Give the owner's free uploads to `holder` (a domain's name), in the order given, by
    the rules of a post's media: up to four images or one video; a 422 naming `media`."""
    await take_uploads(session, owner_id, media_ids, held_by=holder)


async def held_media_views(
    session: AsyncSession, urls: MediaUrls, media_ids: Iterable[UUID], now: datetime
) -> dict[UUID, schemas.MediaView]:
    """The held media of `media_ids` not removed, by id, with URLs signed as of `now`: the
    holder decided who may see them, so their URLs are never plain."""
    wanted = set(media_ids)
    if not wanted:
        return {}
    held = await session.scalars(
        select(Media).where(
            Media.id.in_(wanted), Media.held_by.is_not(None), Media.removed_at.is_(None)
        )
    )
    return {media.id: media_view(media, urls, public=False, now=now) for media in held}


async def release_held_media(
    session: AsyncSession, media_ids: Iterable[UUID], now: datetime
) -> list[UUID]:
    """Hide held media at once (their message was deleted); the ids, whose files
    `content.remove_media` deletes."""
    wanted = list(media_ids)
    if not wanted:
        return []
    return await mark_removed(session, and_(Media.id.in_(wanted), Media.held_by.is_not(None)), now)


# Jobs' work ------------------------------------------------------------------------------------


async def make_thumbnails_for(
    session: AsyncSession, backend: ObstoreBackend, media_id: UUID
) -> bool:
    """Store the thumbnails of an image (in a worker thread); False when there is nothing to
    do. The row stays locked meanwhile (PostgreSQL), so a removal waits and takes them too."""
    media = await session.get(Media, media_id, with_for_update=True)
    if media is None or media.removed_at is not None or media.kind != MediaKind.IMAGE:
        return False
    if media.thumbnails:
        return False
    file_type = FILE_TYPES[media.content_type]
    original = await FileObject(
        backend=backend, filename=object_path(media.id, ORIGINAL, file_type)
    ).get_content_async()
    made = await anyio.to_thread.run_sync(thumbnails, original, file_type)
    for variant, data in made.items():
        await save_file(backend, object_path(media.id, variant, file_type), file_type, data)
    media.thumbnails = True
    await session.flush()
    return True


async def remove_media_files(
    session: AsyncSession, backend: ObstoreBackend, media_ids: list[UUID]
) -> int:
    """Delete the files of removed media, then their rows; files already gone are fine, so
    running it twice is harmless. Returns how many media went."""
    removed = (
        await session.scalars(
            select(Media).where(Media.id.in_(media_ids), Media.removed_at.is_not(None))
        )
    ).all()
    for media in removed:
        file_type = FILE_TYPES[media.content_type]
        for variant in VARIANTS:
            with contextlib.suppress(FileNotFoundError, NotFoundError):
                await backend.delete_object_async(object_path(media.id, variant, file_type))
    if removed:
        await session.execute(delete(Media).where(Media.id.in_([m.id for m in removed])))
    return len(removed)


async def media_to_sweep(session: AsyncSession, now: datetime) -> list[UUID]:
    """Uploads no post took within a day, and removed media whose removal did not finish:
    marked removed, ready for `remove_media_files`."""
    ids = list(
        (
            await session.scalars(
                select(Media.id)
                .where(
                    or_(
                        and_(
                            Media.post_id.is_(None),
                            Media.held_by.is_(None),
                            Media.removed_at.is_(None),
                            Media.created_at < now - UNATTACHED_LIFETIME,
                        ),
                        Media.removed_at < now - REMOVAL_RETRY_AFTER,
                    )
                )
                .limit(SWEEP_BATCH)
            )
        ).all()
    )
    if ids:
        await mark_removed(session, Media.id.in_(ids), now)
    return ids
