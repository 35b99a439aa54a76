"""No GET route writes to the database on the request path.

With several API processes behind a load balancer, every write a read makes is a row lock, a
WAL record and a replica's lag; and a read replica cannot take them at all. This walks the
app's route table, calls every GET route signed in with real data in the path (people, a post
with a photo and a comment, a mentor conversation, a thread with a message, birth data and
matching preferences), and counts the INSERT, UPDATE and DELETE statements each one runs.
Jobs a GET enqueues are recorded, not run: work moved to a job is off the request path. The
one exception is staff reading personal data, audited in the same transaction (AUDITED_READS).
"""

import contextlib
import re
import sqlite3
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine

from selflink_api.app import create_app
from selflink_api.platform.database import AUDITED_READ
from selflink_api.platform.jobs import JobDefinition
from selflink_api.settings import Settings
from tests.api.conftest import app_client, drain_jobs
from tests.api.people import register
from tests.api.test_auth import make_staff
from tests.api.test_authorization_matrix import (
    BIRTH,
    MATRIX,
    PLACEHOLDERS,
    REQUIRED_QUERIES,
    owner_items,
)

pytestmark = pytest.mark.anyio

WRITE = re.compile(r"^\s*(?:WITH\b.*?\b)?(INSERT|UPDATE|DELETE|MERGE|REPLACE)\b", re.I | re.S)

NOT_CALLED = {
    "/schema/assets/{file_path:path}": "static files of the documentation UI, no database",
    "/schema/{path:str}": "the documentation UI under another name, no database",
}
"""GET routes this test does not call, with the reason."""

AUDITED_READS = {
    "/api/v1/staff/users/{handle:str}/personal-data",
    "/api/v1/staff/outbox",
}
"""Staff reads of personal data: their audit record is appended in the reading's own
transaction, so the data never leaves without it (a job could be lost after the response).
These may write the audit chain and nothing else."""
AUDIT_CHAIN = re.compile(r"^(INSERT INTO audit_log|UPDATE append_heads)\b")

QUERIES = REQUIRED_QUERIES | {
    "/api/v1/matching/recommendations": "?mode=friends",
}


@contextlib.contextmanager
def writes_recorded() -> Iterator[list[str]]:
    """Every INSERT/UPDATE/DELETE any engine of this process sends while the block runs."""
    writes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if WRITE.match(statement):
            writes.append(" ".join(statement.split())[:120])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield writes
    finally:
        event.remove(Engine, "before_cursor_execute", record)


class RecordingRunner:
    """Takes the jobs requests enqueue without running them (they are off the request path)."""

    def __init__(self) -> None:
        self.submitted: list[str] = []

    async def submit(self, job: JobDefinition, kwargs: Mapping[str, Any]) -> None:
        self.submitted.append(job.name)


def get_routes(app: Litestar) -> list[tuple[str, str]]:
    """Each GET and HEAD route, as (method, path)."""
    return sorted(
        (method, route.path)
        for route in app.routes
        for method in ("GET", "HEAD")
        if method in getattr(route, "methods", ()) and route.path not in NOT_CALLED
    )


async def test_no_get_route_writes(settings: Settings) -> None:
    app = create_app(settings)
    async with app_client(app) as client:
        owner = await register(client, "owner")
        other = await register(client, "other")
        staff = await make_staff(client, settings, "staffer")
        # The GET routes naming a {message_id} are the mentor's: its items win.
        items = await owner_items(client, owner, "/api/v1/threads/{thread_id:uuid}")
        items |= await owner_items(client, owner, "/api/v1/posts/{post_id:uuid}")
        for person in (owner, other):
            await client.put("/api/v1/astro/birth-data", json=BIRTH, headers=person.headers)
            answer = await client.patch(
                "/api/v1/matching/preferences",
                json={"modes": ["friends"], "values": ["honesty"]},
                headers=person.headers,
            )
            assert answer.status_code == 200, answer.text
        await client.post(f"/api/v1/users/{other.handle}/follow", headers=owner.headers)
        # Everything the set-up enqueued has run: only the GETs below run statements.
        await drain_jobs(client)

        runner = RecordingRunner()
        app.state.job_runner = runner
        writing: dict[str, list[str]] = {}
        for method, path in get_routes(app):
            caller = staff if "/staff/" in path or path == "/metrics" else owner
            url = path.replace("{handle:str}", other.handle)
            for placeholder, value in (PLACEHOLDERS | items).items():
                url = url.replace(placeholder, value)
            with writes_recorded() as writes:
                response = await client.request(
                    method, url + QUERIES.get(path, ""), headers=caller.headers
                )
            assert response.status_code < 500, (method, path, response.text)
            expected = MATRIX.get((method, path))
            if expected and expected[0]["owner"] == 200 and caller is owner:
                assert response.status_code == 200, (path, response.text)
            if path in AUDITED_READS:
                assert writes, path  # the audit record is written
                writes = [w for w in writes if not AUDIT_CHAIN.match(w)]
            if writes:
                writing[f"{method} {path}"] = writes
        assert not writing, "\n".join(f"{route}: {w}" for route, w in writing.items())


def test_only_the_audited_reads_open_as_writers(settings: Settings) -> None:
    app = create_app(settings)
    opted = {
        route.path
        for route in app.routes
        for handler in getattr(route, "route_handlers", ())
        if handler.opt.get(AUDITED_READ)
    }
    assert opted == AUDITED_READS


async def test_an_audited_read_survives_a_writer_committing_after_its_sign_in_check(
    settings: Settings, database_url: str
) -> None:
    """On SQLite a reader that turns writer fails once another writer has committed since its
    first read. The audited read opens as a writer, so the other writer waits (here: gives up
    at once) and the read, with its audit record, goes through."""
    if not settings.is_sqlite:
        pytest.skip("PostgreSQL has no reader that cannot turn writer")
    app = create_app(settings)
    async with app_client(app) as client:
        await register(client, "looked_up")
        staff = await make_staff(client, settings, "staffer")
        path = make_url(settings.sqlalchemy_url).database
        assert path
        interloper_wrote: list[bool] = []

        def write_from_elsewhere(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if not WRITE.match(statement) or interloper_wrote:
                return
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("UPDATE users SET bio = bio")
                interloper_wrote.append(True)
            except sqlite3.OperationalError:
                interloper_wrote.append(False)  # locked out: the audited read holds the lock
            finally:
                other.close()

        event.listen(Engine, "before_cursor_execute", write_from_elsewhere)
        try:
            answer = await client.get(
                "/api/v1/staff/users/looked_up/personal-data", headers=staff.headers
            )
        finally:
            event.remove(Engine, "before_cursor_execute", write_from_elsewhere)
        assert answer.status_code == 200, answer.text
        assert interloper_wrote == [False]
