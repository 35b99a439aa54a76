"""What media files are and how they are kept: sniffing, re-encoding, storage, signed URLs.

The functions working on pixels are synchronous and CPU-bound: callers run them in a worker
thread (`anyio.to_thread`) or in a job, never on the event loop.
"""

import base64
import contextlib
import functools
import hashlib
import hmac
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from advanced_alchemy.types.file_object.backends.obstore import ObstoreBackend
from obstore.store import S3Store, from_url
from PIL import Image, ImageOps

from selflink_api.content.models import MediaKind
from selflink_api.platform.problems import UNSUPPORTED_MEDIA_TYPE, ProblemError, kind_for_status
from selflink_api.settings import Settings

if TYPE_CHECKING:
    from obstore.store import ObjectStore, S3Config

ORIGINAL = "original"
THUMBNAIL_SIZES = (320, 1080)
"""The longest side of each thumbnail, in pixels (never larger than the original)."""
VARIANTS = (ORIGINAL, *(str(size) for size in THUMBNAIL_SIZES))
SUPPORTED = "JPEG, PNG or WebP photos, MP4, QuickTime or WebM videos"


@dataclass(frozen=True)
class FileType:
    kind: MediaKind
    content_type: str
    extension: str
    pillow_format: str | None = None


JPEG = FileType(MediaKind.IMAGE, "image/jpeg", "jpg", "JPEG")
PNG = FileType(MediaKind.IMAGE, "image/png", "png", "PNG")
WEBP = FileType(MediaKind.IMAGE, "image/webp", "webp", "WEBP")
MP4 = FileType(MediaKind.VIDEO, "video/mp4", "mp4")
QUICKTIME = FileType(MediaKind.VIDEO, "video/quicktime", "mov")
WEBM = FileType(MediaKind.VIDEO, "video/webm", "webm")
FILE_TYPES = {t.content_type: t for t in (JPEG, PNG, WEBP, MP4, QUICKTIME, WEBM)}

MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"M4V ",
    b"dash",
    b"mmp4",
    b"MSNV",
}
"""Major brands of ISO media files that are videos; HEIC and AVIF photos share the container
(`heic`, `mif1`, `avif`…) and are refused rather than taken for videos."""


def _unsupported(what: str) -> ProblemError:
    return ProblemError(UNSUPPORTED_MEDIA_TYPE, f"{what} Send {SUPPORTED}.")


def sniff(head: bytes) -> FileType:
    """The type of a file from its first bytes (its magic number), whatever its name or the
    Content-Type it was sent with; a 415 for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            return QUICKTIME
        if brand in MP4_BRANDS:
            return MP4
        raise _unsupported("This ISO media file is not a video we take (HEIC and AVIF are not).")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in head:
            return WEBM
        raise _unsupported("Matroska files other than WebM are not taken.")
    if head.startswith((b"GIF87a", b"GIF89a")):
        raise _unsupported("GIFs are not taken; send an animation as a video.")
    raise _unsupported("This is not a file type we take.")


def byte_limit(settings: Settings, file_type: FileType) -> int:
    if file_type.kind is MediaKind.IMAGE:
        return settings.media_max_image_bytes
    return settings.media_max_video_bytes


# Pixels -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    width: int
    height: int


def _not_an_image() -> ProblemError:
    return ProblemError.invalid("file", "is not a complete, readable image")


def _too_many_pixels(limit: int) -> ProblemError:
    return ProblemError.invalid("file", f"has more than {limit:,} pixels")


def _encoded(image: Image.Image, file_type: FileType, icc_profile: bytes | None) -> bytes:
    """The pixels alone in `file_type`'s format: no EXIF, GPS, XMP or comments (Pillow writes
    metadata only when asked to), with the colour profile kept so colours stay right."""
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    if file_type is JPEG or not has_alpha:
        pixels = image if image.mode in {"RGB", "L"} else image.convert("RGB")
    else:
        pixels = image if image.mode == "RGBA" else image.convert("RGBA")
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if file_type is not PNG:
        options["quality"] = 85
    buffer = io.BytesIO()
    pixels.save(buffer, format=file_type.pillow_format, **options)
    return buffer.getvalue()


@contextlib.contextmanager
def _opened(source: IO[bytes], file_type: FileType, max_pixels: int) -> Iterator[Image.Image]:
    """The image's first frame, decoded with the decoder of its sniffed type only; refuses
    images of more than `max_pixels` before decoding them (decompression bombs)."""
    try:
        with Image.open(source, formats=[str(file_type.pillow_format)]) as image:
            if image.width * image.height > max_pixels:
                raise _too_many_pixels(max_pixels)
            image.load()
            yield image
    except Image.DecompressionBombError:
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _not_an_image() from None


def reencoded_image(
    source: IO[bytes], file_type: FileType, *, max_pixels: int, max_dimension: int
) -> EncodedImage:
    """Decode, turn upright by its EXIF orientation, shrink to `max_dimension` on the longest
    side and encode again: what is stored is pixels, never the metadata that came with them."""
    with _opened(source, file_type, max_pixels) as image:
        icc_profile = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((max_dimension, max_dimension), Image.Resampling.LANCZOS)
        return EncodedImage(_encoded(upright, file_type, icc_profile), *upright.size)


def thumbnails(original: bytes, file_type: FileType) -> dict[str, bytes]:
    """Each thumbnail variant of a stored original, by variant name."""
    made = {}
    with Image.open(io.BytesIO(original), formats=[str(file_type.pillow_format)]) as image:
        image.load()
        icc_profile = image.info.get("icc_profile")
        for size in THUMBNAIL_SIZES:
            smaller = image.copy()
            smaller.thumbnail((size, size), Image.Resampling.LANCZOS)
            made[str(size)] = _encoded(smaller, file_type, icc_profile)
    return made


# Storage ----------------------------------------------------------------------------------------


def object_path(media_id: UUID, variant: str, file_type: FileType) -> str:
    return f"{media_id}/{variant}.{file_type.extension}"


def media_backend(settings: Settings) -> ObstoreBackend:
    """The media storage of these settings: one per process and configuration, shared by the
    app and its in-process jobs (so `memory://` works for tests and demos)."""
    return _backend(
        settings.media_storage,
        settings.media_s3_endpoint,
        settings.media_s3_region,
        settings.media_s3_access_key_id,
        settings.media_s3_secret_access_key.get_secret_value(),
    )


@functools.cache
def _backend(
    url: str, endpoint: str, region: str, access_key_id: str, secret_access_key: str
) -> ObstoreBackend:
    store: ObjectStore
    if url.startswith("s3://"):
        s3: S3Config = {"region": region}
        if endpoint:
            s3["endpoint"] = endpoint
        if access_key_id:
            s3["access_key_id"] = access_key_id
            s3["secret_access_key"] = secret_access_key
        store = S3Store.from_url(
            url, config=s3, client_options={"allow_http": endpoint.startswith("http://")}
        )
    elif url.startswith("file://"):
        store = from_url(url, mkdir=True)
    else:
        store = from_url(url)
    return ObstoreBackend(key="media", fs=store)


# Byte ranges ------------------------------------------------------------------------------------

_BYTE_RANGE = re.compile(r"(\d{0,18})-(\d{0,18})", re.ASCII)


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start` to `end` (exclusive) of a file of `size` bytes."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> str:
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


def _unsatisfiable(size: int) -> ProblemError:
    return ProblemError(
        kind_for_status(416),
        f"The requested range is not within this file of {size} bytes.",
        headers={"Content-Range": f"bytes */{size}"},
    )


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range a `Range` header asks for (RFC 9110 §14.2), clamped to the file;
    None to send the whole file: no header, another unit, or several ranges (which a server
    may ignore; players ask for one). A bad or unsatisfiable `bytes` range is a 416."""
    if header is None:
        return None
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    if "," in ranges:
        return None
    spec = _BYTE_RANGE.fullmatch(ranges.strip())
    if spec is None or spec.group(1) == spec.group(2) == "":
        raise _unsatisfiable(size)
    first, last = spec.group(1), spec.group(2)
    if first == "":  # `-N`: the last N bytes
        length = min(int(last), size)
        if length == 0:
            raise _unsatisfiable(size)
        return ByteRange(size - length, size, size)
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if start >= size or (last != "" and int(last) < start):
        raise _unsatisfiable(size)
    return ByteRange(start, end, size)


# Signed URLs ------------------------------------------------------------------------------------


class MediaUrls:
    """Where clients fetch media: public media at a plain, cacheable URL; the rest at URLs
    signed for a few minutes (HMAC-SHA256 over id, variant and expiry with a key derived from
    `SECRET_KEY`), given only to viewers the post's visibility admits."""

    def __init__(self, settings: Settings) -> None:
        self._key = hmac.new(
            settings.secret_key.get_secret_value().encode(), b"selflink media urls", hashlib.sha256
        ).digest()
        self._lifetime = settings.media_signed_url_seconds
        self._base = settings.public_base_url.rstrip("/") + "/api/v1/media"

    def public(self, media_id: UUID, variant: str) -> str:
        return f"{self._base}/{media_id}/{variant}"

    def signed(self, media_id: UUID, variant: str, now: datetime) -> str:
        """Valid for the configured lifetime, rounded up to the minute so the URLs of one
        minute are the same and clients can cache them."""
        expires = math.ceil((now.timestamp() + self._lifetime) / 60) * 60
        signature = self._signature(media_id, variant, expires)
        return f"{self.public(media_id, variant)}?expires={expires}&signature={signature}"

    def verify(
        self, media_id: UUID, variant: str, expires: int, signature: str, now: datetime
    ) -> bool:
        """Whether the signature is ours and has not expired."""
        expected = self._signature(media_id, variant, expires).encode()
        # As bytes: `compare_digest` refuses str holding anything but ASCII, which a forged
        # signature may.
        return hmac.compare_digest(expected, signature.encode()) and now.timestamp() <= expires

    def _signature(self, media_id: UUID, variant: str, expires: int) -> str:
        message = f"{media_id}:{variant}:{expires}".encode()
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
