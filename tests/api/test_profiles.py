"""My account, personal data kept encrypted and apart, export, deletion."""

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.settings import Settings
from tests.api.conftest import drain_jobs, logged
from tests.api.people import PASSWORD, register
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]

BIRTH = {
    "date": "1815-12-10",
    "time": "13:45",
    "place": "Marylebone, London",
    "latitude": 51.5226,
    "longitude": -0.1548,
    "timezone": "Europe/London",
}


async def test_update_profile_settings_and_personal_data(client: Client) -> None:
    person = await register(client, "updater")
    response = await client.patch(
        "/api/v1/users/me",
        headers=person.headers,
        json={
            "display_name": "Ada L.",
            "bio": "Poetical science.",
            "profile_visibility": "followers",
            "message_policy": "nobody",
            "discoverable": True,
            "locale": "en-GB",
            "timezone": "Europe/London",
            "full_name": "Augusta Ada King",
            "phone": "+44 20 7946 0000",
            "birth": BIRTH,
        },
    )
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["display_name"] == "Ada L."
    assert me["settings"] == {
        "profile_visibility": "followers",
        "message_policy": "nobody",
        "discoverable": True,
        "locale": "en-GB",
        "timezone": "Europe/London",
    }
    assert me["full_name"] == "Augusta Ada King"
    # a place label with coordinates stays a label; the DST and gazetteer fields stay empty
    assert me["birth"] == BIRTH | {
        "fold": None,
        "utc_offset": None,
        "country": None,
        "geonameid": None,
    }
    cleared = await client.patch("/api/v1/users/me", headers=person.headers, json={"birth": None})
    assert cleared.json()["birth"] is None
    assert cleared.json()["full_name"] == "Augusta Ada King"  # omitted fields are untouched


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "Mars/Olympus"},
        {"profile_visibility": "everyone"},
        {"avatar_url": "javascript:alert(1)"},
        {"birth": {"date": "1815-12-10", "latitude": 91}},
        {"birth": {"date": "1815-12-10", "timezone": "Nowhere/Land"}},
        {"locale": "english"},
        {"email": "new@example.org"},
        {"role": "admin"},
    ],
)
async def test_invalid_changes_are_422(client: Client, change: dict[str, Any]) -> None:
    person = await register(client, "bad_updater")
    response = await client.patch("/api/v1/users/me", headers=person.headers, json=change)
    assert response.status_code == 422, response.text


async def test_public_profile_never_shows_personal_data(client: Client) -> None:
    person = await register(client, "public_one")
    await client.patch(
        "/api/v1/users/me",
        headers=person.headers,
        json={"full_name": "Secret Name", "phone": "+1 555 0100", "birth": BIRTH, "bio": "hi"},
    )
    for headers in ({}, (await register(client, "onlooker")).headers):
        response = await client.get("/api/v1/users/public_one", headers=headers)
        assert response.status_code == 200
        text = response.text
        # Whole values: a fragment such as "555" turns up in a timestamp's microseconds.
        for private in (person.email, "Secret Name", "555 0100", "1815-12-10", "Marylebone"):
            assert private not in text
        assert response.json()["bio"] == "hi"


async def test_personal_data_is_encrypted_at_rest(client: Client, settings: Settings) -> None:
    person = await register(client, "encrypted_one")
    await client.patch(
        "/api/v1/users/me",
        headers=person.headers,
        json={"full_name": "Plaintext Detector", "phone": "+44 1234 567890", "birth": BIRTH},
    )
    dumps = []
    for table in ("users", "user_pii", "outbox_messages", "audit_log", "auth_sessions"):
        for row in await sql(settings, f"SELECT * FROM {table}"):
            dumps.append(repr(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)))
    raw = "\n".join(dumps)
    for plaintext in (
        person.email,
        person.email.split("@")[0],
        "Plaintext Detector",
        "567890",
        "1815-12-10",
        "Marylebone",
    ):
        assert plaintext not in raw
    assert "encrypted_one" in raw  # the handle is public, and the scan does see rows


async def test_staff_read_personal_data_only_through_an_audited_endpoint(
    client: Client, settings: Settings
) -> None:
    person = await register(client, "looked_up")
    other = await register(client, "nosy_user")
    denied = await client.get("/api/v1/staff/users/looked_up/personal-data", headers=other.headers)
    assert denied.status_code == 403
    staff = await make_staff(client, settings)
    allowed = await client.get("/api/v1/staff/users/looked_up/personal-data", headers=staff.headers)
    assert allowed.status_code == 200
    assert allowed.json()["email"] == person.email
    audit = await sql(settings, "SELECT action, subject FROM audit_log")
    assert ("pii.read", f"user:{person.id.replace('-', '')}") in {
        (a, s.replace("-", "")) for a, s in audit
    }


async def test_export_holds_everything_about_me(client: Client) -> None:
    person = await register(client, "exporter")
    friend = await register(client, "friend_of_exporter")
    await client.post("/api/v1/users/friend_of_exporter/follow", headers=person.headers)
    await client.post("/api/v1/users/exporter/follow", headers=friend.headers)
    await client.patch("/api/v1/users/me", headers=person.headers, json={"birth": BIRTH})
    await client.patch(
        "/api/v1/matching/preferences", headers=person.headers, json={"modes": ["friends"]}
    )
    await client.post("/api/v1/rewards/links", headers=person.headers, json={"github_id": 31337})
    response = await client.get("/api/v1/users/me/export", headers=person.headers)
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    export = response.json()
    assert export["format"] == "selflink-account-export/1"
    assert export["account"]["email"] == person.email
    assert export["account"]["birth"]["place"] == "Marylebone, London"
    assert export["social"]["following"] == ["friend_of_exporter"]
    assert export["social"]["followers"] == ["friend_of_exporter"]
    assert len(export["sessions"]) == 1
    assert export["matching"]["preferences"]["modes"] == ["friends"]
    assert [r["contributor"] for r in export["rewards"]["link_requests"]] == ["github:31337"]
    times = {
        "exported_at": export["exported_at"],
        "account": export["account"]["created_at"],
        "session": export["sessions"][0]["created_at"],
        "session expiry": export["sessions"][0]["expires_at"],
        "matching": export["matching"]["updated_at"],
        "link request": export["rewards"]["link_requests"][0]["created_at"],
    }
    assert [name for name, text in times.items() if not text.endswith("Z")] == []
    assert "+00:00" not in response.text


async def test_deleting_my_account_destroys_personal_data_and_ties(
    client: Client, settings: Settings
) -> None:
    person = await register(client, "leaver")
    friend = await register(client, "stayer")
    await client.post("/api/v1/users/stayer/follow", headers=person.headers)
    await client.post("/api/v1/users/leaver/follow", headers=friend.headers)
    await client.post("/api/v1/users/stayer/block", headers=person.headers)
    wrong = await client.request(
        "DELETE", "/api/v1/users/me", headers=person.headers, json={"password": "not my password"}
    )
    assert wrong.status_code == 422
    deleted = await client.request(
        "DELETE", "/api/v1/users/me", headers=person.headers, json={"password": PASSWORD}
    )
    assert deleted.status_code == 204
    assert logged("account_deleted", user_id=person.id, level="info")
    await drain_jobs(client)

    assert (await client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    refused = await client.post(
        "/api/v1/auth/login", json={"login": person.email, "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert (await client.get("/api/v1/users/leaver")).status_code == 404
    assert (await client.get("/api/v1/users/stayer")).json()["counts"] == {
        "followers": 0,
        "following": 0,
    }
    user_id = person.id
    for table, column in (
        ("user_pii", "user_id"),
        ("follows", "follower_id"),
        ("follows", "followee_id"),
        ("blocks", "blocker_id"),
        ("account_tokens", "user_id"),
        ("outbox_messages", "user_id"),  # forgotten by the account.deleted subscriber
    ):
        rows = await sql(
            settings,
            f"SELECT count(*) FROM {table} WHERE {column} = :id",
            id=_db_id(settings, user_id),
        )
        assert rows[0][0] == 0, table
    (handle, name, password_hash, status) = (
        await sql(
            settings,
            "SELECT handle, display_name, password_hash, status FROM users WHERE id = :id",
            id=_db_id(settings, user_id),
        )
    )[0]
    assert handle.startswith("deleted_")
    assert (name, password_hash, status) == ("Deleted user", None, "deleted")
    open_sessions = await sql(
        settings,
        "SELECT count(*) FROM auth_sessions WHERE user_id = :id AND revoked_at IS NULL",
        id=_db_id(settings, user_id),
    )
    assert open_sessions[0][0] == 0


def _db_id(settings: Settings, user_id: str) -> Any:
    """How a UUID is bound in raw SQL: native on PostgreSQL, 16 bytes on SQLite."""
    import uuid

    value = uuid.UUID(user_id)
    return value.bytes if settings.is_sqlite else value
