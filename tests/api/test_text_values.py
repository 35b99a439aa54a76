"""Names and bios render as typed; email addresses cannot be spelled with look-alike letters."""

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from selflink_api.platform.values import is_mixed_script, text_problem
from tests.api.people import PASSWORD, register, unique_email

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]

REFUSED_ANYWHERE = {
    "right-to-left override": "Ada\u202eetihW",
    "left-to-right isolate": "Ada \u2066Lovelace\u2069",
    "right-to-left mark": "Ada\u200f",
    "zero-width space": "Ad\u200ba",
    "zero-width joiner between latin letters": "ad\u200dmin",
    "zero-width non-joiner between latin letters": "ad\u200cmin",
    "byte-order mark": "\ufeffAda",
    "soft hyphen": "Ada\u00adLovelace",
    "escape": "Ada\x1b[31m",
    "nul": "Ada\x00",
    "tab": "Ada\tLovelace",
    "carriage return": "Ada\rLovelace",
    "line separator": "Ada\u2028Lovelace",
    "tag character": "Ada\U000e0041",
}
ALLOWED = {
    "accents": "Zoë O'Neil",
    "cjk": "山田 太郎",
    "emoji zwj sequence": "Ada 👩\u200d💻",
    "emoji with skin tone": "👩🏽\u200d💻",
    "flag sequence": "🏳\ufe0f\u200d🌈",
    "persian zwnj": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # mi-khaham
    "devanagari zwj after virama": "क्\u200dष",
    "arabic": "\u0639\u0627\u0626\u0634\u0629",  # Aisha
}


@pytest.mark.parametrize("text", REFUSED_ANYWHERE.values(), ids=REFUSED_ANYWHERE.keys())
def test_control_and_format_characters_are_refused(text: str) -> None:
    assert text_problem(text) is not None
    assert text_problem(text, multiline=True) is not None


@pytest.mark.parametrize("text", ALLOWED.values(), ids=ALLOWED.keys())
def test_text_of_every_script_and_emoji_sequences_pass(text: str) -> None:
    assert text_problem(text) is None


def test_a_newline_only_where_text_has_lines() -> None:
    assert text_problem("line one\nline two") is not None
    assert text_problem("line one\nline two", multiline=True) is None


def test_the_problem_names_the_character() -> None:
    assert text_problem("Ada\u202e") == (
        "contains an invisible formatting character (U+202E RIGHT-TO-LEFT OVERRIDE)"
    )


@pytest.mark.parametrize(
    ("word", "mixed"),
    [
        ("example", False),
        ("ex\u0430mple", True),  # Cyrillic a
        ("пример", False),
        ("παράδειγμα", False),
        ("p\u03b1ypal", True),  # Greek alpha
        ("例え", False),  # Han and Hiragana: Japanese
        ("東京tokyo", False),  # Latin with Han is a common Japanese and Chinese spelling
        ("한국어ok", False),
        ("xn--80ak6aa92e", False),
        ("123-abc", False),
    ],
)
def test_mixed_scripts(word: str, mixed: bool) -> None:
    assert is_mixed_script(word) is mixed


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("display_name", "Ada\u202eetihW"),
        ("display_name", "Ada\x1b[31m"),
        ("display_name", "Ada\nLovelace"),
        ("bio", "Numbers\u200b are poems"),
        ("bio", "Numbers\tare poems"),
        ("full_name", "Ada\u2066Lovelace"),
    ],
)
async def test_profile_text_that_renders_differently_is_a_422_naming_the_field(
    client: Client, field: str, value: str
) -> None:
    person = await register(client)
    response = await client.patch("/api/v1/users/me", headers=person.headers, json={field: value})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [field]
    me = (await client.get("/api/v1/users/me", headers=person.headers)).json()
    assert me[field] != value


async def test_bios_keep_newlines_and_names_keep_emoji_sequences(client: Client) -> None:
    person = await register(client)
    change = {"bio": "Cellist.\nAmateur astronomer.", "display_name": "Chiara 👩\u200d🔬"}
    response = await client.patch("/api/v1/users/me", headers=person.headers, json=change)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in change} == change


async def test_registering_with_a_bidi_override_in_the_name_is_refused(client: Client) -> None:
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "Ada\u202e"}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["display_name"]


@pytest.mark.parametrize(
    "email",
    [
        "ada@ex\u0430mple.org",  # Cyrillic a in a Latin label
        "ada@p\u0430ypal.com",
        "\u0430da@example.org",  # Cyrillic a in a Latin local part
        "ada@xn--exmple-4nf.org",  # the first one, spelled in IDNA ASCII
    ],
)
async def test_look_alike_addresses_are_refused(client: Client, email: str) -> None:
    body = {"email": email, "password": PASSWORD}
    response = await client.post("/api/v1/auth/register", json=body)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["email"]


async def test_one_domain_in_any_idna_spelling_is_one_address(client: Client) -> None:
    local = f"p{uuid.uuid4().hex[:10]}"
    first = await client.post(
        "/api/v1/auth/register", json={"email": f"{local}@пример.рф", "password": PASSWORD}
    )
    assert first.status_code == 201, first.text
    assert first.json()["user"]["email"] == f"{local}@пример.рф"
    for spelling in (f"{local}@xn--e1afmkfd.xn--p1ai", f"{local}@ПРИМЕР.РФ"):
        again: Any = await client.post(
            "/api/v1/auth/register", json={"email": spelling, "password": PASSWORD}
        )
        assert again.status_code == 409, again.text
