"""People for API tests: registered through the real endpoints, secrets remembered.

Every email, password and token a test uses is added to `SECRETS`; at the end of the session
the suite's log file must contain none of them.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

PASSWORD = "correct horse battery staple"
SECRETS: set[str] = set()


def remember(*values: str) -> None:
    SECRETS.update(v for v in values if v)


@dataclass
class Person:
    handle: str
    email: str
    password: str
    access_token: str
    refresh_token: str
    id: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def unique_email(stem: str = "person") -> str:
    return f"{stem}.{uuid.uuid4().hex[:10]}@example.org"


def person_from(body: dict[str, Any], email: str, password: str) -> Person:
    session = body["session"]
    remember(email, password, session["access_token"], session["refresh_token"])
    return Person(
        handle=body["user"]["handle"],
        email=email,
        password=password,
        access_token=session["access_token"],
        refresh_token=session["refresh_token"],
        id=body["user"]["id"],
    )


async def register(
    client: AsyncTestClient[Litestar],
    handle: str | None = None,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    display_name: str | None = None,
) -> Person:
    email = email or unique_email(handle or "person")
    payload: dict[str, Any] = {"email": email, "password": password}
    if handle is not None:
        payload["handle"] = handle
    if display_name is not None:
        payload["display_name"] = display_name
    response = await client.post("/api/v1/auth/register", json=payload)
    assert response.status_code == 201, response.text
    return person_from(response.json(), email, password)


async def login(client: AsyncTestClient[Litestar], login: str, password: str = PASSWORD) -> Person:
    response = await client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    return person_from(response.json(), response.json()["user"]["email"], password)
