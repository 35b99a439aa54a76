"""HTTP endpoints of posts, comments and likes."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, head, patch, post, put
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream
from litestar.status_codes import HTTP_206_PARTIAL_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from selflink_api.accounts.auth import ANONYMOUS_ALLOWED
from selflink_api.accounts.controllers import ACCOUNT_DEPENDENCIES
from selflink_api.accounts.services import Principal
from selflink_api.content.jobs import make_thumbnails, remove_media
from selflink_api.content.media_services import MediaFile, MediaService, MediaToolkit
from selflink_api.content.models import MediaKind
from selflink_api.content.schemas import (
    Author,
    CommentDraft,
    CommentEdit,
    CommentView,
    MediaView,
    PostDraft,
    PostEdit,
    PostView,
)
from selflink_api.content.services import ContentService
from selflink_api.platform.events import EventBus
from selflink_api.platform.jobs import JobQueue
from selflink_api.platform.openapi import problems
from selflink_api.platform.pagination import CursorPage, PageRequest
from selflink_api.platform.uploads import FILE_FIELD, received_file

ANYONE = {ANONYMOUS_ALLOWED: True}
STREAM_CHUNK_BYTES = 256 * 1024


@dataclass(frozen=True)
class ContentToolkit:
    events: EventBus
    media: MediaToolkit


def provide_content_service(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    jobs: NamedDependency[JobQueue],
) -> ContentService:
    toolkit: ContentToolkit = request.app.state.content
    return ContentService(db_session, toolkit.events, jobs, toolkit.media.urls)


def provide_media_service(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> MediaService:
    toolkit: ContentToolkit = request.app.state.content
    return MediaService(db_session, toolkit.media)


CONTENT_DEPENDENCIES = {
    **ACCOUNT_DEPENDENCIES,
    "content": Provide(provide_content_service, sync_to_thread=False),
    # Not "media": a dependency's name must differ from every body field (PostDraft.media).
    "media_service": Provide(provide_media_service, sync_to_thread=False),
}


def _id(viewer: Principal | None) -> UUID | None:
    return viewer.id if viewer else None


class PostController(Controller):
    path = "/posts"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @post("", summary="Write a post", status_code=201, responses=problems(422))
    async def create(
        self,
        data: JSONBody[PostDraft],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.create_post(principal.id, data)

    @get("/{post_id:uuid}", opt=ANYONE, summary="A post", responses=problems(404))
    async def read(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.post(_id(viewer), post_id)

    @patch("/{post_id:uuid}", summary="Edit my post", responses=problems(403, 404))
    async def edit(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[PostEdit],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> PostView:
        return await content.edit_post(principal.id, post_id, data)

    @delete("/{post_id:uuid}", summary="Delete my post", responses=problems(403, 404))
    async def remove(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
        jobs: NamedDependency[JobQueue],
    ) -> None:
        removed_media = await content.delete_post(principal.id, post_id)
        if removed_media:
            await jobs.enqueue(remove_media, media_ids=[str(i) for i in removed_media])

    @put("/{post_id:uuid}/like", summary="Like (idempotent)", status_code=204)
    async def like(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.like_post(principal.id, post_id)

    @delete("/{post_id:uuid}/like", summary="Take my like back (idempotent)")
    async def unlike(
        self,
        post_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.unlike_post(principal.id, post_id)

    @get("/{post_id:uuid}/likes", opt=ANYONE, summary="Who liked a post", responses=problems(404))
    async def likers(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[Author]:
        items, cursor = await content.likers(_id(viewer), post_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @get(
        "/{post_id:uuid}/comments",
        opt=ANYONE,
        summary="A post's comments, oldest first",
        responses=problems(404),
    )
    async def comments(
        self,
        post_id: FromPath[UUID],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[CommentView]:
        items, cursor = await content.comments(_id(viewer), post_id, page)
        return CursorPage(items=items, next_cursor=cursor)

    @post(
        "/{post_id:uuid}/comments",
        summary="Comment on a post, or reply to one of its comments",
        status_code=201,
        responses=problems(404, 422),
    )
    async def comment(
        self,
        post_id: FromPath[UUID],
        data: JSONBody[CommentDraft],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> CommentView:
        return await content.add_comment(principal.id, post_id, data)


class CommentController(Controller):
    path = "/comments"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @patch("/{comment_id:uuid}", summary="Edit my comment", responses=problems(403, 404))
    async def edit(
        self,
        comment_id: FromPath[UUID],
        data: JSONBody[CommentEdit],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> CommentView:
        return await content.edit_comment(principal.id, comment_id, data)

    @delete(
        "/{comment_id:uuid}",
        summary="Delete a comment (its author, or the post's author)",
        responses=problems(403, 404),
    )
    async def remove(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.delete_comment(principal.id, comment_id)

    @put("/{comment_id:uuid}/like", summary="Like (idempotent)", status_code=204)
    async def like(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.like_comment(principal.id, comment_id)

    @delete("/{comment_id:uuid}/like", summary="Take my like back (idempotent)")
    async def unlike(
        self,
        comment_id: FromPath[UUID],
        principal: NamedDependency[Principal],
        content: NamedDependency[ContentService],
    ) -> None:
        await content.unlike_comment(principal.id, comment_id)


class ProfilePostsController(Controller):
    path = "/users"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @get(
        "/{handle:str}/posts",
        opt=ANYONE,
        summary="A person's posts, newest first",
        responses=problems(404),
    )
    async def posts(
        self,
        handle: FromPath[str],
        viewer: NamedDependency[Principal | None],
        content: NamedDependency[ContentService],
        page: NamedDependency[PageRequest],
    ) -> CursorPage[PostView]:
        items, cursor = await content.posts_of(_id(viewer), handle, page)
        return CursorPage(items=items, next_cursor=cursor)


@dataclass
class FileUploadOperation(Operation):
    """Documents the one-file multipart body the upload handler reads itself (it takes no
    `data`, so that Litestar does not parse the form before the limits apply)."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="One photo (JPEG, PNG, WebP) or video (MP4, QuickTime, WebM), in the "
            "field `file`. Its type is read from its bytes, never from its name or header.",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        properties={
                            FILE_FIELD: Schema(type=OpenAPIType.STRING, format="binary")  # type: ignore[arg-type]
                        },
                        required=[FILE_FIELD],
                        additional_properties=False,
                    )
                )
            },
        )


Expires = Annotated[
    int | None,
    QueryParameter(ge=1, le=2**40, description="Of a signed URL: when it expires (Unix time)."),
]
Signature = Annotated[
    str | None, QueryParameter(max_length=64, description="Of a signed URL: its signature.")
]
RangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Range", max_length=200, description="One byte range, e.g. `bytes=0-1023`."
    ),
]
IfRangeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Range",
        max_length=200,
        description="The file's `ETag`: the range is sent only while the file is that one.",
    ),
]
Variant = Annotated[
    str, PathParameter(description="`original`, or a thumbnail of images: `320` or `1080`.")
]


class MediaController(Controller):
    path = "/media"
    tags = ["content"]  # noqa: RUF012
    dependencies = CONTENT_DEPENDENCIES

    @post(
        "",
        summary="Upload a photo or a video for a post of mine",
        status_code=201,
        request_max_body_size=None,  # `received_file` applies the media limits while reading
        operation_class=FileUploadOperation,
        responses=problems(400, 413, 415, 422),
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        principal: NamedDependency[Principal],
        media_service: NamedDependency[MediaService],
        jobs: NamedDependency[JobQueue],
    ) -> MediaView:
        toolkit = media_service.toolkit
        async with received_file(
            request, toolkit.limit_for, largest=toolkit.largest_upload
        ) as received:
            view = await media_service.upload(principal.id, received)
        if view.kind == MediaKind.IMAGE.value:
            await jobs.enqueue(make_thumbnails, media_id=str(view.id))
        return view

    @get(
        "/{media_id:uuid}/{variant:str}",
        opt=ANYONE,
        summary="A media file: public ones to anyone, others by signed URL",
        description="One byte range (`Range: bytes=…`, as video players send) is answered "
        "with `206 Partial Content`; a range outside the file with `416`.",
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                description="The file, in its sniffed type (image/jpeg, video/mp4, …)",
                generate_examples=False,
            ),
            206: ResponseSpec(
                data_container=bytes,
                media_type="application/octet-stream",
                description="The range asked for, as `Content-Range` says",
                generate_examples=False,
            ),
            **problems(403, 404, 416),
        },
    )
    async def file(
        self,
        media_id: FromPath[UUID],
        variant: Variant,
        viewer: NamedDependency[Principal | None],
        media_service: NamedDependency[MediaService],
        expires: Expires = None,
        signature: Signature = None,
        byte_range: RangeHeader = None,
        if_range: IfRangeHeader = None,
    ) -> Stream:
        found = await media_service.file(_id(viewer), media_id, variant, expires, signature)
        wanted = byte_range if if_range is None or if_range == found.etag else None
        stored = await media_service.stored(found, wanted)

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in stored.result.stream(min_chunk_size=STREAM_CHUNK_BYTES):
                yield bytes(chunk)

        headers = _file_headers(found, stored.size)
        if stored.part is None:
            return Stream(chunks(), media_type=found.file_type.content_type, headers=headers)
        headers["Content-Length"] = str(stored.part.end - stored.part.start)
        headers["Content-Range"] = stored.part.content_range
        return Stream(
            chunks(),
            status_code=HTTP_206_PARTIAL_CONTENT,
            media_type=found.file_type.content_type,
            headers=headers,
        )

    @head(
        "/{media_id:uuid}/{variant:str}",
        opt=ANYONE,
        summary="A media file's headers, as GET would send them",
        responses=problems(403, 404),
    )
    async def file_headers(
        self,
        media_id: FromPath[UUID],
        variant: Variant,
        viewer: NamedDependency[Principal | None],
        media_service: NamedDependency[MediaService],
        expires: Expires = None,
        signature: Signature = None,
    ) -> Response[None]:
        found = await media_service.file(_id(viewer), media_id, variant, expires, signature)
        size = await media_service.size(found)
        return Response(None, headers=_file_headers(found, size))


def _file_headers(found: MediaFile, size: int) -> dict[str, str]:
    """What GET and HEAD of a whole media file say about it."""
    return {
        "Content-Type": found.file_type.content_type,
        "Content-Length": str(size),
        "Accept-Ranges": "bytes",
        "Cache-Control": found.cache_control,
        "ETag": found.etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
