"""Photos and videos made in the tests, and uploading them through the real endpoint."""

import io
import random
import struct
import zlib
from typing import Any

from httpx import Response
from PIL import ExifTags, Image

from tests.api.content_helpers import Client
from tests.api.people import Person

ORIENTATION = 0x0112
ROTATED_90_CLOCKWISE = 6
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
WEBM_HEAD = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm"


def photo(size: tuple[int, int] = (40, 20), fmt: str = "JPEG", **save: Any) -> bytes:
    """A picture with a colour gradient (so it compresses like a photo, a little)."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


def noisy_photo(size: tuple[int, int] = (100, 100)) -> bytes:
    """A JPEG that compresses badly, to be larger than a small limit."""
    noise = random.Random(7).randbytes(size[0] * size[1] * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", size, noise).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def geotagged_photo(size: tuple[int, int] = (40, 20)) -> bytes:
    """A JPEG from a phone: turned by its EXIF orientation, with a camera make and where it
    was taken (GPS), the metadata a stored photo must not keep."""
    exif = Image.Exif()
    exif[ORIENTATION] = ROTATED_90_CLOCKWISE
    exif[ExifTags.Base.Make] = "SpyCam Inc"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 18.0),
    }
    return photo(size, exif=exif)


def video(head: bytes = MP4_HEAD, size: int = 4096) -> bytes:
    return head + bytes(range(256)) * (size // 256)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG declaring a huge picture: decoding it would take gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + _png_chunk(b"IEND", b"")
    )


async def upload(
    client: Client,
    person: Person | None,
    data: bytes,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> Response:
    return await client.post(
        "/api/v1/media",
        files={"file": (filename, data, content_type)},
        headers=person.headers if person else {},
    )


async def uploaded(
    client: Client, person: Person, data: bytes | None = None, **kwargs: Any
) -> dict[str, Any]:
    response = await upload(client, person, photo() if data is None else data, **kwargs)
    assert response.status_code == 201, response.text
    return dict(response.json())


def path_of(url: str) -> str:
    """A media URL as the test client requests it (the app builds absolute ones)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]
