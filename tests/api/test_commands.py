"""Operator commands of `selflink-api`, through its real command line (in-process for speed;
`test_serve` runs the installed console script itself)."""

import anyio
import pytest

from selflink_api.app import create_app
from selflink_api.platform.crypto import generate_key
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.operator import selflink_api
from tests.api.people import PASSWORD, login, register, remember
from tests.api.test_auth import sql

pytestmark = pytest.mark.anyio


def test_create_admin_then_sign_in_as_admin(database_url: str) -> None:
    password = "an admin passphrase 2026"
    remember(password)
    made = selflink_api(
        database_url,
        "users",
        "create-admin",
        "--email",
        "root@example.org",
        "--handle",
        "rooty",
        SELFLINK_ADMIN_PASSWORD=password,
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith("created admin @rooty")

    async def signed_in() -> dict[str, object]:
        async with app_client(create_app(make_settings(database_url))) as client:
            admin = await login(client, "rooty", password)
            return dict((await client.get("/api/v1/users/me", headers=admin.headers)).json())

    me = anyio.run(signed_in)
    assert (me["role"], me["email_verified"]) == ("admin", True)


def test_create_admin_refuses_bad_input_in_one_line(database_url: str) -> None:
    refused = selflink_api(
        database_url,
        "users",
        "create-admin",
        "--email",
        "nope",
        "--handle",
        "rooty",
        "--password",
        PASSWORD,
    )
    assert refused.returncode == 2
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: email: An email address must have an @-sign."]
    assert "Traceback" not in refused.stderr


def test_rotate_key_reencrypts_personal_data(database_url: str) -> None:
    anyio.run(rotate_key_scenario, database_url)


async def rotate_key_scenario(database_url: str) -> None:
    old_key, new_key = generate_key(), generate_key()
    index_key = generate_key()
    old_only = {"PII_KEYS": f"k1:{old_key}", "PII_INDEX_KEY": index_key}
    settings = make_settings(database_url, **old_only)
    async with app_client(create_app(settings)) as client:
        person = await register(client, "rotated_person")
        await client.patch(
            "/api/v1/users/me", headers=person.headers, json={"full_name": "Kept Across Keys"}
        )
    both = {
        "PII_KEYS": f"k1:{old_key},k2:{new_key}",
        "PII_ACTIVE_KEY_ID": "k2",
        "PII_INDEX_KEY": index_key,
    }
    rotated = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "pii", "rotate-key", **both)
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypted 1 personal-data records" in rotated.stdout
    assert {row[0] for row in await sql(settings, "SELECT key_id FROM user_pii")} == {"k2"}
    new_only = make_settings(database_url, PII_KEYS=f"k2:{new_key}", PII_INDEX_KEY=index_key)
    async with app_client(create_app(new_only)) as client:
        again = await login(client, person.email)  # found by the blind index, decrypted with k2
        me = (await client.get("/api/v1/users/me", headers=again.headers)).json()
    assert me["full_name"] == "Kept Across Keys"


def test_outbox_list_shows_held_emails(database_url: str) -> None:
    async def sign_up() -> str:
        async with app_client(create_app(make_settings(database_url))) as client:
            person = await register(client, "mail_reader")
            await drain_jobs(client)
            return person.email

    email = anyio.run(sign_up)
    listed = selflink_api(database_url, "outbox", "list")
    assert listed.returncode == 0, listed.stderr
    assert f"verify_email  to {email}" in listed.stdout
    assert "Confirm your SelfLink email address" in listed.stdout


def test_demo_seeds_once_and_prints_how_to_sign_in(database_url: str) -> None:
    first = selflink_api(database_url, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "Seeded 12 demo people" in first.stdout
    assert '"login": "ada"' in first.stdout
    second = selflink_api(database_url, "demo", "--no-serve")
    assert "Already seeded" in second.stdout


def test_workers_need_redis(database_url: str) -> None:
    refused = selflink_api(database_url, "workers", "run")
    assert refused.returncode == 2
    assert "REDIS_URL is not set" in refused.stderr
