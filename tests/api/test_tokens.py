"""Attacks on bearer tokens: each one is a 401, never a way in."""

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from litestar import Litestar
from litestar.exceptions import NotAuthorizedException
from litestar.testing import AsyncTestClient

from selflink_api.accounts.auth import verified_access_token
from tests.api.conftest import TEST_SECRET_KEY
from tests.api.people import Person, register, remember

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def sign(claims: dict[str, object], key: str = TEST_SECRET_KEY, algorithm: str = "HS256") -> str:
    token = jwt.encode(claims, key, algorithm=algorithm)
    remember(token)
    return token


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


async def status_with(client: Client, token: str) -> int:
    response = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


@pytest.fixture
async def person(client: Client) -> Person:
    return await register(client, "token_holder")


async def test_the_genuine_token_works(client: Client, person: Person) -> None:
    assert await status_with(client, person.access_token) == 200


async def test_alg_none_is_refused(client: Client, person: Person) -> None:
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_of(person.access_token))}."
    assert await status_with(client, unsigned) == 401


async def test_a_token_signed_with_another_key_is_refused(client: Client, person: Person) -> None:
    forged = sign(claims_of(person.access_token), key="someone-elses-secret-key-0123456789")
    assert await status_with(client, forged) == 401


async def test_an_expired_token_is_refused(client: Client, person: Person) -> None:
    claims = claims_of(person.access_token)
    past = datetime.now(UTC) - timedelta(minutes=1)
    claims |= {"exp": int(past.timestamp()), "iat": int((past - timedelta(minutes=15)).timestamp())}
    assert await status_with(client, sign(claims)) == 401


async def test_a_remembered_token_still_expires(client: Client, person: Person) -> None:
    """A verified token is remembered, not its validity: past its expiry it is refused."""
    claims = claims_of(person.access_token)
    expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=2)
    claims |= {"exp": int(expiry.timestamp())}
    token = sign(claims)
    assert await status_with(client, token) == 200
    assert verified_access_token(token, TEST_SECRET_KEY).exp == expiry
    with pytest.raises(NotAuthorizedException):
        verified_access_token(token, TEST_SECRET_KEY, now=expiry)
    with pytest.raises(NotAuthorizedException):
        verified_access_token(token, "another-secret-key-0123456789abcdef")


async def test_tampered_claims_break_the_signature(client: Client, person: Person) -> None:
    header, _, signature = person.access_token.split(".")
    claims = claims_of(person.access_token) | {"role": "admin"}
    assert await status_with(client, f"{header}.{b64(claims)}.{signature}") == 401


async def test_a_token_for_someone_else_is_useless_without_their_session(
    client: Client, person: Person
) -> None:
    victim = await register(client, "victim")
    claims = claims_of(person.access_token) | {"sub": victim.id}  # right key, wrong session pairing
    assert await status_with(client, sign(claims)) == 401


@pytest.mark.parametrize("claim", ["typ", "sid", "jti", "iss", "aud", "exp"])
async def test_tokens_missing_a_required_claim_are_refused(
    client: Client, person: Person, claim: str
) -> None:
    claims = claims_of(person.access_token)
    extras = dict(claims["extras"])  # type: ignore[call-overload]
    if claim in extras:
        extras.pop(claim)
        claims["extras"] = extras
    else:
        claims.pop(claim)
    assert await status_with(client, sign(claims)) == 401


async def test_the_refresh_token_is_not_an_access_token(client: Client, person: Person) -> None:
    assert await status_with(client, person.refresh_token) == 401


async def test_access_token_of_an_ended_session_is_refused(client: Client, person: Person) -> None:
    await client.post("/api/v1/auth/logout", headers=person.headers)
    assert await status_with(client, person.access_token) == 401


async def test_malformed_authorization_headers_are_refused(client: Client) -> None:
    for value in ("Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "garbage"):
        response = await client.get("/api/v1/users/me", headers={"Authorization": value})
        assert response.status_code == 401, value
