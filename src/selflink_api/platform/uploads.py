"""One file from a `multipart/form-data` request, streamed to a temporary file under limits.

An upload route takes no `data` parameter: Litestar would parse the whole form before the
handler, with only the app-wide body limit. Without `data`, `RequestInputGuard` leaves the
body alone (it checks JSON bodies only) and this module reads it instead, chunk by chunk:

- the body must be `multipart/form-data` with a boundary (415);
- it must hold exactly one part, a file in the field `file` (422 naming `file`);
- the file's first bytes say what it is, and `limit_for` turns them into its byte limit or
  refuses the type (415); the upload stops with a 413 as soon as it passes that limit, and a
  `Content-Length` already larger than the largest limit is refused before anything is read.

Nothing is held in memory beyond one chunk; the file lands in a temporary file that is
deleted when the `received_file` block ends.
"""

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from litestar import Request
from litestar._multipart import parse_content_header
from multipart import (  # type: ignore[import-untyped]
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
)

from selflink_api.platform.problems import (
    BAD_REQUEST,
    PAYLOAD_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    ProblemError,
)

FILE_FIELD = "file"
SNIFF_BYTES = 64
"""How much of a file `limit_for` sees: enough for every magic number we read."""
MULTIPART_ALLOWANCE = 16 * 1024
"""Bytes a body may hold beyond its file: boundaries and the part's headers."""

LimitFor = Callable[[bytes], int]
"""From a file's first bytes, its size limit in bytes; raises a 415 `ProblemError` for a type
the route does not take."""


@dataclass(frozen=True)
class ReceivedFile:
    path: Path
    size: int
    head: bytes
    """The first `SNIFF_BYTES` bytes (fewer for a smaller file)."""


def _one_file_only() -> ProblemError:
    return ProblemError.invalid(FILE_FIELD, "send exactly one file, in the field `file`")


def _too_large(limit: int) -> ProblemError:
    return ProblemError(PAYLOAD_TOO_LARGE, f"This file is larger than {limit:,} bytes.")


@dataclass
class _FilePart:
    """The file being received: its first bytes wait until there are enough to sniff."""

    sink: IO[bytes]
    limit_for: LimitFor
    head: bytes = b""
    size: int = 0
    limit: int | None = None

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.limit is None:
            self.head += chunk
            if len(self.head) >= SNIFF_BYTES:
                self._sniff()
            return
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.sink.write(chunk)

    def finish(self) -> bytes:
        """The file's first bytes, once it ended (a small file is sniffed only now)."""
        if self.limit is None:
            self._sniff()
        return self.head[:SNIFF_BYTES]

    def _sniff(self) -> None:
        self.limit = self.limit_for(self.head[:SNIFF_BYTES])
        if self.size > self.limit:
            raise _too_large(self.limit)
        self.sink.write(self.head)


def _boundary(request: Request[Any, Any, Any]) -> str:
    media_type, options = parse_content_header(request.headers.get("content-type", ""))
    boundary = options.get("boundary", "")
    if media_type != "multipart/form-data" or not boundary:
        raise ProblemError(
            UNSUPPORTED_MEDIA_TYPE, "Send the file as multipart/form-data, in the field `file`."
        )
    return boundary


@contextlib.asynccontextmanager
async def received_file(
    request: Request[Any, Any, Any], limit_for: LimitFor, *, largest: int
) -> AsyncIterator[ReceivedFile]:
    """Stream the request's one file into a temporary file; `largest` is the largest limit
    `limit_for` can return. The file is deleted when the block ends."""
    boundary = _boundary(request)
    if (request.content_length or 0) > largest + MULTIPART_ALLOWANCE:
        raise _too_large(largest)
    with tempfile.NamedTemporaryFile(prefix="selflink-upload-") as sink:
        part: _FilePart | None = None
        try:
            with PushMultipartParser(boundary, max_segment_count=2) as parser:
                async for chunk in request.stream():
                    for event in parser.parse(chunk):
                        if isinstance(event, MultipartSegment):
                            if part is not None or event.name != FILE_FIELD or not event.filename:
                                raise _one_file_only()
                            part = _FilePart(sink, limit_for)
                        elif event and part is not None:
                            part.write(bytes(event))
                    if parser.closed:
                        break
        except MultipartError:  # malformed, or past one of the parser's own limits
            raise ProblemError(BAD_REQUEST, "The multipart/form-data body is malformed.") from None
        if part is None:
            raise _one_file_only()
        head = part.finish()
        sink.flush()
        yield ReceivedFile(Path(sink.name), part.size, head)
