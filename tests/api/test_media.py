"""Media of posts: what an upload becomes, who may fetch it and how, and when it goes."""

import io
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import ExifTags, Image

from selflink_api.app import create_app
from selflink_api.content.jobs import sweep_media
from selflink_api.content.media import MediaUrls
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.conftest import MEDIA_ROOT, app_client, drain_jobs, make_settings
from tests.api.content_helpers import Client, get_json, relate, write_post
from tests.api.media_helpers import (
    WEBM_HEAD,
    geotagged_photo,
    path_of,
    photo,
    uploaded,
    video,
)
from tests.api.people import PASSWORD, register

pytestmark = pytest.mark.anyio


def stored(media_id: str, name: str = "original.jpg") -> Path:
    return MEDIA_ROOT / media_id / name


@pytest.fixture
async def client_with(database_url: str) -> AsyncIterator[Any]:
    """Test clients of apps with their own settings, e.g. smaller limits."""
    clients: list[Any] = []

    async def make(**overrides: Any) -> Client:
        context = app_client(create_app(make_settings(database_url, **overrides)))
        clients.append(context)
        return await context.__aenter__()

    yield make
    for context in reversed(clients):
        await context.__aexit__(None, None, None)


async def test_a_geotagged_photo_is_stored_upright_and_without_its_metadata(client: Client) -> None:
    sent = geotagged_photo((40, 20))
    with Image.open(io.BytesIO(sent)) as original:  # the test photo really carries it all
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    ada = await register(client, "ada")
    media = await uploaded(client, ada, sent, filename="IMG_0001.JPG")
    assert (media["kind"], media["content_type"]) == ("image", "image/jpeg")
    assert (media["width"], media["height"]) == (20, 40)  # turned by its orientation
    kept = stored(media["id"]).read_bytes()
    with Image.open(io.BytesIO(kept)) as image:
        assert image.size == (20, 40)
        assert not image.getexif()
        assert "exif" not in image.info
    assert b"SpyCam" not in kept
    assert b"Exif" not in kept


async def test_the_longest_side_is_capped_and_the_type_comes_from_the_bytes(
    client_with: Any,
) -> None:
    client = await client_with(MEDIA_MAX_IMAGE_DIMENSION=64)
    ada = await register(client, "ada")
    media = await uploaded(
        client, ada, photo((200, 100), fmt="PNG"), filename="x.jpg", content_type="image/jpeg"
    )
    assert (media["content_type"], media["width"], media["height"]) == ("image/png", 64, 32)
    assert stored(media["id"], "original.png").exists()


async def test_thumbnails_are_made_by_a_job(client: Client) -> None:
    ada = await register(client, "ada")
    media = await uploaded(client, ada, photo((1500, 1000)))
    await drain_jobs(client)
    for variant, size in (("320", (320, 213)), ("1080", (1080, 720))):
        response = await client.get(f"/api/v1/media/{media['id']}/{variant}", headers=ada.headers)
        assert response.status_code == 200, response.text
        with Image.open(io.BytesIO(response.content)) as image:
            assert image.size == size
    post = await write_post(client, ada, media=[media["id"]])
    assert set(post["media"][0]["urls"]) == {"original", "320", "1080"}


async def test_public_media_have_plain_urls_and_cache_headers(client: Client) -> None:
    ada = await register(client, "ada")
    first, second = await uploaded(client, ada), await uploaded(client, ada, photo((30, 30)))
    post = await write_post(client, ada, "two photos", media=[second["id"], first["id"]])
    assert [m["id"] for m in post["media"]] == [second["id"], first["id"]]
    url = post["media"][0]["urls"]["original"]
    assert url.startswith("http")
    assert "signature" not in url
    response = await client.get(path_of(url))  # anonymous
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "public, max-age=86400, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == stored(second["id"]).read_bytes()
    await drain_jobs(client)  # the thumbnails are made from the file about to be lost
    stored(second["id"]).unlink()  # a storage that lost a file answers 404, not 500
    assert (await client.get(path_of(url))).status_code == 404


async def test_followers_only_media_are_served_by_short_lived_signed_urls(
    client: Client, settings: Settings
) -> None:
    ada, fan, stranger = [await register(client, n) for n in ("ada", "fan", "stranger")]
    await relate(client, fan, "follow", ada)
    media = await uploaded(client, ada)
    post = await write_post(client, ada, "for fans", visibility="followers", media=[media["id"]])
    seen = await get_json(client, f"/api/v1/posts/{post['id']}", fan)
    signed = seen["media"][0]["urls"]["original"]
    assert "expires=" in signed
    assert "signature=" in signed
    response = await client.get(path_of(signed))  # the link alone is enough, for a while
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"].startswith("private, max-age=")
    plain = f"/api/v1/media/{media['id']}/original"
    assert (await client.get(plain)).status_code == 404
    assert (await client.get(plain, headers=stranger.headers)).status_code == 404
    assert (await client.get(plain, headers=fan.headers)).status_code == 200
    forged = path_of(signed)[:-3] + "abc"
    assert (await client.get(forged)).status_code == 403
    assert (await client.get(path_of(signed)[:-3] + "%C3%A8%5B")).status_code == 403  # è[
    other_variant = path_of(signed).replace("/original?", "/320?")
    assert (await client.get(other_variant)).status_code == 403
    expired = MediaUrls(settings).signed(
        media["id"], "original", datetime.now(UTC) - timedelta(hours=1)
    )
    assert (await client.get(path_of(expired))).status_code == 403
    assert (await client.get(f"{plain}?expires=99999999999")).status_code == 403


async def test_unattached_uploads_are_their_uploaders_alone(client: Client) -> None:
    ada, bob = await register(client, "ada"), await register(client, "bob")
    media = await uploaded(client, ada)
    assert "signature=" in media["urls"]["original"]
    url = f"/api/v1/media/{media['id']}/original"
    assert (await client.get(url, headers=ada.headers)).status_code == 200
    assert (await client.get(url, headers=bob.headers)).status_code == 404
    assert (await client.get(url)).status_code == 404
    assert (await client.get(path_of(media["urls"]["original"]))).status_code == 200


async def test_a_post_takes_up_to_four_images_or_one_video_of_my_unattached_uploads(
    client: Client,
) -> None:
    ada, bob = await register(client, "ada"), await register(client, "bob")
    images = [(await uploaded(client, ada))["id"] for _ in range(5)]
    clip = (await uploaded(client, ada, video(), filename="clip.mp4"))["id"]
    clip2 = (await uploaded(client, ada, video(WEBM_HEAD), filename="clip.webm"))["id"]
    bobs = (await uploaded(client, bob))["id"]
    for media, field in (
        (images, "media"),  # five
        ([images[0], clip], "media"),
        ([clip, clip2], "media"),
        ([bobs], "media"),
        ([images[0], images[0]], "media"),
    ):
        response = await client.post(
            "/api/v1/posts", json={"text": "x", "media": media}, headers=ada.headers
        )
        assert response.status_code == 422, (media, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await write_post(client, ada, media=images[:4]))["media"]
    taken = await client.post(
        "/api/v1/posts", json={"text": "again", "media": [images[0]]}, headers=ada.headers
    )
    assert taken.status_code == 422, taken.text
    post = await write_post(client, ada, media=[clip])
    assert [(m["kind"], m["width"]) for m in post["media"]] == [("video", None)]


async def test_a_video_is_stored_as_sent(client: Client) -> None:
    ada = await register(client, "ada")
    for sent, name, content_type in (
        (video(), "clip.mp4", "video/mp4"),
        (video(b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "), "clip.mov", "video/quicktime"),
        (video(WEBM_HEAD), "clip.webm", "video/webm"),
    ):
        media = await uploaded(client, ada, sent, filename="whatever.bin", content_type="x/y")
        assert media["content_type"] == content_type, name
        response = await client.get(f"/api/v1/media/{media['id']}/original", headers=ada.headers)
        assert response.content == sent
        assert response.headers["content-type"] == content_type
    await drain_jobs(client)  # no thumbnails for videos


async def test_videos_play_by_byte_ranges_on_public_and_signed_urls(client: Client) -> None:
    ada, fan = await register(client, "ada"), await register(client, "fan")
    await relate(client, fan, "follow", ada)
    sent = video(size=10_000)
    size = len(sent)
    urls = []
    for visibility in ("public", "followers"):
        clip = await uploaded(client, ada, sent, filename="clip.mp4")
        post = await write_post(client, ada, "a clip", visibility=visibility, media=[clip["id"]])
        seen = await get_json(client, f"/api/v1/posts/{post['id']}", fan)
        urls.append(path_of(seen["media"][0]["urls"]["original"]))
    assert "signature=" not in urls[0]
    assert "signature=" in urls[1]
    for url in urls:  # anonymous: the public URL, or the signed one
        whole = await client.get(url)
        assert whole.status_code == 200
        assert whole.headers["accept-ranges"] == "bytes"
        etag = whole.headers["etag"]
        for asked, start, end in (
            ("bytes=0-99", 0, 100),
            ("bytes=100-", 100, size),
            ("bytes=-24", size - 24, size),
            ("bytes=9990-20000", 9990, size),  # the end is clamped to the file
            ("bytes=-20000", 0, size),
        ):
            part = await client.get(url, headers={"Range": asked})
            assert part.status_code == 206, (asked, part.text)
            assert part.content == sent[start:end], asked
            assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{size}"
            assert part.headers["content-length"] == str(end - start)
            assert part.headers["content-type"] == "video/mp4"
        for bad in ("bytes=20000-", "bytes=10-5", "bytes=-0", "bytes=abc", "bytes=-", "bytes=1"):
            refused = await client.get(url, headers={"Range": bad})
            assert refused.status_code == 416, bad
            assert refused.headers["content-range"] == f"bytes */{size}"
            assert refused.headers["content-type"] == "application/problem+json"
        for ignored in ("items=0-5", "bytes=0-1,5-9"):  # another unit, several ranges
            full = await client.get(url, headers={"Range": ignored})
            assert (full.status_code, full.content) == (200, sent), ignored
        still = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
        assert (still.status_code, still.content) == (206, sent[:10])
        changed = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
        assert (changed.status_code, changed.content) == (200, sent)
        headers_only = await client.head(url)
        assert headers_only.status_code == 200
        assert headers_only.content == b""
        for name in ("content-length", "content-type", "accept-ranges", "etag"):
            assert headers_only.headers[name] == whole.headers[name], name
        # A signed URL's max-age counts down, so only the policy is compared.
        policy = whole.headers["cache-control"].split(",")[0]
        assert headers_only.headers["cache-control"].split(",")[0] == policy
    plain = urls[1].split("?")[0]  # the followers-only clip without its signature
    assert (await client.head(plain)).status_code == 404
    assert (await client.get(plain, headers={"Range": "bytes=0-9"})).status_code == 404
    assert (await client.head(plain, headers=fan.headers)).status_code == 200
    assert (await client.head(urls[1][:-3] + "abc")).status_code == 403


async def test_deleting_a_post_removes_its_media_files_by_a_job(client: Client) -> None:
    ada = await register(client, "ada")
    media = await uploaded(client, ada)
    post = await write_post(client, ada, media=[media["id"]])
    await drain_jobs(client)
    assert stored(media["id"], "320.jpg").exists()
    deleted = await client.delete(f"/api/v1/posts/{post['id']}", headers=ada.headers)
    assert deleted.status_code == 204
    url = f"/api/v1/media/{media['id']}/original"
    assert (await client.get(url, headers=ada.headers)).status_code == 404  # at once
    await drain_jobs(client)
    assert not list((MEDIA_ROOT / media["id"]).glob("*"))


async def test_account_deletion_removes_every_upload(client: Client) -> None:
    ada = await register(client, "ada")
    on_post = await uploaded(client, ada)
    await write_post(client, ada, media=[on_post["id"]])
    loose = await uploaded(client, ada, photo(fmt="WEBP"), filename="x.webp")
    export = await get_json(client, "/api/v1/users/me/export", ada)
    assert {m["id"] for m in export["content"]["media"]} == {on_post["id"], loose["id"]}
    response = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=ada.headers
    )
    assert response.status_code == 204, response.text
    await drain_jobs(client)
    for media in (on_post, loose):
        assert not list((MEDIA_ROOT / media["id"]).glob("*"))


async def test_the_sweep_removes_uploads_no_post_took_within_a_day(
    client: Client, settings: Settings
) -> None:
    ada = await register(client, "ada")
    forgotten = await uploaded(client, ada)
    kept = await uploaded(client, ada)
    await write_post(client, ada, media=[kept["id"]])
    await drain_jobs(client)
    config = build_sqlalchemy_config(settings)
    runner = client.app.state.job_runner
    try:
        today = JobContext(settings, config.create_session_maker(), runner)
        assert await sweep_media(today) == 0
        tomorrow = JobContext(
            settings,
            config.create_session_maker(),
            runner,
            clock=lambda: datetime.now(UTC) + timedelta(days=1, minutes=1),
        )
        assert await sweep_media(tomorrow) == 1
    finally:
        await config.get_engine().dispose()
    assert not list((MEDIA_ROOT / forgotten["id"]).glob("*"))
    assert stored(kept["id"]).exists()


# S3 -------------------------------------------------------------------------------------------

BUCKET = "selflink-media"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-protocol HTTP server (moto's server mode) on a free local port."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    s3_client(endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_media_live_in_any_s3_compatible_store(database_url: str, s3_endpoint: str) -> None:
    settings = make_settings(
        database_url,
        MEDIA_STORAGE_URL=f"s3://{BUCKET}",
        MEDIA_S3_ENDPOINT=s3_endpoint,
        MEDIA_S3_ACCESS_KEY_ID="testing",
        MEDIA_S3_SECRET_ACCESS_KEY="testing",
    )
    s3 = s3_client(s3_endpoint)
    async with app_client(create_app(settings)) as client:
        ada = await register(client, "ada")
        media = await uploaded(client, ada, geotagged_photo((1200, 600)))
        post = await write_post(client, ada, media=[media["id"]])
        await drain_jobs(client)
        keys = {
            item["Key"]
            for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=media["id"])["Contents"]
        }
        assert keys == {f"{media['id']}/{v}.jpg" for v in ("original", "320", "1080")}
        in_bucket = s3.get_object(Bucket=BUCKET, Key=f"{media['id']}/original.jpg")["Body"].read()
        served = await client.get(path_of(post["media"][0]["urls"]["original"]))
        assert served.status_code == 200, served.text
        assert served.content == in_bucket
        with Image.open(io.BytesIO(in_bucket)) as image:
            assert image.size == (600, 1200)
            assert not image.getexif()
        await client.delete(f"/api/v1/posts/{post['id']}", headers=ada.headers)
        await drain_jobs(client)
        assert s3.list_objects_v2(Bucket=BUCKET, Prefix=media["id"]).get("KeyCount") == 0
