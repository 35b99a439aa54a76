"""Schemathesis over every operation of the served OpenAPI document, signed in and not.

The operations come from the document itself, so a route added later is fuzzed without anyone
listing it. Every built-in check runs and none is disabled; the only tuning is which statuses
the positive-data check accepts, per operation, with the reasons below. The run is
derandomized, so CI sees the same cases every time.

Run with `uv run nox -s fuzz`. The file name keeps it out of the plain `pytest` run (the suite
would otherwise pay for migrating and generating cases at collection), so CI runs it once.
"""

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import Case
from schemathesis.config import SchemathesisConfig

from selflink_api.app import create_app
from tests.api.conftest import make_settings, migrate
from tests.api.people import PASSWORD, remember, unique_email

EXAMPLES_PER_OPERATION = 30
DESTRUCTIVE = {
    # These end the caller's sessions or account, or change its password: each case gets a
    # user of its own instead of the shared one, whose token every other case needs.
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/logout-all"),
    ("POST", "/api/v1/auth/password"),
    ("DELETE", "/api/v1/users/me"),
}

SEMANTIC_REJECTIONS = {
    # Schema-valid requests the server may still refuse with a 422 because the rule depends on
    # stored state or on a check no JSON Schema expresses. The positive-data check then also
    # accepts 422 for these operations only; every other status is still checked.
    ("POST", "/api/v1/auth/register"): "email-validator's syntax, zxcvbn, reserved handles",
    ("POST", "/api/v1/auth/password"): "the current password must be right; zxcvbn strength",
    ("POST", "/api/v1/auth/password-reset"): "email-validator's syntax",
    ("POST", "/api/v1/auth/password-reset/confirm"): "only a code the server emailed is valid",
    ("POST", "/api/v1/auth/email-verification/confirm"): "only a code the server emailed is valid",
    ("DELETE", "/api/v1/users/me"): "the password must be right",
    ("PATCH", "/api/v1/users/me"): "IANA zone names, as tzdata spells them",
    ("PUT", "/api/v1/astro/birth-data"): "gazetteer places, IANA zones, local times that exist",
    ("POST", "/api/v1/astro/charts"): "gazetteer places, zones, options valid together",
    ("POST", "/api/v1/astro/synastry"): "gazetteer places, zones, options valid together",
    ("POST", "/api/v1/astro/synastry/wheel"): "as /synastry; a handle or composite is refused",
    ("GET", "/api/v1/astro/natal/me"): "chart options valid together (ayanamsa needs sidereal)",
    ("GET", "/api/v1/astro/natal/me/wheel"): "chart options valid together, as /natal/me",
    ("GET", "/api/v1/astro/transits/me"): "timestamps the engine reads; options valid together",
    ("PATCH", "/api/v1/matching/preferences"): "words from GET /api/v1/matching/vocabulary",
    ("POST", "/api/v1/posts"): "text rules after NFC (no Cc/Cf, not blank); BCP 47 registry",
    ("PATCH", "/api/v1/posts/{post_id}"): "text rules after NFC; BCP 47 registry",
    ("POST", "/api/v1/posts/{post_id}/comments"): "text rules; `reply_to` a comment of this post",
    ("PATCH", "/api/v1/comments/{comment_id}"): "text rules after NFC (no Cc/Cf, not blank)",
    ("GET", "/api/v1/search/people"): "`q` must hold a letter or digit, not only punctuation",
    ("GET", "/api/v1/search/posts"): "`q` must hold a letter or digit, not only punctuation",
}
"""Operations whose 422 the schema cannot (or does not yet) predict, each with its reason."""

DATABASE_DIR = Path(tempfile.mkdtemp(prefix="selflink-fuzz-"))
DATABASE_URL = f"sqlite+aiosqlite:///{DATABASE_DIR / 'fuzz.sqlite3'}"
migrate(DATABASE_URL)
APP = create_app(make_settings(DATABASE_URL, GITHUB_WEBHOOK_SECRET="fuzz-webhook-secret"))
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""Schemathesis's default for schema-valid requests (5xx fails `not_a_server_error` anyway)."""


def also_expected() -> dict[tuple[str, str], list[str]]:
    """Statuses a schema-valid request may also get, per operation: 422 for the operations
    above, 400 wherever a `cursor` is read (only a cursor the server issued is valid)."""
    extra = {operation: ["422"] for operation in SEMANTIC_REJECTIONS}
    for path, item in APP.openapi_schema.to_schema()["paths"].items():
        for method, operation in item.items():
            if any(p["name"] == "cursor" for p in operation.get("parameters", [])):
                extra.setdefault((method.upper(), path), []).append("400")
    return extra


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20260611,
        "cache": {"enabled": False},  # every run starts from the same state: the seed
        "generation": {
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
            # The server refuses U+0000 in every string, at any depth (docs/api-errors.md,
            # Limits; tests/api/test_hostile_input.py proves it). JSON Schema can say so only
            # with a pattern on every string, so the document states it once in its
            # description and generated strings leave it out.
            "allow-x00": False,
        },
        "operations": [
            {
                "include-name": f"{method} {path}",
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": [*POSITIVE_STATUSES, *statuses]
                    }
                },
            }
            for (method, path), statuses in also_expected().items()
        ],
    }
)
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", APP, config=CONFIG)


@pytest.fixture(scope="module", autouse=True)
def forget_the_database() -> Iterator[None]:
    yield
    shutil.rmtree(DATABASE_DIR, ignore_errors=True)


def sign_up() -> str:
    """A new account through the real endpoint; its access token."""
    email = unique_email("fuzz")
    case = schema["/api/v1/auth/register"]["POST"].Case(
        body={"email": email, "password": PASSWORD}, media_type="application/json"
    )
    response = case.call()
    assert response.status_code == 201, response.text
    token: str = response.json()["session"]["access_token"]
    remember(email, token)
    return token


class SignedIn:
    """Schemathesis's auth provider: one shared account, a new one for each destructive case.

    Given through schemathesis (not as a plain header), so its checks know which requests
    carry credentials and the cases that drop or spoil them stay what they claim to be.
    """

    shared: str | None = None

    def get(self, case: Case, _context: object) -> str:
        if (case.method.upper(), case.path) in DESTRUCTIVE:
            return sign_up()
        if SignedIn.shared is None:
            SignedIn.shared = sign_up()
        return SignedIn.shared

    def set(self, case: Case, token: str, _context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schema.auth.apply(SignedIn, refresh_interval=None)
@schema.parametrize()
def test_signed_in(case: Case) -> None:
    case.call_and_validate()


@schema.parametrize()
def test_anonymous(case: Case) -> None:
    case.call_and_validate()
