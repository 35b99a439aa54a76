"""Moderation through HTTP: reports, snapshots, the queue, decisions, enforcement, appeals."""

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from selflink_api.accounts.auth import WHILE_SUSPENDED
from selflink_api.app import create_app
from selflink_api.audit import services as audit
from selflink_api.content.services import posts_and_comments_since
from selflink_api.messaging.services import messages_sent_since
from selflink_api.moderation.jobs import lift_suspensions
from selflink_api.platform.database import build_sqlalchemy_config
from selflink_api.platform.driver_reads import DriverRead
from selflink_api.platform.jobs import JobContext
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs, make_settings
from tests.api.live import live_server
from tests.api.messaging_helpers import direct_thread, send
from tests.api.people import PASSWORD, Person, register, remember
from tests.api.test_auth import make_staff, sql

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
QUEUE = "/api/v1/staff/moderation/reports"


async def make_moderator(client: Client, settings: Settings, handle: str) -> Person:
    person = await register(client, handle)
    await sql(settings, "UPDATE users SET role = 'moderator' WHERE handle = :h", h=handle)
    return person


async def write_post(client: Client, author: Person, text: str, **extra: Any) -> str:
    response = await client.post(
        "/api/v1/posts", json={"text": text, **extra}, headers=author.headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def report(
    client: Client,
    reporter: Person,
    kind: str,
    target: str,
    reason: str = "harassment",
    **extra: Any,
) -> httpx.Response:
    body = {"target_kind": kind, "target": target, "reason": reason, **extra}
    return await client.post("/api/v1/reports", json=body, headers=reporter.headers)


async def decide(
    client: Client, staff: Person, report_id: str, action: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{QUEUE}/{report_id}/decisions",
        json={"action": action, "reason": "harassment", **extra},
        headers=staff.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_report_its_snapshot_a_removal_and_an_appeal(
    client: Client, settings: Settings
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    mod = await make_moderator(client, settings, "mod")
    chief = await make_staff(client, settings, "chief")
    post_id = await write_post(client, ana, "you are all fools")

    first = await report(client, ben, "post", post_id, note="Insults.")
    assert first.status_code == 201, first.text
    again = await report(client, ben, "post", post_id, reason="hate", note="Hateful, in fact.")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    report_id = first.json()["id"]

    edited = await client.patch(
        f"/api/v1/posts/{post_id}", json={"text": "lovely day"}, headers=ana.headers
    )
    assert edited.status_code == 200
    queue = await client.get(QUEUE, headers=mod.headers)
    assert [item["id"] for item in queue.json()["items"]] == [report_id]
    assert queue.json()["items"][0]["reason"] == "hate"
    detail = (await client.get(f"{QUEUE}/{report_id}", headers=mod.headers)).json()
    assert detail["snapshot"]["text"] == "you are all fools"  # the edit hides nothing
    assert detail["reporter"] == "ben"
    assert detail["reporter_note"] == "Hateful, in fact."

    assigned = await client.post(f"{QUEUE}/{report_id}/assign", json={}, headers=mod.headers)
    assert assigned.json()["status"] == "in_review"
    assert assigned.json()["assignee"] == "mod"
    noted = await client.post(
        f"{QUEUE}/{report_id}/notes", json={"text": "Clear insult."}, headers=mod.headers
    )
    assert noted.status_code == 201
    decision = await decide(client, mod, report_id, "remove_content")
    assert decision["subject"] == "ana"
    closed = await client.post(f"{QUEUE}/{report_id}/dismiss", headers=mod.headers)
    assert closed.status_code == 409

    gone = await client.get(f"/api/v1/posts/{post_id}", headers=ben.headers)
    assert gone.status_code == 404
    tombstone = await client.get(f"/api/v1/posts/{post_id}", headers=ana.headers)
    assert tombstone.json()["removed_for"] == "harassment"
    mine = (await client.get("/api/v1/moderation/decisions", headers=ana.headers)).json()
    assert [(d["action"], d["target_id"]) for d in mine] == [("remove_content", post_id)]

    appeal_url = f"/api/v1/moderation/decisions/{decision['id']}/appeal"
    not_theirs = await client.post(appeal_url, json={"text": "Me?"}, headers=ben.headers)
    assert not_theirs.status_code == 404
    appealed = await client.post(appeal_url, json={"text": "Out of context."}, headers=ana.headers)
    assert appealed.status_code == 201, appealed.text
    twice = await client.post(appeal_url, json={"text": "Again."}, headers=ana.headers)
    assert twice.status_code == 409
    appeals = (await client.get("/api/v1/staff/moderation/appeals", headers=mod.headers)).json()
    assert [a["text"] for a in appeals["items"]] == ["Out of context."]
    outcome_url = f"/api/v1/staff/moderation/appeals/{appealed.json()['id']}/decision"
    same = await client.post(outcome_url, json={"outcome": "overturned"}, headers=mod.headers)
    assert same.status_code == 403  # the moderator who decided cannot judge the appeal
    overturned = await client.post(
        outcome_url, json={"outcome": "overturned"}, headers=chief.headers
    )
    assert overturned.status_code == 201, overturned.text
    assert overturned.json()["corrects"] == decision["id"]
    back = await client.get(f"/api/v1/posts/{post_id}", headers=ben.headers)
    assert back.status_code == 200

    with pytest.raises(Exception, match="append-only"):
        await sql(settings, "UPDATE moderation_decisions SET action = 'warn'")
    with pytest.raises(Exception, match="append-only"):
        await sql(settings, "DELETE FROM moderation_decisions")
    actions = [row[0] for row in await sql(settings, "SELECT action FROM audit_log ORDER BY seq")]
    assert [a for a in actions if a.startswith("moderation.")] == [
        "moderation.report.file",
        "moderation.report.update",
        "moderation.report.assign",
        "moderation.report.note",
        "moderation.decision.remove_content",
        "moderation.appeal.file",
        "moderation.decision.appeal_overturned",
    ]
    config = build_sqlalchemy_config(settings)
    try:
        async with config.create_session_maker()() as session:
            count, problem = await audit.verify(session)
    finally:
        await config.get_engine().dispose()
    assert problem is None
    assert count == len(actions)


async def test_targets_must_exist_and_be_visible_to_the_reporter(client: Client) -> None:
    ana, ben, cyd = [await register(client, h) for h in ("ana", "ben", "cyd")]
    private = await write_post(client, ana, "just for me", visibility="private")
    public = await write_post(client, ana, "hello all")
    missing = "0192e1a0-0000-7000-8000-00000000abcd"
    answers = [
        await report(client, ben, "post", private),
        await report(client, ben, "post", missing),
        await report(client, ben, "comment", public),
        await report(client, ben, "user", "nobody_here"),
        await report(client, ben, "post", "not-a-uuid"),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({a.json()["detail"] for a in answers}) == 1  # one answer for every case
    thread = await direct_thread(client, ana, cyd)
    message = await send(client, ana, thread["id"], "between us")
    await drain_jobs(client)  # the message's jobs write too; on SQLite they would hold the lock
    outsider = await report(client, ben, "message", message["id"])
    assert outsider.status_code == 404
    inside = await report(client, cyd, "message", message["id"], reason="spam")
    assert inside.status_code == 201
    assert (await report(client, ben, "user", "ana")).status_code == 201
    own = await report(client, ana, "post", public)
    assert own.status_code == 422
    unknown_reason = await report(client, ben, "post", public, reason="flagged_words")
    assert unknown_reason.status_code == 422


def write_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every signed-in write route of the API, from the app's route table."""
    routes = []
    for route in app.routes:
        if not route.path.startswith("/api/v1/"):
            continue
        for handler in getattr(route, "route_handlers", ()):
            excluded = handler.opt.get("exclude_from_auth") or handler.opt.get(WHILE_SUSPENDED)
            for method in handler.http_methods:
                if method in {"POST", "PUT", "PATCH", "DELETE"} and not excluded:
                    routes.append((method, route.path))
    return sorted(set(routes))


def concrete(path: str) -> str:
    path = re.sub(r"\{[a-z_]+:uuid\}", "0192e1a0-0000-7000-8000-000000000001", path)
    return re.sub(r"\{[a-z_]+:str\}", "someone", path)


async def test_a_suspension_refuses_every_write_and_lifts_itself(
    client: Client, settings: Settings
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    mod = await make_moderator(client, settings, "mod")
    filed = await report(client, ben, "user", "ana")
    decision = await decide(client, mod, filed.json()["id"], "suspend", hours=2)
    assert decision["suspended_until"] is not None

    routes = write_routes(client.app)
    assert ("POST", "/api/v1/posts") in routes
    assert ("POST", "/api/v1/reports") in routes
    assert ("POST", "/api/v1/threads/{thread_id:uuid}/messages") in routes
    assert ("POST", "/api/v1/auth/refresh") not in routes  # no token needed: checked below
    for method, path in routes:
        refused = await client.request(method, concrete(path), headers=ana.headers, json={})
        assert refused.status_code == 403, (method, path, refused.text)
    sign_in = await client.post("/api/v1/auth/login", json={"login": "ana", "password": PASSWORD})
    assert sign_in.status_code == 403
    refresh = await client.post("/api/v1/auth/refresh", json={"refresh_token": ana.refresh_token})
    assert refresh.status_code == 401
    mine = await client.get("/api/v1/moderation/decisions", headers=ana.headers)
    assert [d["action"] for d in mine.json()] == ["suspend"]  # readable while suspended

    # Two hours and a minute later (the clock is moved by moving the end into the past).
    past = datetime.now(UTC) - timedelta(minutes=1)
    await sql(settings, "UPDATE users SET suspended_until = :t WHERE handle = 'ana'", t=past)
    me = await client.get("/api/v1/users/me", headers=ana.headers)
    assert me.status_code == 200  # lifted at check time, before any job ran
    sign_in = await client.post("/api/v1/auth/login", json={"login": "ana", "password": PASSWORD})
    assert sign_in.status_code == 200
    remember(sign_in.json()["session"]["access_token"], sign_in.json()["session"]["refresh_token"])
    config = build_sqlalchemy_config(settings)
    try:
        context = JobContext(settings, config.create_session_maker(), client.app.state.job_runner)
        assert await lift_suspensions(context) == 1
        assert await lift_suspensions(context) == 0
    finally:
        await config.get_engine().dispose()
    rows = await sql(settings, "SELECT status, suspended_until FROM users WHERE handle = 'ana'")
    assert rows == [("active", None)]
    posted = await client.post("/api/v1/posts", json={"text": "back"}, headers=ana.headers)
    assert posted.status_code == 201


async def test_a_ban_is_appealed_to_another_staff_member(
    client: Client, settings: Settings
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    mod, other_mod = [await make_moderator(client, settings, h) for h in ("mod", "mia_mod")]
    filed = await report(client, ben, "user", "ana", reason="spam")
    banned = await decide(client, mod, filed.json()["id"], "ban")
    assert banned["suspended_until"] is None
    assert (await client.get("/api/v1/users/me", headers=ana.headers)).status_code == 403
    appeal = await client.post(
        f"/api/v1/moderation/decisions/{banned['id']}/appeal",
        json={"text": "I am not a bot."},
        headers=ana.headers,
    )
    assert appeal.status_code == 201
    upheld = await client.post(
        f"/api/v1/staff/moderation/appeals/{appeal.json()['id']}/decision",
        json={"outcome": "upheld"},
        headers=other_mod.headers,
    )
    assert upheld.status_code == 201
    assert upheld.json()["action"] == "appeal_upheld"
    assert (await client.get("/api/v1/users/me", headers=ana.headers)).status_code == 403
    # Moderators cannot act on staff, nor use the older staff tools.
    staffer = await make_staff(client, settings, "staffer")
    about_staff = await report(client, ben, "user", "staffer")
    refused = await client.post(
        f"{QUEUE}/{about_staff.json()['id']}/decisions",
        json={"action": "warn", "reason": "spam"},
        headers=mod.headers,
    )
    assert refused.status_code == 403
    assert staffer.handle == "staffer"
    pii = await client.get("/api/v1/staff/users/ana/personal-data", headers=mod.headers)
    assert pii.status_code == 403


async def test_word_list_and_rate_flags_come_from_the_system(database_url: str) -> None:
    settings = make_settings(
        database_url, MODERATION_WORD_LIST="cunt, kill yourself", MODERATION_RATE_LIMIT=4
    )
    async with app_client(create_app(settings)) as client:
        ana, ben = await register(client, "ana"), await register(client, "ben")
        mod = await make_moderator(client, settings, "mod")
        await write_post(client, ana, "Greetings from Scunthorpe")
        flagged = await write_post(client, ana, "What a CUNT.")
        thread = await direct_thread(client, ben, ana)
        message = await send(client, ben, thread["id"], "go kill yourself")
        await drain_jobs(client)
        items = (await client.get(QUEUE, headers=mod.headers)).json()["items"]
        assert sorted((i["target_kind"], i["target_id"], i["reason"]) for i in items) == sorted(
            [("post", flagged, "flagged_words"), ("message", message["id"], "flagged_words")]
        )
        assert {i["reported_by"] for i in items} == {"system"}
        assert {i["subject"]["handle"] for i in items} == {"ana", "ben"}
        for text in ("one", "two"):
            await write_post(client, ana, text)
        await drain_jobs(client)
        items = (await client.get(QUEUE, headers=mod.headers)).json()["items"]
        rate = [i for i in items if i["reason"] == "rate_anomaly"]
        assert [(i["target_kind"], i["subject"]["handle"]) for i in rate] == [("user", "ana")]
        reporters = await sql(settings, "SELECT DISTINCT reporter FROM moderation_reports")
        assert reporters == [("system",)]


@pytest.mark.parametrize(
    ("count", "person"),
    [(messages_sent_since, "sender_id"), (posts_and_comments_since, "author_id")],
)
async def test_rate_counts_read_only_the_window(
    settings: Settings, count: Callable[..., Awaitable[int]], person: str
) -> None:
    """After every message and comment, moderation counts what its writer wrote within the rate
    window: the database finds those rows by person and time, not by reading everything the
    person ever wrote (each count's plan names both columns in one index condition)."""
    engine = create_async_engine(settings.sqlalchemy_url)
    run: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        run.append((statement, parameters))

    run_on_driver = DriverRead.all

    async def capture_read(read: DriverRead, session: AsyncSession, **params: Any) -> Any:
        compiled = read._for(session.bind.dialect)
        run.append((compiled.sql, tuple(compiled.arguments(params))))
        return await run_on_driver(read, session, **params)

    try:
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if not sqlite:  # a handful of rows: PostgreSQL would read the table whatever it has
                await connection.exec_driver_sql("SET enable_seqscan = off")
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            async with AsyncSession(bind=connection) as session:
                with patch.object(DriverRead, "all", capture_read):
                    await count(session, uuid.UUID(int=1), datetime.now(UTC))
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
            plans = []
            for statement, parameters in run:
                explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
                rows = await connection.exec_driver_sql(explain + statement, parameters)
                plans.append("\n".join(" ".join(str(column) for column in row) for row in rows))
    finally:
        await engine.dispose()
    assert plans
    for plan in plans:
        assert re.search(rf"{person} ?=[^\n]*created_at ?>", plan), plan  # one step's condition


async def test_duplicate_reports_at_once_make_one_report_on_postgresql(
    postgres_settings: Settings,
) -> None:
    settings = postgres_settings
    async with app_client(create_app(settings)) as client:
        ana, ben = await register(client, "ana"), await register(client, "ben")
        post_id = await write_post(client, ana, "contested")
    body = {"target_kind": "post", "target": post_id, "reason": "spam"}
    async with live_server(create_app(settings)) as base_url, httpx.AsyncClient() as http:
        answers = await asyncio.gather(
            *(
                http.post(f"{base_url}/api/v1/reports", json=body, headers=ben.headers)
                for _ in range(10)
            )
        )
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    rows = await sql(settings, "SELECT count(*) FROM moderation_reports")
    assert rows[0][0] == 1


async def test_export_and_deletion_cover_reports_and_appeals(
    client: Client, settings: Settings
) -> None:
    ana, ben = await register(client, "ana"), await register(client, "ben")
    mod = await make_moderator(client, settings, "mod")
    filed = await report(client, ana, "user", "ben", note="He follows me everywhere.")
    about_ana = await report(client, ben, "user", "ana", reason="spam")
    warned = await decide(client, mod, about_ana.json()["id"], "warn")
    await client.post(
        f"/api/v1/moderation/decisions/{warned['id']}/appeal",
        json={"text": "I only posted twice."},
        headers=ana.headers,
    )
    export = (await client.get("/api/v1/users/me/export", headers=ana.headers)).json()
    section = export["moderation"]
    assert [r["note"] for r in section["reports_filed"]] == ["He follows me everywhere."]
    assert [d["action"] for d in section["decisions_about_me"]] == ["warn"]
    assert [a["text"] for a in section["appeals"]] == ["I only posted twice."]
    stored = await sql(settings, "SELECT ciphertext FROM moderation_reports")
    assert all(b"follows me" not in bytes(row[0]) for row in stored)  # sealed at rest

    gone = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": PASSWORD}, headers=ana.headers
    )
    assert gone.status_code == 204
    await drain_jobs(client)
    counts = await sql(
        settings,
        "SELECT (SELECT count(*) FROM moderation_reports), (SELECT count(*) FROM moderation_appeals),"
        " (SELECT count(*) FROM moderation_decisions)",
    )
    assert counts == [(0, 0, 1)]
    assert filed.status_code == 201
