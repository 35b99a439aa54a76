"""Registration, sign-in, refresh rotation, sign-out, passwords, verification, suspension."""

from typing import Any

import argon2
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.app import create_app
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs, logged, make_settings
from tests.api.people import PASSWORD, Person, login, register, remember, unique_email

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


def problem_type(response: Any) -> str:
    return str(response.json()["type"]).rsplit(":", 1)[-1]


async def sql(settings: Settings, statement: str, **params: Any) -> list[Any]:
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


async def held_emails(client: Client, staff: Person) -> list[dict[str, Any]]:
    await drain_jobs(client)
    response = await client.get("/api/v1/staff/outbox", headers=staff.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def make_staff(client: Client, settings: Settings, handle: str = "staffer") -> Person:
    person = await register(client, handle)
    await sql(settings, "UPDATE users SET role = 'staff' WHERE handle = :h", h=handle)
    return person


def code_from(email: dict[str, Any]) -> str:
    body = str(email["body"])
    code = body.split("\n\n")[2].strip()
    remember(code)
    return code


# Registration -------------------------------------------------------------------------------


async def test_register_returns_the_account_and_a_session(client: Client) -> None:
    email = unique_email("Ada")
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "display_name": "Zoë O'Neil"},
    )
    assert response.status_code == 201
    body = response.json()
    remember(body["session"]["access_token"], body["session"]["refresh_token"], email.upper())
    assert body["user"]["handle"] == "zoe_oneil"
    assert body["user"]["email"] == email.lower()
    assert body["user"]["email_verified"] is False
    assert body["session"]["token_type"] == "Bearer"
    assert body["session"]["expires_in"] == 15 * 60
    assert body["session"]["refresh_expires_in"] == 30 * 24 * 3600
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {body['session']['access_token']}"}
    )
    assert me.json()["handle"] == "zoe_oneil"


async def test_generated_handles_never_collide(client: Client) -> None:
    first = await register(client, display_name="Grace Hopper")
    second = await register(client, display_name="Grace Hopper")
    anonymous = await register(client)
    assert (first.handle, second.handle) == ("grace_hopper", "grace_hopper_2")
    assert anonymous.handle.startswith("user_")


async def test_email_is_unique_case_insensitively(client: Client) -> None:
    email = unique_email("dup")
    await register(client, email=email)
    again = await client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": PASSWORD}
    )
    assert again.status_code == 409


async def test_handle_is_unique_case_insensitively(client: Client) -> None:
    await register(client, "taken_name")
    again = await client.post(
        "/api/v1/auth/register",
        json={"email": unique_email(), "password": PASSWORD, "handle": "Taken_Name"},
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"handle": "ab"}, "handle"),
        ({"handle": "has space"}, "handle"),
        ({"handle": "admin"}, "handle"),
        ({"password": "short"}, "password"),
        ({"password": "password1234"}, "password"),  # among the most common passwords
        ({"password": "aaaaaaaaaaaa"}, "password"),  # trivially guessable
        ({"handle": "ada_lovelace", "password": "xx-ada_lovelace-99"}, "password"),
        ({"email": "charlotte@example.org", "password": "charlotte-wins-77"}, "password"),
        ({"password": "x" * 257}, "password"),
    ],
)
async def test_bad_registrations_are_422_naming_the_field(
    client: Client, payload: dict[str, str], field: str
) -> None:
    body = {"email": unique_email(), "password": PASSWORD} | payload
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


# Sign-in --------------------------------------------------------------------------------------


async def test_login_by_email_in_any_case_or_by_handle(client: Client) -> None:
    person = await register(client, "login_person")
    by_email = await client.post(
        "/api/v1/auth/login", json={"login": person.email.upper(), "password": PASSWORD}
    )
    by_handle = await client.post(
        "/api/v1/auth/login", json={"login": "@Login_Person", "password": PASSWORD}
    )
    assert by_email.status_code == by_handle.status_code == 200
    remember(*(r.json()["session"]["refresh_token"] for r in (by_email, by_handle)))
    remember(*(r.json()["session"]["access_token"] for r in (by_email, by_handle)))


async def test_bad_credentials_get_one_generic_answer(client: Client) -> None:
    person = await register(client, "generic_person")
    attempts = [
        {"login": person.email, "password": "wrong password entirely"},
        {"login": unique_email("nobody"), "password": PASSWORD},
        {"login": "no_such_handle", "password": PASSWORD},
        {"login": "not an email@", "password": PASSWORD},
    ]
    answers = []
    for attempt in attempts:
        response = await client.post("/api/v1/auth/login", json=attempt)
        body = response.json()
        answers.append((response.status_code, body["type"], body["title"], body["detail"]))
    assert len(set(answers)) == 1
    assert answers[0][0] == 401


async def test_unknown_accounts_cost_as_much_as_wrong_passwords(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing account is checked against a dummy hash of the same Argon2 cost, so it cannot
    be told apart by a quick answer. Counted, not timed: timings vary with the machine's load."""
    settings = make_settings(database_url, ARGON2_MEMORY_KIB=32768, ARGON2_TIME_COST=2)
    checked: list[argon2.Parameters] = []
    real_verify = argon2.PasswordHasher.verify

    def counting_verify(hasher: argon2.PasswordHasher, encoded: str, password: str) -> bool:
        checked.append(argon2.extract_parameters(encoded))
        return real_verify(hasher, encoded, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    async with app_client(create_app(settings)) as client:
        person = await register(client, "timing_person")

        async def hashes_checked(login: str) -> list[argon2.Parameters]:
            checked.clear()
            response = await client.post(
                "/api/v1/auth/login", json={"login": login, "password": "wrong password here"}
            )
            assert response.status_code == 401
            return list(checked)

        known = await hashes_checked(person.email)
        unknown = await hashes_checked(unique_email("ghost"))
    assert len(known) == len(unknown) == 1
    assert unknown == known
    assert (known[0].memory_cost, known[0].time_cost) == (32768, 2)


async def test_login_and_register_are_rate_limited(database_url: str) -> None:
    settings = make_settings(database_url, AUTH_ATTEMPTS_PER_ACCOUNT=3, AUTH_ATTEMPTS_PER_IP=6)
    async with app_client(create_app(settings)) as client:
        person = await register(client, "limited_person")
        statuses = [
            (
                await client.post(
                    "/api/v1/auth/login",
                    json={"login": person.handle, "password": "nope nope nope"},
                )
            ).status_code
            for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        refused = await client.post(
            "/api/v1/auth/login", json={"login": person.handle, "password": PASSWORD}
        )
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) > 0
        assert refused.json()["type"] == "urn:selflink:problem:rate-limited"
        # The client address has its own budget, across accounts.
        other = [
            (
                await client.post(
                    "/api/v1/auth/login", json={"login": f"someone_{i}", "password": "x"}
                )
            ).status_code
            for i in range(2)
        ]
        assert other == [401, 429]


async def test_login_upgrades_password_parameters(database_url: str, settings: Settings) -> None:
    async with app_client(create_app(settings)) as client:
        person = await register(client, "upgrade_person")
    (old_hash,) = (
        await sql(settings, "SELECT password_hash FROM users WHERE handle = 'upgrade_person'")
    )[0]
    stronger = make_settings(database_url, ARGON2_MEMORY_KIB=4096, ARGON2_TIME_COST=2)
    async with app_client(create_app(stronger)) as client:
        await login(client, person.handle)
    (new_hash,) = (
        await sql(settings, "SELECT password_hash FROM users WHERE handle = 'upgrade_person'")
    )[0]
    assert old_hash.startswith("$argon2id$")
    assert new_hash.startswith("$argon2id$")
    assert "m=1024,t=1" in old_hash
    assert "m=4096,t=2" in new_hash


# Sessions -----------------------------------------------------------------------------------


async def test_refresh_rotates_and_the_old_token_dies(client: Client) -> None:
    person = await register(client, "rotating")
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert first.status_code == 200
    new = first.json()
    remember(new["access_token"], new["refresh_token"])
    assert new["refresh_token"] != person.refresh_token
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {new['access_token']}"}
    )
    assert me.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(client: Client) -> None:
    person = await register(client, "stolen")
    legit = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    ).json()
    remember(legit["access_token"], legit["refresh_token"])
    replay = await client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    assert replay.status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": legit["refresh_token"]})
    ).status_code == 401
    me = await client.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {legit['access_token']}"}
    )
    assert me.status_code == 401
    assert logged("refresh_token_reused", user_id=person.id, level="warning")


async def test_logout_ends_this_session_only(client: Client) -> None:
    person = await register(client, "leaving")
    other_device = await login(client, person.handle)
    assert (await client.post("/api/v1/auth/logout", headers=person.headers)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": person.refresh_token})
    ).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=other_device.headers)).status_code == 200


async def test_logout_all_ends_every_session(client: Client) -> None:
    person = await register(client, "leaving_all")
    other_device = await login(client, person.handle)
    assert (await client.post("/api/v1/auth/logout-all", headers=person.headers)).status_code == 204
    for device in (person, other_device):
        assert (await client.get("/api/v1/users/me", headers=device.headers)).status_code == 401


# Passwords and email ------------------------------------------------------------------------


async def test_password_change_needs_the_current_one_and_ends_other_sessions(
    client: Client,
) -> None:
    person = await register(client, "changer")
    other_device = await login(client, person.handle)
    new_password = "a brand new passphrase 42"
    remember(new_password)
    wrong = await client.post(
        "/api/v1/auth/password",
        headers=person.headers,
        json={"current_password": "not it at all", "new_password": new_password},
    )
    assert wrong.status_code == 422
    changed = await client.post(
        "/api/v1/auth/password",
        headers=person.headers,
        json={"current_password": PASSWORD, "new_password": new_password},
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=person.headers)).status_code == 200
    assert (await client.get("/api/v1/users/me", headers=other_device.headers)).status_code == 401
    await login(client, person.handle, new_password)


async def test_password_reset_through_the_outbox(client: Client, settings: Settings) -> None:
    staff = await make_staff(client, settings)
    person = await register(client, "forgetful")
    for email in (person.email, unique_email("nobody")):  # same answer whether or not it exists
        response = await client.post("/api/v1/auth/password-reset", json={"email": email})
        assert response.status_code == 202
    resets = [m for m in await held_emails(client, staff) if m["kind"] == "reset_password"]
    assert [m["to"] for m in resets] == [person.email]
    code = code_from(resets[0])
    new_password = "reset to something else 7"
    remember(new_password)
    confirm = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": code, "new_password": new_password}
    )
    assert confirm.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    await login(client, person.handle, new_password)
    reused = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": code, "new_password": "yet another one 8"},
    )
    assert reused.status_code == 422
    (stored,) = await sql(
        settings, "SELECT token_hash FROM account_tokens WHERE purpose = 'reset_password'"
    )
    assert code not in stored[0]


async def test_expired_reset_codes_are_refused(client: Client, settings: Settings) -> None:
    staff = await make_staff(client, settings)
    person = await register(client, "slowpoke")
    await client.post("/api/v1/auth/password-reset", json={"email": person.email})
    code = code_from(
        next(m for m in await held_emails(client, staff) if m["kind"] == "reset_password")
    )
    await sql(settings, "UPDATE account_tokens SET expires_at = '2000-01-01 00:00:00'")
    late = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": code, "new_password": "too late for this 9"},
    )
    assert late.status_code == 422


async def test_email_verification(client: Client, settings: Settings) -> None:
    staff = await make_staff(client, settings)
    person = await register(client, "verifier")
    messages = [m for m in await held_emails(client, staff) if m["to"] == person.email]
    assert [m["kind"] for m in messages] == ["verify_email"]
    confirm = await client.post(
        "/api/v1/auth/email-verification/confirm", json={"token": code_from(messages[0])}
    )
    assert confirm.status_code == 204
    me = (await client.get("/api/v1/users/me", headers=person.headers)).json()
    assert me["email_verified"] is True


async def test_suspended_accounts_can_neither_act_nor_sign_in(
    client: Client, settings: Settings
) -> None:
    staff = await make_staff(client, settings)
    person = await register(client, "rule_breaker")
    suspended = await client.post(
        f"/api/v1/staff/users/{person.handle}/suspend", headers=staff.headers
    )
    assert suspended.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=person.headers)).status_code == 401
    again = await client.post(
        "/api/v1/auth/login", json={"login": person.handle, "password": PASSWORD}
    )
    assert again.status_code == 403
    reinstated = await client.post(
        f"/api/v1/staff/users/{person.handle}/reinstate", headers=staff.headers
    )
    assert reinstated.status_code == 204
    await login(client, person.handle)
    audit = await sql(settings, "SELECT action FROM audit_log ORDER BY seq")
    assert [row[0] for row in audit][-2:] == ["user.suspend", "user.reinstate"]


async def test_no_plaintext_secret_is_stored(client: Client, settings: Settings) -> None:
    person = await register(client, "hashed_only")
    rows = await sql(settings, "SELECT token_hash FROM refresh_tokens")
    assert all(person.refresh_token not in row[0] for row in rows)
    (password_hash,) = (
        await sql(settings, "SELECT password_hash FROM users WHERE handle = 'hashed_only'")
    )[0]
    assert PASSWORD not in password_hash
    assert select  # the ORM is not used to look at raw rows here
