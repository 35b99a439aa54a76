"""The mentor through HTTP, on SQLite and PostgreSQL: the built-in writer, and the real
`openai` client against a real local chat-completions server (tests/chat_completions.py)."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from redis.asyncio import Redis
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine

from selflink_api.app import create_app
from selflink_api.mentor.jobs import purge
from selflink_api.platform.crypto import generate_key
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.astro_helpers import Client, person_born
from tests.api.conftest import SUITE_LOG, app_client, drain_jobs, make_settings
from tests.api.matching_helpers import join
from tests.api.mentor_helpers import (
    ADA_BIRTH,
    MESSAGES,
    REPLIES,
    ask,
    message,
    replies_idle,
    streamed_text,
)
from tests.api.operator import selflink_api
from tests.api.people import PASSWORD, login, register, remember
from tests.api.test_auth import make_staff, sql
from tests.chat_completions import DEFAULT_REPLY
from tests.servers import ChatServer, chat_completions_server

if TYPE_CHECKING:
    from litestar import Litestar

    from selflink_api.mentor.replies import Replies

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    with chat_completions_server(tmp_path_factory.mktemp("chat")) as server:
        yield server


def model_settings(database_url: str, server: ChatServer, **overrides: Any) -> Settings:
    """The app talking to the local chat-completions server, failing fast."""
    values: dict[str, Any] = {
        "MENTOR_PROVIDER": "openai",
        "MENTOR_BASE_URL": server.base_url,
        "MENTOR_MODEL": "local-test-model",
        "MENTOR_API_KEY": "configured-server-key",
        "MENTOR_READ_TIMEOUT_SECONDS": 10,
        "MENTOR_MAX_RETRIES": 0,
        **overrides,
    }
    return make_settings(database_url, **values)


@contextlib.asynccontextmanager
async def client_of(settings: Settings) -> AsyncIterator[Client]:
    app: Litestar = create_app(settings)
    async with app_client(app) as client:
        yield client
        await replies_idle(client)


def tag(name: str) -> str:
    """A marker no other test (nor the other database's run) puts in a question."""
    return f"[[{name}-{uuid.uuid4().hex[:10]}]]"


def sent_to_model(server: ChatServer, marker: str) -> dict[str, Any]:
    """The request the local server received whose last message holds `marker`."""
    found = [r for r in server.requests() if marker in r["body"]["messages"][-1]["content"]]
    assert len(found) == 1, found
    return found[0]


# The built-in writer ----------------------------------------------------------------------


async def test_a_natal_reading_streams_from_the_built_in_writer_and_is_stored(
    client: Client,
) -> None:
    ada = await person_born(client, "ada", ADA_BIRTH)
    events = await ask(client, ada, mode="natal")
    start, end = events[0][1], events[-1][1]
    assert start["provider"] == "builtin"
    assert start["mode"] == "natal"
    assert events[-1][0] == "end"
    assert end["message_id"] == start["message_id"]
    assert end["completion_tokens"] > 0
    assert end["prompt_tokens"] > 0
    text = streamed_text(events)
    assert "Sun in Taurus" in text
    assert "Virgo rising" in text
    assert "Built-in mentor" in text  # labelled as the templates' reply
    await replies_idle(client)
    stored = await message(client, ada, start["message_id"])
    assert stored["status"] == "complete"
    assert stored["text"] == text
    assert stored["provider"] == "builtin"


async def test_without_birth_data_the_mentor_still_answers_and_says_what_it_lacks(
    client: Client,
) -> None:
    bob = await register(client, "bob")
    events = await ask(client, bob, "How do I handle my boss?", language="de")
    text = streamed_text(events)
    assert "Geburtsdaten" in text
    assert "Arbeit" in text


async def test_the_daily_note_is_written_once_per_local_day(client: Client) -> None:
    ada = await person_born(client, "ada", ADA_BIRTH)
    first = await ask(client, ada, mode="daily")
    await replies_idle(client)
    again = await ask(client, ada, mode="daily", text="anything else?")
    assert again[0][1]["message_id"] == first[0][1]["message_id"]
    assert streamed_text(again) == streamed_text(first)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "tarot", "text": "hi"}, "mode"),
        ({"mode": "chat", "text": "hi", "language": "xx"}, "language"),
        ({"mode": "chat", "text": "   "}, "text"),
        ({"mode": "chat", "text": "a\u0000b"}, "text"),
        ({"mode": "match", "text": "and them?"}, "handle"),
        ({"mode": "chat", "text": "hi", "handle": "someone"}, "handle"),
        ({"mode": "chat", "text": "hi", "country": "germany"}, "country"),
    ],
)
async def test_unknown_modes_languages_and_bad_fields_are_422(
    client: Client, body: dict[str, Any], field: str
) -> None:
    ada = await register(client, "ada")
    response = await client.post("/api/v1/mentor/stream", headers=ada.headers, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text


async def test_the_queued_variant_is_written_by_a_job_and_polled(client: Client) -> None:
    ada = await person_born(client, "ada", ADA_BIRTH)
    response = await client.post(
        REPLIES, headers=ada.headers, json={"mode": "chat", "text": "What about love?"}
    )
    assert response.status_code == 202, response.text
    ticket = response.json()
    assert ticket["status"] == "pending"
    await drain_jobs(client)
    written = await message(client, ada, ticket["message_id"])
    assert written["status"] == "complete"
    assert "heart" in written["text"]


async def test_messages_sessions_and_history_belong_to_their_owner(client: Client) -> None:
    ada, eve = await register(client, "ada"), await register(client, "eve")
    events = await ask(client, ada, "Tell me about work")
    await replies_idle(client)
    reply_id = events[0][1]["message_id"]
    other = await client.get(f"{MESSAGES}/{reply_id}", headers=eve.headers)
    assert other.status_code == 404
    sessions = (await client.get("/api/v1/mentor/sessions", headers=ada.headers)).json()
    assert [s["mode"] for s in sessions] == ["chat"]
    session_id = sessions[0]["id"]
    history = f"/api/v1/mentor/sessions/{session_id}/messages"
    assert (await client.get(history, headers=eve.headers)).status_code == 404
    page = (await client.get(history, headers=ada.headers)).json()
    assert [m["role"] for m in page["items"]] == ["assistant", "user"]
    assert page["items"][1]["text"] == "Tell me about work"
    assert (
        await client.delete(f"/api/v1/mentor/sessions/{session_id}", headers=eve.headers)
    ).status_code == 404
    assert (
        await client.delete(f"/api/v1/mentor/sessions/{session_id}", headers=ada.headers)
    ).status_code == 204
    assert (await client.get(f"{MESSAGES}/{reply_id}", headers=ada.headers)).status_code == 404


# Safety -------------------------------------------------------------------------------------


async def test_a_crisis_gets_the_fixed_answer_with_help_lines_and_no_model_call(
    database_url: str, chat_server: ChatServer, settings: Settings
) -> None:
    async with client_of(model_settings(database_url, chat_server)) as client:
        ada = await register(client, "ada")
        staff = await make_staff(client, settings)
        marker = tag("crisis")
        events = await ask(
            client, ada, f"I want to end my life {marker}", country="DE", language="en"
        )
        text = streamed_text(events)
        assert "TelefonSeelsorge" in text
        assert "findahelpline.com" in text
        assert events[0][1]["provider"] == "safety"
        assert events[-1][1]["safety"] == ["crisis"]
        assert not [r for r in chat_server.requests() if marker in str(r["body"])]
        stored = await message(client, ada, events[0][1]["message_id"])
        assert stored["safety"] == ["crisis"]
        assert stored["safety_action"] == "resources"
        usage = (await client.get("/api/v1/staff/mentor/usage", headers=staff.headers)).json()
        assert [(u["handle"], u["crisis"], u["requests"]) for u in usage] == [("ada", 1, 0)]


@pytest.mark.parametrize(
    ("said", "rule", "action"),
    [
        ("You should stop taking your medication today.", "medical-directive", "replace"),
        ("It is your destiny to be alone forever.", "fate-claim", "annotate"),
        ("Invest everything in this coin: guaranteed returns.", "financial-directive", "annotate"),
    ],
)
async def test_replies_breaking_the_policy_are_replaced_or_annotated_and_recorded(
    database_url: str, chat_server: ChatServer, said: str, rule: str, action: str
) -> None:
    async with client_of(model_settings(database_url, chat_server)) as client:
        ada = await register(client, "ada")
        events = await ask(client, ada, f"What now? [[say:{said}]]")
        end = events[-1][1]
        assert end["safety"] == [rule]
        assert end["safety_action"] == action
        assert streamed_text(events) == said  # the stream had already gone out …
        await replies_idle(client)
        stored = await message(client, ada, end["message_id"])
        assert stored["text"] == end["text"]  # … the end event and the record say what stands
        assert stored["safety"] == [rule]
        if action == "replace":
            assert said not in stored["text"]
            assert "doctor" in stored["text"]
        else:
            assert stored["text"].startswith(said)
            assert "reflection" in stored["text"]


# The OpenAI-compatible client against a real local server -----------------------------------


async def test_a_natal_reading_streams_from_a_local_openai_compatible_server(
    database_url: str, chat_server: ChatServer
) -> None:
    async with client_of(model_settings(database_url, chat_server)) as client:
        ada = await register(client, "ada", display_name="Ada Lovelace")
        await client.put("/api/v1/astro/birth-data", headers=ada.headers, json=ADA_BIRTH)
        marker = tag("natal")
        events = await ask(client, ada, f"Read my chart please {marker}", mode="natal")
        assert events[0][1]["provider"] == "openai-compatible"
        assert events[0][1]["model"] == "local-test-model"
        assert streamed_text(events) == DEFAULT_REPLY
        end = events[-1][1]
        assert end["completion_tokens"] == len(DEFAULT_REPLY.split())  # the server's usage
        sent = sent_to_model(chat_server, marker)
        assert sent["headers"]["authorization"] == "Bearer configured-server-key"
        assert sent["body"]["model"] == "local-test-model"
        assert sent["body"]["stream"] is True
        outgoing = str(sent)
        system = sent["body"]["messages"][0]["content"]
        assert "Ada." in system
        assert "Sun in taurus" in system
        assert "life path number 5" in system
        for private in (ada.email, "Lovelace", "Berlin", "14:30", "1990", "52.5", "13.4"):
            assert private not in outgoing, private


@pytest.mark.parametrize(
    ("marker", "status"),
    [("[[status:500]]", 502), ("[[status:401]]", 502), ("[[slow:6]]", 504), ("[[empty]]", 502)],
)
async def test_an_upstream_failing_before_the_first_token_is_a_problem_not_filler(
    database_url: str, chat_server: ChatServer, marker: str, status: int
) -> None:
    settings = model_settings(database_url, chat_server, MENTOR_READ_TIMEOUT_SECONDS=2)
    async with client_of(settings) as client:
        ada = await register(client, "ada")
        [(_, problem)] = await ask(client, ada, f"hello {marker}", expect=status)
        assert problem["status"] == status
        assert problem["type"].startswith("urn:selflink:problem:mentor-")
        assert "upstream says no" not in str(problem)
        failed = await message(client, ada, problem["message_id"])
        assert failed["status"] == "failed"
        assert failed["text"] == ""
        assert failed["error"] == ("timeout" if status == 504 else "upstream")


@pytest.mark.parametrize(("marker", "kind"), [("[[stall]]", 504), ("[[malformed]]", 502)])
async def test_an_upstream_failing_mid_stream_ends_with_an_error_event(
    database_url: str, chat_server: ChatServer, marker: str, kind: int
) -> None:
    settings = model_settings(database_url, chat_server, MENTOR_READ_TIMEOUT_SECONDS=2)
    async with client_of(settings) as client:
        ada = await register(client, "ada")
        events = await ask(client, ada, f"hello {marker}")
        assert [name for name, _ in events] == ["start", "token", "error"]
        error = events[-1][1]
        assert error["status"] == kind
        assert error["message_id"] == events[0][1]["message_id"]
        await replies_idle(client)
        failed = await message(client, ada, error["message_id"])
        assert failed["status"] == "failed"
        assert failed["text"] == ""


async def test_history_is_bounded_and_older_topics_live_on_in_the_memory(
    database_url: str, chat_server: ChatServer
) -> None:
    settings = model_settings(database_url, chat_server, MENTOR_HISTORY_MESSAGES=2)
    async with client_of(settings) as client:
        ada = await register(client, "ada")
        first, second, third = tag("h1"), tag("h2"), tag("h3")
        await ask(client, ada, f"My job drains me {first}")
        await replies_idle(client)
        await ask(client, ada, f"My partner is distant {second}")
        await replies_idle(client)
        await ask(client, ada, f"And my sister? {third}")
        messages = sent_to_model(chat_server, third)["body"]["messages"]
        assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
        assert second in messages[1]["content"]
        assert first not in str(messages)
        assert "Earlier conversations touched on: work (1)" in messages[0]["content"]


async def test_a_match_is_discussed_only_while_matching_allows_it(
    database_url: str, chat_server: ChatServer
) -> None:
    async with client_of(model_settings(database_url, chat_server)) as client:
        birth = {
            "date": "1990-05-17",
            "latitude": 52.52,
            "longitude": 13.405,
            "timezone": "Europe/Berlin",
        }
        ada = await join(client, "ada", birth=birth, values=["honesty"])
        await join(client, "bob", birth=birth | {"date": "1991-02-03"}, values=["honesty"])
        await drain_jobs(client)
        first, second = tag("m1"), tag("m2")
        events = await ask(client, ada, f"How do we get along? {first}", mode="match", handle="bob")
        assert events[-1][0] == "end"
        system = sent_to_model(chat_server, first)["body"]["messages"][0]["content"]
        assert "They matched with bob: compatibility" in system
        blocked = await client.post("/api/v1/users/bob/block", headers=ada.headers)
        assert blocked.status_code == 204
        [(_, problem)] = await ask(
            client, ada, f"And now? {second}", mode="match", handle="bob", expect=404
        )
        assert "not available for matching" in problem["detail"]
        assert not [r for r in chat_server.requests() if second in str(r["body"])]


# Limits and accounting ----------------------------------------------------------------------


async def test_per_person_rate_limit_and_daily_quota_are_429(database_url: str) -> None:
    settings = make_settings(database_url, MENTOR_REQUESTS_PER_MINUTE=2)
    async with client_of(settings) as client:
        ada = await register(client, "ada")
        await ask(client, ada, "one")
        await ask(client, ada, "two")
        [(_, problem)] = await ask(client, ada, "three", expect=429)
        assert problem["status"] == 429
        eve = await register(client, "eve")
        await ask(client, eve, "eve is not limited by ada")
    settings = make_settings(database_url, MENTOR_DAILY_QUOTA=1)
    async with client_of(settings) as client:
        zoe = await register(client, "zoe")
        await ask(client, zoe, "one")
        response = await client.post(
            "/api/v1/mentor/stream", headers=zoe.headers, json={"mode": "chat", "text": "two"}
        )
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) > 0
        assert "today's 1 mentor requests" in response.json()["detail"]
        # Someone in crisis is never told to wait.
        events = await ask(client, zoe, "I feel like I want to die")
        assert events[-1][1]["safety"] == ["crisis"]


async def test_the_global_concurrency_cap_answers_503_but_never_to_a_crisis(
    client: Client,
) -> None:
    ada = await register(client, "ada")
    replies: Replies = client.app.state.mentor
    cap = client.app.state.settings.mentor_max_concurrent
    replies.active += cap  # every place taken by replies in flight
    try:
        response = await client.post(
            "/api/v1/mentor/stream", headers=ada.headers, json={"mode": "chat", "text": "hi"}
        )
        crisis = await ask(client, ada, "I want to end my life")
    finally:
        replies.active -= cap
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert crisis[-1][1]["safety"] == ["crisis"]
    assert replies.active == 0
    await ask(client, ada, "hi again")


async def test_tokens_and_cost_per_person_and_day_are_visible_to_staff(
    database_url: str, chat_server: ChatServer, settings: Settings
) -> None:
    priced = model_settings(database_url, chat_server, MENTOR_COST_MICROS_PER_1K_TOKENS=2000)
    async with client_of(priced) as client:
        ada = await register(client, "ada")
        staff = await make_staff(client, settings)
        end = (await ask(client, ada, "count me"))[-1][1]
        await replies_idle(client)
        day = datetime.now(UTC).date().isoformat()
        response = await client.get(
            "/api/v1/staff/mentor/usage", headers=staff.headers, params={"day": day}
        )
        assert response.status_code == 200, response.text
        [row] = response.json()
        tokens = end["prompt_tokens"] + end["completion_tokens"]
        assert (row["handle"], row["requests"]) == ("ada", 1)
        assert row["prompt_tokens"] + row["completion_tokens"] == tokens
        assert row["cost_micros"] == tokens * 2
        denied = await client.get("/api/v1/staff/mentor/usage", headers=ada.headers)
        assert denied.status_code == 403


# Privacy ------------------------------------------------------------------------------------


async def test_messages_are_sealed_at_rest_exported_and_erased_with_the_account(
    client: Client, settings: Settings
) -> None:
    ada = await register(client, "ada")
    question = "My secret worry about the harbour job"
    events = await ask(client, ada, question)
    await replies_idle(client)
    rows = await sql(settings, "SELECT ciphertext FROM mentor_messages")
    assert len(rows) == 2
    assert all(b"harbour" not in bytes(row[0]) for row in rows)
    export = (await client.get("/api/v1/users/me/export", headers=ada.headers)).json()
    [chat] = export["mentor"]["sessions"]
    assert [m["text"] for m in chat["messages"]] == [question, streamed_text(events)]
    response = await client.request(
        "DELETE", "/api/v1/users/me", headers=ada.headers, json={"password": PASSWORD}
    )
    assert response.status_code == 204
    for table in ("mentor_messages", "mentor_sessions", "mentor_usage", "mentor_memories"):
        assert await sql(settings, f"SELECT id FROM {table}") == [], table


async def test_messages_are_purged_after_the_retention_period(
    client: Client, settings: Settings
) -> None:
    ada = await register(client, "ada")
    await ask(client, ada, "something to forget")
    await replies_idle(client)
    config = build_sqlalchemy_config(settings)
    runner = client.app.state.job_runner

    def days_ahead(days: int) -> JobContext:
        later = datetime.now(UTC) + timedelta(days=days)
        return JobContext(settings, config.create_session_maker(), runner, clock=lambda: later)

    try:
        assert await purge(days_ahead(89)) == {"messages": 0, "sessions": 0}
        assert await purge(days_ahead(91)) == {"messages": 2, "sessions": 1}
    finally:
        await config.get_engine().dispose()
    assert await sql(settings, "SELECT id FROM mentor_messages") == []


# Bring your own key -------------------------------------------------------------------------


async def everything_stored(settings: Settings, redis_url: str) -> str:
    """Every value of every table, and every Redis key and value, as one text to search."""
    engine = create_async_engine(settings.sqlalchemy_url)
    found: list[str] = []
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
            for table in tables:
                rows = await connection.execute(text(f'SELECT * FROM "{table}"'))
                found.extend(repr(tuple(row)) for row in rows)
    finally:
        await engine.dispose()
    redis = Redis.from_url(redis_url)
    try:
        async for key in redis.scan_iter(count=1000):
            kind = (await redis.type(key)).decode()
            reader = {
                "string": redis.get,
                "hash": redis.hgetall,
                "list": lambda k: redis.lrange(k, 0, -1),
                "set": redis.smembers,
                "zset": lambda k: redis.zrange(k, 0, -1),
                "stream": redis.xrange,
            }.get(kind)
            value = await reader(key) if reader is not None else b""
            found.append(repr((key, value)))
    finally:
        await redis.aclose()
    return "\n".join(found)


async def test_a_brought_key_is_used_for_that_call_only_and_never_kept(
    database_url: str, chat_server: ChatServer, redis_url: str
) -> None:
    own_key = f"sk-byo-{uuid.uuid4().hex}"
    remember(own_key)  # the suite's log check looks for it too
    settings = model_settings(database_url, chat_server, REDIS_URL=redis_url)
    with_key = {"X-Mentor-Key": own_key}
    async with client_of(settings) as client:
        ada = await register(client, "ada")
        streamed_tag, queued_tag, refused_tag = tag("byo1"), tag("byo2"), tag("byo3")
        events = await ask(client, ada, f"hello {streamed_tag}", headers=with_key)
        assert events[-1][0] == "end"
        # The queued variant too runs in this process with a brought key, never via SAQ.
        response = await client.post(
            REPLIES,
            headers={**ada.headers, **with_key},
            json={"mode": "chat", "text": f"again {queued_tag}"},
        )
        assert response.status_code == 202, response.text
        await replies_idle(client)
        queued = await message(client, ada, response.json()["message_id"])
        assert queued["status"] == "complete"
        # Refused upstream: the problem does not echo the key.
        [(_, problem)] = await ask(
            client, ada, f"no [[status:401]] {refused_tag}", headers=with_key, expect=502
        )
        assert own_key not in str(problem)
        next_call = tag("byo4")
        await ask(client, ada, f"without {next_call}")
    for marker in (streamed_tag, queued_tag, refused_tag):
        assert sent_to_model(chat_server, marker)["headers"]["authorization"] == f"Bearer {own_key}"
    configured = sent_to_model(chat_server, next_call)["headers"]["authorization"]
    assert configured == "Bearer configured-server-key"
    assert own_key not in await everything_stored(settings, redis_url)
    assert own_key not in SUITE_LOG.read_text(encoding="utf-8")


async def test_an_unusable_brought_key_is_a_422_that_does_not_echo_it(client: Client) -> None:
    ada = await register(client, "ada")
    bad = "sk-" + "x" * 600
    response = await client.post(
        "/api/v1/mentor/stream",
        headers={**ada.headers, "X-Mentor-Key": bad},
        json={"mode": "chat", "text": "hi"},
    )
    assert response.status_code == 422
    assert "X-Mentor-Key" in response.text
    assert bad not in response.text


async def test_rotating_the_key_reseals_mentor_messages_and_memory(database_url: str) -> None:
    old_key, new_key, index_key = generate_key(), generate_key(), generate_key()
    old_only = make_settings(database_url, PII_KEYS=f"k1:{old_key}", PII_INDEX_KEY=index_key)
    async with client_of(old_only.model_copy(update={"mentor_history_messages": 0})) as client:
        ada = await register(client, "ada")
        await ask(client, ada, "first question about work")
        await replies_idle(client)
        events = await ask(client, ada, "second question")
        await replies_idle(client)
    both = {"PII_KEYS": f"k1:{old_key},k2:{new_key}", "PII_ACTIVE_KEY_ID": "k2"}
    rotated = await anyio.to_thread.run_sync(
        lambda: selflink_api(database_url, "pii", "rotate-key", PII_INDEX_KEY=index_key, **both)
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "4 mentor messages" in rotated.stdout
    assert "1 mentor memories" in rotated.stdout
    new_only = make_settings(database_url, PII_KEYS=f"k2:{new_key}", PII_INDEX_KEY=index_key)
    async with client_of(new_only) as client:
        again = await login(client, ada.email)
        stored = await message(client, again, events[0][1]["message_id"])
        assert stored["text"] == streamed_text(events)
        export = (await client.get("/api/v1/users/me/export", headers=again.headers)).json()
        assert export["mentor"]["memory"] == {"work": 1}
