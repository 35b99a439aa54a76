"""Who may call what: every /api/v1 endpoint and page, by anonymous, other, owner, moderator
and staff.

The table is checked against the app's route table, so an endpoint added without a row here
fails the suite. "owner" is the person the path names ({handle}) or, for /me routes, the caller.
A moderator works the moderation queue and is an ordinary person everywhere else: unless a row
says otherwise, they get what "other" gets.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.media_helpers import photo
from tests.api.people import PASSWORD, Person, register, remember, unique_email
from tests.api.test_auth import make_staff
from tests.api.test_moderation import make_moderator

pytestmark = pytest.mark.anyio

ACTORS = ("anonymous", "other", "owner", "moderator", "staff")
NEW_PASSWORD = "an entirely new secret 93"
BIRTH = {
    "date": "1990-05-17",
    "time": "14:30",
    "latitude": 52.52,
    "longitude": 13.405,
    "timezone": "Europe/Berlin",
}
remember(NEW_PASSWORD)


@dataclass(frozen=True)
class Cast:
    owner: Person
    other: Person
    staff: Person
    moderator: Person | None
    """Registered only when the moderator is the one calling."""


@dataclass(frozen=True)
class Upload:
    """A multipart/form-data body holding one file, sent instead of JSON."""

    data: bytes
    filename: str = "photo.jpg"


Body = Callable[[Cast, Person | None], dict[str, Any] | Upload | None]


def request_body(body: dict[str, Any] | Upload | None) -> dict[str, Any]:
    """The test client's keyword for a body: `files` for an upload, else `json`."""
    if isinstance(body, Upload):
        return {"files": {"file": (body.filename, body.data, "image/jpeg")}}
    return {"json": body}


def no_body(_cast: Cast, _actor: Person | None) -> None:
    return None


def row(
    anonymous: int,
    other: int,
    owner: int,
    staff: int,
    body: Body = no_body,
    *,
    moderator: int | None = None,
) -> tuple[dict[str, int], Body]:
    statuses = {"anonymous": anonymous, "other": other, "owner": owner, "staff": staff}
    return statuses | {"moderator": other if moderator is None else moderator}, body


def signed_in_only(status: int, body: Body = no_body) -> tuple[dict[str, int], Body]:
    return row(401, status, status, status, body)


def public(status: int, body: Body = no_body) -> tuple[dict[str, int], Body]:
    return row(status, status, status, status, body)


def about_someone(status: int) -> tuple[dict[str, int], Body]:
    """Acting on the {handle} person: fine for others, refused on oneself."""
    return row(401, status, 422, status)


staff_only = row(401, 403, 403, 200)
moderators = row(401, 403, 403, 200, moderator=200)


def moderators_find_nothing(body: Body = no_body) -> tuple[dict[str, int], Body]:
    """A moderation route naming a report or appeal that does not exist."""
    return row(401, 403, 403, 404, body, moderator=404)


def members_only(status: int, body: Body = no_body) -> tuple[dict[str, int], Body]:
    """A thread's (or its message's) members only: one 404 for everyone else, staff too."""
    return row(401, 404, status, 404, body)


def push_device() -> dict[str, Any]:
    """A browser's push subscription (a new endpoint each time)."""
    return {
        "endpoint": f"https://push.example.org/send/{uuid.uuid4().hex}",
        "keys": {"p256dh": "B" + "A" * 86, "auth": "A" * 22},
    }


def own_refresh_token(cast: Cast, actor: Person | None) -> dict[str, Any]:
    return {"refresh_token": (actor or cast.owner).refresh_token}


MATRIX: dict[tuple[str, str], tuple[dict[str, int], Body]] = {
    ("POST", "/api/v1/auth/register"): public(
        201, lambda c, a: {"email": unique_email(), "password": PASSWORD}
    ),
    ("POST", "/api/v1/auth/login"): public(
        200, lambda c, a: {"login": c.owner.handle, "password": PASSWORD}
    ),
    ("POST", "/api/v1/auth/refresh"): public(200, own_refresh_token),
    ("POST", "/api/v1/auth/logout"): signed_in_only(204),
    ("POST", "/api/v1/auth/logout-all"): signed_in_only(204),
    ("POST", "/api/v1/auth/password"): signed_in_only(
        204, lambda c, a: {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    ),
    ("POST", "/api/v1/auth/password-reset"): public(202, lambda c, a: {"email": c.owner.email}),
    ("POST", "/api/v1/auth/password-reset/confirm"): public(
        422, lambda c, a: {"token": "not-a-real-code", "new_password": NEW_PASSWORD}
    ),
    ("POST", "/api/v1/auth/email-verification"): signed_in_only(202),
    ("POST", "/api/v1/auth/email-verification/confirm"): public(
        422, lambda c, a: {"token": "not-a-real-code"}
    ),
    ("GET", "/api/v1/users/me"): signed_in_only(200),
    ("PATCH", "/api/v1/users/me"): signed_in_only(200, lambda c, a: {"bio": "changed"}),
    ("DELETE", "/api/v1/users/me"): signed_in_only(204, lambda c, a: {"password": PASSWORD}),
    ("GET", "/api/v1/users/me/export"): signed_in_only(200),
    ("GET", "/api/v1/users/me/blocked"): signed_in_only(200),
    ("GET", "/api/v1/users/me/muted"): signed_in_only(200),
    ("GET", "/api/v1/users/{handle:str}"): public(200),
    ("GET", "/api/v1/users/{handle:str}/followers"): public(200),
    ("GET", "/api/v1/users/{handle:str}/following"): public(200),
    ("POST", "/api/v1/users/{handle:str}/follow"): about_someone(204),
    ("DELETE", "/api/v1/users/{handle:str}/follow"): about_someone(204),
    ("POST", "/api/v1/users/{handle:str}/block"): about_someone(204),
    ("DELETE", "/api/v1/users/{handle:str}/block"): about_someone(204),
    ("POST", "/api/v1/users/{handle:str}/mute"): about_someone(204),
    ("DELETE", "/api/v1/users/{handle:str}/mute"): about_someone(204),
    ("GET", "/api/v1/astro/birth-data"): signed_in_only(404),
    ("PUT", "/api/v1/astro/birth-data"): signed_in_only(200, lambda c, a: BIRTH),
    ("DELETE", "/api/v1/astro/birth-data"): signed_in_only(204),
    ("GET", "/api/v1/astro/natal/me"): signed_in_only(404),
    ("GET", "/api/v1/astro/natal/me/wheel"): signed_in_only(404),
    ("GET", "/api/v1/astro/transits/me"): signed_in_only(404),
    ("GET", "/api/v1/astro/numerology/me"): signed_in_only(404),
    ("POST", "/api/v1/astro/charts"): public(200, lambda c, a: {"birth": BIRTH}),
    ("POST", "/api/v1/astro/synastry"): signed_in_only(
        200, lambda c, a: {"first": BIRTH, "second": BIRTH | {"time": "06:00"}}
    ),
    ("POST", "/api/v1/astro/synastry/wheel"): signed_in_only(
        200, lambda c, a: {"first": BIRTH, "second": BIRTH | {"time": "06:00"}}
    ),
    ("GET", "/api/v1/matching/vocabulary"): public(200),
    ("GET", "/api/v1/matching/preferences"): signed_in_only(200),
    ("PATCH", "/api/v1/matching/preferences"): signed_in_only(
        200, lambda c, a: {"modes": ["friends"], "values": ["honesty"]}
    ),
    ("DELETE", "/api/v1/matching/preferences"): signed_in_only(204),
    # Nobody here has matching preferences: a score needs the caller's first (409).
    ("GET", "/api/v1/matching/with/{handle:str}"): row(401, 409, 422, 409),
    # No `mode` given: a 422 once signed in.
    ("GET", "/api/v1/matching/recommendations"): signed_in_only(422),
    # Content: {post_id} is the owner's public post, {comment_id} the owner's comment on it.
    ("POST", "/api/v1/posts"): signed_in_only(201, lambda c, a: {"text": "hello"}),
    ("GET", "/api/v1/posts/{post_id:uuid}"): public(200),
    ("PATCH", "/api/v1/posts/{post_id:uuid}"): row(401, 403, 200, 403, lambda c, a: {"text": "x"}),
    ("DELETE", "/api/v1/posts/{post_id:uuid}"): row(401, 403, 204, 403),
    ("PUT", "/api/v1/posts/{post_id:uuid}/like"): signed_in_only(204),
    ("DELETE", "/api/v1/posts/{post_id:uuid}/like"): signed_in_only(204),
    ("GET", "/api/v1/posts/{post_id:uuid}/likes"): public(200),
    ("GET", "/api/v1/posts/{post_id:uuid}/comments"): public(200),
    ("POST", "/api/v1/posts/{post_id:uuid}/comments"): signed_in_only(
        201, lambda c, a: {"text": "hi"}
    ),
    ("PATCH", "/api/v1/comments/{comment_id:uuid}"): row(
        401, 403, 200, 403, lambda c, a: {"text": "x"}
    ),
    ("DELETE", "/api/v1/comments/{comment_id:uuid}"): row(401, 403, 204, 403),
    ("PUT", "/api/v1/comments/{comment_id:uuid}/like"): signed_in_only(204),
    ("DELETE", "/api/v1/comments/{comment_id:uuid}/like"): signed_in_only(204),
    ("GET", "/api/v1/users/{handle:str}/posts"): public(200),
    ("GET", "/api/v1/search/people"): public(200),
    ("GET", "/api/v1/search/posts"): public(200),
    # Media: {media_id} is the photo on the owner's public post.
    ("POST", "/api/v1/media"): signed_in_only(201, lambda c, a: Upload(photo())),
    ("GET", "/api/v1/media/{media_id:uuid}/{variant:str}"): public(200),
    ("GET", "/api/v1/feed/home"): signed_in_only(200),
    ("GET", "/api/v1/feed/for-you"): signed_in_only(200),
    # Mentor: {message_id} and {session_id} are the owner's; staff read nobody's conversations.
    ("POST", "/api/v1/mentor/stream"): signed_in_only(
        200, lambda c, a: {"mode": "chat", "text": "hi"}
    ),
    ("POST", "/api/v1/mentor/replies"): signed_in_only(
        202, lambda c, a: {"mode": "chat", "text": "hi"}
    ),
    ("GET", "/api/v1/mentor/messages/{message_id:uuid}"): row(401, 404, 200, 404),
    ("GET", "/api/v1/mentor/sessions"): signed_in_only(200),
    ("GET", "/api/v1/mentor/sessions/{session_id:uuid}/messages"): row(401, 404, 200, 404),
    ("DELETE", "/api/v1/mentor/sessions/{session_id:uuid}"): row(401, 404, 204, 404),
    ("GET", "/api/v1/staff/mentor/usage"): staff_only,
    ("GET", "/api/v1/staff/outbox"): staff_only,
    ("GET", "/api/v1/staff/users/{handle:str}/personal-data"): staff_only,
    ("POST", "/api/v1/staff/users/{handle:str}/suspend"): row(401, 403, 403, 204),
    ("POST", "/api/v1/staff/users/{handle:str}/reinstate"): row(401, 403, 403, 204),
    # Payments (Stripe not configured here): plans are public, the webhook is signed instead.
    ("GET", "/api/v1/payments/plans"): public(200),
    ("GET", "/api/v1/payments/me"): signed_in_only(200),
    ("POST", "/api/v1/payments/checkout"): signed_in_only(
        503, lambda c, a: {"plan": "plus_monthly"}
    ),
    ("POST", "/api/v1/payments/portal"): signed_in_only(503),
    ("POST", "/api/v1/payments/stripe/webhook"): public(503),
    ("GET", "/api/v1/staff/payments/events"): staff_only,
    ("POST", "/api/v1/staff/payments/events/{event_id:str}/replay"): row(401, 403, 403, 404),
    # Rewards: the transparency pages and the webhook are public (the webhook is signed instead).
    ("GET", "/api/v1/rewards/ledger.jsonl"): public(200),
    ("GET", "/api/v1/rewards/periods"): public(200),
    ("GET", "/api/v1/rewards/periods/{period:str}"): public(404),
    ("GET", "/api/v1/rewards/periods/{period:str}/files/{name:str}"): public(404),
    ("GET", "/api/v1/rewards/periods/{period:str}/proofs/{contributor:str}"): public(404),
    ("GET", "/api/v1/rewards/contributors/{contributor:str}/statement"): public(404),
    ("POST", "/api/v1/rewards/github/webhook"): public(503),
    ("GET", "/transparency"): public(200),
    ("GET", "/transparency/{period:str}"): public(404),
    ("GET", "/transparency/contributors/{contributor:str}"): public(404),
    ("POST", "/api/v1/rewards/links"): signed_in_only(201, lambda c, a: {"github_id": 4242}),
    ("GET", "/api/v1/rewards/links/me"): signed_in_only(200),
    ("POST", "/api/v1/rewards/periods/{period:str}/disputes"): signed_in_only(
        409, lambda c, a: {"reason": "wrong size"}
    ),
    ("GET", "/api/v1/rewards/disputes/me"): signed_in_only(200),
    ("POST", "/api/v1/staff/rewards/events"): row(
        401,
        403,
        403,
        201,
        lambda c, a: {"kind": "bounty", "contributor": "github:7", "points": 3, "reason": "docs"},
    ),
    ("GET", "/api/v1/staff/rewards/links"): staff_only,
    ("POST", "/api/v1/staff/rewards/links/{link_id:uuid}/{decision:str}"): row(
        401, 403, 403, 404, lambda c, a: {}
    ),
    ("GET", "/api/v1/staff/rewards/disputes"): staff_only,
    ("POST", "/api/v1/staff/rewards/disputes/{dispute_id:uuid}/{decision:str}"): row(
        401, 403, 403, 404, lambda c, a: {}
    ),
    ("GET", "/api/v1/staff/rewards/github/deliveries"): staff_only,
    ("GET", "/api/v1/staff/rewards/payouts"): staff_only,
    ("POST", "/api/v1/staff/rewards/payouts/{payout_id:uuid}/transitions"): row(
        401, 403, 403, 404, lambda c, a: {"to": "processing"}
    ),
    # Messaging: a thread is its members' only; everyone else gets one 404.
    ("GET", "/api/v1/messaging/settings"): signed_in_only(200),
    ("PUT", "/api/v1/messaging/settings"): signed_in_only(
        200, lambda c, a: {"dm_policy": "following"}
    ),
    ("GET", "/api/v1/threads"): signed_in_only(200),
    ("POST", "/api/v1/threads/direct"): row(
        401, 201, 422, 201, lambda c, a: {"handle": c.owner.handle}
    ),
    ("POST", "/api/v1/threads/groups"): signed_in_only(201, lambda c, a: {"title": "Circle"}),
    ("GET", "/api/v1/threads/{thread_id:uuid}"): members_only(200),
    ("PATCH", "/api/v1/threads/{thread_id:uuid}"): members_only(200, lambda c, a: {"title": "New"}),
    ("POST", "/api/v1/threads/{thread_id:uuid}/members"): members_only(
        200, lambda c, a: {"handles": [c.other.handle]}
    ),
    ("DELETE", "/api/v1/threads/{thread_id:uuid}/members/{handle:str}"): members_only(204),
    ("PUT", "/api/v1/threads/{thread_id:uuid}/members/{handle:str}/role"): members_only(
        200, lambda c, a: {"role": "admin"}
    ),
    ("GET", "/api/v1/threads/{thread_id:uuid}/messages"): members_only(200),
    ("POST", "/api/v1/threads/{thread_id:uuid}/messages"): members_only(
        201, lambda c, a: {"client_id": "matrix-1", "text": "hello"}
    ),
    ("GET", "/api/v1/threads/{thread_id:uuid}/changes"): members_only(200),
    ("PUT", "/api/v1/threads/{thread_id:uuid}/read"): members_only(204, lambda c, a: {"seq": 1}),
    ("PUT", "/api/v1/threads/{thread_id:uuid}/delivered"): members_only(
        204, lambda c, a: {"seq": 1}
    ),
    ("PATCH", "/api/v1/messages/{message_id:uuid}"): members_only(200, lambda c, a: {"text": "x"}),
    ("DELETE", "/api/v1/messages/{message_id:uuid}"): members_only(204),
    ("PUT", "/api/v1/messages/{message_id:uuid}/reactions/{emoji:str}"): members_only(204),
    ("DELETE", "/api/v1/messages/{message_id:uuid}/reactions/{emoji:str}"): members_only(204),
    ("GET", "/api/v1/notifications"): signed_in_only(200),
    ("GET", "/api/v1/notifications/unread-count"): signed_in_only(200),
    ("POST", "/api/v1/notifications/read-all"): signed_in_only(200),
    ("POST", "/api/v1/notifications/{notification_id:uuid}/read"): row(401, 404, 204, 404),
    ("GET", "/api/v1/notifications/preferences"): signed_in_only(200),
    ("PATCH", "/api/v1/notifications/preferences"): signed_in_only(
        200, lambda c, a: {"kinds": {"like": {"push": True}}}
    ),
    ("GET", "/api/v1/notifications/push/key"): signed_in_only(200),
    ("GET", "/api/v1/notifications/push/devices"): signed_in_only(200),
    ("PUT", "/api/v1/notifications/push/devices"): signed_in_only(200, lambda c, a: push_device()),
    ("DELETE", "/api/v1/notifications/push/devices/{device_id:uuid}"): row(401, 404, 204, 404),
    # Moderation: anyone reports what they can see (not themselves); moderators and up work
    # the queue; {report_id}, {appeal_id} and {decision_id} name nothing.
    ("POST", "/api/v1/reports"): row(
        401,
        201,
        422,
        201,
        lambda c, a: {"target_kind": "user", "target": c.owner.handle, "reason": "spam"},
    ),
    ("GET", "/api/v1/moderation/decisions"): signed_in_only(200),
    ("POST", "/api/v1/moderation/decisions/{decision_id:uuid}/appeal"): signed_in_only(
        404, lambda c, a: {"text": "Please look again."}
    ),
    ("GET", "/api/v1/staff/moderation/reports"): moderators,
    ("GET", "/api/v1/staff/moderation/reports/{report_id:uuid}"): moderators_find_nothing(),
    ("POST", "/api/v1/staff/moderation/reports/{report_id:uuid}/assign"): moderators_find_nothing(
        lambda c, a: {}
    ),
    ("POST", "/api/v1/staff/moderation/reports/{report_id:uuid}/notes"): moderators_find_nothing(
        lambda c, a: {"text": "seen"}
    ),
    ("POST", "/api/v1/staff/moderation/reports/{report_id:uuid}/dismiss"): (
        moderators_find_nothing()
    ),
    ("POST", "/api/v1/staff/moderation/reports/{report_id:uuid}/decisions"): (
        moderators_find_nothing(lambda c, a: {"action": "warn", "reason": "spam"})
    ),
    ("GET", "/api/v1/staff/moderation/appeals"): moderators,
    ("POST", "/api/v1/staff/moderation/appeals/{appeal_id:uuid}/decision"): (
        moderators_find_nothing(lambda c, a: {"outcome": "upheld"})
    ),
}

PLACEHOLDERS = {
    "{period:str}": "2026-10",
    "{event_id:str}": "evt_unknown",
    "{name:str}": "manifest.json",
    "{contributor:str}": "github:1",
    "{link_id:uuid}": "0192e1a0-0000-7000-8000-000000000001",
    "{dispute_id:uuid}": "0192e1a0-0000-7000-8000-000000000002",
    "{payout_id:uuid}": "0192e1a0-0000-7000-8000-000000000003",
    "/{decision:str}": "/reject",
    "{variant:str}": "original",
    "{emoji:str}": "%F0%9F%91%8D",
    "{report_id:uuid}": "0192e1a0-0000-7000-8000-000000000004",
    "{appeal_id:uuid}": "0192e1a0-0000-7000-8000-000000000005",
    "{decision_id:uuid}": "0192e1a0-0000-7000-8000-000000000006",
}

OWNED_IDS = (
    "post_id",
    "comment_id",
    "media_id",
    "message_id",
    "session_id",
    "thread_id",
    "notification_id",
    "device_id",
)
"""Path ids `owner_items` makes; the others name nothing (`PLACEHOLDERS`)."""

REQUIRED_QUERIES = {
    "/api/v1/search/people": "?q=owner",
    "/api/v1/search/posts": "?q=mine",
}
"""Query parameters a route cannot answer without."""


async def owner_items(
    client: AsyncTestClient[Litestar], owner: Person, path: str
) -> dict[str, str]:
    """What the path names, made by the owner: for thread and message paths a group of the
    owner's with a message in it; otherwise a public post of theirs with a photo, their
    comment on it and a mentor conversation."""
    if path.startswith("/api/v1/notifications/"):
        fan = await register(client, f"fan_{uuid.uuid4().hex[:6]}")
        await client.post(f"/api/v1/users/{owner.handle}/follow", headers=fan.headers)
        await drain_jobs(client)
        told = await client.get("/api/v1/notifications", headers=owner.headers)
        device = await client.put(
            "/api/v1/notifications/push/devices", json=push_device(), headers=owner.headers
        )
        return {
            "{notification_id:uuid}": told.json()["items"][0]["id"],
            "{device_id:uuid}": device.json()["id"],
        }
    if path.startswith(("/api/v1/threads/", "/api/v1/messages/")):
        thread = await client.post(
            "/api/v1/threads/groups", json={"title": "mine"}, headers=owner.headers
        )
        message = await client.post(
            f"/api/v1/threads/{thread.json()['id']}/messages",
            json={"client_id": "owner-1", "text": "mine"},
            headers=owner.headers,
        )
        return {"{thread_id:uuid}": thread.json()["id"], "{message_id:uuid}": message.json()["id"]}
    media = await client.post(
        "/api/v1/media", files={"file": ("photo.jpg", photo(), "image/jpeg")}, headers=owner.headers
    )
    post = await client.post(
        "/api/v1/posts",
        json={"text": "mine", "media": [media.json()["id"]]},
        headers=owner.headers,
    )
    comment = await client.post(
        f"/api/v1/posts/{post.json()['id']}/comments",
        json={"text": "also mine"},
        headers=owner.headers,
    )
    asked = await client.post(
        "/api/v1/mentor/replies", json={"mode": "chat", "text": "mine"}, headers=owner.headers
    )
    await drain_jobs(client)  # the reply is written: nothing changes behind a test's back
    return {
        "{message_id:uuid}": asked.json()["message_id"],
        "{session_id:uuid}": asked.json()["session_id"],
        "{post_id:uuid}": post.json()["id"],
        "{comment_id:uuid}": comment.json()["id"],
        "{media_id:uuid}": media.json()["id"],
    }


def concrete(path: str, owner: Person, items: dict[str, str] | None = None) -> str:
    for placeholder, value in (PLACEHOLDERS | (items or {})).items():
        path = path.replace(placeholder, value)
    return path.replace("{handle:str}", owner.handle)


def api_routes(app: Litestar) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in app.routes
        if route.path.startswith(("/api/v1/", "/transparency"))
        for method in getattr(route, "methods", ())
        if method not in {"OPTIONS", "HEAD"}
    }


def test_every_endpoint_has_a_row() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    assert api_routes(app) == set(MATRIX)


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=str)
async def test_endpoint_answers_each_kind_of_caller(
    settings: Settings, method: str, path: str
) -> None:
    expected, body = MATRIX[(method, path)]
    async with app_client(create_app(settings)) as client:
        for actor_name in ACTORS:
            tag = uuid.uuid4().hex[:6]
            cast = Cast(
                owner=await register(client, f"owner_{tag}"),
                other=await register(client, f"other_{tag}"),
                staff=await make_staff(client, settings, f"staff_{tag}"),
                moderator=await make_moderator(client, settings, f"moderator_{tag}")
                if actor_name == "moderator"
                else None,
            )
            actor = getattr(cast, actor_name, None)
            owned = any(f"{{{name}:uuid}}" in path for name in OWNED_IDS)
            items = await owner_items(client, cast.owner, path) if owned else None
            url = concrete(path, cast.owner, items) + REQUIRED_QUERIES.get(path, "")
            response = await client.request(
                method,
                url,
                headers=actor.headers if actor else {},
                **request_body(body(cast, actor)),
            )
            is_json = response.headers.get("content-type", "").startswith("application/json")
            answer = response.json() if is_json else None
            if isinstance(answer, dict):  # remember issued tokens: they must never be logged
                tokens = answer.get("session", answer)
                remember(tokens.get("access_token", ""), tokens.get("refresh_token", ""))
            assert response.status_code == expected[actor_name], (actor_name, response.text)
